//! Builds the snapshot: asks the kernel what the lab's sockets are, never assumes.

use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::kernel::sock_diag::{ALL_STATES, DiagSocket, SockDiag};
use crate::kernel::{internal_fds, netstat, sysctl};
use crate::model::{Ports, Proto};

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
}

/// A `sock_diag` walk covers every socket on the machine, not just the lab's: on a machine holding
/// 100k sockets one walk costs ~65 ms. Walks are spaced so they take at most 1/`DUMP_BUDGET` of
/// the time; on a quiet machine (~1 ms a walk) that is every probe.
const DUMP_BUDGET: u32 = 50;

pub(super) struct CachedDump {
    pub(super) tcp: Vec<DiagSocket>,
    pub(super) udp: Vec<DiagSocket>,
    pub(super) taken: Instant,
    pub(super) cost: Duration,
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
        }
    }

    /// Something the lab did may have changed the kernel's tables: dump afresh next time.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The TCP and UDP dumps, reusing the last ones while a new walk would exceed the budget.
    pub(super) fn dumps(&mut self, tcp: bool, udp: bool, errors: &mut Vec<String>) -> &CachedDump {
        let due = self.stale
            || self
                .cached
                .as_ref()
                .is_none_or(|cached| cached.taken.elapsed() >= cached.cost * DUMP_BUDGET);
        if due {
            let started = Instant::now();
            let tcp = if tcp {
                self.dump(Proto::Tcp, errors)
            } else {
                Vec::new()
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
            });
            self.stale = false;
        }
        self.cached.as_ref().expect("filled above")
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
        let Some(diag) = self.diag.as_mut() else {
            errors.extend(self.diag_error.clone());
            return Vec::new();
        };
        let mut sockets = Vec::new();
        for diag in std::iter::once(diag).chain(self.diag_b.as_mut()) {
            for v6 in [false, true] {
                if v6 && !self.seen_v6 {
                    continue;
                }
                match diag.dump(proto, v6, ALL_STATES) {
                    Ok(found) => sockets.extend(found),
                    Err(error) => errors.push(format!("sock_diag {}: {error}", proto.name())),
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
