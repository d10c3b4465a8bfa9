//! The one `mio::Poll` of the process: every source (lab sockets, the input thread's waker, the
//! signal pipe, a worker's reply) is registered here, and one wait returns what became ready.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use mio::{Events, Poll, Registry, Token, Waker};

use crate::kernel::fd_table;
use crate::kernel::internal_fds::{self, LowFds};

/// The token of the waker other threads use to interrupt the wait.
pub const WAKER_TOKEN: Token = Token(0);
/// The token of the signal pipe.
pub const SIGNAL_TOKEN: Token = Token(1);
/// Tokens from here on belong to a screen's own sources (the lab's sockets).
pub const FIRST_SOURCE_TOKEN: usize = 16;

/// One source that became ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    pub token: Token,
    /// Readable, read side closed, or an error to collect.
    pub readable: bool,
    /// Writable, write side closed, or an error to collect.
    pub writable: bool,
}

/// What one wait saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wakeups {
    /// The waker was called (input or a worker's result arrived on another thread).
    pub woken: bool,
    /// The signal pipe is readable.
    pub signaled: bool,
    /// Sources at or above [`FIRST_SOURCE_TOKEN`].
    pub sources: Vec<Ready>,
}

pub struct Reactor {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    /// The waker's eventfd, so the descriptor table can name it.
    waker_fd: Option<RawFd>,
    /// Wakeups a [`Reactor::pump`] saw that belong to the loop (waker, signals): handed to the
    /// next [`Reactor::wait`], so a screen pumping its sources never swallows a signal.
    held: Wakeups,
    /// Placeholders on the low descriptor numbers while sockscope makes its own descriptors;
    /// released by [`Reactor::settle_descriptors`] before the lab opens anything.
    low: LowFds,
}

impl Reactor {
    pub fn new() -> io::Result<Self> {
        let low = LowFds::reserve();
        let poll = Poll::new()?;
        internal_fds::name(poll.as_raw_fd(), "poll");
        let before = fd_table::read_own().unwrap_or_default();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        // mio hides the waker's descriptor: it is the eventfd that appeared just now.
        let waker_fd = fd_table::read_own().ok().and_then(|after| {
            after
                .iter()
                .find(|link| {
                    link.target == "anon_inode:[eventfd]"
                        && !before.iter().any(|old| old.fd == link.fd)
                })
                .map(|link| link.fd)
        });
        if let Some(fd) = waker_fd {
            internal_fds::name(fd, "waker");
        }
        Ok(Self {
            poll,
            events: Events::with_capacity(1024),
            waker,
            waker_fd,
            held: Wakeups::default(),
            low,
        })
    }

    /// Gives the low descriptor numbers back: everything sockscope needs for itself is made (the
    /// screen, the terminal, the input thread), so the lab's first socket gets fd 3. Called when
    /// the loop starts; calling it again does nothing.
    pub fn settle_descriptors(&mut self) {
        self.low.release();
    }

    /// Whether the low numbers are still held (the loop has not started).
    #[must_use]
    pub fn holds_low_descriptors(&self) -> bool {
        self.low.held() > 0
    }

    #[must_use]
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// A handle other threads use to interrupt [`Reactor::wait`].
    #[must_use]
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Waits up to `timeout` (`None`: until something happens). An interrupted wait returns
    /// nothing ready, so the caller simply goes round its loop again.
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Wakeups> {
        self.settle_descriptors();
        let mut wakeups = std::mem::take(&mut self.held);
        let timeout = if wakeups.woken || wakeups.signaled {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(wakeups),
            Err(error) => return Err(error),
        }
        self.collect(&mut wakeups);
        Ok(wakeups)
    }

    /// Handles what is ready right now without waiting: a screen calls it after a command so
    /// the lab sees the events the syscall caused (loopback handshakes complete inside
    /// `connect`). Returns the sources; the loop's own wakeups are kept for the next wait.
    pub fn pump(&mut self) -> io::Result<Vec<Ready>> {
        self.settle_descriptors();
        let held = std::mem::take(&mut self.held);
        let mut wakeups = self.wait_now()?;
        wakeups.woken |= held.woken;
        wakeups.signaled |= held.signaled;
        let sources = std::mem::take(&mut wakeups.sources);
        self.held = wakeups;
        Ok(sources)
    }

    fn wait_now(&mut self) -> io::Result<Wakeups> {
        let mut wakeups = Wakeups::default();
        match self.poll.poll(&mut self.events, Some(Duration::ZERO)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(wakeups),
            Err(error) => return Err(error),
        }
        self.collect(&mut wakeups);
        Ok(wakeups)
    }

    fn collect(&self, wakeups: &mut Wakeups) {
        for event in &self.events {
            let token = event.token();
            if token == WAKER_TOKEN {
                wakeups.woken = true;
            } else if token == SIGNAL_TOKEN {
                wakeups.signaled = true;
            } else if token.0 >= FIRST_SOURCE_TOKEN {
                wakeups.sources.push(Ready {
                    token,
                    readable: event.is_readable() || event.is_read_closed() || event.is_error(),
                    writable: event.is_writable() || event.is_write_closed() || event.is_error(),
                });
            }
        }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        let mut own = vec![self.poll.as_raw_fd()];
        own.extend(self.waker_fd);
        internal_fds::forget(&own);
    }
}
