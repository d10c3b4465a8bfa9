//! The verbs of the lab language: each makes the real syscall and records it in the trace.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::config::Step;
use super::engine::Lab;
use super::entry::{Entry, Handle};
use super::error::LabError;
use super::exposure::{self, Exposure};
use super::trace::{Trace, addr, family};
use super::transfer::{self, retrying};
use crate::command::{ShutdownHow, SockOpt, Target};
use crate::escape::strace_bytes;
use crate::kernel;
use crate::model::{Proto, Role};

/// The backlog `server` and `forward` ask for when none is given (the classic `SOMAXCONN`).
pub const DEFAULT_BACKLOG: u32 = 128;
/// The most a single `recvfrom` reads: the largest UDP payload.
const DATAGRAM_MAX: usize = 65_536;

/// How an accepted connection is named: as the user said, or `srv-a1`, `srv-a2`, ...
#[derive(Debug, Clone, Copy)]
pub(super) enum Naming<'a> {
    Given(&'a str),
    Numbered(&'static str),
}

/// An address a client can reach: a wildcard listener is reached over loopback.
fn connectable(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), local.port())
        }
        _ => local,
    }
}

fn is_in_progress(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::EINPROGRESS)
}

fn sock_addr(socket: &SockRef<'_>) -> Option<SocketAddr> {
    socket
        .local_addr()
        .ok()
        .and_then(|address| address.as_socket())
}

impl Lab {
    /// Lets an action through unless it would reach beyond loopback and the config forbids it.
    pub(super) fn allow(&self, check: Result<(), Exposure>) -> Result<(), LabError> {
        match check {
            Err(exposure) if !self.config.may_reach_beyond_loopback() => {
                Err(LabError::Exposed(exposure))
            }
            _ => Ok(()),
        }
    }

    /// The address a target names: an address as given, or the reachable address of a named socket.
    pub(super) fn resolve(&self, target: &Target) -> Result<SocketAddr, LabError> {
        match target {
            Target::Addr(address) => Ok(*address),
            Target::Name(name) => {
                let entry = self.table.named(name)?;
                entry
                    .local
                    .map(connectable)
                    .ok_or_else(|| LabError::NoAddress(name.clone()))
            }
        }
    }

    /// `socket()`. Returns the new entry's token, or `None` when the syscall failed (traced).
    pub(super) fn socket(
        &mut self,
        name: &str,
        proto: Proto,
        v6: bool,
    ) -> Result<Option<Token>, LabError> {
        self.table.ensure_free(name)?;
        let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
        let (kind, protocol, kind_word, protocol_word) = match proto {
            Proto::Tcp => (Type::STREAM, Protocol::TCP, "SOCK_STREAM", "IPPROTO_TCP"),
            Proto::Udp => (Type::DGRAM, Protocol::UDP, "SOCK_DGRAM", "IPPROTO_UDP"),
        };
        // On the wire, made inside its host's namespace (it stays there for life).
        let host = self.placement();
        let created = self.on_host(host, || {
            Socket::new(domain, kind.nonblocking().cloexec(), Some(protocol))
        });
        self.trace.record(
            Some(name),
            format!(
                "socket({}, {kind_word}|SOCK_NONBLOCK|SOCK_CLOEXEC, {protocol_word})",
                family(v6)
            ),
            created.as_ref().map(AsRawFd::as_raw_fd),
        );
        let Ok(socket) = created else {
            return Ok(None);
        };
        let token = self.allocate_token();
        let handle = match proto {
            Proto::Tcp => Handle::Fresh(socket),
            Proto::Udp => {
                let mut udp = UdpSocket::from_std(socket.into());
                self.registry
                    .register(&mut udp, token, Interest::READABLE)
                    .map_err(|error| LabError::Os(error.to_string()))?;
                Handle::Udp(udp)
            }
        };
        let mut entry = Entry::new(name.to_owned(), handle, token, Some(proto), v6);
        entry.host = host;
        entry.observe_state(
            if proto == Proto::Udp {
                crate::model::TcpState::Unconnected
            } else {
                crate::model::TcpState::Close
            },
            self.elapsed_ms(),
        );
        self.table.insert(entry)?;
        Ok(Some(token))
    }

