//! The traced program as the kernel sees it: each process's descriptor table from
//! `/proc/PID/fd`, and its sockets from `sock_diag` matched by inode, with the listeners' queues
//! and the connections waiting in them. The same field meanings as the lab's JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use crate::kernel::fd_table;
use crate::kernel::sock_diag::{ALL_STATES, DiagSocket, SockDiag};
use crate::kernel::sys::TcpInfo;
use crate::model::{FdKind, Proto, Role, TcpState, Waiting};

/// One descriptor of one of the program's processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramFd {
    pub pid: i32,
    pub fd: i32,
    pub kind: FdKind,
    /// The `readlink` target: `socket:[123456]`, `pipe:[..]`, `/dev/null`. Escaped.
    pub target: String,
}

/// A TCP or UDP socket the program holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramSocket {
    pub pid: i32,
    pub fd: i32,
    pub proto: Proto,
    pub role: Role,
    pub local: SocketAddr,
    pub remote: Option<SocketAddr>,
    pub state: TcpState,
    pub recv_q: u32,
    pub send_q: u32,
    pub inode: u64,
    /// TCP: the kernel's `struct tcp_info`, from the same `sock_diag` reply (`INET_DIAG_INFO`).
    pub tcp: Option<ProgramTcpInfo>,
}

/// The `struct tcp_info` fields a traced program's TCP socket shows (as `ss -ti` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProgramTcpInfo {
    /// `tcpi_rtt`: smoothed round-trip time in microseconds.
    pub rtt_us: u32,
    /// `tcpi_total_retrans`.
    pub retransmits: u32,
    pub segs_out: u32,
    pub segs_in: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    /// `tcpi_unacked`: segments in flight.
    pub unacked: u32,
}

impl From<TcpInfo> for ProgramTcpInfo {
    fn from(info: TcpInfo) -> Self {
        Self {
            rtt_us: info.rtt_us,
            retransmits: info.total_retrans,
            segs_out: info.segs_out,
            segs_in: info.segs_in,
            bytes_acked: info.bytes_acked,
            bytes_received: info.bytes_received,
            unacked: info.unacked,
        }
    }
}

/// A listening socket of the program and its queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramListener {
    pub pid: i32,
    pub fd: i32,
    pub local: SocketAddr,
    /// What the kernel enforces: `min(backlog asked, somaxconn)`.
    pub backlog: u32,
    /// Completed connections not yet accepted.
    pub accept_queue: u32,
    /// Half-open connections (`SYN_RECV`) for this listener.
    pub syn_queue: u32,
    /// The connections in the accept queue, with their peers.
    pub waiting: Vec<Waiting>,
    pub half_open: Vec<Waiting>,
}

/// The program's descriptors and sockets at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProgramView {
    pub fds: Vec<ProgramFd>,
    pub sockets: Vec<ProgramSocket>,
    pub listeners: Vec<ProgramListener>,
    /// What could not be read (a process that ended meanwhile is not an error).
    pub probe_errors: Vec<String>,
}

/// Whether a listener bound to `listener` takes connections to `local`.
fn serves(listener: SocketAddr, local: SocketAddr) -> bool {
    listener.port() == local.port()
        && (listener.ip() == local.ip()
            || (listener.ip().is_unspecified() && (listener.is_ipv6() || local.is_ipv4())))
}

fn peer(remote: SocketAddr) -> Option<SocketAddr> {
    (remote.port() != 0 || !remote.ip().is_unspecified()).then_some(remote)
}

