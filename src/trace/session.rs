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
use super::tracer::{Limits, StartError, Stdio, Tracer};
use super::view::{self, ProgramFd, ProgramListener, ProgramSocket};
use crate::kernel::sock_diag::SockDiag;

/// How long the program gets to end after `SIGTERM` before `SIGKILL`.
pub const GRACE: Duration = Duration::from_secs(1);

/// The program as a snapshot shows it: the same field meanings as the lab's JSON for `fds`,
/// `sockets`, `listeners`; `syscalls` are the program's own, in strace form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// A running traced program.
pub struct TracedRun {
    program: Program,
    tracer: Tracer,
    log: ProgramLog,
    stdout: Captured,
    stderr: Captured,
    ended: bool,
}

impl TracedRun {
    /// Starts `program` with `/dev/null` as its input and pipes as its output.
    pub fn start(
        program: Program,
        limits: Limits,
        waker: Option<Arc<mio::Waker>>,
    ) -> Result<Self, StartError> {
        let null = OwnedFd::from(File::open("/dev/null").map_err(StartError::Io)?);
        let (stdout, stdout_fd) = Captured::new().map_err(StartError::Io)?;
        let (stderr, stderr_fd) = Captured::new().map_err(StartError::Io)?;
        let child_stdio = Stdio {
            stdin: null,
            stdout: stdout_fd,
            stderr: stderr_fd,
        };
        let tracer = Tracer::start(&program, child_stdio, limits, waker)?;
        let mut run = Self {
            program,
            tracer,
            log: ProgramLog::new(DEFAULT_SYSCALL_LIMIT),
            stdout,
            stderr,
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
        self.pump();
        let view = view::read(&self.log.live_processes(), diag);
        let leader = self.tracer.leader();
        ProgramSnapshot {
            command: self
                .program
                .argv
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            pid: leader,
            processes: self.log.processes.values().cloned().collect(),
            fds: view.fds,
            sockets: view.sockets,
            listeners: view.listeners,
            syscalls: self.log.syscalls.iter().cloned().collect(),
            syscalls_dropped: self.log.syscalls_dropped,
            events_dropped: self.log.events_dropped,
            unrecorded_processes: self.log.unrecorded_processes,
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            output_dropped: self.stdout.dropped + self.stderr.dropped,
            exit: self.log.processes.get(&leader).and_then(|p| p.ended),
            probe_errors: view.probe_errors,
            at_ms: self.tracer.started().elapsed().as_millis() as u64,
        }
    }

    /// Ends the program (`SIGTERM`, then `SIGKILL` after `grace`) and waits for the tracer.
    pub fn end(&mut self, grace: Duration) {
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
        self.end(Duration::ZERO);
    }
}

/// The bytes kept of each output stream (for docs and tests).
pub const OUTPUT_KEPT: usize = KEPT_BYTES;
