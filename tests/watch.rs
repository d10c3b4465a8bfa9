//! `sockscope watch`: the screen rendered headless from synthetic snapshots (sorting, the filter,
//! the owners note, Korean widths, 100k sockets), and the real binary in tmux.

mod common;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use unicode_width::UnicodeWidthStr;

use sockscope::export::buffer_to_text;
use sockscope::model::{Proto, TcpState};
use sockscope::settings::ThemeName;
use sockscope::system::{Filter, ListenerQueue, SystemSnapshot, SystemSocket};
use sockscope::text::Lang;
use sockscope::ui;
use sockscope::watch::{Column, WatchApp, keymap};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

fn socket(
    local: &str,
    remote: Option<&str>,
    state: TcpState,
    recv_q: u32,
    owner: Option<(u32, &str)>,
) -> SystemSocket {
    SystemSocket {
        proto: Proto::Tcp,
        state,
        local: local.parse().unwrap(),
        remote: remote.map(|r| r.parse().unwrap()),
        recv_q,
        send_q: if state == TcpState::Listen { 128 } else { 0 },
        inode: 1000 + u64::from(recv_q),
        uid: 1000,
        timer_ms: None,
        pid: owner.map(|(pid, _)| pid),
        fd: owner.map(|_| 3),
        process: owner.map(|(_, name)| Arc::from(name)),
    }
}

/// Counts and listeners as the collector would make them.
fn snapshot_of(sockets: Vec<SystemSocket>) -> SystemSnapshot {
    let mut tcp_states = BTreeMap::new();
    let mut udp_states = BTreeMap::new();
    let mut listeners = Vec::new();
    for socket in &sockets {
        let states = match socket.proto {
            Proto::Tcp => &mut tcp_states,
            Proto::Udp => &mut udp_states,
        };
        *states.entry(socket.state).or_insert(0) += 1;
        if socket.state == TcpState::Listen {
            listeners.push(ListenerQueue {
                local: socket.local,
                inode: socket.inode,
                accept_queue: socket.recv_q,
                limit: socket.send_q,
                syn_recv: 0,
                pid: socket.pid,
                process: socket.process.clone(),
            });
        }
    }
    SystemSnapshot {
        time_wait: tcp_states.get(&TcpState::TimeWait).copied().unwrap_or(0),
        sockets,
        tcp_states,
        udp_states,
        listeners,
        ..SystemSnapshot::default()
    }
}

/// Five sockets; each has a unique recv-q so the rows can be told apart.
fn five() -> SystemSnapshot {
    snapshot_of(vec![
        socket(
            "0.0.0.0:8080",
            None,
            TcpState::Listen,
            3,
            Some((10, "nginx")),
        ),
        socket(
            "127.0.0.1:8080",
            Some("127.0.0.1:50001"),
            TcpState::Established,
            11,
            Some((10, "nginx")),
        ),
        socket(
            "127.0.0.1:50001",
            Some("127.0.0.1:8080"),
            TcpState::Established,
            22,
            Some((20, "curl")),
        ),
        socket(
            "127.0.0.1:50002",
            Some("127.0.0.1:8080"),
            TcpState::TimeWait,
            0,
            None,
        ),
        socket("[::]:22", None, TcpState::Listen, 1, Some((30, "sshd"))),
    ])
}

fn app(lang: Lang, snapshot: SystemSnapshot) -> WatchApp {
    let mut app = WatchApp::new(lang, ThemeName::Default, Filter::default(), true);
    app.apply(snapshot);
    app
}

fn screen(app: &WatchApp, columns: u16, rows: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(columns, rows)).unwrap();
    terminal
        .draw(|frame| ui::watch::render(frame, app))
        .unwrap();
    buffer_to_text(terminal.backend().buffer())
}

/// A key through the watch keymap, as the screen handles it.
fn press(app: &mut WatchApp, code: KeyCode) {
    let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    if let Some(action) = keymap::action_for(&event, &app.mode) {
        app.update(action);
    }
}

fn type_keys(app: &mut WatchApp, text: &str) {
    for ch in text.chars() {
        press(app, KeyCode::Char(ch));
    }
}

/// The line numbers on which each needle first appears (in the socket table, left part).
fn line_of(screen: &str, needle: &str) -> usize {
    screen
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
}

#[test]
fn sorting_by_a_column_reorders_the_rows_and_the_header_says_so() {
    let mut app = app(Lang::En, five());
    // Default: local port ascending: 22, 8080 (listener), 8080 (established), 50001, 50002.
    let before = screen(&app, 140, 30);
    assert!(before.contains("sorted by local ascending"), "{before}");
    assert!(line_of(&before, "[::]:22") < line_of(&before, "127.0.0.1:50001 "));

    // Cycle to recv-q (proto, state, local -> remote, recv-q): s four times... from local it is
    // remote, recv-q: two presses.
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort, Column::RecvQ);
    let ascending = screen(&app, 140, 30);
    assert!(
        ascending.contains("sorted by recv-q ascending"),
        "{ascending}"
    );
    assert!(ascending.contains("recv-q▲"), "{ascending}");
    // recv-q 0 (the TIME_WAIT at 50002) first, 22 (the curl socket at 50001) last.
    assert!(line_of(&ascending, "127.0.0.1:50002") < line_of(&ascending, "curl"));

    press(&mut app, KeyCode::Char('S'));
    let descending = screen(&app, 140, 30);
    assert!(descending.contains("recv-q▼"), "{descending}");
    assert!(line_of(&descending, "curl") < line_of(&descending, "127.0.0.1:50002"));
    assert_ne!(ascending, descending);
}

