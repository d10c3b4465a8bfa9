//! The program's standard output and error: pipes sockscope reads without blocking, keeping the
//! last bytes (bounded) and counting what it let go.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::os::fd::OwnedFd;

/// How many bytes of each stream are kept.
pub const KEPT_BYTES: usize = 64 * 1024;

/// One of the program's output streams.
pub struct Captured {
    receiver: mio::unix::pipe::Receiver,
    kept: VecDeque<u8>,
    /// Bytes read but no longer kept (the oldest ones).
    pub dropped: u64,
    /// The program's side is closed (every process that held it ended).
    pub closed: bool,
}

impl Captured {
    /// A pipe: the reading end stays here (non-blocking), the writing end (blocking, as a program
    /// expects its output to be) is for the program.
    pub fn new() -> io::Result<(Self, OwnedFd)> {
        let (sender, receiver) = mio::unix::pipe::new()?;
        sender.set_nonblocking(false)?;
        let sender = OwnedFd::from(sender);
        Ok((
            Self {
                receiver,
                kept: VecDeque::new(),
                dropped: 0,
                closed: false,
            },
            sender,
        ))
    }

    /// The reading end, to register with a `mio::Poll` (readable when the program wrote).
    pub fn receiver(&mut self) -> &mut mio::unix::pipe::Receiver {
        &mut self.receiver
    }

    /// Reads whatever the program wrote, without waiting.
    pub fn read_available(&mut self) {
        let mut buf = [0u8; 8192];
        while !self.closed {
            match self.receiver.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    self.kept.extend(&buf[..n]);
                    let excess = self.kept.len().saturating_sub(KEPT_BYTES);
                    self.kept.drain(..excess);
                    self.dropped += excess as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    /// The kept bytes, as text; escape before printing.
    #[must_use]
    pub fn text(&self) -> String {
        let (front, back) = self.kept.as_slices();
        let mut bytes = front.to_vec();
        bytes.extend_from_slice(back);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
