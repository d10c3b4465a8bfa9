//! How long one snapshot (every kernel probe) takes with 1,000 and 9,000 owned connections.
//! Both ends of each connection are lab sockets, so 9,000 connections are 18,000 descriptors.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sockscope::command::parse_script;
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::script;

fn lab_with_connections(count: u32) -> HeadlessLab {
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab");
    let commands =
        format!("server srv 127.0.0.1:0 {count}; auto-accept srv on; clients c {count} srv");
    script::run(&mut lab, &parse_script(&commands).expect("parses")).expect("runs");
    let deadline = Instant::now() + Duration::from_mins(1);
    while Instant::now() < deadline {
        lab.run_for(Duration::from_millis(50), Duration::from_secs(10))
            .expect("loop");
        let accepted = lab
            .names()
            .iter()
            .filter(|name| name.starts_with("srv-a"))
            .count();
        if accepted == count as usize {
            break;
        }
    }
    lab
}

fn probe(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("snapshot");
    group.sample_size(10);
    for count in [1_000, 9_000] {
        let mut lab = lab_with_connections(count);
        group.bench_with_input(
            BenchmarkId::new("connections", count),
            &count,
            |bench, _| {
                bench.iter(|| {
                    lab.invalidate_kernel_view();
                    lab.snapshot()
                });
            },
        );
    }
    group.finish();
}

/// One TCP dump of the whole machine (what the lab did every probe) against one filtered by the
/// kernel on a single port (what it does now), and the quick look of an idle lab of 1,000 connections.
/// (Moved here from a test that bounded the dump's duration: speed is measured, not asserted.)
fn dumps(criterion: &mut Criterion) {
    use sockscope::kernel::sock_diag::{ALL_STATES, SockDiag};
    use sockscope::model::Proto;
    let mut diag = SockDiag::new().expect("sock_diag");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let mut group = criterion.benchmark_group("sock_diag");
    group.bench_function("tcp dump, whole machine", |bench| {
        bench.iter(|| {
            diag.dump_each(Proto::Tcp, false, ALL_STATES, |_| {})
                .expect("dump")
        });
    });
    group.bench_function("tcp dump, one port filtered in the kernel", |bench| {
        bench.iter(|| {
            diag.dump_ports_each(Proto::Tcp, false, ALL_STATES, &[port], |_| {})
                .expect("dump")
        });
    });
    let mut lab = lab_with_connections(1_000);
    lab.snapshot();
    group.bench_function("quick look, idle lab of 1,000 connections", |bench| {
        bench.iter(|| lab.unchanged_since_snapshot());
    });
    group.finish();
}

criterion_group!(benches, probe, dumps);
criterion_main!(benches);
