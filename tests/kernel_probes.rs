//! The kernel probes against real sockets on 127.0.0.1 (port 0), cross-checked with `ss` and with
//! each other, plus the pure parsers on text and netlink bytes saved from this machine.
//!
//! Tests run in parallel with each other (and with other test binaries), so every assertion about a
//! dump is scoped to the 4-tuples this test created. Waiting is polling for a condition with a
//! deadline, never a fixed sleep.
//!
//! Fixtures: `tests/fixtures/proc_net_netstat.txt` and the three sysctl files are copies of this
//! machine's files. `sock_diag_tcp4.bin` / `sock_diag_tcp6.bin` are real `NETLINK_SOCK_DIAG` dump
//! replies (every `recv` concatenated), reduced to the messages of the scenario's ports plus the final
//! `NLMSG_DONE`; the matching `.ss.txt` is `ss -Htan` taken at the same moment, for the same ports. To
//! recapture: `SOCKSCOPE_WRITE_FIXTURES=1 cargo test --test kernel_probes capture -- --ignored`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream, UdpSocket,
};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};
use sockscope::kernel::sock_diag::{
    ALL_STATES, DiagSocket, LISTEN_ONLY, SockDiag, parse_dump, state_bit,
};
use sockscope::kernel::{fd_table, netstat, sys, sysctl};
use sockscope::model::{FdKind, Ports, Proto, TcpState};

const DEADLINE: Duration = Duration::from_secs(5);

/// Polls `probe` until it returns `Some`, for at most [`DEADLINE`].
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// The remote address of a socket with no peer.
fn nobody() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
}

/// A listener made with socket2 so the backlog is ours (std's `TcpListener::bind` uses 128).
fn listener(backlog: i32) -> (Socket, SocketAddr) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&loopback().into()).unwrap();
    socket.listen(backlog).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    (socket, addr)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn inode_of(fd: &impl AsRawFd) -> u64 {
    let fd = fd.as_raw_fd();
    fd_table::read_own()
        .unwrap()
        .into_iter()
        .find(|link| link.fd == fd)
        .and_then(|link| link.socket_inode)
        .expect("our socket is in /proc/self/fd")
}

fn dump(proto: Proto, v6: bool, states: u32) -> Vec<DiagSocket> {
    SockDiag::new().unwrap().dump(proto, v6, states).unwrap()
}

fn find(sockets: &[DiagSocket], local: SocketAddr, remote: SocketAddr) -> Option<DiagSocket> {
    sockets
        .iter()
        .find(|s| s.local == local && s.remote == remote)
        .copied()
}

// ---------------------------------------------------------------------------------------------
// `ss`, parsed, as an independent witness.

#[derive(Debug, Clone, PartialEq, Eq)]
struct SsRow {
    state: TcpState,
    recv_q: u32,
    send_q: u32,
    local: SocketAddr,
    peer: SocketAddr,
}

/// `ss` prints its own abbreviations.
fn ss_state(name: &str) -> TcpState {
    match name {
        "ESTAB" => TcpState::Established,
        "SYN-SENT" => TcpState::SynSent,
        "SYN-RECV" => TcpState::SynRecv,
        "FIN-WAIT-1" => TcpState::FinWait1,
        "FIN-WAIT-2" => TcpState::FinWait2,
        "TIME-WAIT" => TcpState::TimeWait,
        "UNCONN" => TcpState::Unconnected,
        "CLOSE-WAIT" => TcpState::CloseWait,
        "LAST-ACK" => TcpState::LastAck,
        "LISTEN" => TcpState::Listen,
        "CLOSING" => TcpState::Closing,
        other => panic!("unexpected ss state {other}"),
    }
}

/// Unspecified addresses of either family compare equal: `ss` prints `*` for some of them.
fn norm(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, addr.port()))
    } else {
        addr
    }
}

/// `127.0.0.1:80`, `[::ffff:127.0.0.1]:80`, `0.0.0.0:*`, `*:*`, `127.0.0.53%lo:53`.
fn ss_addr(text: &str) -> SocketAddr {
    let (host, port) = text.rsplit_once(':').unwrap();
    let port = if port == "*" {
        0
    } else {
        port.parse().unwrap()
    };
    let host = host.split('%').next().unwrap();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host == "*" {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        host.parse().unwrap()
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    norm(SocketAddr::new(ip, port))
}

fn parse_ss(text: &str) -> Vec<SsRow> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            SsRow {
                state: ss_state(cols[0]),
                recv_q: cols[1].parse().unwrap(),
                send_q: cols[2].parse().unwrap(),
                local: ss_addr(cols[3]),
                peer: ss_addr(cols[4]),
            }
        })
        .collect()
}

/// `ss -H<flags>` (numeric, no header), or `None` when `ss` is not installed.
fn ss_text(flags: &str) -> Option<String> {
    match Command::new("ss").arg(format!("-H{flags}")).output() {
        Ok(out) => {
            assert!(out.status.success(), "ss failed: {out:?}");
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            eprintln!("NOTE: `ss` (iproute2) is not installed; the cross-check with ss is skipped");
            None
        }
        Err(err) => panic!("running ss: {err}"),
    }
}

