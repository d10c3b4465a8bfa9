//! State histories from the captured segments (issue 10): with a capture, every owned TCP socket's
//! history is the states its segments drove it through, `TCP_INFO`'s sampled states stay beside it
//! as the check, and a state the kernel does not confirm is reported as a disagreement. Without a
//! capture, the sampled history stays and says so.
//!
//! Real sockets throughout: the private network as an ordinary user (`setpriv` to nobody), the host
//! network as root, and a segment the kernel rejects (an RST outside the window, RFC 5961) made for
//! real with a raw socket.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use sockscope::app::{App, Panel};
use sockscope::lab::HeadlessLab;
use sockscope::model::{HistorySource, Snapshot, TcpState};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::ui;
use sockscope::ui::explain::Para;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `sockscope snapshot --net NET --run SCRIPT --format json`, as nobody when asked.
fn snapshot_json(as_nobody: bool, net: &str, script: &str) -> Value {
    let mut command = common::sockscope_command(as_nobody);
    let output = command
        .args([
            "snapshot", "--net", net, "--run", script, "--wait", "0ms", "--format", "json",
        ])
        .env("LANG", "C")
        .output()
        .expect("sockscope runs");
    assert!(
        output.status.success(),
        "snapshot failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn socket<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|socket| socket["name"] == name)
        .unwrap_or_else(|| panic!("no socket {name} in {}", json["sockets"]))
}

/// A history (a list of `{state, at_ms}`) as `CLOSE>SYN_SENT>...`.
fn states(history: &Value) -> String {
    history
        .as_array()
        .expect("history")
        .iter()
        .map(|change| change["state"].as_str().expect("state"))
        .collect::<Vec<_>>()
        .join(">")
}

/// The client's handshake and half-close, the accepted side's answer, then a full close of both.
const HALF_CLOSE: &str = "server s 127.0.0.1:0 2; client c1 s; wait 100ms; accept s as a1; \
                          send c1 hello; wait 100ms; shutdown c1 wr; wait 100ms";

/// What every captured run must show: histories from segments, agreeing with `TCP_INFO`.
fn check_half_close(json: &Value) {
    assert_eq!(json["capture"]["active"], true, "{}", json["capture"]);
    let c1 = socket(json, "c1");
    assert_eq!(c1["history_source"], "segments");
    assert_eq!(
        states(&c1["history"]),
        "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2",
        "every state the segments drove c1 through, SYN_SENT included"
    );
    assert_eq!(c1["state"], "FIN_WAIT2");
    assert_eq!(c1["state_from_segments"], "FIN_WAIT2");
    assert_eq!(c1["state_from_segments_cause"]["flags"], "ACK");
    assert_eq!(c1["state_from_segments_cause"]["sent"], false);
    assert_eq!(c1["disagreement"], false);
    // The sampled check is kept beside it; sampling never sees the SYN_SENT of a loopback connect.
    let sampled = states(&c1["sampled_history"]);
    assert!(sampled.starts_with("CLOSE>"), "{sampled}");
    assert!(sampled.ends_with("FIN_WAIT2"), "{sampled}");

    let a1 = socket(json, "a1");
    assert_eq!(a1["history_source"], "segments");
    assert_eq!(
        states(&a1["history"]),
        "SYN_RECV>ESTABLISHED>CLOSE_WAIT",
        "an accepted socket starts at the SYN_RECV its listener's SYN-ACK entered"
    );
    assert_eq!(a1["state"], "CLOSE_WAIT");
    assert_eq!(a1["disagreement"], false);
    // The times are the lab's clock (from the kernel's packet stamps): in order, and c1's FIN,
    // sent inside shutdown(), lands where the trace put that call (both are whole milliseconds).
    let times: Vec<u64> = c1["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|change| change["at_ms"].as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    let shutdown_ms = json["trace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["call"].as_str().unwrap().starts_with("shutdown("))
        .expect("shutdown in the trace")["at_ms"]
        .as_u64()
        .unwrap();
    assert!(
        times[3].abs_diff(shutdown_ms) <= 1,
        "FIN_WAIT1 at {} ms, shutdown() at {shutdown_ms} ms",
        times[3]
    );

    // A listener's history is not driven by segments: it stays sampled.
    let s = socket(json, "s");
    assert_eq!(s["history_source"], "sampled");
    assert_eq!(states(&s["history"]), "CLOSE>LISTEN");
    assert!(s["state_from_segments"].is_null());
}

#[test]
fn private_network_as_an_ordinary_user_histories_come_from_the_segments() {
    let json = snapshot_json(is_root(), "private", HALF_CLOSE);
    check_half_close(&json);
}

#[test]
fn host_network_as_root_histories_come_from_the_segments() {
    if !is_root() {
        eprintln!("NOTE: not root: the host network cannot capture; covered in the private one");
        return;
    }
    let json = snapshot_json(false, "host", HALF_CLOSE);
    check_half_close(&json);
}

/// c1 closes first, then a1: c1's tuple, held by the kernel alone, goes `FIN_WAIT1` > `FIN_WAIT2`
/// and, at a1's FIN, `TIME_WAIT`, as `sock_diag` (`kernel_only`) reports it.
#[test]
fn a_closed_clients_tuple_gets_its_history_from_the_segments_up_to_time_wait() {
    let base = "server s 127.0.0.1:0 2; client c1 s; wait 100ms; accept s as a1; close c1; \
                wait 100ms";
    for (script, last) in [
        (base.to_owned(), "FIN_WAIT2"),
        (format!("{base}; close a1; wait 100ms"), "TIME_WAIT"),
    ] {
        let json = snapshot_json(is_root(), "private", &script);
        let held = json["kernel_only"]
            .as_array()
            .unwrap()
            .iter()
            .find(|held| held["was"] == "c1")
            .unwrap_or_else(|| panic!("c1's tuple is held: {}", json["kernel_only"]));
        assert_eq!(held["state"], last);
        let history = json["kernel_only_history"]
            .as_array()
            .unwrap()
            .iter()
            .find(|history| {
                history["local"] == held["local"] && history["remote"] == held["remote"]
            })
            .unwrap_or_else(|| panic!("a history for c1's tuple: {}", json["kernel_only_history"]));
        let expected = if last == "TIME_WAIT" {
            "SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT"
        } else {
            "SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2"
        };
        assert_eq!(states(&history["history"]), expected, "{script}");
        assert_eq!(history["state_from_segments"], last);
        assert_eq!(history["disagreement"], false);
    }
}

/// After `shutdown c1 wr` and a1's close, the segments put c1 in `TIME_WAIT` while its descriptor's
/// `TCP_INFO` says CLOSE: the kernel moved the connection to a time-wait socket and closed the full
/// one. That is the same fact in two places, not a disagreement. (a1 reads the 5 bytes first: a
/// close with unread data would answer with an RST instead of a FIN.)
#[test]
fn an_owned_socket_handed_to_time_wait_is_not_a_disagreement() {
    let script = format!("{HALF_CLOSE}; recv a1; close a1; wait 100ms");
    let json = snapshot_json(is_root(), "private", &script);
    let c1 = socket(&json, "c1");
    assert_eq!(c1["state"], "CLOSE", "TCP_INFO of the closed full socket");
    assert_eq!(
        states(&c1["history"]),
        "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>TIME_WAIT"
    );
    assert_eq!(c1["state_from_segments"], "TIME_WAIT");
    assert_eq!(c1["state_from_segments_cause"]["flags"], "FIN-ACK");
    assert_eq!(c1["disagreement"], false);
}

/// No capture (the host network as an ordinary user): the sampled history stays, labelled.
#[test]
fn without_a_capture_the_sampled_history_stays_and_says_so() {
    let json = snapshot_json(is_root(), "host", HALF_CLOSE);
    assert_eq!(json["capture"]["active"], false);
    for name in ["s", "c1", "a1"] {
        let socket = socket(&json, name);
        assert_eq!(socket["history_source"], "sampled", "{name}");
        assert_eq!(socket["history"], socket["sampled_history"], "{name}");
        assert!(socket["state_from_segments"].is_null(), "{name}");
        assert_eq!(socket["disagreement"], false, "{name}");
    }
    let c1 = states(&socket(&json, "c1")["history"]);
    assert!(
        c1.starts_with("CLOSE>") && c1.ends_with(">FIN_WAIT2"),
        "{c1}"
    );
}

/// Sends one TCP segment with the RST flag from `from` to `to`, sequence number `seq`, through a
/// raw socket (the kernel adds nothing: `IPPROTO_RAW` means the IP header is ours).
fn forge_rst(from: SocketAddr, to: SocketAddr, seq: u32) {
    let (SocketAddr::V4(from), SocketAddr::V4(to)) = (from, to) else {
        panic!("IPv4 only");
    };
    let builder = etherparse::PacketBuilder::ipv4(from.ip().octets(), to.ip().octets(), 64)
        .tcp(from.port(), to.port(), seq, 0)
        .rst();
    let mut packet = Vec::with_capacity(builder.size(0));
    builder.write(&mut packet, &[]).expect("packet");
    let raw = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::RAW,
        Some(socket2::Protocol::from(libc::IPPROTO_RAW)),
    )
    .expect("raw socket (root)");
    let target = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    raw.send_to(&packet, &target.into()).expect("sent");
}

