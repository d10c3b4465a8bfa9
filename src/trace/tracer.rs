//! The tracer thread: starts the program under ptrace, follows its processes, decodes the
//! syscalls the seccomp filter stops, and sends [`TraceEvent`]s over a bounded channel (then wakes
//! the loop that reads them through a `mio::Waker`).
//!
//! Its own thread because ptrace makes the thread that forked the program its tracer (every later
//! ptrace request must come from it) and because `waitpid` blocks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::decode::{self, Pending};
use super::event::{Ending, Syscall, TraceEvent};
use super::filter;
use super::memory::{Memory as _, Tracee};
use super::program::Program;
use super::syscalls::{Call, Class};
use crate::kernel::ptrace::{
    ChildSetup, ChildStep, Resume, SyscallStop, Waited, fork_traced, pointer_array, report_pipe,
    resume, syscall_stop, wait_any, wait_any_nohang, wait_pid,
};

/// Bounds that keep a runaway program from taking sockscope's memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Processes (and threads) whose syscalls are recorded; later ones are still followed (the
    /// seccomp filter makes their syscalls need a tracer) but not recorded, and counted.
    pub processes: usize,
    /// Events the channel holds before the tracer drops (and counts) new ones.
    pub channel: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            processes: 256,
            channel: 16 * 1024,
        }
    }
}

/// The descriptors the program gets as its standard input, output and error.
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Why the program did not start.
#[derive(Debug)]
pub enum StartError {
    /// A step between `fork` and `execve` failed (`execve` itself: `ENOEXEC` for a file that is not
    /// a program, `EACCES`...).
    Child { step: ChildStep, error: io::Error },
    /// fork, pipe or ptrace failed in sockscope itself.
    Io(io::Error),
    /// `PTRACE_SEIZE` of a running process failed (`EPERM`: Yama or another user; `ESRCH`: no
    /// such process).
    Attach(io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Child { step, error } => write!(f, "{}: {error}", step.name()),
            Self::Io(error) => error.fmt(f),
            Self::Attach(error) => write!(f, "ptrace(PTRACE_SEIZE): {error}"),
        }
    }
}

enum Control {
    /// Kill every process still traced.
    Kill,
    /// Detach from every process and let it run on (only without a seccomp filter).
    Detach,
}

/// Which syscalls stop the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stops {
    /// A seccomp filter stops only the traced syscalls (`strace --seccomp-bpf`): fast, but the
    /// program can never run untraced again (a traced syscall fails with `ENOSYS` without a
    /// tracer), so it ends with sockscope.
    Seccomp,
    /// Every syscall stops (`PTRACE_SYSCALL`, as plain strace): slower, but the program can be
    /// left running (`--detach`), and the only way for a process attached with `--pid`.
    Every,
}

/// A running trace. Dropping it kills the program (see [`Tracer::end`]).
pub struct Tracer {
    events: Receiver<TraceEvent>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
    leader: Pid,
    started: Instant,
    finished: bool,
    stops: Stops,
    /// Attached with `--pid`: dropping the tracer leaves the process running.
    detach_on_drop: bool,
    /// Shared with the tracer thread (see `Loop::woken`).
    woken: Arc<AtomicBool>,
}

impl Tracer {
    /// Starts `program` and traces it with the seccomp filter; returns once it has `execve`d
    /// (or failed to).
    pub fn start(
        program: &Program,
        stdio: Stdio,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
    ) -> Result<Self, StartError> {
        Self::start_with(program, stdio, limits, waker, Stops::Seccomp)
    }

    /// Starts `program` and traces it, stopping as `stops` says.
    pub fn start_with(
        program: &Program,
        stdio: Stdio,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
        stops: Stops,
    ) -> Result<Self, StartError> {
        let (path, argv) = program
            .c_strings()
            .map_err(|_| StartError::Io(io::ErrorKind::InvalidInput.into()))?;
        let envp: Vec<CString> = std::env::vars_os()
            .filter_map(|(key, value)| {
                let mut pair = key.as_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                CString::new(pair).ok()
            })
            .collect();
        Self::spawn(limits, waker, stops, false, move || {
            let leader = launch(&path, &argv, &envp, stdio, stops)?;
            Ok((leader, Vec::new()))
        })
    }

