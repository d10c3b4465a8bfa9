//! The snapshot: what the kernel says about every socket, descriptor and queue of the lab.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::engine::Lab;
use super::entry::{Entry, Handle};
use super::fd_rows::{self, Known};
use super::probe::Prober;
use super::probe::{QuickLook, QuickTcp};
use crate::kernel::fd_table::{self, FdLink};
use crate::kernel::sock_diag::DiagSocket;
use crate::kernel::{netstat, sys};
use crate::model::{
    Counters, FdEntry, HistorySource, KernelOnly, KernelOnlyHistory, ListenerInfo, PortUse, Proto,
    Role, Snapshot, SocketInfo, TcpCounters, TcpState, Waiting,
};
use crate::net::lab_capture::SideHistories;
use crate::net::ladder;

/// The kernel's view of one owned socket.
struct Probed {
    state: TcpState,
    unacked: u32,
    sacked: u32,
    counters: Option<TcpCounters>,
    /// What a quick look compares (TCP only).
    quick: Option<QuickTcp>,
}

fn probe_entry(entry: &Entry) -> Probed {
    let unknown = Probed {
        state: TcpState::Unknown(0),
        unacked: 0,
        sacked: 0,
        counters: None,
        quick: None,
    };
    match (&entry.handle, entry.proto) {
        (Handle::Udp(_), _) => Probed {
            state: if entry.remote.is_some() {
                TcpState::Established
            } else {
                TcpState::Unconnected
            },
            ..unknown
        },
        (_, Some(Proto::Tcp)) => match sys::tcp_info(entry.handle.fd()) {
            Ok(info) => Probed {
                state: TcpState::from_kernel(info.state),
                unacked: info.unacked,
                sacked: info.sacked,
                counters: Some(TcpCounters {
                    segs_out: info.segs_out,
                    segs_in: info.segs_in,
                    retransmits: info.total_retrans,
                    rtt_us: info.rtt_us,
                    ..TcpCounters::default()
                }),
                quick: Some(QuickTcp::of(&info)),
            },
            Err(_) => unknown,
        },
        _ => unknown,
    }
}

/// Whether a connection's local address belongs to the listener at `listener`.
fn belongs_to(listener: SocketAddr, local: SocketAddr) -> bool {
    listener.port() == local.port()
        && (listener.ip().is_unspecified() || listener.ip() == local.ip())
}

impl Lab {
    /// Reads every socket's state from the kernel and extends the state histories.
    pub fn observe(&mut self) {
        let at_ms = self.elapsed_ms();
        for entry in self.table.values_mut() {
            if entry.is_socket() {
                let state = probe_entry(entry).state;
                entry.observe_state(state, at_ms);
            }
        }
        self.sync_capture();
    }

