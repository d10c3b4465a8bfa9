//! `sockscope watch`: every socket of the machine, live. One `mio::Poll` waits for the input
//! thread, the collection worker (both wake it through one [`Waker`]) and signals; a collection is
//! asked for every refresh tick (skipped while one is still running); a frame is drawn only when
//! something changed, at most ~30 a second.

pub mod app;
pub mod worker;

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::Event;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
use signal_hook_mio::v1_0::Signals;

pub use self::app::{Action, Column, Mode, WatchApp};
pub use self::worker::Worker;
use crate::app::ThemeName;
use crate::dashboard::Ending;
use crate::system::{Filter, SystemCollector};
use crate::term::{self, InputThread, Tui};
use crate::text::Lang;
use crate::ui;

const WAKER_TOKEN: Token = Token(0);
const SIGNAL_TOKEN: Token = Token(1);
/// At most ~30 frames a second.
const FRAME: Duration = Duration::from_millis(33);

/// How `watch` is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub lang: Lang,
    pub theme: ThemeName,
    pub filter: Filter,
    pub owners: bool,
    /// Time between collections (default 1 s).
    pub refresh: Duration,
}

/// Runs the watch screen until the user quits or a signal ends it.
pub fn run(options: &Options) -> Result<Ending> {
    let collector = SystemCollector::new().wrap_err("opening a NETLINK_SOCK_DIAG socket")?;
    let mut poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGWINCH])?;
    poll.registry()
        .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
    let mut worker = Worker::spawn(
        collector,
        options.owners,
        options.filter,
        Arc::clone(&waker),
    )?;
    worker.request();

    let mut app = WatchApp::new(options.lang, options.theme, options.filter, options.owners);
    app.ports = crate::kernel::sysctl::read_ports();
    let (mut terminal, _guard) = term::enter(false).wrap_err("opening the terminal")?;
    let (sender, input) = mpsc::channel();
    let _input = InputThread::spawn(sender, Arc::clone(&waker))?;
    resize(&mut terminal, &mut app)?;

    let mut events = Events::with_capacity(16);
    let mut next_tick = Instant::now() + options.refresh;
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    loop {
        let now = Instant::now();
        let mut due = next_tick;
        if dirty {
            due = due.min(last_draw.map_or(now, |last| last + FRAME));
        }
        match poll.poll(&mut events, Some(due.saturating_duration_since(now))) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            other => other?,
        }
        if events.iter().any(|event| event.token() == SIGNAL_TOKEN) {
            for signal in signals.pending() {
                if signal == SIGWINCH {
                    resize(&mut terminal, &mut app)?;
                    dirty = true;
                } else {
                    return Ok(Ending::Signal(signal));
                }
            }
        }
        loop {
            match input.try_recv() {
                Ok(Event::Key(key)) => match app.key(key) {
                    Action::Quit => return Ok(Ending::Quit),
                    Action::Redraw => dirty = true,
                    Action::Resume => {
                        dirty = true;
                        worker.request();
                        next_tick = Instant::now() + options.refresh;
                    }
                    Action::None => {}
                },
                Ok(Event::Resize(..)) => {
                    resize(&mut terminal, &mut app)?;
                    dirty = true;
                }
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(Ending::InputClosed),
            }
        }
        if let Some(snapshot) = worker.try_take() {
            app.apply(snapshot);
            dirty = true;
        }
        let now = Instant::now();
        if now >= next_tick {
            if !app.paused {
                // Skipped when the last collection is still running.
                worker.request();
            }
            next_tick = now + options.refresh;
        }
        if dirty && last_draw.is_none_or(|last| now >= last + FRAME) {
            terminal.draw(|frame| ui::watch::render(frame, &app))?;
            last_draw = Some(now);
            dirty = false;
        }
    }
}

fn resize(terminal: &mut Tui, app: &mut WatchApp) -> Result<()> {
    terminal.autoresize()?;
    let size = terminal.size()?;
    app.set_page(ui::watch::table_rows(size.width, size.height, app));
    Ok(())
}
