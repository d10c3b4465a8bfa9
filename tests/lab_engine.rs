//! The lab engine against real sockets on loopback, cross-checked with `ss`.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lab_running, run, snapshot_when, sockscope, ss};
use sockscope::model::{Role, Snapshot, TcpState};

fn local_of(snapshot: &Snapshot, name: &str) -> SocketAddr {
    snapshot
        .socket(name)
        .and_then(|socket| socket.local)
        .unwrap_or_else(|| panic!("{name} has a local address"))
}

#[test]
fn backlog_of_two_holds_three_and_the_rest_wait_in_syn_sent() {
    let mut lab = lab_running("server srv 127.0.0.1:0 2; clients c 6 srv; wait 300ms");
    let snapshot = lab.snapshot();
    let listener = snapshot.listener("srv").expect("srv listens");
    assert_eq!(listener.backlog, 2);
    assert_eq!(listener.accept_queue, 3);

    let established: BTreeSet<SocketAddr> = snapshot
        .sockets
        .iter()
        .filter(|socket| socket.role == Role::Client && socket.state == TcpState::Established)
        .map(|socket| socket.local.expect("client bound"))
        .collect();
    let syn_sent = snapshot
        .sockets
        .iter()
        .filter(|socket| socket.role == Role::Client && socket.state == TcpState::SynSent)
        .count();
    assert_eq!(established.len(), 3);
    assert_eq!(syn_sent, 3);
    let waiting: BTreeSet<SocketAddr> = listener
        .waiting
        .iter()
        .map(|waiting| waiting.peer)
        .collect();
    assert_eq!(
        waiting, established,
        "the queue holds exactly the established clients"
    );

    // ss, asked while the sockets are open, must agree with every number.
    let server = local_of(&snapshot, "srv");
    let rows = ss("-Htan");
    let listen_row = rows
        .iter()
        .find(|row| row.state == TcpState::Listen && row.local == server)
        .expect("ss shows the listener");
    assert_eq!((listen_row.recv_q, listen_row.send_q), (3, 2));
    let ss_waiting: BTreeSet<SocketAddr> = rows
        .iter()
        .filter(|row| row.local == server && row.state == TcpState::Established)
        .filter_map(|row| row.peer)
        .collect();
    assert_eq!(ss_waiting, waiting);
    for socket in snapshot
        .sockets
        .iter()
        .filter(|socket| socket.role == Role::Client)
    {
        let row = rows
            .iter()
            .find(|row| Some(row.local) == socket.local && row.peer == Some(server))
            .unwrap_or_else(|| panic!("ss shows {}", socket.name));
        assert_eq!(row.state, socket.state, "{}", socket.name);
        assert_eq!((row.recv_q, row.send_q), (socket.recv_q, socket.send_q));
    }
}