    /// Attaches to the running process `pid` and its threads (`PTRACE_SEIZE`, then
    /// `PTRACE_INTERRUPT` to start following its syscalls), following its new children. No
    /// seccomp filter can be given to a running process: every syscall stops ([`Stops::Every`]).
    /// Dropping the tracer detaches and leaves the process running.
    pub fn attach(
        pid: i32,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
    ) -> Result<Self, StartError> {
        Self::spawn(limits, waker, Stops::Every, true, move || {
            let leader = Pid::from_raw(pid);
            let options = trace_options(Stops::Every);
            ptrace::seize(leader, options).map_err(|e| StartError::Attach(e.into()))?;
            let _ = ptrace::interrupt(leader);
            // Threads started while we seize the others are followed by PTRACE_O_TRACECLONE
            // once their creator is seized; two passes catch those that raced the first.
            let mut threads = Vec::new();
            for _ in 0..2 {
                for tid in tasks(pid) {
                    if tid == pid || threads.contains(&tid) {
                        continue;
                    }
                    if ptrace::seize(Pid::from_raw(tid), options).is_ok() {
                        let _ = ptrace::interrupt(Pid::from_raw(tid));
                        threads.push(tid);
                    }
                }
            }
            // Every task's first stop, then on to its syscalls: once `attach` returns, every
            // syscall the process starts is seen (a call it was blocked in restarts).
            for &tid in std::iter::once(&pid).chain(&threads) {
                loop {
                    match wait_pid(tid) {
                        Ok(Waited::Event { event, .. }) if event == PTRACE_EVENT_STOP => {
                            let _ = resume(tid, Resume::Syscall, 0);
                            break;
                        }
                        Ok(Waited::Exited { .. } | Waited::Signaled { .. }) | Err(_) => break,
                        // A signal that came first: delivered, then the interrupt's stop.
                        Ok(Waited::Stopped { signal, .. }) => {
                            let _ = resume(tid, Resume::Syscall, signal);
                        }
                        Ok(_) => {
                            let _ = resume(tid, Resume::Syscall, 0);
                        }
                    }
                }
            }
            Ok((leader, threads))
        })
    }

    /// The tracer thread: `begin` starts or attaches (on that thread: ptrace requests must come
    /// from the thread that attached) and names the first tracee and its threads.
    fn spawn(
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
        stops: Stops,
        detach_on_drop: bool,
        begin: impl FnOnce() -> Result<(Pid, Vec<i32>), StartError> + Send + 'static,
    ) -> Result<Self, StartError> {
        let (events_in, events) = mpsc::sync_channel(limits.channel.max(16));
        let (control, control_out) = mpsc::channel();
        let (started_in, started_out) = mpsc::channel();
        let started = Instant::now();
        let woken = Arc::new(AtomicBool::new(false));
        let woken_by_tracer = Arc::clone(&woken);
        let thread = thread::Builder::new()
            .name("sockscope-tracer".into())
            .spawn(move || {
                let (leader, threads) = match begin() {
                    Ok(first) => first,
                    Err(error) => {
                        let _ = started_in.send(Err(error));
                        return;
                    }
                };
                let _ = started_in.send(Ok(leader));
                let mut tracer = Loop {
                    events: events_in,
                    control: control_out,
                    waker,
                    started,
                    limits,
                    processes: HashMap::new(),
                    recorded: 0,
                    dropped: 0,
                    stops,
                    woken: woken_by_tracer,
                };
                tracer.add(leader.as_raw(), None, false);
                for tid in threads {
                    tracer.add(tid, Some(leader.as_raw()), true);
                    // Its first stop is behind it (see `attach`).
                    if let Some(thread) = tracer.processes.get_mut(&tid) {
                        thread.awaiting_stop = false;
                    }
                }
                tracer.run();
            })
            .map_err(StartError::Io)?;
        match started_out.recv() {
            Ok(Ok(leader)) => Ok(Self {
                events,
                control,
                thread: Some(thread),
                leader,
                started,
                finished: false,
                stops,
                detach_on_drop,
                woken,
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(StartError::Io(io::Error::other("the tracer thread ended")))
            }
        }
    }

    /// Which syscalls stop the program.
    #[must_use]
    pub fn stops(&self) -> Stops {
        self.stops
    }

    /// Detaches from every traced process, leaving them running (only [`Stops::Every`]: with
    /// the seccomp filter the program would fail without its tracer, so it is ended instead).
    /// Returns the events that arrived meanwhile.
    pub fn detach(&mut self) -> Vec<TraceEvent> {
        if self.stops != Stops::Every {
            return self.end(&[], Duration::ZERO);
        }
        let mut events = self.drain();
        let _ = self.control.send(Control::Detach);
        if let Some(thread) = self.thread.take() {
            while !thread.is_finished() {
                if let Some(event) = self.next_until(Instant::now() + Duration::from_millis(50)) {
                    events.push(event);
                }
            }
            let _ = thread.join();
        }
        events.extend(self.drain());
        self.finished = true;
        events
    }

    /// The program's first process (also its process group).
    #[must_use]
    pub fn leader(&self) -> i32 {
        self.leader.as_raw()
    }

    /// When the trace started (the origin of every `at_ms`).
    #[must_use]
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Every event already sent, without waiting.
    pub fn drain(&mut self) -> Vec<TraceEvent> {
        // Before reading: an event sent from now on wakes the loop again.
        self.woken.store(false, Ordering::Release);
        let mut out = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            self.note(&event);
            out.push(event);
        }
        out
    }

