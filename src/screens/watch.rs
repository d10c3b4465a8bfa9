//! `sockscope watch` as a [`Screen`] of the runtime: a collection worker (on its own thread,
//! waking the runtime's reactor) sends snapshots of every socket on the machine; keys become
//! [`Action`]s through the watch keymap; a frame only when something changed.

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::Event;
use ratatui::Frame;

use crate::runtime::reactor::{Reactor, Ready};
use crate::runtime::{Ending, Flow, Screen};
use crate::settings::ThemeName;
use crate::system::{Filter, SystemCollector};
use crate::text::Lang;
use crate::ui;
use crate::watch::{Effect, WatchApp, Worker, keymap};

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

pub struct WatchScreen {
    app: WatchApp,
    worker: Worker,
    refresh: Duration,
    next_tick: Instant,
    dirty: bool,
    size: (u16, u16),
}

impl WatchScreen {
    /// Starts the collection worker; it wakes `reactor` when a snapshot is ready.
    pub fn new(reactor: &Reactor, options: &Options) -> io::Result<Self> {
        let collector = SystemCollector::new()?;
        let mut worker = Worker::spawn(collector, options.owners, options.filter, reactor.waker())?;
        worker.request();
        let mut app = WatchApp::new(options.lang, options.theme, options.filter, options.owners);
        app.ports = crate::kernel::sysctl::read_ports();
        Ok(Self {
            app,
            worker,
            refresh: options.refresh,
            next_tick: Instant::now() + options.refresh,
            dirty: true,
            size: (80, 24),
        })
    }

    #[must_use]
    pub fn app(&self) -> &WatchApp {
        &self.app
    }
}

impl Screen for WatchScreen {
    fn input(&mut self, event: &Event) -> Flow {
        let Some(action) = keymap::action_for(event, &self.app.mode) else {
            return Flow::Continue;
        };
        match self.app.update(action) {
            Effect::Quit => return Flow::End(Ending::Quit),
            Effect::Resume => {
                self.worker.request();
                self.next_tick = Instant::now() + self.refresh;
            }
            Effect::Redraw => {}
        }
        self.dirty = true;
        Flow::Continue
    }

    fn ready(&mut self, _ready: &[Ready]) {}

    fn tick(&mut self, now: Instant, _reactor: &mut Reactor) -> Flow {
        if let Some(snapshot) = self.worker.try_take() {
            self.app.apply(snapshot);
            self.dirty = true;
        }
        if now >= self.next_tick {
            if !self.app.paused {
                // Skipped when the last collection is still running.
                self.worker.request();
            }
            self.next_tick = now + self.refresh;
        }
        Flow::Continue
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    fn resized(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        self.app
            .set_page(ui::watch::table_rows(width, height, &self.app));
        self.dirty = true;
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
}
