//! The interactive loop: one `mio::Poll` for the lab's sockets, the input thread's waker and the
//! signals; a snapshot per probe tick; a frame only when something changed.

mod lecture;

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::Event;
use mio::{Interest, Token};
use ratatui::layout::Rect;
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
use signal_hook_mio::v1_0::Signals;

pub use self::lecture::Lecture;
use crate::app::{App, Effect, ThemeName, keymap};
use crate::command::{Located, parse_script};
use crate::lab::{Lab, LabConfig, Step};
use crate::model::Snapshot;
use crate::term::{self, InputThread, Tui};
use crate::text::Lang;
use crate::ui;

const SIGNAL_TOKEN: Token = Token(1);
/// At most ~30 frames a second.
const FRAME: Duration = Duration::from_millis(33);
/// Probing may take at most 1/20 of the time (5% of a core).
const PROBE_BUDGET: u32 = 20;
/// Even an idle screen is redrawn this often, so ages and timers keep moving.
const IDLE_REDRAW: Duration = Duration::from_secs(1);

/// How the dashboard is started.
pub struct Options {
    pub lab: LabConfig,
    pub lang: Lang,
    pub theme: ThemeName,
    /// Time between kernel probes (default 100 ms = 10 per second).
    pub refresh: Duration,
    pub mouse: bool,
    /// Start in the presenter layout.
    pub presenter: bool,
    /// Commands to run at start (already parsed, so a mistake is reported before the screen opens).
    pub script: Vec<Located>,
    /// Test hook: panic after this long, to prove the panic hook restores the terminal.
    pub panic_after: Option<Duration>,
    /// Lecture mode: the scenario to present, step by step.
    pub lecture: Option<Lecture>,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Quit,
    Signal(i32),
    InputClosed,
}

struct Runtime {
    lab: Lab,
    app: App,
    pending: VecDeque<Located>,
    resume_at: Option<Instant>,
    refresh: Duration,
    next_probe: Instant,
    last_draw: Option<Instant>,
    dirty: bool,
    /// A socket had activity since the last probe: probe again soon.
    activity: bool,
    panic_at: Option<Instant>,
    lecture: Option<Lecture>,
}

/// Runs the dashboard until the user quits or a signal ends it. The terminal is restored on
/// every way out (the guard's drop, and the panic hook).
pub fn run(options: Options) -> Result<Ending> {
    let lab = Lab::new(options.lab.clone()).wrap_err("starting the lab's event loop")?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGWINCH])?;
    lab.registry()
        .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
    let mut app = App::new(options.lang, options.theme);
    app.mouse = options.mouse;
    if options.presenter {
        app.layout = crate::app::LayoutMode::Presenter;
    }

    let (mut terminal, _guard) = term::enter(options.mouse).wrap_err("opening the terminal")?;
    let (sender, receiver) = mpsc::channel();
    let _input = InputThread::spawn(sender, lab.waker())?;
    let size = terminal.size()?;
    app.screen = Rect::new(0, 0, size.width, size.height);

    let mut runtime = Runtime {
        lab,
        app,
        pending: options.script.into_iter().collect(),
        resume_at: None,
        refresh: options.refresh,
        next_probe: Instant::now(),
        last_draw: None,
        dirty: true,
        activity: false,
        panic_at: options.panic_after.map(|after| Instant::now() + after),
        lecture: options.lecture,
    };
    if runtime.lecture.is_some() {
        runtime.lecture_step(&Effect::StepForward)?;
    }
    runtime.event_loop(&mut terminal, &receiver, &mut signals)
}