fn ss_rows_for(flags: &str, ports: &BTreeSet<u16>) -> Option<Vec<SsRow>> {
    let rows = parse_ss(&ss_text(flags)?);
    Some(
        rows.into_iter()
            .filter(|r| ports.contains(&r.local.port()) || ports.contains(&r.peer.port()))
            .collect(),
    )
}

/// Every row `ss` shows for these 4-tuples has a dump entry with the same state and queues.
fn assert_agrees_with_ss(dumped: &[DiagSocket], tuples: &[(SocketAddr, SocketAddr)], flags: &str) {
    if let Some(difference) = ss_disagreement(dumped, tuples, flags) {
        panic!("{difference}");
    }
}

/// Where `ss` and the dump differ for these 4-tuples, in words; `None` when they agree (or `ss`
/// is not installed).
fn ss_disagreement(
    dumped: &[DiagSocket],
    tuples: &[(SocketAddr, SocketAddr)],
    flags: &str,
) -> Option<String> {
    let ports: BTreeSet<u16> = tuples.iter().map(|(local, _)| local.port()).collect();
    let rows = ss_rows_for(flags, &ports)?;
    for (local, remote) in tuples {
        let ours = find(dumped, *local, *remote)
            .unwrap_or_else(|| panic!("{local} -> {remote} missing from the dump"));
        let row = rows
            .iter()
            .find(|r| r.local == norm(*local) && r.peer == norm(*remote))
            .unwrap_or_else(|| panic!("{local} -> {remote} missing from ss: {rows:#?}"));
        let state = match ours.state {
            TcpState::NewSynRecv => TcpState::SynRecv,
            other => other,
        };
        if (state, ours.recv_q, ours.send_q) != (row.state, row.recv_q, row.send_q) {
            return Some(format!("{local} -> {remote}: dump {ours:?} vs ss {row:?}"));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Live sockets.

#[test]
fn accept_queue_seen_by_tcp_info_sock_diag_and_ss() {
    let (listener, server) = listener(2);
    // A backlog of 2 lets 3 completed connections wait: the kernel refuses only when the queue
    // length is already greater than the limit.
    let mut clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(server).unwrap())
        .collect();
    let client_addrs: Vec<SocketAddr> = clients.iter().map(|c| c.local_addr().unwrap()).collect();

    let info = wait_for("3 connections in the accept queue", || {
        let info = sys::tcp_info(listener.as_fd()).unwrap();
        (info.unacked == 3).then_some(info)
    });
    assert_eq!(info.sacked, 2, "the accept-queue limit is the backlog");
    assert_eq!(info.state, 10);
    assert_eq!(TcpState::from_kernel(info.state), TcpState::Listen);

    let mut diag = SockDiag::new().unwrap();
    let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    let listen = find(&all, server, nobody()).expect("the listener is in the dump");
    assert_eq!(listen.state, TcpState::Listen);
    assert_eq!((listen.recv_q, listen.send_q), (3, 2));
    assert_eq!(listen.inode, inode_of(&listener));

    // Each waiting connection is a full socket on the server side, ESTABLISHED, with no inode
    // because no file refers to it until accept().
    let children: Vec<DiagSocket> = all
        .iter()
        .filter(|s| s.local == server && s.remote.port() != 0)
        .copied()
        .collect();
    assert_eq!(children.len(), 3, "{children:#?}");
    let remotes: BTreeSet<SocketAddr> = children.iter().map(|s| s.remote).collect();
    assert_eq!(remotes, client_addrs.iter().copied().collect());
    for child in &children {
        assert_eq!(child.state, TcpState::Established);
        assert_eq!(child.inode, 0);
        assert_eq!(child.proto, Proto::Tcp);
    }
    // The clients are ESTABLISHED too, before anyone called accept(), and they do have inodes.
    for (client, addr) in clients.iter().zip(&client_addrs) {
        let entry = find(&all, *addr, server).expect("client in the dump");
        assert_eq!(entry.state, TcpState::Established);
        assert_eq!(entry.inode, inode_of(client));
        assert_eq!(
            TcpState::from_kernel(sys::tcp_info(client.as_fd()).unwrap().state),
            TcpState::Established
        );
    }

    // A LISTEN-only dump has the listener and none of the connections.
    let listening = diag.dump(Proto::Tcp, false, LISTEN_ONLY).unwrap();
    assert!(find(&listening, server, nobody()).is_some());
    assert!(listening.iter().all(|s| s.state == TcpState::Listen));

    // Data sent to a connection nobody has accepted waits in the child's receive queue.
    clients[0].write_all(b"hello").unwrap();
    let child = wait_for("5 bytes queued on the waiting connection", || {
        let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
        find(&all, server, client_addrs[0]).filter(|s| s.recv_q == 5)
    });
    assert_eq!(child.inode, 0);

    let mut tuples = vec![(server, nobody())];
    for addr in &client_addrs {
        tuples.push((server, *addr));
        tuples.push((*addr, server));
    }
    let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    assert_agrees_with_ss(&all, &tuples, "tan");

    // accept() hands the same socket (queue and all) to a new descriptor: now it has an inode.
    let mut accepted: Vec<(Socket, SocketAddr)> = (0..3)
        .map(|_| {
            let (socket, peer) = listener.accept().unwrap();
            (socket, peer.as_socket().unwrap())
        })
        .collect();
    let (first, _) = accepted
        .iter()
        .find(|(_, peer)| *peer == client_addrs[0])
        .expect("client 0 was accepted");
    assert_eq!(sys::queued_bytes(first.as_fd()).unwrap(), (5, 0));
    let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    let entry = find(&all, server, client_addrs[0]).unwrap();
    assert_eq!((entry.recv_q, entry.inode), (5, inode_of(first)));
    assert_eq!(sys::tcp_info(listener.as_fd()).unwrap().unacked, 0);
    assert_eq!(find(&all, server, nobody()).unwrap().recv_q, 0);

    // Reading drains it, and tcp_info counts what was received.
    let (first, _) = accepted
        .iter_mut()
        .find(|(_, peer)| *peer == client_addrs[0])
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(first.read(&mut buf).unwrap(), 5);
    assert_eq!(sys::queued_bytes(first.as_fd()).unwrap().0, 0);
    assert_eq!(sys::tcp_info(first.as_fd()).unwrap().bytes_received, 5);
    let sent = sys::tcp_info(clients[0].as_fd()).unwrap();
    // The SYN occupies one sequence number and is acknowledged like a byte: 1 + 5.
    assert_eq!(sent.bytes_acked, 6);
    assert!(sent.segs_out >= 3, "SYN, ACK, data: {sent:?}");
    assert!(sent.segs_in >= 2, "{sent:?}");
    drop(accepted);
    clients.clear();
}

#[test]
fn unsent_bytes_show_in_siocoutq_and_send_q() {
    // A peer that never reads, with a small receive buffer: the sender's unacknowledged bytes pile up.
    let (listener, server) = listener(1);
    let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    client.set_send_buffer_size(64 * 1024).unwrap();
    client.connect(&server.into()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut written = 0usize;
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        match (&client).write(&chunk) {
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("{err}"),
        }
    }
    let client_addr = client.local_addr().unwrap().as_socket().unwrap();
    assert!(written > 0);

    // SIOCOUTQ counts bytes not yet acknowledged, including bytes the peer already holds while its
    // (delayed) ACK is on the way, so read the queues until two readings and the dump agree.
    let mut diag = SockDiag::new().unwrap();
    let read = || {
        let (inq, outq) = sys::queued_bytes(peer.as_fd()).unwrap();
        (inq, outq, sys::queued_bytes(client.as_fd()).unwrap().1)
    };
    let (inq, outq, client_outq, all) = wait_for("the queues to settle", || {
        let before = read();
        let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
        let after = read();
        let (inq, outq, client_outq) = after;
        let receiver = find(&all, server, client_addr)?;
        let sender = find(&all, client_addr, server)?;
        (before == after
            && receiver.recv_q == inq
            && sender.send_q == client_outq
            && (inq as usize) + (client_outq as usize) == written)
            .then_some((inq, outq, client_outq, all))
    });
    // Every byte written is either in the receiver's queue or still in the sender's.
    assert!(inq > 0 && client_outq > 0, "in {inq} out {client_outq}");
    assert_eq!(outq, 0);
    // The kernel may still move bytes across (the receiver's buffer grows, a window probe is
    // answered) between the dump and ss: ss must agree with a dump taken just before it, at one of
    // a bounded number of tries. A decoding that differs from ss's never agrees.
    let tuples = [(server, client_addr), (client_addr, server)];
    let mut difference = ss_disagreement(&all, &tuples, "tan");
    for _ in 0..50 {
        if difference.is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        let again = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
        difference = ss_disagreement(&again, &tuples, "tan");
    }
    assert_eq!(difference, None);
}

#[test]
fn time_wait_outlives_the_descriptor() {
    let (listener, server) = listener(4);
    let client = TcpStream::connect(server).unwrap();
    let client_addr = client.local_addr().unwrap();
    let (mut accepted, _) = listener.accept().unwrap();

    // The client closes first (the active close): it is the side that ends in TIME_WAIT.
    drop(client);
    let mut buf = [0u8; 1];
    accepted
        .set_read_timeout(Some(DEADLINE))
        .expect("read timeout");
    assert_eq!(accepted.read(&mut buf).unwrap(), 0, "the server sees EOF");
    drop(accepted);

    let mut diag = SockDiag::new().unwrap();
    let entry = wait_for("TIME_WAIT for the client's 4-tuple", || {
        let all = diag
            .dump(Proto::Tcp, false, state_bit(TcpState::TimeWait))
            .unwrap();
        find(&all, client_addr, server)
    });
    assert_eq!(entry.state, TcpState::TimeWait);
    assert_eq!(entry.inode, 0, "no descriptor refers to it any more");
    let left = entry.timer_ms.expect("TIME_WAIT has a timer");
    assert!(left > 50_000 && left <= 60_000, "TIME_WAIT left: {left} ms");
    assert_eq!((entry.recv_q, entry.send_q), (0, 0));
    // The server's side is gone (it closed second: LAST_ACK, then nothing).
    let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    assert!(find(&all, server, client_addr).is_none(), "{all:#?}");
    assert_agrees_with_ss(&all, &[(client_addr, server)], "tan");
}

#[test]
fn defer_accept_keeps_the_handshake_in_syn_recv() {
    let (listener, server) = listener(4);
    sys::set_defer_accept(listener.as_fd(), 5).unwrap();
    let client = TcpStream::connect(server).unwrap();
    let client_addr = client.local_addr().unwrap();
    // The client finished its handshake...
    assert_eq!(
        TcpState::from_kernel(sys::tcp_info(client.as_fd()).unwrap().state),
        TcpState::Established
    );
    // ...but the listener keeps only a request socket until data arrives: nothing to accept yet.
    let mut diag = SockDiag::new().unwrap();
    let request = wait_for("the request socket in the dump", || {
        let all = diag
            .dump(Proto::Tcp, false, state_bit(TcpState::SynRecv))
            .unwrap();
        find(&all, server, client_addr)
    });
    assert_eq!(request.state, TcpState::SynRecv);
    assert_eq!(request.inode, 0);
    assert!(request.timer_ms.is_some(), "SYN-ACK retransmit timer");
    assert_eq!(sys::tcp_info(listener.as_fd()).unwrap().unacked, 0);
    assert_agrees_with_ss(
        &diag.dump(Proto::Tcp, false, ALL_STATES).unwrap(),
        &[(server, client_addr)],
        "tan",
    );

    // The first data completes it into the accept queue.
    (&client).write_all(b"x").unwrap();
    wait_for("the connection in the accept queue", || {
        (sys::tcp_info(listener.as_fd()).unwrap().unacked == 1).then_some(())
    });
    let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    let child = find(&all, server, client_addr).unwrap();
    assert_eq!((child.state, child.recv_q), (TcpState::Established, 1));
}

#[test]
fn udp_dump_finds_bound_sockets_by_inode() {
    let unconnected = UdpSocket::bind(loopback()).unwrap();
    let addr = unconnected.local_addr().unwrap();
    let connected = UdpSocket::bind(loopback()).unwrap();
    connected.connect(addr).unwrap();
    let connected_addr = connected.local_addr().unwrap();
    connected.send(b"ping!").unwrap();

    let all = dump(Proto::Udp, false, ALL_STATES);
    let entry = find(&all, addr, nobody()).expect("bound UDP socket in the dump");
    assert_eq!(entry.proto, Proto::Udp);
    assert_eq!(entry.state, TcpState::Unconnected);
    assert_eq!(entry.inode, inode_of(&unconnected));
    // A datagram waits whole in the receive queue; for UDP the kernel reports the queue's memory
    // (payload plus buffer overhead), not the 5 payload bytes. SIOCINQ gives the next datagram's size.
    assert!(entry.recv_q > 5, "{entry:?}");
    assert_eq!(sys::queued_bytes(unconnected.as_fd()).unwrap().0, 5);

    let entry = find(&all, connected_addr, addr).expect("connected UDP socket");
    assert_eq!(entry.state, TcpState::Established);
    assert_eq!(entry.inode, inode_of(&connected));

    let ports: BTreeSet<u16> = [addr.port(), connected_addr.port()].into();
    if let Some(rows) = ss_rows_for("uan", &ports) {
        for row in rows {
            let ours = find(&all, row.local, row.peer).expect("ss row in our dump");
            assert_eq!(
                (ours.state, ours.recv_q, ours.send_q),
                (row.state, row.recv_q, row.send_q)
            );
        }
    }
    // UDP has no TCP_INFO.
    assert!(sys::tcp_info(unconnected.as_fd()).is_err());
}

#[test]
fn dual_stack_socket_reports_ipv4_mapped_addresses_as_ipv4() {
    let socket = match Socket::new(Domain::IPV6, Type::STREAM, None) {
        Ok(socket) => socket,
        Err(err) => {
            eprintln!("NOTE: no IPv6 here ({err}); skipped");
            return;
        }
    };
    socket.set_only_v6(false).unwrap();
    // Bound to the IPv4-mapped loopback: reachable over IPv4, from this machine only.
    let mapped = SocketAddrV6::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 0, 0, 0);
    socket.bind(&SockAddr::from(mapped)).unwrap();
    socket.listen(1).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let client = TcpStream::connect(server).unwrap();
    let client_addr = client.local_addr().unwrap();

    let mut diag = SockDiag::new().unwrap();
    let v6 = diag.dump(Proto::Tcp, true, ALL_STATES).unwrap();
    let listen = v6
        .iter()
        .find(|s| s.local == server && s.state == TcpState::Listen)
        .expect("listener in the AF_INET6 dump, address given as IPv4");
    assert_eq!(listen.remote, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)));
    assert_eq!(listen.inode, inode_of(&socket));
    let child = wait_for("the child in the AF_INET6 dump", || {
        find(
            &diag.dump(Proto::Tcp, true, ALL_STATES).unwrap(),
            server,
            client_addr,
        )
    });
    assert_eq!(child.state, TcpState::Established);
    // The IPv4 client is an AF_INET socket: it is in the other family's dump.
    let v4 = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
    assert!(find(&v4, client_addr, server).is_some());
    assert!(find(&v4, server, client_addr).is_none());
}

