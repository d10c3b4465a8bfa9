//! HTTP and WebSocket on one listener, on real sockets: a plain GET and an upgrade arrive on the
//! same port, the kernel (via `ss`) sees two ESTABLISHED connections to it, the trace holds the
//! upgrade exchange and the frames decoded, and peer bytes never reach the output raw.

mod common;

use std::time::Duration;

use common::{lab_running, run, snapshot_when, ss};
use sockscope::command::{ParseErrorKind, parse_script};
use sockscope::model::{Snapshot, TcpState, TraceEntry};
use sockscope::text::Lang;

fn entries<'s>(snapshot: &'s Snapshot, name: &str) -> Vec<&'s TraceEntry> {
    snapshot
        .trace
        .iter()
        .filter(|entry| entry.name.as_deref() == Some(name))
        .collect()
}

fn position(entries: &[&TraceEntry], needle: &str) -> usize {
    entries
        .iter()
        .position(|entry| entry.call.contains(needle))
        .unwrap_or_else(|| {
            let calls: Vec<&str> = entries.iter().map(|entry| entry.call.as_str()).collect();
            panic!("no {needle:?} in {calls:#?}")
        })
}

fn echoed(snapshot: &Snapshot, client: &str, text: &str) -> bool {
    entries(snapshot, client)
        .iter()
        .any(|entry| entry.call.starts_with("ws frame received: TEXT") && entry.call.contains(text))
}

#[test]
fn http_and_websocket_share_one_listener_as_the_kernel_sees_it() {
    let mut lab = lab_running(
        "ws-server web; http-get browser web /; ws-client chat web /chat; ws-send chat hello",
    );
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        echoed(s, "chat", "hello")
            && entries(s, "browser")
                .iter()
                .any(|e| e.call.starts_with("http body"))
    });
    assert!(echoed(&snapshot, "chat", "hello"), "{:#?}", snapshot.trace);
    let socket = |name: &str| {
        snapshot
            .sockets
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no socket {name}"))
    };
    let port = socket("web").local.expect("bound").port();
    // Both accepted connections carry the listener's local port; only the peer differs.
    for name in ["web-a1", "web-a2"] {
        let accepted = socket(name);
        assert_eq!(accepted.local.expect("local").port(), port, "{name}");
        assert_eq!(accepted.state, TcpState::Established, "{name}");
    }
    assert_ne!(socket("web-a1").remote, socket("web-a2").remote);
    assert_eq!(socket("web-a2").remote, socket("chat").local);
    assert_eq!(socket("chat").state, TcpState::Established);

    // The kernel's own view: two ESTABLISHED connections whose local port is the listener's.
    let rows = ss("-Htan");
    let established: Vec<_> = rows
        .iter()
        .filter(|row| row.state == TcpState::Established && row.local.port() == port)
        .collect();
    assert_eq!(established.len(), 2, "{rows:#?}");
    let peers: Vec<_> = established.iter().filter_map(|row| row.peer).collect();
    assert!(peers.contains(&socket("browser").local.expect("local")));
    assert!(peers.contains(&socket("chat").local.expect("local")));
    assert!(
        rows.iter()
            .any(|row| row.state == TcpState::Listen && row.local.port() == port)
    );
}