impl Runtime {
    fn event_loop(
        &mut self,
        terminal: &mut Tui,
        input: &Receiver<Event>,
        signals: &mut Signals,
    ) -> Result<Ending> {
        loop {
            self.run_pending();
            let timeout = self.timeout();
            let wakeups = self.lab.poll(Some(timeout))?;
            self.activity |= wakeups.socket_activity;
            if wakeups.driver_tokens.contains(&SIGNAL_TOKEN) {
                for signal in signals.pending() {
                    if signal == SIGWINCH {
                        self.resize(terminal)?;
                    } else {
                        return Ok(Ending::Signal(signal));
                    }
                }
            }
            loop {
                match input.try_recv() {
                    Ok(event) => {
                        if self.handle_input(&event, terminal)? {
                            return Ok(Ending::Quit);
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return Ok(Ending::InputClosed),
                }
            }
            if self
                .lecture
                .as_ref()
                .and_then(Lecture::autoplay_due)
                .is_some_and(|due| Instant::now() >= due)
            {
                self.lecture_step(&Effect::StepForward)?;
            }
            self.probe_if_due();
            self.draw_if_due(terminal)?;
            assert!(
                self.panic_at.is_none_or(|at| Instant::now() < at),
                "panic requested with --panic-after"
            );
        }
    }

    /// The time until the next thing that is due: a probe, a script's resume, a frame, a fade.
    fn timeout(&self) -> Duration {
        let now = Instant::now();
        let mut due = self.next_probe;
        if let Some(at) = self.panic_at {
            due = due.min(at);
        }
        if let Some(resume) = self.resume_at {
            due = due.min(resume);
        }
        if let Some(autoplay) = self.lecture.as_ref().and_then(Lecture::autoplay_due) {
            due = due.min(autoplay);
        }
        if self.dirty {
            due = due.min(self.last_draw.map_or(now, |last| last + FRAME));
        } else if let Some(last) = self.last_draw {
            due = due.min(last + IDLE_REDRAW);
        }
        if let Some(expiry) = self.app.changes.next_expiry(self.app.now_ms) {
            let in_ms = expiry.saturating_sub(self.lab.elapsed_ms());
            due = due.min(now + Duration::from_millis(in_ms));
        }
        due.saturating_duration_since(now)
    }

    /// Runs queued script commands until one asks to wait.
    fn run_pending(&mut self) {
        if self.resume_at.is_some_and(|resume| Instant::now() < resume) {
            return;
        }
        self.resume_at = None;
        while let Some(located) = self.pending.pop_front() {
            let outcome = self.lab.execute(&located.command);
            self.report(&outcome.clone().map(|step| (step, located.source.clone())));
            self.next_probe = Instant::now();
            if let Ok(Step::Wait(duration)) = outcome {
                self.resume_at = Some(Instant::now() + duration);
                return;
            }
        }
    }

    /// Puts the outcome of a command in the status line.
    fn report(&mut self, outcome: &Result<(Step, String), crate::lab::LabError>) {
        let lang = self.app.lang;
        match outcome {
            Err(error) => self.app.set_status(error.message(lang), true),
            Ok((Step::Wait(_), source)) => self.app.set_status(source.clone(), false),
            Ok((Step::Done, _)) => {
                if let Some(entry) = self.lab.last_trace() {
                    let line = format!("{} = {}", entry.call, entry.result);
                    self.app.set_status(line, entry.failed);
                }
            }
        }
        self.dirty = true;
    }

    fn resize(&mut self, terminal: &mut Tui) -> Result<()> {
        let size = terminal.size()?;
        self.app.screen = Rect::new(0, 0, size.width, size.height);
        terminal.autoresize()?;
        self.dirty = true;
        Ok(())
    }

    /// Returns true when the user asked to quit.
    fn handle_input(&mut self, event: &Event, terminal: &mut Tui) -> Result<bool> {
        if let Event::Resize(..) = event {
            self.resize(terminal)?;
            return Ok(false);
        }
        let lecture = self.app.lecture.is_some();
        let Some(action) = keymap::action_for(event, self.app.mode, lecture) else {
            return Ok(false);
        };
        self.dirty = true;
        for effect in self.app.update(action) {
            match effect {
                Effect::Quit => return Ok(true),
                Effect::Run(line) => self.submit(&line),
                Effect::StepForward | Effect::StepBack | Effect::Restart => {
                    self.lecture_step(&effect)?;
                }
            }
        }
        Ok(false)
    }

    /// Moves the lecture a step and shows where it landed.
    fn lecture_step(&mut self, effect: &Effect) -> Result<()> {
        let Some(lecture) = self.lecture.as_mut() else {
            return Ok(());
        };
        let landed: Option<Snapshot> = match effect {
            Effect::StepForward => lecture.forward(&mut self.lab)?,
            Effect::StepBack => lecture.back(&mut self.lab)?,
            Effect::Restart => Some(lecture.restart(&mut self.lab)?),
            Effect::Run(_) | Effect::Quit => None,
        };
        let view = lecture.view(self.app.lang);
        let focus = lecture.focus().map(str::to_owned);
        if let Some(snapshot) = landed {
            self.app.apply(snapshot);
            if let Some(name) = focus {
                self.app.focus_name(&name);
            }
        }
        self.app.lecture = Some(view);
        self.next_probe = Instant::now();
        self.dirty = true;
        Ok(())
    }

    /// A command line typed at the prompt or made by a key: parsed whole, then queued.
    fn submit(&mut self, line: &str) {
        match parse_script(line) {
            Ok(parsed) => {
                self.pending.extend(parsed);
                self.run_pending();
            }
            Err(error) => self.app.set_status(error.localized(self.app.lang), true),
        }
    }

    fn probe_if_due(&mut self) {
        let now = Instant::now();
        let activity_due = self.activity && self.last_draw.is_none_or(|last| now >= last + FRAME);
        if now >= self.next_probe || activity_due {
            let snapshot = self.lab.snapshot();
            let cost = now.elapsed();
            if self.app.apply(snapshot) {
                self.dirty = true;
            }
            self.activity = false;
            // A lab of thousands of sockets makes each probe expensive: space them so probing
            // takes at most 1/PROBE_BUDGET of the time, whatever --refresh asks.
            self.next_probe = now + self.refresh.max(cost * PROBE_BUDGET);
        }
        let now_ms = self.lab.elapsed_ms();
        if self
            .app
            .changes
            .next_expiry(self.app.now_ms)
            .is_some_and(|expiry| expiry <= now_ms)
        {
            self.dirty = true;
        }
    }

    fn draw_if_due(&mut self, terminal: &mut Tui) -> Result<()> {
        let now = Instant::now();
        if self.last_draw.is_some_and(|last| now >= last + IDLE_REDRAW) {
            self.dirty = true;
        }
        if !self.dirty || self.last_draw.is_some_and(|last| now < last + FRAME) {
            return Ok(());
        }
        self.app.now_ms = self.lab.elapsed_ms();
        terminal.draw(|frame| ui::render(frame, &self.app))?;
        self.last_draw = Some(now);
        self.dirty = false;
        Ok(())
    }
}
