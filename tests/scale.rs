//! At scale every number still equals `ss`, and an idle lab is only looked at, not walked.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use common::SsRow;
use sockscope::model::TcpState;

const CLIENTS: u32 = 5_000;

fn somaxconn() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(4096)
}

/// 5,000 clients of a listener that never accepts: the accept queue fills to its limit + 1, the
/// rest of the clients stay in `SYN_SENT`. The listener's queue, the connections waiting in it and
/// every client's state and queues are what `ss` says.
#[test]
fn five_thousand_clients_agree_with_ss() {
    let mut lab = common::lab_running(&format!(
        "server srv 127.0.0.1:0 {CLIENTS}; clients c {CLIENTS} srv"
    ));
    // Loopback handshakes complete inside connect(); let the loop see every connect finish.
    lab.run_for(Duration::from_millis(300), Duration::from_millis(100))
        .expect("loop runs");
    let snapshot = lab.snapshot();
    let listener = snapshot.listener("srv").expect("srv listens");
    let address = listener.local.expect("srv is bound");
    let rows: Vec<SsRow> = common::ss("-Htan")
        .into_iter()
        .filter(|row| row.local.port() == address.port() || row.peer == Some(address))
        .collect();

    let limit = listener.backlog.min(somaxconn());
    let queued = (limit + 1).min(CLIENTS);
    let ss_listener = rows
        .iter()
        .find(|row| row.state == TcpState::Listen)
        .expect("ss sees the listener");
    assert_eq!(
        listener.accept_queue, queued,
        "a backlog of N lets N+1 wait"
    );
    assert_eq!(ss_listener.recv_q, listener.accept_queue);
    assert_eq!(ss_listener.send_q, listener.backlog);

    // Nothing was accepted: every other socket on the listener's port waits in its queue.
    let waiting_ss: BTreeSet<SocketAddr> = rows
        .iter()
        .filter(|row| row.local == address && row.state != TcpState::Listen)
        .filter_map(|row| row.peer)
        .collect();
    let waiting: BTreeSet<SocketAddr> = listener.waiting.iter().map(|w| w.peer).collect();
    assert_eq!(waiting.len(), queued as usize);
    assert_eq!(waiting, waiting_ss);

    let by_local: HashMap<SocketAddr, &SsRow> = rows
        .iter()
        .filter(|row| row.peer == Some(address))
        .map(|row| (row.local, row))
        .collect();
    let mut states: HashMap<TcpState, u32> = HashMap::new();
    for n in 1..=CLIENTS {
        let name = format!("c{n}");
        let client = snapshot
            .socket(&name)
            .expect("every client is in the snapshot");
        let local = client.local.expect("a client is bound");
        let row = by_local
            .get(&local)
            .unwrap_or_else(|| panic!("ss has no {name} ({local})"));
        assert_eq!(client.state, row.state, "{name}");
        assert_eq!(
            (client.recv_q, client.send_q),
            (row.recv_q, row.send_q),
            "{name}"
        );
        *states.entry(client.state).or_default() += 1;
    }
    assert_eq!(
        states.get(&TcpState::Established).copied().unwrap_or(0),
        queued
    );
    assert_eq!(
        states.get(&TcpState::SynSent).copied().unwrap_or(0),
        CLIENTS - queued,
        "{states:?}"
    );
}
