//! The NAT (src/net/nat.rs) on packets built with etherparse: translated both ways, every
//! checksum checked from scratch by etherparse, the table's counters, closing, expiry and bounds,
//! and malformed input (cut at every length, random bytes with a fixed seed) never panicking.
//! Time is passed in: `now` values are made from one `Instant` plus fixed offsets, never slept.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use etherparse::{Ipv4Header, Ipv4HeaderSlice, PacketBuilder, TcpHeaderSlice, UdpHeaderSlice};
use sockscope::model::Proto;
use sockscope::net::nat::packet::TcpFlags;
use sockscope::net::nat::table::Limits;
use sockscope::net::nat::{Direction, DropReason, Flow, Nat, Pass, Rule, RuleError, Verdict};

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 40_000);
const PUBLIC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 254), 8080);
const PRIVATE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 2), 80);

const SYN: u8 = TcpFlags::SYN;
const SYN_ACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
const ACK: u8 = TcpFlags::ACK;
const FIN_ACK: u8 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;

fn tcp(src: SocketAddrV4, dst: SocketAddrV4, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut builder = PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), 64).tcp(
        src.port(),
        dst.port(),
        1000,
        64_240,
    );
    let flags = TcpFlags(flags);
    if flags.syn() {
        builder = builder.syn();
    }
    if flags.ack() {
        builder = builder.ack(2000);
    }
    if flags.fin() {
        builder = builder.fin();
    }
    if flags.rst() {
        builder = builder.rst();
    }
    let mut packet = Vec::new();
    builder.write(&mut packet, payload).expect("builds");
    packet
}

fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut packet = Vec::new();
    PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), 64)
        .udp(src.port(), dst.port())
        .write(&mut packet, payload)
        .expect("builds");
    packet
}

fn nat() -> Nat {
    let mut nat = Nat::new();
    nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
        .expect("rule");
    nat.add_rule(Rule::new(Proto::Udp, PUBLIC, PRIVATE))
        .expect("rule");
    nat
}

/// The addresses and ports etherparse reads, and whether every checksum is what etherparse
/// computes from scratch.
fn read(packet: &[u8]) -> (Flow, bool) {
    let ip = Ipv4HeaderSlice::from_slice(packet).expect("an IPv4 header");
    let header: Ipv4Header = ip.to_header();
    let ip_ok = header.calc_header_checksum() == header.header_checksum;
    let start = ip.slice().len();
    let end = usize::from(header.total_len);
    let l4 = &packet[start..end];
    let (proto, src_port, dst_port, l4_ok) = if header.protocol == etherparse::IpNumber::TCP {
        let slice = TcpHeaderSlice::from_slice(l4).expect("a TCP header");
        let payload = &l4[slice.slice().len()..];
        let computed = slice
            .to_header()
            .calc_checksum_ipv4(&header, payload)
            .expect("fits");
        (
            Proto::Tcp,
            slice.source_port(),
            slice.destination_port(),
            computed == slice.checksum(),
        )
    } else {
        let slice = UdpHeaderSlice::from_slice(l4).expect("a UDP header");
        let payload = &l4[8..];
        let computed = slice
            .to_header()
            .calc_checksum_ipv4(&header, payload)
            .expect("fits");
        (
            Proto::Udp,
            slice.source_port(),
            slice.destination_port(),
            computed == slice.checksum(),
        )
    };
    let flow = Flow {
        proto,
        src: SocketAddrV4::new(header.source.into(), src_port),
        dst: SocketAddrV4::new(header.destination.into(), dst_port),
    };
    (flow, ip_ok && l4_ok)
}

fn flow(proto: Proto, src: SocketAddrV4, dst: SocketAddrV4) -> Flow {
    Flow { proto, src, dst }
}

