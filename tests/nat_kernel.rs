//! The NAT's rewrite against the real Linux TCP stack, without the wire: two network namespaces
//! (held by `sleep` children that die with the test thread: `setpriv --pdeathsig KILL`, and are
//! killed in `Drop`) joined by a veth pair. Host b runs a real listener on its private address
//! 198.19.0.2:80. The test plays the client on host a with hand-made segments to the router's
//! public address 198.18.0.254:8080, passes each through `Nat::translate` (a→b) and sends it with
//! a raw socket; b's replies are captured on a's side (`AF_PACKET`), passed through
//! `Nat::translate` (b→a) and checked. 198.18.0.1 is not an address of host a, so a's kernel
//! drops b's replies silently (forwarding is off) instead of answering them with RST: only the
//! test talks to b.
//!
//! What it shows: b's kernel completes the handshake and accepts the data of segments whose
//! addresses, ports and TCP checksum the NAT rewrote (veth passes a raw socket's packets with
//! `CHECKSUM_NONE`, so b verifies the TCP checksum in software; the raw socket fills in the IPv4
//! header checksum itself, which tests/nat.rs checks instead); b's accepted socket sees the real
//! client 198.18.0.1:40000 (`ss` in b agrees); b's replies come back rewritten to the public
//! tuple, with checksums etherparse verifies, and the data intact both ways. Needs root.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use etherparse::{Ipv4HeaderSlice, PacketBuilder, TcpHeaderSlice};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use sockscope::kernel::packet::{BpfInstruction, PacketSocket, interface_index};
use sockscope::model::Proto;
use sockscope::net::nat::{Direction, Nat, Rule, Verdict};

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 40_000);
const PUBLIC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 254), 8080);
const PRIVATE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 2), 80);
const MAC_A: &str = "02:00:00:00:00:0a";
const MAC_B: &str = "02:00:00:00:00:0b";
/// The longest any one step may take before the test fails (never a timing assertion: only a
/// bound so a broken kernel path cannot hang the suite).
const PATIENCE: Duration = Duration::from_secs(10);

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A network namespace held by a `sleep` child.
struct Host {
    child: Child,
}

impl Host {
    fn new() -> Self {
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "unshare", "--net", "sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("setpriv and unshare run");
        let host = Self { child };
        let ours = std::fs::read_link("/proc/self/ns/net").expect("our netns");
        let started = Instant::now();
        while std::fs::read_link(host.ns_path()).is_ok_and(|ns| ns == ours) {
            assert!(started.elapsed() < PATIENCE, "unshare did not take effect");
            std::thread::yield_now();
        }
        host
    }

    fn ns_path(&self) -> String {
        format!("/proc/{}/ns/net", self.child.id())
    }

    /// Runs `ip ARGS` inside the namespace.
    fn ip(&self, args: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("nsenter")
            .args(["-t", &pid, "-n", "ip"])
            .args(args.split_whitespace())
            .status()
            .expect("nsenter runs");
        assert!(status.success(), "ip {args}");
    }

