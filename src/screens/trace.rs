//! `sockscope trace -- PROG ARGS` and `sockscope trace --pid PID` as a [`Screen`] of the runtime:
//! the traced program (its tracer thread wakes the reactor when it has news, its output pipes are
//! sources of the reactor) beside a lab whose clients can poke it. Keys and the prompt go through
//! [`TraceBoard`]; lab commands through the same job [`Queue`] as the lab's dashboard; the kernel
//! is read at `--refresh`.

use std::borrow::Cow;
use std::io;
use std::time::{Duration, Instant};

use mio::{Interest, Token};
use ratatui::Frame;

use super::jobs::{self, DrivesLab};
use super::queue::Queue;
use crate::command::{Located, parse_script};
use crate::kernel::sock_diag::SockDiag;
use crate::lab::{Lab, LabConfig, LabError, Step};
use crate::runtime::reactor::{Reactor, Ready};
use crate::runtime::{Ending, Flow, Happening, Screen};
use crate::script::Job;
use crate::settings::ThemeName;
use crate::text::{self, Lang};
use crate::trace::board::{BoardEffect, TraceBoard};
use crate::trace::program::Program;
use crate::trace::session::{GRACE, Input, ProgramSnapshot, TracedRun};
use crate::trace::tracer::{Limits, StartError, Stops};
use crate::ui;

/// The program's standard output and error, as sources of the reactor: far above the lab's
/// socket tokens, which count up from `FIRST_SOCKET_TOKEN`.
const STDOUT_TOKEN: Token = Token(usize::MAX / 2);
const STDERR_TOKEN: Token = Token(usize::MAX / 2 + 1);

/// Even an idle board is redrawn this often (the header's clock, a process that ended).
const IDLE_REDRAW: Duration = Duration::from_secs(1);

/// What to trace.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start this program under trace.
    Start(Program),
    /// Attach to this running process.
    Attach(i32),
}

/// How the board is started.
pub struct Options {
    pub target: Target,
    pub lab: LabConfig,
    pub lang: Lang,
    pub theme: ThemeName,
    /// Time between kernel reads (default 100 ms).
    pub refresh: Duration,
    /// q leaves the program running (a started program then runs without the seccomp filter:
    /// every syscall stops, see [`Stops`]).
    pub detach: bool,
    /// Lab commands to run once the program waits for the network (`--run`).
    pub script: Vec<Located>,
}

pub struct TraceScreen {
    lab: Lab,
    /// `None` when `--pid` may not trace the process.
    run: Option<TracedRun>,
    /// The process shown when it is not traced.
    untraced: Option<(i32, String)>,
    diag: SockDiag,
    board: TraceBoard,
    queue: Queue,
    refresh: Duration,
    next_probe: Instant,
    dirty: bool,
}

/// Why the program did not start, said in the user's language.
#[must_use]
pub fn start_message(lang: Lang, shown: &str, error: &StartError) -> String {
    match error {
        StartError::Child { step, error } => text::format(
            lang,
            if *step == crate::kernel::ptrace::ChildStep::Exec {
                "trace.cannot_exec"
            } else {
                "trace.cannot_trace"
            },
            &[
                ("name", shown),
                ("step", step.name()),
                ("error", &error.to_string()),
            ],
        ),
        StartError::Io(error) | StartError::Attach(error) => text::format(
            lang,
            "trace.cannot_trace",
            &[
                ("name", shown),
                ("step", "fork"),
                ("error", &error.to_string()),
            ],
        ),
    }
}