/// Translates and checks the result: rewritten, checksums right, payload intact.
fn through(
    nat: &mut Nat,
    mut packet: Vec<u8>,
    direction: Direction,
    now: Instant,
) -> (Flow, Vec<u8>) {
    let original = packet.clone();
    let verdict = nat.translate(&mut packet, direction, now);
    let Verdict::Rewritten { before, after, .. } = verdict else {
        panic!("not rewritten: {verdict:?}");
    };
    let (seen, checksums_ok) = read(&packet);
    assert!(checksums_ok, "checksums after the rewrite: {packet:02x?}");
    assert_eq!(seen, after, "the verdict says what the packet says");
    assert_eq!(read(&original).0, before);
    assert_eq!(packet.len(), original.len());
    // Only addresses, ports and checksums changed: the payload and the rest of the headers are the same.
    let header_len = usize::from(original[0] & 0x0f) * 4;
    let l4_header_len = if seen.proto == Proto::Tcp {
        usize::from(original[header_len + 12] >> 4) * 4
    } else {
        8
    };
    assert_eq!(
        packet[header_len + l4_header_len..],
        original[header_len + l4_header_len..]
    );
    assert_eq!(
        packet[..10],
        original[..10],
        "version, lengths, id, flags, TTL, protocol"
    );
    (after, packet)
}

#[test]
fn a_tcp_connection_is_rewritten_both_ways_with_correct_checksums() {
    let mut nat = nat();
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let (after, _) = through(
        &mut nat,
        tcp(CLIENT, PUBLIC, SYN, b""),
        Direction::AToB,
        ms(0),
    );
    assert_eq!(after, flow(Proto::Tcp, CLIENT, PRIVATE));
    let view = nat.view(ms(0));
    assert_eq!(view.entries.len(), 1);
    assert_eq!(view.entries[0].state, "syn_seen");

    let (after, _) = through(
        &mut nat,
        tcp(PRIVATE, CLIENT, SYN_ACK, b""),
        Direction::BToA,
        ms(1),
    );
    assert_eq!(
        after,
        flow(Proto::Tcp, PUBLIC, CLIENT),
        "a sees the address it connected to"
    );
    assert_eq!(nat.view(ms(1)).entries[0].state, "open");

    through(
        &mut nat,
        tcp(CLIENT, PUBLIC, ACK, b""),
        Direction::AToB,
        ms(2),
    );
    let request = tcp(CLIENT, PUBLIC, ACK, b"GET / HTTP/1.0\r\n\r\n");
    let request_len = request.len() as u64;
    through(&mut nat, request, Direction::AToB, ms(3));
    let answer = tcp(PRIVATE, CLIENT, ACK, &[b'x'; 1400]);
    let answer_len = answer.len() as u64;
    through(&mut nat, answer, Direction::BToA, ms(4));

    through(
        &mut nat,
        tcp(CLIENT, PUBLIC, FIN_ACK, b""),
        Direction::AToB,
        ms(5),
    );
    assert_eq!(nat.view(ms(5)).entries[0].state, "closing");
    through(
        &mut nat,
        tcp(PRIVATE, CLIENT, FIN_ACK, b""),
        Direction::BToA,
        ms(6),
    );
    assert_eq!(nat.view(ms(6)).entries[0].state, "closed");
    // The last ACK still passes: the closed entry lingers.
    through(
        &mut nat,
        tcp(CLIENT, PUBLIC, ACK, b""),
        Direction::AToB,
        ms(7),
    );

    let view = nat.view(ms(1007));
    let entry = &view.entries[0];
    assert_eq!(
        (entry.remote, entry.public, entry.private),
        (CLIENT, PUBLIC, PRIVATE)
    );
    assert_eq!((entry.packets_a_to_b, entry.packets_b_to_a), (5, 3));
    assert_eq!(entry.bytes_a_to_b, 4 * 40 + request_len);
    assert_eq!(entry.bytes_b_to_a, 2 * 40 + answer_len);
    assert_eq!((entry.age_ms, entry.idle_ms), (1007, 1000));
    assert_eq!(
        entry.expires_in_ms, 9_000,
        "a closed entry lives 10 s after its last packet"
    );
    assert_eq!((view.rewritten, view.dropped), (8, 0));
}

