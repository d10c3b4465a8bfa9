//! The real dashboard in tmux at 80x24 and 120x40: clients from another process fill the accept
//! queue, the screen shows exactly the peers `ss` reports, and accepting moves one into the fd table.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::ss;
use common::tmux::{Tmux, child_of};
use sockscope::model::TcpState;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(10);

/// The listening address of process `pid`, from its own descriptor table and `ss`.
fn listener_of(pid: u32) -> SocketAddr {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let output = std::process::Command::new("ss")
            .args(["-Hltnp"])
            .output()
            .expect("ss runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let found = text
            .lines()
            .find(|line| line.contains(&format!("pid={pid},")))
            .and_then(|line| line.split_whitespace().nth(3))
            .and_then(|local| local.parse().ok());
        if let Some(address) = found {
            return address;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lab never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Socket descriptors of `pid`, from /proc.
fn socket_fds(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

fn full_backlog_then_accept(columns: u16, rows: u16) {
    let command =
        format!("RUST_BACKTRACE=0 {BINARY} --lang en --run 'server srv 127.0.0.1:0 2'; sleep 30");
    let tmux = Tmux::start(columns, rows, &command);
    let shell = tmux.format("#{pane_pid}");
    let pid = child_of(&shell, WAIT).expect("sockscope started");
    let server = listener_of(pid);

    // Another process (this test) connects five clients and keeps them open.
    let clients: Vec<TcpStream> = (0..5)
        .map(|_| {
            let stream = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::STREAM,
                Some(socket2::Protocol::TCP),
            )
            .expect("socket");
            stream.set_nonblocking(true).expect("nonblocking");
            // Non-blocking: the clients the full queue drops stay in SYN_SENT without blocking us.
            let _ = stream.connect(&server.into());
            stream.into()
        })
        .collect();

    // The accept queue, as ss sees it: server-side children in ESTABLISHED, not yet accepted.
    let deadline = std::time::Instant::now() + WAIT;
    let waiting: BTreeSet<u16> = loop {
        let rows = ss("-Htan");
        let peers: BTreeSet<u16> = rows
            .iter()
            .filter(|row| row.local == server && row.state == TcpState::Established)
            .filter_map(|row| row.peer.map(|peer| peer.port()))
            .collect();
        if peers.len() == 3 || std::time::Instant::now() >= deadline {
            break peers;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(waiting.len(), 3, "backlog 2 lets 3 wait");
    let listen_row = ss("-Htln")
        .into_iter()
        .find(|row| row.local == server)
        .expect("ss shows the listener");
    assert_eq!((listen_row.recv_q, listen_row.send_q), (3, 2));

    let screen = tmux.wait_for(WAIT, |screen| {
        waiting
            .iter()
            .all(|port| screen.contains(&format!(":{port}")))
    });
    for port in &waiting {
        assert!(
            screen.contains(&format!(":{port}")),
            "peer port {port} is on screen:\n{screen}"
        );
    }
    assert!(
        screen.contains("[#][#][#]"),
        "three filled slots:\n{screen}"
    );

    // `:accept srv as a1` moves one connection into the descriptor table as a new fd.
    let before = socket_fds(pid);
    tmux.keys(&[":"]);
    tmux.type_text("accept srv as a1");
    tmux.keys(&["Enter"]);
    // The kernel first: wait for the new descriptor, then for the screen to list it (the prompt
    // line itself says "a1", so the screen alone proves nothing until the fd row shows).
    let deadline = std::time::Instant::now() + WAIT;
    let new: Vec<u32> = loop {
        let new: Vec<u32> = socket_fds(pid).difference(&before).copied().collect();
        if !new.is_empty() || std::time::Instant::now() >= deadline {
            break new;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(new.len(), 1, "accept made one new descriptor");
    let fd_row_of = |screen: &str| {
        let fd = new[0].to_string();
        screen
            .lines()
            .find(|line| {
                let words: Vec<&str> = line
                    .split(|ch: char| ch.is_whitespace() || ch == '│')
                    .filter(|word| !word.is_empty())
                    .collect();
                words.first() == Some(&fd.as_str()) && words.contains(&"a1")
            })
            .map(str::to_owned)
    };
    let screen = tmux.wait_for(WAIT, |screen| fd_row_of(screen).is_some());
    let fd_row =
        fd_row_of(&screen).unwrap_or_else(|| panic!("a1's fd {} is listed:\n{screen}", new[0]));
    assert!(fd_row.contains("IPv4/TCP"), "{fd_row}");

    // The single key: `a` on the selected listener accepts one more.
    let before = socket_fds(pid);
    tmux.keys(&["Escape", "a"]);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("srv-a1"));
    assert!(
        screen.contains("srv-a1"),
        "the accept key named the new socket:\n{screen}"
    );
    assert_eq!(socket_fds(pid).difference(&before).count(), 1);

    tmux.keys(&["q"]);
    drop(clients);
}

#[test]
fn full_backlog_and_accept_at_80x24() {
    full_backlog_then_accept(80, 24);
}

#[test]
fn full_backlog_and_accept_at_120x40() {
    full_backlog_then_accept(120, 40);
}
