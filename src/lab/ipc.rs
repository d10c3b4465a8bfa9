//! The local IPC verbs: pipes, FIFOs, socketpairs and unix-domain sockets beside the network
//! sockets, in the same descriptor table. Each makes the real syscalls and traces them; all are
//! non-blocking, so nothing here can stop the event loop.
//!
//! `send` and `recv` work on every end that can write or read (a pipe's write end cannot
//! `recv`: that is a refusal, not a syscall); `connect` and `sendto` on a unix datagram socket
//! take another lab socket's name; `accept` works on a unix listener.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::PathBuf;

use socket2::{Domain, SockAddr, Socket, Type};

use super::config::Step;
use super::engine::Lab;
use super::entry::{Entry, Handle};
use super::error::LabError;
use super::ipc_handle::{Ipc, IpcHandle};
use super::transfer::{self, retrying};
use crate::command::{IpcCommand, PairKind, Target, UnixAddr, UnixTarget};
use crate::escape::strace_bytes;

/// Where a unix socket address points: a path in the lab's directory or an abstract name.
struct Resolved {
    address: SockAddr,
    /// As strace writes it: `{sa_family=AF_UNIX, sun_path="/run/.../s"}` or `sun_path=@"s"`.
    shown: String,
}

/// The backlog `unix-server` asks for when none is given (as `server` does).
const DEFAULT_BACKLOG: u32 = 128;

fn os_error(error: &io::Error) -> LabError {
    LabError::Os(error.to_string())
}

impl Lab {
    /// Runs one IPC verb. Every name it will create is checked first, so a refusal makes nothing.
    pub(super) fn ipc(&mut self, command: &IpcCommand) -> Result<Step, LabError> {
        for name in command.names() {
            self.table.ensure_free(name)?;
        }
        match command {
            IpcCommand::Pipe { read, write } => self.pipe(read, write),
            IpcCommand::Fifo { read, write } => self.fifo(read, write)?,
            IpcCommand::SocketPair {
                first,
                second,
                kind,
            } => self.socketpair(first, second, *kind),
            IpcCommand::UnixServer {
                name,
                addr,
                backlog,
            } => self.unix_server(name, addr, backlog.unwrap_or(DEFAULT_BACKLOG))?,
            IpcCommand::UnixClient { name, target } => self.unix_client(name, target)?,
            IpcCommand::UnixDgram { name, addr } => self.unix_dgram(name, addr.as_ref())?,
        }
        Ok(Step::Done)
    }

    fn insert_ipc(&mut self, name: &str, handle: IpcHandle, partner: Option<&str>) {
        let token = self.allocate_token();
        let entry = Entry::new(
            name.to_owned(),
            Handle::Ipc(Ipc {
                handle,
                partner: partner.map(str::to_owned),
            }),
            token,
            None,
            false,
        );
        // The names were checked free before any syscall.
        let _ = self.table.insert(entry);
    }

    fn pipe(&mut self, read: &str, write: &str) {
        let made = rustix::pipe::pipe_with(
            rustix::pipe::PipeFlags::NONBLOCK | rustix::pipe::PipeFlags::CLOEXEC,
        )
        .map_err(io::Error::from);
        let call = match &made {
            Ok((r, w)) => format!(
                "pipe2([{}, {}], O_NONBLOCK|O_CLOEXEC)",
                r.as_raw_fd(),
                w.as_raw_fd()
            ),
            Err(_) => "pipe2(..., O_NONBLOCK|O_CLOEXEC)".to_owned(),
        };
        self.trace
            .record(Some(read), call, made.as_ref().map(|_| 0));
        if let Ok((r, w)) = made {
            self.insert_ipc(read, IpcHandle::PipeRead(File::from(r)), Some(write));
            self.insert_ipc(write, IpcHandle::PipeWrite(File::from(w)), Some(read));
        }
    }

    fn fifo(&mut self, read: &str, write: &str) -> Result<(), LabError> {
        let dir = self.ipc_dir.path().map_err(|error| os_error(&error))?;
        let path = dir.join(format!("{read}.fifo"));
        let made = rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .map_err(io::Error::from);
        let quoted = strace_bytes(path.as_os_str().as_encoded_bytes(), usize::MAX);
        self.trace.record(
            Some(read),
            format!("mknodat(AT_FDCWD, {quoted}, S_IFIFO|0600)"),
            made.as_ref().map(|()| 0),
        );
        if made.is_err() {
            return Ok(());
        }
        // The read end first: opening a FIFO's write end with O_NONBLOCK fails with ENXIO while
        // nobody has it open for reading. Neither open blocks.
        let Some(reader) = self.open_fifo_end(read, &path, false) else {
            return Ok(());
        };
        let Some(writer) = self.open_fifo_end(write, &path, true) else {
            return Ok(());
        };
        self.insert_ipc(read, IpcHandle::FifoRead(reader), Some(write));
        self.insert_ipc(write, IpcHandle::FifoWrite(writer), Some(read));
        Ok(())
    }