impl TraceScreen {
    /// Starts (or attaches to) the program; its tracer and output wake `reactor`.
    pub fn new(reactor: &Reactor, options: Options) -> io::Result<Self> {
        let lab = Lab::new(reactor, options.lab)?;
        let diag = SockDiag::new()?;
        let lang = options.lang;
        let mut untraced = None;
        let run = match &options.target {
            Target::Start(program) => {
                let stops = if options.detach {
                    Stops::Every
                } else {
                    Stops::Seccomp
                };
                let shown = program.shown();
                let run = TracedRun::start_with(
                    program.clone(),
                    Limits::default(),
                    Some(reactor.waker()),
                    Input::Pipe,
                    stops,
                )
                .map_err(|error| io::Error::other(start_message(lang, &shown, &error)))?;
                Some(run)
            }
            Target::Attach(pid) => {
                match TracedRun::attach(*pid, Limits::default(), Some(reactor.waker())) {
                    Ok(run) => Some(run),
                    Err(StartError::Attach(error)) => {
                        untraced = Some((*pid, crate::trace::attach::why_not(*pid, &error, lang)));
                        None
                    }
                    Err(error) => {
                        return Err(io::Error::other(start_message(
                            lang,
                            &pid.to_string(),
                            &error,
                        )));
                    }
                }
            }
        };
        let mut screen = Self {
            lab,
            run,
            untraced,
            diag,
            // An empty program until the first probe.
            board: TraceBoard::new(lang, options.theme, ProgramSnapshot::default()),
            queue: Queue::default(),
            refresh: options.refresh,
            next_probe: Instant::now(),
            dirty: true,
        };
        screen.board.detach = options.detach;
        screen.board.attached = matches!(options.target, Target::Attach(_));
        if let Some(run) = screen.run.as_mut() {
            let (stdout, stderr) = run.output_pipes();
            reactor
                .registry()
                .register(stdout, STDOUT_TOKEN, Interest::READABLE)?;
            reactor
                .registry()
                .register(stderr, STDERR_TOKEN, Interest::READABLE)?;
            // A server is listening once it waits: the lab's clients then find it.
            if !options.script.is_empty() && !run.is_attached() {
                run.settle(crate::trace::session::SETTLE_LIMIT);
            }
        }
        screen
            .queue
            .extend(options.script.into_iter().map(Job::Command));
        screen.probe();
        Ok(screen)
    }

    /// The board, for tests that look at it beside the frame.
    #[must_use]
    pub fn board(&self) -> &TraceBoard {
        &self.board
    }

    /// The traced program's first process.
    #[must_use]
    pub fn pid(&self) -> Option<i32> {
        self.run.as_ref().map(TracedRun::pid)
    }

    /// Whether lab commands or a wait are still pending.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.queue.is_busy()
    }

    /// Reads the program and the lab from the kernel.
    fn probe(&mut self) {
        let program = match (&mut self.run, &self.untraced) {
            (Some(run), _) => run.view(&mut self.diag),
            (None, Some((pid, reason))) => {
                ProgramSnapshot::untraced(*pid, &mut self.diag, reason.clone())
            }
            (None, None) => ProgramSnapshot::default(),
        };
        self.board.program = program;
        self.board.lab = self.lab.snapshot();
        self.take_syscalls();
        self.next_probe = Instant::now() + self.refresh;
        self.dirty = true;
    }

    fn take_syscalls(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.pump();
            let log = run.log();
            let total = log.syscalls_dropped + log.syscalls.len() as u64;
            if total != self.board.syscalls_seen {
                self.board.take_syscalls(total, log.syscalls.iter());
                self.dirty = true;
            }
        }
    }

    fn report(&mut self, outcome: &Result<Step, LabError>, source: &str) {
        if let Some((line, error)) =
            jobs::status_line(outcome, source, &self.lab, self.board.lang, "lab: ")
        {
            self.board.set_status(line, error);
        }
        self.dirty = true;
    }

    fn effect(&mut self, effect: BoardEffect) -> Flow {
        let lang = self.board.lang;
        match effect {
            BoardEffect::None => {}
            BoardEffect::Quit => {
                self.leave();
                return Flow::End(Ending::Quit);
            }
            BoardEffect::Lab(line) => match parse_script(&line) {
                Ok(parsed) => self.queue.extend(parsed.into_iter().map(Job::Command)),
                Err(error) => self.board.set_status(error.localized(lang), true),
            },
            BoardEffect::Stdin(bytes) => {
                let outcome = self
                    .run
                    .as_mut()
                    .map(|run| run.write_stdin(bytes.as_bytes()));
                let (message, error) = match outcome {
                    Some(Ok(written)) if written == bytes.len() => (
                        text::format(
                            lang,
                            "trace_board.stdin_written",
                            &[("count", &written.to_string())],
                        ),
                        false,
                    ),
                    Some(Ok(written)) => (
                        text::format(
                            lang,
                            "trace_board.stdin_full",
                            &[
                                ("count", &written.to_string()),
                                ("wanted", &bytes.len().to_string()),
                            ],
                        ),
                        true,
                    ),
                    Some(Err(error)) => (
                        text::format(
                            lang,
                            "trace_board.stdin_failed",
                            &[("error", &error.to_string())],
                        ),
                        true,
                    ),
                    None => (text::get(lang, "trace_board.no_stdin").to_owned(), true),
                };
                self.board.set_status(message, error);
            }
        }
        self.dirty = true;
        Flow::Continue
    }

    /// The end of the board: the program is ended (SIGTERM, SIGKILL after the grace period), or
    /// left running with `--detach` and `--pid`.
    fn leave(&mut self) {
        if let Some(run) = self.run.as_mut() {
            if self.board.detach || run.is_attached() {
                run.detach();
            } else {
                run.end(GRACE);
            }
        }
    }

    fn tick(&mut self, now: Instant, reactor: &mut Reactor) -> Flow {
        self.lab.continue_work();
        if let Err(error) = jobs::run_jobs(self, now, reactor) {
            self.board
                .set_status(format!("sockscope: the event loop failed: {error}"), true);
        }
        self.take_syscalls();
        if now >= self.next_probe {
            self.probe();
        }
        Flow::Continue
    }
}

