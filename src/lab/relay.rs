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

use super::entry::Handle;
use super::{Lab, LabError, Step};
use crate::command::Target;

/// Bytes a relay holds per direction at most.
pub const RELAY_BUFFER: usize = 64 * 1024;

/// Relays one forwarder keeps open at most; a connection beyond them is accepted and closed at
/// once, with a failed trace entry. Enough for any lecture, and it bounds a loop the lab cannot
/// detect to a few hundred sockets instead of every descriptor the process may have.
pub const RELAYS_PER_FORWARDER: usize = 256;

/// One direction of a relay: bytes read from one leg, not yet written to the other.
#[derive(Debug)]
struct Pipe {
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// The reading leg said end-of-file.
    eof: bool,
    /// The end-of-file has been passed on with `shutdown(SHUT_WR)`.
    passed_on: bool,
}

impl Pipe {
    fn new() -> Self {
        Self {
            buffer: vec![0; RELAY_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            passed_on: false,
        }
    }

    fn is_finished(&self) -> bool {
        self.passed_on
    }

    /// Moves bytes from `from` to `to` until neither can make progress. Returns the bytes moved.
    fn pump(&mut self, from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
        let mut moved = 0;
        loop {
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
                return Ok(moved);
            }
        }
    }
}

/// Whether a listener bound to `listen` takes connections made to `address`.
fn accepts(listen: SocketAddr, address: SocketAddr) -> bool {
    // A wildcard listener is taken as reaching every address (an IPv6 one may take IPv4 too).
    listen.port() == address.port() && (listen.ip() == address.ip() || listen.ip().is_unspecified())
}

/// Would-block, or an outbound leg still connecting: try again on the next event.
fn is_not_yet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::NotConnected
    )
}

#[derive(Debug)]
struct Relay {
    forwarder: String,
    inbound: Token,
    outbound: Token,
    to_target: Pipe,
    to_client: Pipe,
}

/// The lab's forwarders and their live relays.
#[derive(Debug, Default)]
pub struct Relays {
    targets: HashMap<String, SocketAddr>,
    live: HashMap<u64, Relay>,
    by_token: HashMap<Token, u64>,
    next_id: u64,
}