#[test]
fn udp_is_rewritten_both_ways_and_a_missing_checksum_stays_missing() {
    let mut nat = nat();
    let now = Instant::now();
    let (after, _) = through(&mut nat, udp(CLIENT, PUBLIC, b"ping"), Direction::AToB, now);
    assert_eq!(after, flow(Proto::Udp, CLIENT, PRIVATE));
    let (after, _) = through(
        &mut nat,
        udp(PRIVATE, CLIENT, b"pong"),
        Direction::BToA,
        now,
    );
    assert_eq!(after, flow(Proto::Udp, PUBLIC, CLIENT));
    let entry = &nat.view(now).entries[0];
    assert_eq!(
        (entry.state, entry.packets_a_to_b, entry.packets_b_to_a),
        ("udp", 1, 1)
    );

    let mut packet = udp(CLIENT, PUBLIC, b"no checksum");
    packet[20 + 6..20 + 8].copy_from_slice(&[0, 0]);
    let verdict = nat.translate(&mut packet, Direction::AToB, now);
    assert!(matches!(verdict, Verdict::Rewritten { .. }), "{verdict:?}");
    assert_eq!(packet[26..28], [0, 0], "UDP without a checksum keeps none");
    assert_eq!(read(&packet).0.dst, PRIVATE);
}

#[test]
fn many_random_packets_keep_their_checksums_right() {
    let mut random = XorShift(0x5eed_1234_abcd_0042);
    let t0 = Instant::now();
    for round in 0..500_u32 {
        let mut nat = Nat::new();
        let public = SocketAddrV4::new(
            Ipv4Addr::from(0xC612_0000 | random.next() as u32 & 0xFFFF),
            random.port(),
        );
        let private = SocketAddrV4::new(
            Ipv4Addr::from(0xC613_0000 | random.next() as u32 & 0xFFFF),
            random.port(),
        );
        let remote = SocketAddrV4::new(
            Ipv4Addr::from(0xC612_0000 | random.next() as u32 & 0xFFFF),
            random.port(),
        );
        if public == private || public == remote || private == remote {
            continue;
        }
        let proto = if round % 2 == 0 {
            Proto::Tcp
        } else {
            Proto::Udp
        };
        nat.add_rule(Rule::new(proto, public, private))
            .expect("rule");
        let payload: Vec<u8> = (0..random.next() % 1500)
            .map(|_| random.next() as u8)
            .collect();
        let (inbound, outbound) = match proto {
            Proto::Tcp => (
                tcp(remote, public, SYN, &payload),
                tcp(private, remote, SYN_ACK, &payload),
            ),
            Proto::Udp => (
                udp(remote, public, &payload),
                udp(private, remote, &payload),
            ),
        };
        let (after, _) = through(&mut nat, inbound, Direction::AToB, t0);
        assert_eq!(after, flow(proto, remote, private));
        let (after, _) = through(&mut nat, outbound, Direction::BToA, t0);
        assert_eq!(after, flow(proto, public, remote));
    }
}

