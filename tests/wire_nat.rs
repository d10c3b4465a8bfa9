//! `--net wire` as a home router: port forwarding through the wire's NAT (issue 11, item 4).
//! 10 MB each way through a rule on a wire losing 2% (intact, in order; the table counts both
//! ways), exact counters for a UDP exchange (and each end sees the address it should), a packet
//! to a public port no rule forwards dropped with its reason, and the `wire nat` commands run by
//! the lab (refusals, `off`, `reset`).
//!
//! Like tests/wire.rs, the wire is made inside this test process (root only here; without it
//! each test says why and skips), one test at a time.

mod common;

use common::wire::{in_process_wire, lock};

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sockscope::command::{Command as LabCommand, NatCommand, WireCommand, parse_script};
use sockscope::lab::{HeadlessLab, LabConfig, LabError};
use sockscope::model::{NatSide, Proto, TcpState, WireHost, WireMark};
use sockscope::net::nat::Rule;

macro_rules! need_wire {
    () => {
        if let Some(why) = common::wire::no_wire() {
            eprintln!("SKIPPED: no wire on this machine ({why})");
            return;
        }
    };
}

/// The router's public address: on a's subnet, owned by no host (only the rule knows it).
const PUBLIC_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);

fn nat(lab: &mut HeadlessLab, command: NatCommand) -> Result<(), LabError> {
    lab.execute(&LabCommand::Wire(WireCommand::Nat(command)))
        .map(drop)
}

fn forward(lab: &mut HeadlessLab, proto: Proto, public_port: u16, private: SocketAddr) {
    let SocketAddr::V4(private) = private else {
        panic!("b's address is IPv4");
    };
    nat(
        lab,
        NatCommand::Add(Rule::new(
            proto,
            SocketAddrV4::new(PUBLIC_IP, public_port),
            private,
        )),
    )
    .expect("rule added");
}

/// Runs the lab's loop (the wire relays on it) until `done` is true, bounded (not timed).
fn run_until(lab: &mut HeadlessLab, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done() {
        assert!(Instant::now() < deadline, "the exchange did not finish");
        lab.run_for(Duration::from_millis(20), Duration::from_millis(20))
            .expect("loop runs");
    }
}

const TOTAL: usize = 10 << 20;

fn pattern(i: usize, salt: usize) -> u8 {
    (i.wrapping_add(salt).wrapping_mul(2_654_435_761) >> 13) as u8
}

/// Reads `TOTAL` bytes and says whether each was the pattern's, in order.
fn read_all(stream: &mut TcpStream, salt: usize) -> (usize, bool) {
    let mut received = 0;
    let mut buffer = vec![0; 1 << 16];
    let mut intact = true;
    while received < TOTAL {
        let count = stream.read(&mut buffer).expect("read");
        assert!(count > 0, "early end of stream at {received}");
        intact &= buffer[..count]
            .iter()
            .enumerate()
            .all(|(at, byte)| *byte == pattern(received + at, salt));
        received += count;
    }
    (received, intact)
}

