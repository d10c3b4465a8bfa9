//! The descriptors of local IPC the lab holds: pipe and FIFO ends, unix sockets.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};

#[derive(Debug)]
pub enum IpcHandle {
    PipeRead(File),
    PipeWrite(File),
    FifoRead(File),
    FifoWrite(File),
    UnixListener(UnixListener),
    UnixStream(UnixStream),
    UnixDgram(UnixDatagram),
}

/// One IPC descriptor and what the lab knows of its other end.
#[derive(Debug)]
pub struct Ipc {
    pub handle: IpcHandle,
    /// The lab name of the other end, when the lab made both (pipe, FIFO, socketpair) or
    /// accepted it.
    pub partner: Option<String>,
}

impl IpcHandle {
    #[must_use]
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::PipeRead(file)
            | Self::PipeWrite(file)
            | Self::FifoRead(file)
            | Self::FifoWrite(file) => file.as_fd(),
            Self::UnixListener(listener) => listener.as_fd(),
            Self::UnixStream(stream) => stream.as_fd(),
            Self::UnixDgram(socket) => socket.as_fd(),
        }
    }

    /// The `kind.*` locale key.
    #[must_use]
    pub fn kind_key(&self) -> &'static str {
        match self {
            Self::PipeRead(_) => "ipc.pipe_read",
            Self::PipeWrite(_) => "ipc.pipe_write",
            Self::FifoRead(_) => "ipc.fifo_read",
            Self::FifoWrite(_) => "ipc.fifo_write",
            Self::UnixListener(_) => "ipc.unix_listener",
            Self::UnixStream(_) => "ipc.unix_stream",
            Self::UnixDgram(_) => "ipc.unix_dgram",
        }
    }

    /// The address the kernel says this unix socket is bound to (`getsockname`).
    #[must_use]
    pub fn local_name(&self) -> Option<String> {
        let address = match self {
            Self::UnixListener(listener) => listener.local_addr().ok()?,
            Self::UnixStream(stream) => stream.local_addr().ok()?,
            Self::UnixDgram(socket) => socket.local_addr().ok()?,
            _ => return None,
        };
        shown(&address)
    }

    /// The address the kernel says this unix socket is connected to (`getpeername`).
    #[must_use]
    pub fn peer_name(&self) -> Option<String> {
        let address = match self {
            Self::UnixStream(stream) => stream.peer_addr().ok()?,
            Self::UnixDgram(socket) => socket.peer_addr().ok()?,
            _ => return None,
        };
        shown(&address)
    }
}

/// A unix address as `ss -x` writes it: the path, `@name` for an abstract one, `None` unnamed.
#[must_use]
pub fn shown(address: &SocketAddr) -> Option<String> {
    if let Some(path) = address.as_pathname() {
        return Some(path.display().to_string());
    }
    address
        .as_abstract_name()
        .map(|name| format!("@{}", String::from_utf8_lossy(name)))
}