#[test]
fn the_trace_holds_the_upgrade_exchange_then_decoded_frames() {
    let mut lab = lab_running("ws-server web; ws-client chat web /chat; ws-send chat ping-me");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        echoed(s, "chat", "ping-me")
    });
    let server = entries(&snapshot, "web-a1");
    let client = entries(&snapshot, "chat");

    // The server: recv of the request, what it asked for, the 101 sent, a masked frame in, the
    // same text echoed unmasked.
    let request = position(&server, "http request: \"GET /chat HTTP/1.1\"");
    assert!(server[request].call.contains("Upgrade: \"websocket\""));
    assert!(server[request].call.contains("Sec-WebSocket-Key: "));
    assert!(
        server[request - 1].call.starts_with("recv("),
        "{:?}",
        server[request - 1]
    );
    let answer = position(
        &server,
        "http response: \"HTTP/1.1 101 Switching Protocols\"",
    );
    assert!(server[answer].call.contains("sec-websocket-accept: "));
    assert!(server[answer - 1].call.starts_with("send("));
    assert!(
        server[answer - 1]
            .call
            .contains("HTTP/1.1 101 Switching Protocols")
    );
    let frame_in = position(&server, "ws frame received: TEXT FIN len=7 masked key=");
    assert!(server[frame_in].call.ends_with("\"ping-me\""));
    assert!(server[frame_in - 1].call.starts_with("recv("));
    let frame_out = position(
        &server,
        "ws frame sent: TEXT FIN len=7 unmasked \"ping-me\"",
    );
    assert!(request < answer && answer < frame_in && frame_in < frame_out);

    // The client checked the accept key before it sent a frame.
    let open = position(&client, "websocket: open (Sec-WebSocket-Accept matches");
    let sent = position(&client, "ws frame sent: TEXT FIN len=7 masked");
    assert!(open < sent);
    assert!(
        snapshot.trace.iter().all(|entry| !entry.failed),
        "{:#?}",
        snapshot.trace
    );

    // Closing: Close frames both ways; the server closes TCP first and keeps TIME_WAIT.
    run(&mut lab, "ws-close chat");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        s.sockets.iter().all(|socket| socket.name != "chat")
    });
    let server = entries(&snapshot, "web-a1");
    position(&server, "ws frame received: CLOSE FIN");
    position(&server, "ws frame sent: CLOSE FIN len=2 unmasked code=1000");
    assert!(
        snapshot
            .kernel_only
            .iter()
            .any(|k| k.was.as_deref() == Some("web-a1") && k.state == TcpState::TimeWait),
        "{:#?}",
        snapshot.kernel_only
    );
}

#[test]
fn a_plain_request_line_sent_by_hand_gets_an_http_answer() {
    let mut lab = lab_running(
        "ws-server web; client c web; wait 50ms; send c \"GET /index HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"",
    );
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        entries(s, "web-a1")
            .iter()
            .any(|e| e.call.contains("HTTP/1.1 200 OK"))
    });
    let server = entries(&snapshot, "web-a1");
    position(&server, "http request: \"GET /index HTTP/1.1\"");
    position(&server, "http response: \"HTTP/1.1 200 OK\"");
    // Plain HTTP never turns into frames.
    assert!(
        server
            .iter()
            .all(|entry| !entry.call.starts_with("ws frame"))
    );
}

#[test]
fn peer_bytes_stay_escaped_in_frames_and_heads() {
    let mut lab = lab_running(
        "ws-server web; ws-client chat web /chat; ws-send chat \"\\x1b[2J\\x1b]0;owned\\x07\\x9b\"",
    );
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        echoed(s, "chat", "[2J")
    });
    let frame = entries(&snapshot, "web-a1")
        .into_iter()
        .find(|e| e.call.starts_with("ws frame received: TEXT"))
        .expect("a frame");
    assert!(
        frame.call.contains("\\33[2J\\33]0;owned\\7"),
        "{}",
        frame.call
    );
    // A request head carrying control bytes is escaped too (a hand-made request).
    run(
        &mut lab,
        "client raw web; wait 50ms; send raw \"GET /\\x1b[31m HTTP/1.1\\r\\nUpgrade: \\x1b[2J\\r\\n\\r\\n\"",
    );
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        entries(s, "web-a2").iter().any(|e| e.call.contains("http"))
    });
    for entry in &snapshot.trace {
        assert!(
            !entry.call.chars().any(char::is_control),
            "raw control in {:?}",
            entry.call
        );
    }
    let json = serde_json::to_string(&snapshot).expect("json");
    assert!(!json.contains('\u{1b}'));
}