#[test]
fn ten_megabytes_each_way_through_a_nat_rule_on_a_lossy_wire_arrive_intact_and_in_order() {
    need_wire!();
    let _guard = lock();
    let hosts = in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    lab.execute(&LabCommand::Wire(WireCommand::Loss {
        ppm: 20_000,
        seed: 11,
    }))
    .expect("loss set");
    let listener = hosts
        .on_host(WireHost::B, || {
            TcpListener::bind(SocketAddr::new(IpAddr::V4(hosts.b.address.address), 0))
        })
        .unwrap()
        .expect("listener on b");
    let private = listener.local_addr().unwrap();
    forward(&mut lab, Proto::Tcp, 8080, private);
    let finished = Arc::new(AtomicUsize::new(0));

    // b: accept, send 10 MB back while reading the client's 10 MB; report the peer it saw.
    let server_finished = Arc::clone(&finished);
    let server = std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().expect("accept");
        let mut sender = stream.try_clone().expect("clone");
        let writer = std::thread::spawn(move || {
            let data: Vec<u8> = (0..TOTAL).map(|i| pattern(i, 1)).collect();
            sender.write_all(&data).expect("write b > a");
        });
        let read = read_all(&mut stream, 0);
        writer.join().expect("b's writer");
        server_finished.fetch_add(1, Ordering::SeqCst);
        (read, peer, stream)
    });
    // a: connect to the public tuple, send 10 MB, read b's 10 MB.
    let client_finished = Arc::clone(&finished);
    let client = std::thread::spawn(move || {
        let mut stream =
            TcpStream::connect(SocketAddr::new(IpAddr::V4(PUBLIC_IP), 8080)).expect("connect");
        let mut sender = stream.try_clone().expect("clone");
        let writer = std::thread::spawn(move || {
            let data: Vec<u8> = (0..TOTAL).map(|i| pattern(i, 0)).collect();
            sender.write_all(&data).expect("write a > b");
        });
        let read = read_all(&mut stream, 1);
        writer.join().expect("a's writer");
        client_finished.fetch_add(1, Ordering::SeqCst);
        (read, stream)
    });
    run_until(&mut lab, || finished.load(Ordering::SeqCst) == 2);
    let ((to_b, b_intact), peer_seen_on_b, _server_stream) = server.join().expect("server");
    let ((to_a, a_intact), client_stream) = client.join().expect("client");
    assert_eq!((to_b, to_a), (TOTAL, TOTAL));
    assert!(b_intact, "a > b: bytes changed or out of order");
    assert!(a_intact, "b > a: bytes changed or out of order");
    // Each end sees what it should: b the real client, a the public tuple.
    let client_local = client_stream.local_addr().unwrap();
    assert_eq!(peer_seen_on_b, client_local);
    assert_eq!(
        client_stream.peer_addr().unwrap(),
        SocketAddr::new(IpAddr::V4(PUBLIC_IP), 8080)
    );

    let snapshot = lab.snapshot();
    let view = snapshot.nat.expect("the wire's NAT");
    let info = snapshot.wire.expect("wire info");
    assert!(info.lost > 0, "2% of thousands of segments: some lost");
    assert_eq!(view.entries.len(), 1, "{view:?}");
    let entry = &view.entries[0];
    assert_eq!(SocketAddr::V4(entry.remote), client_local);
    assert_eq!(SocketAddr::V4(entry.private), private);
    // Every byte went through the rewrite (IP and TCP headers on top), and every packet the
    // NAT rewrote is counted once by the entry.
    assert!(entry.bytes_a_to_b > TOTAL as u64, "{entry:?}");
    assert!(entry.bytes_b_to_a > TOTAL as u64, "{entry:?}");
    assert_eq!(
        entry.packets_a_to_b + entry.packets_b_to_a,
        view.rewritten,
        "{view:?}"
    );
    assert_eq!(view.dropped, 0, "{view:?}");
    // The ladder has both sides: the segments as a sent them, to the public tuple, and as b got
    // them, to the private one.
    let public = SocketAddr::new(IpAddr::V4(PUBLIC_IP), 8080);
    assert!(
        snapshot
            .segments
            .iter()
            .any(|segment| segment.to == public && segment.nat == Some(NatSide::Sent))
    );
    assert!(
        snapshot
            .segments
            .iter()
            .any(|segment| segment.to == private && segment.nat == Some(NatSide::Rewritten))
    );
}

/// Datagrams each way, and the payload of each.
const COUNT: usize = 20;
const PAYLOAD: usize = 100;