    /// `bind()`. `Ok(true)` when the kernel accepted the address.
    pub(super) fn bind_socket(
        &mut self,
        name: &str,
        address: SocketAddr,
    ) -> Result<bool, LabError> {
        let entry = self.table.named_mut(name)?;
        if !matches!(entry.handle, Handle::Fresh(_) | Handle::Udp(_)) {
            return Err(entry.wrong_kind("bind"));
        }
        let fd = entry.handle.fd();
        let socket = SockRef::from(&fd);
        let result = socket.bind(&address.into());
        let local = sock_addr(&socket);
        self.trace.record(
            Some(name),
            format!("bind({}, {})", fd.as_raw_fd(), addr(&address)),
            result.as_ref().map(|()| 0),
        );
        if result.is_ok() {
            entry.local = local;
        }
        Ok(result.is_ok())
    }

    pub(super) fn bind(&mut self, name: &str, target: &Target) -> Result<Step, LabError> {
        let address = self.bind_address(target)?;
        self.allow(exposure::check_bind(address))?;
        self.bind_socket(name, address).map(|_| Step::Done)
    }

    /// The address to bind: as given, or exactly the address another lab socket holds (so a
    /// second socket can collide with a port the kernel picked).
    fn bind_address(&self, target: &Target) -> Result<SocketAddr, LabError> {
        match target {
            Target::Addr(address) => Ok(*address),
            Target::Name(other) => match self.table.named(other) {
                Ok(entry) => entry
                    .local
                    .ok_or_else(|| LabError::NoAddress(other.clone())),
                // A closed socket's address is still a fact worth binding to.
                Err(unknown) => self.former.get(other).copied().ok_or(unknown),
            },
        }
    }

    /// `listen()`: the socket becomes a listener with the user's backlog.
    pub(super) fn listen_socket(&mut self, name: &str, backlog: u32) -> Result<bool, LabError> {
        let entry = self.table.named(name)?;
        if !matches!(entry.handle, Handle::Fresh(_)) {
            return Err(entry.wrong_kind("listen"));
        }
        // listen() on an unbound socket binds it to the wildcard first.
        self.allow(exposure::check_autobind(
            "listen",
            name,
            local_of(&entry.handle),
            entry.v6,
            false,
        ))?;
        self.retype_fresh(
            name,
            "listen",
            |trace, socket| {
                let fd = socket.as_raw_fd();
                let result = socket.listen(backlog.min(i32::MAX as u32) as i32);
                trace.record(
                    Some(name),
                    format!("listen({fd}, {backlog})"),
                    result.as_ref().map(|()| 0),
                );
                result.is_ok()
            },
            |registry, socket, token| {
                let mut listener = TcpListener::from_std(socket.into());
                let registered = registry.register(&mut listener, token, Interest::READABLE);
                (Handle::Listener(listener), registered)
            },
            |entry| {
                entry.role = Role::Listener;
                entry.backlog_requested = backlog;
            },
        )
    }

    /// Turns the fresh socket `name` into another type (socket2 -> mio) that keeps its fd, name
    /// and token: it leaves the table while it changes and goes back in whatever happens. `call`
    /// makes the syscall that changes it (and traces it) and says whether it took; only then does
    /// `retype` make the new handle (registered with the poll) and `update` say what the entry
    /// now is. Returns whether the call took.
    fn retype_fresh(
        &mut self,
        name: &str,
        verb: &'static str,
        call: impl FnOnce(&mut Trace, &Socket) -> bool,
        retype: impl FnOnce(&Registry, Socket, Token) -> (Handle, io::Result<()>),
        update: impl FnOnce(&mut Entry),
    ) -> Result<bool, LabError> {
        let mut entry = self.table.take(name)?;
        let token = entry.token();
        let socket = match entry.handle {
            Handle::Fresh(socket) => socket,
            other => {
                entry.handle = other;
                let refusal = entry.wrong_kind(verb);
                self.table.insert(entry)?;
                return Err(refusal);
            }
        };
        if !call(&mut self.trace, &socket) {
            entry.handle = Handle::Fresh(socket);
            self.table.insert(entry)?;
            return Ok(false);
        }
        entry.local = sock_addr(&SockRef::from(&socket));
        let (handle, registered) = retype(&self.registry, socket, token);
        entry.handle = handle;
        update(&mut entry);
        self.table.insert(entry)?;
        registered.map_err(|error| LabError::Os(error.to_string()))?;
        Ok(true)
    }

