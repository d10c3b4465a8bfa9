//! The tracer thread: starts the program under ptrace, follows its processes, decodes the
//! syscalls the seccomp filter stops, and sends [`TraceEvent`]s over a bounded channel (then wakes
//! the loop that reads them through a `mio::Waker`).
//!
//! Its own thread because ptrace makes the thread that forked the program its tracer (every later
//! ptrace request must come from it) and because `waitpid` blocks.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::ptrace::{self, Options};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::decode::{self, Pending};
use super::event::{Ending, Syscall, TraceEvent};
use super::filter;
use super::memory::Tracee;
use super::program::Program;
use super::syscalls::{Call, Class};
use crate::kernel::ptrace::{
    ChildSetup, ChildStep, Resume, SyscallStop, Waited, fork_traced, pointer_array, report_pipe,
    resume, syscall_stop, wait_any,
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
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Child { step, error } => write!(f, "{}: {error}", step.name()),
            Self::Io(error) => error.fmt(f),
        }
    }
}

enum Control {
    /// Kill every process still traced.
    Kill,
}

/// A running trace. Dropping it kills the program (see [`Tracer::end`]).
pub struct Tracer {
    events: Receiver<TraceEvent>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
    leader: Pid,
    started: Instant,
    finished: bool,
}

impl Tracer {
    /// Starts `program` and traces it; returns once it has `execve`d (or failed to).
    pub fn start(
        program: &Program,
        stdio: Stdio,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
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
        let (events_in, events) = mpsc::sync_channel(limits.channel.max(16));
        let (control, control_out) = mpsc::channel();
        let (started_in, started_out) = mpsc::channel();
        let started = Instant::now();
        let thread = thread::Builder::new()
            .name("sockscope-tracer".into())
            .spawn(move || {
                let leader = match launch(&path, &argv, &envp, stdio) {
                    Ok(leader) => leader,
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
                };
                tracer.add(leader.as_raw(), None, false);
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
            self.end(&[], Duration::ZERO);
        }
    }
}

/// Forks the program, sets the trace options while it waits in its `SIGSTOP`, and follows it up
/// to its `execve`.
fn launch(
    path: &CString,
    argv: &[CString],
    envp: &[CString],
    stdio: Stdio,
) -> Result<Pid, StartError> {
    let filter = filter::program();
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
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESECCOMP
        // If sockscope dies, the program dies with it rather than hit ENOSYS untraced.
        | Options::PTRACE_O_EXITKILL;
    loop {
        match wait_any().map_err(StartError::Io)? {
            Waited::Stopped { pid, signal } if pid == raw && signal == libc::SIGSTOP => {
                ptrace::setoptions(Pid::from_raw(pid), options)
                    .map_err(|e| StartError::Io(e.into()))?;
                resume(pid, Resume::Continue, 0).map_err(StartError::Io)?;
            }
            Waited::Event { pid, event } if pid == raw && event == libc::PTRACE_EVENT_EXEC => {
                resume(pid, Resume::Continue, 0).map_err(StartError::Io)?;
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
        if let Some(waker) = &self.waker {
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
        if let Some(waker) = &self.waker {
            let _ = waker.wake();
        }
    }

    /// A new tracee; `awaiting_stop` until its initial `SIGSTOP` is seen.
    fn add(&mut self, pid: i32, parent: Option<i32>, thread: bool) {
        let recorded = self.recorded < self.limits.processes;
        if recorded {
            self.recorded += 1;
        }
        self.processes.insert(
            pid,
            Process {
                pending: None,
                recorded,
                awaiting_stop: parent.is_some(),
                announced: true,
            },
        );
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

    fn run(&mut self) {
        loop {
            if let Ok(Control::Kill) = self.control.try_recv() {
                for &pid in self.processes.keys() {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            // ECHILD: nothing left to trace.
            let Ok(waited) = wait_any() else { break };
            // A resume that fails means the tracee died meanwhile (SIGKILL): its exit follows.
            let _ = self.handle(waited);
        }
        self.emit_always(TraceEvent::Finished);
    }

    fn handle(&mut self, waited: Waited) -> io::Result<()> {
        match waited {
            Waited::Exited { pid, status } => self.ended(pid, Ending::Exited(status)),
            Waited::Signaled { pid, signal } => self.ended(pid, Ending::Signaled(signal)),
            Waited::Event { pid, event } => return self.event(pid, event),
            Waited::SyscallStop { pid } => return self.syscall_exit(pid),
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
                    return resume(pid, Resume::Continue, 0);
                }
                // A new tracee whose stop came before its parent's fork event: known from now.
                None => {
                    self.processes.insert(
                        pid,
                        Process {
                            pending: None,
                            recorded: false,
                            awaiting_stop: false,
                            announced: false,
                        },
                    );
                    return resume(pid, Resume::Continue, 0);
                }
                Some(_) => {}
            }
        }
        // A group-stop (PTRACE_GETSIGINFO fails with EINVAL): leave it stopped, as the signal
        // meant; SIGCONT will resume it.
        if ptrace::getsiginfo(Pid::from_raw(pid)) == Err(nix::errno::Errno::EINVAL) {
            return Ok(());
        }
        resume(pid, Resume::Continue, signal)
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
                    if process.recorded {
                        self.emit_always(TraceEvent::Exec { pid, at_ms });
                    }
                }
            }
            libc::PTRACE_EVENT_SECCOMP => return self.seccomp(pid),
            _ => {}
        }
        resume(pid, Resume::Continue, 0)
    }

    /// A filtered syscall is about to run: decide whether to follow it to its return.
    fn seccomp(&mut self, pid: i32) -> io::Result<()> {
        let recorded = self.processes.get(&pid).is_some_and(|p| p.recorded);
        let SyscallStop::Seccomp { arch, nr, args } = syscall_stop(Pid::from_raw(pid))? else {
            return resume(pid, Resume::Continue, 0);
        };
        let call = Call::from_number(nr).filter(|_| arch == filter::NATIVE_ARCH && recorded);
        let Some(call) = call else {
            return resume(pid, Resume::Continue, 0);
        };
        // read, write, close, dup and fcntl are shown only on sockets: a program's file reads
        // cost one stop each, not two.
        if call.class() == Class::OnAnyFd && !is_socket(pid, args[0] as i32) {
            return resume(pid, Resume::Continue, 0);
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

    fn syscall_exit(&mut self, pid: i32) -> io::Result<()> {
        match syscall_stop(Pid::from_raw(pid))? {
            SyscallStop::Exit { value, is_error } => {
                let pending = self.processes.get_mut(&pid).and_then(|p| p.pending.take());
                if let Some(pending) = pending {
                    let name = pending.call.name();
                    let fd = pending.fd;
                    let decoded =
                        decode::exit(&pending, value, is_error, &Tracee(Pid::from_raw(pid)));
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
                resume(pid, Resume::Continue, 0)
            }
            // Kernels before 4.8 stop at the seccomp check before the syscall-entry stop: go on
            // to the exit stop.
            SyscallStop::Entry { .. } => resume(pid, Resume::Syscall, 0),
            _ => resume(pid, Resume::Continue, 0),
        }
    }
}

/// Whether `tid` is a thread of another process (its thread group id is not its own id).
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
