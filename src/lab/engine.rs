//! [`Lab`]: the socket table, the trace and the probes of one lab, and the dispatch of
//! commands to the verbs. The syscall verbs, the event handling, the relays and the snapshot are
//! `impl Lab` blocks of their own files.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::error::LabError;
use super::fd_rows::FdLabels;
use super::ipc_dir::IpcDir;
use super::probe::Prober;
use super::relay::Relays;
use super::table::SocketTable;
use super::trace::Trace;
use super::web_session::WebSessions;
use crate::command::{Command, WireCommand};
use crate::kernel::internal_fds;
use crate::model::{LabMessage, WireHost};
use crate::net::lab_capture::{Endpoint, LabCapture};
use crate::net::wire::Wire;
use crate::net::wire::controls::Refusal;
use crate::runtime::reactor::{Reactor, Ready};
use crate::text::Lang;

use super::config::{CAPTURE_TOKEN, FIRST_SOCKET_TOKEN, LabConfig, Step, WIRE_TOKENS};

pub struct Lab {
    /// The runtime's registry (a clone of its handle): the lab registers its sockets there and
    /// is told by the runtime when they are ready.
    pub(super) registry: Registry,
    pub(super) config: LabConfig,
    pub(super) started: Instant,
    /// Every live socket and file, by name and by token.
    pub(super) table: SocketTable,
    pub(super) next_token: usize,
    pub(super) trace: Trace,
    pub(super) errors: Vec<LabMessage>,
    pub(super) relays: Relays,
    pub(super) prober: Prober,
    /// The last local address of each closed socket, so `bind NAME OLD` can reach for a port that
    /// only the kernel still holds (e.g. in `TIME_WAIT`).
    pub(super) former: HashMap<String, SocketAddr>,
    /// The segments of the lab's connections (`AF_PACKET` on `lo`, or the wire), or why there
    /// are none.
    pub(super) capture: LabCapture,
    /// The descriptor table's kinds, cached by socket inode.
    pub(super) fd_labels: FdLabels,
    /// The private directory of the lab's FIFOs and unix socket paths (made on first use).
    pub(super) ipc_dir: IpcDir,
    /// The HTTP and WebSocket conversations (`ws-server`, `http-get`, `ws-client`).
    pub(super) web: WebSessions,
    /// `--net wire`: the relay between hosts `a` and `b`.
    pub(super) wire: Option<Wire>,
    /// The host the command being run places its sockets on (`NAME@b`).
    pub(super) placing: Option<WireHost>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut own = vec![self.registry.as_raw_fd()];
        own.extend(self.capture.raw_fd());
        own.extend(
            self.prober
                .diag
                .as_ref()
                .map(crate::kernel::sock_diag::SockDiag::raw_fd),
        );
        internal_fds::forget(&own);
    }
}

impl Lab {
    /// A lab whose sockets are registered with `reactor`, the runtime's one poll.
    pub fn new(reactor: &Reactor, config: LabConfig) -> io::Result<Self> {
        let started = Instant::now();
        let registry = reactor.registry().try_clone()?;
        // The clone is a second descriptor for the same epoll instance.
        internal_fds::name(registry.as_raw_fd(), "poll-registry");
        let wire = crate::net::wire::hosts().map(Wire::new);
        if let Some(wire) = &wire {
            wire.register(&registry, WIRE_TOKENS)?;
            let hosts = wire.hosts();
            internal_fds::name(hosts.a.tun.as_raw_fd(), "wire-tun-a");
            internal_fds::name(hosts.b.tun.as_raw_fd(), "wire-tun-b");
            internal_fds::name(hosts.a.namespace.as_raw_fd(), "wire-host-a");
            internal_fds::name(hosts.b.namespace.as_raw_fd(), "wire-host-b");
        }
        let prober = Prober::new(wire.as_ref().map(Wire::hosts));
        let capture = LabCapture::open();
        if let Some(fd) = capture.raw_fd() {
            internal_fds::name(fd, "capture");
            // Not fatal: unregistered, the capture is still read before every snapshot.
            let _ = registry.register(&mut SourceFd(&fd), CAPTURE_TOKEN, Interest::READABLE);
        }
        Ok(Self {
            registry,
            trace: Trace::new(started, config.trace_limit),
            config,
            started,
            table: SocketTable::default(),
            next_token: FIRST_SOCKET_TOKEN,
            errors: Vec::new(),
            relays: Relays::default(),
            prober,
            former: HashMap::new(),
            capture,
            fd_labels: FdLabels::default(),
            ipc_dir: IpcDir::default(),
            web: WebSessions::default(),
            wire,
            placing: None,
        })
    }

