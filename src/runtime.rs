//! The one event loop every interactive screen runs on (the lab's dashboard, lectures, `watch`).
//!
//! The runtime owns the one [`Reactor`] (the process's `mio::Poll`), the terminal, the input
//! source and the signals; a [`Screen`] owns its state and its sources (lab sockets, a worker)
//! and is told what happened. One turn of the loop: wait until the next due thing (a screen's
//! timer, a frame, an idle redraw), then signals, then the screen's sources, then input, then the
//! screen's timers, then a frame if something changed (at most ~30 a second).
//!
//! The runtime is generic over the ratatui backend and the input source, so tests run a whole
//! screen in process: scripted keys in, frames out.

pub mod asciicast;
pub mod input;
pub mod reactor;
pub mod terminal;

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use mio::Interest;
use ratatui::backend::Backend;
use ratatui::{Frame, Terminal};
use signal_hook::consts::signal::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGWINCH};
use signal_hook_mio::v1_0::Signals;

use self::input::{Input, Polled};
use self::reactor::{Reactor, Ready, SIGNAL_TOKEN};
use crate::term::Console;

/// At most ~30 frames a second.
pub const FRAME: Duration = Duration::from_millis(33);

/// Why a screen ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Quit,
    Signal(i32),
    InputClosed,
}

impl Ending {
    /// The process's exit status: 0 for a quit or the end of input, 128 + N for signal N (as a
    /// shell reports a process ended by a signal).
    #[must_use]
    pub fn exit_code(self) -> ExitCode {
        match self {
            Ending::Quit | Ending::InputClosed => ExitCode::SUCCESS,
            Ending::Signal(signal) => ExitCode::from(128 + (signal as u8 & 0x7f)),
        }
    }
}

/// What a screen says after handling something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    End(Ending),
}

/// What happened, as a screen is told it: the one entry point of every screen.
#[derive(Debug, Clone, Copy)]
pub enum Happening<'a> {
    /// An input event (keys, mouse, paste). Resizes and Ctrl-Z are the runtime's.
    Input(&'a Event),
    /// Sources the screen registered (tokens from [`reactor::FIRST_SOURCE_TOKEN`]) are ready.
    Ready(&'a [Ready]),
    /// Every turn, after the events: time to run what is due (timers, autoplay, a worker's
    /// reply that woke the loop).
    Tick(Instant),
    /// The terminal's size (also sent once before the first frame).
    Resized { width: u16, height: u16 },
}

/// A screen on the runtime: its state, its sources and how it is drawn.
pub trait Screen {
    /// Handles one happening; `reactor` lets a screen see what its own syscalls made ready.
    fn handle(&mut self, happening: Happening<'_>, reactor: &mut Reactor) -> Flow;
    /// When the screen next has something due, if ever (the loop sleeps until then).
    fn next_due(&self) -> Option<Instant>;
    /// Whether something on screen changed since the last frame.
    fn dirty(&self) -> bool;
    /// How often an unchanged screen is still redrawn (ages that tick), if at all.
    fn idle_redraw(&self) -> Option<Duration> {
        None
    }
    /// Called just before a frame is drawn (e.g. to read the clock the frame shows).
    fn before_draw(&mut self) {}
    /// Draws the screen. Pure: changes nothing.
    fn draw(&self, frame: &mut Frame);
    /// A frame was drawn.
    fn drawn(&mut self);
    /// Whether the user's key bindings apply now: in the normal mode, not while typing text
    /// (see `config::remap`).
    fn takes_bindings(&self) -> bool {
        true
    }
}

/// The signals a screen on a real terminal handles — TERM, INT, HUP and QUIT end it, WINCH
/// resizes, TSTP and CONT are job control — registered with `reactor`. Call it before the
/// terminal enters its modes, so a signal in between cannot leave them on.
pub fn terminal_signals(reactor: &Reactor) -> io::Result<Signals> {
    // signal-hook keeps its socketpair to itself: the descriptors that appear are its.
    let (signals, _) = crate::kernel::internal_fds::track("signals", || {
        Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP, SIGCONT])
    });
    let mut signals = signals?;
    reactor
        .registry()
        .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
    Ok(signals)
}

