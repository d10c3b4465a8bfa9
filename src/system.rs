//! The machine-wide view: every TCP and UDP socket on the machine (IPv4 and IPv6) as `sock_diag`
//! reports it, with its owning process from a `/proc` scan. `sockscope dump` prints one
//! [`SystemSnapshot`]; `sockscope watch` takes them repeatedly on a worker thread with one
//! [`SystemCollector`], whose owner cache makes each refresh cheaper than the first.

mod collector;
mod filter;
mod output;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use collector::{Refresh, SystemCollector};
pub use filter::{Filter, parse_state};
pub use output::{owners_note, stats_line, write_json, write_table};

use crate::model::{Proto, TcpState};

/// One socket of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemSocket {
    pub proto: Proto,
    /// For UDP with no peer, [`TcpState::Unconnected`] (`UNCONN`).
    pub state: TcpState,
    /// IPv4-mapped IPv6 addresses are given as IPv4, as `ss` does.
    pub local: SocketAddr,
    /// `None` when there is no peer (a listener, an unconnected UDP socket).
    pub remote: Option<SocketAddr>,
    /// A TCP listener: connections waiting in its accept queue. Other TCP sockets: unread bytes.
    /// UDP: memory the receive queue uses. (`ss`'s Recv-Q.)
    pub recv_q: u32,
    /// A TCP listener: its accept-queue limit, `min(backlog, somaxconn)`. Other TCP sockets: bytes
    /// not yet acknowledged. UDP: memory the send queue uses. (`ss`'s Send-Q.)
    pub send_q: u32,
    /// 0 when no descriptor refers to the socket (accept queue, `SYN_RECV`, `TIME_WAIT`, orphans).
    pub inode: u64,
    pub uid: u32,
    /// Time left on the kernel's timer for this socket (retransmit, keepalive, `TIME_WAIT`).
    pub timer_ms: Option<u64>,
    /// The process holding the socket, when owners were looked up and it could be read.
    pub pid: Option<u32>,
    /// One descriptor of `pid` that refers to the socket.
    pub fd: Option<i32>,
    /// The command name of `pid` (`/proc/<pid>/comm`), shared by all its sockets. Chosen by the
    /// process: escape it before printing.
    pub process: Option<Arc<str>>,
}

/// A TCP listener and its queues, for the listeners panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerQueue {
    pub local: SocketAddr,
    pub inode: u64,
    /// Connections completed and waiting for `accept()`.
    pub accept_queue: u32,
    /// The accept-queue limit the kernel enforces: `min(backlog, somaxconn)`.
    pub limit: u32,
    /// Half-open connections (`SYN_RECV`) to this listener's address and port.
    pub syn_recv: u32,
    pub pid: Option<u32>,
    pub process: Option<Arc<str>>,
}

/// What the owner lookup could and could not see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnersSummary {
    /// Owners were looked up at all (`dump --no-owners` does not).
    pub looked_up: bool,
    /// Sockets with a descriptor somewhere (inode ≠ 0) whose process was not found.
    pub unknown: usize,
    /// Processes whose descriptors could not be read (other users', without privileges).
    pub unreadable_processes: usize,
    /// Running with an effective uid of 0: what stays unknown is not for lack of permission.
    pub privileged: bool,
    /// Processes in `/proc` when the scan ran.
    pub processes: usize,
    /// Processes whose descriptor tables were read this time (the rest came from the cache).
    pub rescanned: usize,
    /// Descriptors read this time.
    pub fds_read: usize,
}

/// How long each part of a collection took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// The whole collection.
    pub total: Duration,
    /// The four `sock_diag` dumps (TCP and UDP, IPv4 and IPv6).
    pub sock_diag: Duration,
    /// The `/proc` scan (it runs at the same time as the dumps).
    pub owners: Duration,
}

/// Every socket of the machine at one instant (matching the filter), with summaries for the UI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemSnapshot {
    /// In dump order: TCP IPv4, TCP IPv6, UDP IPv4, UDP IPv6.
    pub sockets: Vec<SystemSocket>,
    /// TCP sockets per state.
    pub tcp_states: BTreeMap<TcpState, usize>,
    /// UDP sockets per state (`UNCONN`, or `ESTABLISHED` when connected).
    pub udp_states: BTreeMap<TcpState, usize>,
    /// TCP sockets in `TIME_WAIT`.
    pub time_wait: usize,
    /// TCP listeners, in dump order.
    pub listeners: Vec<ListenerQueue>,
    pub owners: OwnersSummary,
    pub timings: Timings,
    /// Dumps that failed (e.g. `tcp6: Address family not supported`): shown, never fatal.
    pub errors: Vec<String>,
}