/// The lab's own sources among `ready` (not the program's output pipes).
fn lab_only(ready: &[Ready]) -> Vec<Ready> {
    ready
        .iter()
        .filter(|r| r.token != STDOUT_TOKEN && r.token != STDERR_TOKEN)
        .copied()
        .collect()
}

impl Drop for TraceScreen {
    fn drop(&mut self) {
        // Ended by a signal or the end of input rather than q: the same way out as q.
        self.leave();
    }
}

impl DrivesLab for TraceScreen {
    fn queue_and_lab(&mut self) -> (&mut Queue, &mut Lab) {
        (&mut self.queue, &mut self.lab)
    }

    fn lab_sources(ready: &[Ready]) -> Cow<'_, [Ready]> {
        Cow::Owned(lab_only(ready))
    }

    fn command_ran(
        &mut self,
        now: Instant,
        located: &Located,
        outcome: &Result<Step, LabError>,
        _activity: bool,
    ) {
        self.next_probe = now;
        self.report(outcome, &located.source);
    }
}

impl Screen for TraceScreen {
    fn handle(&mut self, happening: Happening<'_>, reactor: &mut Reactor) -> Flow {
        match happening {
            Happening::Input(event) => {
                let effect = self.board.input(event);
                self.dirty = true;
                self.effect(effect)
            }
            Happening::Ready(ready) => {
                if ready
                    .iter()
                    .any(|r| r.token == STDOUT_TOKEN || r.token == STDERR_TOKEN)
                {
                    // Output shows at the next probe; come to it soon.
                    self.next_probe = self
                        .next_probe
                        .min(Instant::now() + Duration::from_millis(30));
                }
                if self.lab.on_ready(&lab_only(ready)) {
                    self.next_probe = self
                        .next_probe
                        .min(Instant::now() + Duration::from_millis(30));
                }
                Flow::Continue
            }
            Happening::Tick(now) => self.tick(now, reactor),
            Happening::Resized { .. } => {
                self.dirty = true;
                Flow::Continue
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        let now = Instant::now();
        let runnable =
            (self.queue.is_busy() && self.queue.due().is_none()) || self.lab.has_unfinished_work();
        [
            Some(self.next_probe),
            self.queue.due(),
            runnable.then_some(now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn dirty(&self) -> bool {
        self.dirty
    }

    fn idle_redraw(&self) -> Option<Duration> {
        Some(IDLE_REDRAW)
    }

    fn draw(&self, frame: &mut Frame) {
        ui::trace_board::render(frame, &self.board);
    }

    fn drawn(&mut self) {
        self.dirty = false;
    }

    fn takes_bindings(&self) -> bool {
        self.board.mode == crate::trace::board::BoardMode::Normal
    }
}
