//! [`SystemCollector`]: one `sock_diag` socket and one owner cache, kept for repeated collections.

use std::collections::HashMap;

use foldhash::HashSet;
use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::kernel::activity::Activity;
use crate::kernel::owners::{OwnerCache, ScanStats, Scope};
use crate::kernel::sock_diag::{DiagSocket, SockDiag};
use crate::model::{Proto, TcpState};

use super::{Filter, ListenerQueue, OwnersSummary, SystemSnapshot, SystemSocket, Timings};

/// A socket whose owner the cache cannot place makes the next refresh read every process again,
/// at most this often (a process that closed one socket and opened another keeps its descriptor
/// count, so the cheap refresh misses it).
const FULL_RESCAN_EVERY: Duration = Duration::from_secs(2);

/// Collects [`SystemSnapshot`]s. Keep one for a live view: the owner cache makes later collections
/// read only the processes whose descriptor tables changed. `Send`, so it can live on a worker
/// thread.
pub struct SystemCollector {
    diag: SockDiag,
    owners: OwnerCache,
    /// Inodes that had no known owner after the last collection (other users' processes, another
    /// PID namespace): not a reason to rescan again.
    unplaced: HashSet<u64>,
    last_full_scan: Option<Instant>,
    privileged: bool,
    /// For [`SystemCollector::refresh`].
    last_walk: Option<LastWalk>,
}

