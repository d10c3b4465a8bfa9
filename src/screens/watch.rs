//! `sockscope watch` as a [`Screen`] of the runtime: a collection worker (on its own thread,
//! waking the runtime's reactor) sends snapshots of every socket on the machine; keys become
//! [`Action`]s through the watch keymap; a frame only when something changed.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use ratatui::Frame;

use crate::runtime::reactor::Reactor;
use crate::runtime::{Ending, Flow, Happening, Screen};
use crate::settings::ThemeName;
use crate::system::{Filter, SystemCollector};
use crate::text::Lang;
use crate::ui;
use crate::watch::{Collected, Effect, WatchApp, Worker, keymap};

/// How `watch` is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub lang: Lang,
    pub theme: ThemeName,
    pub filter: Filter,
    pub owners: bool,
    /// Time between collections (default 1 s).
    pub refresh: Duration,
    /// The longest time between two walks of every socket (`--walk-every`).
    pub walk_every: Duration,
}

pub struct WatchScreen {
    app: WatchApp,
    worker: Worker,
    refresh: Duration,
    next_tick: Instant,
    dirty: bool,
}

impl WatchScreen {
    /// Starts the collection worker; it wakes `reactor` when a snapshot is ready.
    pub fn new(reactor: &Reactor, options: &Options) -> io::Result<Self> {
        let collector = SystemCollector::new()?;
        let mut worker = Worker::spawn(
            collector,
            options.owners,
            options.filter,
            reactor.waker(),
            options.walk_every.max(options.refresh),
        )?;
        let mut app = WatchApp::new(options.lang, options.theme, options.filter, options.owners);
        worker.request(app.view());
        app.ports = crate::kernel::sysctl::read_ports();
        Ok(Self {
            app,
            worker,
            refresh: options.refresh,
            next_tick: Instant::now() + options.refresh,
            dirty: true,
        })
    }

    #[must_use]
    pub fn app(&self) -> &WatchApp {
        &self.app
    }
}

impl WatchScreen {
    fn input(&mut self, event: &Event) -> Flow {
        let Some(action) = keymap::action_for(event, &self.app.mode) else {
            return Flow::Continue;
        };
        match self.app.update(action) {
            Effect::Quit => return Flow::End(Ending::Quit),
            Effect::Resume => {
                self.worker.request(self.app.view());
                self.next_tick = Instant::now() + self.refresh;
            }
            Effect::Redraw => {}
        }
        self.dirty = true;
        Flow::Continue
    }

    fn tick(&mut self, now: Instant) -> Flow {
        match self.worker.try_take() {
            Some(Collected::New {
                snapshot,
                ordered,
                view,
            }) => {
                if let Some(replaced) = self.app.apply_ordered(*snapshot, ordered, &view) {
                    self.worker.drop_later(replaced);
                }
                self.dirty = true;
            }
            Some(Collected::Unchanged { checked_in, walked }) => {
                self.app.note_unchanged(checked_in, walked);
                self.dirty = true;
            }
            None => {}
        }
        if now >= self.next_tick {
            if !self.app.paused {
                // Skipped when the last collection is still running.
                self.worker.request(self.app.view());
            }
            self.next_tick = now + self.refresh;
        }
        Flow::Continue
    }

    fn resized(&mut self, width: u16, height: u16) {
        self.app
            .set_page(ui::watch::table_rows(width, height, &self.app));
        self.dirty = true;
    }
}

impl Screen for WatchScreen {
    fn handle(&mut self, happening: Happening<'_>, _reactor: &mut Reactor) -> Flow {
        match happening {
            Happening::Input(event) => self.input(event),
            // The worker's replies wake the loop through the waker; they are taken at the tick.
            Happening::Ready(_) => Flow::Continue,
            Happening::Tick(now) => self.tick(now),
            Happening::Resized { width, height } => {
                self.resized(width, height);
                Flow::Continue
            }
        }
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    fn dirty(&self) -> bool {
        self.dirty
    }

    fn draw(&self, frame: &mut Frame) {
        ui::watch::render(frame, &self.app);
    }

    fn drawn(&mut self) {
        self.dirty = false;
    }

    fn takes_bindings(&self) -> bool {
        self.app.mode == crate::watch::Mode::Normal
    }
}
