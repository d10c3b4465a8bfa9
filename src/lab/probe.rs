//! Builds the snapshot: asks the kernel what the lab's sockets are, never assumes.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::kernel::sock_diag::{
    self, ALL_STATES, DiagSocket, MAX_FILTER_PORTS, NEW_SYN_RECV, SockDiag,
};
use crate::kernel::{internal_fds, netstat, sys, sysctl};
use crate::model::{Ports, Proto, TcpState};

/// A 4-tuple the lab closed; the kernel may keep it a while (`TIME_WAIT`, `FIN_WAIT2`, `LAST_ACK`).
#[derive(Debug, Clone)]
pub(super) struct Closed {
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) name: String,
}

/// The kernel-facing half of the lab: the `sock_diag` socket and what it remembers between probes.
pub struct Prober {
    pub(super) diag: Option<SockDiag>,
    /// `--net wire`: a second `sock_diag` socket, made on host `b` (a dump covers only the
    /// namespace its socket was made in; `diag` is on `a`, where the lab runs).
    pub(super) diag_b: Option<SockDiag>,
    pub(super) diag_error: Option<String>,
    pub(super) ports: Ports,
    pub(super) counters_at_start: (u64, u64),
    pub(super) closed: Vec<Closed>,
    /// Families the lab has used, so the dump walks only those.
    pub(super) seen_v6: bool,
    /// The last machine-wide dumps (TCP, UDP), when they were taken and what they cost.
    pub(super) cached: Option<CachedDump>,
    /// The lab acted since the last dump: the next snapshot dumps again, whatever the cost.
    pub(super) stale: bool,
    /// The TCP sockets whose state or queues can change without an event on them, as of the last
    /// snapshot: every one but those `ESTABLISHED` or `CLOSE_WAIT` with nothing unacknowledged,
    /// which only a segment (it wakes the poll) or a command moves. The quick look reads only these.
    pub(super) unsettled: Vec<mio::Token>,
    /// The quick look taken with the last snapshot, or `None` when the lab acted since.
    pub(super) last_look: Option<QuickLook>,
    /// When the first timer of a tuple only the kernel holds (`TIME_WAIT`, orphaned `FIN_WAIT2`)
    /// runs out, as of the last snapshot: with a capture, the one change on the lab's ports that
    /// sends no segment.
    pub(super) kernel_due: Option<Instant>,
}

/// A `sock_diag` walk of the machine costs every socket on it (~65 ms with 100k sockets), so the
/// lab asks the kernel only for the ports it has listeners or closed tuples on
/// ([`SockDiag::dump_ports_each`]): its own sockets' queues come from `ioctl`s instead. With more
/// ports than one filter holds, walks are spaced so they take at most 1/`DUMP_BUDGET` of the time.
const DUMP_BUDGET: u32 = 50;

/// States a listener's waiting connections are in: completed (in the accept queue, perhaps already
/// closed by the peer) and half-open.
const WAITING_STATES: u32 = state_bits(&[
    TcpState::Established,
    TcpState::CloseWait,
    TcpState::SynRecv,
]);
/// States a closed socket's tuple lingers in.
const CLOSING_STATES: u32 = state_bits(&[
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::TimeWait,
    TcpState::Closing,
    TcpState::LastAck,
    TcpState::Close,
]);

const fn state_bits(states: &[TcpState]) -> u32 {
    let mut bits = 0;
    let mut index = 0;
    while index < states.len() {
        bits |= match states[index] {
            TcpState::Established => 1 << 1,
            TcpState::SynRecv => (1 << 3) | NEW_SYN_RECV,
            TcpState::FinWait1 => 1 << 4,
            TcpState::FinWait2 => 1 << 5,
            TcpState::TimeWait => 1 << 6,
            TcpState::Close => 1 << 7,
            TcpState::CloseWait => 1 << 8,
            TcpState::LastAck => 1 << 9,
            TcpState::Closing => 1 << 11,
            _ => 0,
        };
        index += 1;
    }
    bits
}

pub(super) struct CachedDump {
    pub(super) tcp: Vec<DiagSocket>,
    pub(super) udp: Vec<DiagSocket>,
    pub(super) taken: Instant,
    pub(super) cost: Duration,
    /// The ports the TCP dump was filtered on (`None`: the whole machine).
    pub(super) ports: Option<Vec<u16>>,
}