/// Every TCP and UDP socket of both families, with the TCP sockets' `tcp_info` by inode.
fn dump_all(
    diag: &mut SockDiag,
    probe_errors: &mut Vec<String>,
) -> (Vec<DiagSocket>, HashMap<u64, ProgramTcpInfo>) {
    let mut kernel = Vec::new();
    let mut infos: HashMap<u64, ProgramTcpInfo> = HashMap::new();
    for (proto, v6) in [
        (Proto::Tcp, false),
        (Proto::Tcp, true),
        (Proto::Udp, false),
        (Proto::Udp, true),
    ] {
        let dumped = if proto == Proto::Tcp {
            diag.dump_each_with_info(proto, v6, ALL_STATES, |socket, info| {
                if let Some(info) = info.filter(|_| socket.inode != 0) {
                    infos.insert(socket.inode, ProgramTcpInfo::from(info));
                }
                kernel.push(socket);
            })
        } else {
            diag.dump_each(proto, v6, ALL_STATES, |socket| kernel.push(socket))
        };
        if let Err(error) = dumped {
            probe_errors.push(format!("sock_diag: {error}"));
        }
    }
    (kernel, infos)
}

/// Reads the descriptor tables of `pids` (processes, not threads) and joins their sockets with one
/// `sock_diag` walk.
pub fn read(pids: &[i32], diag: &mut SockDiag) -> ProgramView {
    let mut view = ProgramView::default();
    let (kernel, infos) = dump_all(diag, &mut view.probe_errors);
    let by_inode: HashMap<u64, &DiagSocket> = kernel
        .iter()
        .filter(|socket| socket.inode != 0)
        .map(|socket| (socket.inode, socket))
        .collect();
    for &pid in pids {
        let links = match fd_table::read_fd_dir(Path::new(&format!("/proc/{pid}/fd"))) {
            Ok(links) => links,
            // Ended between the event and now: nothing to show.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                view.probe_errors.push(format!("/proc/{pid}/fd: {error}"));
                continue;
            }
        };
        for link in links {
            if let Some(socket) = link.socket_inode.and_then(|inode| by_inode.get(&inode)) {
                view.sockets.push(ProgramSocket {
                    pid,
                    fd: link.fd,
                    proto: socket.proto,
                    role: Role::Unconnected,
                    local: socket.local,
                    remote: peer(socket.remote),
                    state: socket.state,
                    recv_q: socket.recv_q,
                    send_q: socket.send_q,
                    inode: socket.inode,
                    tcp: infos.get(&socket.inode).copied(),
                });
            }
            view.fds.push(ProgramFd {
                pid,
                fd: link.fd,
                kind: link.kind,
                target: crate::escape::visible(&link.target),
            });
        }
    }
    for socket in &view.sockets {
        if socket.proto != Proto::Tcp || socket.state != TcpState::Listen {
            continue;
        }
        let queued = |wanted: &dyn Fn(TcpState) -> bool| -> Vec<Waiting> {
            kernel
                .iter()
                .filter(|other| {
                    other.proto == Proto::Tcp
                        && other.inode == 0
                        && wanted(other.state)
                        && serves(socket.local, other.local)
                })
                .map(|other| Waiting {
                    peer: other.remote,
                    state: other.state,
                })
                .collect()
        };
        // Connections in the accept queue are full sockets no descriptor points at yet (inode 0);
        // one whose client already closed waits there in CLOSE_WAIT.
        let waiting = queued(&|state| matches!(state, TcpState::Established | TcpState::CloseWait));
        let half_open = queued(&|state| matches!(state, TcpState::SynRecv | TcpState::NewSynRecv));
        view.listeners.push(ProgramListener {
            pid: socket.pid,
            fd: socket.fd,
            local: socket.local,
            backlog: socket.send_q,
            accept_queue: socket.recv_q,
            syn_queue: half_open.len() as u32,
            waiting,
            half_open,
        });
    }
    let listening: Vec<SocketAddr> = view.listeners.iter().map(|l| l.local).collect();
    for socket in &mut view.sockets {
        socket.role = match (socket.proto, socket.state) {
            (Proto::Udp, _) => Role::Datagram,
            (Proto::Tcp, TcpState::Listen) => Role::Listener,
            (Proto::Tcp, TcpState::Close) => Role::Unconnected,
            _ if listening.iter().any(|&l| serves(l, socket.local)) => Role::Accepted,
            _ => Role::Client,
        };
    }
    view
}
