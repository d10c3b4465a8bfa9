//! One thing the lab holds open: a socket in some stage of its life, or a plain file.

use std::fs::File;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Instant;

use mio::Token;
use mio::net::{TcpListener, TcpStream, UdpSocket};

use super::ipc_handle::Ipc;
use crate::model::{Proto, Role, StateChange, TcpState, WireHost};

/// The descriptor and the type that drives it. A TCP socket starts `Fresh` (socket2, so bind and
/// listen take our arguments) and becomes a `Listener` or `Stream` without changing its fd.
#[derive(Debug)]
pub enum Handle {
    Fresh(socket2::Socket),
    Listener(TcpListener),
    Stream(TcpStream),
    Udp(UdpSocket),
    File(File),
    /// A pipe or FIFO end, or a unix socket (`src/lab/ipc.rs`).
    Ipc(Ipc),
}

impl Handle {
    #[must_use]
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Fresh(socket) => socket.as_fd(),
            Self::Listener(listener) => listener.as_fd(),
            Self::Stream(stream) => stream.as_fd(),
            Self::Udp(socket) => socket.as_fd(),
            Self::File(file) => file.as_fd(),
            Self::Ipc(ipc) => ipc.handle.fd(),
        }
    }

    #[must_use]
    pub fn raw_fd(&self) -> RawFd {
        self.fd().as_raw_fd()
    }

    #[must_use]
    /// The `kind.*` locale key that names what this handle is.
    pub fn kind_key(&self) -> &'static str {
        match self {
            Self::Fresh(_) => "fresh",
            Self::Listener(_) => "listener",
            Self::Stream(_) => "stream",
            Self::Udp(_) => "udp",
            Self::File(_) => "file",
            Self::Ipc(ipc) => ipc.handle.kind_key(),
        }
    }
}

/// The name and the token are fixed at creation (private, read through [`Entry::name`] and
/// [`Entry::token`]): the [`SocketTable`](super::table::SocketTable) keys its maps by them.
#[derive(Debug)]
pub struct Entry {
    name: String,
    pub handle: Handle,
    token: Token,
    /// `None` for a plain file.
    pub proto: Option<Proto>,
    pub v6: bool,
    pub role: Role,
    pub created: Instant,
    pub backlog_requested: u32,
    pub auto_accept: bool,
    /// How many connections this listener's auto-accept or `accept` without a name has named.
    pub accepted_count: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// A non-blocking connect is under way; the next writable event finishes it.
    pub connecting: bool,
    pub history: Vec<StateChange>,
    pub last_state: Option<TcpState>,
    /// The forwarder this socket belongs to, if `forward` made it.
    pub forwarder: Option<String>,
    /// The file path, for `open`.
    pub path: Option<String>,
    /// `--net wire`: the host whose namespace the socket was made in.
    pub host: Option<WireHost>,
}

impl Entry {
    #[must_use]
    pub fn new(name: String, handle: Handle, token: Token, proto: Option<Proto>, v6: bool) -> Self {
        let role = match proto {
            Some(Proto::Udp) => Role::Datagram,
            _ => Role::Unconnected,
        };
        Self {
            name,
            handle,
            token,
            proto,
            v6,
            role,
            created: Instant::now(),
            backlog_requested: 0,
            auto_accept: false,
            accepted_count: 0,
            bytes_sent: 0,
            bytes_received: 0,
            local: None,
            remote: None,
            connecting: false,
            history: Vec::new(),
            last_state: None,
            forwarder: None,
            path: None,
            host: None,
        }
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn token(&self) -> Token {
        self.token
    }

    /// The refusal for a verb this kind of entry cannot do (`recv` on a listener).
    #[must_use]
    pub fn wrong_kind(&self, verb: &'static str) -> super::error::LabError {
        super::error::LabError::WrongKind {
            name: self.name.clone(),
            verb,
            is: self.handle.kind_key(),
        }
    }

    /// Notes a state the kernel reported; keeps the history of changes.
    pub fn observe_state(&mut self, state: TcpState, at_ms: u64) {
        if self.last_state != Some(state) {
            self.last_state = Some(state);
            self.history.push(StateChange { state, at_ms });
        }
    }

    /// Takes the socket out of the poll (a source never registered needs nothing).
    pub fn deregister(&mut self, registry: &mio::Registry) {
        let _ = match &mut self.handle {
            Handle::Listener(listener) => registry.deregister(listener),
            Handle::Stream(stream) => registry.deregister(stream),
            Handle::Udp(udp) => registry.deregister(udp),
            Handle::Fresh(_) | Handle::File(_) | Handle::Ipc(_) => Ok(()),
        };
    }

    /// A pipe or FIFO end or a unix socket (the verbs of `src/lab/ipc.rs` drive it).
    #[must_use]
    pub fn is_ipc(&self) -> bool {
        matches!(self.handle, Handle::Ipc(_))
    }

    #[must_use]
    pub fn is_socket(&self) -> bool {
        self.proto.is_some()
    }
}