    /// Everything the kernel says about the lab right now.
    pub fn snapshot(&mut self) -> Snapshot {
        let at_ms = self.elapsed_ms();
        let mut probe_errors = Vec::new();
        if self.table.values().any(|entry| entry.v6) {
            self.prober.seen_v6 = true;
        }
        // Counted before the table is read: a descriptor opened meanwhile shows next time.
        let fd_count = fd_table::own_count();
        // The lab's own sockets are described by fstat; readlink only for the rest.
        let sockets: HashMap<RawFd, &Entry> = self
            .table
            .values()
            .filter(|entry| entry.is_socket())
            .map(|entry| (entry.handle.raw_fd(), entry))
            .collect();
        let links = fd_table::read_own_with(|fd| {
            let entry = sockets.get(&fd)?;
            fd_table::socket_link(entry.handle.fd()).ok()
        })
        .unwrap_or_else(|error| {
            probe_errors.push(format!("/proc/self/fd: {error}"));
            Vec::new()
        });
        let inode_by_fd: HashMap<RawFd, u64> = links
            .iter()
            .filter_map(|link| link.socket_inode.map(|inode| (link.fd, inode)))
            .collect();

        let has_tcp = !self.prober.closed.is_empty()
            || self
                .table
                .values()
                .any(|entry| entry.proto == Some(Proto::Tcp));
        let has_udp = self
            .table
            .values()
            .any(|entry| entry.proto == Some(Proto::Udp));
        let ports = if has_tcp {
            self.kernel_ports()
        } else {
            Vec::new()
        };
        let dumps = self.prober.dumps(&ports, has_udp, &mut probe_errors);
        let (tcp, udp) = (dumps.tcp.clone(), dumps.udp.clone());
        let (mut sockets, listeners, quick_tcp) =
            self.owned_sockets(at_ms, &inode_by_fd, &tcp, &udp);

        let kernel_only = self.kernel_only(&tcp);
        self.prober.kernel_due = kernel_only
            .iter()
            .filter_map(|held| held.timer_ms)
            .min()
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
        let fds = self.fd_entries(&links);
        let (overflows, drops) = netstat::read_listen_counters().unwrap_or_else(|error| {
            probe_errors.push(format!("/proc/net/netstat: {error}"));
            self.prober.counters_at_start
        });
        let waiting = listeners.iter().any(|listener| listener.accept_queue > 0);
        self.prober.last_look = Some(QuickLook {
            fd_count,
            ports,
            tcp: quick_tcp,
            kernel: super::probe::quick_kernel_of(&tcp, waiting),
            counters: (overflows, drops),
        });
        let mut ports = self.prober.ports.clone();
        ports.in_use = ports_in_use(&sockets);
        self.sync_capture();
        // Read after every TCP_INFO above: a segment that changed a state is already queued.
        let exported = self.capture.export(self.config.lang);
        for socket in &mut sockets {
            history_from_segments(socket, &exported.histories);
        }
        let kernel_only_history = kernel_only_histories(&kernel_only, &exported.histories);
        Snapshot {
            fds,
            sockets,
            listeners,
            kernel_only,
            ports,
            counters: Counters {
                listen_overflows: overflows,
                listen_drops: drops,
                listen_overflows_at_start: self.prober.counters_at_start.0,
                listen_drops_at_start: self.prober.counters_at_start.1,
                scope: crate::model::CounterScope::of(crate::net::network()),
            },
            trace: self.trace.entries(),
            trace_dropped: self.trace.dropped(),
            errors: self.errors.clone(),
            probe_errors,
            at_ms,
            segments: exported.segments,
            capture: exported.info,
            kernel_only_history,
            wire: self.wire.as_ref().map(crate::net::wire::Wire::info),
            nat: self.wire.as_ref().map(crate::net::wire::Wire::nat_view),
        }
    }

    /// The local ports whose TCP sockets the kernel is asked about: the listeners' (their waiting
    /// and half-open connections) and the closed sockets' (tuples the kernel still holds). The
    /// lab's other sockets need no walk: their queues come from `ioctl`s.
    fn kernel_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .table
            .values()
            .filter(|entry| entry.role == Role::Listener && entry.proto == Some(Proto::Tcp))
            .filter_map(|entry| entry.local.map(|local| local.port()))
            .chain(self.prober.closed.iter().map(|closed| closed.local.port()))
            .filter(|port| *port != 0)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// Whether nothing the last snapshot showed can have changed: no command or socket event
    /// since, and a quick look (the descriptor count, `TCP_INFO` of the sockets whose state can
    /// change by themselves, a kernel-filtered dump of the sockets on the lab's ports that no
    /// descriptor holds, the overflow counters) finds what it found then. Costs a few syscalls
    /// whatever the size of the lab, where a snapshot of 10,000 sockets costs ~40 ms.
    pub fn unchanged_since_snapshot(&mut self) -> bool {
        let Some(last) = self.prober.last_look.take() else {
            return false;
        };
        let fd_count = fd_table::own_count();
        let mut tcp = Vec::new();
        let mut waiting = false;
        for token in &self.prober.unsettled {
            let Some(entry) = self.table.get(*token) else {
                continue;
            };
            let Ok(info) = sys::tcp_info(entry.handle.fd()) else {
                continue;
            };
            if entry.role == Role::Listener {
                waiting |= info.unacked > 0;
            }
            tcp.push((entry.handle.raw_fd(), QuickTcp::of(&info)));
        }
        let kernel = if self.capture.raw_fd().is_some() {
            // Every change on the lab's ports (a SYN from outside, a FIN to a waiting connection)
            // is a segment, and segments wake the loop: only the kernel's timers run out in
            // silence. A walk would cost the whole machine's sockets (the kernel skips the others
            // one by one, even in a namespace of our own), every look.
            if self
                .prober
                .kernel_due
                .is_some_and(|due| Instant::now() >= due)
            {
                return false;
            }
            last.kernel.clone()
        } else {
            self.prober.quick_kernel(&last.ports, waiting)
        };
        let counters = netstat::read_listen_counters().unwrap_or(last.counters);
        let now = QuickLook {
            fd_count,
            ports: last.ports.clone(),
            tcp,
            kernel,
            counters,
        };
        let unchanged = now == last;
        if unchanged {
            self.prober.last_look = Some(last);
        }
        unchanged
    }