    /// The registry the lab's sockets are registered with.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    #[must_use]
    pub fn lang(&self) -> Lang {
        self.config.lang
    }

    pub fn set_lang(&mut self, lang: Lang) {
        self.config.lang = lang;
    }

    #[must_use]
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Closes everything and starts over on the same event loop (same poll, waker and signal
    /// registrations): how lecture mode steps back. The freed descriptors are reused in the same
    /// order, so a replay gets the fd numbers a fresh lab would.
    pub fn reset(&mut self) {
        for entry in self.table.values_mut() {
            entry.deregister(&self.registry);
        }
        self.table.clear();
        self.relays = Relays::default();
        self.web = WebSessions::default();
        self.former.clear();
        self.errors.clear();
        self.started = Instant::now();
        self.trace = Trace::new(self.started, self.config.trace_limit);
        self.prober.forget_closed();
        self.prober.restart_counters();
        self.prober.mark_stale();
        if let Some(wire) = &mut self.wire {
            wire.clear(self.capture.tuples());
        }
        self.capture.clear();
        self.ipc_dir.clear();
    }

    /// Makes the next snapshot walk the kernel's socket tables again instead of reusing the last
    /// walk (benchmarks measure the full cost this way).
    pub fn invalidate_kernel_view(&mut self) {
        self.prober.mark_stale();
    }

    /// The newest trace entry, for the status line.
    #[must_use]
    pub fn last_trace(&self) -> Option<&crate::model::TraceEntry> {
        self.trace.last()
    }

    /// The names of the lab's sockets and files, in creation order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.table
            .values()
            .map(|entry| entry.name().to_owned())
            .collect()
    }

    /// Runs one command. Syscall failures are values in the trace, not errors; an `Err` means the
    /// lab refused the command before any syscall (unknown name, wrong kind of socket).
    ///
    /// `settle` runs right after the syscalls: the driver hands the lab the events they caused
    /// (it owns the poll).
    pub fn execute(
        &mut self,
        command: &Command,
        settle: impl FnOnce(&mut Self),
    ) -> Result<Step, LabError> {
        self.prober.mark_stale();
        self.capture.expect(command);
        let outcome = self.dispatch(command);
        self.sync_capture();
        let exhausted = self.trace.take_exhaustion();
        // Loopback handshakes complete inside the syscall: the caller lets the lab see their
        // events now.
        settle(self);
        // Noted after those events, so the status line (the newest news) shows the refusal.
        if let Err(error) = &outcome {
            self.note_error(command.to_line(), error);
        }
        if let Some(exhaustion) = exhausted {
            self.note_exhausted(command.to_line(), exhaustion);
        }
        outcome
    }

    /// Handles the readiness of the lab's own sockets (accepting, relaying, finishing connects)
    /// and of the capture. Returns whether any of them had an event, i.e. whether something may
    /// have changed.
    pub fn on_ready(&mut self, ready: &[Ready]) -> bool {
        let mut activity = false;
        for event in ready {
            if event.token == CAPTURE_TOKEN {
                activity |= self.capture.drain();
                continue;
            }
            if let Some(at) = WIRE_TOKENS.iter().position(|token| *token == event.token) {
                if let Some(wire) = &mut self.wire {
                    activity |= wire.read_from(WireHost::BOTH[at], &mut self.capture);
                    // Segments moved: the kernel's view on both hosts changed.
                    self.prober.mark_stale();
                }
                continue;
            }
            if event.token.0 < FIRST_SOCKET_TOKEN {
                continue;
            }
            activity = true;
            // The kernel changed something about our sockets: the next snapshot walks again.
            self.prober.mark_stale();
            self.handle_socket_event(event.token, event.readable, event.writable);
        }
        activity
    }

    /// Tells the capture the lab's sockets: their names label the segments, their ports (on the
    /// host network) are what the kernel-side filter lets through.
    pub(super) fn sync_capture(&mut self) {
        let endpoints = self.table.values().filter_map(|entry| {
            Some(Endpoint {
                name: entry.name(),
                proto: entry.proto?,
                local: entry.local,
                remote: entry.remote,
            })
        });
        self.capture.learn(endpoints);
    }

    /// Keeps a refusal for the snapshot's `errors` and the status line; `context` is the
    /// command it belongs to.
    pub(super) fn note_error(&mut self, context: String, error: &LabError) {
        self.errors.push(LabMessage {
            command: context,
            message: error.message(self.config.lang),
            at_ms: self.elapsed_ms(),
        });
    }

