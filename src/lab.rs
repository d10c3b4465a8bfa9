//! The socket lab: real sockets on one `mio::Poll`, driven by commands of the lab language.
//!
//! The lab never assumes what the kernel did: every verb makes the real syscall, records it in
//! the trace, and the snapshot asks the kernel what came of it.

mod entry;
pub mod errno;
mod error;
mod events;
mod probe;
mod relay;
pub mod trace;
mod verbs;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use self::entry::Entry;
pub use self::error::LabError;
use self::probe::Prober;
use self::relay::Relays;
use self::trace::{DEFAULT_TRACE_LIMIT, Trace};
use crate::command::Command;
use crate::model::LabMessage;
use crate::net::lab_capture::{Endpoint, LabCapture};
use crate::text::Lang;

/// The token of the waker other threads use to interrupt `poll`.
pub const WAKER_TOKEN: Token = Token(0);
/// Tokens below this are free for the driver (signals and the like); lab sockets use the rest.
pub const FIRST_SOCKET_TOKEN: usize = 16;
/// The token of the segment capture's packet socket (readable: segments to read).
pub const CAPTURE_TOKEN: Token = Token(FIRST_SOCKET_TOKEN - 1);

/// How the lab is set up.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// The address `server` binds when none is given (port 0 = the kernel picks).
    pub default_bind: SocketAddr,
    pub trace_limit: usize,
    pub lang: Lang,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            default_bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            trace_limit: DEFAULT_TRACE_LIMIT,
            lang: Lang::En,
        }
    }
}

/// What the driver must do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done,
    /// Let the event loop run for this long before the next command.
    Wait(Duration),
}

/// What a call to [`Lab::poll`] saw besides socket work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakeups {
    /// The waker was called (input arrived on another thread).
    pub woken: bool,
    /// Tokens below [`FIRST_SOCKET_TOKEN`] other than the waker's (e.g. signals).
    pub driver_tokens: Vec<Token>,
    /// A lab socket had an event: something may have changed.
    pub socket_activity: bool,
}

pub struct Lab {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    config: LabConfig,
    started: Instant,
    entries: BTreeMap<Token, Entry>,
    names: HashMap<String, Token>,
    next_token: usize,
    trace: Trace,
    errors: Vec<LabMessage>,
    relays: Relays,
    prober: Prober,
    /// The last local address of each closed socket, so `bind NAME OLD` can reach for a port that
    /// only the kernel still holds (e.g. in `TIME_WAIT`).
    former: HashMap<String, SocketAddr>,
    /// The segments of the lab's connections (`AF_PACKET` on `lo`), or why there are none.
    capture: LabCapture,
}

impl Lab {
    pub fn new(config: LabConfig) -> io::Result<Self> {
        let started = Instant::now();
        let poll = Poll::new()?;
        let before_waker = crate::kernel::fd_table::read_own().unwrap_or_default();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        let mut prober = Prober::new(poll.as_raw_fd());
        prober.find_waker(&before_waker);
        let capture = LabCapture::open();
        if let Some(fd) = capture.raw_fd() {
            // Not fatal: unregistered, the capture is still read before every snapshot.
            let _ = poll
                .registry()
                .register(&mut SourceFd(&fd), CAPTURE_TOKEN, Interest::READABLE);
        }
        Ok(Self {
            poll,
            events: Events::with_capacity(1024),
            waker,
            trace: Trace::new(started, config.trace_limit),
            config,
            started,
            entries: BTreeMap::new(),
            names: HashMap::new(),
            next_token: FIRST_SOCKET_TOKEN,
            errors: Vec::new(),
            relays: Relays::default(),
            prober,
            former: HashMap::new(),
            capture,
        })
    }

