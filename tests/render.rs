//! Render snapshots of the dashboard from a synthetic, fixed Snapshot: every panel alone, the
//! whole screen in English and Korean at 80x24 and 120x40, the too-small message, a resize storm,
//! and semantic checks (waiting peers visible, clicks land on the drawn row, escapes, styles).
//! Nothing here reads the clock or the machine: `now_ms` and `pid` are fixed.

use std::net::SocketAddr;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use sockscope::app::{Action, App, Item, LayoutMode, LectureView, Mode, Panel};
use sockscope::model::{
    CaptureInfo, CapturedConnection, Counters, FdEntry, FdKind, KernelOnly, LabMessage,
    ListenerInfo, Network, PortUse, Ports, Proto, Role, Segment, Snapshot, SocketInfo, StateChange,
    TcpState, TraceEntry, Waiting,
};
use sockscope::net::decode::{flag_names, flags};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::ui;
use unicode_width::UnicodeWidthStr;

const NOW_MS: u64 = 10_500;
const AT_MS: u64 = 10_000;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn fd(fd: i32, kind: FdKind, target: &str, name: Option<&str>) -> FdEntry {
    FdEntry {
        fd,
        kind,
        target: target.to_owned(),
        name: name.map(str::to_owned),
        label: String::new(),
        peer: None,
        address: None,
        purpose: None,
    }
}