    /// If a call ran out of descriptors since the last look, says so in `errors` (and so in the
    /// status line), not only in the trace: `clients c 200 srv` under `ulimit -n 64` stops early.
    pub(super) fn note_exhaustion(&mut self, context: String) {
        if let Some(exhaustion) = self.trace.take_exhaustion() {
            self.note_exhausted(context, exhaustion);
        }
    }

    pub(super) fn note_exhausted(&mut self, context: String, exhaustion: super::trace::Exhaustion) {
        let error = LabError::OutOfDescriptors {
            call: exhaustion.call,
            name: exhaustion.name,
            errno: exhaustion.errno,
            limit: crate::kernel::fd_table::descriptor_limit(),
        };
        self.note_error(context, &error);
    }

    pub(super) fn allocate_token(&mut self) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        token
    }

    pub(super) fn dispatch(&mut self, command: &Command) -> Result<Step, LabError> {
        match command {
            Command::Socket { name, proto, v6 } => {
                self.socket(name, *proto, *v6).map(|_| Step::Done)
            }
            Command::Bind { name, addr } => self.bind(name, addr),
            Command::Listen { name, backlog } => self.listen(name, *backlog),
            Command::Connect { name, target } => self.connect(name, target),
            Command::Accept { name, as_name } => self.accept(name, as_name.as_deref()),
            Command::Close { name } => self.close(name),
            Command::Send { name, data } => self.send(name, data),
            Command::Recv { name, max } => self.recv(name, *max),
            Command::SendTo { name, target, data } => self.send_to(name, target, data),
            Command::RecvFrom { name } => self.recv_from(name),
            Command::Shutdown { name, how } => self.shutdown(name, *how),
            Command::SetSockOpt {
                name,
                option,
                value,
            } => self.set_option(name, *option, *value),
            Command::Open { name, path } => self.open(name, path),
            Command::Server {
                name,
                addr,
                backlog,
            } => self.server(name, addr.as_ref(), *backlog),
            Command::Client { name, target } => self.client(name, target),
            Command::Clients {
                prefix,
                count,
                target,
            } => self.clients(prefix, *count, target),
            Command::Forward {
                name,
                listen,
                target,
            } => self.forward(name, *listen, target),
            Command::AutoAccept { name, on } => self.auto_accept(name, *on),
            Command::Wait { duration } => Ok(Step::Wait(*duration)),
            Command::Ipc(ipc) => self.ipc(ipc),
            Command::Web(web) => self.web(web),
            Command::On { host, command } => {
                if self.wire.is_none() {
                    return Err(LabError::NoWire);
                }
                self.placing = Some(*host);
                let outcome = self.dispatch(command);
                self.placing = None;
                outcome
            }
            Command::Wire(control) => self.wire_control(control),
        }
    }

    fn wire_control(&mut self, control: &WireCommand) -> Result<Step, LabError> {
        let Some(wire) = &mut self.wire else {
            return Err(LabError::NoWire);
        };
        wire.control(control, &mut self.capture)
            .map_err(|refusal| match refusal {
                Refusal::NothingHeld => LabError::NotHeld(None),
                Refusal::NoSuchHeld(id) => LabError::NotHeld(Some(id)),
                Refusal::Nat(error) => LabError::Nat(error),
            })?;
        // Not a syscall, but what the presenter did to the segments belongs in the same story.
        self.trace.record(
            None,
            format!("wire {}", control.words()),
            Ok::<_, &std::io::Error>("ok"),
        );
        Ok(Step::Done)
    }

    /// The host a socket made now goes on: the one the command names, else `a` (`--net wire`
    /// only; `None` in the other networks).
    pub(super) fn placement(&self) -> Option<WireHost> {
        self.wire
            .as_ref()
            .map(|_| self.placing.unwrap_or(WireHost::A))
    }

    /// Runs `make` on `host` (nothing to enter outside the wire, or on host `a`).
    pub(super) fn on_host<T>(
        &self,
        host: Option<WireHost>,
        make: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        match (host, &self.wire) {
            (Some(host), Some(wire)) => wire.hosts().on_host(host, make)?,
            _ => make(),
        }
    }

    /// When the wire next has a delayed segment to deliver, if it has one.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.wire.as_ref().and_then(Wire::next_due)
    }

    /// Delivers the wire's delayed segments that are due and reads on where a read turn stopped
    /// on its budget. Returns whether a segment moved.
    pub(super) fn wire_work(&mut self) -> bool {
        let Some(wire) = &mut self.wire else {
            return false;
        };
        let mut moved = wire.deliver_due(Instant::now(), &mut self.capture);
        moved |= wire.continue_reading(&mut self.capture);
        if moved {
            self.prober.mark_stale();
        }
        moved
    }
}