    /// The next event, waiting at most until `deadline`.
    pub fn next_until(&mut self, deadline: Instant) -> Option<TraceEvent> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.events.recv_timeout(wait) {
            Ok(event) => {
                self.note(&event);
                Some(event)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    fn note(&mut self, event: &TraceEvent) {
        if *event == TraceEvent::Finished {
            self.finished = true;
        }
    }

    /// Whether every traced process has ended.
    #[must_use]
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Ends the program: `SIGTERM` to its process group and to every process in `alive`, then
    /// `SIGKILL` once `grace` has passed. Returns the events that arrived meanwhile.
    pub fn end(&mut self, alive: &[i32], grace: Duration) -> Vec<TraceEvent> {
        let mut events = self.drain();
        if !self.finished {
            let _ = killpg(self.leader, Signal::SIGTERM);
            for &pid in alive {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let deadline = Instant::now() + grace;
            while !self.finished {
                match self.next_until(deadline) {
                    Some(event) => events.push(event),
                    None => break,
                }
            }
        }
        if !self.finished {
            let _ = self.control.send(Control::Kill);
            let _ = killpg(self.leader, Signal::SIGKILL);
            for &pid in alive {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        if let Some(thread) = self.thread.take() {
            // The channel is bounded: keep reading so the tracer is never stuck sending.
            while !thread.is_finished() {
                if let Some(event) = self.next_until(Instant::now() + Duration::from_millis(50)) {
                    events.push(event);
                }
            }
            let _ = thread.join();
        }
        events.extend(self.drain());
        events
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            if self.detach_on_drop {
                self.detach();
            } else {
                self.end(&[], Duration::ZERO);
            }
        }
    }
}

/// The thread ids of process `pid` (`/proc/PID/task`).
fn tasks(pid: i32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| {
            dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The ptrace options of every tracee.
fn trace_options(stops: Stops) -> Options {
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC;
    match stops {
        // If sockscope dies, the program dies with it rather than hit ENOSYS untraced.
        Stops::Seccomp => options | Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_EXITKILL,
        // Without a filter the program runs on fine if sockscope dies.
        Stops::Every => options,
    }
}

/// Forks the program, sets the trace options while it waits in its `SIGSTOP`, and follows it up
/// to its `execve`.
fn launch(
    path: &CString,
    argv: &[CString],
    envp: &[CString],
    stdio: Stdio,
    stops: Stops,
) -> Result<Pid, StartError> {
    // No filter: the child installs none (see `fork_traced`).
    let filter = match stops {
        Stops::Seccomp => filter::program(),
        Stops::Every => Vec::new(),
    };
    let argv_pointers = pointer_array(argv);
    let envp_pointers = pointer_array(envp);
    let (report_read, report_write) = report_pipe().map_err(StartError::Io)?;
    let mut report_read = std::fs::File::from(report_read);
    let pid = {
        use std::os::fd::AsFd;
        let setup = ChildSetup {
            path,
            argv: &argv_pointers,
            envp: &envp_pointers,
            stdin: stdio.stdin.as_fd(),
            stdout: stdio.stdout.as_fd(),
            stderr: stdio.stderr.as_fd(),
            filter: &filter,
            report: report_write.as_fd(),
        };
        fork_traced(&setup).map_err(StartError::Io)?
    };
    // The child has its copies; ours would keep the program's output pipes open after it ends.
    drop(stdio);
    drop(report_write);
    let raw = pid.as_raw();
    let child_failed = |report: &mut std::fs::File| -> StartError {
        let mut bytes = Vec::new();
        let _ = report.read_to_end(&mut bytes);
        let step = bytes
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_ne_bytes)
            .and_then(ChildStep::from_code)
            .unwrap_or(ChildStep::Exec);
        let errno = bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .map_or(libc::EIO, i32::from_ne_bytes);
        StartError::Child {
            step,
            error: io::Error::from_raw_os_error(errno),
        }
    };
    let options = trace_options(stops);
    loop {
        match wait_any().map_err(StartError::Io)? {
            Waited::Stopped { pid, signal } if pid == raw && signal == libc::SIGSTOP => {
                ptrace::setoptions(Pid::from_raw(pid), options)
                    .map_err(|e| StartError::Io(e.into()))?;
                resume(pid, Resume::Continue, 0).map_err(StartError::Io)?;
            }
            Waited::Event { pid, event } if pid == raw && event == libc::PTRACE_EVENT_EXEC => {
                let how = match stops {
                    Stops::Seccomp => Resume::Continue,
                    Stops::Every => Resume::Syscall,
                };
                resume(pid, how, 0).map_err(StartError::Io)?;
                return Ok(Pid::from_raw(pid));
            }
            Waited::Exited { pid, .. } | Waited::Signaled { pid, .. } if pid == raw => {
                return Err(child_failed(&mut report_read));
            }
            // The child's report `write` (a filtered syscall) on the way to failing, or a signal.
            Waited::Event { pid, .. } | Waited::SyscallStop { pid } if pid == raw => {
                resume(pid, Resume::Continue, 0).map_err(StartError::Io)?;
            }
            Waited::Stopped { pid, signal } if pid == raw => {
                resume(pid, Resume::Continue, signal).map_err(StartError::Io)?;
            }
            _ => {}
        }
    }
}

/// What the tracer knows of one traced process or thread.
struct Process {
    /// A syscall stopped at its start, waiting for its exit stop.
    pending: Option<Pending>,
    /// Within the cap: its syscalls are decoded and sent.
    recorded: bool,
    /// Its initial `SIGSTOP` (every new tracee gets one) has not arrived yet.
    awaiting_stop: bool,
    /// Reported (`Started` or `Unrecorded`): false only while its stop came before its parent's
    /// fork event.
    announced: bool,
    /// Which of its descriptors are sockets (shared by the threads of one process).
    fds: Rc<RefCell<FdKinds>>,
}

impl Process {
    fn new(
        recorded: bool,
        awaiting_stop: bool,
        announced: bool,
        fds: Rc<RefCell<FdKinds>>,
    ) -> Self {
        Self {
            pending: None,
            recorded,
            awaiting_stop,
            announced,
            fds,
        }
    }
}

struct Loop {
    events: SyncSender<TraceEvent>,
    control: Receiver<Control>,
    waker: Option<Arc<mio::Waker>>,
    started: Instant,
    limits: Limits,
    processes: HashMap<i32, Process>,
    recorded: usize,
    /// Events not sent because the channel was full, not yet reported.
    dropped: u64,
    stops: Stops,
    /// The waker was called and the reader has not drained since: no need to call it again
    /// (one `eventfd` write per batch of events, not per event).
    woken: Arc<AtomicBool>,
}

impl Loop {
    fn at_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Sends an event about a process (started, exec, ended): never dropped, so the reader always
    /// knows which processes exist and how they ended; the tracer waits for room if it must
    /// (only a fork storm fills the channel with these, and waiting slows the storm down).
    fn emit_always(&mut self, event: TraceEvent) {
        if self.dropped > 0 {
            let count = std::mem::take(&mut self.dropped);
            let _ = self.events.send(TraceEvent::Dropped { count });
        }
        let _ = self.events.send(event);
        self.wake();
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker
            && !self.woken.swap(true, Ordering::AcqRel)
        {
            let _ = waker.wake();
        }
    }

    /// Sends a syscall or a wait: dropped (and counted, then reported) when the channel is full.
    fn emit(&mut self, event: TraceEvent) {
        if self.dropped > 0 {
            let notice = TraceEvent::Dropped {
                count: self.dropped,
            };
            if self.events.try_send(notice).is_err() {
                self.dropped += 1;
                return;
            }
            self.dropped = 0;
        }
        // Disconnected: nobody reads any more; the program keeps running correctly regardless.
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped += 1;
        }
        self.wake();
    }

    /// A new tracee; `awaiting_stop` until its initial `SIGSTOP` is seen.
    fn add(&mut self, pid: i32, parent: Option<i32>, thread: bool) {
        let recorded = self.recorded < self.limits.processes;
        if recorded {
            self.recorded += 1;
        }
        // A thread shares its parent's descriptor table; a forked child starts with a copy.
        let fds = match parent.and_then(|parent| self.processes.get(&parent)) {
            Some(parent) if thread => Rc::clone(&parent.fds),
            Some(parent) => Rc::new(RefCell::new(parent.fds.borrow().clone())),
            None => Rc::default(),
        };
        let awaiting_stop = parent.is_some();
        self.processes
            .insert(pid, Process::new(recorded, awaiting_stop, true, fds));
        let at_ms = self.at_ms();
        self.emit_always(if recorded {
            TraceEvent::Started {
                pid,
                parent,
                thread,
                at_ms,
            }
        } else {
            TraceEvent::Unrecorded { pid }
        });
    }

    /// A new tracee seen before its parent's fork event (the kernel reports the two stops in
    /// either order). It runs on as soon as it is resumed, so it is announced now, with the
    /// parent `/proc` names: were it unrecorded until the fork event, the calls it made
    /// meanwhile (a forked server's first recv and send) would be lost. The fork event then
    /// finds it announced. A tracee whose parent is not ours is known but not announced.
    fn first_sight(&mut self, pid: i32) {
        match parent_of(pid).filter(|(parent, _)| self.processes.contains_key(parent)) {
            Some((parent, thread)) => {
                self.add(pid, Some(parent), thread);
                if let Some(process) = self.processes.get_mut(&pid) {
                    process.awaiting_stop = false;
                }
            }
            None => {
                self.processes
                    .insert(pid, Process::new(false, false, false, Rc::default()));
            }
        }
    }

    fn run(&mut self) {
        let mut idle = Duration::ZERO;
        loop {
            match self.control.try_recv() {
                Ok(Control::Kill) => {
                    for &pid in self.processes.keys() {
                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                }
                Ok(Control::Detach) => {
                    self.detach_all();
                    break;
                }
                Err(_) => {}
            }
            let waited = if self.stops == Stops::Every {
                // Detaching must be possible while the program sleeps in `accept`: poll, and
                // sleep on the control channel (a message ends the sleep at once).
                match wait_any_nohang() {
                    Ok(Some(waited)) => {
                        idle = Duration::ZERO;
                        waited
                    }
                    Ok(None) => {
                        idle = (idle * 2).clamp(Duration::from_micros(200), IDLE_POLL_MAX);
                        if let Ok(message) = self.control.recv_timeout(idle) {
                            match message {
                                Control::Detach => {
                                    self.detach_all();
                                    break;
                                }
                                Control::Kill => {
                                    for &pid in self.processes.keys() {
                                        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                                    }
                                }
                            }
                        }
                        continue;
                    }
                    Err(_) => break,
                }
            } else {
                // ECHILD: nothing left to trace.
                let Ok(waited) = wait_any() else { break };
                waited
            };
            // A resume that fails means the tracee died meanwhile (SIGKILL): its exit follows.
            let _ = self.handle(waited);
            if self.stops == Stops::Every && self.processes.is_empty() {
                break;
            }
        }
        self.emit_always(TraceEvent::Finished);
    }

    /// Stops every tracee (`PTRACE_INTERRUPT`) and detaches it, so it runs on untraced. Only
    /// without a seccomp filter (`Stops::Every`): with one, its traced calls would fail.
    fn detach_all(&mut self) {
        let pids: Vec<i32> = self.processes.keys().copied().collect();
        for &pid in &pids {
            let _ = ptrace::interrupt(Pid::from_raw(pid));
        }
        let mut left: std::collections::HashSet<i32> = pids.into_iter().collect();
        let deadline = Instant::now() + DETACH_LIMIT;
        while !left.is_empty() && Instant::now() < deadline {
            match wait_any_nohang() {
                Ok(Some(waited)) => {
                    let (pid, signal) = match waited {
                        Waited::Exited { pid, status } => {
                            self.ended(pid, Ending::Exited(status));
                            left.remove(&pid);
                            continue;
                        }
                        Waited::Signaled { pid, signal } => {
                            self.ended(pid, Ending::Signaled(signal));
                            left.remove(&pid);
                            continue;
                        }
                        // A signal that arrived meanwhile is passed on with the detach.
                        Waited::Stopped { pid, signal } if signal != libc::SIGSTOP => (pid, signal),
                        Waited::Stopped { pid, .. }
                        | Waited::Event { pid, .. }
                        | Waited::SyscallStop { pid } => (pid, 0),
                    };
                    if ptrace::detach(Pid::from_raw(pid), Signal::try_from(signal).ok()).is_ok()
                        || !left.contains(&pid)
                    {
                        left.remove(&pid);
                    }
                }
                Ok(None) => thread::sleep(Duration::from_micros(500)),
                Err(_) => break,
            }
        }
        self.processes.clear();
    }

    /// Resumes `pid` to its next stop of interest.
    fn go(&self, pid: i32, signal: i32) -> io::Result<()> {
        let how = match self.stops {
            Stops::Seccomp => Resume::Continue,
            Stops::Every => Resume::Syscall,
        };
        resume(pid, how, signal)
    }

    fn handle(&mut self, waited: Waited) -> io::Result<()> {
        match waited {
            Waited::Exited { pid, status } => self.ended(pid, Ending::Exited(status)),
            Waited::Signaled { pid, signal } => self.ended(pid, Ending::Signaled(signal)),
            Waited::Event { pid, event } => return self.event(pid, event),
            Waited::SyscallStop { pid } => return self.syscall_stop(pid),
            Waited::Stopped { pid, signal } => return self.stopped(pid, signal),
        }
        Ok(())
    }

    fn ended(&mut self, pid: i32, how: Ending) {
        if let Some(process) = self.processes.remove(&pid)
            && process.recorded
        {
            let at_ms = self.at_ms();
            self.emit_always(TraceEvent::Ended { pid, how, at_ms });
        }
    }

    fn stopped(&mut self, pid: i32, signal: i32) -> io::Result<()> {
        if signal == libc::SIGSTOP {
            match self.processes.get_mut(&pid) {
                // The new tracee's initial stop: swallowed.
                Some(process) if process.awaiting_stop => {
                    process.awaiting_stop = false;
                    return self.go(pid, 0);
                }
                // A new tracee whose stop came before its parent's fork event.
                None => {
                    self.first_sight(pid);
                    return self.go(pid, 0);
                }
                Some(_) => {}
            }
        }
        // A group-stop (PTRACE_GETSIGINFO fails with EINVAL): leave it stopped, as the signal
        // meant; SIGCONT will resume it.
        if ptrace::getsiginfo(Pid::from_raw(pid)) == Err(nix::errno::Errno::EINVAL) {
            return Ok(());
        }
        self.go(pid, signal)
    }

    fn event(&mut self, pid: i32, event: i32) -> io::Result<()> {
        match event {
            libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                let child = ptrace::getevent(Pid::from_raw(pid)).map_err(io::Error::from)? as i32;
                let thread = event == libc::PTRACE_EVENT_CLONE && is_thread(child);
                // Its initial stop may have come first (see `stopped`): then it is known but not
                // yet announced, and its stop is behind it.
                let stopped_already = self.processes.get(&child).map(|p| p.announced);
                if stopped_already != Some(true) {
                    self.add(child, Some(pid), thread);
                    if let (Some(false), Some(process)) =
                        (stopped_already, self.processes.get_mut(&child))
                    {
                        process.awaiting_stop = false;
                    }
                }
            }
            libc::PTRACE_EVENT_EXEC => {
                let at_ms = self.at_ms();
                if let Some(process) = self.processes.get_mut(&pid) {
                    process.pending = None;
                    // Close-on-exec descriptors are gone; the others keep their kind, but a
                    // fresh start is simplest and costs one readlink per descriptor used.
                    process.fds.borrow_mut().clear();
                    if process.recorded {
                        self.emit_always(TraceEvent::Exec { pid, at_ms });
                    }
                }
            }
            // A seized tracee's stop (its first after PTRACE_INTERRUPT, or an auto-attached
            // child's first): it counts as the initial stop.
            PTRACE_EVENT_STOP => match self.processes.get_mut(&pid) {
                Some(process) => process.awaiting_stop = false,
                None => self.first_sight(pid),
            },
            libc::PTRACE_EVENT_SECCOMP => return self.seccomp(pid),
            _ => {}
        }
        self.go(pid, 0)
    }

    /// A filtered syscall is about to run (seccomp stop).
    fn seccomp(&mut self, pid: i32) -> io::Result<()> {
        let SyscallStop::Seccomp { arch, nr, args } = syscall_stop(Pid::from_raw(pid))? else {
            return self.go(pid, 0);
        };
        self.entered(pid, arch, nr, args)
    }

    /// A syscall starts: decide whether to follow it to its return.
    fn entered(&mut self, pid: i32, arch: u32, nr: u64, args: [u64; 6]) -> io::Result<()> {
        let Some(process) = self.processes.get(&pid) else {
            return self.go(pid, 0);
        };
        let call = Call::from_number(nr).filter(|_| arch == filter::NATIVE_ARCH);
        let Some(call) = call else {
            return self.go(pid, 0);
        };
        let fds = Rc::clone(&process.fds);
        let recorded = process.recorded;
        // The descriptor table changes under these whatever the descriptor is: forget what they
        // replace (close_range is not traced, so socket-making calls also say so at their return).
        match call {
            Call::Close => fds.borrow_mut().forget(args[0] as i32),
            Call::Dup2 | Call::Dup3 => fds.borrow_mut().forget(args[1] as i32),
            _ => {}
        }
        if !recorded {
            return self.go(pid, 0);
        }
        // read, write, close, dup and fcntl are shown only on sockets: a program's file reads
        // cost one stop each, not two (and, once known, no readlink either).
        if call.class() == Class::OnAnyFd && !fds.borrow_mut().is_socket(pid, args[0] as i32) {
            return self.go(pid, 0);
        }
        let pending = decode::entry(call, args, &Tracee(Pid::from_raw(pid)));
        if call.may_wait() {
            let at_ms = self.at_ms();
            self.emit(TraceEvent::Waiting {
                pid,
                syscall: call.name(),
                fd: pending.fd,
                at_ms,
            });
        }
        if let Some(process) = self.processes.get_mut(&pid) {
            process.pending = Some(pending);
        }
        resume(pid, Resume::Syscall, 0)
    }

    fn syscall_stop(&mut self, pid: i32) -> io::Result<()> {
        match syscall_stop(Pid::from_raw(pid))? {
            SyscallStop::Exit { value, is_error } => {
                let pending = self.processes.get_mut(&pid).and_then(|p| p.pending.take());
                if let Some(pending) = pending {
                    self.returned(pid, &pending, value, is_error);
                }
                self.go(pid, 0)
            }
            SyscallStop::Entry { arch, nr, args } if self.stops == Stops::Every => {
                self.entered(pid, arch, nr, args)
            }
            // Kernels before 4.8 stop at the seccomp check before the syscall-entry stop: go on
            // to the exit stop.
            SyscallStop::Entry { .. } => resume(pid, Resume::Syscall, 0),
            _ => self.go(pid, 0),
        }
    }

    /// A followed syscall returned: learn the descriptors it made, decode and send it.
    fn returned(&mut self, pid: i32, pending: &Pending, value: i64, is_error: bool) {
        let memory = Tracee(Pid::from_raw(pid));
        if !is_error && let Some(process) = self.processes.get(&pid) {
            let mut fds = process.fds.borrow_mut();
            let a = pending.args;
            match pending.call {
                // Every descriptor these return is a socket (dup and fcntl are followed only on
                // sockets).
                Call::Socket
                | Call::Accept
                | Call::Accept4
                | Call::Dup
                | Call::Dup2
                | Call::Dup3 => fds.learn(value as i32, true),
                Call::Fcntl if matches!(a[1] as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) => {
                    fds.learn(value as i32, true);
                }
                Call::Socketpair => {
                    if let (Some(first), Some(second)) =
                        (memory.read_u32(a[3]), memory.read_u32(a[3] + 4))
                    {
                        fds.learn(first as i32, true);
                        fds.learn(second as i32, true);
                    }
                }
                _ => {}
            }
        }
        let name = pending.call.name();
        let fd = pending.fd;
        let decoded = decode::exit(pending, value, is_error, &memory);
        let at_ms = self.at_ms();
        self.emit(TraceEvent::Syscall(Syscall {
            pid,
            syscall: name,
            fd,
            call: decoded.call_text(name),
            args: decoded.args,
            result: decoded.result,
            errno: decoded.errno,
            failed: decoded.failed,
            at_ms,
        }));
    }
}

/// `PTRACE_EVENT_STOP` (`include/uapi/linux/ptrace.h`; not in every libc version).
const PTRACE_EVENT_STOP: i32 = 128;

/// The longest the tracer sleeps between polls while nothing happens (`Stops::Every`).
const IDLE_POLL_MAX: Duration = Duration::from_millis(20);

/// How long detaching may take before the tracer gives up on a tracee that never stops.
const DETACH_LIMIT: Duration = Duration::from_secs(2);

/// Which of one process's descriptors are sockets, as far as the tracer knows: learned from a
/// `readlink` of `/proc/PID/fd/FD` once, and from the calls that make sockets; forgotten on
/// `close`, on `dup2`/`dup3` onto it, and on `execve`. A read on a known file then costs the
/// seccomp stop alone.
#[derive(Debug, Clone, Default)]
pub struct FdKinds {
    /// Indexed by descriptor: 0 unknown, 1 a socket, 2 something else.
    kinds: Vec<u8>,
}

/// Descriptors above this are not remembered (looked up each time).
const FD_KINDS_MAX: usize = 1 << 16;

impl FdKinds {
    const UNKNOWN: u8 = 0;
    const SOCKET: u8 = 1;
    const OTHER: u8 = 2;

    pub fn learn(&mut self, fd: i32, socket: bool) {
        let Ok(index) = usize::try_from(fd) else {
            return;
        };
        if index >= FD_KINDS_MAX {
            return;
        }
        if self.kinds.len() <= index {
            self.kinds.resize(index + 1, Self::UNKNOWN);
        }
        self.kinds[index] = if socket { Self::SOCKET } else { Self::OTHER };
    }

    pub fn forget(&mut self, fd: i32) {
        if let Some(kind) = usize::try_from(fd).ok().and_then(|i| self.kinds.get_mut(i)) {
            *kind = Self::UNKNOWN;
        }
    }

    pub fn clear(&mut self) {
        self.kinds.clear();
    }

    /// Whether `fd` of process `pid` is a socket (asks `/proc` only when not known).
    pub fn is_socket(&mut self, pid: i32, fd: i32) -> bool {
        match usize::try_from(fd).ok().and_then(|i| self.kinds.get(i)) {
            Some(&Self::SOCKET) => true,
            Some(&Self::OTHER) => false,
            _ if fd < 0 => false,
            _ => {
                let socket = is_socket(pid, fd);
                self.learn(fd, socket);
                socket
            }
        }
    }
}

/// Whether `tid` is a thread of another process (its thread group id is not its own id).
/// Who made task `pid`, from `/proc/PID/status`: a thread's process (`Tgid`, sharing its
/// descriptor table) and `true`, or a process's parent (`PPid`) and `false`.
fn parent_of(pid: i32) -> Option<(i32, bool)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.trim().parse::<i32>().ok())
    };
    let tgid = field("Tgid:")?;
    if tgid == pid {
        Some((field("PPid:")?, false))
    } else {
        Some((tgid, true))
    }
}

fn is_thread(tid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{tid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Tgid:"))
        .and_then(|tgid| tgid.trim().parse::<i32>().ok())
        .is_some_and(|tgid| tgid != tid)
}

/// Whether the program's descriptor `fd` is a socket (`/proc/PID/fd/FD` → `socket:[inode]`).
fn is_socket(pid: i32, fd: i32) -> bool {
    fd >= 0
        && std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .is_ok_and(|target| target.as_os_str().as_bytes().starts_with(b"socket:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_kinds_learn_from_proc_once_and_forget_on_close() {
        let pid = std::process::id() as i32;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket");
        let file = std::fs::File::open("/proc/self/status").expect("a file");
        let socket_fd = std::os::fd::AsRawFd::as_raw_fd(&socket);
        let file_fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let mut kinds = FdKinds::default();
        assert!(kinds.is_socket(pid, socket_fd));
        assert!(!kinds.is_socket(pid, file_fd));
        assert!(!kinds.is_socket(pid, -1));
        // Known now: the answer comes from the cache, even where /proc would now say otherwise.
        kinds.learn(file_fd, true);
        assert!(kinds.is_socket(pid, file_fd));
        // Forgotten (a close, a dup2 onto it): asked again.
        kinds.forget(file_fd);
        assert!(!kinds.is_socket(pid, file_fd));
        kinds.clear();
        assert!(kinds.is_socket(pid, socket_fd));
        // Beyond the remembered range: still answered, from /proc each time.
        kinds.learn(i32::MAX, true);
        assert!(!kinds.is_socket(pid, i32::MAX));
    }
}
