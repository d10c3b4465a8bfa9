//! What changed between two snapshots, so the dashboard can make it stand out for a moment.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::model::Snapshot;

/// How long a change stays highlighted.
pub const HIGHLIGHT_MS: u64 = 2000;

/// An item on screen that can change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeKey {
    Fd(i32),
    Socket(String),
    Listener(String),
    KernelOnly(SocketAddr, SocketAddr),
}

/// When each item last changed (milliseconds on the lab's clock).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    at: HashMap<ChangeKey, u64>,
}

impl Changes {
    /// Records everything that differs from `old` to `new` as changed at `at_ms`.
    pub fn record(&mut self, old: &Snapshot, new: &Snapshot, at_ms: u64) {
        // Indexed once: a lab of 10,000 sockets compared item by item against a list would take
        // 10^8 comparisons.
        let old_fds: HashMap<i32, &str> = old
            .fds
            .iter()
            .map(|fd| (fd.fd, fd.target.as_str()))
            .collect();
        let old_sockets: HashMap<&str, &crate::model::SocketInfo> = old
            .sockets
            .iter()
            .map(|socket| (socket.name.as_str(), socket))
            .collect();
        let old_held: HashMap<(SocketAddr, SocketAddr), crate::model::TcpState> = old
            .kernel_only
            .iter()
            .map(|held| ((held.local, held.remote), held.state))
            .collect();
        for fd in &new.fds {
            if old_fds
                .get(&fd.fd)
                .is_none_or(|target| *target != fd.target)
            {
                self.at.insert(ChangeKey::Fd(fd.fd), at_ms);
            }
        }
        for socket in &new.sockets {
            let before = old_sockets.get(socket.name.as_str());
            let changed = before.is_none_or(|before| {
                before.state != socket.state
                    || before.recv_q != socket.recv_q
                    || before.send_q != socket.send_q
                    || before.bytes_sent != socket.bytes_sent
                    || before.bytes_received != socket.bytes_received
                    || before.remote != socket.remote
            });
            if changed {
                self.at
                    .insert(ChangeKey::Socket(socket.name.clone()), at_ms);
            }
        }
        self.record_listeners_and_held(old, new, &old_held, at_ms);
    }

    /// The listeners (a handful: found by name) and the tuples only the kernel holds.
    fn record_listeners_and_held(
        &mut self,
        old: &Snapshot,
        new: &Snapshot,
        old_held: &HashMap<(SocketAddr, SocketAddr), crate::model::TcpState>,
        at_ms: u64,
    ) {
        for listener in &new.listeners {
            let before = old.listener(&listener.name);
            let changed = before.is_none_or(|before| {
                before.accept_queue != listener.accept_queue
                    || before.syn_queue != listener.syn_queue
                    || before.waiting != listener.waiting
                    || before.backlog != listener.backlog
            });
            if changed {
                self.at
                    .insert(ChangeKey::Listener(listener.name.clone()), at_ms);
            }
        }
        for held in &new.kernel_only {
            let before = old_held.get(&(held.local, held.remote));
            if before.is_none_or(|state| *state != held.state) {
                self.at
                    .insert(ChangeKey::KernelOnly(held.local, held.remote), at_ms);
            }
        }
        self.at
            .retain(|_, changed| at_ms.saturating_sub(*changed) < HIGHLIGHT_MS);
    }

    /// Whether `key` changed within the highlight window before `now_ms`.
    #[must_use]
    pub fn is_fresh(&self, key: &ChangeKey, now_ms: u64) -> bool {
        self.at
            .get(key)
            .is_some_and(|changed| now_ms.saturating_sub(*changed) < HIGHLIGHT_MS)
    }

    /// When the next highlight fades (so the loop redraws then), if any is showing.
    #[must_use]
    pub fn next_expiry(&self, now_ms: u64) -> Option<u64> {
        self.at
            .values()
            .map(|changed| changed + HIGHLIGHT_MS)
            .filter(|expiry| *expiry > now_ms)
            .min()
    }

    pub fn clear(&mut self) {
        self.at.clear();
    }
}
