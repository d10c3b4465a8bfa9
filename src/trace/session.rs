//! A traced program with its output captured and its events kept: what a screen or a headless
//! snapshot holds. Reading it never blocks; [`TracedRun::settle`] waits, bounded.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::event::{Ending, Syscall};
use super::log::{DEFAULT_SYSCALL_LIMIT, ProcessInfo, ProgramLog};
use super::output::{Captured, KEPT_BYTES};
use super::program::Program;
use super::tracer::{Limits, StartError, Stdio, Stops, Tracer};
use super::view::{self, ProgramFd, ProgramListener, ProgramSocket};
use crate::kernel::sock_diag::SockDiag;

/// How long the program gets to end after `SIGTERM` before `SIGKILL`.
pub const GRACE: Duration = Duration::from_secs(1);

/// The longest the program may take to reach its first wait before the lab's commands run anyway.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The program as a snapshot shows it: the same field meanings as the lab's JSON for `fds`,
/// `sockets`, `listeners`; `syscalls` are the program's own, in strace form. The default is an
/// empty program (pid 0, nothing seen yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProgramSnapshot {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Its first process.
    pub pid: i32,
    pub processes: Vec<ProcessInfo>,
    pub fds: Vec<ProgramFd>,
    pub sockets: Vec<ProgramSocket>,
    pub listeners: Vec<ProgramListener>,
    pub syscalls: Vec<Syscall>,
    pub syscalls_dropped: u64,
    /// Events the tracer could not hand over in time (counted, not kept).
    pub events_dropped: u64,
    /// Processes beyond the cap: followed, their syscalls not recorded.
    pub unrecorded_processes: u64,
    /// The last bytes of its standard output and error (at most 64 KiB each), as text; escape
    /// before printing.
    pub stdout: String,
    pub stderr: String,
    /// Older output bytes not kept.
    pub output_dropped: u64,
    /// How the first process ended, if it did before the snapshot.
    pub exit: Option<Ending>,
    pub probe_errors: Vec<String>,
    /// Milliseconds since the program started.
    pub at_ms: u64,
    /// Why there are no syscalls (`--pid` where ptrace is not permitted), in the user's language.
    pub untraced_reason: Option<String>,
}

impl ProgramSnapshot {
    /// A process sockscope may not trace: its descriptor table and sockets as `/proc` and
    /// `sock_diag` allow, and `reason` for the missing syscalls.
    pub fn untraced(pid: i32, diag: &mut SockDiag, reason: String) -> Self {
        let view = view::read(&[pid], diag);
        Self {
            command: cmdline(pid),
            pid,
            fds: view.fds,
            sockets: view.sockets,
            listeners: view.listeners,
            probe_errors: view.probe_errors,
            untraced_reason: Some(reason),
            ..Self::default()
        }
    }
}

/// A running traced program.
pub struct TracedRun {
    /// The program and its arguments (of an attached process: its `/proc/PID/cmdline`).
    command: Vec<String>,
    /// Attached with `--pid` (not started by sockscope): left running at the end.
    attached: bool,
    tracer: Tracer,
    log: ProgramLog,
    stdout: Captured,
    stderr: Captured,
    /// The writing end of the program's standard input (non-blocking), when it was given a pipe.
    stdin: Option<mio::unix::pipe::Sender>,
    ended: bool,
}

/// What the program reads as its standard input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `/dev/null`: it reads end of file at once (snapshots).
    Null,
    /// A pipe sockscope writes into ([`TracedRun::write_stdin`]).
    Pipe,
}

impl TracedRun {
    /// Starts `program` with `/dev/null` as its input and pipes as its output.
    pub fn start(
        program: Program,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
    ) -> Result<Self, StartError> {
        Self::start_with(program, limits, waker, Input::Null, Stops::Seccomp)
    }

    /// Attaches to the running process `pid` (see [`Tracer::attach`]): its output is not
    /// sockscope's to capture, and ending the run detaches and leaves it running.
    pub fn attach(
        pid: i32,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
    ) -> Result<Self, StartError> {
        let tracer = Tracer::attach(pid, limits, waker)?;
        // Pipes whose writing ends are dropped at once: empty, and closed.
        let (stdout, _) = Captured::new().map_err(StartError::Io)?;
        let (stderr, _) = Captured::new().map_err(StartError::Io)?;
        let mut run = Self {
            command: cmdline(pid),
            attached: true,
            tracer,
            log: ProgramLog::new(DEFAULT_SYSCALL_LIMIT),
            stdout,
            stderr,
            stdin: None,
            ended: false,
        };
        run.pump();
        Ok(run)
    }

    /// Attached with `--pid`.
    #[must_use]
    pub fn is_attached(&self) -> bool {
        self.attached
    }

    /// Which syscalls stop the program.
    #[must_use]
    pub fn stops(&self) -> Stops {
        self.tracer.stops()
    }

    /// Leaves the program running untraced (attached processes and programs started with
    /// [`Stops::Every`]); a program under the seccomp filter is ended instead (see [`Stops`]).
    pub fn detach(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        for event in self.tracer.detach() {
            self.log.apply(event);
        }
        self.stdout.read_available();
        self.stderr.read_available();
    }