impl SystemCollector {
    /// Opens the `NETLINK_SOCK_DIAG` socket.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            diag: SockDiag::new()?,
            owners: OwnerCache::new(),
            unplaced: HashSet::default(),
            last_full_scan: None,
            privileged: rustix::process::geteuid().is_root(),
            last_walk: None,
        })
    }

    /// Like [`SystemCollector::new`], scanning `/proc` with `threads` threads.
    pub fn with_threads(threads: usize) -> io::Result<Self> {
        let mut collector = Self::new()?;
        collector.owners = OwnerCache::with_threads(threads);
        Ok(collector)
    }

    /// Every TCP and UDP socket of the machine that `filter` keeps; with `owners` (or a `--pid`
    /// filter), the process holding each. The `/proc` scan runs while the kernel dumps.
    pub fn collect(&mut self, owners: bool, filter: &Filter) -> SystemSnapshot {
        let start = Instant::now();
        let scope = filter.pid.map_or(Scope::All, Scope::Pid);
        let look_up = owners || filter.pid.is_some();
        let state_bits = filter.state_bits();
        let diag = &mut self.diag;
        let cache = &mut self.owners;
        let (((dumped, errors), diag_time), scan) = if look_up {
            thread::scope(|scope_| {
                let dump = scope_.spawn(move || timed(|| dump_all(diag, state_bits, filter)));
                // A single process is always read in full: it is cheap, and exact.
                let scan = timed(|| cache.refresh(scope, scope != Scope::All));
                (
                    dump.join().expect("the sock_diag thread panicked"),
                    Some(scan),
                )
            })
        } else {
            (timed(|| dump_all(diag, state_bits, filter)), None)
        };

        let mut summary = OwnersSummary {
            looked_up: look_up,
            privileged: self.privileged,
            ..OwnersSummary::default()
        };
        let mut sockets = self.join(dumped, look_up, filter);
        let mut owners_time = Duration::ZERO;
        if let Some((mut stats, elapsed)) = scan {
            owners_time = elapsed;
            if scope == Scope::All {
                let scan_start = Instant::now();
                stats = self.place_the_unplaced(&mut sockets, stats);
                owners_time += scan_start.elapsed();
            }
            summary.processes = stats.processes;
            summary.rescanned = stats.rescanned;
            summary.fds_read = stats.fds_read;
            summary.unreadable_processes = stats.unreadable;
        }
        if look_up && filter.pid.is_none() {
            summary.unknown = sockets
                .iter()
                .filter(|socket| socket.inode != 0 && socket.pid.is_none())
                .count();
        }
        let mut snapshot = summarize(sockets);
        snapshot.owners = summary;
        snapshot.errors = errors;
        snapshot.timings = Timings {
            total: start.elapsed(),
            sock_diag: diag_time,
            owners: owners_time,
        };
        snapshot
    }

    /// For a live view: a new [`SystemSnapshot`] when something may have changed since the last
    /// one, else [`Refresh::Unchanged`] at the cost of reading the kernel's counters and looking
    /// at each process's descriptor count. Something may have changed when a TCP/UDP counter
    /// moved ([`Activity`]), an owner changed, or `walk_every` passed since the last walk (what
    /// changes without a counter: see [`crate::kernel::activity`]).
    pub fn refresh(&mut self, owners: bool, filter: &Filter, walk_every: Duration) -> Refresh {
        let start = Instant::now();
        // Read before the walk: a change during the walk moves the counters past this reading,
        // so the next refresh walks again.
        let activity = Activity::read().ok();
        let look_up = owners || filter.pid.is_some();
        let generation = if look_up {
            let scope = filter.pid.map_or(Scope::All, Scope::Pid);
            self.owners.refresh(scope, false);
            Some(self.owners.generation())
        } else {
            None
        };
        if let Some(last) = &self.last_walk
            && activity.is_some()
            && activity == last.activity
            && generation == last.generation
            && last.at.elapsed() < walk_every
        {
            return Refresh::Unchanged {
                checked_in: start.elapsed(),
                walked: last.at,
            };
        }
        let snapshot = self.collect(owners, filter);
        self.last_walk = Some(LastWalk {
            at: Instant::now(),
            activity,
            // After the walk's own scan: the owners it joined.
            generation: look_up.then(|| self.owners.generation()),
        });
        Refresh::New(snapshot)
    }

    /// After a cheap refresh, sockets whose owner is unknown and were not unknown last time may sit
    /// in a process whose descriptor count did not change: read every process again (rate-limited).
    /// Only the unplaced sockets are looked up again.
    fn place_the_unplaced(
        &mut self,
        sockets: &mut [SystemSocket],
        mut stats: ScanStats,
    ) -> ScanStats {
        let mut unplaced: Vec<usize> = sockets
            .iter()
            .enumerate()
            .filter(|(_, socket)| socket.inode != 0 && socket.pid.is_none())
            .map(|(index, _)| index)
            .collect();
        let has_news = |unplaced: &[usize], sockets: &[SystemSocket], known: &HashSet<u64>| {
            unplaced
                .iter()
                .any(|&index| !known.contains(&sockets[index].inode))
        };
        if has_news(&unplaced, sockets, &self.unplaced) {
            // Sockets opened while the scan ran are in processes whose descriptor count changed
            // since: a cheap second look finds them.
            let quick = self.owners.refresh(Scope::All, false);
            stats.rescanned += quick.rescanned;
            stats.fds_read += quick.fds_read;
            stats.unreadable = quick.unreadable;
            unplaced = self.place(sockets, &unplaced);
        }
        let due = self
            .last_full_scan
            .is_none_or(|at| at.elapsed() >= FULL_RESCAN_EVERY);
        if !stats.complete && due && has_news(&unplaced, sockets, &self.unplaced) {
            let full = self.owners.refresh(Scope::All, true);
            stats = ScanStats {
                rescanned: stats.rescanned + full.rescanned,
                fds_read: stats.fds_read + full.fds_read,
                ..full
            };
            unplaced = self.place(sockets, &unplaced);
        }
        if stats.complete {
            self.last_full_scan = Some(Instant::now());
        }
        self.unplaced = unplaced.iter().map(|&index| sockets[index].inode).collect();
        stats
    }

    /// Looks up the owners of `sockets[unplaced]` again; returns those still without one.
    fn place(&self, sockets: &mut [SystemSocket], unplaced: &[usize]) -> Vec<usize> {
        unplaced
            .iter()
            .copied()
            .filter(|&index| {
                let socket = &mut sockets[index];
                match self.owners.owner(socket.inode) {
                    Some(owner) => {
                        socket.pid = Some(owner.pid);
                        socket.fd = Some(owner.fd);
                        socket.process = Some(owner.comm);
                        false
                    }
                    None => true,
                }
            })
            .collect()
    }

    fn join(&self, dumped: Vec<DiagSocket>, look_up: bool, filter: &Filter) -> Vec<SystemSocket> {
        let mut sockets = Vec::with_capacity(dumped.len());
        for diag in dumped {
            let owner = if look_up && diag.inode != 0 {
                self.owners.owner(diag.inode)
            } else {
                None
            };
            if let Some(pid) = filter.pid
                && owner.as_ref().is_none_or(|owner| owner.pid != pid)
            {
                continue;
            }
            let (pid, fd, process) = match owner {
                Some(owner) => (Some(owner.pid), Some(owner.fd), Some(owner.comm)),
                None => (None, None, None),
            };
            sockets.push(SystemSocket {
                proto: diag.proto,
                state: diag.state,
                local: diag.local,
                remote: peer(diag.remote),
                recv_q: diag.recv_q,
                send_q: diag.send_q,
                inode: diag.inode,
                uid: diag.uid,
                timer_ms: diag.timer_ms,
                pid,
                fd,
                process,
            });
        }
        sockets
    }
}

