//! The lab's dashboard (and lecture mode) as a [`Screen`] of the runtime: the lab's sockets are
//! the screen's sources, keys become [`Action`]s and then [`Effect`]s, commands and lecture steps
//! go through one [`Queue`] whose waits are timers, and the kernel is probed at `--refresh`.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::jobs::{self, DrivesLab};
use super::queue::Queue;
use crate::app::{Action, App, Effect, LayoutMode, WaitView, keymap};
use crate::command::{Located, parse_script};
use crate::lab::{Lab, LabConfig, LabError, Step};
use crate::runtime::reactor::Reactor;
use crate::runtime::{Ending, Flow, Happening, Screen};
use crate::scenario::Lecture;
use crate::script::Job;
use crate::settings::ThemeName;
use crate::text::{self, Lang};
use crate::ui;

/// Probing may take at most 1/20 of the time (5% of a core).
const PROBE_BUDGET: u32 = 20;
/// Even an idle screen is redrawn this often, so ages and timers keep moving.
const IDLE_REDRAW: Duration = Duration::from_secs(1);
/// After socket activity, probe again at most this often (about a frame).
const ACTIVITY_PROBE: Duration = Duration::from_millis(33);
/// Probes in a row that found nothing new before the lab counts as idle...
const QUIET_PROBES: u32 = 20;
/// ...and is then probed only this often, until a command or a socket event wakes it: what
/// changes without either (a `TIME_WAIT` running out, a `SYN_RECV` from outside) shows within a
/// second, as the ages do.
const IDLE_PROBE: Duration = Duration::from_secs(1);

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

pub struct LabScreen {
    lab: Lab,
    app: App,
    queue: Queue,
    lecture: Option<Lecture>,
    refresh: Duration,
    next_probe: Instant,
    last_probe: Option<Instant>,
    dirty: bool,
    /// A socket had activity since the last probe: probe again soon.
    activity: bool,
    /// Probes in a row whose facts were all unchanged.
    quiet_probes: u32,
    panic_at: Option<Instant>,
    /// The terminal's area, for mapping clicks to panels.
    screen: Rect,
}

impl LabScreen {
    /// A dashboard whose lab registers its sockets with `reactor`.
    pub fn new(reactor: &Reactor, options: Options) -> io::Result<Self> {
        let lab = Lab::new(reactor, options.lab)?;
        let mut app = App::new(options.lang, options.theme);
        app.mouse = options.mouse;
        if options.presenter {
            app.layout = LayoutMode::Presenter;
        }
        let mut screen = Self {
            lab,
            app,
            queue: Queue::default(),
            lecture: options.lecture,
            refresh: options.refresh,
            next_probe: Instant::now(),
            last_probe: None,
            dirty: true,
            activity: false,
            quiet_probes: 0,
            panic_at: options
                .panic_after
                .and_then(|after| Instant::now().checked_add(after)),
            screen: Rect::new(0, 0, 80, 24),
        };
        screen
            .queue
            .extend(options.script.into_iter().map(Job::Command));
        if screen.lecture.is_some() {
            screen.lecture_effect(&Effect::StepForward);
        }
        Ok(screen)
    }

