//! What the wire costs (`--net wire`): a 1-byte ping-pong between hosts a and b through the wire
//! against the same ping-pong over host a's loopback, and 1 MiB pushed through each. Half the
//! difference of the round trips is the latency the wire adds per segment (a TUN read, the
//! controls, filing the segment for the ladder, a TUN write).
//!
//! Making the hosts needs root here (`/dev/net/tun`); without it the benchmark says why and does
//! nothing. The wire runs on a lab's loop in a thread of its own (started on host a), as it does
//! on the dashboard's loop.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput};
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::model::WireHost;
use sockscope::net::wire::{self, address};

const BULK: usize = 1 << 20;

/// Echoes each byte; for a bulk message, answers one byte once it has all of it.
fn serve(listener: TcpListener) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buffer = vec![0; 1 << 16];
                let mut pending = 0usize;
                loop {
                    let Ok(count) = stream.read(&mut buffer) else {
                        return;
                    };
                    if count == 0 {
                        return;
                    }
                    // A single byte is a ping; bulk bytes are answered once BULK arrived.
                    if count == 1 && pending == 0 {
                        let _ = stream.write_all(&buffer[..1]);
                        continue;
                    }
                    pending += count;
                    if pending >= BULK {
                        pending -= BULK;
                        let _ = stream.write_all(b"k");
                    }
                }
            });
        }
    });
}

fn connect(target: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(target).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

fn ping(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    stream.write_all(b"p").expect("ping");
    stream.read_exact(&mut byte).expect("pong");
}

fn push(stream: &mut TcpStream, data: &[u8]) {
    let mut byte = [0u8; 1];
    stream.write_all(data).expect("bulk");
    stream.read_exact(&mut byte).expect("ack");
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("wire bench skipped: making the hosts' TUN devices needs root here");
        return;
    }
    if let Err(error) = wire::enter(address::DEFAULT_A, address::DEFAULT_B) {
        eprintln!("wire bench skipped: {} failed: {}", error.step, error.error);
        return;
    }
    let hosts = wire::hosts().expect("hosts made");
    // The wire's loop, on host a (a thread starts in its creator's namespace).
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::clone(&stop);
    let relay = std::thread::spawn(move || {
        let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab");
        while !running.load(Ordering::Relaxed) {
            lab.run_for(Duration::from_millis(20), Duration::from_hours(1))
                .expect("loop runs");
        }
    });
    let on_b = hosts
        .on_host(WireHost::B, || {
            TcpListener::bind(SocketAddr::new(IpAddr::V4(hosts.b.address.address), 0))
        })
        .expect("setns")
        .expect("bind on b");
    let through_wire = on_b.local_addr().expect("address");
    serve(on_b);
    let on_a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind on a's lo");
    let loopback = on_a.local_addr().expect("address");
    serve(on_a);

    let mut criterion = Criterion::default().configure_from_args();
    let data = vec![b'x'; BULK];
    let mut group = criterion.benchmark_group("wire");
    for (name, target) in [("wire", through_wire), ("loopback", loopback)] {
        let mut stream = connect(target);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("round_trip_1_byte/{name}"), |b| {
            b.iter(|| ping(&mut stream));
        });
        group.throughput(Throughput::Bytes(BULK as u64));
        group.bench_function(format!("push_1_MiB/{name}"), |b| {
            b.iter(|| push(&mut stream, &data));
        });
    }
    group.finish();
    criterion.final_summary();
    stop.store(true, Ordering::Relaxed);
    let _ = relay.join();
}