fn history(states: &[TcpState]) -> Vec<StateChange> {
    states
        .iter()
        .enumerate()
        .map(|(index, state)| StateChange {
            state: *state,
            at_ms: 1000 + index as u64 * 10,
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn socket(
    name: &str,
    fd: i32,
    role: Role,
    local: u16,
    remote: Option<u16>,
    state: TcpState,
    states: &[TcpState],
    bytes: (u64, u64),
) -> SocketInfo {
    SocketInfo {
        name: name.to_owned(),
        fd,
        proto: Proto::Tcp,
        role,
        local: Some(addr(local)),
        remote: remote.map(addr),
        state,
        recv_q: 0,
        send_q: 0,
        bytes_sent: bytes.0,
        bytes_received: bytes.1,
        inode: 100_000 + fd as u64,
        age_ms: 9_000 - fd as u64 * 100,
        history: history(states),
        forwarder: None,
        tcp: None,
        host: None,
    }
}

fn trace(call: &str, result: &str, errno: Option<&str>, failed: bool, at_ms: u64) -> TraceEntry {
    TraceEntry {
        call: call.to_owned(),
        result: result.to_owned(),
        errno: errno.map(str::to_owned),
        failed,
        name: None,
        at_ms,
    }
}

/// The sockets: `srv` listening, `c1`-`c3` established (waiting in the accept queue), `c4`-`c6`
/// stuck in `SYN_SENT`, `a1` accepted earlier, `u1` a UDP socket.
fn sockets() -> Vec<SocketInfo> {
    use TcpState::{Established, Listen, SynSent, Unconnected};
    let mut sockets = vec![socket(
        "srv",
        5,
        Role::Listener,
        5555,
        None,
        Listen,
        &[Listen],
        (0, 0),
    )];
    for index in 1..=3 {
        sockets.push(socket(
            &format!("c{index}"),
            5 + index,
            Role::Client,
            40_000 + index as u16,
            Some(5555),
            Established,
            &[SynSent, Established],
            // c1 sent "hello\n" (its segments are in the capture).
            (if index == 1 { 6 } else { 0 }, 0),
        ));
    }
    for index in 4..=6 {
        sockets.push(socket(
            &format!("c{index}"),
            5 + index,
            Role::Client,
            40_000 + index as u16,
            Some(5555),
            SynSent,
            &[SynSent],
            (0, 0),
        ));
    }
    let mut accepted = socket(
        "a1",
        12,
        Role::Accepted,
        5555,
        Some(40_000),
        Established,
        &[Established],
        (12_345, 6),
    );
    accepted.recv_q = 6;
    sockets.push(accepted);
    let mut udp = socket(
        "u1",
        13,
        Role::Datagram,
        9999,
        None,
        Unconnected,
        &[],
        (0, 0),
    );
    udp.proto = Proto::Udp;
    sockets.push(udp);
    sockets
}

fn trace_entries() -> Vec<TraceEntry> {
    vec![
        trace("socket(AF_INET, SOCK_STREAM, 0)", "5", None, false, 100),
        trace("bind(5, 127.0.0.1:5555)", "0", None, false, 110),
        trace("listen(5, 2)", "0", None, false, 120),
        trace("socket(AF_INET, SOCK_STREAM, 0)", "6", None, false, 130),
        trace(
            "connect(6, 127.0.0.1:5555)",
            "-1 EINPROGRESS",
            Some("EINPROGRESS"),
            false,
            140,
        ),
        trace(
            "accept4(5, ..., SOCK_NONBLOCK|SOCK_CLOEXEC)",
            "-1 EAGAIN",
            Some("EAGAIN"),
            false,
            150,
        ),
        trace("recv(12, \"hello\\n\", 4096)", "6", None, false, 160),
        trace(
            "bind(14, 127.0.0.1:5555)",
            "-1 EADDRINUSE",
            Some("EADDRINUSE"),
            true,
            170,
        ),
    ]
}

/// The lab after `server srv :5555 2` and six clients: three fit the accept queue (backlog 2
/// lets 3 wait), three are stuck in `SYN_SENT`; one closed client in `TIME_WAIT`, a file.
fn fixture() -> Snapshot {
    let sockets = sockets();
    let mut fds = vec![
        fd(0, FdKind::Tty, "/dev/pts/3", None),
        fd(1, FdKind::Tty, "/dev/pts/3", None),
        fd(2, FdKind::Tty, "/dev/pts/3", None),
        fd(3, FdKind::Epoll, "anon_inode:[eventpoll]", Some("poll")),
        fd(4, FdKind::Eventfd, "anon_inode:[eventfd]", Some("waker")),
    ];
    for socket in &sockets {
        fds.push(fd(
            socket.fd,
            FdKind::Socket,
            &format!("socket:[{}]", socket.inode),
            Some(&socket.name),
        ));
    }
    fds.push(fd(14, FdKind::File, "/tmp/evil\u{1b}[2Jname", Some("f")));
    let in_use = [("srv", 5555, Proto::Tcp), ("u1", 9999, Proto::Udp)]
        .into_iter()
        .chain((1..=6).map(|index| ("c", 40_000 + index, Proto::Tcp)))
        .enumerate()
        .map(|(index, (name, port, proto))| PortUse {
            port,
            proto,
            name: if name == "c" {
                format!("c{}", index - 1)
            } else {
                name.to_owned()
            },
        })
        .collect();
    Snapshot {
        fds,
        sockets,
        listeners: vec![ListenerInfo {
            name: "srv".to_owned(),
            local: Some(addr(5555)),
            backlog: 2,
            backlog_requested: 2,
            accept_queue: 3,
            syn_queue: 0,
            waiting: (1..=3)
                .map(|index| Waiting {
                    peer: addr(40_000 + index),
                    state: TcpState::Established,
                })
                .collect(),
            half_open: Vec::new(),
            auto_accept: false,
        }],
        kernel_only: vec![KernelOnly {
            local: addr(40_000),
            remote: addr(5555),
            state: TcpState::TimeWait,
            was: Some("c0".to_owned()),
            timer_ms: Some(58_000),
        }],
        ports: Ports {
            ephemeral: [32768, 60999],
            unprivileged_start: 1024,
            somaxconn: 4096,
            in_use,
        },
        counters: Counters {
            listen_overflows: 12,
            listen_drops: 12,
            listen_overflows_at_start: 9,
            listen_drops_at_start: 9,
            ..Counters::default()
        },
        trace: trace_entries(),
        errors: vec![LabMessage {
            command: "accept nope".to_owned(),
            message: "no socket or file is named 'nope'".to_owned(),
            at_ms: 100,
        }],
        trace_dropped: 0,
        probe_errors: Vec::new(),
        at_ms: AT_MS,
        segments: fixture_segments().into(),
        capture: capture_info(&fixture_segments()),
        kernel_only_history: Vec::new(),
        wire: None,
        nat: None,
    }
}

/// One captured segment of the fixture, before names and flag strings are filled in.
#[derive(Clone, Copy, Default)]
struct Seg {
    t_us: u64,
    from: u16,
    to: u16,
    bits: u8,
    rel_seq: u32,
    rel_ack: u32,
    len: u32,
    win: u16,
    preview: Option<&'static str>,
    retransmission: bool,
    dropped_before: u64,
}

/// The lab name of a fixture port.
fn port_name(port: u16) -> Option<&'static str> {
    Some(match port {
        5555 => "srv",
        40_000 => "c0",
        40_001 => "c1",
        40_004 => "c4",
        9999 => "u1",
        _ => return None,
    })
}

/// Initial sequence numbers: made up, but fixed, per sending port.
fn isn(port: u16) -> u32 {
    u32::from(port).wrapping_mul(2_654_435_761)
}

fn segment(conn: &str, seg: Seg) -> Segment {
    let tcp = seg.bits != 0;
    Segment {
        conn: conn.into(),
        t_us: seg.t_us,
        proto: if tcp { Proto::Tcp } else { Proto::Udp },
        from: addr(seg.from),
        to: addr(seg.to),
        from_name: port_name(seg.from).map(Into::into),
        to_name: port_name(seg.to).map(Into::into),
        flags: if tcp { flag_names(seg.bits) } else { "" },
        flag_bits: seg.bits,
        seq: if tcp {
            isn(seg.from).wrapping_add(seg.rel_seq)
        } else {
            0
        },
        ack: if seg.bits & flags::ACK != 0 {
            isn(seg.to).wrapping_add(seg.rel_ack)
        } else {
            0
        },
        rel_seq: seg.rel_seq,
        rel_ack: seg.rel_ack,
        len: seg.len,
        win: seg.win,
        retransmission: seg.retransmission,
        preview: seg.preview.map(Into::into),
        dropped_before: seg.dropped_before,
        wire_id: None,
        wire: None,
        nat: None,
        nat_drop: None,
    }
}

/// What the capture saw of the fixture's lab: c1's handshake and its "hello\n", c4's SYN sent
/// three times (the full accept queue dropped it), and a datagram to u1.
fn fixture_segments() -> Vec<Segment> {
    use flags::{ACK, PSH, SYN};
    let c1 = |seg: Seg| segment("c1", seg);
    let c4 = |seg: Seg| segment("c4", seg);
    let (client, server) = (40_001, 5555);
    vec![
        c1(Seg {
            t_us: 0,
            from: client,
            to: server,
            bits: SYN,
            win: 65_495,
            ..Seg::default()
        }),
        c1(Seg {
            t_us: 12,
            from: server,
            to: client,
            bits: SYN | ACK,
            rel_ack: 1,
            win: 65_483,
            ..Seg::default()
        }),
        c1(Seg {
            t_us: 25,
            from: client,
            to: server,
            bits: ACK,
            rel_seq: 1,
            rel_ack: 1,
            win: 512,
            ..Seg::default()
        }),
        c4(Seg {
            t_us: 900,
            from: 40_004,
            to: server,
            bits: SYN,
            win: 65_495,
            ..Seg::default()
        }),
        c1(Seg {
            t_us: 100_250,
            from: client,
            to: server,
            bits: PSH | ACK,
            rel_seq: 1,
            rel_ack: 1,
            len: 6,
            win: 512,
            preview: Some("\"hello\\n\""),
            ..Seg::default()
        }),
        c1(Seg {
            t_us: 100_270,
            from: server,
            to: client,
            bits: ACK,
            rel_seq: 1,
            rel_ack: 7,
            win: 512,
            ..Seg::default()
        }),
        segment(
            "127.0.0.1:9998-127.0.0.1:9999",
            Seg {
                t_us: 150_000,
                from: 9998,
                to: 9999,
                len: 4,
                preview: Some("\"ping\""),
                ..Seg::default()
            },
        ),
        c4(Seg {
            t_us: 1_020_900,
            from: 40_004,
            to: server,
            bits: SYN,
            win: 65_495,
            retransmission: true,
            ..Seg::default()
        }),
        c4(Seg {
            t_us: 3_100_900,
            from: 40_004,
            to: server,
            bits: SYN,
            win: 65_495,
            retransmission: true,
            ..Seg::default()
        }),
    ]
}

/// The capture's summary of `segments`: one connection per 4-tuple, in order of first segment.
fn capture_info(segments: &[Segment]) -> CaptureInfo {
    let mut connections: Vec<CapturedConnection> = Vec::new();
    for segment in segments {
        let known = connections.iter_mut().find(|connection| {
            (connection.a, connection.b) == (segment.from, segment.to)
                || (connection.a, connection.b) == (segment.to, segment.from)
        });
        match known {
            Some(connection) => {
                connection.segments += 1;
                connection.dropped += segment.dropped_before;
            }
            None => connections.push(CapturedConnection {
                conn: segment.conn.clone(),
                proto: segment.proto,
                a: segment.from,
                b: segment.to,
                a_name: segment.from_name.clone(),
                b_name: segment.to_name.clone(),
                segments: 1,
                dropped: segment.dropped_before,
            }),
        }
    }
    CaptureInfo {
        network: Network::Host,
        active: true,
        reason: None,
        remedy: None,
        captured: segments.len() as u64,
        kernel_drops: 0,
        ring_drops: connections
            .iter()
            .map(|connection| connection.dropped)
            .sum(),
        connections_evicted: 0,
        connections,
    }
}

/// (time, sent by the client, flags, rel seq, rel ack, length, preview, retransmission, gap)
type ClosingRow = (
    u64,
    bool,
    u8,
    u32,
    u32,
    u32,
    Option<&'static str>,
    bool,
    u64,
);

/// A connection's whole life, for the ladder alone: the handshake, a request and a large answer,
/// segments the ring let go, a close whose FIN had to be sent twice, and the other side's close.
fn closing_segments() -> Vec<Segment> {
    use flags::{ACK, FIN, PSH, SYN};
    const C: bool = true;
    const S: bool = false;
    let answer = "\"HTTP/1.0 200 OK\\r\\n\\x1b]0;pwned\\x07\"";
    let rows: [ClosingRow; 11] = [
        (0, C, SYN, 0, 0, 0, None, false, 0),
        (11, S, SYN | ACK, 0, 1, 0, None, false, 0),
        (23, C, ACK, 1, 1, 0, None, false, 0),
        (5_000, C, PSH | ACK, 1, 1, 6, Some("\"GET /\\n\""), false, 0),
        (5_400, S, PSH | ACK, 1, 7, 65_483, Some(answer), false, 0),
        (80_000, C, ACK, 7, 1_000_001, 0, None, false, 37),
        (90_000, C, FIN | ACK, 7, 1_000_001, 0, None, false, 0),
        (300_000, C, FIN | ACK, 7, 1_000_001, 0, None, true, 0),
        (300_040, S, ACK, 1_000_001, 8, 0, None, false, 0),
        (310_000, S, FIN | ACK, 1_000_001, 8, 0, None, false, 0),
        (310_030, C, ACK, 8, 1_000_002, 0, None, false, 0),
    ];
    rows.into_iter()
        .map(
            |(t_us, client, bits, rel_seq, rel_ack, len, preview, retransmission, gap)| {
                let (from, to) = if client {
                    (40_000, 5555)
                } else {
                    (5555, 40_000)
                };
                let win = if bits & SYN != 0 { 65_495 } else { 512 };
                segment(
                    "c0",
                    Seg {
                        t_us,
                        from,
                        to,
                        bits,
                        rel_seq,
                        rel_ack,
                        len,
                        win,
                        preview,
                        retransmission,
                        dropped_before: gap,
                    },
                )
            },
        )
        .collect()
}

/// An app showing the fixture: everything seen long ago, except `c6` (fd 11), which just changed.
fn app(lang: Lang) -> App {
    let mut app = App::new(lang, ThemeName::Default);
    app.pid = 4242;
    let full = fixture();
    let mut earlier = full.clone();
    earlier.at_ms = 1000;
    earlier.sockets.retain(|socket| socket.name != "c6");
    earlier.fds.retain(|entry| entry.fd != 11);
    app.apply(earlier);
    app.apply(full);
    app.now_ms = NOW_MS;
    // The app may move unfocused panels to what just appeared; the snapshots start at the top.
    for panel in [
        Panel::Fds,
        Panel::Connections,
        Panel::Listeners,
        Panel::Ports,
    ] {
        app.select(panel, 0);
    }
    app
}

/// The text a terminal would show: wide characters once, their continuation cells skipped.
fn text_of(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buffer.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = symbol.width().saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn draw(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::render(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

fn screen(app: &App, width: u16, height: u16) -> String {
    text_of(&draw(app, width, height))
}

/// One panel alone in an 80x12 area.
fn panel_alone(app: &App, draw_panel: impl Fn(&mut ratatui::Frame, Rect, &App)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 12)).unwrap();
    terminal
        .draw(|frame| draw_panel(frame, Rect::new(0, 0, 80, 12), app))
        .unwrap();
    text_of(terminal.backend().buffer())
}

fn lecture() -> LectureView {
    LectureView {
        title: "backlog".to_owned(),
        step: 3,
        steps: 7,
        narration: "The accept queue of srv is full: three clients wait, and the next SYNs are \
                    dropped.\nWatch c4 to c6 stay in SYN_SENT."
            .to_owned(),
        failures: vec!["expected c4 ESTABLISHED, the kernel says SYN_SENT".to_owned()],
        autoplay: None,
    }
}

fn lang_name(lang: Lang) -> &'static str {
    lang.code()
}

#[test]
fn every_panel_alone() {
    for lang in [Lang::En, Lang::Ko] {
        let mut app = app(lang);
        let code = lang_name(lang);
        for panel in Panel::ALL {
            app.focus = panel;
            let text = panel_alone(&app, |frame, area, app| {
                ui::render_panel(frame, area, app, panel);
            });
            insta::assert_snapshot!(format!("panel_{panel:?}_{code}"), text);
        }
        app.focus = Panel::Listeners;
        insta::assert_snapshot!(
            format!("panel_explain_listener_{code}"),
            panel_alone(&app, ui::explain::render)
        );
        app.focus = Panel::Connections;
        app.select(Panel::Connections, 8);
        insta::assert_snapshot!(
            format!("panel_explain_time_wait_{code}"),
            panel_alone(&app, ui::explain::render)
        );
        app.focus = Panel::Trace;
        insta::assert_snapshot!(
            format!("panel_explain_trace_{code}"),
            panel_alone(&app, ui::explain::render)
        );
        app.lecture = Some(lecture());
        insta::assert_snapshot!(
            format!("panel_narration_{code}"),
            panel_alone(&app, ui::narration::render)
        );
        insta::assert_snapshot!(
            format!("panel_status_{code}"),
            panel_alone(&app, ui::status::render)
        );
        app.lecture = None;
        app.mode = Mode::Help;
        insta::assert_snapshot!(format!("help_{code}_80x24"), screen(&app, 80, 24));
    }
}

#[test]
fn whole_screen() {
    for lang in [Lang::En, Lang::Ko] {
        let app = app(lang);
        let code = lang_name(lang);
        insta::assert_snapshot!(format!("screen_{code}_80x24"), screen(&app, 80, 24));
        insta::assert_snapshot!(format!("screen_{code}_120x40"), screen(&app, 120, 40));
    }
}

#[test]
fn presenter_and_lecture_layouts() {
    for lang in [Lang::En, Lang::Ko] {
        let code = lang_name(lang);
        let mut app = app(lang);
        app.lecture = Some(lecture());
        insta::assert_snapshot!(format!("lecture_{code}_80x24"), screen(&app, 80, 24));
        app.layout = LayoutMode::Presenter;
        insta::assert_snapshot!(format!("presenter_{code}_80x24"), screen(&app, 80, 24));
        insta::assert_snapshot!(format!("presenter_{code}_120x40"), screen(&app, 120, 40));
    }
}

#[test]
fn the_80x24_screen_shows_the_waiting_peers() {
    for lang in [Lang::En, Lang::Ko] {
        let text = screen(&app(lang), 80, 24);
        for port in ["40001", "40002", "40003"] {
            assert!(text.contains(port), "{port} missing:\n{text}");
        }
        // The queue of backlog 2 has three slots, all filled.
        assert!(text.contains("[#][#][#] 3/3"), "{text}");
        assert!(text.contains("(+3)"), "{text}");
    }
}

#[test]
fn a_small_terminal_says_so() {
    let text = screen(&app(Lang::En), 20, 6);
    assert!(text.contains("terminal too small"), "{text}");
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(joined.contains("need 60x18, have 20x6"), "{text}");
    let text = screen(&app(Lang::Ko), 20, 6);
    assert!(text.contains("창이 너무 작습니다"), "{text}");
    // One column short is still too small; the minimum itself is not.
    assert!(screen(&app(Lang::En), 59, 18).contains("too small"));
    assert!(!screen(&app(Lang::En), 60, 18).contains("too small"));
}

#[test]
fn a_resize_storm_never_panics_and_fills_every_frame() {
    let mut app = app(Lang::Ko);
    app.lecture = Some(lecture());
    let mut terminal = Terminal::new(TestBackend::new(1, 1)).unwrap();
    // A fixed pseudo-random walk over sizes 1x1 .. 300x100.
    let mut seed: u32 = 0x2545_f491;
    for step in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let width = (seed % 300 + 1) as u16;
        let height = ((seed >> 9) % 100 + 1) as u16;
        app.layout = if step % 3 == 0 {
            LayoutMode::Presenter
        } else {
            LayoutMode::Full
        };
        app.mode = match step % 7 {
            0 => Mode::Help,
            1 => Mode::Prompt,
            _ => Mode::Normal,
        };
        app.focus = Panel::ALL[step % Panel::ALL.len()];
        terminal.backend_mut().resize(width, height);
        let frame = terminal.draw(|frame| ui::render(frame, &app)).unwrap();
        assert_eq!(frame.area, Rect::new(0, 0, width, height));
        let buffer = terminal.backend().buffer();
        assert_eq!(
            (buffer.area.width, buffer.area.height),
            (width, height),
            "step {step}"
        );
        assert_eq!(
            buffer.content.len(),
            usize::from(width) * usize::from(height)
        );
    }
}

#[test]
fn korean_rows_keep_the_borders_aligned() {
    let sizes = [(80, 24), (120, 40), (60, 18), (200, 60), (150, 40)];
    for ((width, height), app) in sizes
        .into_iter()
        .map(|size| (size, app(Lang::Ko)))
        .chain(sizes.into_iter().map(|size| (size, ladder_app(Lang::Ko))))
    {
        let buffer = draw(&app, width, height);
        for y in 0..height {
            // Every row covers exactly the screen width, wide characters counted twice.
            let mut columns = 0;
            let mut x = 0;
            while x < width {
                let w = buffer[(x, y)].symbol().width().max(1) as u16;
                columns += w;
                x += w;
            }
            assert_eq!(columns, width, "row {y} at {width}x{height}");
        }
        // The right border of the right-hand panels sits in the last column on every panel row.
        for y in 1..height - 2 {
            let symbol = buffer[(width - 1, y)].symbol();
            assert!(
                ["│", "┐", "┘", "┌", "└", "┤"].contains(&symbol),
                "row {y} at {width}x{height}: {symbol:?}\n{}",
                text_of(&buffer)
            );
        }
    }
}

#[test]
fn clicks_land_on_the_row_drawn_there() {
    let mut app = app(Lang::En);
    let area = Rect::new(0, 0, 120, 40);
    let buffer = draw(&app, 120, 40);
    let areas = ui::layout::areas(&app, area).unwrap();
    let connections = areas.connections.unwrap();
    let mut found = 0;
    for row in connections.y..connections.bottom() {
        let hit = ui::layout::hit(&app, area, connections.x + 3, row);
        if let Some((panel, Some(index))) = hit {
            assert_eq!(panel, Panel::Connections);
            let line: String = (connections.x..connections.right())
                .map(|x| buffer[(x, row)].symbol())
                .collect();
            let name = app
                .item_at(Panel::Connections, index)
                .and_then(|item| item.name().map(str::to_owned))
                .unwrap();
            assert!(line.contains(&name), "row {row}: {line} vs {name}");
            found += 1;
        }
    }
    // Header and borders take three rows; every other row is an item.
    let shown = app
        .rows(Panel::Connections)
        .min(usize::from(connections.height - 3));
    assert_eq!(found, shown);
    // The border and the header are the panel, not a row.
    assert_eq!(
        ui::layout::hit(&app, area, connections.x, connections.y),
        Some((Panel::Connections, None))
    );
    assert_eq!(
        ui::layout::hit(&app, area, connections.x + 3, connections.y + 1),
        Some((Panel::Connections, None))
    );
    // A click resolved by the layout selects the panel under it.
    let listeners = areas.listeners.unwrap();
    let (panel, index) = ui::layout::hit(&app, area, listeners.x + 2, listeners.y + 1).unwrap();
    app.update(sockscope::app::Action::Select { panel, index });
    assert_eq!(app.focus, Panel::Listeners);
    // The port map: the bar row maps columns to bands.
    let ports = areas.ports.unwrap();
    let inner_y = ports.y + 1;
    assert_eq!(
        ui::layout::hit(&app, area, ports.right() - 3, inner_y),
        Some((Panel::Ports, Some(2)))
    );
    assert_eq!(
        ui::layout::hit(&app, area, ports.x + 40, inner_y),
        Some((Panel::Ports, Some(1)))
    );
}

#[test]
fn scrolled_lists_map_clicks_to_the_scrolled_rows() {
    let mut app = app(Lang::En);
    let area = Rect::new(0, 0, 80, 24);
    app.focus = Panel::Fds;
    app.select(Panel::Fds, 14);
    let buffer = draw(&app, 80, 24);
    let fds = ui::layout::areas(&app, area).unwrap().fds.unwrap();
    for row in fds.y + 2..fds.bottom() - 1 {
        let (_, index) = ui::layout::hit(&app, area, fds.x + 2, row).unwrap();
        let index = index.unwrap();
        let number = app.snapshot.fds[index].fd.to_string();
        let line: String = (fds.x + 1..fds.x + 5)
            .map(|x| buffer[(x, row)].symbol())
            .collect();
        assert_eq!(
            line.split_whitespace().next(),
            Some(number.as_str()),
            "row {row}"
        );
    }
}

#[test]
fn names_from_outside_are_escaped() {
    let mut app = app(Lang::En);
    app.focus = Panel::Fds;
    app.select(Panel::Fds, 14);
    let text = screen(&app, 120, 40);
    assert!(text.contains("/tmp/evil\\x1b[2Jname"), "{text}");
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn selection_and_fresh_changes_are_styled() {
    let mut app = app(Lang::En);
    let theme = ui::Theme::of(ThemeName::Default);
    app.focus = Panel::Fds;
    app.select(Panel::Fds, 0);
    let fds = Rect::new(0, 0, 60, 20);
    let mut terminal = Terminal::new(TestBackend::new(60, 20)).unwrap();
    terminal
        .draw(|frame| ui::fds::render(frame, fds, &app))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let first = buffer[(fds.x + 2, fds.y + 2)].style();
    assert_eq!(first.bg, theme.selection.bg);
    // fd 11 (c6) changed 500 ms ago: fresh. Row of fd 11 = header + 11.
    let fresh = buffer[(fds.x + 2, fds.y + 2 + 11)].style();
    assert_eq!(fresh.bg, theme.fresh.bg, "{}", text_of(&buffer));
    let stale = buffer[(fds.x + 2, fds.y + 2 + 10)].style();
    assert_ne!(stale.bg, theme.fresh.bg);
}

#[test]
fn the_prompt_shows_a_cursor() {
    let mut app = app(Lang::En);
    app.mode = Mode::Prompt;
    app.prompt.start("server srv");
    app.prompt.home();
    app.prompt.right();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| ui::render(frame, &app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    assert!(
        text_of(&buffer)
            .lines()
            .nth(23)
            .unwrap()
            .starts_with(":server srv")
    );
    let cell = &buffer[(2, 23)];
    assert_eq!(cell.symbol(), "e");
    assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED));
    terminal
        .backend_mut()
        .assert_cursor_position(Position::new(2, 23));
}

#[test]
fn probe_errors_and_refusals_are_visible() {
    let mut app = app(Lang::En);
    let mut snapshot = app.snapshot.clone();
    snapshot.probe_errors = vec!["sock_diag: Operation not permitted".to_owned()];
    snapshot.errors[0].at_ms = 500;
    snapshot.at_ms += 1;
    app.apply(snapshot);
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("! accept nope: no socket or file is named 'nope'"),
        "{text}"
    );
    assert!(text.contains("! probe errors (1): sock_diag"), "{text}");
}