#[test]
fn what_a_router_would_not_forward_is_dropped_or_passed_with_a_reason() {
    let mut nat = nat();
    let now = Instant::now();
    let mut verdict = |packet: Vec<u8>, direction| {
        let mut packet = packet;
        let before = packet.clone();
        let verdict = nat.translate(&mut packet, direction, now);
        assert_eq!(packet, before, "{verdict:?} leaves the packet as it was");
        verdict
    };
    // Mid-connection segments of a connection the router never saw open.
    assert_eq!(
        verdict(tcp(CLIENT, PUBLIC, ACK, b"x"), Direction::AToB),
        Verdict::Dropped(DropReason::NoConnection)
    );
    // The private server's reply without an entry would leak its address.
    assert_eq!(
        verdict(tcp(PRIVATE, CLIENT, SYN_ACK, b""), Direction::BToA),
        Verdict::Dropped(DropReason::NoConnection)
    );
    // The router's public address, a port without a rule.
    let other_port = SocketAddrV4::new(*PUBLIC.ip(), 9999);
    assert_eq!(
        verdict(tcp(CLIENT, other_port, SYN, b""), Direction::AToB),
        Verdict::Dropped(DropReason::NoRule)
    );
    // Traffic between the hosts that has nothing to do with the router.
    let b_host = SocketAddrV4::new(*PRIVATE.ip(), 22);
    assert_eq!(
        verdict(tcp(CLIENT, b_host, SYN, b""), Direction::AToB),
        Verdict::Untouched(Pass::NotForNat)
    );
    assert_eq!(
        verdict(tcp(b_host, CLIENT, SYN_ACK, b""), Direction::BToA),
        Verdict::Untouched(Pass::NotForNat)
    );
    // IPv6 and ICMP pass.
    let mut v6 = Vec::new();
    PacketBuilder::ipv6([1; 16], [2; 16], 64)
        .udp(1, 2)
        .write(&mut v6, b"v6")
        .unwrap();
    assert_eq!(
        verdict(v6, Direction::AToB),
        Verdict::Untouched(Pass::NotIpv4)
    );
    let mut icmp = Vec::new();
    PacketBuilder::ipv4(CLIENT.ip().octets(), PUBLIC.ip().octets(), 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut icmp, b"ping")
        .unwrap();
    assert_eq!(
        verdict(icmp, Direction::AToB),
        Verdict::Untouched(Pass::OtherProtocol(1))
    );
    // A broken IPv4 header checksum.
    let mut bad = tcp(CLIENT, PUBLIC, SYN, b"");
    bad[10] ^= 0x01;
    assert_eq!(
        verdict(bad, Direction::AToB),
        Verdict::Dropped(DropReason::BadHeaderChecksum)
    );
    // A fragment (more fragments set) to the public address; also a later fragment.
    let mut fragment = tcp(CLIENT, PUBLIC, SYN, b"");
    fragment[6] |= 0x20;
    assert_eq!(
        verdict(fragment, Direction::AToB),
        Verdict::Dropped(DropReason::Fragment)
    );
    let mut later = tcp(CLIENT, PUBLIC, SYN, b"");
    later[6..8].copy_from_slice(&[0x00, 0x10]);
    assert_eq!(
        verdict(later, Direction::AToB),
        Verdict::Dropped(DropReason::Fragment)
    );

    let view = nat.view(now);
    assert_eq!(
        (view.entries.len(), view.rewritten, view.dropped),
        (0, 0, 6)
    );
    assert_eq!(view.last_drop, Some("fragment"));
}

#[test]
fn without_rules_the_wire_is_transparent() {
    let mut nat = Nat::new();
    let mut packet = tcp(CLIENT, PUBLIC, SYN, b"");
    assert_eq!(
        nat.translate(&mut packet, Direction::AToB, Instant::now()),
        Verdict::Untouched(Pass::NoRules)
    );
    assert_eq!(
        nat.translate(&mut [0xff; 3], Direction::BToA, Instant::now()),
        Verdict::Untouched(Pass::NoRules)
    );
}

#[test]
fn a_wrong_tcp_checksum_stays_wrong() {
    let mut nat = nat();
    let mut packet = tcp(CLIENT, PUBLIC, SYN, b"data");
    packet[20 + 16] ^= 0x40;
    let verdict = nat.translate(&mut packet, Direction::AToB, Instant::now());
    assert!(matches!(verdict, Verdict::Rewritten { .. }));
    let (seen, checksums_ok) = read(&packet);
    assert_eq!(seen.dst, PRIVATE);
    assert!(!checksums_ok, "the receiver must still see the corruption");
}