#[test]
fn listen_overflows_count_a_dropped_handshake() {
    let before = netstat::read_listen_counters().unwrap();
    // Backlog 0: one connection may wait; the next SYN finds the queue full and is dropped.
    let (listener, server) = listener(0);
    let waiting = TcpStream::connect(server).unwrap();
    wait_for("one connection waiting", || {
        (sys::tcp_info(listener.as_fd()).unwrap().unacked == 1).then_some(())
    });
    let extra = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    extra.set_nonblocking(true).unwrap();
    match extra.connect(&server.into()) {
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        other => panic!("expected EINPROGRESS, got {other:?}"),
    }
    let after = wait_for("ListenOverflows to grow", || {
        let now = netstat::read_listen_counters().unwrap();
        (now.0 > before.0).then_some(now)
    });
    assert!(after.1 > before.1, "a drop counts in ListenDrops too");
    // The extra client is stuck in SYN_SENT, retransmitting its SYN.
    assert_eq!(
        TcpState::from_kernel(sys::tcp_info(extra.as_fd()).unwrap().state),
        TcpState::SynSent
    );
    drop(waiting);
}

#[test]
fn fd_table_lists_files_sockets_and_pipes() {
    let file = fs::File::open(fixture("proc_net_netstat.txt")).unwrap();
    let udp = UdpSocket::bind(loopback()).unwrap();
    let (reader, writer) = io::pipe().unwrap();
    let links = fd_table::read_own().unwrap();

    assert!(
        links.windows(2).all(|w| w[0].fd < w[1].fd),
        "sorted, no duplicates"
    );
    let by_fd = |fd: i32| links.iter().find(|l| l.fd == fd).unwrap();
    let f = by_fd(file.as_raw_fd());
    assert_eq!(f.kind, FdKind::File);
    assert!(
        f.target.ends_with("tests/fixtures/proc_net_netstat.txt"),
        "{f:?}"
    );
    assert_eq!(f.socket_inode, None);
    let s = by_fd(udp.as_raw_fd());
    assert_eq!(s.kind, FdKind::Socket);
    let inode = s.socket_inode.unwrap();
    assert_eq!(s.target, format!("socket:[{inode}]"));
    assert_eq!(by_fd(reader.as_raw_fd()).kind, FdKind::Pipe);
    assert_eq!(
        by_fd(writer.as_raw_fd()).target,
        by_fd(reader.as_raw_fd()).target
    );
    // Every link was read after the directory was closed: none points at /proc/<pid>/fd itself.
    assert!(
        links.iter().all(|l| !l.target.ends_with("/fd")),
        "{links:#?}"
    );

    let none = fd_table::read_fd_dir(Path::new("/proc/self/no-such-dir"));
    assert_eq!(none.unwrap_err().kind(), io::ErrorKind::NotFound);
}