    /// The dashboard's state, for tests that look at it beside the frame.
    #[must_use]
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Whether commands or a wait are still pending.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.queue.is_busy()
    }

    /// Runs queued jobs until one starts a wait or the queue is empty.
    fn run_jobs(&mut self, now: Instant, reactor: &mut Reactor) -> io::Result<()> {
        jobs::run_jobs(self, now, reactor)?;
        self.show_waiting();
        Ok(())
    }

    /// What the status line says about a running wait.
    fn show_waiting(&mut self) {
        let waiting = self.queue.running_wait().map(|(what, _, until)| {
            let left = until.saturating_duration_since(Instant::now());
            WaitView {
                what: what.to_owned(),
                until_ms: self
                    .lab
                    .elapsed_ms()
                    .saturating_add(left.as_millis() as u64),
                queued: self.queue.queued(),
            }
        });
        if waiting != self.app.waiting {
            self.app.waiting = waiting;
            self.dirty = true;
        }
    }

    /// Puts the outcome of a command in the status line.
    fn report(&mut self, outcome: &Result<Step, LabError>, source: &str) {
        if let Some((line, error)) =
            jobs::status_line(outcome, source, &self.lab, self.app.lang, "")
        {
            self.app.set_status(line, error);
        }
        self.dirty = true;
    }

    fn effect(&mut self, effect: Effect) -> Flow {
        match effect {
            Effect::Quit => return Flow::End(Ending::Quit),
            Effect::Run(command) => {
                let source = command.to_line();
                self.queue.extend([Job::Command(Located {
                    line: 1,
                    column: 1,
                    source,
                    command,
                })]);
            }
            Effect::Submit(line) => match parse_script(&line) {
                Ok(parsed) => self.queue.extend(parsed.into_iter().map(Job::Command)),
                Err(error) => self.app.set_status(error.localized(self.app.lang), true),
            },
            Effect::CancelWait => self.cancel(),
            Effect::StepForward | Effect::StepBack | Effect::Restart => {
                self.lecture_effect(&effect);
            }
        }
        Flow::Continue
    }

    fn cancel(&mut self) {
        let cancelled = self.queue.cancel();
        let count = cancelled.dropped.len().to_string();
        let dropped = cancelled.dropped.join("; ");
        let message = match &cancelled.wait {
            Some(what) if cancelled.dropped.is_empty() => {
                text::format(self.app.lang, "status.cancelled_alone", &[("what", what)])
            }
            Some(what) => text::format(
                self.app.lang,
                "status.cancelled",
                &[("what", what), ("count", &count), ("dropped", &dropped)],
            ),
            None => text::format(
                self.app.lang,
                "status.cancelled_queue",
                &[("count", &count), ("dropped", &dropped)],
            ),
        };
        self.app.set_status(message, false);
        self.show_waiting();
        self.dirty = true;
    }

    /// Moves the lecture: forward on the lab as it is; back and restart replay from a reset lab.
    fn lecture_effect(&mut self, effect: &Effect) {
        let Some(lecture) = self.lecture.as_mut() else {
            return;
        };
        let target = match effect {
            Effect::StepForward => {
                if self.queue.is_busy() {
                    self.app.set_status(self.app.t("status.step_busy"), true);
                    self.dirty = true;
                    return;
                }
                if let Some(jobs) = lecture.forward_jobs() {
                    self.queue.extend(jobs);
                }
                return;
            }
            Effect::StepBack => match lecture.previous() {
                Some(index) => index,
                None => return,
            },
            _ => 0,
        };
        // Whatever was still running belongs to the state being left.
        self.queue.cancel();
        self.lab.reset();
        lecture.rewind();
        self.queue.extend(lecture.replay_jobs(target));
        self.app.lecture = Some(lecture.view(self.app.lang));
        self.next_probe = Instant::now();
        self.dirty = true;
    }

    fn probe_if_due(&mut self, now: Instant) {
        let activity_due = self.activity
            && self
                .last_probe
                .is_none_or(|last| now >= last + ACTIVITY_PROBE);
        if now >= self.next_probe || activity_due {
            // An idle lab is only looked at (a few syscalls, whatever its size); the snapshot is
            // built only when the look finds something new.
            let changed = if !self.activity && self.lab.unchanged_since_snapshot() {
                if !self.app.frozen {
                    self.app.snapshot.advance_clock(self.lab.elapsed_ms());
                }
                false
            } else {
                let snapshot = self.lab.snapshot();
                self.app.apply(snapshot)
            };
            let cost = now.elapsed();
            self.dirty |= changed;
            self.quiet_probes = if changed || self.activity {
                0
            } else {
                self.quiet_probes.saturating_add(1)
            };
            self.activity = false;
            self.last_probe = Some(now);
            // A lab of thousands of sockets makes each probe expensive: space them so probing
            // takes at most 1/PROBE_BUDGET of the time, whatever --refresh asks.
            let mut every = self.refresh.max(cost * PROBE_BUDGET);
            if self.quiet_probes >= QUIET_PROBES {
                every = every.max(IDLE_PROBE);
            }
            self.next_probe = now + every;
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

    fn input(&mut self, event: &Event) -> Flow {
        let lecture = self.app.lecture.is_some();
        let Some(mut action) = keymap::action_for(event, self.app.mode, lecture) else {
            return Flow::Continue;
        };
        if let Action::Click { column, row } = action {
            let Some((panel, index)) = ui::layout::hit(&self.app, self.screen, column, row) else {
                return Flow::Continue;
            };
            action = Action::Select { panel, index };
        }
        self.dirty = true;
        for effect in self.app.update(action) {
            if let Flow::End(ending) = self.effect(effect) {
                return Flow::End(ending);
            }
        }
        Flow::Continue
    }

    fn tick(&mut self, now: Instant, reactor: &mut Reactor) -> Flow {
        // A relay that stopped on its budget goes on, one budget per turn: keys and frames get
        // their turn in between.
        self.activity |= self.lab.continue_work();
        if let Err(error) = self.run_jobs(now, reactor) {
            self.app
                .set_status(format!("sockscope: the event loop failed: {error}"), true);
        }
        if self
            .lecture
            .as_ref()
            .and_then(Lecture::autoplay_due)
            .is_some_and(|due| now >= due)
            && !self.queue.is_busy()
        {
            self.lecture_effect(&Effect::StepForward);
            let _ = self.run_jobs(now, reactor);
        }
        self.probe_if_due(now);
        self.show_waiting();
        assert!(
            self.panic_at.is_none_or(|at| now < at),
            "panic requested with --panic-after"
        );
        Flow::Continue
    }
}

impl DrivesLab for LabScreen {
    fn queue_and_lab(&mut self) -> (&mut Queue, &mut Lab) {
        (&mut self.queue, &mut self.lab)
    }

    fn command_ran(
        &mut self,
        now: Instant,
        located: &Located,
        outcome: &Result<Step, LabError>,
        activity: bool,
    ) {
        self.activity |= activity;
        self.next_probe = now;
        self.quiet_probes = 0;
        self.report(outcome, &located.source);
    }

    /// A lecture step's jobs are done: snapshot, check, show where it landed.
    fn check_step(&mut self, step: usize, fresh: bool) {
        let Some(lecture) = self.lecture.as_mut() else {
            return;
        };
        let snapshot = self.lab.snapshot();
        lecture.checked(step, fresh, &snapshot);
        let view = lecture.view(self.app.lang);
        let focus = lecture.focus().map(str::to_owned);
        self.app.apply(snapshot);
        if let Some(name) = focus {
            self.app.focus_name(&name);
        }
        self.app.lecture = Some(view);
        self.last_probe = Some(Instant::now());
        self.next_probe = Instant::now() + self.refresh;
        self.dirty = true;
    }
}

impl Screen for LabScreen {
    fn handle(&mut self, happening: Happening<'_>, reactor: &mut Reactor) -> Flow {
        match happening {
            Happening::Input(event) => self.input(event),
            Happening::Ready(ready) => {
                self.activity |= self.lab.on_ready(ready);
                Flow::Continue
            }
            Happening::Tick(now) => self.tick(now, reactor),
            Happening::Resized { width, height } => {
                self.screen = Rect::new(0, 0, width, height);
                self.dirty = true;
                Flow::Continue
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut due = self.next_probe;
        let runnable =
            (self.queue.is_busy() && self.queue.due().is_none()) || self.lab.has_unfinished_work();
        let candidates = [
            self.panic_at,
            self.queue.due(),
            runnable.then_some(now),
            self.lecture.as_ref().and_then(Lecture::autoplay_due),
            // The wire's next delayed segment.
            self.lab.next_due(),
            self.activity
                .then(|| self.last_probe.map_or(now, |last| last + ACTIVITY_PROBE)),
            self.app.changes.next_expiry(self.app.now_ms).map(|expiry| {
                let in_ms = expiry.saturating_sub(self.lab.elapsed_ms());
                now + Duration::from_millis(in_ms)
            }),
        ];
        for at in candidates.into_iter().flatten() {
            due = due.min(at);
        }
        Some(due)
    }

    fn dirty(&self) -> bool {
        self.dirty
    }

    fn idle_redraw(&self) -> Option<Duration> {
        Some(IDLE_REDRAW)
    }

    fn before_draw(&mut self) {
        self.app.now_ms = self.lab.elapsed_ms();
    }

    fn draw(&self, frame: &mut Frame) {
        ui::render(frame, &self.app);
    }

    fn drawn(&mut self) {
        self.dirty = false;
    }

    fn takes_bindings(&self) -> bool {
        self.app.mode == crate::app::Mode::Normal
    }
}