#[test]
fn every_theme_renders() {
    for theme in [
        ThemeName::Default,
        ThemeName::Light,
        ThemeName::HighContrast,
    ] {
        let mut app = app(Lang::En);
        app.theme = theme;
        let buffer = draw(&app, 80, 24);
        if theme == ThemeName::HighContrast {
            // Projectors: black, white and yellow only.
            use ratatui::style::Color;
            for cell in &buffer.content {
                for color in [cell.fg, cell.bg] {
                    assert!(
                        matches!(
                            color,
                            Color::Black | Color::White | Color::Yellow | Color::Reset
                        ),
                        "{color:?}"
                    );
                }
                assert!(!cell.modifier.contains(ratatui::style::Modifier::DIM));
            }
        }
    }
}

#[test]
fn every_panel_survives_any_rect() {
    let mut app = app(Lang::Ko);
    app.lecture = Some(lecture());
    app.mode = Mode::Prompt;
    app.prompt.start("send c1 안녕");
    let mut terminal = Terminal::new(TestBackend::new(40, 12)).unwrap();
    let panels: [fn(&mut ratatui::Frame, Rect, &App); 10] = [
        ui::ladder::render,
        ui::fds::render,
        ui::listeners::render,
        ui::connections::render,
        ui::ports::render,
        ui::trace::render,
        ui::explain::render,
        ui::narration::render,
        ui::status::render,
        ui::help::render,
    ];
    for width in (0..=40).step_by(3) {
        for height in 0..=12 {
            // Partly outside the screen too: panels clip to the frame.
            for (x, y) in [(0, 0), (3, 2), (30, 10)] {
                let area = Rect::new(x, y, width, height);
                for draw_panel in panels {
                    terminal
                        .draw(|frame| draw_panel(frame, area, &app))
                        .unwrap();
                }
                for layout in [LayoutMode::Full, LayoutMode::Presenter] {
                    app.layout = layout;
                    assert_eq!(ui::layout::hit(&app, area, x, y), None);
                }
            }
        }
    }
}