    /// A handle other threads use to wake `poll` (the input thread, a dump worker).
    #[must_use]
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// The registry, for the driver to register its own sources (signals) under tokens below
    /// [`FIRST_SOCKET_TOKEN`].
    #[must_use]
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
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
        let registry = self.poll.registry();
        for entry in self.entries.values_mut() {
            entry.deregister(registry);
        }
        self.entries.clear();
        self.names.clear();
        self.relays = Relays::default();
        self.former.clear();
        self.errors.clear();
        self.started = Instant::now();
        self.trace = Trace::new(self.started, self.config.trace_limit);
        self.prober.forget_closed();
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
        self.entries
            .values()
            .map(|entry| entry.name.clone())
            .collect()
    }

    /// Runs one command. Syscall failures are values in the trace, not errors; an `Err` means the
    /// lab refused the command before any syscall (unknown name, wrong kind of socket).
    pub fn execute(&mut self, command: &Command) -> Result<Step, LabError> {
        self.prober.mark_stale();
        self.capture.expect(command);
        let outcome = self.dispatch(command);
        self.sync_capture();
        if let Err(error) = &outcome {
            self.errors.push(LabMessage {
                command: command.to_line(),
                message: error.message(self.config.lang),
                at_ms: self.elapsed_ms(),
            });
        }
        // Loopback handshakes complete inside the syscall; let the lab see their events now.
        let _ = self.poll(Some(Duration::ZERO));
        outcome
    }

    /// Waits for events up to `timeout` and handles the lab's own (accepting, relaying, finishing
    /// connects). Interrupted waits return empty.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<Wakeups> {
        let mut wakeups = Wakeups::default();
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(wakeups),
            Err(error) => return Err(error),
        }
        let ready: Vec<(Token, bool, bool)> = self
            .events
            .iter()
            .map(|event| {
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                (event.token(), readable, writable)
            })
            .collect();
        for (token, readable, writable) in ready {
            if token == WAKER_TOKEN {
                wakeups.woken = true;
            } else if token == CAPTURE_TOKEN {
                self.capture.drain();
            } else if token.0 < FIRST_SOCKET_TOKEN {
                wakeups.driver_tokens.push(token);
            } else {
                wakeups.socket_activity = true;
                // The kernel changed something about our sockets: the next snapshot walks again.
                self.prober.mark_stale();
                self.handle_socket_event(token, readable, writable);
            }
        }
        Ok(wakeups)
    }

    /// Runs the event loop for `duration`, probing the kernel every `probe_every` so state
    /// histories see the transitions in between.
    pub fn run_for(&mut self, duration: Duration, probe_every: Duration) -> io::Result<()> {
        let deadline = Instant::now() + duration;
        let mut next_probe = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_probe {
                self.observe();
                next_probe = now + probe_every;
            }
            if now >= deadline {
                return Ok(());
            }
            let timeout = deadline.min(next_probe).saturating_duration_since(now);
            self.poll(Some(timeout))?;
        }
    }

    /// The capture's packet socket, for a runtime that owns the `mio::Poll` to register (readable);
    /// `None` when there is no capture (see the snapshot's `capture.reason`).
    #[must_use]
    pub fn capture_fd(&self) -> Option<std::os::fd::RawFd> {
        self.capture.raw_fd()
    }

    /// Reads the segments the kernel has queued for the capture (when its descriptor is readable).
    pub fn drain_capture(&mut self) {
        self.capture.drain();
    }

    /// Tells the capture the lab's sockets: their names label the segments, their ports (on the
    /// host network) are what the kernel-side filter lets through.
    fn sync_capture(&mut self) {
        let endpoints = self.entries.values().filter_map(|entry| {
            Some(Endpoint {
                name: &entry.name,
                proto: entry.proto?,
                local: entry.local,
                remote: entry.remote,
            })
        });
        self.capture.learn(endpoints);
    }

    fn allocate_token(&mut self) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        token
    }

    fn insert(&mut self, entry: Entry) {
        self.names.insert(entry.name.clone(), entry.token);
        self.entries.insert(entry.token, entry);
    }

    fn token_of(&self, name: &str) -> Result<Token, LabError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| LabError::UnknownName(name.to_owned()))
    }

    fn entry(&self, name: &str) -> Result<&Entry, LabError> {
        let token = self.token_of(name)?;
        Ok(&self.entries[&token])
    }

    fn ensure_free(&self, name: &str) -> Result<(), LabError> {
        if self.names.contains_key(name) {
            Err(LabError::NameInUse(name.to_owned()))
        } else {
            Ok(())
        }
    }

    fn dispatch(&mut self, command: &Command) -> Result<Step, LabError> {
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
