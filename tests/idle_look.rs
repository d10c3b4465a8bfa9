//! The quick look of an idle lab (`Lab::unchanged_since_snapshot`). Its own test binary: the look
//! compares this process's descriptor count, which other tests running beside it would move.

mod common;

use std::net::TcpStream;

/// The quick look of an idle lab finds nothing new until something outside the lab changes a
/// fact on screen (a connection from another program lands in the listener's accept queue).
#[test]
fn the_quick_look_sees_what_changes_behind_the_labs_back() {
    let mut lab = common::lab_running("server srv 127.0.0.1:0 8; clients c 3 srv");
    let address = lab
        .snapshot()
        .listener("srv")
        .and_then(|l| l.local)
        .expect("bound");
    assert!(lab.unchanged_since_snapshot(), "nothing happened since");
    assert!(lab.unchanged_since_snapshot(), "and still nothing");

    let _outsider = TcpStream::connect(address).expect("connect");
    assert!(
        !lab.unchanged_since_snapshot(),
        "a fourth connection in the accept queue is news"
    );
    let snapshot = lab.snapshot();
    assert_eq!(snapshot.listener("srv").expect("srv").accept_queue, 4);
    assert!(settles(&mut lab));
}

/// Whether a snapshot is followed by a quick look that finds nothing new, within a few tries: the
/// overflow counters the look compares are the machine's, and other programs' listeners move them.
fn settles(lab: &mut sockscope::lab::HeadlessLab) -> bool {
    (0..50).any(|_| {
        lab.snapshot();
        lab.unchanged_since_snapshot()
    })
}
