//! What one NAT rewrite costs (`Nat::translate`, a→b, a TCP segment to a forwarded port), next to
//! the same rewrite with the checksums recomputed from scratch by etherparse: the reason the NAT
//! updates them incrementally (RFC 1624). Both run in one group, interleaved by criterion, on a
//! 40-byte ACK and a 1400-byte data segment; each iteration copies the original packet first (the
//! copy is in both).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use etherparse::{Ipv4HeaderSlice, PacketBuilder, TcpHeaderSlice};
use sockscope::model::Proto;
use sockscope::net::nat::{Direction, Nat, Rule, Verdict};

const CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 40_000);
const PUBLIC: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 254), 8080);
const PRIVATE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 2), 80);

fn segment(payload_len: usize, syn: bool) -> Vec<u8> {
    let builder = PacketBuilder::ipv4(CLIENT.ip().octets(), PUBLIC.ip().octets(), 64).tcp(
        CLIENT.port(),
        PUBLIC.port(),
        1000,
        64_240,
    );
    let builder = if syn { builder.syn() } else { builder.ack(1) };
    let mut packet = Vec::new();
    builder
        .write(&mut packet, &vec![b'x'; payload_len])
        .expect("builds");
    packet
}

/// The rewrite done the other way: addresses written, then both checksums computed again over
/// the whole header and segment.
fn rewrite_and_recompute(packet: &mut [u8]) {
    let ip = Ipv4HeaderSlice::from_slice(packet).expect("IPv4");
    let mut header = ip.to_header();
    let ihl = ip.slice().len();
    let tcp = TcpHeaderSlice::from_slice(&packet[ihl..]).expect("TCP");
    let mut tcp_header = tcp.to_header();
    let tcp_len = tcp.slice().len();
    header.destination = PRIVATE.ip().octets();
    header.header_checksum = header.calc_header_checksum();
    tcp_header.destination_port = PRIVATE.port();
    let payload = &packet[ihl + tcp_len..usize::from(header.total_len)];
    tcp_header.checksum = tcp_header
        .calc_checksum_ipv4(&header, payload)
        .expect("fits");
    let mut out = &mut packet[..ihl + tcp_len];
    header.write(&mut out).expect("writes");
    tcp_header.write(&mut out).expect("writes");
}

fn bench_nat(c: &mut Criterion) {
    let mut nat = Nat::new();
    nat.add_rule(Rule::new(Proto::Tcp, PUBLIC, PRIVATE))
        .expect("rule");
    let now = Instant::now();
    // The connection's entry, so every data segment below is translated.
    nat.translate(&mut segment(0, true), Direction::AToB, now);
    let mut group = c.benchmark_group("nat");
    for payload_len in [0, 1400] {
        let original = segment(payload_len, false);
        let mut buffer = original.clone();
        let mut check = original.clone();
        assert!(matches!(
            nat.translate(&mut check, Direction::AToB, now),
            Verdict::Rewritten { .. }
        ));
        let mut recomputed = original.clone();
        rewrite_and_recompute(&mut recomputed);
        assert_eq!(check, recomputed, "both ways give the same packet");
        let bytes = original.len();
        group.bench_function(BenchmarkId::new("translate_incremental", bytes), |b| {
            b.iter(|| {
                buffer.copy_from_slice(&original);
                black_box(nat.translate(black_box(&mut buffer), Direction::AToB, now))
            });
        });
        group.bench_function(
            BenchmarkId::new("rewrite_recompute_etherparse", bytes),
            |b| {
                b.iter(|| {
                    buffer.copy_from_slice(&original);
                    rewrite_and_recompute(black_box(&mut buffer));
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_nat);
criterion_main!(benches);
