//! Render snapshots of the dashboard from a synthetic, fixed Snapshot: every panel alone, the
//! whole screen in English and Korean at 80x24 and 120x40, the too-small message, a resize storm,
//! and semantic checks (waiting peers visible, clicks land on the drawn row, escapes, styles).
//! Nothing here reads the clock or the machine: `now_ms` and `pid` are fixed.

use std::net::SocketAddr;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use sockscope::app::{App, LayoutMode, LectureView, Mode, Panel};
use sockscope::model::{
    Counters, FdEntry, FdKind, KernelOnly, LabMessage, ListenerInfo, PortUse, Ports, Proto, Role,
    Snapshot, SocketInfo, StateChange, TcpState, TraceEntry, Waiting,
};
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
            (0, 0),
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
        ..Snapshot::default()
    }
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
    for (width, height) in [(80, 24), (120, 40), (60, 18)] {
        let buffer = draw(&app(Lang::Ko), width, height);
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
    let panels: [fn(&mut ratatui::Frame, Rect, &App); 9] = [
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