/// What the quick look of an idle lab compares: everything that can change what is shown without
/// a command or a socket event.
#[derive(Debug, Default, PartialEq)]
pub(super) struct QuickLook {
    /// `stat("/proc/self/fd").st_size`: the descriptor count (Linux 6.2+; 0 before).
    pub(super) fd_count: u64,
    /// The lab's listener and closed-socket ports, as the snapshot asked about them.
    pub(super) ports: Vec<u16>,
    /// `TCP_INFO` of each socket whose state can change by itself, and of each listener.
    pub(super) tcp: Vec<(RawFd, QuickTcp)>,
    /// Sockets on the lab's ports that no descriptor refers to (waiting, half-open, closed), with
    /// their timers in whole seconds (what the screen shows).
    pub(super) kernel: Vec<(SocketAddr, SocketAddr, TcpState, Option<u64>)>,
    pub(super) counters: (u64, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QuickTcp {
    pub(super) state: u8,
    pub(super) unacked: u32,
    pub(super) sacked: u32,
    pub(super) segs_out: u32,
    pub(super) segs_in: u32,
    pub(super) retransmits: u32,
}

/// The `kernel` part of a [`QuickLook`] from a snapshot's dump (as [`Prober::quick_kernel`] reads
/// it from a dump of its own).
pub(super) fn quick_kernel_of(
    tcp: &[DiagSocket],
    waiting: bool,
) -> Vec<(SocketAddr, SocketAddr, TcpState, Option<u64>)> {
    let mut states = CLOSING_STATES | state_bits(&[TcpState::SynRecv]);
    if waiting {
        states |= WAITING_STATES;
    }
    let mut found: Vec<_> = tcp
        .iter()
        .filter(|socket| socket.inode == 0 && sock_diag::state_bit(socket.state) & states != 0)
        .map(|socket| {
            (
                socket.local,
                socket.remote,
                socket.state,
                socket.timer_ms.map(|ms| ms / 1000),
            )
        })
        .collect();
    found.sort_unstable_by_key(|(local, remote, _, _)| (*local, *remote));
    found
}

impl QuickTcp {
    pub(super) fn of(info: &sys::TcpInfo) -> Self {
        Self {
            state: info.state,
            unacked: info.unacked,
            sacked: info.sacked,
            segs_out: info.segs_out,
            segs_in: info.segs_in,
            retransmits: info.total_retrans,
        }
    }
}

impl Prober {
    pub fn new(wire: Option<&'static crate::net::wire::hosts::WireHosts>) -> Self {
        let (diag, mut diag_error) = match SockDiag::new() {
            Ok(diag) => {
                internal_fds::name(diag.raw_fd(), "sock_diag");
                (Some(diag), None)
            }
            Err(error) => (None, Some(format!("sock_diag: {error}"))),
        };
        let diag_b =
            wire.and_then(
                |hosts| match hosts.on_host(crate::model::WireHost::B, SockDiag::new) {
                    Ok(Ok(diag)) => {
                        internal_fds::name(diag.raw_fd(), "sock_diag-b");
                        Some(diag)
                    }
                    Ok(Err(error)) | Err(error) => {
                        diag_error = Some(format!("sock_diag on host b: {error}"));
                        None
                    }
                },
            );
        Self {
            diag,
            diag_b,
            diag_error,
            ports: sysctl::read_ports(),
            counters_at_start: netstat::read_listen_counters().unwrap_or_default(),
            closed: Vec::new(),
            seen_v6: false,
            cached: None,
            stale: true,
            unsettled: Vec::new(),
            last_look: None,
            kernel_due: None,
        }
    }

    /// Something the lab did may have changed the kernel's tables: dump afresh next time.
    pub fn mark_stale(&mut self) {
        self.stale = true;
        self.last_look = None;
    }

    /// The TCP dump (the sockets on `ports`, or, with too many ports, the machine's) and the UDP
    /// dump, reusing the last ones while a new machine walk would exceed the budget.
    pub(super) fn dumps(
        &mut self,
        ports: &[u16],
        udp: bool,
        errors: &mut Vec<String>,
    ) -> &CachedDump {
        let filtered = ports.len() <= MAX_FILTER_PORTS;
        let due = self.stale
            || self.cached.as_ref().is_none_or(|cached| {
                filtered
                    || cached.ports.is_some()
                    || cached.taken.elapsed() >= cached.cost * DUMP_BUDGET
            });
        if due {
            let started = Instant::now();
            let tcp = if filtered {
                self.dump_ports(ports, ALL_STATES, errors)
            } else {
                self.dump(Proto::Tcp, errors)
            };
            let udp = if udp {
                self.dump(Proto::Udp, errors)
            } else {
                Vec::new()
            };
            self.cached = Some(CachedDump {
                tcp,
                udp,
                taken: Instant::now(),
                cost: started.elapsed(),
                ports: filtered.then(|| ports.to_vec()),
            });
            self.stale = false;
        }
        self.cached.as_ref().expect("filled above")
    }

    /// The TCP sockets on `ports` in `states` (both families the lab uses), filtered by the kernel.
    pub(super) fn dump_ports(
        &mut self,
        ports: &[u16],
        states: u32,
        errors: &mut Vec<String>,
    ) -> Vec<DiagSocket> {
        self.ask_each(Proto::Tcp, errors, |diag, v6, sockets| {
            diag.dump_ports_each(Proto::Tcp, v6, states, ports, |socket| {
                sockets.push(socket);
            })
            .map(|_count| ())
        })
    }

    /// The sockets a quick look compares: on the lab's `ports`, without a descriptor, in the
    /// states that matter (`waiting`: some listener has connections in its accept queue).
    pub(super) fn quick_kernel(
        &mut self,
        ports: &[u16],
        waiting: bool,
    ) -> Vec<(SocketAddr, SocketAddr, TcpState, Option<u64>)> {
        if ports.is_empty() {
            return Vec::new();
        }
        let mut states = CLOSING_STATES | state_bits(&[TcpState::SynRecv]);
        if waiting {
            states |= WAITING_STATES;
        }
        let mut errors = Vec::new();
        let sockets = if ports.len() <= MAX_FILTER_PORTS {
            self.dump_ports(ports, states, &mut errors)
        } else {
            // Too many ports for one filter: the cached walk stands in (refreshed on its budget).
            self.cached
                .as_ref()
                .map(|cached| cached.tcp.clone())
                .unwrap_or_default()
        };
        quick_kernel_of(&sockets, waiting)
    }

    /// What sockscope itself uses a descriptor for, or what it is by convention.
    pub(super) fn own_fd_name(fd: RawFd) -> Option<&'static str> {
        internal_fds::purpose_of(fd).or_else(|| standard_stream(fd))
    }

    /// Forgets the tuples of closed sockets (a reset lab no longer claims them).
    /// Counts overflows from now on: a reset lab starts its "since start" deltas again.
    pub fn restart_counters(&mut self) {
        self.counters_at_start = netstat::read_listen_counters().unwrap_or_default();
    }

    pub fn forget_closed(&mut self) {
        self.closed.clear();
    }

    pub fn remember_closed(&mut self, local: SocketAddr, remote: SocketAddr, name: &str) {
        // A v6 connection may linger in TIME_WAIT after its socket is gone: walk v6 from now on,
        // even if no snapshot saw the socket while it was open.
        self.seen_v6 |= local.is_ipv6();
        self.closed.push(Closed {
            local,
            remote,
            name: name.to_owned(),
        });
    }

    pub(super) fn dump(&mut self, proto: Proto, errors: &mut Vec<String>) -> Vec<DiagSocket> {
        self.ask_each(proto, errors, |diag, v6, sockets| {
            diag.dump(proto, v6, ALL_STATES)
                .map(|found| sockets.extend(found))
        })
    }

    /// Asks every `sock_diag` socket the lab reads, for each family it has seen, with `ask`
    /// (which adds what it finds); a failed ask is said in `errors` and the others go on.
    fn ask_each(
        &mut self,
        proto: Proto,
        errors: &mut Vec<String>,
        mut ask: impl FnMut(&mut SockDiag, bool, &mut Vec<DiagSocket>) -> std::io::Result<()>,
    ) -> Vec<DiagSocket> {
        let Some(diag) = self.diag.as_mut() else {
            errors.extend(self.diag_error.clone());
            return Vec::new();
        };
        let mut sockets = Vec::new();
        // On the wire, host b's sockets are only in host b's namespace: ask both.
        for diag in std::iter::once(diag).chain(self.diag_b.as_mut()) {
            for v6 in [false, true] {
                if v6 && !self.seen_v6 {
                    continue;
                }
                if let Err(error) = ask(diag, v6, &mut sockets) {
                    errors.push(format!("sock_diag {}: {error}", proto.name()));
                }
            }
        }
        sockets
    }
}

/// The names every process's first three descriptors have by convention.
fn standard_stream(fd: RawFd) -> Option<&'static str> {
    match fd {
        0 => Some("stdin"),
        1 => Some("stdout"),
        2 => Some("stderr"),
        _ => None,
    }
}