#[test]
fn rules_that_overlap_are_refused_with_a_reason() {
    let mut nat = nat();
    let again = Rule::new(Proto::Tcp, PUBLIC, SocketAddrV4::new(*PRIVATE.ip(), 81));
    assert_eq!(
        nat.add_rule(again),
        Err(RuleError::Duplicate(Rule::new(Proto::Tcp, PUBLIC, PRIVATE)))
    );
    let chained = Rule::new(Proto::Tcp, PRIVATE, SocketAddrV4::new(*PRIVATE.ip(), 81));
    assert!(matches!(nat.add_rule(chained), Err(RuleError::Chained(_))));
    assert_eq!(
        nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, PUBLIC)),
        Err(RuleError::SameTuple)
    );
    let zero = SocketAddrV4::new(*PUBLIC.ip(), 0);
    assert_eq!(
        nat.add_rule(Rule::new(Proto::Tcp, zero, PRIVATE)),
        Err(RuleError::PortZero)
    );
    let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80);
    assert_eq!(
        nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, any)),
        Err(RuleError::NotUnicast(Ipv4Addr::UNSPECIFIED))
    );
    // A second public port to the same server is fine (a router allows it).
    let second = SocketAddrV4::new(*PUBLIC.ip(), 8081);
    nat.add_rule(Rule::new(Proto::Tcp, second, PRIVATE))
        .expect("another public port");
    assert_eq!(nat.rules().len(), 3);
    assert!(
        RuleError::Duplicate(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
            .to_string()
            .contains("198.18.0.254:8080")
    );
}