    pub(super) fn listen(&mut self, name: &str, backlog: u32) -> Result<Step, LabError> {
        self.listen_socket(name, backlog).map(|_| Step::Done)
    }

    /// `connect()`, non-blocking: a TCP socket usually answers `EINPROGRESS` and finishes on the
    /// next writable event; a UDP socket just records its default peer.
    pub(super) fn connect_socket(
        &mut self,
        name: &str,
        target: SocketAddr,
    ) -> Result<bool, LabError> {
        // The kernel autobinds a connecting socket to the route's source address: for a loopback
        // target that is loopback, so only the target needs checking.
        self.allow(exposure::check_target("connect", target))?;
        let entry = self.table.named_mut(name)?;
        match &entry.handle {
            Handle::Fresh(_) => {}
            Handle::Udp(udp) => {
                let fd = udp.as_raw_fd();
                let result = udp.connect(target);
                self.trace.record(
                    Some(name),
                    format!("connect({fd}, {})", addr(&target)),
                    result.as_ref().map(|()| 0),
                );
                if result.is_ok() {
                    entry.remote = Some(target);
                    entry.local = udp_local(&entry.handle);
                }
                return Ok(result.is_ok());
            }
            _ => return Err(entry.wrong_kind("connect")),
        }
        self.retype_fresh(
            name,
            "connect",
            |trace, socket| {
                let fd = socket.as_raw_fd();
                let result = socket.connect(&target.into());
                trace.record(
                    Some(name),
                    format!("connect({fd}, {})", addr(&target)),
                    result.as_ref().map(|()| 0),
                );
                match &result {
                    Ok(()) => true,
                    Err(error) => is_in_progress(error),
                }
            },
            |registry, socket, token| {
                let mut stream = TcpStream::from_std(socket.into());
                let registered =
                    registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE);
                (Handle::Stream(stream), registered)
            },
            |entry| {
                entry.role = Role::Client;
                entry.connecting = true;
                entry.remote = Some(target);
            },
        )
    }

    pub(super) fn connect(&mut self, name: &str, target: &Target) -> Result<Step, LabError> {
        if self.table.named(name)?.is_ipc() {
            return self.ipc_connect(name, target);
        }
        let address = self.resolve(target)?;
        self.connect_socket(name, address).map(|_| Step::Done)
    }

    /// The writable event after a non-blocking connect: asks `SO_ERROR` how it ended.
    pub(super) fn finish_connect(&mut self, token: Token) {
        let Some(entry) = self.table.get_mut(token) else {
            return;
        };
        let Handle::Stream(stream) = &entry.handle else {
            return;
        };
        let fd = stream.as_raw_fd();
        let call = format!("getsockopt({fd}, SOL_SOCKET, SO_ERROR)");
        match stream.take_error() {
            Ok(Some(error)) | Err(error) => {
                entry.connecting = false;
                self.trace
                    .record_pending_error(Some(entry.name()), call, &error);
            }
            Ok(None) => match stream.peer_addr() {
                Ok(peer) => {
                    entry.connecting = false;
                    entry.remote = Some(peer);
                    entry.local = stream.local_addr().ok();
                    self.trace
                        .record(Some(entry.name()), call, Ok::<_, &io::Error>(0));
                }
                // Not connected yet and no error: a spurious wake-up; the next one decides.
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {}
                Err(error) => {
                    entry.connecting = false;
                    self.trace
                        .record_pending_error(Some(entry.name()), call, &error);
                }
            },
        }
    }

    /// A name for a connection accepted without one: `srv-a1`, `srv-a2`, ...
    fn next_accept_name(&mut self, listener: &str, stem: &str) -> Result<String, LabError> {
        loop {
            let entry = self.table.named_mut(listener)?;
            entry.accepted_count += 1;
            let candidate = format!("{listener}-{stem}{}", entry.accepted_count);
            if !self.table.contains_name(&candidate) {
                return Ok(candidate);
            }
        }
    }

    /// `accept4()` once. `Ok(None)` when nothing was waiting or the call failed (traced unless it
    /// was an `EAGAIN` the caller asked to keep quiet).
    pub(super) fn accept_one(
        &mut self,
        listener_token: Token,
        naming: Naming<'_>,
        trace_would_block: bool,
    ) -> Result<Option<Token>, LabError> {
        if let Naming::Given(wanted) = naming {
            self.table.ensure_free(wanted)?;
        }
        // A listener closed since its event was queued has nothing to accept.
        let Some(entry) = self.table.get(listener_token) else {
            return Ok(None);
        };
        let Handle::Listener(listener) = &entry.handle else {
            return Err(entry.wrong_kind("accept"));
        };
        let fd = listener.as_raw_fd();
        let listener_name = entry.name().to_owned();
        let listener_host = entry.host;
        let accepted = loop {
            match listener.accept() {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let (mut stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                if trace_would_block || error.kind() != io::ErrorKind::WouldBlock {
                    self.trace.record(
                        Some(&listener_name),
                        format!("accept4({fd}, ..., SOCK_NONBLOCK|SOCK_CLOEXEC)"),
                        Err::<i32, _>(&error),
                    );
                }
                return Ok(None);
            }
        };
        let name = match naming {
            Naming::Given(wanted) => wanted.to_owned(),
            Naming::Numbered(stem) => self.next_accept_name(&listener_name, stem)?,
        };
        self.trace.record(
            Some(&name),
            format!("accept4({fd}, {}, SOCK_NONBLOCK|SOCK_CLOEXEC)", addr(&peer)),
            Ok::<_, &io::Error>(stream.as_raw_fd()),
        );
        let token = self.allocate_token();
        let registered = self
            .registry
            .register(&mut stream, token, Interest::READABLE);
        let local = stream.local_addr().ok();
        let v6 = peer.is_ipv6();
        let mut entry = Entry::new(name, Handle::Stream(stream), token, Some(Proto::Tcp), v6);
        entry.role = Role::Accepted;
        entry.local = local;
        entry.remote = Some(peer);
        entry.host = listener_host;
        self.table.insert(entry)?;
        registered.map_err(|error| LabError::Os(error.to_string()))?;
        Ok(Some(token))
    }

    pub(super) fn accept(&mut self, name: &str, as_name: Option<&str>) -> Result<Step, LabError> {
        if self.table.named(name)?.is_ipc() {
            return self.ipc_accept(name, as_name);
        }
        let token = self.table.token_of(name)?;
        let naming = as_name.map_or(Naming::Numbered("a"), Naming::Given);
        self.accept_one(token, naming, true)?;
        Ok(Step::Done)
    }

    /// Accepts everything waiting (auto-accept); a forwarder also opens the relay's other leg.
    ///
    /// Until `accept4` says `EAGAIN` (or fails), as mio's `tcp_server` example does: the listener
    /// is edge-triggered, so connections left in the queue would get no new event and wait
    /// forever. A loopback accept costs a few microseconds, so even a full queue of 4,096 takes
    /// milliseconds; a forwarder pointed back at itself is stopped by its relay limit.
    pub(super) fn accept_pending(&mut self, listener: Token) {
        loop {
            let Some(forwarder) = self
                .table
                .get(listener)
                .map(|entry| entry.forwarder.clone())
            else {
                return;
            };
            let naming = Naming::Numbered(if forwarder.is_some() { "in" } else { "a" });
            match self.accept_one(listener, naming, false) {
                Ok(Some(inbound)) => {
                    if let Some(forwarder) = forwarder {
                        self.open_relay(&forwarder, inbound);
                    }
                }
                Ok(None) | Err(_) => return,
            }
        }
    }

    /// `close()`: the descriptor goes; the kernel may keep the connection (`TIME_WAIT`, ...).
    pub(super) fn close_token(&mut self, token: Token) {
        let Some(mut entry) = self.table.remove(token) else {
            return;
        };
        entry.deregister(&self.registry);
        if let (Handle::Stream(_), Some(local), Some(remote)) =
            (&entry.handle, entry.local, entry.remote)
        {
            self.prober.remember_closed(local, remote, entry.name());
        }
        if entry.forwarder.as_deref() == Some(entry.name()) {
            self.relays.forget_forwarder(entry.name());
        }
        if let Some(local) = entry.local {
            self.former.insert(entry.name().to_owned(), local);
        }
        let fd = entry.handle.raw_fd();
        let name = entry.name().to_owned();
        drop(entry);
        self.trace
            .record(Some(&name), format!("close({fd})"), Ok::<_, &io::Error>(0));
        if let Some(partner) = self.relays.forget(token) {
            // The other leg of a relay has nothing left to relay to.
            self.close_token(partner);
        }
    }

    pub(super) fn close(&mut self, name: &str) -> Result<Step, LabError> {
        let token = self.table.token_of(name)?;
        self.close_token(token);
        Ok(Step::Done)
    }

    pub(super) fn send(&mut self, name: &str, data: &[u8]) -> Result<Step, LabError> {
        let entry = self.table.named(name)?;
        if entry.is_ipc() {
            return self.ipc_send(name, data);
        }
        if matches!(entry.handle, Handle::Udp(_)) {
            // Even a send() that fails for want of a destination autobinds the socket first.
            self.allow(exposure::check_autobind(
                "send",
                name,
                local_of(&entry.handle),
                entry.v6,
                true,
            ))?;
        }
        let entry = self.table.named_mut(name)?;
        let result = match &entry.handle {
            Handle::Stream(stream) => retrying(|| (&*stream).write(data)),
            Handle::Udp(udp) => retrying(|| udp.send(data)),
            _ => return Err(entry.wrong_kind("send")),
        };
        transfer::sent(&mut self.trace, entry, "send", data, None, &result);
        Ok(Step::Done)
    }

    pub(super) fn recv(&mut self, name: &str, max: usize) -> Result<Step, LabError> {
        if self.table.named(name)?.is_ipc() {
            return self.ipc_recv(name, max);
        }
        let entry = self.table.named_mut(name)?;
        let mut buffer = vec![0; max];
        let result = match &entry.handle {
            Handle::Stream(stream) => retrying(|| (&*stream).read(&mut buffer)),
            Handle::Udp(udp) => retrying(|| udp.recv(&mut buffer)),
            _ => return Err(entry.wrong_kind("recv")),
        };
        transfer::received(&mut self.trace, entry, "recv", &buffer, None, &result);
        Ok(Step::Done)
    }

    pub(super) fn send_to(
        &mut self,
        name: &str,
        target: &Target,
        data: &[u8],
    ) -> Result<Step, LabError> {
        if self.table.named(name)?.is_ipc() {
            return self.ipc_send_to(name, target, data);
        }
        let destination = self.resolve(target)?;
        self.allow(exposure::check_target("sendto", destination))?;
        let entry = self.table.named(name)?;
        if !matches!(entry.handle, Handle::Udp(_)) {
            return Err(entry.wrong_kind("sendto"));
        }
        self.allow(exposure::check_autobind(
            "sendto",
            name,
            local_of(&entry.handle),
            entry.v6,
            true,
        ))?;
        let entry = self.table.named_mut(name)?;
        let Handle::Udp(udp) = &entry.handle else {
            return Err(entry.wrong_kind("sendto"));
        };
        let result = retrying(|| udp.send_to(data, destination));
        // An unbound UDP socket gets an ephemeral port on its first send.
        entry.local = udp_local(&entry.handle);
        let to = addr(&destination);
        transfer::sent(&mut self.trace, entry, "sendto", data, Some(&to), &result);
        Ok(Step::Done)
    }

    pub(super) fn recv_from(&mut self, name: &str) -> Result<Step, LabError> {
        let entry = self.table.named_mut(name)?;
        let Handle::Udp(udp) = &entry.handle else {
            return Err(entry.wrong_kind("recvfrom"));
        };
        let mut buffer = vec![0; DATAGRAM_MAX];
        let result = retrying(|| udp.recv_from(&mut buffer));
        let from = result.as_ref().ok().map(|(_, from)| addr(from));
        let result = result.map(|(received, _)| received);
        transfer::received(
            &mut self.trace,
            entry,
            "recvfrom",
            &buffer,
            from.as_deref(),
            &result,
        );
        Ok(Step::Done)
    }

    pub(super) fn shutdown(&mut self, name: &str, how: ShutdownHow) -> Result<Step, LabError> {
        let entry = self.table.named(name)?;
        if !entry.is_socket() {
            return Err(entry.wrong_kind("shutdown"));
        }
        let (how_std, how_word) = match how {
            ShutdownHow::Read => (Shutdown::Read, "SHUT_RD"),
            ShutdownHow::Write => (Shutdown::Write, "SHUT_WR"),
            ShutdownHow::Both => (Shutdown::Both, "SHUT_RDWR"),
        };
        let fd = entry.handle.fd();
        let result = SockRef::from(&fd).shutdown(how_std);
        self.trace.record(
            Some(name),
            format!("shutdown({}, {how_word})", fd.as_raw_fd()),
            result.as_ref().map(|()| 0),
        );
        Ok(Step::Done)
    }

    pub(super) fn set_option(
        &mut self,
        name: &str,
        option: SockOpt,
        value: u32,
    ) -> Result<Step, LabError> {
        let entry = self.table.named(name)?;
        if !entry.is_socket() {
            return Err(entry.wrong_kind("setsockopt"));
        }
        let fd = entry.handle.fd();
        let socket = SockRef::from(&fd);
        let on = value != 0;
        let raw = fd.as_raw_fd();
        let (call, result) = match option {
            SockOpt::ReuseAddr => (
                format!("setsockopt({raw}, SOL_SOCKET, SO_REUSEADDR, [{value}], 4)"),
                socket.set_reuse_address(on),
            ),
            SockOpt::ReusePort => (
                format!("setsockopt({raw}, SOL_SOCKET, SO_REUSEPORT, [{value}], 4)"),
                socket.set_reuse_port(on),
            ),
            SockOpt::NoDelay => (
                format!("setsockopt({raw}, IPPROTO_TCP, TCP_NODELAY, [{value}], 4)"),
                socket.set_tcp_nodelay(on),
            ),
            SockOpt::Linger0 => (
                format!(
                    "setsockopt({raw}, SOL_SOCKET, SO_LINGER, {{l_onoff={}, l_linger=0}}, 8)",
                    u8::from(on)
                ),
                socket.set_linger(on.then_some(Duration::ZERO)),
            ),
            SockOpt::DeferAccept => (
                format!("setsockopt({raw}, IPPROTO_TCP, TCP_DEFER_ACCEPT, [{value}], 4)"),
                kernel::sys::set_defer_accept(fd, value),
            ),
        };
        self.trace
            .record(Some(name), call, result.as_ref().map(|()| 0));
        Ok(Step::Done)
    }

    pub(super) fn open(&mut self, name: &str, path: &str) -> Result<Step, LabError> {
        self.table.ensure_free(name)?;
        // O_NONBLOCK: opening a FIFO that has no writer (or a device waiting for a carrier)
        // would otherwise block the whole event loop until one shows up; with it the open
        // returns at once. O_NOCTTY: a terminal opened here never becomes ours to control.
        // The lab only holds the file (it never reads it), so non-blocking costs nothing.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path);
        self.trace.record(
            Some(name),
            format!(
                "openat(AT_FDCWD, {}, O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC)",
                strace_bytes(path.as_bytes(), usize::MAX)
            ),
            opened.as_ref().map(AsRawFd::as_raw_fd),
        );
        if let Ok(file) = opened {
            let token = self.allocate_token();
            let mut entry = Entry::new(name.to_owned(), Handle::File(file), token, None, false);
            entry.path = Some(path.to_owned());
            self.table.insert(entry)?;
        }
        Ok(Step::Done)
    }

    /// `socket` + `bind` + `listen`, stopping at the first failed syscall (as a real server would).
    pub(super) fn server(
        &mut self,
        name: &str,
        address: Option<&Target>,
        backlog: Option<u32>,
    ) -> Result<Step, LabError> {
        let address = address
            .map(|target| self.bind_address(target))
            .transpose()?;
        self.start_listener(name, address, backlog)
            .map(|_| Step::Done)
    }

    pub(super) fn start_listener(
        &mut self,
        name: &str,
        address: Option<SocketAddr>,
        backlog: Option<u32>,
    ) -> Result<Option<Token>, LabError> {
        // `server srv@b` listens on b's address: what a client on the other host can reach.
        let host_default = self.placing.zip(self.wire.as_ref()).map(|(host, wire)| {
            SocketAddr::new(IpAddr::V4(wire.hosts().host(host).address.address), 0)
        });
        let address = address.or(host_default).unwrap_or(self.config.default_bind);
        // Checked before socket(), so a refusal leaves nothing half-made.
        self.allow(exposure::check_bind(address))?;
        self.table.ensure_free(name)?;
        let Some(token) = self.socket(name, Proto::Tcp, address.is_ipv6())? else {
            return Ok(None);
        };
        if !self.bind_socket(name, address)? {
            return Ok(None);
        }
        if !self.listen_socket(name, backlog.unwrap_or(DEFAULT_BACKLOG))? {
            return Ok(None);
        }
        Ok(Some(token))
    }

    /// `socket` + `connect`.
    pub(super) fn client_to(
        &mut self,
        name: &str,
        address: SocketAddr,
    ) -> Result<Option<Token>, LabError> {
        let Some(token) = self.socket(name, Proto::Tcp, address.is_ipv6())? else {
            return Ok(None);
        };
        self.connect_socket(name, address)?;
        Ok(Some(token))
    }

    pub(super) fn client(&mut self, name: &str, target: &Target) -> Result<Step, LabError> {
        let address = self.resolve(target)?;
        self.allow(exposure::check_target("connect", address))?;
        self.client_to(name, address).map(|_| Step::Done)
    }

    pub(super) fn clients(
        &mut self,
        prefix: &str,
        count: u32,
        target: &Target,
    ) -> Result<Step, LabError> {
        let address = self.resolve(target)?;
        self.allow(exposure::check_target("connect", address))?;
        for index in 1..=count {
            if self
                .client_to(&format!("{prefix}{index}"), address)?
                .is_none()
            {
                break;
            }
        }
        Ok(Step::Done)
    }

    pub(super) fn auto_accept(&mut self, name: &str, on: bool) -> Result<Step, LabError> {
        let entry = self.table.named_mut(name)?;
        if !matches!(entry.handle, Handle::Listener(_)) {
            return Err(entry.wrong_kind("auto-accept"));
        }
        entry.auto_accept = on;
        let token = entry.token();
        if on {
            self.accept_pending(token);
        }
        Ok(Step::Done)
    }
}

/// The address a socket is bound to, as the kernel says (`getsockname`); port 0 means unbound.
fn local_of(handle: &Handle) -> Option<SocketAddr> {
    sock_addr(&SockRef::from(&handle.fd()))
}

fn udp_local(handle: &Handle) -> Option<SocketAddr> {
    match handle {
        Handle::Udp(udp) => udp.local_addr().ok(),
        _ => None,
    }
}
