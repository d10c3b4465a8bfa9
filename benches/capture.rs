//! What the capture costs per segment: decoding and filing one segment (pure), and reading real
//! segments from the kernel (`recvmsg` + decode + file) on `lo` behind the port filter.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use etherparse::PacketBuilder;
use sockscope::net::capture::Capture;
use sockscope::net::decode;
use sockscope::net::filter::Scope;
use sockscope::net::flows::{Flows, HEAD_KEEP, MAX_FLOWS, TAIL_KEEP};
use sockscope::net::lab_capture::{Names, segments_and_connections};

fn tcp_packet(seq: u32) -> Vec<u8> {
    let builder = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(40000, 5555, seq, 65495)
        .ack(1)
        .psh();
    let mut packet = Vec::new();
    builder.write(&mut packet, &[b'x'; 100]).expect("builds");
    packet
}

fn decode_and_file(c: &mut Criterion) {
    let packets: Vec<Vec<u8>> = (0..1024).map(|n| tcp_packet(n * 100)).collect();
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_and_file_one_segment", |b| {
        let mut flows = Flows::default();
        let mut n = 0usize;
        b.iter(|| {
            let packet = &packets[n % packets.len()];
            n += 1;
            let decoded = decode::decode(black_box(packet), packet.len()).expect("decodes");
            flows.record(&decoded, n as u64);
        });
    });
    group.finish();
}

/// The snapshot's share: turning a full capture (every connection's ring full) into model segments.
fn export_full_capture(c: &mut Criterion) {
    let mut flows = Flows::default();
    let per_flow = (HEAD_KEEP + TAIL_KEEP) as u32;
    for flow in 0..MAX_FLOWS as u16 {
        let builder = |seq: u32| {
            let mut packet = Vec::new();
            PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                .tcp(10_000 + flow, 5555, seq, 65495)
                .ack(1)
                .write(&mut packet, b"data")
                .expect("builds");
            packet
        };
        for n in 0..per_flow {
            let packet = builder(n * 4);
            let decoded = decode::decode(&packet, packet.len()).expect("decodes");
            flows.record(&decoded, u64::from(n));
        }
    }
    let names = Names::new();
    let kept = MAX_FLOWS as u64 * u64::from(per_flow);
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Elements(kept));
    group.sample_size(20);
    group.bench_function("export_a_full_capture", |b| {
        b.iter(|| black_box(segments_and_connections(&flows, &names)));
    });
    group.finish();
}

/// Sends `count` datagrams to the captured port, then times reading them back from the capture.
fn read_from_kernel(c: &mut Criterion) {
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = receiver.local_addr().unwrap().port();
    let mut capture = match Capture::open(Scope::Ports(BTreeSet::from([port]))) {
        Ok(capture) => capture,
        Err(error) => {
            eprintln!("NOTE: no capture here ({error:?}): run as root for the kernel benchmark");
            return;
        }
    };
    receiver.set_nonblocking(true).unwrap();
    let batch = 128u64;
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Elements(1));
    group.bench_function("read_one_segment_from_the_kernel", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            let mut left = iterations;
            let mut sink = [0u8; 64];
            while left > 0 {
                let now = batch.min(left);
                for _ in 0..now {
                    sender
                        .send_to(b"ping", receiver.local_addr().unwrap())
                        .unwrap();
                }
                while receiver.recv(&mut sink).is_ok() {}
                let started = Instant::now();
                let mut read = 0;
                while read < now as usize {
                    let got = capture.drain();
                    if got == 0 {
                        break;
                    }
                    read += got;
                }
                spent += started.elapsed();
                left -= now;
            }
            // Keep memory flat across the run: a new ladder every batch.
            capture.clear();
            spent
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    decode_and_file,
    export_full_capture,
    read_from_kernel
);
criterion_main!(benches);