// --- The ladder (issue 10) ---

/// The fixture with the ladder focused, following c1 (selected in the connections panel).
fn ladder_app(lang: Lang) -> App {
    let mut app = app(lang);
    app.update(Action::Select {
        panel: Panel::Connections,
        index: Some(0),
    });
    app.update(Action::NextPanel);
    assert_eq!(
        app.focus,
        Panel::Ladder,
        "the ladder comes after the connections"
    );
    app
}

/// The fixture's lab with `segments` captured instead, the ladder focused on the connection of
/// the connections panel's row `row`.
fn ladder_app_with(lang: Lang, segments: Vec<Segment>, row: usize) -> App {
    let mut app = app(lang);
    let mut snapshot = app.snapshot.clone();
    snapshot.capture = capture_info(&segments);
    snapshot.segments = segments.into();
    app.apply(snapshot);
    app.update(Action::Select {
        panel: Panel::Connections,
        index: Some(row),
    });
    app.update(Action::NextPanel);
    app
}

/// The rows of the box titled `title` (without its borders), as text.
fn panel_rows(app: &App, width: u16, height: u16, title: &str) -> Vec<String> {
    let area = Rect::new(0, 0, width, height);
    let rect = ui::layout::areas(app, area)
        .unwrap()
        .panel(Panel::Ladder)
        .unwrap_or_else(|| panic!("no ladder at {width}x{height}"));
    let text = screen(app, width, height);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[usize::from(rect.y)].contains(title),
        "title {title}:\n{text}"
    );
    (rect.y + 1..rect.bottom() - 1)
        .map(|y| {
            let buffer = draw(app, width, height);
            let mut row = String::new();
            let mut skip = 0;
            for x in rect.x + 1..rect.right() - 1 {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let symbol = buffer[(x, y)].symbol();
                skip = symbol.width().saturating_sub(1);
                row.push_str(symbol);
            }
            row.trim_end().to_owned()
        })
        .collect()
}

