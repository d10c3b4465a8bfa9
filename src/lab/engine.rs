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
use super::probe::Prober;
use super::relay::Relays;
use super::table::SocketTable;
use super::trace::Trace;
use crate::command::Command;
use crate::model::LabMessage;
use crate::net::lab_capture::{Endpoint, LabCapture};
use crate::runtime::reactor::{Reactor, Ready};
use crate::text::Lang;

use super::config::{CAPTURE_TOKEN, FIRST_SOCKET_TOKEN, LabConfig, Step};

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
    /// The segments of the lab's connections (`AF_PACKET` on `lo`), or why there are none.
    pub(super) capture: LabCapture,
}

impl Lab {
    /// A lab whose sockets are registered with `reactor`, the runtime's one poll.
    pub fn new(reactor: &Reactor, config: LabConfig) -> io::Result<Self> {
        let started = Instant::now();
        let registry = reactor.registry().try_clone()?;
        let mut internal = reactor.own_fds();
        // The clone is a second descriptor for the same epoll instance.
        internal.push((registry.as_raw_fd(), "poll (registry)"));
        let prober = Prober::new(internal);
        let capture = LabCapture::open();
        if let Some(fd) = capture.raw_fd() {
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
        self.former.clear();
        self.errors.clear();
        self.started = Instant::now();
        self.trace = Trace::new(self.started, self.config.trace_limit);
        self.prober.forget_closed();
        self.prober.restart_counters();
        self.prober.mark_stale();
        self.capture.clear();
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
        }
    }
}