    fn open_fifo_end(&mut self, name: &str, path: &PathBuf, write: bool) -> Option<File> {
        let opened = OpenOptions::new()
            .read(!write)
            .write(write)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        let mode = if write { "O_WRONLY" } else { "O_RDONLY" };
        let quoted = strace_bytes(path.as_os_str().as_encoded_bytes(), usize::MAX);
        self.trace.record(
            Some(name),
            format!("openat(AT_FDCWD, {quoted}, {mode}|O_NONBLOCK|O_CLOEXEC)"),
            opened.as_ref().map(AsRawFd::as_raw_fd),
        );
        opened.ok()
    }

    fn socketpair(&mut self, first: &str, second: &str, kind: PairKind) {
        let (ty, word) = match kind {
            PairKind::Stream => (Type::STREAM, "SOCK_STREAM"),
            PairKind::Dgram => (Type::DGRAM, "SOCK_DGRAM"),
        };
        let made = Socket::pair(Domain::UNIX, ty.nonblocking().cloexec(), None);
        let fds = match &made {
            Ok((a, b)) => format!("[{}, {}]", a.as_raw_fd(), b.as_raw_fd()),
            Err(_) => "...".to_owned(),
        };
        self.trace.record(
            Some(first),
            format!("socketpair(AF_UNIX, {word}|SOCK_NONBLOCK|SOCK_CLOEXEC, 0, {fds})"),
            made.as_ref().map(|_| 0),
        );
        let Ok((a, b)) = made else {
            return;
        };
        let (a, b) = (OwnedFd::from(a), OwnedFd::from(b));
        let (a, b) = match kind {
            PairKind::Stream => (
                IpcHandle::UnixStream(UnixStream::from(a)),
                IpcHandle::UnixStream(UnixStream::from(b)),
            ),
            PairKind::Dgram => (
                IpcHandle::UnixDgram(UnixDatagram::from(a)),
                IpcHandle::UnixDgram(UnixDatagram::from(b)),
            ),
        };
        self.insert_ipc(first, a, Some(second));
        self.insert_ipc(second, b, Some(first));
    }

    /// A unix address of the language as the kernel takes it.
    fn resolve_unix(&mut self, address: &UnixAddr) -> Result<Resolved, LabError> {
        match address {
            UnixAddr::Abstract(name) => {
                let mut bytes = vec![0];
                bytes.extend_from_slice(name.as_bytes());
                let path = PathBuf::from(std::ffi::OsString::from(
                    String::from_utf8(bytes).expect("ASCII"),
                ));
                Ok(Resolved {
                    address: SockAddr::unix(path).map_err(|error| os_error(&error))?,
                    shown: format!(
                        "{{sa_family=AF_UNIX, sun_path=@{}}}",
                        strace_bytes(name.as_bytes(), usize::MAX)
                    ),
                })
            }
            UnixAddr::File(file) => {
                let path = self
                    .ipc_dir
                    .path()
                    .map_err(|error| os_error(&error))?
                    .join(file);
                Ok(Resolved {
                    address: SockAddr::unix(&path).map_err(|error| os_error(&error))?,
                    shown: format!(
                        "{{sa_family=AF_UNIX, sun_path={}}}",
                        strace_bytes(path.as_os_str().as_encoded_bytes(), usize::MAX)
                    ),
                })
            }
        }
    }

    /// `socket(AF_UNIX, ...)`, traced.
    fn unix_socket(&mut self, name: &str, ty: Type, word: &str) -> Option<Socket> {
        let made = Socket::new(Domain::UNIX, ty.nonblocking().cloexec(), None);
        self.trace.record(
            Some(name),
            format!("socket(AF_UNIX, {word}|SOCK_NONBLOCK|SOCK_CLOEXEC, 0)"),
            made.as_ref().map(AsRawFd::as_raw_fd),
        );
        made.ok()
    }

    fn bind_unix(&mut self, name: &str, socket: &Socket, address: &Resolved) -> bool {
        let bound = socket.bind(&address.address);
        self.trace.record(
            Some(name),
            format!("bind({}, {})", socket.as_raw_fd(), address.shown),
            bound.as_ref().map(|()| 0),
        );
        bound.is_ok()
    }

    fn unix_server(&mut self, name: &str, addr: &UnixAddr, backlog: u32) -> Result<(), LabError> {
        let address = self.resolve_unix(addr)?;
        let Some(socket) = self.unix_socket(name, Type::STREAM, "SOCK_STREAM") else {
            return Ok(());
        };
        if !self.bind_unix(name, &socket, &address) {
            return Ok(());
        }
        let listened = socket.listen(backlog.min(i32::MAX as u32) as i32);
        self.trace.record(
            Some(name),
            format!("listen({}, {backlog})", socket.as_raw_fd()),
            listened.as_ref().map(|()| 0),
        );
        if listened.is_ok() {
            let unix = UnixListener::from(OwnedFd::from(socket));
            self.insert_ipc(name, IpcHandle::UnixListener(unix), None);
        }
        Ok(())
    }