fn settled(lab: &mut HeadlessLab, done: impl Fn(&Snapshot) -> bool) -> Snapshot {
    common::snapshot_when(lab, Duration::from_secs(5), done)
}

/// A disagreement made for real: an RST whose sequence number is far outside c1's receive window.
/// The capture sees it (a packet socket reads it before TCP does), so the ladder's state machine
/// takes c1 to CLOSE; the kernel discards it (RFC 5961: an RST must fall in the window), so
/// `TCP_INFO` and `ss` still say ESTABLISHED. The snapshot reports the disagreement on both sides.
#[test]
fn an_rst_the_kernel_ignores_is_shown_as_a_disagreement() {
    if !is_root() {
        eprintln!(
            "NOTE: forging a segment needs a raw socket (root); the comparison has a unit test"
        );
        return;
    }
    let mut lab = common::lab_running("server s 127.0.0.1:0 2; client c1 s; accept s as a1");
    let before = settled(&mut lab, |snapshot| {
        snapshot
            .socket("a1")
            .and_then(|a1| a1.tcp.as_ref())
            .is_some_and(|tcp| tcp.state_from_segments == Some(TcpState::Established))
    });
    assert!(before.capture.active, "root captures on the host network");
    let c1 = before.socket("c1").expect("c1");
    let (client, server) = (c1.local.unwrap(), c1.remote.unwrap());
    let counters = c1.tcp.as_ref().unwrap();
    assert_eq!(counters.history_source, HistorySource::Segments);
    assert!(!counters.disagreement);
    // The server's next sequence number, as c1 expects it, plus half the sequence space.
    let syn_ack = before
        .segments
        .iter()
        .find(|segment| segment.from == server && segment.flags == "SYN-ACK")
        .expect("the SYN-ACK was captured");
    let out_of_window = syn_ack.seq.wrapping_add(1).wrapping_add(1 << 31);
    forge_rst(server, client, out_of_window);

    let after = settled(&mut lab, |snapshot| {
        snapshot
            .segments
            .iter()
            .any(|segment| segment.flags == "RST" && segment.to == client)
    });
    let rst = after
        .segments
        .iter()
        .find(|segment| segment.flags == "RST" && segment.to == client)
        .expect("the capture saw the forged RST");
    assert_eq!(rst.seq, out_of_window);
    for name in ["c1", "a1"] {
        let socket = after.socket(name).expect(name);
        let counters = socket.tcp.as_ref().unwrap();
        assert_eq!(socket.state, TcpState::Established, "{name}: TCP_INFO");
        assert_eq!(
            counters.state_from_segments,
            Some(TcpState::Close),
            "{name}: the ladder"
        );
        assert!(counters.disagreement, "{name} reports the disagreement");
        assert_eq!(socket.history.last().unwrap().state, TcpState::Close);
        assert_eq!(
            counters.sampled_history.last().unwrap().state,
            TcpState::Established
        );
    }
    let cause = after.socket("c1").unwrap().tcp.as_ref().unwrap();
    let cause = cause.state_from_segments_cause.unwrap();
    assert_eq!((cause.flags, cause.sent), ("RST", false));
    // The kernel's own word, outside sockscope: the connection is still established.
    let row = common::ss("-Htan")
        .into_iter()
        .find(|row| row.local == client && row.peer == Some(server))
        .expect("ss lists c1");
    assert_eq!(row.state, TcpState::Established);
    // The kernel answered nothing: no challenge ACK for an RST outside the window.
    let kernel_answered = after
        .segments
        .iter()
        .skip_while(|segment| segment.flags != "RST")
        .any(|segment| segment.from == client);
    assert!(!kernel_answered);
    shows_the_disagreement(&after);
}