#[test]
fn snapshot_json_reports_the_full_accept_queue() {
    let output = sockscope(&[
        "snapshot",
        "--run",
        "server srv 127.0.0.1:0 2; clients c 6 srv",
        "--wait",
        "300ms",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let listener = &json["listeners"][0];
    assert_eq!(listener["name"], "srv");
    assert_eq!(listener["backlog"], 2);
    assert_eq!(listener["accept_queue"], 3);
    let peers: BTreeSet<String> = listener["waiting"]
        .as_array()
        .expect("waiting is a list")
        .iter()
        .map(|waiting| waiting["peer"].as_str().expect("peer").to_owned())
        .collect();
    let sockets = json["sockets"].as_array().expect("sockets");
    let established: BTreeSet<String> = sockets
        .iter()
        .filter(|socket| socket["role"] == "client" && socket["state"] == "ESTABLISHED")
        .map(|socket| socket["local"].as_str().expect("local").to_owned())
        .collect();
    assert_eq!(peers, established);
    let syn_sent = sockets
        .iter()
        .filter(|socket| socket["state"] == "SYN_SENT")
        .count();
    assert_eq!(syn_sent, 3);
    assert_eq!(
        json["trace"][2]["call"],
        format!("listen({}, 2)", sockets[0]["fd"])
    );
    assert_eq!(json["trace"][2]["result"], "0");
    assert!(json["ports"]["ephemeral"][0].as_u64().is_some());
}

#[test]
fn clients_of_another_process_appear_with_their_real_ports() {
    let mut lab = lab_running("server srv 127.0.0.1:0 8");
    let server = local_of(&lab.snapshot(), "srv");
    // Another process: sockscope itself, as a plain client of our listener, kept alive 2 s.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args([
            "snapshot",
            "--run",
            &format!("clients x 3 {server}"),
            "--wait",
            "3s",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("client process starts");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(5), |snapshot| {
        snapshot
            .listener("srv")
            .is_some_and(|listener| listener.waiting.len() == 3)
    });
    let waiting: BTreeSet<SocketAddr> = snapshot
        .listener("srv")
        .expect("srv")
        .waiting
        .iter()
        .map(|w| w.peer)
        .collect();
    let from_ss: BTreeSet<SocketAddr> = ss("-Htan")
        .into_iter()
        .filter(|row| row.state == TcpState::SynSent || row.state == TcpState::Established)
        .filter(|row| row.peer == Some(server))
        .map(|row| row.local)
        .collect();
    let mut output = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut output)
        .expect("read");
    assert!(child.wait().expect("child ends").success());
    let json: serde_json::Value = serde_json::from_str(&output).expect("child JSON");
    let child_ports: BTreeSet<SocketAddr> = json["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(|socket| {
            socket["local"]
                .as_str()
                .expect("local")
                .parse()
                .expect("address")
        })
        .collect();
    assert_eq!(waiting.len(), 3);
    assert_eq!(
        waiting, child_ports,
        "peers are the other process's own ports"
    );
    assert_eq!(waiting, from_ss);
}

#[test]
fn recv_q_is_read_from_the_kernel_and_recv_drains_it() {
    let mut lab = lab_running(
        "server srv 127.0.0.1:0 2; client c1 srv; accept srv as a1; send c1 hello; wait 50ms",
    );
    let before = lab.snapshot();
    let accepted = before.socket("a1").expect("a1 accepted");
    assert_eq!(accepted.role, Role::Accepted);
    assert_eq!(accepted.recv_q, 5);
    assert_eq!(
        accepted.local.map(|local| local.port()),
        before
            .socket("srv")
            .and_then(|srv| srv.local)
            .map(|local| local.port()),
        "an accepted socket shares the listener's port"
    );
    let row = ss("-Htan")
        .into_iter()
        .find(|row| Some(row.local) == accepted.local && row.peer == accepted.remote)
        .expect("ss shows a1");
    assert_eq!(row.recv_q, 5);

    run(&mut lab, "recv a1");
    let after = lab.snapshot();
    assert_eq!(after.socket("a1").expect("a1").recv_q, 0);
    let last = after.trace.last().expect("traced");
    assert_eq!(last.call, format!("recv({}, \"hello\", 4096)", accepted.fd));
    assert_eq!(last.result, "5");
    assert_eq!(after.socket("a1").expect("a1").bytes_received, 5);
}

#[test]
fn active_closer_keeps_time_wait_and_passive_side_waits_in_close_wait() {
    let mut lab =
        lab_running("server srv 127.0.0.1:0 2; client c1 srv; accept srv as a1; wait 20ms");
    let opened = lab.snapshot();
    let client = opened.socket("c1").expect("c1").clone();

    run(&mut lab, "close c1; wait 50ms");
    let half = lab.snapshot();
    assert_eq!(half.socket("a1").expect("a1").state, TcpState::CloseWait);
    let held = half
        .kernel_only
        .iter()
        .find(|held| Some(held.local) == client.local)
        .expect("c1's tuple outlives close()");
    assert_eq!(held.state, TcpState::FinWait2);

    run(&mut lab, "close a1; wait 50ms");
    let closed = lab.snapshot();
    let held = closed
        .kernel_only
        .iter()
        .find(|held| Some(held.local) == client.local && Some(held.remote) == client.remote)
        .expect("the first closer's tuple is kept");
    assert_eq!(held.state, TcpState::TimeWait);
    assert_eq!(held.was.as_deref(), Some("c1"));
    assert!(
        !closed
            .kernel_only
            .iter()
            .any(|held| held.state != TcpState::TimeWait
                && held.local.port() == client.remote.expect("remote").port()),
        "the passive side leaves nothing but LAST_ACK briefly"
    );
    // By name: other tests in this process may already reuse the freed fd numbers.
    assert!(
        !closed
            .fds
            .iter()
            .any(|fd| matches!(fd.name.as_deref(), Some("c1" | "a1"))),
        "both fds are gone"
    );
    let row = ss("-Htan")
        .into_iter()
        .find(|row| Some(row.local) == client.local && row.peer == client.remote)
        .expect("ss shows the TIME_WAIT");
    assert_eq!(row.state, TcpState::TimeWait);
}