#[test]
fn a_udp_exchange_through_a_rule_is_counted_exactly_and_each_end_sees_its_own_tuple() {
    need_wire!();
    let _guard = lock();
    let hosts = in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    let server = hosts
        .on_host(WireHost::B, || {
            UdpSocket::bind(SocketAddr::new(IpAddr::V4(hosts.b.address.address), 0))
        })
        .unwrap()
        .expect("udp on b");
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let private = server.local_addr().unwrap();
    forward(&mut lab, Proto::Udp, 5353, private);
    let public = SocketAddr::new(IpAddr::V4(PUBLIC_IP), 5353);
    let client =
        UdpSocket::bind(SocketAddr::new(IpAddr::V4(hosts.a.address.address), 0)).expect("udp on a");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let client_addr = client.local_addr().unwrap();
    let finished = Arc::new(AtomicUsize::new(0));

    let server_finished = Arc::clone(&finished);
    let echo = std::thread::spawn(move || {
        let mut peers = Vec::new();
        let mut buffer = [0; 2048];
        for _ in 0..COUNT {
            let (count, peer) = server.recv_from(&mut buffer).expect("b receives");
            server.send_to(&buffer[..count], peer).expect("b answers");
            peers.push(peer);
        }
        server_finished.fetch_add(1, Ordering::SeqCst);
        peers
    });
    let client_finished = Arc::clone(&finished);
    let asker = std::thread::spawn(move || {
        let mut sources = Vec::new();
        let mut buffer = [0; 2048];
        for i in 0..COUNT {
            client
                .send_to(&[i as u8; PAYLOAD], public)
                .expect("a sends");
            let (count, from) = client.recv_from(&mut buffer).expect("a receives");
            assert_eq!(&buffer[..count], &[i as u8; PAYLOAD]);
            sources.push(from);
        }
        client_finished.fetch_add(1, Ordering::SeqCst);
        sources
    });
    run_until(&mut lab, || finished.load(Ordering::SeqCst) == 2);
    let peers = echo.join().expect("echo");
    let sources = asker.join().expect("asker");
    assert!(peers.iter().all(|peer| *peer == client_addr), "{peers:?}");
    assert!(sources.iter().all(|from| *from == public), "{sources:?}");

    let view = lab.snapshot().nat.expect("NAT");
    assert_eq!(view.entries.len(), 1, "{view:?}");
    let entry = &view.entries[0];
    let datagram = (20 + 8 + PAYLOAD) as u64;
    assert_eq!(entry.state, "udp");
    assert_eq!(
        (entry.packets_a_to_b, entry.packets_b_to_a),
        (COUNT as u64, COUNT as u64)
    );
    assert_eq!(
        (entry.bytes_a_to_b, entry.bytes_b_to_a),
        (COUNT as u64 * datagram, COUNT as u64 * datagram)
    );
    assert_eq!(view.rewritten, 2 * COUNT as u64);
    assert_eq!(SocketAddr::V4(entry.remote), client_addr);
    assert_eq!(SocketAddr::V4(entry.public), public);
    assert_eq!(SocketAddr::V4(entry.private), private);
}

fn run(lab: &mut HeadlessLab, script: &str) {
    common::run(lab, script);
}

#[test]
fn a_syn_to_a_public_port_no_rule_forwards_is_dropped_with_its_reason() {
    need_wire!();
    let _guard = lock();
    in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    run(
        &mut lab,
        "wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80; client c@a 198.18.0.254:9090; wait 100ms",
    );
    let snapshot = lab.snapshot();
    let c = snapshot.socket("c").expect("c");
    assert_eq!(c.state, TcpState::SynSent, "nothing came back");
    let syn = snapshot
        .segments
        .iter()
        .find(|segment| segment.flags == "SYN")
        .expect("the SYN was filed");
    assert_eq!(syn.wire, Some(WireMark::Dropped));
    assert_eq!(syn.nat_drop, Some("no_rule"));
    assert_eq!(syn.to.port(), 9090);
    let view = snapshot.nat.as_ref().expect("NAT");
    assert!(view.dropped >= 1);
    assert_eq!(view.last_drop, Some("no_rule"));
    assert!(view.entries.is_empty());
    assert!(snapshot.wire.as_ref().unwrap().dropped >= 1);
}

#[test]
fn the_lab_runs_nat_commands_refuses_bad_ones_and_reset_clears_the_rules() {
    need_wire!();
    let _guard = lock();
    in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    let line = "wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80";
    run(&mut lab, line);
    // The same rule again: refused, in words, and nothing changed.
    let command = parse_script(line).expect("parses").remove(0);
    let error = lab.execute(&command.command).expect_err("a duplicate rule");
    assert!(matches!(error, LabError::Nat(_)), "{error:?}");
    assert!(error.to_string().contains("198.18.0.254:8080"), "{error}");
    assert_eq!(lab.snapshot().nat.unwrap().rules.len(), 1);
    // Deleting a rule that is not there: refused.
    let command = parse_script("wire nat del udp 198.18.0.254:8080")
        .expect("parses")
        .remove(0);
    assert!(matches!(
        lab.execute(&command.command),
        Err(LabError::Nat(_))
    ));
    run(&mut lab, "wire nat udp 198.18.0.254:53 -> 198.18.0.2:53");
    assert_eq!(lab.snapshot().nat.unwrap().rules.len(), 2);
    run(&mut lab, "wire nat del tcp 198.18.0.254:8080");
    assert_eq!(lab.snapshot().nat.unwrap().rules.len(), 1);
    run(&mut lab, "wire nat off");
    assert!(lab.snapshot().nat.unwrap().rules.is_empty());
    run(&mut lab, &format!("{line}; wire reset"));
    assert!(
        lab.snapshot().nat.unwrap().rules.is_empty(),
        "a reset wire is transparent"
    );
}