#[test]
fn the_ladder_at_80x24_and_200x60() {
    for lang in [Lang::En, Lang::Ko] {
        let code = lang_name(lang);
        let mut app = ladder_app(lang);
        app.update(Action::First);
        app.update(Action::Down);
        insta::assert_snapshot!(format!("ladder_{code}_80x24"), screen(&app, 80, 24));
        // Wide enough for a column of its own: the ladder is there whatever has the focus, and
        // follows the selected connection.
        let mut app = sockscope_app_with_c1_selected(lang);
        app.now_ms = NOW_MS;
        insta::assert_snapshot!(format!("ladder_{code}_200x60"), screen(&app, 200, 60));
    }
}

fn sockscope_app_with_c1_selected(lang: Lang) -> App {
    let mut app = app(lang);
    app.update(Action::Select {
        panel: Panel::Connections,
        index: Some(0),
    });
    app
}

#[test]
fn a_handshake_reads_syn_syn_ack_ack_in_order_with_the_states_on_the_lifelines() {
    let app = ladder_app(Lang::En);
    let rows = panel_rows(&app, 80, 24, "segments c1 (5)");
    let header = &rows[0];
    assert!(
        header.contains("c1 127.0.0.1:40001") && header.contains("srv 127.0.0.1:5555"),
        "{header}"
    );
    let find = |needle: &str| {
        rows.iter()
            .position(|row| row.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle:?}:\n{}", rows.join("\n")))
    };
    let syn = find(" SYN seq=0 len=0 win=65495 ");
    let syn_ack = find(" SYN-ACK seq=0 ack=1 len=0 win=65483 ");
    let ack = find(" ACK seq=1 ack=1 len=0 win=512 ");
    let data = find(r#" PSH-ACK seq=1 ack=1 len=6 "hello\n" "#);
    assert!(syn < syn_ack && syn_ack < ack && ack < data, "{rows:#?}");
    // Arrows point the way the segment went: the SYN from the client's lifeline to the server's,
    // the SYN-ACK back; the sender's lifeline shows where the arrow starts.
    let (syn_row, syn_ack_row, ack_row) = (&rows[syn], &rows[syn_ack], &rows[ack]);
    assert!(
        syn_row.contains("├─") && syn_row.contains("─>│"),
        "{syn_row}"
    );
    assert!(
        syn_ack_row.contains("│<─") && syn_ack_row.contains("─┤"),
        "{syn_ack_row}"
    );
    // The state each side entered, on its own lifeline, on the row of the segment that caused it.
    let left_of = |row: &str| row.split(['├', '│']).next().unwrap_or_default().to_owned();
    let right_of = |row: &str| row.rsplit(['┤', '│']).next().unwrap_or_default().to_owned();
    assert!(left_of(syn_row).trim().ends_with("SYN_SENT"), "{syn_row}");
    assert!(left_of(syn_row).trim().starts_with("0us"), "{syn_row}");
    assert!(
        left_of(syn_ack_row).trim() == "12us ESTABLISHED",
        "{syn_ack_row}"
    );
    assert_eq!(right_of(syn_ack_row).trim(), "SYN_RECV", "{syn_ack_row}");
    assert_eq!(right_of(ack_row).trim(), "ESTABLISHED", "{ack_row}");
    assert!(left_of(&rows[data]).trim().starts_with("100.250ms"));
}

#[test]
fn retransmissions_drops_and_the_close_are_on_the_ladder_and_nothing_raw_reaches_it() {
    for lang in [Lang::En, Lang::Ko] {
        let code = lang_name(lang);
        // Row 8 of the connections panel: c0's 4-tuple, which the kernel keeps in TIME_WAIT.
        let app = ladder_app_with(lang, closing_segments(), 8);
        let mut terminal = Terminal::new(TestBackend::new(80, 16)).unwrap();
        terminal
            .draw(|frame| ui::ladder::render(frame, Rect::new(0, 0, 80, 16), &app))
            .unwrap();
        let text = text_of(terminal.backend().buffer());
        insta::assert_snapshot!(format!("panel_ladder_close_{code}"), text);
        let gap = if lang == Lang::En {
            "... 37 segments dropped"
        } else {
            "... 세그먼트 37개 생략됨"
        };
        assert!(text.contains(gap), "{text}");
        let retx = if lang == Lang::En {
            "RETX"
        } else {
            "재전송"
        };
        let retransmitted = text
            .lines()
            .find(|line| line.contains(retx))
            .unwrap_or_else(|| panic!("no retransmission:\n{text}"));
        assert!(
            retransmitted.contains("FIN-ACK") && retransmitted.contains("--"),
            "a retransmitted arrow is drawn dashed: {retransmitted}"
        );
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text}"
        );
        let last = |needle: &str| text.lines().rfind(|line| line.contains(needle)).unwrap();
        // The client closed first: it ends in TIME_WAIT on the server's FIN; the server in CLOSE.
        assert!(last("TIME_WAIT").contains("FIN-ACK seq=1000001"), "{text}");
        assert!(
            last("CLOSE ").contains("ACK seq=8 ack=1000002")
                || last("│ CLOSE").contains("ack=1000002"),
            "{text}"
        );
        assert!(
            text.contains("CLOSE_WAIT") && text.contains("LAST_ACK"),
            "{text}"
        );
    }
}