    fn ss(&self) -> String {
        let pid = self.child.id().to_string();
        let out = Command::new("nsenter")
            .args(["-t", &pid, "-n", "ss", "-tnH", "state", "established"])
            .output()
            .expect("nsenter runs ss");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Moves the calling thread into the namespace (sockets it creates then live there).
    fn enter(&self) {
        let ns = std::fs::File::open(self.ns_path()).expect("opens the netns");
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hand-made segment from the client to the public tuple.
fn segment(seq: u32, ack: Option<u32>, syn: bool, payload: &[u8]) -> Vec<u8> {
    let mut builder = PacketBuilder::ipv4(CLIENT.ip().octets(), PUBLIC.ip().octets(), 64).tcp(
        CLIENT.port(),
        PUBLIC.port(),
        seq,
        64_240,
    );
    if syn {
        builder = builder.syn();
    }
    if let Some(ack) = ack {
        builder = builder.ack(ack);
    }
    if !payload.is_empty() {
        builder = builder.psh();
    }
    let mut packet = Vec::new();
    builder.write(&mut packet, payload).expect("builds");
    packet
}

/// What the test reads of a reply: flags, numbers, payload, and whether its checksums verify.
struct Reply {
    src: SocketAddrV4,
    dst: SocketAddrV4,
    syn: bool,
    seq: u32,
    ack: u32,
    payload: Vec<u8>,
    checksums_ok: bool,
}

fn read_reply(packet: &[u8]) -> Reply {
    let ip = Ipv4HeaderSlice::from_slice(packet).expect("IPv4");
    let header = ip.to_header();
    let ihl = ip.slice().len();
    let l4 = &packet[ihl..usize::from(header.total_len)];
    let tcp = TcpHeaderSlice::from_slice(l4).expect("TCP");
    let payload = &l4[tcp.slice().len()..];
    let computed = tcp
        .to_header()
        .calc_checksum_ipv4(&header, payload)
        .expect("fits");
    Reply {
        src: SocketAddrV4::new(header.source.into(), tcp.source_port()),
        dst: SocketAddrV4::new(header.destination.into(), tcp.destination_port()),
        syn: tcp.syn(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        payload: payload.to_vec(),
        checksums_ok: computed == tcp.checksum()
            && header.calc_header_checksum() == header.header_checksum,
    }
}

/// veth offloads the TCP checksum (`CHECKSUM_PARTIAL`): a packet b's kernel sends is captured on
/// a's side with only the pseudo-header's sum in the checksum field, which the receiving device
/// would complete. Completes it the same way, after checking that it is exactly that partial sum
/// (anything else is left for the caller's check to fail on). The wire's TUN devices have no
/// offload, so the NAT always gets complete checksums there.
fn complete_offloaded_checksum(packet: &mut [u8]) {
    let ip = Ipv4HeaderSlice::from_slice(packet).expect("IPv4");
    let header = ip.to_header();
    let ihl = ip.slice().len();
    let end = usize::from(header.total_len);
    let tcp_len = end - ihl;
    let words = header
        .source
        .chunks(2)
        .chain(header.destination.chunks(2))
        .map(|word| u32::from(u16::from_be_bytes([word[0], word[1]])));
    let mut sum: u32 = words.sum::<u32>() + 6 + tcp_len as u32;
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let tcp = TcpHeaderSlice::from_slice(&packet[ihl..end]).expect("TCP");
    if tcp.checksum() != sum as u16 {
        return;
    }
    let payload = &packet[ihl + tcp.slice().len()..end];
    let full = tcp
        .to_header()
        .calc_checksum_ipv4(&header, payload)
        .expect("fits");
    packet[ihl + 16..ihl + 18].copy_from_slice(&full.to_be_bytes());
}

/// Host a's side of the wire: a raw socket to send, a packet socket to see b's replies.
struct ClientSide {
    raw: Socket,
    capture: PacketSocket,
    poll: Poll,
    events: Events,
    nat: Nat,
}

impl ClientSide {
    /// Translates a client segment (a→b) and sends it.
    fn send(&mut self, mut packet: Vec<u8>) {
        let verdict = self
            .nat
            .translate(&mut packet, Direction::AToB, Instant::now());
        let Verdict::Rewritten { after, .. } = verdict else {
            panic!("not rewritten: {verdict:?}");
        };
        assert_eq!(after.dst, PRIVATE);
        let to = SockAddr::from(SocketAddr::V4(after.dst));
        self.raw.send_to(&packet, &to).expect("raw send");
    }

    /// The next TCP segment from b (carrying data, or a SYN), translated b→a.
    fn next_reply(&mut self, want_data: bool) -> Reply {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = vec![0_u8; 65_536];
        loop {
            match self.capture.recv(&mut buf) {
                Ok(got) if !got.outgoing && got.ethertype == 0x0800 => {
                    let mut packet = buf[..got.captured].to_vec();
                    let Ok(ip) = Ipv4HeaderSlice::from_slice(&packet) else {
                        continue;
                    };
                    if ip.protocol() != etherparse::IpNumber::TCP
                        || ip.source_addr() != *PRIVATE.ip()
                    {
                        continue;
                    }
                    complete_offloaded_checksum(&mut packet);
                    let before = read_reply(&packet);
                    assert!(before.checksums_ok, "b's kernel sent a valid segment");
                    assert_eq!((before.src, before.dst), (PRIVATE, CLIENT));
                    if want_data && before.payload.is_empty() && !before.syn {
                        // A bare ACK: count it through the NAT too, then wait for the data.
                        self.nat
                            .translate(&mut packet, Direction::BToA, Instant::now());
                        continue;
                    }
                    let verdict = self
                        .nat
                        .translate(&mut packet, Direction::BToA, Instant::now());
                    assert!(matches!(verdict, Verdict::Rewritten { .. }), "{verdict:?}");
                    return read_reply(&packet);
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    assert!(!left.is_zero(), "no reply from b");
                    self.poll.poll(&mut self.events, Some(left)).expect("poll");
                }
                Err(error) => panic!("capture: {error}"),
            }
        }
    }
}

/// Joins a and b with a veth pair: a holds 198.18.0.9 (not the client's 198.18.0.1, so a's kernel
/// ignores b's replies), b holds the private address; static neighbours, so no ARP is awaited.
fn wire_up(a: &Host, b: &Host) {
    let status = Command::new("ip")
        .args(format!(
            "link add va address {MAC_A} netns {} type veth peer name vb address {MAC_B} netns {}",
            a.child.id(),
            b.child.id()
        ).split_whitespace())
        .status()
        .expect("ip runs");
    assert!(status.success(), "veth pair");
    a.ip("addr add 198.18.0.9/16 dev va");
    a.ip("link set va up");
    a.ip("route add 198.19.0.0/16 dev va");
    a.ip(&format!(
        "neigh add 198.19.0.2 lladdr {MAC_B} dev va nud permanent"
    ));
    b.ip("addr add 198.19.0.2/16 dev vb");
    b.ip("link set vb up");
    b.ip("route add 198.18.0.0/16 dev vb");
    b.ip(&format!(
        "neigh add 198.18.0.1 lladdr {MAC_A} dev vb nud permanent"
    ));
}

/// The server on b: accepts one connection, reads the request, answers "hello from b".
type ServerResult = (Option<SocketAddr>, [u8; 24], std::net::TcpStream);

fn spawn_server(b: &Host) -> std::thread::JoinHandle<ServerResult> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let b_ns = b.ns_path();
    let server = std::thread::spawn(move || {
        let ns = std::fs::File::open(b_ns).expect("b's netns");
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns into b");
        let listener = TcpListener::bind(PRIVATE).expect("binds 198.19.0.2:80 in b");
        let socket = Socket::from(listener);
        socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
        ready_tx.send(()).expect("ready");
        let (conn, peer) = socket.accept().expect("a connection through the NAT");
        conn.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut stream = std::net::TcpStream::from(conn);
        let mut request = [0_u8; 24];
        stream
            .read_exact(&mut request)
            .expect("the request arrives");
        stream.write_all(b"hello from b").expect("answers");
        // Kept open (returned) so `ss` still finds the connection established.
        (peer.as_socket(), request, stream)
    });
    ready_rx.recv_timeout(PATIENCE).expect("server ready");
    server
}

/// Moves the calling thread into a, and opens there what the client side needs.
fn client_side(a: &Host) -> ClientSide {
    a.enter();
    let mut nat = Nat::new();
    nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
        .expect("rule");
    let capture = PacketSocket::open(
        interface_index("va").expect("va"),
        // `ret #262144`: every packet, whole.
        &[BpfInstruction {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 262_144,
        }],
    )
    .expect("packet socket on va");
    let raw = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .expect("raw socket");
    let poll = Poll::new().expect("poll");
    poll.registry()
        .register(
            &mut SourceFd(&capture.raw_fd()),
            Token(0),
            Interest::READABLE,
        )
        .expect("register");
    ClientSide {
        raw,
        capture,
        poll,
        events: Events::with_capacity(8),
        nat,
    }
}

#[test]
fn a_real_tcp_connection_through_the_nat_both_ways() {
    if !is_root() {
        eprintln!("skipped: namespaces, veth and raw sockets need root");
        return;
    }
    let a = Host::new();
    let b = Host::new();
    wire_up(&a, &b);
    let server = spawn_server(&b);
    let mut side = client_side(&a);

    // The handshake, through the NAT.
    let isn = 1_000_u32;
    side.send(segment(isn, None, true, b""));
    let syn_ack = side.next_reply(false);
    assert!(syn_ack.syn && syn_ack.checksums_ok);
    assert_eq!(
        (syn_ack.src, syn_ack.dst),
        (PUBLIC, CLIENT),
        "a sees the public tuple"
    );
    assert_eq!(syn_ack.ack, isn + 1);
    let request = b"GET / through the router";
    side.send(segment(isn + 1, Some(syn_ack.seq + 1), false, b""));
    side.send(segment(isn + 1, Some(syn_ack.seq + 1), false, request));

    let (peer, received, _stream) = server.join().expect("the server thread");
    assert_eq!(peer, Some(SocketAddr::V4(CLIENT)), "b sees the real client");
    assert_eq!(&received, request, "the data arrived intact");
    let established = b.ss();
    assert!(
        established.contains("198.19.0.2:80") && established.contains("198.18.0.1:40000"),
        "ss in b: {established}"
    );

    let answer = side.next_reply(true);
    assert!(answer.checksums_ok);
    assert_eq!((answer.src, answer.dst), (PUBLIC, CLIENT));
    assert_eq!(answer.payload, b"hello from b");
    assert_eq!(answer.seq, syn_ack.seq + 1);

    let view = side.nat.view(Instant::now());
    assert_eq!(view.entries.len(), 1);
    let entry = &view.entries[0];
    assert_eq!(
        (entry.remote, entry.public, entry.private),
        (CLIENT, PUBLIC, PRIVATE)
    );
    assert_eq!(entry.state, "open");
    assert_eq!(entry.packets_a_to_b, 3);
    assert!(entry.packets_b_to_a >= 2, "{entry:?}");
    assert_eq!(view.dropped, 0);

    // Nothing is left behind: the namespaces (and the veth pair in them) die with their holders.
    let holders = [a.child.id(), b.child.id()];
    drop((a, b));
    for pid in holders {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still there"
        );
    }
}
