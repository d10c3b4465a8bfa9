//! Issue 8, defect 10: auto-accept takes every waiting connection, not the first 1,024. The
//! listener is edge-triggered, so connections left in the queue after one event get no other.
//! 5,000 clients in two waves (each wave fits the accept queue, so no SYN is dropped and
//! retransmitted: nothing but the lab's own accepting can drain the queue), checked with `ss`.
//! Its own binary: 10,000 descriptors, and `ulimit -n` is raised for this process only.

mod common;

use std::time::Duration;

use common::{lab_running, run, snapshot_when, ss};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use sockscope::model::{Snapshot, TcpState};

/// Both ends of 5,000 connections, plus room for the lab's own.
const DESCRIPTORS_NEEDED: u64 = 10_200;

fn raise_descriptor_limit() {
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    assert!(
        hard >= DESCRIPTORS_NEEDED,
        "this test needs `ulimit -Hn` of at least {DESCRIPTORS_NEEDED} (it is {hard})"
    );
    if limit.current.is_some_and(|soft| soft < DESCRIPTORS_NEEDED) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(DESCRIPTORS_NEEDED),
                maximum: limit.maximum,
            },
        )
        .expect("raising the soft limit up to the hard one is allowed");
    }
}

fn accepted(snapshot: &Snapshot) -> usize {
    snapshot
        .sockets
        .iter()
        .filter(|socket| socket.name.starts_with("srv-a"))
        .count()
}

#[test]
fn auto_accept_takes_all_5000_clients() {
    raise_descriptor_limit();
    let mut lab =
        lab_running("server srv 127.0.0.1:0 4096; auto-accept srv on; clients c 4000 srv");
    let first = snapshot_when(&mut lab, Duration::from_secs(30), |snapshot| {
        accepted(snapshot) == 4000
    });
    assert_eq!(
        accepted(&first),
        4000,
        "the first wave was accepted in full"
    );

    run(&mut lab, "clients d 1000 srv");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(30), |snapshot| {
        accepted(snapshot) == 5000
    });
    assert_eq!(accepted(&snapshot), 5000);
    let listener = &snapshot.listeners[0];
    assert_eq!(listener.accept_queue, 0, "nothing left waiting");
    assert!(listener.waiting.is_empty());

    // The kernel agrees: 5,000 established connections on srv's port that our lab accepted, and
    // an empty accept queue (a listener's Recv-Q in `ss`).
    let port = snapshot
        .socket("srv")
        .and_then(|socket| socket.local)
        .expect("srv listens")
        .port();
    let rows = ss("-Htan");
    let server_side = rows
        .iter()
        .filter(|row| row.local.port() == port && row.state == TcpState::Established)
        .count();
    assert_eq!(server_side, 5000, "ss sees 5,000 connections to srv");
    let listen_row = rows
        .iter()
        .find(|row| row.local.port() == port && row.state == TcpState::Listen)
        .expect("ss sees srv listening");
    assert_eq!(listen_row.recv_q, 0, "ss: srv's accept queue is empty");
}