#[test]
fn the_filter_hides_rows_that_do_not_match_and_esc_clears_it() {
    let mut app = app(Lang::En, five());
    press(&mut app, KeyCode::Char('/'));
    type_keys(&mut app, "sshd");
    let typing = screen(&app, 140, 30);
    assert!(
        typing.contains("/sshd"),
        "the prompt shows what is typed:\n{typing}"
    );
    press(&mut app, KeyCode::Enter);
    let filtered = screen(&app, 140, 30);
    assert_eq!(app.rows.len(), 1);
    assert!(filtered.contains("sockets (1/5)"), "{filtered}");
    assert!(!filtered.contains("curl"), "{filtered}");
    assert!(!filtered.contains("50002"), "{filtered}");

    // By state, case-insensitively.
    press(&mut app, KeyCode::Char('/'));
    for _ in 0..4 {
        press(&mut app, KeyCode::Backspace);
    }
    type_keys(&mut app, "time_w");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.rows.len(), 1);
    assert!(screen(&app, 140, 30).contains("127.0.0.1:50002"));

    press(&mut app, KeyCode::Esc);
    assert_eq!(app.rows.len(), 5);
}

#[test]
fn the_owners_note_shows_when_owners_are_unknown() {
    let mut snapshot = five();
    snapshot.owners.looked_up = true;
    let without = screen(&app(Lang::En, snapshot.clone()), 140, 30);
    assert!(!without.contains("owners unknown"), "{without}");
    snapshot.owners.unknown = 7;
    let with = screen(&app(Lang::En, snapshot.clone()), 140, 30);
    assert!(
        with.contains(
            "7 sockets' owners unknown (other users' processes; run as root to see them)"
        ),
        "{with}"
    );
    let korean = screen(&app(Lang::Ko, snapshot), 140, 30);
    assert!(
        korean.contains("소켓 7개의 소유 프로세스를 알 수 없습니다"),
        "{korean}"
    );
}