/// What [`SystemCollector::refresh`] found.
#[derive(Debug)]
pub enum Refresh {
    /// Something may have changed: the sockets now.
    New(SystemSnapshot),
    /// Nothing that the last snapshot shows can have changed (see [`SystemCollector::refresh`]).
    Unchanged {
        /// What finding that out cost.
        checked_in: Duration,
        /// When the last snapshot was walked.
        walked: Instant,
    },
}

/// The counters and owners the last walk of a live view saw.
#[derive(Debug)]
struct LastWalk {
    at: Instant,
    activity: Option<Activity>,
    generation: Option<u64>,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// The four dumps, keeping the sockets the port/state part of `filter` matches.
fn dump_all(diag: &mut SockDiag, states: u32, filter: &Filter) -> (Vec<DiagSocket>, Vec<String>) {
    let mut sockets = Vec::new();
    let mut errors = Vec::new();
    for (proto, v6) in [
        (Proto::Tcp, false),
        (Proto::Tcp, true),
        (Proto::Udp, false),
        (Proto::Udp, true),
    ] {
        let result = diag.dump_each(proto, v6, states, |socket| {
            if port_matches(filter, &socket) {
                sockets.push(socket);
            }
        });
        if let Err(err) = result {
            let family = if v6 { "6" } else { "" };
            errors.push(format!("{}{family}: {err}", proto.name()));
        }
    }
    (sockets, errors)
}

fn port_matches(filter: &Filter, socket: &DiagSocket) -> bool {
    filter
        .port
        .is_none_or(|port| socket.local.port() == port || socket.remote.port() == port)
}

/// `0.0.0.0:0` / `[::]:0` mean no peer.
fn peer(remote: SocketAddr) -> Option<SocketAddr> {
    (remote.port() != 0 || !remote.ip().is_unspecified()).then_some(remote)
}

/// Counts and the listeners' queues.
fn summarize(sockets: Vec<SystemSocket>) -> SystemSnapshot {
    let mut snapshot = SystemSnapshot::default();
    // Listeners by port, to give each its half-open connections.
    let mut by_port: HashMap<u16, Vec<usize>> = HashMap::new();
    for socket in &sockets {
        let states = match socket.proto {
            Proto::Tcp => &mut snapshot.tcp_states,
            Proto::Udp => &mut snapshot.udp_states,
        };
        *states.entry(socket.state).or_insert(0) += 1;
        if socket.proto == Proto::Tcp && socket.state == TcpState::Listen {
            by_port
                .entry(socket.local.port())
                .or_default()
                .push(snapshot.listeners.len());
            snapshot.listeners.push(ListenerQueue {
                local: socket.local,
                inode: socket.inode,
                accept_queue: socket.recv_q,
                limit: socket.send_q,
                syn_recv: 0,
                pid: socket.pid,
                process: socket.process.clone(),
            });
        }
    }
    for socket in &sockets {
        if socket.proto != Proto::Tcp
            || !matches!(socket.state, TcpState::SynRecv | TcpState::NewSynRecv)
        {
            continue;
        }
        let Some(candidates) = by_port.get(&socket.local.port()) else {
            continue;
        };
        // The listener bound to this exact address, else a wildcard one of the same family.
        let exact = candidates
            .iter()
            .find(|&&i| snapshot.listeners[i].local.ip() == socket.local.ip());
        let wildcard = || {
            candidates.iter().find(|&&i| {
                let local = snapshot.listeners[i].local;
                local.ip().is_unspecified() && (local.is_ipv6() || socket.local.is_ipv4())
            })
        };
        if let Some(&i) = exact.or_else(wildcard) {
            snapshot.listeners[i].syn_recv += 1;
        }
    }
    snapshot.time_wait = snapshot
        .tcp_states
        .get(&TcpState::TimeWait)
        .copied()
        .unwrap_or(0);
    snapshot.sockets = sockets;
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn the_collector_is_send() {
        fn send<T: Send>() {}
        send::<SystemCollector>();
        send::<SystemSnapshot>();
    }

    #[test]
    fn our_listener_appears_with_its_queue_and_owner() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let _client = TcpStream::connect(address).expect("connect");
        let mut collector = SystemCollector::new().expect("sock_diag");
        let filter = Filter {
            port: Some(address.port()),
            ..Filter::default()
        };
        let snapshot = collector.collect(true, &filter);
        let queue = snapshot
            .listeners
            .iter()
            .find(|l| l.local == address)
            .expect("our listener");
        assert_eq!(queue.accept_queue, 1);
        assert_eq!(queue.pid, Some(std::process::id()));
        assert!(snapshot.owners.looked_up);
        // The client end is ours too; the accept-queue end has no descriptor (inode 0).
        let established: Vec<_> = snapshot
            .sockets
            .iter()
            .filter(|s| s.state == TcpState::Established)
            .collect();
        assert_eq!(established.len(), 2);
        assert!(established.iter().any(|s| s.inode == 0 && s.pid.is_none()));
        assert!(
            established
                .iter()
                .any(|s| s.pid == Some(std::process::id()) && s.remote == Some(address))
        );

        let by_pid = collector.collect(
            false,
            &Filter {
                pid: Some(std::process::id()),
                ..filter
            },
        );
        assert_eq!(by_pid.sockets.len(), 2, "the listener and the client");
        let bare = collector.collect(false, &filter);
        assert!(bare.sockets.iter().all(|s| s.pid.is_none()));
        assert!(!bare.owners.looked_up);
    }

    #[test]
    fn half_open_connections_count_for_their_listener() {
        let socket = |local: &str, state| SystemSocket {
            proto: Proto::Tcp,
            state,
            local: local.parse().unwrap(),
            remote: None,
            recv_q: 0,
            send_q: 0,
            inode: 0,
            uid: 0,
            timer_ms: None,
            pid: None,
            fd: None,
            process: None,
        };
        let snapshot = summarize(vec![
            socket("0.0.0.0:80", TcpState::Listen),
            socket("[::]:80", TcpState::Listen),
            socket("127.0.0.1:81", TcpState::Listen),
            socket("10.0.0.1:80", TcpState::NewSynRecv),
            socket("[fe80::1]:80", TcpState::SynRecv),
            socket("127.0.0.1:81", TcpState::SynRecv),
            socket("127.0.0.1:81", TcpState::TimeWait),
        ]);
        let counts: Vec<u32> = snapshot.listeners.iter().map(|l| l.syn_recv).collect();
        assert_eq!(counts, [1, 1, 1]);
        assert_eq!(snapshot.time_wait, 1);
        assert_eq!(snapshot.tcp_states[&TcpState::Listen], 3);
    }
}
