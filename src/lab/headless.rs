//! A lab with a reactor of its own and no screen: for `snapshot`, scenario replays, benchmarks
//! and tests. It drives the same [`Lab`] the dashboard drives, with the same [`Reactor`]; only
//! here a `wait` may block, because nothing else is waiting for this thread.

use std::io;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use super::config::{LabConfig, Step};
use super::engine::Lab;
use super::error::LabError;
use crate::command::Command;
use crate::runtime::reactor::Reactor;

pub struct HeadlessLab {
    reactor: Reactor,
    lab: Lab,
}

impl HeadlessLab {
    pub fn new(config: LabConfig) -> io::Result<Self> {
        let mut reactor = Reactor::new()?;
        let lab = Lab::new(&reactor, config)?;
        // The lab's own descriptors are made: its first socket may take fd 3.
        reactor.settle_descriptors();
        Ok(Self { reactor, lab })
    }

    /// Runs one command, then lets the lab see the events it caused at once (loopback handshakes
    /// complete inside the syscall).
    pub fn execute(&mut self, command: &Command) -> Result<Step, LabError> {
        let reactor = &mut self.reactor;
        self.lab.execute(command, |lab| {
            // An error of the poll itself shows up at the next `run_for`.
            if let Ok(ready) = reactor.pump() {
                lab.on_ready(&ready);
            }
        })
    }

    /// Waits up to `timeout` for the lab's sockets and handles what became ready.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        let wakeups = self.reactor.wait(timeout)?;
        Ok(self.lab.on_ready(&wakeups.sources))
    }

    /// Runs the event loop for `duration`, probing the kernel every `probe_every` so state
    /// histories see the transitions in between.
    pub fn run_for(&mut self, duration: Duration, probe_every: Duration) -> io::Result<()> {
        let started = Instant::now();
        let mut next_probe = started;
        loop {
            let now = Instant::now();
            if now >= next_probe {
                self.lab.observe();
                next_probe = now + probe_every;
            }
            let Some(left) = duration.checked_sub(now.duration_since(started)) else {
                return Ok(());
            };
            if left.is_zero() {
                return Ok(());
            }
            let mut timeout = left.min(next_probe.saturating_duration_since(now));
            if let Some(due) = self.lab.next_due() {
                // A delayed segment on the wire: wake for it, then deliver it (continue_work).
                timeout = timeout.min(due.saturating_duration_since(now));
            }
            if self.lab.continue_work() {
                // A relay stopped on its budget: look at the sockets, then go on at once.
                timeout = Duration::ZERO;
            }
            self.poll(Some(timeout))?;
        }
    }
}

impl Deref for HeadlessLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

impl DerefMut for HeadlessLab {
    fn deref_mut(&mut self) -> &mut Lab {
        &mut self.lab
    }
}