#[test]
fn removing_a_rule_removes_its_connections() {
    let mut nat = nat();
    let now = Instant::now();
    through(
        &mut nat,
        tcp(CLIENT, PUBLIC, SYN, b""),
        Direction::AToB,
        now,
    );
    through(&mut nat, udp(CLIENT, PUBLIC, b"x"), Direction::AToB, now);
    assert_eq!(nat.view(now).entries.len(), 2);
    assert_eq!(
        nat.remove_rule(Proto::Tcp, PUBLIC),
        Ok(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
    );
    let view = nat.view(now);
    assert_eq!(
        (view.rules.len(), view.entries.len(), view.entries[0].proto),
        (1, 1, Proto::Udp)
    );
    assert_eq!(
        nat.remove_rule(Proto::Tcp, PUBLIC),
        Err(RuleError::NoSuchRule)
    );
    nat.clear();
    assert!(nat.view(now).rules.is_empty() && nat.view(now).entries.is_empty());
}

#[test]
fn idle_entries_expire_by_state() {
    let limits = Limits::default();
    let mut nat = nat();
    let t0 = Instant::now();
    through(&mut nat, udp(CLIENT, PUBLIC, b"x"), Direction::AToB, t0);
    let other = SocketAddrV4::new(*CLIENT.ip(), 40_001);
    through(&mut nat, tcp(other, PUBLIC, SYN, b""), Direction::AToB, t0);
    through(
        &mut nat,
        tcp(PRIVATE, other, SYN_ACK, b""),
        Direction::BToA,
        t0,
    );
    // Just before the UDP timeout both live; at it the UDP flow is gone, the TCP connection not.
    assert_eq!(
        nat.view(t0 + limits.udp.checked_sub(Duration::from_millis(1)).unwrap())
            .entries
            .len(),
        2
    );
    let later = t0 + limits.udp;
    assert_eq!(
        nat.view(later).entries.len(),
        1,
        "the view hides what expired"
    );
    // A reply after the expiry finds no entry, whether or not a sweep ran.
    let mut reply = udp(PRIVATE, CLIENT, b"late");
    assert_eq!(
        nat.translate(&mut reply, Direction::BToA, later),
        Verdict::Dropped(DropReason::NoConnection)
    );
    assert_eq!(nat.expire(later), 0, "translate swept it already");
    assert_eq!(nat.table().len(), 1);
    // The open TCP connection lives 2 h 4 min idle.
    assert_eq!(
        nat.expire(t0 + limits.tcp_open.checked_sub(Duration::from_secs(1)).unwrap()),
        0
    );
    assert_eq!(nat.expire(t0 + limits.tcp_open), 1);
}

#[test]
fn a_reset_closes_and_a_new_syn_opens_a_new_entry() {
    let mut nat = nat();
    let t0 = Instant::now();
    let first = match nat.translate(&mut tcp(CLIENT, PUBLIC, SYN, b""), Direction::AToB, t0) {
        Verdict::Rewritten { entry, .. } => entry,
        other => panic!("{other:?}"),
    };
    through(
        &mut nat,
        tcp(PRIVATE, CLIENT, RST, b""),
        Direction::BToA,
        t0,
    );
    assert_eq!(nat.view(t0).entries[0].state, "closed");
    let second = match nat.translate(&mut tcp(CLIENT, PUBLIC, SYN, b""), Direction::AToB, t0) {
        Verdict::Rewritten { entry, .. } => entry,
        other => panic!("{other:?}"),
    };
    assert_ne!(first, second);
    let view = nat.view(t0);
    assert_eq!(
        (
            view.entries.len(),
            view.entries[0].state,
            view.entries[0].packets_a_to_b
        ),
        (1, "syn_seen", 1)
    );
    // A closed entry is gone after 10 s idle.
    through(
        &mut nat,
        tcp(PRIVATE, CLIENT, RST, b""),
        Direction::BToA,
        t0,
    );
    assert_eq!(nat.expire(t0 + Duration::from_secs(10)), 1);
}

#[test]
fn the_table_is_bounded_and_a_full_table_keeps_its_live_connections() {
    let mut nat = Nat::with_limits(Limits {
        max_entries: 2,
        ..Limits::default()
    });
    nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
        .unwrap();
    let now = Instant::now();
    let client = |port| SocketAddrV4::new(*CLIENT.ip(), port);
    through(
        &mut nat,
        tcp(client(1001), PUBLIC, SYN, b""),
        Direction::AToB,
        now,
    );
    through(
        &mut nat,
        tcp(client(1002), PUBLIC, SYN, b""),
        Direction::AToB,
        now,
    );
    let mut third = tcp(client(1003), PUBLIC, SYN, b"");
    assert_eq!(
        nat.translate(&mut third, Direction::AToB, now),
        Verdict::Dropped(DropReason::TableFull)
    );
    // The live ones still pass.
    through(
        &mut nat,
        tcp(PRIVATE, client(1001), SYN_ACK, b""),
        Direction::BToA,
        now,
    );
    // Once one is closed, a new connection takes its place.
    through(
        &mut nat,
        tcp(client(1002), PUBLIC, RST, b""),
        Direction::AToB,
        now,
    );
    through(
        &mut nat,
        tcp(client(1003), PUBLIC, SYN, b""),
        Direction::AToB,
        now,
    );
    let remotes: Vec<u16> = nat
        .view(now)
        .entries
        .iter()
        .map(|e| e.remote.port())
        .collect();
    assert_eq!(remotes, [1001, 1003]);
}

#[test]
fn two_public_ports_to_one_server_cannot_share_a_reply_tuple() {
    let mut nat = nat();
    let second = SocketAddrV4::new(*PUBLIC.ip(), 8081);
    nat.add_rule(Rule::new(Proto::Tcp, second, PRIVATE))
        .unwrap();
    let now = Instant::now();
    through(
        &mut nat,
        tcp(CLIENT, PUBLIC, SYN, b""),
        Direction::AToB,
        now,
    );
    let mut clash = tcp(CLIENT, second, SYN, b"");
    assert_eq!(
        nat.translate(&mut clash, Direction::AToB, now),
        Verdict::Dropped(DropReason::TupleInUse)
    );
    let other_port = SocketAddrV4::new(*CLIENT.ip(), 40_001);
    let (after, _) = through(
        &mut nat,
        tcp(other_port, second, SYN, b""),
        Direction::AToB,
        now,
    );
    assert_eq!(after.dst, PRIVATE);
    let (after, _) = through(
        &mut nat,
        tcp(PRIVATE, other_port, SYN_ACK, b""),
        Direction::BToA,
        now,
    );
    assert_eq!(
        after.src, second,
        "the reply goes back from the port the client used"
    );
}

/// A packet cut at every length: never a panic, never a rewrite, the bytes left as they were.
#[test]
fn packets_cut_at_every_length_are_never_rewritten() {
    let now = Instant::now();
    for whole in [
        tcp(CLIENT, PUBLIC, SYN, b"hello"),
        udp(CLIENT, PUBLIC, b"hello"),
        tcp(PRIVATE, CLIENT, SYN_ACK, b"hello"),
    ] {
        for direction in [Direction::AToB, Direction::BToA] {
            let mut nat = nat();
            // An entry, so replies cut short concern the NAT too.
            nat.translate(&mut tcp(CLIENT, PUBLIC, SYN, b""), Direction::AToB, now);
            for len in 0..whole.len() {
                let mut cut = whole[..len].to_vec();
                let verdict = nat.translate(&mut cut, direction, now);
                assert!(
                    !matches!(verdict, Verdict::Rewritten { .. }),
                    "cut at {len}: {verdict:?}"
                );
                assert_eq!(cut, whole[..len], "cut at {len}");
            }
        }
    }
    // Concerning a rule, a cut packet is dropped as truncated.
    let mut nat = nat();
    let whole = tcp(CLIENT, PUBLIC, SYN, b"hello");
    for len in 1..whole.len() {
        let verdict = nat.translate(&mut whole[..len].to_vec(), Direction::AToB, now);
        assert_eq!(
            verdict,
            Verdict::Dropped(DropReason::Truncated),
            "cut at {len}"
        );
    }
}

/// A seeded xorshift64: the same "random" bytes on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn port(&mut self) -> u16 {
        (self.next() % 65_535 + 1) as u16
    }
}