#[test]
fn classify_targets() {
    let cases: &[(&str, FdKind, Option<u64>)] = &[
        ("socket:[123]", FdKind::Socket, Some(123)),
        (
            "socket:[18446744073709551615]",
            FdKind::Socket,
            Some(u64::MAX),
        ),
        ("socket:[]", FdKind::Other, None),
        ("socket:[12", FdKind::Other, None),
        ("anon_inode:[eventpoll]", FdKind::Epoll, None),
        ("anon_inode:[eventfd]", FdKind::Eventfd, None),
        ("anon_inode:[timerfd]", FdKind::Other, None),
        ("anon_inode:inotify", FdKind::Other, None),
        ("pipe:[4567]", FdKind::Pipe, None),
        ("/dev/pts/3", FdKind::Tty, None),
        ("/dev/pts/ptmx", FdKind::File, None),
        ("/dev/tty", FdKind::Tty, None),
        ("/dev/tty1", FdKind::Tty, None),
        ("/dev/ttyS0", FdKind::Tty, None),
        ("/dev/console", FdKind::Tty, None),
        ("/dev/null", FdKind::File, None),
        ("/etc/hostname", FdKind::File, None),
        ("/tmp/gone (deleted)", FdKind::File, None),
        ("net:[4026531840]", FdKind::Other, None),
        ("", FdKind::Other, None),
    ];
    for (target, kind, inode) in cases {
        assert_eq!(fd_table::classify(target), (*kind, *inode), "{target:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Parsers on saved text.

#[test]
fn netstat_fixture_and_live_file() {
    let text = fs::read_to_string(fixture("proc_net_netstat.txt")).unwrap();
    // Read off the fixture by hand: the 23rd and 24th TcpExt names and the values under them.
    assert_eq!(
        netstat::parse_listen_counters(&text),
        Some(FIXTURE_LISTEN_COUNTERS)
    );

    let header = "TcpExt: SyncookiesSent ListenDrops ListenOverflows\nTcpExt: 1 7 5\n";
    assert_eq!(netstat::parse_listen_counters(header), Some((5, 7)));
    // IpExt has the same shape but is the wrong table; a header without values is no answer.
    assert_eq!(
        netstat::parse_listen_counters("IpExt: ListenOverflows ListenDrops\nIpExt: 1 2\n"),
        None
    );
    assert_eq!(
        netstat::parse_listen_counters("TcpExt: ListenOverflows ListenDrops\n"),
        None
    );
    assert_eq!(
        netstat::parse_listen_counters("TcpExt: ListenOverflows\nTcpExt: 3\n"),
        None
    );
    assert_eq!(netstat::parse_listen_counters(""), None);

    let live = fs::read_to_string("/proc/net/netstat").unwrap();
    let parsed = netstat::parse_listen_counters(&live).unwrap();
    let read = netstat::read_listen_counters().unwrap();
    assert!(
        read.0 >= parsed.0 && read.1 >= parsed.1,
        "counters only grow"
    );
}

/// `ListenOverflows`, `ListenDrops` in `tests/fixtures/proc_net_netstat.txt`.
const FIXTURE_LISTEN_COUNTERS: (u64, u64) = (15, 15);

#[test]
fn sysctl_fixtures_and_live_files() {
    let range = fs::read_to_string(fixture("ip_local_port_range.txt")).unwrap();
    assert_eq!(
        range, "32768\t60999\n",
        "the kernel separates the two with a tab"
    );
    assert_eq!(sysctl::parse_port_range(&range), Some([32768, 60999]));
    assert_eq!(sysctl::parse_port_range("1024 65535"), Some([1024, 65535]));
    assert_eq!(sysctl::parse_port_range("60999 32768"), None);
    assert_eq!(sysctl::parse_port_range("32768"), None);
    assert_eq!(sysctl::parse_port_range("1 2 3"), None);
    assert_eq!(sysctl::parse_port_range("1 70000"), None);

    let start = fs::read_to_string(fixture("ip_unprivileged_port_start.txt")).unwrap();
    assert_eq!(sysctl::parse_unprivileged_port_start(&start), Some(1024));
    assert_eq!(sysctl::parse_unprivileged_port_start("0\n"), Some(0));
    assert_eq!(sysctl::parse_unprivileged_port_start("x"), None);

    let somaxconn = fs::read_to_string(fixture("somaxconn.txt")).unwrap();
    assert_eq!(sysctl::parse_somaxconn(&somaxconn), Some(4096));
    assert_eq!(sysctl::parse_somaxconn("-1"), None);

    let from_fixtures = sysctl::read_ports_from(
        &fixture("ip_local_port_range.txt"),
        &fixture("ip_unprivileged_port_start.txt"),
        &fixture("somaxconn.txt"),
    );
    assert_eq!(
        (
            from_fixtures.ephemeral,
            from_fixtures.unprivileged_start,
            from_fixtures.somaxconn
        ),
        ([32768, 60999], 1024, 4096)
    );
    // Unreadable files keep the defaults.
    let missing = Path::new("/proc/self/no-such-sysctl");
    assert_eq!(
        sysctl::read_ports_from(missing, missing, missing),
        Ports::default()
    );

    let live = sysctl::read_ports();
    let read = |path: &str| fs::read_to_string(path).unwrap();
    assert_eq!(
        Some(live.ephemeral),
        sysctl::parse_port_range(&read(sysctl::IP_LOCAL_PORT_RANGE))
    );
    assert_eq!(
        Some(live.unprivileged_start),
        sysctl::parse_unprivileged_port_start(&read(sysctl::IP_UNPRIVILEGED_PORT_START))
    );
    assert_eq!(
        Some(live.somaxconn),
        sysctl::parse_somaxconn(&read(sysctl::SOMAXCONN))
    );
    assert!(live.in_use.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Saved netlink bytes.

/// The fixture's sockets, checked against `ss` output saved at the same moment.
fn check_dump_fixture(bin: &str, ss: &str) {
    let bytes = fs::read(fixture(bin)).unwrap();
    let rows = parse_ss(&fs::read_to_string(fixture(ss)).unwrap());
    let mut parsed = Vec::new();
    let done = parse_dump(&bytes, Proto::Tcp, |s| parsed.push(s)).unwrap();
    assert!(done, "the fixture ends with NLMSG_DONE");
    assert_eq!(parsed.len(), rows.len(), "{parsed:#?}\n{rows:#?}");
    for row in &rows {
        let ours = parsed
            .iter()
            .find(|s| norm(s.local) == row.local && norm(s.remote) == row.peer)
            .unwrap_or_else(|| panic!("{row:?} not in {parsed:#?}"));
        let state = match ours.state {
            TcpState::NewSynRecv => TcpState::SynRecv,
            other => other,
        };
        assert_eq!(
            (state, ours.recv_q, ours.send_q),
            (row.state, row.recv_q, row.send_q)
        );
    }
    // Cut inside a message, the stream is an error; cut between messages, it is a dump in progress
    // (no DONE yet). Never a panic, never a silent success.
    let mut boundaries = BTreeSet::new();
    let mut offset = 0;
    while offset < bytes.len() {
        boundaries.insert(offset);
        offset += u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
    }
    for cut in 1..bytes.len() {
        let result = parse_dump(&bytes[..cut], Proto::Tcp, |_| {});
        if boundaries.contains(&cut) {
            assert!(matches!(result, Ok(false)), "cut at {cut}: {result:?}");
        } else {
            assert_eq!(
                result.unwrap_err().kind(),
                io::ErrorKind::InvalidData,
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn parse_dump_on_saved_ipv4_bytes() {
    check_dump_fixture("sock_diag_tcp4.bin", "sock_diag_tcp4.ss.txt");
    let bytes = fs::read(fixture("sock_diag_tcp4.bin")).unwrap();
    let mut states = BTreeSet::new();
    parse_dump(&bytes, Proto::Tcp, |s| {
        states.insert(s.state.name());
        // The kernel reports request sockets as SYN_RECV (3), not NEW_SYN_RECV (12).
        assert_ne!(s.state, TcpState::NewSynRecv);
        if s.state == TcpState::TimeWait || s.state == TcpState::SynRecv {
            assert_eq!(s.inode, 0);
            assert!(s.timer_ms.is_some());
        }
    })
    .unwrap();
    let expected: BTreeSet<&str> = ["ESTABLISHED", "LISTEN", "SYN_RECV", "TIME_WAIT"].into();
    assert_eq!(states, expected);

    // Single sockets of the scenario, as captured (see capture_sock_diag_fixtures).
    let mut all = Vec::new();
    parse_dump(&bytes, Proto::Tcp, |s| all.push(s)).unwrap();
    let at = |text: &str| -> SocketAddr { text.parse().unwrap() };
    let listen = find(&all, at("127.0.0.1:39815"), nobody()).unwrap();
    assert_eq!(
        (listen.state, listen.recv_q, listen.send_q),
        (TcpState::Listen, 2, 1)
    );
    assert_ne!(listen.inode, 0);
    assert_eq!(listen.timer_ms, None);
    let waiting = find(&all, at("127.0.0.1:39815"), at("127.0.0.1:56084")).unwrap();
    assert_eq!(
        (waiting.state, waiting.recv_q, waiting.inode),
        (TcpState::Established, 5, 0)
    );
    let time_wait = find(&all, at("127.0.0.1:55574"), at("127.0.0.1:51647")).unwrap();
    assert_eq!(
        (time_wait.state, time_wait.timer_ms),
        (TcpState::TimeWait, Some(60_000))
    );
    let half_open = find(&all, at("127.0.0.1:34397"), at("127.0.0.1:59898")).unwrap();
    // The SYN-ACK retransmit timer (1 s) of a request held by TCP_DEFER_ACCEPT.
    assert_eq!(
        (half_open.state, half_open.timer_ms),
        (TcpState::SynRecv, Some(1000))
    );
}

#[test]
fn parse_dump_on_saved_ipv6_bytes() {
    check_dump_fixture("sock_diag_tcp6.bin", "sock_diag_tcp6.ss.txt");
    let bytes = fs::read(fixture("sock_diag_tcp6.bin")).unwrap();
    let mut all = Vec::new();
    parse_dump(&bytes, Proto::Tcp, |s| all.push(s)).unwrap();
    let at = |text: &str| -> SocketAddr { text.parse().unwrap() };
    // The dual-stack listener on ::ffff:127.0.0.1 and its IPv4 peer come out as IPv4; its unset
    // remote is the IPv6 unspecified address (not a mapped one).
    let unspecified6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0));
    let dual = find(&all, at("127.0.0.1:41089"), unspecified6).unwrap();
    assert_eq!(
        (dual.state, dual.recv_q, dual.send_q),
        (TcpState::Listen, 1, 1)
    );
    assert!(find(&all, at("127.0.0.1:41089"), at("127.0.0.1:38606")).is_some());
    let pure = find(&all, at("[::1]:38259"), unspecified6).unwrap();
    assert_eq!((pure.recv_q, pure.send_q), (1, 128));
    assert!(find(&all, at("[::1]:41040"), at("[::1]:38259")).is_some_and(|s| s.inode != 0));
}

#[test]
fn dump_each_and_dump_agree_and_the_socket_is_reused() {
    let (_listener, server) = listener(8);
    let mut diag = SockDiag::new().unwrap();
    for _ in 0..3 {
        let all = diag.dump(Proto::Tcp, false, ALL_STATES).unwrap();
        assert!(find(&all, server, nobody()).is_some());
        let mut seen = 0;
        let count = diag
            .dump_each(Proto::Tcp, false, LISTEN_ONLY, |s| {
                assert_eq!(s.state, TcpState::Listen);
                seen += 1;
            })
            .unwrap();
        assert_eq!(count, seen);
        assert!(count >= 1);
        let raw = diag.dump_raw(Proto::Udp, true, ALL_STATES).unwrap();
        assert!(parse_dump(&raw, Proto::Udp, |_| {}).unwrap());
    }
}

/// Per-socket cost with many sockets: `cargo test --release --test kernel_probes many -- --ignored
/// --nocapture`.
#[test]
#[ignore = "a benchmark: opens 6000 sockets"]
fn many_sockets_dump_cost() {
    let (listener, server) = listener(4096);
    let n = 2000;
    let clients: Vec<TcpStream> = (0..n)
        .map(|_| TcpStream::connect(server).unwrap())
        .collect();
    let accepted: Vec<Socket> = (0..n).map(|_| listener.accept().unwrap().0).collect();
    let mut diag = SockDiag::new().unwrap();
    for states in [ALL_STATES, LISTEN_ONLY] {
        let runs = 20u32;
        let mut count = 0;
        let start = Instant::now();
        for _ in 0..runs {
            count = diag.dump_each(Proto::Tcp, false, states, |_| {}).unwrap();
        }
        let per_dump = start.elapsed() / runs;
        eprintln!(
            "states {states:#x}: {count} sockets in {per_dump:?} ({:?} per socket)",
            per_dump / count.max(1) as u32
        );
    }
    let start = Instant::now();
    let raw = diag.dump_raw(Proto::Tcp, false, ALL_STATES).unwrap();
    eprintln!("raw dump: {} bytes in {:?}", raw.len(), start.elapsed());
    let start = Instant::now();
    let mut parsed = 0;
    parse_dump(&raw, Proto::Tcp, |_| parsed += 1).unwrap();
    eprintln!("parse only: {parsed} sockets in {:?}", start.elapsed());
    drop((clients, accepted));
}

// ---------------------------------------------------------------------------------------------
// Capturing the netlink fixtures.

/// Keeps the messages of `raw` that concern `ports`, and the `NLMSG_DONE` (real bytes, fewer of them).
fn reduce(raw: &[u8], ports: &BTreeSet<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset + 16 <= raw.len() {
        let len = u32::from_ne_bytes(raw[offset..offset + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(raw[offset + 4..offset + 6].try_into().unwrap());
        let message = &raw[offset..offset + len];
        let keep = match kind {
            3 => true,
            20 => {
                let sport = u16::from_be_bytes([message[20], message[21]]);
                let dport = u16::from_be_bytes([message[22], message[23]]);
                ports.contains(&sport) || ports.contains(&dport)
            }
            _ => false,
        };
        if keep {
            out.extend_from_slice(&raw[offset..(offset + len.next_multiple_of(4)).min(raw.len())]);
        }
        offset += len.next_multiple_of(4);
    }
    out
}

fn capture(v6: bool, ports: &BTreeSet<u16>, name: &str) {
    let raw = SockDiag::new()
        .unwrap()
        .dump_raw(Proto::Tcp, v6, ALL_STATES)
        .unwrap();
    let ss = ss_text(if v6 { "tan6" } else { "tan4" }).expect("ss is needed to capture");
    let ss: String = ss
        .lines()
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            ports.contains(&ss_addr(cols[3]).port()) || ports.contains(&ss_addr(cols[4]).port())
        })
        .flat_map(|line| [line, "\n"])
        .collect();
    fs::write(fixture(&format!("{name}.bin")), reduce(&raw, ports)).unwrap();
    fs::write(fixture(&format!("{name}.ss.txt")), ss).unwrap();
}

#[test]
#[ignore = "writes tests/fixtures; run with SOCKSCOPE_WRITE_FIXTURES=1"]
fn capture_sock_diag_fixtures() {
    if std::env::var_os("SOCKSCOPE_WRITE_FIXTURES").is_none() {
        return;
    }
    // IPv4: a listener with two waiting connections (one with 5 unread bytes), an accepted one, a
    // TIME_WAIT pair, and a deferred-accept listener holding a half-open request.
    let (listener4, server) = listener(1);
    let c1 = TcpStream::connect(server).unwrap();
    let (accepted, _) = listener4.accept().unwrap();
    let mut c2 = TcpStream::connect(server).unwrap();
    let c3 = TcpStream::connect(server).unwrap();
    c2.write_all(b"hello").unwrap();
    let (deferred, deferred_addr) = listener(1);
    sys::set_defer_accept(deferred.as_fd(), 30).unwrap();
    let half = TcpStream::connect(deferred_addr).unwrap();
    let (tw_listener, tw_server) = listener(1);
    let tw_client = TcpStream::connect(tw_server).unwrap();
    let (mut tw_accepted, _) = tw_listener.accept().unwrap();
    drop(tw_client);
    let _ = tw_accepted.read(&mut [0u8; 1]).unwrap();
    drop(tw_accepted);
    wait_for("TIME_WAIT", || {
        dump(Proto::Tcp, false, state_bit(TcpState::TimeWait))
            .into_iter()
            .find(|s| s.remote == tw_server)
    });
    wait_for("2 waiting", || {
        (sys::tcp_info(listener4.as_fd()).unwrap().unacked == 2).then_some(())
    });
    let ports: BTreeSet<u16> = [server.port(), deferred_addr.port(), tw_server.port()].into();
    capture(false, &ports, "sock_diag_tcp4");

    // IPv6: a dual-stack listener on the IPv4-mapped loopback with one IPv4 client, and a
    // pure IPv6 listener on ::1 with one client.
    let dual = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    dual.set_only_v6(false).unwrap();
    let mapped = SocketAddrV6::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped(), 0, 0, 0);
    dual.bind(&SockAddr::from(mapped)).unwrap();
    dual.listen(1).unwrap();
    let dual_port = dual.local_addr().unwrap().as_socket().unwrap().port();
    let d1 = TcpStream::connect((Ipv4Addr::LOCALHOST, dual_port)).unwrap();
    let pure = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    let pure_port = pure.local_addr().unwrap().port();
    let p1 = TcpStream::connect((Ipv6Addr::LOCALHOST, pure_port)).unwrap();
    let ports: BTreeSet<u16> = [dual_port, pure_port].into();
    wait_for("2 waiting", || {
        (sys::tcp_info(dual.as_fd()).unwrap().unacked == 1
            && sys::tcp_info(pure.as_fd()).unwrap().unacked == 1)
            .then_some(())
    });
    capture(true, &ports, "sock_diag_tcp6");
    drop((c1, accepted, c2, c3, half, d1, p1));
}