/// The dashboard marks the disagreement in the connections panel, and the explanation says what
/// each source says, in English and Korean, with the commands that compare them.
fn shows_the_disagreement(snapshot: &Snapshot) {
    for (lang, word) in [(Lang::En, "Disagreement"), (Lang::Ko, "불일치")] {
        let mut app = App::new(lang, ThemeName::Default);
        app.apply(snapshot.clone());
        app.focus_name("c1");
        let mut terminal = Terminal::new(TestBackend::new(160, 12)).expect("terminal");
        terminal
            .draw(|frame| {
                ui::render_panel(frame, frame.area(), &app, Panel::Connections);
            })
            .expect("draws");
        let buffer = terminal.backend().buffer();
        let rows: Vec<String> = (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect();
        let c1 = rows
            .iter()
            .find(|row| row.contains("c1 ") && row.contains("client"))
            .unwrap_or_else(|| panic!("c1's row:\n{}", rows.join("\n")));
        assert!(c1.contains("ESTABLISHED!"), "the marker: {c1}");
        assert!(
            c1.contains("ESTABLISHED>CLOSE"),
            "the history from segments: {c1}"
        );
        let paras = ui::explain::explain(&app, app.selected_item());
        let text: Vec<String> = paras
            .iter()
            .map(|para| match para {
                Para::Heading(text) | Para::Text(text) | Para::Command(text) | Para::Note(text) => {
                    text.clone()
                }
            })
            .collect();
        let told = text
            .iter()
            .find(|text| text.contains(word))
            .unwrap_or_else(|| panic!("{lang:?} explains the disagreement: {text:#?}"));
        assert!(
            told.contains("TCP_INFO") && told.contains("ESTABLISHED"),
            "{told}"
        );
        assert!(told.contains("CLOSE") && told.contains("RST"), "{told}");
        assert!(
            paras.iter().any(
                |para| matches!(para, Para::Command(command) if command.starts_with("ss -tnio"))
            ),
            "{text:#?}"
        );
    }
}

/// Snapshots of a lab that captured nothing new share one export (the same segments, not a copy):
/// an idle dashboard holding a full capture neither rebuilds nor copies it at every probe. A new
/// segment makes a new export.
#[test]
fn snapshots_share_the_segments_until_something_new_is_captured() {
    if !is_root() {
        eprintln!("NOTE: not root: no capture on the host network for an in-process lab");
        return;
    }
    let mut lab = common::lab_running("server s 127.0.0.1:0 2; client c1 s; accept s as a1");
    let first = settled(&mut lab, |snapshot| {
        snapshot
            .socket("a1")
            .and_then(|a1| a1.tcp.as_ref())
            .is_some_and(|tcp| tcp.state_from_segments == Some(TcpState::Established))
    });
    let second = lab.snapshot();
    assert!(std::sync::Arc::ptr_eq(&first.segments, &second.segments));
    assert_eq!(
        second.socket("c1").unwrap().history,
        first.socket("c1").unwrap().history
    );
    common::run(&mut lab, "send c1 hi");
    let third = settled(&mut lab, |snapshot| {
        snapshot.segments.len() > first.segments.len()
    });
    assert!(!std::sync::Arc::ptr_eq(&first.segments, &third.segments));
    assert!(third.segments.iter().any(|segment| segment.len == 2));
}