impl Relays {
    /// Drops the relay `token` belongs to; returns the other leg, still open, for closing.
    pub fn forget(&mut self, token: Token) -> Option<Token> {
        let id = self.by_token.remove(&token)?;
        let relay = self.live.remove(&id)?;
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
    fn count_for(&self, name: &str) -> usize {
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

impl Lab {
    pub(super) fn forward(
        &mut self,
        name: &str,
        listen: SocketAddr,
        target: &Target,
    ) -> Result<Step, LabError> {
        let target = self.resolve(target)?;
        self.allow(super::exposure::check_target("forward", target))?;
        self.table.ensure_free(name)?;
        // A port given explicitly is known before any syscall: refuse a loop before socket().
        if listen.port() != 0 {
            self.refuse_loop(name, listen, target)?;
        }
        let Some(token) = self.start_listener(name, Some(listen), None)? else {
            return Ok(Step::Done);
        };
        // The port the kernel picked could be one another forwarder already targets.
        let local = self.table.named(name)?.local;
        if let Some(local) = local
            && let Err(refusal) = self.refuse_loop(name, local, target)
        {
            self.close_token(token);
            return Err(refusal);
        }
        let entry = self.table.named_mut(name)?;
        entry.forwarder = Some(name.to_owned());
        entry.auto_accept = true;
        self.relays.targets.insert(name.to_owned(), target);
        self.accept_pending(token);
        Ok(Step::Done)
    }

    /// Refuses a forwarder listening on `listen` whose `target` leads back to it: the target
    /// itself, or another forwarder whose own target (and so on) does.
    fn refuse_loop(
        &self,
        name: &str,
        listen: SocketAddr,
        target: SocketAddr,
    ) -> Result<(), LabError> {
        let mut hop = target;
        let mut via: Vec<String> = Vec::new();
        loop {
            if accepts(listen, hop) {
                return Err(LabError::ForwardLoop {
                    name: name.to_owned(),
                    target,
                    via,
                });
            }
            // The lab forwarder listening where this hop leads, if any, and where it relays to.
            let next = self.relays.targets.iter().find_map(|(forwarder, onward)| {
                let local = self.table.named(forwarder).ok()?.local?;
                accepts(local, hop).then(|| (forwarder.clone(), *onward))
            });
            match next {
                // A loop among older forwarders (not through this one) cannot exist: each was
                // checked when it was made. The guard only keeps this walk finite.
                Some((forwarder, onward)) if !via.contains(&forwarder) => {
                    via.push(forwarder);
                    hop = onward;
                }
                _ => return Ok(()),
            }
        }
    }

    /// A forwarder accepted `inbound`: connect its other leg and start relaying.
    pub(super) fn open_relay(&mut self, forwarder: &str, inbound: Token) {
        let Some(target) = self.relays.targets.get(forwarder).copied() else {
            return;
        };
        if self.relays.count_for(forwarder) >= RELAYS_PER_FORWARDER {
            self.refuse_relay(forwarder, inbound, target);
            return;
        }
        let Some(entry) = self.table.get_mut(inbound) else {
            return;
        };
        entry.forwarder = Some(forwarder.to_owned());
        let in_name = entry.name().to_owned();
        let out_name = in_name.replacen("-in", "-out", 1);
        let out_name = if self.table.contains_name(&out_name) {
            format!("{in_name}-out")
        } else {
            out_name
        };
        match self.client_to(&out_name, target) {
            Ok(Some(outbound)) => {
                if let Some(entry) = self.table.get_mut(outbound) {
                    entry.forwarder = Some(forwarder.to_owned());
                }
                let id = self.relays.next_id;
                self.relays.next_id += 1;
                self.relays.live.insert(
                    id,
                    Relay {
                        forwarder: forwarder.to_owned(),
                        inbound,
                        outbound,
                        to_target: Pipe::new(),
                        to_client: Pipe::new(),
                    },
                );
                self.relays.by_token.insert(inbound, id);
                self.relays.by_token.insert(outbound, id);
                self.pump_relay(inbound);
            }
            // No leg to relay to: the client must not wait forever.
            Ok(None) | Err(_) => self.close_token(inbound),
        }
    }

    /// The forwarder is at its relay limit: `inbound` is closed at once, and the trace and the
    /// lab's errors say why.
    fn refuse_relay(&mut self, forwarder: &str, inbound: Token, target: SocketAddr) {
        let in_name = self
            .table
            .get(inbound)
            .map_or_else(String::new, |entry| entry.name().to_owned());
        self.trace.record_refusal(
            Some(&in_name),
            format!("relay({in_name}, {target})"),
            &format!("relay limit: {forwarder} relays at most {RELAYS_PER_FORWARDER} connections"),
        );
        self.note_error(
            format!("forward {forwarder}"),
            &LabError::RelayLimit {
                forwarder: forwarder.to_owned(),
                limit: RELAYS_PER_FORWARDER,
                closed: in_name,
            },
        );
        self.close_token(inbound);
    }

    /// Moves what can be moved on the relay `token` belongs to; closes both legs when both
    /// directions are finished or either fails.
    pub(super) fn pump_relay(&mut self, token: Token) {
        let Some(&id) = self.relays.by_token.get(&token) else {
            return;
        };
        let Some(relay) = self.relays.live.get_mut(&id) else {
            return;
        };
        let (Some(inbound), Some(outbound)) = (
            self.table.get(relay.inbound),
            self.table.get(relay.outbound),
        ) else {
            return;
        };
        let (Handle::Stream(client), Handle::Stream(server)) = (&inbound.handle, &outbound.handle)
        else {
            return;
        };
        let forward = relay.to_target.pump(client, server);
        let backward = relay.to_client.pump(server, client);
        let (inbound_token, outbound_token) = (relay.inbound, relay.outbound);
        let finished = relay.to_target.is_finished() && relay.to_client.is_finished();
        let failed = forward.is_err() || backward.is_err();
        let to_target = forward.unwrap_or(0);
        let to_client = backward.unwrap_or(0);
        if let Some(entry) = self.table.get_mut(inbound_token) {
            entry.bytes_received += to_target;
            entry.bytes_sent += to_client;
        }
        if let Some(entry) = self.table.get_mut(outbound_token) {
            entry.bytes_sent += to_target;
            entry.bytes_received += to_client;
        }
        if finished || failed {
            self.close_token(inbound_token);
        }
    }
}