    /// Starts `program` with `input` as its standard input and pipes as its output.
    pub fn start_with(
        program: Program,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
        input: Input,
        stops: Stops,
    ) -> Result<Self, StartError> {
        let (stdin_fd, stdin) = match input {
            Input::Null => (
                OwnedFd::from(File::open("/dev/null").map_err(StartError::Io)?),
                None,
            ),
            Input::Pipe => {
                let (sender, receiver) = mio::unix::pipe::new().map_err(StartError::Io)?;
                // The program reads its input blocking, as from a terminal.
                receiver.set_nonblocking(false).map_err(StartError::Io)?;
                (OwnedFd::from(receiver), Some(sender))
            }
        };
        let (stdout, stdout_fd) = Captured::new().map_err(StartError::Io)?;
        let (stderr, stderr_fd) = Captured::new().map_err(StartError::Io)?;
        let child_stdio = Stdio {
            stdin: stdin_fd,
            stdout: stdout_fd,
            stderr: stderr_fd,
        };
        let tracer = Tracer::start_with(&program, child_stdio, limits, waker, stops)?;
        let mut run = Self {
            command: program
                .argv
                .into_iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            attached: false,
            tracer,
            log: ProgramLog::new(DEFAULT_SYSCALL_LIMIT),
            stdout,
            stderr,
            stdin,
            ended: false,
        };
        run.pump();
        Ok(run)
    }

    /// Takes in every event and output byte available now.
    pub fn pump(&mut self) {
        for event in self.tracer.drain() {
            self.log.apply(event);
        }
        self.stdout.read_available();
        self.stderr.read_available();
    }

    /// Waits until the program waits for the network (accept, poll, recv, ...) or has ended, at
    /// most `limit`; says whether it did.
    pub fn settle(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        self.pump();
        while !self.log.has_waited && !self.log.finished {
            match self.tracer.next_until(deadline) {
                Some(event) => self.log.apply(event),
                None => break,
            }
        }
        self.pump();
        self.log.has_waited || self.log.finished
    }

    /// Writes `bytes` to the program's standard input without waiting: how many it took (a full
    /// pipe takes fewer; the program is not reading).
    pub fn write_stdin(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        use std::io::Write as _;
        match self.stdin.as_mut() {
            Some(pipe) => match pipe.write(bytes) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
                other => other,
            },
            None => Err(std::io::ErrorKind::Unsupported.into()),
        }
    }

    /// The reading ends of its standard output and error, to register with the reactor.
    pub fn output_pipes(
        &mut self,
    ) -> (
        &mut mio::unix::pipe::Receiver,
        &mut mio::unix::pipe::Receiver,
    ) {
        (self.stdout.receiver(), self.stderr.receiver())
    }

    /// Whether the program's first process has ended.
    #[must_use]
    pub fn leader_ending(&self) -> Option<Ending> {
        self.log
            .processes
            .get(&self.tracer.leader())
            .and_then(|p| p.ended)
    }

    /// Whether `end` was called (the program was told to end, or left running on `--detach`).
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The program now, without its syscalls (a screen takes those from [`TracedRun::log`] as
    /// they come, rather than copying all of them at every probe).
    pub fn view(&mut self, diag: &mut SockDiag) -> ProgramSnapshot {
        self.pump();
        let view = view::read(&self.log.live_processes(), diag);
        let leader = self.tracer.leader();
        ProgramSnapshot {
            command: self.command.clone(),
            pid: leader,
            processes: self.log.processes.values().cloned().collect(),
            fds: view.fds,
            sockets: view.sockets,
            listeners: view.listeners,
            syscalls: Vec::new(),
            syscalls_dropped: self.log.syscalls_dropped,
            events_dropped: self.log.events_dropped,
            unrecorded_processes: self.log.unrecorded_processes,
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            output_dropped: self.stdout.dropped + self.stderr.dropped,
            exit: self.log.processes.get(&leader).and_then(|p| p.ended),
            probe_errors: view.probe_errors,
            at_ms: self.tracer.started().elapsed().as_millis() as u64,
            untraced_reason: None,
        }
    }

    #[must_use]
    pub fn log(&self) -> &ProgramLog {
        &self.log
    }

    #[must_use]
    pub fn pid(&self) -> i32 {
        self.tracer.leader()
    }

    /// The program now: its processes' descriptor tables and sockets, its syscalls so far.
    pub fn snapshot(&mut self, diag: &mut SockDiag) -> ProgramSnapshot {
        let mut snapshot = self.view(diag);
        snapshot.syscalls = self.log.syscalls.iter().cloned().collect();
        snapshot
    }

    /// Ends the program (`SIGTERM`, then `SIGKILL` after `grace`) and waits for the tracer.
    pub fn end(&mut self, grace: Duration) {
        if self.attached {
            self.detach();
            return;
        }
        if self.ended {
            return;
        }
        self.ended = true;
        let alive = self.log.live_tasks();
        for event in self.tracer.end(&alive, grace) {
            self.log.apply(event);
        }
        self.stdout.read_available();
        self.stderr.read_available();
    }
}

impl Drop for TracedRun {
    fn drop(&mut self) {
        if self.attached {
            self.detach();
        } else {
            self.end(Duration::ZERO);
        }
    }
}

/// The command line of process `pid`, as its words (empty if unreadable).
fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|word| !word.is_empty())
                .map(|word| crate::escape::visible(&String::from_utf8_lossy(word)))
                .collect()
        })
        .unwrap_or_default()
}

/// The bytes kept of each output stream (for docs and tests).
pub const OUTPUT_KEPT: usize = KEPT_BYTES;