    /// Every owned socket with its kernel state, the listeners with their queues, and what a quick
    /// look compares of the sockets whose state can change by themselves.
    fn owned_sockets(
        &mut self,
        at_ms: u64,
        inode_by_fd: &HashMap<RawFd, u64>,
        tcp: &[DiagSocket],
        udp: &[DiagSocket],
    ) -> (Vec<SocketInfo>, Vec<ListenerInfo>, Vec<(RawFd, QuickTcp)>) {
        let diag_by_inode: HashMap<u64, &DiagSocket> = tcp
            .iter()
            .chain(udp.iter())
            .filter(|socket| socket.inode != 0)
            .map(|socket| (socket.inode, socket))
            .collect();

        let mut sockets = Vec::new();
        let mut listeners = Vec::new();
        let mut quick = Vec::new();
        self.prober.unsettled.clear();
        for entry in self.table.values_mut() {
            if !entry.is_socket() {
                continue;
            }
            let probed = probe_entry(entry);
            entry.observe_state(probed.state, at_ms);
            let fd = entry.handle.raw_fd();
            let inode = inode_by_fd.get(&fd).copied().unwrap_or(0);
            let (recv_q, send_q) = if entry.role == Role::Listener {
                (probed.unacked, probed.sacked)
            } else if let Some(diag) = diag_by_inode.get(&inode) {
                (diag.recv_q, diag.send_q)
            } else {
                let (recv_q, send_q) = sys::queued_bytes(entry.handle.fd()).unwrap_or_default();
                // In SYN_SENT the unacknowledged sequence space is the SYN's one number: sock_diag
                // (and so `ss`) says 1, SIOCOUTQ says 0 for any socket still handshaking.
                let handshaking = probed.state == TcpState::SynSent && probed.unacked > 0;
                (recv_q, if handshaking { send_q.max(1) } else { send_q })
            };
            if entry.role == Role::Listener {
                listeners.push(listener_info(entry, &probed, tcp));
            }
            if let Some(look) = probed.quick {
                // Only a segment (which wakes the poll) or a command moves these.
                let settled = entry.role != Role::Listener
                    && matches!(probed.state, TcpState::Established | TcpState::CloseWait)
                    && send_q == 0;
                if !settled {
                    self.prober.unsettled.push(entry.token());
                    quick.push((fd, look));
                }
            }
            sockets.push(SocketInfo {
                name: entry.name().to_owned(),
                fd,
                proto: entry.proto.unwrap_or(Proto::Tcp),
                role: entry.role,
                local: entry.local,
                remote: entry.remote,
                state: probed.state,
                recv_q,
                send_q,
                bytes_sent: entry.bytes_sent,
                bytes_received: entry.bytes_received,
                inode,
                age_ms: entry.created.elapsed().as_millis() as u64,
                history: entry.history.clone(),
                forwarder: entry.forwarder.clone(),
                tcp: probed.counters.map(|counters| TcpCounters {
                    sampled_history: entry.history.clone(),
                    ..counters
                }),
                host: entry.host,
            });
        }

        (sockets, listeners, quick)
    }

    /// Closed 4-tuples the kernel still holds; forgets those it no longer has.
    fn kernel_only(&mut self, tcp: &[DiagSocket]) -> Vec<KernelOnly> {
        let mut found = Vec::new();
        self.prober.closed.retain(|closed| {
            let held = tcp.iter().find(|socket| {
                socket.inode == 0 && socket.local == closed.local && socket.remote == closed.remote
            });
            if let Some(socket) = held {
                found.push(KernelOnly {
                    local: socket.local,
                    remote: socket.remote,
                    state: socket.state,
                    was: Some(closed.name.clone()),
                    timer_ms: socket.timer_ms,
                });
            }
            held.is_some()
        });
        found
    }

