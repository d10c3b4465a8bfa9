//! What one `watch` refresh costs when it must walk (a busy machine: the kernel's counters move
//! every second), as the worker does it: read the counters and the owners, walk every socket with
//! `sock_diag`, scan `/proc` for owners, join, then filter and sort for the default view. Prints the
//! wall time of each refresh, then the median wall time and the mean CPU time (user + system of
//! every thread, from `/proc/self/stat`, over all the refreshes: its clock ticks are too coarse
//! for one). For `scripts/watch_measure.sh`'s population (or any other).
//!
//! ```text
//! watch_tick [REFRESHES]   (default 9)
//! ```

use std::time::{Duration, Instant};

use sockscope::system::{Filter, Refresh, SystemCollector};
use sockscope::watch::app::{View, order};

/// User + system time of this process (every thread), from `/proc/self/stat`, in clock ticks of
/// 10 ms (`CLK_TCK` is 100 on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    let refreshes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(9)
        .max(1);
    let mut collector = SystemCollector::new().expect("a NETLINK_SOCK_DIAG socket");
    let filter = Filter::default();
    let view = View::default();
    // The first collection reads every process's descriptors: not what a refresh costs.
    let first = collector.collect(true, &filter);
    println!("{} sockets", first.sockets.len());
    drop(first);
    let mut wall = Vec::new();
    let cpu_start = cpu_time();
    for _ in 0..refreshes {
        let wall_start = Instant::now();
        // Zero: walk whatever the counters say, as when they moved.
        let Refresh::New(snapshot) = collector.refresh(true, &filter, Duration::ZERO) else {
            unreachable!("a zero interval always walks");
        };
        let ordered = order(&snapshot, &view);
        let (rescanned, fds_read) = (snapshot.owners.rescanned, snapshot.owners.fds_read);
        assert_eq!(ordered.rows.len(), snapshot.sockets.len());
        // Freeing the snapshot a new one replaces is part of every refresh.
        drop((snapshot, ordered));
        let wall_used = wall_start.elapsed();
        println!(
            "refresh: wall {:.1} ms; {rescanned} processes, {fds_read} descriptors read again",
            wall_used.as_secs_f64() * 1e3
        );
        wall.push(wall_used);
    }
    let cpu_used = cpu_time().saturating_sub(cpu_start);
    println!(
        "{refreshes} refreshes: median wall {:.1} ms, mean cpu {:.1} ms",
        median(wall).as_secs_f64() * 1e3,
        cpu_used.as_secs_f64() * 1e3 / refreshes as f64
    );
}