/// The loop's machinery around one screen.
pub struct Runtime<B: Backend, I: Input> {
    reactor: Reactor,
    terminal: Terminal<B>,
    input: I,
    signals: Option<Signals>,
    /// The real terminal's modes, for job control; `None` for a test backend.
    console: Option<Console>,
    last_draw: Option<Instant>,
    /// The last frame drawn for a key or a mouse event.
    last_input_draw: Option<Instant>,
    /// An input event was handled and its frame is not drawn yet.
    input_waiting: bool,
    /// The whole screen must be drawn again (after a resume from Ctrl-Z, or a resize).
    redraw: bool,
}

impl<B: Backend, I: Input> Runtime<B, I>
where
    B::Error: Send + Sync + 'static,
{
    /// A runtime on `terminal`, reading `input`, handling `signals` (see [`terminal_signals`];
    /// tests leave signals to the test harness).
    pub fn new(
        reactor: Reactor,
        terminal: Terminal<B>,
        input: I,
        signals: Option<Signals>,
        console: Option<Console>,
    ) -> io::Result<Self> {
        Ok(Self {
            reactor,
            terminal,
            input,
            signals,
            console,
            last_draw: None,
            last_input_draw: None,
            input_waiting: false,
            redraw: true,
        })
    }

    #[must_use]
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    #[must_use]
    pub fn terminal(&self) -> &Terminal<B> {
        &self.terminal
    }

    pub fn input_mut(&mut self) -> &mut I {
        &mut self.input
    }

    /// Tells `screen` the terminal's size; [`Runtime::run`] does it first, a test driving
    /// [`Runtime::turn`] itself calls it once.
    pub fn begin(&mut self, screen: &mut impl Screen) -> io::Result<()> {
        // Everything sockscope opens for itself exists by now: the lab may have the low numbers.
        self.reactor.settle_descriptors();
        self.resize(screen)
    }

    /// Runs `screen` until it ends.
    pub fn run(&mut self, screen: &mut impl Screen) -> io::Result<Ending> {
        self.begin(screen)?;
        loop {
            if let Some(ending) = self.turn(screen, None)? {
                return Ok(ending);
            }
        }
    }

    /// One turn of the loop, waiting at most `max_wait` (tests pass a bound; `None`: until the
    /// next due thing). Returns the ending if the screen ended.
    pub fn turn(
        &mut self,
        screen: &mut impl Screen,
        max_wait: Option<Duration>,
    ) -> io::Result<Option<Ending>> {
        let mut timeout = self.timeout(screen);
        if let Some(bound) = max_wait {
            timeout = Some(timeout.map_or(bound, |timeout| timeout.min(bound)));
        }
        let wakeups = self.reactor.wait(timeout)?;
        if wakeups.signaled
            && let Some(ending) = self.signals(screen)?
        {
            return Ok(Some(ending));
        }
        if !wakeups.sources.is_empty()
            && let Flow::End(ending) =
                screen.handle(Happening::Ready(&wakeups.sources), &mut self.reactor)
        {
            return Ok(Some(ending));
        }
        if let Some(ending) = self.drain_input(screen)? {
            return Ok(Some(ending));
        }
        if let Flow::End(ending) = screen.handle(Happening::Tick(Instant::now()), &mut self.reactor)
        {
            return Ok(Some(ending));
        }
        self.draw_if_due(screen)?;
        Ok(None)
    }

    /// The time until the next due thing: the screen's timer, the next frame if something
    /// changed, or the idle redraw.
    fn timeout(&self, screen: &impl Screen) -> Option<Duration> {
        let now = Instant::now();
        let mut due = screen.next_due();
        let mut consider = |at: Instant| due = Some(due.map_or(at, |due| due.min(at)));
        if screen.dirty() || self.redraw {
            consider(self.frame_not_before().map_or(now, |last| last + FRAME));
        } else if let (Some(every), Some(last)) = (screen.idle_redraw(), self.last_draw) {
            consider(last + every);
        }
        due.map(|due| due.saturating_duration_since(now))
    }

    fn signals(&mut self, screen: &mut impl Screen) -> io::Result<Option<Ending>> {
        let pending: Vec<i32> = match self.signals.as_mut() {
            Some(signals) => signals.pending().collect(),
            None => return Ok(None),
        };
        for signal in pending {
            match signal {
                SIGWINCH => self.resize(screen)?,
                SIGTSTP => self.suspend(screen)?,
                SIGCONT => self.resume(screen)?,
                other => return Ok(Some(Ending::Signal(other))),
            }
        }
        Ok(None)
    }

    fn drain_input(&mut self, screen: &mut impl Screen) -> io::Result<Option<Ending>> {
        loop {
            let event = match self.input.next_event()? {
                Polled::Event(event) => event,
                Polled::Empty => return Ok(None),
                Polled::Closed => return Ok(Some(Ending::InputClosed)),
            };
            match &event {
                Event::Resize(..) => self.resize(screen)?,
                Event::Key(key) if is_suspend_key(key) => self.suspend(screen)?,
                _ => {
                    self.input_waiting = true;
                    if let Flow::End(ending) =
                        screen.handle(Happening::Input(&event), &mut self.reactor)
                    {
                        return Ok(Some(ending));
                    }
                }
            }
        }
    }

    fn resize(&mut self, screen: &mut impl Screen) -> io::Result<()> {
        self.terminal.autoresize().map_err(io::Error::other)?;
        let size = self.terminal.size().map_err(io::Error::other)?;
        let resized = Happening::Resized {
            width: size.width,
            height: size.height,
        };
        // A resize never ends a screen.
        screen.handle(resized, &mut self.reactor);
        self.redraw = true;
        Ok(())
    }

    /// Ctrl-Z or SIGTSTP: give the terminal back to the shell, then stop. Execution continues
    /// here after SIGCONT (`fg`), and the dashboard comes back.
    fn suspend(&mut self, screen: &mut impl Screen) -> io::Result<()> {
        let Some(console) = self.console else {
            return Ok(());
        };
        console.leave();
        // Stops the process as SIGTSTP's default action would; returns once continued.
        signal_hook::low_level::emulate_default_handler(SIGTSTP)?;
        self.resume(screen)
    }

    /// After a stop (ours, or a SIGSTOP someone sent): raw mode and the alternate screen again,
    /// and a full redraw, since the shell drew over the screen meanwhile.
    fn resume(&mut self, screen: &mut impl Screen) -> io::Result<()> {
        if let Some(console) = self.console {
            console.enter()?;
            self.terminal.clear().map_err(io::Error::other)?;
        }
        self.resize(screen)
    }

    fn draw_if_due(&mut self, screen: &mut impl Screen) -> io::Result<()> {
        let now = Instant::now();
        let idle_due = match (screen.idle_redraw(), self.last_draw) {
            (Some(every), Some(last)) => now >= last + every,
            _ => false,
        };
        if !(screen.dirty() || self.redraw || idle_due) {
            return Ok(());
        }
        if self
            .frame_not_before()
            .is_some_and(|last| now < last + FRAME)
        {
            return Ok(());
        }
        screen.before_draw();
        self.terminal
            .draw(|frame| screen.draw(frame))
            .map_err(io::Error::other)?;
        screen.drawn();
        self.last_draw = Some(now);
        if std::mem::take(&mut self.input_waiting) {
            self.last_input_draw = Some(now);
        }
        self.redraw = false;
        Ok(())
    }

    /// The frame the ~30-a-second limit counts from. A key is answered at once unless keys
    /// already drew a frame less than [`FRAME`] ago (a held key); a frame drawn for a collection
    /// or a timer does not delay it (at 1 Hz that would hold one key in thirty for up to a
    /// frame). Without input, the limit counts from the last frame of any kind.
    fn frame_not_before(&self) -> Option<Instant> {
        if self.input_waiting {
            self.last_input_draw
        } else {
            self.last_draw
        }
    }
}

/// Ctrl-Z in raw mode arrives as a key, not as SIGTSTP.
fn is_suspend_key(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && key.code == KeyCode::Char('z')
        && key.modifiers.contains(KeyModifiers::CONTROL)
}