#[test]
fn korean_keeps_every_line_within_the_frame() {
    let mut snapshot = five();
    snapshot.owners.looked_up = true;
    snapshot.owners.unknown = 2;
    for (columns, rows) in [(140, 30), (100, 24), (80, 20)] {
        let mut app = app(Lang::Ko, snapshot.clone());
        for view in 0..3 {
            let text = screen(&app, columns, rows);
            assert!(text.contains("프로세스"), "{text}");
            for line in text.lines() {
                assert!(
                    UnicodeWidthStr::width(line) <= usize::from(columns),
                    "{columns}x{rows}: too wide: {line}"
                );
            }
            // The table's header and its rows line up: the state column starts at the same place.
            if view == 0 {
                let header = text.lines().find(|line| line.contains("상태")).unwrap();
                let row = text
                    .lines()
                    .find(|line| line.contains("LISTEN ") && line.contains("sshd"))
                    .unwrap_or_else(|| panic!("{text}"));
                let at = |line: &str, needle: &str| {
                    UnicodeWidthStr::width(&line[..line.find(needle).unwrap()])
                };
                assert_eq!(at(header, "상태"), at(row, "LISTEN"), "{text}");
            }
            // Then the help, then the filter prompt.
            match view {
                0 => press(&mut app, KeyCode::Char('?')),
                1 => {
                    press(&mut app, KeyCode::Esc);
                    press(&mut app, KeyCode::Char('/'));
                    type_keys(&mut app, "한글");
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_hundred_thousand_sockets_render_only_the_visible_rows() {
    let sockets: Vec<SystemSocket> = (0..100_000u32)
        .map(|i| {
            let port = 10_000 + (i % 50_000) as u16;
            let mut s = socket(
                &format!("127.0.{}.{}:{port}", i / 50_000, 1 + i % 250),
                Some("127.0.0.1:8080"),
                TcpState::Established,
                i,
                Some((i % 997 + 2, "holder")),
            );
            s.inode = u64::from(i) + 1;
            s
        })
        .collect();
    let mut app = app(Lang::En, snapshot_of(sockets));
    app.set_page(ui::watch::table_rows(200, 60, &app));
    let visible = ui::watch::table_rows(200, 60, &app);
    assert!(visible > 40, "{visible}");
    let text = screen(&app, 200, 60);
    assert!(text.contains("sockets (100000)"), "{text}");
    let rows = text.lines().filter(|line| line.contains(":8080 ")).count();
    assert_eq!(rows, visible, "{text}");
    // Sorted by local port: the first rows are port 10000.
    assert!(text.contains("127.0.0.1:10000 "), "{text}");

    // The last row.
    press(&mut app, KeyCode::Char('G'));
    let end = screen(&app, 200, 60);
    assert_eq!(app.selected, 99_999);
    assert!(end.contains("127.0.1.250:59999 "), "{end}");
    assert_eq!(
        end.lines().filter(|line| line.contains(":8080 ")).count(),
        visible
    );
}

/// The real binary, in tmux: `watch --port P` shows this test's listener with this test's pid;
/// `q` quits.
#[test]
fn watch_in_tmux_shows_a_listener_with_its_pid_and_quits() {
    use common::tmux::{Tmux, child_of};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} watch --lang en --port {port}; echo exited-$?; sleep 30"
    );
    let tmux = Tmux::start(140, 30, &command);
    let shell = tmux.format("#{pane_pid}");
    child_of(&shell, Duration::from_secs(5)).expect("sockscope started");
    let me = std::process::id().to_string();
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let screen = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains(&address.to_string()) && screen.contains(&me)
    });
    let row = screen
        .lines()
        .find(|line| line.contains("LISTEN") && line.contains(&address.to_string()))
        .unwrap_or_else(|| panic!("no listener row:\n{screen}"));
    assert!(row.contains(&me), "the pid is on the row: {row}\n{screen}");
    assert!(screen.contains("listeners"), "{screen}");

    tmux.keys(&["q"]);
    let after = tmux.wait_for(Duration::from_secs(5), |screen| screen.contains("exited-0"));
    assert!(after.contains("exited-0"), "{after}");
    drop(listener);
}

/// The real binary in a network namespace of its own, where nothing else happens: after its first
/// walk the counters stay still, and the header says the walk was not repeated. A listener opened
/// there moves a counter (`sockstat`'s TCP `inuse`), and the next refresh walks and shows it,
/// though the forced walk is an hour away (`--walk-every 1h`; `--no-owners`, so no owner change
/// can be the reason).
#[test]
fn watch_walks_again_when_the_namespaces_counters_move_and_only_then() {
    use common::tmux::{Tmux, child_of};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let go = dir.join(format!("watch-go-{}", std::process::id()));
    let _ = std::fs::remove_file(&go);
    let made = Command::new("mkfifo").arg(&go).status().expect("mkfifo");
    assert!(made.success());
    // Inside: lo up, a listener that waits for the test's word, then watch.
    let listener = dir.join(format!("watch-listener-{}.py", std::process::id()));
    std::fs::write(
        &listener,
        "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', 4711))\ns.listen()\ntime.sleep(30)\n",
    )
    .expect("the listener script");
    let log = dir.join(format!("watch-listener-{}.log", std::process::id()));
    let inside = format!(
        "ip link set lo up; (read word < {go}; exec python3 {listener} 2>{log}) & \
         exec {BINARY} watch --lang en --no-owners --walk-every 1h",
        go = go.display(),
        listener = listener.display(),
        log = log.display(),
    );
    let command =
        format!("RUST_BACKTRACE=0 unshare -rn sh -c \"{inside}\"; echo exited-$?; sleep 30");
    let tmux = Tmux::start(160, 30, &command);
    let shell = tmux.format("#{pane_pid}");
    child_of(&shell, Duration::from_secs(5)).expect("sockscope started");
    let quiet = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("unchanged since the walk")
    });
    assert!(quiet.contains("unchanged since the walk"), "{quiet}");
    assert!(
        quiet.contains("total 0"),
        "a new namespace has no sockets:\n{quiet}"
    );

    std::fs::write(&go, b"go\n").expect("the word");
    let listed = |line: &str| line.contains("127.0.0.1:4711") && line.contains("LISTEN");
    let shown = tmux.wait_for(Duration::from_secs(10), |screen| screen.lines().any(listed));
    shown.lines().find(|line| listed(line)).unwrap_or_else(|| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("the listener is not on screen:\n{shown}\n{log}")
    });
    assert!(shown.contains("total 1"), "{shown}");

    tmux.keys(&["q"]);
    let after = tmux.wait_for(Duration::from_secs(5), |screen| screen.contains("exited-0"));
    assert!(after.contains("exited-0"), "{after}");
    for file in [&go, &listener, &log] {
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn the_port_map_marks_the_machines_listening_ports() {
    let app = app(Lang::En, five());
    let tall = screen(&app, 140, 40);
    assert!(tall.contains("port map"), "{tall}");
    // The well-known band holds sshd's 22; nginx's 8080 is a registered port.
    assert!(tall.contains("sshd:22"), "{tall}");
    assert!(tall.contains("nginx:8080"), "{tall}");
    assert!(
        !tall.contains("curl:50001"),
        "only listening ports are marked"
    );
    // A short screen keeps its rows for the table.
    let short = screen(&app, 140, 18);
    assert!(!short.contains("port map"), "{short}");
}