    /// The address a `unix-client` or `connect` target names: a lab unix socket's own address,
    /// or the file / abstract name as written.
    fn unix_target(&mut self, target: &UnixTarget) -> Result<Resolved, LabError> {
        match target {
            UnixTarget::Abstract(name) => self.resolve_unix(&UnixAddr::Abstract(name.clone())),
            UnixTarget::Word(word) => match self.table.named(word) {
                Ok(entry) => self.address_of(entry.name().to_owned().as_str()),
                Err(_) => self.resolve_unix(&UnixAddr::File(word.clone())),
            },
        }
    }

    /// The address a lab unix socket is bound to, as the kernel says.
    fn address_of(&self, name: &str) -> Result<Resolved, LabError> {
        let entry = self.table.named(name)?;
        let Handle::Ipc(ipc) = &entry.handle else {
            return Err(entry.wrong_kind("unix-client"));
        };
        let local = match &ipc.handle {
            IpcHandle::UnixListener(listener) => listener.local_addr().ok(),
            IpcHandle::UnixDgram(socket) => socket.local_addr().ok(),
            IpcHandle::UnixStream(stream) => stream.local_addr().ok(),
            _ => return Err(entry.wrong_kind("unix-client")),
        };
        let local = local.ok_or_else(|| LabError::NoAddress(name.to_owned()))?;
        if let Some(path) = local.as_pathname() {
            return Ok(Resolved {
                address: SockAddr::unix(path).map_err(|error| os_error(&error))?,
                shown: format!(
                    "{{sa_family=AF_UNIX, sun_path={}}}",
                    strace_bytes(path.as_os_str().as_encoded_bytes(), usize::MAX)
                ),
            });
        }
        let Some(abstract_name) = local.as_abstract_name() else {
            return Err(LabError::NoAddress(name.to_owned()));
        };
        let mut bytes = vec![0];
        bytes.extend_from_slice(abstract_name);
        let path = PathBuf::from(std::ffi::OsString::from(
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
        Ok(Resolved {
            address: SockAddr::unix(path).map_err(|error| os_error(&error))?,
            shown: format!(
                "{{sa_family=AF_UNIX, sun_path=@{}}}",
                strace_bytes(abstract_name, usize::MAX)
            ),
        })
    }

    fn unix_client(&mut self, name: &str, target: &UnixTarget) -> Result<(), LabError> {
        let address = self.unix_target(target)?;
        let Some(socket) = self.unix_socket(name, Type::STREAM, "SOCK_STREAM") else {
            return Ok(());
        };
        let connected = socket.connect(&address.address);
        self.trace.record(
            Some(name),
            format!("connect({}, {})", socket.as_raw_fd(), address.shown),
            connected.as_ref().map(|()| 0),
        );
        // A unix stream connect completes inside the call (or fails: ECONNREFUSED, ENOENT,
        // EAGAIN when the listener's backlog is full); the socket stays in the table either way,
        // as a client's would.
        self.insert_ipc(
            name,
            IpcHandle::UnixStream(UnixStream::from(OwnedFd::from(socket))),
            None,
        );
        Ok(())
    }

    fn unix_dgram(&mut self, name: &str, addr: Option<&UnixAddr>) -> Result<(), LabError> {
        let address = addr.map(|addr| self.resolve_unix(addr)).transpose()?;
        let Some(socket) = self.unix_socket(name, Type::DGRAM, "SOCK_DGRAM") else {
            return Ok(());
        };
        if let Some(address) = &address
            && !self.bind_unix(name, &socket, address)
        {
            return Ok(());
        }
        self.insert_ipc(
            name,
            IpcHandle::UnixDgram(UnixDatagram::from(OwnedFd::from(socket))),
            None,
        );
        Ok(())
    }

    /// `send` on an IPC end: `write()` on a pipe or FIFO, `send()` on a unix socket.
    pub(super) fn ipc_send(&mut self, name: &str, data: &[u8]) -> Result<Step, LabError> {
        let entry = self.table.named_mut(name)?;
        let Handle::Ipc(ipc) = &entry.handle else {
            return Err(entry.wrong_kind("send"));
        };
        let (call, result) = match &ipc.handle {
            IpcHandle::PipeWrite(file) | IpcHandle::FifoWrite(file) => {
                ("write", retrying(|| (&*file).write(data)))
            }
            IpcHandle::UnixStream(stream) => ("send", retrying(|| (&*stream).write(data))),
            IpcHandle::UnixDgram(socket) => ("send", retrying(|| socket.send(data))),
            _ => return Err(entry.wrong_kind("send")),
        };
        transfer::sent(&mut self.trace, entry, call, data, None, &result);
        Ok(Step::Done)
    }

    /// `recv` on an IPC end: `read()` on a pipe or FIFO, `recv()` on a unix socket.
    pub(super) fn ipc_recv(&mut self, name: &str, max: usize) -> Result<Step, LabError> {
        let entry = self.table.named_mut(name)?;
        let Handle::Ipc(ipc) = &entry.handle else {
            return Err(entry.wrong_kind("recv"));
        };
        let mut buffer = vec![0; max];
        let (call, result) = match &ipc.handle {
            IpcHandle::PipeRead(file) | IpcHandle::FifoRead(file) => {
                ("read", retrying(|| (&*file).read(&mut buffer)))
            }
            IpcHandle::UnixStream(stream) => ("recv", retrying(|| (&*stream).read(&mut buffer))),
            IpcHandle::UnixDgram(socket) => ("recv", retrying(|| socket.recv(&mut buffer))),
            _ => return Err(entry.wrong_kind("recv")),
        };
        transfer::received(&mut self.trace, entry, call, &buffer, None, &result);
        Ok(Step::Done)
    }

    /// `accept` on a unix listener: the new connection is named as `accept` names TCP ones.
    pub(super) fn ipc_accept(
        &mut self,
        name: &str,
        as_name: Option<&str>,
    ) -> Result<Step, LabError> {
        if let Some(wanted) = as_name {
            self.table.ensure_free(wanted)?;
        }
        let entry = self.table.named(name)?;
        let Handle::Ipc(Ipc {
            handle: IpcHandle::UnixListener(listener),
            ..
        }) = &entry.handle
        else {
            return Err(entry.wrong_kind("accept"));
        };
        let fd = listener.as_raw_fd();
        let accepted = retrying(|| listener.accept());
        self.trace.record(
            Some(name),
            format!("accept4({fd}, ..., SOCK_CLOEXEC)"),
            accepted.as_ref().map(|(stream, _)| stream.as_raw_fd()),
        );
        let Ok((stream, _)) = accepted else {
            return Ok(Step::Done);
        };
        stream
            .set_nonblocking(true)
            .map_err(|error| os_error(&error))?;
        let new_name = match as_name {
            Some(wanted) => wanted.to_owned(),
            None => loop {
                let entry = self.table.named_mut(name)?;
                entry.accepted_count += 1;
                let candidate = format!("{name}-a{}", entry.accepted_count);
                if !self.table.contains_name(&candidate) {
                    break candidate;
                }
            },
        };
        self.insert_ipc(&new_name, IpcHandle::UnixStream(stream), None);
        Ok(Step::Done)
    }

    /// `connect` on a unix datagram socket: the peer is another lab socket, by name.
    pub(super) fn ipc_connect(&mut self, name: &str, target: &Target) -> Result<Step, LabError> {
        let entry = self.table.named(name)?;
        let Target::Name(other) = target else {
            return Err(entry.wrong_kind("connect"));
        };
        if !matches!(
            entry.handle,
            Handle::Ipc(Ipc {
                handle: IpcHandle::UnixDgram(_),
                ..
            })
        ) {
            return Err(entry.wrong_kind("connect"));
        }
        let address = self.address_of(other)?;
        let entry = self.table.named(name)?;
        let fd = entry.handle.fd();
        let socket = socket2::SockRef::from(&fd);
        let connected = socket.connect(&address.address);
        self.trace.record(
            Some(name),
            format!("connect({}, {})", fd.as_raw_fd(), address.shown),
            connected.as_ref().map(|()| 0),
        );
        Ok(Step::Done)
    }

    /// `sendto` on a unix datagram socket, to another lab socket by name.
    pub(super) fn ipc_send_to(
        &mut self,
        name: &str,
        target: &Target,
        data: &[u8],
    ) -> Result<Step, LabError> {
        let entry = self.table.named(name)?;
        let Target::Name(other) = target else {
            return Err(entry.wrong_kind("sendto"));
        };
        if !matches!(
            entry.handle,
            Handle::Ipc(Ipc {
                handle: IpcHandle::UnixDgram(_),
                ..
            })
        ) {
            return Err(entry.wrong_kind("sendto"));
        }
        let address = self.address_of(other)?;
        let entry = self.table.named_mut(name)?;
        let sent =
            retrying(|| socket2::SockRef::from(&entry.handle.fd()).send_to(data, &address.address));
        transfer::sent(
            &mut self.trace,
            entry,
            "sendto",
            data,
            Some(&address.shown),
            &sent,
        );
        Ok(Step::Done)
    }
}