#[test]
fn a_udp_socket_shows_its_datagrams_without_states() {
    // Row 7 of the connections panel: u1.
    let app = ladder_app_with(Lang::En, fixture_segments(), 7);
    let rows = panel_rows(&app, 80, 24, "segments 127.0.0.1:9998-127.0.0.1:9999 (1)");
    assert!(rows[0].contains("127.0.0.1:9998") && rows[0].contains("u1 127.0.0.1:9999"));
    assert!(rows[1].contains(r#" UDP len=4 "ping" "#), "{rows:#?}");
    assert!(
        rows[1].contains("150.000ms") || rows[1].contains("0us"),
        "{rows:#?}"
    );
    for state in ["SYN", "ESTABLISHED", "CLOSE"] {
        assert!(!rows[1].contains(state), "{rows:#?}");
    }
}

#[test]
fn without_a_capture_the_ladder_says_why_and_what_to_do() {
    for lang in [Lang::En, Lang::Ko] {
        let code = lang_name(lang);
        let mut app = ladder_app(lang);
        let mut snapshot = app.snapshot.clone();
        snapshot.segments = Vec::new().into();
        snapshot.capture = CaptureInfo {
            reason: Some(sockscope::text::get(lang, "capture.no_permission").to_owned()),
            remedy: Some(sockscope::text::get(lang, "capture.remedy_root_or_private").to_owned()),
            ..CaptureInfo::default()
        };
        app.apply(snapshot);
        assert_eq!(app.rows(Panel::Ladder), 0);
        let text = panel_alone(&app, ui::ladder::render);
        insta::assert_snapshot!(format!("panel_ladder_no_capture_{code}"), text);
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(joined.contains("CAP_NET_RAW"), "{text}");
        assert!(
            joined.contains("root") && joined.contains("--net private"),
            "{text}"
        );
        // At 80x24 too: the focused ladder replaces the top panels and still says it.
        let whole = screen(&app, 80, 24)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(whole.contains("CAP_NET_RAW"), "{whole}");
    }
}

#[test]
fn a_selected_segment_is_explained_with_the_commands_that_show_it() {
    for lang in [Lang::En, Lang::Ko] {
        let code = lang_name(lang);
        let mut app = ladder_app(lang);
        app.update(Action::First);
        app.update(Action::Down);
        let Some(Item::Segment(segment)) = app.selected_item() else {
            panic!("a segment is selected");
        };
        assert_eq!(segment.flags, "SYN-ACK");
        let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
        terminal
            .draw(|frame| ui::explain::render(frame, Rect::new(0, 0, 100, 20), &app))
            .unwrap();
        let text = text_of(terminal.backend().buffer());
        insta::assert_snapshot!(format!("panel_explain_segment_{code}"), text);
        assert!(
            text.contains("$ tcpdump -i lo -n 'tcp port 5555'"),
            "{text}"
        );
        assert!(
            text.contains("$ ss -ti 'sport = :40001 and dport = :5555'"),
            "{text}"
        );
        // The SYN-ACK moved srv to SYN_RECV (sending it) and c1 to ESTABLISHED (receiving it).
        assert!(
            text.contains("SYN_RECV") && text.contains("ESTABLISHED"),
            "{text}"
        );
        // The raw numbers are there too: the SYN-ACK acknowledges the SYN's sequence number + 1.
        let expected_ack = isn(40_001).wrapping_add(1).to_string();
        assert!(
            text.split_whitespace()
                .collect::<String>()
                .contains(&expected_ack),
            "{text}"
        );
    }
}

/// Every command an explanation gives, for every item of every panel.
fn every_command(app: &mut App) -> Vec<String> {
    let mut out = Vec::new();
    let panels = Panel::ALL
        .into_iter()
        .filter(|panel| *panel != Panel::Ladder);
    // The ladder last, following c1 (row 0 of the connections).
    for panel in panels.chain([Panel::Ladder]) {
        if panel == Panel::Ladder {
            app.focus = Panel::Connections;
            app.select(Panel::Connections, 0);
            app.update(Action::NextPanel);
        }
        app.focus = panel;
        for index in 0..app.rows(panel) {
            app.select(panel, index);
            for para in ui::explain::explain(app, app.selected_item()) {
                if let ui::explain::Para::Command(command) = para {
                    out.push(command);
                }
            }
        }
    }
    out
}

#[test]
fn in_the_private_network_every_command_on_the_lab_s_network_goes_through_sockscope_exec() {
    let mut app = ladder_app(Lang::En);
    let host = every_command(&mut app);
    assert!(
        host.iter()
            .all(|command| !command.starts_with("sockscope exec"))
    );
    let mut snapshot = app.snapshot.clone();
    snapshot.capture.network = Network::Private;
    snapshot.at_ms += 1;
    app.apply(snapshot);
    let private = every_command(&mut app);
    assert_eq!(host.len(), private.len());
    let network_tools = ["ss ", "nstat ", "tcpdump ", "lsof ", "cat /proc/sys/net/"];
    let mut prefixed = 0;
    for (plain, inside) in host.iter().zip(&private) {
        if network_tools.iter().any(|tool| plain.starts_with(tool)) {
            assert_eq!(inside, &format!("sockscope exec -- {plain}"));
            prefixed += 1;
        } else {
            // /proc/PID/fd, strace -p and man read the process, not its network.
            assert_eq!(inside, plain);
            assert!(
                ["ls -l /proc/", "strace ", "man "]
                    .iter()
                    .any(|tool| plain.starts_with(tool)),
                "{plain}"
            );
        }
    }
    for tool in network_tools {
        assert!(
            private
                .iter()
                .any(|command| command.starts_with(&format!("sockscope exec -- {tool}"))),
            "{tool} is never proposed"
        );
    }
    assert!(prefixed > 10, "{prefixed}");
}

#[test]
fn keys_clicks_and_tab_move_over_the_segments() {
    let mut app = ladder_app(Lang::En);
    // The ladder follows the newest segment until the user moves.
    assert_eq!(app.selected_index(Panel::Ladder), 4);
    app.update(Action::First);
    assert_eq!(app.selected_index(Panel::Ladder), 0);
    app.update(Action::Down);
    app.update(Action::Down);
    let Some(Item::Segment(segment)) = app.selected_item() else {
        panic!("a segment");
    };
    assert_eq!((segment.flags, segment.rel_seq), ("ACK", 1));
    app.update(Action::Up);
    assert_eq!(app.selected_index(Panel::Ladder), 1);
    // A click on a drawn row selects that segment.
    let area = Rect::new(0, 0, 80, 24);
    let ladder = ui::layout::areas(&app, area).unwrap().ladder.unwrap();
    let buffer = draw(&app, 80, 24);
    let mut clicked = 0;
    for row in ladder.y..ladder.bottom() {
        if let Some((Panel::Ladder, Some(index))) = ui::layout::hit(&app, area, ladder.x + 30, row)
        {
            let line: String = (ladder.x..ladder.right())
                .map(|x| buffer[(x, row)].symbol())
                .collect();
            let Some(Item::Segment(segment)) = app.item_at(Panel::Ladder, index) else {
                panic!("row {index} is a segment");
            };
            assert!(line.contains(&format!(" {} seq", segment.flags)), "{line}");
            clicked += 1;
        }
    }
    assert_eq!(clicked, 5, "one row per segment");
    let (panel, index) = ui::layout::hit(&app, area, ladder.x + 30, ladder.y + 4).unwrap();
    app.update(Action::Select { panel, index });
    assert_eq!(app.selected_index(Panel::Ladder), 2);
    // Tab goes on to the port map, Shift-Tab back to the connections.
    app.update(Action::NextPanel);
    assert_eq!(app.focus, Panel::Ports);
    app.update(Action::PrevPanel);
    app.update(Action::PrevPanel);
    assert_eq!(app.focus, Panel::Connections);
}

#[test]
fn on_a_small_screen_the_ladder_shows_when_focused_or_pinned() {
    let mut app = app(Lang::En);
    let small = Rect::new(0, 0, 80, 24);
    let areas = ui::layout::areas(&app, small).unwrap();
    assert!(areas.ladder.is_none() && areas.fds.is_some() && areas.ports.is_some());
    app.update(Action::ToggleLadder);
    assert_eq!(app.ladder_place, sockscope::app::LadderPlace::Pinned);
    let areas = ui::layout::areas(&app, small).unwrap();
    let ladder = areas.ladder.expect("pinned");
    // It takes the rows of the descriptors, the listeners and the port map, above the
    // connections; the trace and the explanation stay.
    assert!(areas.fds.is_none() && areas.listeners.is_none() && areas.ports.is_none());
    let connections = areas.connections.unwrap();
    assert_eq!(ladder.bottom(), connections.y);
    assert_eq!(ladder.height, 11);
    assert!(areas.trace.is_some() && areas.explain.is_some());
    assert!(screen(&app, 80, 24).contains("segments c4 (3)"));
    // Focused, it gives the explanation of its segment the whole bottom row.
    app.focus = Panel::Ladder;
    let areas = ui::layout::areas(&app, small).unwrap();
    assert!(areas.trace.is_none());
    assert_eq!(areas.explain.unwrap().width, 80);
    app.focus = Panel::Listeners;
    app.update(Action::ToggleLadder);
    assert!(ui::layout::areas(&app, small).unwrap().ladder.is_none());
    // Wide screens have a column for it, whatever has the focus; the others keep their places.
    for (width, height) in [(150, 30), (200, 60)] {
        let areas = ui::layout::areas(&app, Rect::new(0, 0, width, height)).unwrap();
        let ladder = areas.ladder.unwrap();
        assert_eq!(ladder.right(), width);
        assert_eq!(ladder.height, height - 1);
        assert!(areas.fds.is_some() && areas.ports.is_some() && areas.trace.is_some());
        assert!(areas.connections.unwrap().right() <= ladder.x);
    }
    // The presenter layout too.
    app.layout = LayoutMode::Presenter;
    let areas = ui::layout::areas(&app, Rect::new(0, 0, 200, 60)).unwrap();
    assert!(areas.ladder.is_some() && areas.listeners.is_some());
    let areas = ui::layout::areas(&app, small).unwrap();
    assert!(areas.ladder.is_none());
    app.focus = Panel::Ladder;
    let areas = ui::layout::areas(&app, small).unwrap();
    assert!(areas.ladder.is_some() && areas.listeners.is_none());
}

#[test]
fn the_ladder_draws_only_ascii_and_box_drawing_besides_wide_text() {
    for app in [
        ladder_app(Lang::En),
        ladder_app(Lang::Ko),
        ladder_app_with(Lang::Ko, closing_segments(), 8),
    ] {
        for (width, height) in [(80, 24), (200, 60)] {
            let buffer = draw(&app, width, height);
            let ladder = ui::layout::areas(&app, Rect::new(0, 0, width, height))
                .unwrap()
                .ladder
                .unwrap();
            for y in ladder.y..ladder.bottom() {
                for x in ladder.x..ladder.right() {
                    for ch in buffer[(x, y)].symbol().chars() {
                        let box_drawing = ('\u{2500}'..='\u{257f}').contains(&ch);
                        let unambiguous = unicode_width::UnicodeWidthChar::width(ch)
                            == unicode_width::UnicodeWidthChar::width_cjk(ch);
                        assert!(
                            ch.is_ascii() || box_drawing || unambiguous,
                            "{ch:?} at {x},{y}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_ladder_follows_the_selection_a_lecture_s_focus_and_holds_still_while_read() {
    let mut app = app(Lang::En);
    let conn = |app: &App| {
        app.ladder()
            .connection
            .map(|connection| connection.conn.to_string())
    };
    // Nothing in particular selected (the listener srv): its newest connection, c4's.
    assert_eq!(conn(&app).as_deref(), Some("c4"));
    // A scenario's `focus = "c1"`.
    app.focus_name("c1");
    assert_eq!(conn(&app).as_deref(), Some("c1"));
    // A name the capture never saw: the ladder says so instead of showing another connection.
    app.focus_name("c2");
    let ladder = app.ladder();
    assert!(ladder.connection.is_none() && ladder.rows.is_empty());
    assert_eq!(ladder.subject, Some("c2"));
    assert!(
        screen(&app, 200, 60).contains("No segments captured for c2 yet."),
        "{}",
        screen(&app, 200, 60)
    );
    // While the user reads c1's ladder, a new connection does not pull the ladder away.
    app.focus_name("c1");
    app.update(Action::NextPanel);
    assert_eq!(app.focus, Panel::Ladder);
    let mut snapshot = app.snapshot.clone();
    let mut late = snapshot.socket("c3").unwrap().clone();
    late.name = "c7".to_owned();
    late.fd = 15;
    snapshot.sockets.push(late);
    snapshot.at_ms += 1;
    app.apply(snapshot);
    assert_eq!(conn(&app).as_deref(), Some("c1"));
}

#[test]
fn the_svg_snapshot_draws_the_ladder_as_valid_xml() {
    let app = ladder_app_with(Lang::En, fixture_segments(), 0);
    let buffer = sockscope::export::render_screen(&app, 200, 60);
    let svg = sockscope::export::buffer_to_svg(
        &buffer,
        &sockscope::export::svg_options(ThemeName::Default, None),
    );
    // Well-formed XML from the first byte to the last.
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut text = String::new();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Text(chunk)) => {
                text.push_str(&chunk.into_inner());
            }
            Ok(_) => {}
            Err(error) => panic!("the SVG is not well-formed: {error}"),
        }
    }
    // The ladder's words are in the picture, in the order the text export has them.
    let screen_text = screen(&app, 200, 60);
    for word in ["SYN-ACK", "SYN_SENT", "ESTABLISHED"] {
        assert!(screen_text.contains(word), "text export has {word}");
        assert!(text.contains(word), "the SVG's text draws {word}");
    }
}
