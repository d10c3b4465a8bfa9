//! Issue 8, defect 5: a forwarder cannot amplify without bound. A loop the lab can see (a
//! forwarder pointed at itself, or at a chain of forwarders leading back) is refused before any
//! socket is made; one it cannot see (through a relay outside the lab) stops at the relay limit,
//! with a failed trace entry and an error that says so.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{lab_running, run, snapshot_when};
use sockscope::lab::RELAYS_PER_FORWARDER;
use sockscope::model::Snapshot;

/// A port that was free a moment ago (the kernel picked it; the listener is gone again).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("the kernel picks a port")
        .port()
}

fn messages(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .errors
        .iter()
        .map(|error| error.message.clone())
        .collect()
}

#[test]
fn a_forwarder_pointed_at_itself_is_refused_before_socket() {
    let port = free_port();
    let mut lab = lab_running(&format!(
        "forward f 127.0.0.1:{port} 127.0.0.1:{port}; client c f"
    ));
    let snapshot = lab.snapshot();
    let refusal = &snapshot.errors[0];
    assert_eq!(
        refusal.command,
        format!("forward f 127.0.0.1:{port} 127.0.0.1:{port}")
    );
    assert!(
        refusal.message.contains("leads back to 'f' itself"),
        "{}",
        refusal.message
    );
    assert!(
        snapshot.trace.is_empty(),
        "no syscall: {:?}",
        snapshot.trace
    );
    assert!(snapshot.sockets.is_empty());
}

#[test]
fn two_forwarders_pointed_at_each_other_are_refused_and_the_first_is_untouched() {
    let port = free_port();
    let mut lab = lab_running(&format!(
        "forward a 127.0.0.1:0 127.0.0.1:{port}; forward b 127.0.0.1:{port} a"
    ));
    let snapshot = lab.snapshot();
    let errors = messages(&snapshot);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("(through a)"), "{}", errors[0]);
    assert!(snapshot.socket("a").is_some(), "a still listens");
    assert!(snapshot.socket("b").is_none(), "b was never made");
}

#[test]
fn a_loop_through_a_chain_of_forwarders_is_refused() {
    // a -> P (nobody yet), b -> a, then z listens on P and targets b: z -> b -> a -> z.
    let port = free_port();
    let mut lab = lab_running(&format!(
        "forward a 127.0.0.1:0 127.0.0.1:{port}; forward b 127.0.0.1:0 a; forward z 127.0.0.1:{port} b"
    ));
    let snapshot = lab.snapshot();
    let errors = messages(&snapshot);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("(through b, a)"), "{}", errors[0]);
    assert!(snapshot.socket("z").is_none());
}

#[test]
fn a_loop_outside_the_lab_stops_at_the_relay_limit() {
    // The outside relay: every connection it accepts is answered by a new connection to the lab's
    // forwarder, which relays it back here. Connections alone drive the loop; no bytes needed.
    let outside = TcpListener::bind("127.0.0.1:0").expect("outside relay binds");
    let outside_addr = outside.local_addr().expect("addr");
    outside.set_nonblocking(true).expect("nonblocking");
    let mut lab = lab_running(&format!("forward fw 127.0.0.1:0 {outside_addr}"));
    let forwarder: SocketAddr = lab
        .snapshot()
        .socket("fw")
        .and_then(|socket| socket.local)
        .expect("fw listens");
    let relay = thread::spawn(move || {
        let mut held = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while held.len() < RELAYS_PER_FORWARDER && Instant::now() < deadline {
            match outside.accept() {
                Ok((stream, _)) => {
                    let onward = TcpStream::connect(forwarder).expect("connect to fw");
                    held.push((stream, onward));
                }
                Err(_) => thread::sleep(Duration::from_millis(1)),
            }
        }
        held
    });

    run(&mut lab, "client c fw");
    let snapshot = snapshot_when(&mut lab, Duration::from_secs(30), |snapshot| {
        !snapshot.errors.is_empty()
    });
    let errors = messages(&snapshot);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!(
            "already relays {RELAYS_PER_FORWARDER} connections"
        )),
        "{}",
        errors[0]
    );
    let limit_entry = snapshot
        .trace
        .iter()
        .find(|entry| entry.call.starts_with("relay("))
        .expect("the limit is in the trace");
    assert!(limit_entry.failed);
    assert!(
        limit_entry.result.contains("relay limit"),
        "{}",
        limit_entry.result
    );
    // c, fw, and two legs per relay: bounded, not every descriptor the process may have.
    let legs = snapshot
        .sockets
        .iter()
        .filter(|socket| socket.name.starts_with("fw-"))
        .count();
    assert!(legs <= 2 * RELAYS_PER_FORWARDER, "{legs} relay legs");

    let held = relay.join().expect("outside relay");
    assert_eq!(held.len(), RELAYS_PER_FORWARDER);
    // Nothing grows any more: a little later the lab holds no more legs than before.
    let later = snapshot_when(&mut lab, Duration::from_millis(200), |_| false);
    let legs_later = later
        .sockets
        .iter()
        .filter(|socket| socket.name.starts_with("fw-"))
        .count();
    assert!(legs_later <= legs, "{legs_later} > {legs}");
    drop(held);
}