/// Descriptor numbers are per process: this runs in its own sockscope process, so no parallel
/// test can take the fd that `close` frees.
#[test]
fn fd_table_shows_poll_waker_files_and_reuses_the_lowest_fd() {
    let run = |commands: &str| -> serde_json::Value {
        let output = sockscope(&["snapshot", "--run", commands, "--format", "json"]);
        assert!(output.status.success());
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    let fd_of = |json: &serde_json::Value, name: &str| -> (i64, String, String) {
        json["fds"]
            .as_array()
            .expect("fds")
            .iter()
            .find(|fd| fd["name"] == name)
            .map_or_else(
                || panic!("{name} in the fd table: {json}"),
                |fd| {
                    (
                        fd["fd"].as_i64().expect("number"),
                        fd["kind"].as_str().expect("kind").to_owned(),
                        fd["target"].as_str().expect("target").to_owned(),
                    )
                },
            )
    };
    let first = run("server srv 127.0.0.1:0; open f /etc/hostname; client c1 srv");
    assert_eq!(fd_of(&first, "poll").1, "epoll");
    assert_eq!(fd_of(&first, "waker").1, "eventfd");
    let (srv_fd, srv_kind, _) = fd_of(&first, "srv");
    let (file_fd, file_kind, file_target) = fd_of(&first, "f");
    let (client_fd, _, _) = fd_of(&first, "c1");
    assert_eq!((srv_kind.as_str(), file_kind.as_str()), ("socket", "file"));
    assert_eq!(file_target, "/etc/hostname");
    assert!(
        srv_fd < file_fd && file_fd < client_fd,
        "the file sits between sockets"
    );

    let reused =
        run("server srv 127.0.0.1:0; open f /etc/hostname; client c1 srv; close f; socket s2 tcp");
    let (s2_fd, s2_kind, _) = fd_of(&reused, "s2");
    assert_eq!(s2_fd, file_fd, "the lowest free fd is reused");
    assert_eq!(s2_kind, "socket");
    let last = reused["trace"]
        .as_array()
        .expect("trace")
        .last()
        .expect("traced")
        .clone();
    assert_eq!(last["result"], file_fd.to_string());
}

#[test]
fn udp_has_datagrams_and_no_accept_queue() {
    let mut lab = lab_running(
        "socket u1 udp; bind u1 127.0.0.1:0; socket u2 udp; bind u2 127.0.0.1:0; sendto u2 u1 hi; recvfrom u1",
    );
    let snapshot = lab.snapshot();
    let u1 = snapshot.socket("u1").expect("u1");
    assert_eq!(u1.role, Role::Datagram);
    assert!(
        snapshot.listeners.is_empty(),
        "UDP sockets have no accept queue"
    );
    let calls: Vec<&str> = snapshot
        .trace
        .iter()
        .map(|entry| entry.call.as_str())
        .collect();
    let u1_addr = u1.local.expect("bound");
    assert!(
        calls.iter().any(|call| call.starts_with("sendto(")
            && call.contains("\"hi\", 2")
            && call.ends_with(&format!("{u1_addr})"))),
        "{calls:?}"
    );
    let recvfrom = snapshot
        .trace
        .iter()
        .find(|entry| entry.call.starts_with("recvfrom("))
        .expect("recvfrom traced");
    assert_eq!(recvfrom.result, "2");
    assert!(recvfrom.call.contains("\"hi\""));
    let u2_port = snapshot
        .socket("u2")
        .and_then(|u2| u2.local)
        .expect("u2 is bound")
        .port();
    assert!(
        recvfrom.call.ends_with(&format!(":{u2_port})")),
        "recvfrom names the sender: {}",
        recvfrom.call
    );

    run(&mut lab, "accept u1");
    let refused = lab.snapshot();
    assert_eq!(
        refused.errors.len(),
        1,
        "accept on UDP is refused by the lab"
    );
    let udp_rows = ss("-Huan");
    assert!(
        udp_rows
            .iter()
            .any(|row| row.local == u1_addr && row.state == TcpState::Unconnected)
    );
}

#[test]
fn forward_relays_bytes_both_ways() {
    let mut lab = lab_running(
        "server srv 127.0.0.1:0; auto-accept srv on; forward fw 127.0.0.1:0 srv; client c fw; wait 50ms",
    );
    let snapshot = lab.snapshot();
    assert!(
        snapshot.socket("fw-in1").is_some() && snapshot.socket("fw-out1").is_some(),
        "a flow is two connections"
    );
    let accepted = snapshot
        .sockets
        .iter()
        .find(|socket| {
            socket.role == Role::Accepted
                && socket.local == snapshot.socket("srv").and_then(|srv| srv.local)
        })
        .expect("srv accepted the forwarder's leg")
        .name
        .clone();
    run(
        &mut lab,
        &format!(
            "send c ping; wait 50ms; recv {accepted}; send {accepted} pong; wait 50ms; recv c"
        ),
    );
    let after = lab.snapshot();
    let received: Vec<&str> = after
        .trace
        .iter()
        .filter(|entry| entry.call.starts_with("recv("))
        .map(|entry| entry.call.as_str())
        .collect();
    assert!(received[0].contains("\"ping\""), "{received:?}");
    assert!(received[1].contains("\"pong\""), "{received:?}");
    assert_eq!(after.socket("fw-in1").expect("in leg").bytes_received, 4);
    assert_eq!(after.socket("fw-out1").expect("out leg").bytes_received, 4);
}

#[test]
fn a_port_in_use_and_a_closed_port_are_errors_in_the_trace() {
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = holder.local_addr().expect("addr");
    let closed_port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    let output = sockscope(&[
        "snapshot",
        "--run",
        &format!("server dup {taken}; client r {closed_port}; wait 50ms"),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "the snapshot still succeeds");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let trace = json["trace"].as_array().expect("trace");
    let bind = trace
        .iter()
        .find(|entry| {
            entry["call"]
                .as_str()
                .is_some_and(|call| call.starts_with("bind("))
        })
        .expect("bind traced");
    assert_eq!(bind["result"], "-1 EADDRINUSE");
    assert_eq!(bind["failed"], true);
    assert!(
        !trace.iter().any(|entry| entry["call"]
            .as_str()
            .is_some_and(|call| call.starts_with("listen("))),
        "a failed bind stops `server`"
    );
    assert!(
        trace.iter().any(|entry| entry["errno"] == "ECONNREFUSED"),
        "{trace:?}"
    );
    let dup = json["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|socket| socket["name"] == "dup")
        .expect("the unbound socket is still shown");
    assert_eq!(dup["state"], "CLOSE");
}

#[test]
fn a_parse_error_names_the_column_exits_2_and_runs_nothing() {
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    drop(holder);
    let output = sockscope(&[
        "snapshot",
        "--run",
        &format!("server srv 127.0.0.1:{port}; lisen srv 2"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("column"), "{message}");
    assert!(message.contains("lisen"), "{message}");
    let bad_address = sockscope(&["snapshot", "--run", "server srv 127.0.0.1:99999"]);
    assert_eq!(bad_address.status.code(), Some(2));
    // Nothing ran: the port is still free to bind.
    TcpListener::bind(("127.0.0.1", port)).expect("the script never bound the port");
}

#[test]
fn a_peers_control_bytes_never_reach_the_output_raw() {
    let mut lab = lab_running("server srv 127.0.0.1:0");
    let server = local_of(&lab.snapshot(), "srv");
    let mut peer = TcpStream::connect(server).expect("connect");
    peer.write_all(b"\x1b[2J\x1b]0;owned\x07\x9b\r\n")
        .expect("write");
    run(&mut lab, "accept srv as a1; wait 20ms; recv a1");
    let snapshot = lab.snapshot();
    let json = sockscope::export::json(&snapshot);
    let listing = sockscope::export::listing(&snapshot, sockscope::text::Lang::En);
    for output in [&json, &listing] {
        assert!(
            !output.bytes().any(|byte| byte < 0x20 && byte != b'\n'),
            "a control byte leaked"
        );
        assert!(!output.contains('\u{9b}'));
    }
    assert!(
        listing.contains(r#""\33[2J\33]0;owned\7\233\r\n""#),
        "{listing}"
    );
}

/// Issue 9: `open` of a FIFO that has no writer returns at once (a blocking open would stop the
/// whole event loop until a writer came). Run in a child with a deadline, so a regression fails
/// instead of hanging the test.
#[test]
fn opening_a_fifo_with_no_writer_returns_at_once() {
    let dir = std::env::temp_dir().join(format!("sockscope-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fifo = dir.join("no-writer");
    let _ = std::fs::remove_file(&fifo);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(["snapshot", "--format", "json", "--run"])
        .arg(format!("open f {}", fifo.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("sockscope starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if status.is_none() {
        let _ = child.kill();
    }
    let output = child.wait_with_output().expect("output");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.is_some(), "open of a FIFO with no writer blocked");
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let open = json["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .find(|entry| {
            entry["call"]
                .as_str()
                .is_some_and(|call| call.starts_with("openat("))
        })
        .expect("openat traced")
        .clone();
    assert!(
        open["call"].as_str().expect("call").contains("O_NONBLOCK"),
        "{open}"
    );
    assert!(
        open["result"]
            .as_str()
            .expect("result")
            .parse::<i32>()
            .is_ok(),
        "{open}"
    );
    let row = json["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .find(|fd| fd["name"] == "f")
        .expect("f in the fd table")
        .clone();
    assert!(
        row["target"]
            .as_str()
            .expect("target")
            .ends_with("no-writer"),
        "{row}"
    );
}

#[test]
fn a_listen_that_fails_leaves_the_socket_fresh_and_a_later_listen_takes() {
    // Two sockets may share a port with SO_REUSEADDR until one listens: the second listen then
    // fails (EADDRINUSE) and the socket must come back into the table as it was.
    let mut lab = lab_running(
        "socket a tcp; setsockopt a reuseaddr; bind a 127.0.0.1:0; \
         socket b tcp; setsockopt b reuseaddr; bind b a; listen a 4; listen b 4",
    );
    let snapshot = lab.snapshot();
    let listen_b = snapshot
        .trace
        .iter()
        .rfind(|entry| entry.call.starts_with("listen("))
        .expect("b's listen traced");
    assert_eq!(listen_b.name.as_deref(), Some("b"));
    assert_eq!(listen_b.result, "-1 EADDRINUSE");
    let b = snapshot.socket("b").expect("b is still in the lab");
    assert_eq!(b.role, Role::Unconnected, "b is still a fresh socket");
    assert_eq!(b.local, snapshot.socket("a").and_then(|a| a.local));
    // Once a's listener is gone the port is b's to listen on.
    run(&mut lab, "close a; listen b 4");
    let snapshot = lab.snapshot();
    let b = snapshot.socket("b").expect("b");
    assert_eq!(b.role, Role::Listener);
    assert_eq!(b.state, TcpState::Listen);
    assert_eq!(
        snapshot.trace.last().map(|entry| entry.result.as_str()),
        Some("0")
    );
}
