//! What naming and classifying descriptors costs: holding the low numbers at start (placeholders
//! on every free number below 64, then freed), asking a socket's family, type and protocol (what
//! the kind column's cache saves on every snapshot after the first), and a snapshot of a lab with
//! 500 pipes and 500 socketpairs (2,000 IPC descriptors).

use std::fmt::Write as _;
use std::os::fd::AsRawFd;

use criterion::{Criterion, criterion_group, criterion_main};
use sockscope::command::parse_script;
use sockscope::kernel::{fd_kind, internal_fds::LowFds};
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::script;

fn descriptors(c: &mut Criterion) {
    let mut group = c.benchmark_group("descriptors");
    group.bench_function("reserve and release the low numbers", |b| {
        b.iter(|| {
            let mut low = LowFds::reserve();
            let held = low.held();
            low.release();
            held
        });
    });
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
    let inode = rustix::fs::fstat(&socket).expect("fstat").st_ino;
    group.bench_function("socket kind (fstat + 3 getsockopt)", |b| {
        b.iter(|| fd_kind::socket_kind(socket.as_raw_fd(), inode));
    });
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab");
    let mut commands = String::new();
    for i in 0..500 {
        let _ = writeln!(commands, "pipe r{i} w{i}; socketpair a{i} b{i}");
    }
    script::run(&mut lab, &parse_script(&commands).expect("parses")).expect("runs");
    group.sample_size(20);
    group.bench_function("snapshot of 2,000 IPC descriptors", |b| {
        b.iter(|| {
            lab.invalidate_kernel_view();
            lab.snapshot()
        });
    });
    group.finish();
}

criterion_group!(benches, descriptors);
criterion_main!(benches);
