//! Where a screen's input comes from: the terminal (a thread reading crossterm events), or a
//! script of events (tests drive the whole app in process this way).

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc::{Receiver, TryRecvError};

use crossterm::event::Event;

/// What asking an input source for its next event gave.
#[derive(Debug)]
pub enum Polled {
    Event(Event),
    /// Nothing now; maybe later.
    Empty,
    /// The source has ended (the terminal hung up).
    Closed,
}

/// A source of input events, asked every turn of the loop until it is empty.
pub trait Input {
    /// The next event. An error is a failure of the source itself (not end of input).
    fn next_event(&mut self) -> io::Result<Polled>;
}

/// Events from the terminal's input thread (see [`crate::term::InputThread`]).
pub struct TerminalInput {
    receiver: Receiver<io::Result<Event>>,
    _thread: crate::term::InputThread,
}

impl TerminalInput {
    #[must_use]
    pub fn new(receiver: Receiver<io::Result<Event>>, thread: crate::term::InputThread) -> Self {
        Self {
            receiver,
            _thread: thread,
        }
    }
}

impl Input for TerminalInput {
    fn next_event(&mut self) -> io::Result<Polled> {
        match self.receiver.try_recv() {
            Ok(Ok(event)) => Ok(Polled::Event(event)),
            Ok(Err(error)) => Err(error),
            Err(TryRecvError::Empty) => Ok(Polled::Empty),
            Err(TryRecvError::Disconnected) => Ok(Polled::Closed),
        }
    }
}

/// Events a test scripts: push a key, let the runtime take a turn, look at the frame.
#[derive(Debug, Default)]
pub struct ScriptedInput {
    events: VecDeque<Event>,
    /// Once the script is empty: end of input (`true`) or just nothing more yet (`false`).
    close_when_empty: bool,
}

impl ScriptedInput {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// After the last scripted event, report end of input.
    pub fn close_when_empty(&mut self) {
        self.close_when_empty = true;
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl Input for ScriptedInput {
    fn next_event(&mut self) -> io::Result<Polled> {
        Ok(match self.events.pop_front() {
            Some(event) => Polled::Event(event),
            None if self.close_when_empty => Polled::Closed,
            None => Polled::Empty,
        })
    }
}