#[test]
fn bad_input_to_the_verbs_is_refused_with_its_position() {
    let cases = [
        (
            "ws-client chat web chat",
            1,
            20,
            ParseErrorKind::BadRequestPath,
        ),
        (
            "ws-server web\nhttp-get b web \"/a b\"",
            2,
            16,
            ParseErrorKind::BadRequestPath,
        ),
        (
            "ws-send",
            1,
            8,
            ParseErrorKind::MissingArgument { missing: "NAME" },
        ),
        ("ws-close 9x", 1, 10, ParseErrorKind::BadName),
        ("ws-server web :99999", 1, 15, ParseErrorKind::BadPort),
        ("ws-close chat now", 1, 15, ParseErrorKind::ExtraArgument),
        (
            "ws-sned chat hi",
            1,
            1,
            ParseErrorKind::UnknownVerb {
                suggestion: Some("ws-send"),
            },
        ),
    ];
    for (script, line, column, kind) in cases {
        let error = parse_script(script).expect_err(script);
        assert_eq!(
            (error.line, error.column, error.kind),
            (line, column, kind),
            "{script}"
        );
        let english = error.localized(Lang::En);
        assert!(
            english.starts_with(&format!("line {line}, column {column}: ")),
            "{english}"
        );
        assert!(
            error
                .localized(Lang::Ko)
                .starts_with(&format!("줄 {line}, 열 {column}: "))
        );
    }
    // `ws-send` on a connection that never upgraded is refused before any syscall.
    let mut lab = lab_running("ws-server web; http-get b web");
    let parsed = parse_script("ws-send b hi").expect("parses");
    let refused = lab.execute(&parsed[0].command);
    assert!(refused.is_err());
    let snapshot = lab.snapshot();
    assert!(
        entries(&snapshot, "b")
            .iter()
            .all(|entry| !entry.call.contains("ws frame") && !entry.call.contains("\\201")),
        "{:#?}",
        snapshot.trace
    );
}

#[test]
fn bad_input_exits_2_and_runs_nothing() {
    let output = common::sockscope(&[
        "snapshot",
        "--run",
        "ws-server web; ws-client c web no-slash",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1, column 32: "), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_ladder_shows_the_upgrade_and_the_frames_as_segments() {
    let output = common::sockscope(&[
        "snapshot",
        "--net",
        "private",
        "--run",
        "ws-server web; ws-client chat web /chat; ws-send chat hello",
        "--wait",
        "300ms",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("not available") {
        eprintln!("NOTE: no private network here, so no capture: {stderr}");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let data: Vec<(u64, String)> = json["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .filter(|segment| segment["conn"] == "chat" && segment["len"].as_u64() > Some(0))
        .map(|segment| {
            (
                segment["len"].as_u64().unwrap_or_default(),
                segment["preview"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // One connection carries the upgrade request, the 101, then the frames: a masked "hello"
    // (2 header bytes + 4 of mask + 5) and its unmasked echo (2 + 5).
    assert!(data.len() >= 4, "{data:#?}");
    assert!(data[0].1.starts_with("\"GET /chat HTTP/1.1"), "{data:#?}");
    assert!(
        data[1].1.starts_with("\"HTTP/1.1 101 Switching Protocols"),
        "{data:#?}"
    );
    assert_eq!(data[2].0, 11, "{data:#?}");
    assert_eq!(data[3], (7, "\"\\201\\5hello\"".to_owned()), "{data:#?}");
}

#[test]
fn a_decoded_entry_explains_itself_as_no_syscall() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::layout::Rect;
    use sockscope::app::{App, Panel};
    use sockscope::settings::ThemeName;

    let mut lab = lab_running("ws-server web; ws-client chat web /chat; ws-send chat hi");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |s| {
        echoed(s, "chat", "hi")
    });
    let index = snapshot
        .trace
        .iter()
        .position(|entry| entry.call.starts_with("ws frame received: TEXT"))
        .expect("a decoded frame");
    for (lang, says) in [
        (Lang::En, "Not a system call"),
        (Lang::Ko, "시스템 호출이 아닙니다"),
    ] {
        let mut app = App::new(lang, ThemeName::Default);
        app.apply(snapshot.clone());
        app.focus = Panel::Trace;
        app.select(Panel::Trace, index);
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal
            .draw(|frame| sockscope::ui::explain::render(frame, Rect::new(0, 0, 100, 30), &app))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let text: String = (0..30)
            .map(|y| {
                (0..100)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n");
        let squeezed = text.replace([' ', '\n', '│'], "");
        assert!(squeezed.contains(&says.replace(' ', "")), "{text}");
        assert!(!text.contains("man 2 ws"), "{text}");
    }
}
