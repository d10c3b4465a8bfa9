//! `forward`: a port forwarder inside the lab. Each accepted connection gets an outbound
//! connection to the target, and bytes are relayed both ways through bounded buffers, so a peer
//! that floods cannot grow the lab's memory.
//!
//! A forwarder whose target leads back to itself (directly, or through other lab forwarders)
//! would open a connection to itself for every connection it accepts, without end: `forward`
//! refuses it. A loop the lab cannot see (through a relay outside the lab) is stopped by
//! [`RELAYS_PER_FORWARDER`].

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::Token;
use mio::net::TcpStream;

/// Bytes a relay moves per direction in one go: a fast sender and a fast sink never make a pump
/// wait, and without a budget one relay would keep the loop from keys and frames.
pub const RELAY_BUDGET: u64 = 1 << 20;

/// Bytes a relay holds per direction at most.
pub const RELAY_BUFFER: usize = 64 * 1024;

/// Relays one forwarder keeps open at most; a connection beyond them is accepted and closed at
/// once, with a failed trace entry. Enough for any lecture, and it bounds a loop the lab cannot
/// detect to a few hundred sockets instead of every descriptor the process may have.
pub const RELAYS_PER_FORWARDER: usize = 256;

/// One direction of a relay: bytes read from one leg, not yet written to the other.
#[derive(Debug)]
pub(super) struct Pipe {
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// The reading leg said end-of-file.
    eof: bool,
    /// The end-of-file has been passed on with `shutdown(SHUT_WR)`.
    passed_on: bool,
}

impl Pipe {
    pub(super) fn new() -> Self {
        Self {
            buffer: vec![0; RELAY_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            passed_on: false,
        }
    }

    pub(super) fn is_finished(&self) -> bool {
        self.passed_on
    }

    /// Moves bytes from `from` to `to` until neither can make progress, or `budget` bytes have
    /// moved. Returns the bytes moved and whether it stopped on the budget (then there may be
    /// more, and no new readiness event will say so: the caller pumps again later).
    pub(super) fn pump(
        &mut self,
        from: &TcpStream,
        to: &TcpStream,
        budget: u64,
    ) -> io::Result<(u64, bool)> {
        let mut moved = 0;
        loop {
            if moved >= budget {
                return Ok((moved, true));
            }
            let mut progress = false;
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            }
            if !self.eof && self.end < self.buffer.len() {
                match (&*from).read(&mut self.buffer[self.end..]) {
                    Ok(0) => {
                        self.eof = true;
                        progress = true;
                    }
                    Ok(read) => {
                        self.end += read;
                        progress = true;
                    }
                    Err(error) if is_not_yet(&error) => {}
                    Err(error) => return Err(error),
                }
            }
            if self.start < self.end {
                match (&*to).write(&self.buffer[self.start..self.end]) {
                    Ok(written) => {
                        self.start += written;
                        moved += written as u64;
                        progress = progress || written > 0;
                    }
                    Err(error) if is_not_yet(&error) => {}
                    Err(error) => return Err(error),
                }
            } else if self.eof && !self.passed_on {
                to.shutdown(Shutdown::Write)?;
                self.passed_on = true;
            }
            if !progress {
                return Ok((moved, false));
            }
        }
    }
}

/// Whether a listener bound to `listen` takes connections made to `address`.
pub(super) fn accepts(listen: SocketAddr, address: SocketAddr) -> bool {
    // A wildcard listener is taken as reaching every address (an IPv6 one may take IPv4 too).
    listen.port() == address.port() && (listen.ip() == address.ip() || listen.ip().is_unspecified())
}

/// Would-block, or an outbound leg still connecting: try again on the next event.
pub(super) fn is_not_yet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::NotConnected
    )
}

#[derive(Debug)]
pub(super) struct Relay {
    pub(super) forwarder: String,
    pub(super) inbound: Token,
    pub(super) outbound: Token,
    pub(super) to_target: Pipe,
    pub(super) to_client: Pipe,
}

/// The lab's forwarders and their live relays.
#[derive(Debug, Default)]
pub struct Relays {
    /// Relays (by their inbound token) that stopped on their budget with bytes maybe left.
    pub(super) unfinished: std::collections::BTreeSet<Token>,
    pub(super) targets: HashMap<String, SocketAddr>,
    pub(super) live: HashMap<u64, Relay>,
    pub(super) by_token: HashMap<Token, u64>,
    pub(super) next_id: u64,
}

impl Relays {
    /// Drops the relay `token` belongs to; returns the other leg, still open, for closing.
    pub fn forget(&mut self, token: Token) -> Option<Token> {
        let id = self.by_token.remove(&token)?;
        let relay = self.live.remove(&id)?;
        self.unfinished.remove(&relay.inbound);
        let partner = if relay.inbound == token {
            relay.outbound
        } else {
            relay.inbound
        };
        self.by_token.remove(&partner);
        Some(partner)
    }

    pub fn forget_forwarder(&mut self, name: &str) {
        self.targets.remove(name);
    }

    /// How many relays the forwarder `name` has open.
    pub(super) fn count_for(&self, name: &str) -> usize {
        self.live
            .values()
            .filter(|relay| relay.forwarder == name)
            .count()
    }

    #[must_use]
    pub fn is_relayed(&self, token: Token) -> bool {
        self.by_token.contains_key(&token)
    }
}
