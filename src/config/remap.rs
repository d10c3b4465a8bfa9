//! The key bindings applied: a screen wrapped so that its input passes through a [`Remap`]
//! before it reaches the screen's own keymap, while the screen is in its normal mode.

use std::time::{Duration, Instant};

use ratatui::Frame;

use super::keys::Remap;
use crate::runtime::reactor::Reactor;
use crate::runtime::{Flow, Happening, Screen};

/// `screen`, with `keys` translated in front of it.
pub struct Remapped<S> {
    screen: S,
    keys: Remap,
}

impl<S: Screen> Remapped<S> {
    pub fn new(screen: S, keys: Remap) -> Self {
        Self { screen, keys }
    }
}

impl<S: Screen> Screen for Remapped<S> {
    fn handle(&mut self, happening: Happening<'_>, reactor: &mut Reactor) -> Flow {
        if let Happening::Input(event) = happening
            && !self.keys.is_empty()
            && self.screen.takes_bindings()
        {
            let translated = self.keys.translate(event);
            return self.screen.handle(Happening::Input(&translated), reactor);
        }
        self.screen.handle(happening, reactor)
    }

    fn next_due(&self) -> Option<Instant> {
        self.screen.next_due()
    }

    fn dirty(&self) -> bool {
        self.screen.dirty()
    }

    fn idle_redraw(&self) -> Option<Duration> {
        self.screen.idle_redraw()
    }

    fn before_draw(&mut self) {
        self.screen.before_draw();
    }

    fn draw(&self, frame: &mut Frame) {
        self.screen.draw(frame);
    }

    fn drawn(&mut self) {
        self.screen.drawn();
    }

    fn takes_bindings(&self) -> bool {
        self.screen.takes_bindings()
    }
}