/// Random bytes (half of them dressed as IPv4 to the public address): no panic; whatever is not
/// rewritten is left as it was, and whatever is rewritten has a verifying IPv4 header.
#[test]
fn random_bytes_never_panic() {
    let mut random = XorShift(0x0dd5_eed5_1234_5678);
    let mut nat = nat();
    let now = Instant::now();
    nat.translate(&mut tcp(CLIENT, PUBLIC, SYN, b""), Direction::AToB, now);
    let mut rewritten = 0;
    for round in 0..20_000 {
        let len = (random.next() % 120) as usize;
        let mut packet: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
        if round % 2 == 0 && len >= 20 {
            packet[0] = 0x45;
            packet[9] = if round % 4 == 0 { 6 } else { 17 };
            packet[16..20].copy_from_slice(&PUBLIC.ip().octets());
        }
        let before = packet.clone();
        let direction = if round % 3 == 0 {
            Direction::BToA
        } else {
            Direction::AToB
        };
        match nat.translate(&mut packet, direction, now) {
            Verdict::Rewritten { .. } => {
                rewritten += 1;
                let header = Ipv4HeaderSlice::from_slice(&packet).unwrap().to_header();
                assert_eq!(header.calc_header_checksum(), header.header_checksum);
            }
            _ => assert_eq!(packet, before),
        }
    }
    // Random header checksums almost never verify: nearly everything was refused.
    assert!(rewritten < 5, "{rewritten}");
}

#[test]
fn the_view_serializes_in_the_snapshot_json_style() {
    let mut nat = nat();
    let t0 = Instant::now();
    through(&mut nat, tcp(CLIENT, PUBLIC, SYN, b""), Direction::AToB, t0);
    let json = serde_json::to_value(nat.view(t0 + Duration::from_millis(5))).unwrap();
    assert_eq!(
        json["rules"][0],
        serde_json::json!({"proto": "tcp", "public": "198.18.0.254:8080", "private": "198.19.0.2:80"})
    );
    let entry = &json["entries"][0];
    assert_eq!(entry["remote"], "198.18.0.1:40000");
    assert_eq!(entry["state"], "syn_seen");
    assert_eq!(entry["packets_a_to_b"], 1);
    assert_eq!(entry["age_ms"], 5);
    assert_eq!(json["last_drop"], serde_json::Value::Null);
}