    fn fd_entries(&mut self, links: &[FdLink]) -> Vec<FdEntry> {
        let fd_by_name: HashMap<&str, RawFd> = self
            .table
            .values()
            .map(|entry| (entry.name(), entry.handle.raw_fd()))
            .collect();
        let known: HashMap<RawFd, Known> = self
            .table
            .values()
            .map(|entry| {
                let mut known = Known {
                    name: entry.name().to_owned(),
                    ..Known::default()
                };
                if let Handle::Ipc(ipc) = &entry.handle {
                    known.address = ipc.handle.local_name();
                    // The kernel's word first (getpeername); for an unnamed end, the lab's own.
                    known.peer = ipc.handle.peer_name().or_else(|| {
                        let partner = ipc.partner.as_deref()?;
                        let fd = fd_by_name.get(partner)?;
                        Some(format!("fd {fd}"))
                    });
                }
                (entry.handle.raw_fd(), known)
            })
            .collect();
        fd_rows::rows(links, &mut self.fd_labels, &known, Prober::own_fd_name)
    }
}

fn listener_info(entry: &Entry, probed: &Probed, tcp: &[DiagSocket]) -> ListenerInfo {
    let mut waiting = Vec::new();
    let mut half_open = Vec::new();
    if let Some(local) = entry.local {
        for socket in tcp {
            if socket.inode != 0 || !belongs_to(local, socket.local) {
                continue;
            }
            match socket.state {
                // Completed handshakes nobody has accepted yet (a peer may already have closed).
                TcpState::Established | TcpState::CloseWait => waiting.push(Waiting {
                    peer: socket.remote,
                    state: socket.state,
                }),
                TcpState::SynRecv | TcpState::NewSynRecv => half_open.push(Waiting {
                    peer: socket.remote,
                    state: socket.state,
                }),
                _ => {}
            }
        }
    }
    waiting.sort_by_key(|waiting| waiting.peer);
    half_open.sort_by_key(|waiting| waiting.peer);
    ListenerInfo {
        name: entry.name().to_owned(),
        local: entry.local,
        backlog: probed.sacked,
        backlog_requested: entry.backlog_requested,
        accept_queue: probed.unacked,
        syn_queue: half_open.len() as u32,
        waiting,
        half_open,
        auto_accept: entry.auto_accept,
    }
}

/// Replaces a TCP socket's sampled history with the one its connection's segments tell, when the
/// capture saw the connection open, and compares the state they imply with `TCP_INFO`'s.
///
/// The side that opened the connection starts with the `CLOSE` its `socket()` call created (the
/// first sampled state); an accepted socket starts at the `SYN_RECV` its listener's SYN-ACK entered.
fn history_from_segments(socket: &mut SocketInfo, histories: &SideHistories) {
    let Some(counters) = socket.tcp.as_mut() else {
        return;
    };
    let (Some(local), Some(remote)) = (socket.local, socket.remote) else {
        return;
    };
    let Some(side) = histories.get(&(local, remote)) else {
        return;
    };
    let Some((implied, cause)) = side.last() else {
        return;
    };
    let created = counters
        .sampled_history
        .first()
        .filter(|first| side.opener && first.state == TcpState::Close)
        .cloned();
    socket.history = created
        .into_iter()
        .chain(side.changes.iter().map(|(change, _)| change.clone()))
        .collect();
    counters.history_source = HistorySource::Segments;
    counters.state_from_segments = Some(implied);
    counters.state_from_segments_cause = Some(cause);
    counters.disagreement = !ladder::states_agree(implied, socket.state);
}

/// The segment-derived history of each tuple only the kernel still holds, checked against the
/// state `sock_diag` reports for it.
fn kernel_only_histories(held: &[KernelOnly], histories: &SideHistories) -> Vec<KernelOnlyHistory> {
    held.iter()
        .filter_map(|held| {
            let side = histories.get(&(held.local, held.remote))?;
            let (implied, cause) = side.last()?;
            Some(KernelOnlyHistory {
                local: held.local,
                remote: held.remote,
                history: side
                    .changes
                    .iter()
                    .map(|(change, _)| change.clone())
                    .collect(),
                state_from_segments: implied,
                state_from_segments_cause: cause,
                disagreement: !ladder::states_agree(implied, held.state),
            })
        })
        .collect()
}

/// The ports the lab's sockets have bound, for the port map.
fn ports_in_use(sockets: &[SocketInfo]) -> Vec<PortUse> {
    sockets
        .iter()
        .filter_map(|socket| {
            socket.local.map(|local| PortUse {
                port: local.port(),
                proto: socket.proto,
                name: socket.name.clone(),
            })
        })
        .filter(|port| port.port != 0)
        .collect()
}
