//! The NAT table: one entry per translated connection (TCP) or flow (UDP), found from either
//! side, with its counters, its TCP progress, and when it expires.
//!
//! Bounds and lifetimes (all in [`Limits`]; the defaults follow the RFCs a home router should):
//! - at most `max_entries` entries (4096). A new connection that finds the table full first
//!   evicts the oldest *closed* entry; if every entry is still live, the new connection's packet
//!   is dropped (`TableFull`) and the existing ones keep going, as Linux's conntrack does;
//! - an entry expires when idle longer than its state allows: TCP after a SYN with no answer 2 min,
//!   an open TCP connection 2 h 4 min (RFC 5382 REQ-5), one with a FIN seen 4 min (2 MSL, RFC 5382),
//!   one closed (FIN both ways, or RST) 10 s (so the last ACK and retransmitted FINs still pass),
//!   UDP 2 min (RFC 4787 REQ-5). Lookups ignore expired entries, so the answer never depends on
//!   when the sweep last ran.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::packet::TcpFlags;
use super::verdict::Direction;
use crate::model::Proto;

/// The table's bounds and idle timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub tcp_syn: Duration,
    pub tcp_open: Duration,
    pub tcp_closing: Duration,
    pub tcp_closed: Duration,
    pub udp: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 4096,
            tcp_syn: Duration::from_mins(2),
            tcp_open: Duration::from_mins(2 * 60 + 4),
            tcp_closing: Duration::from_mins(4),
            tcp_closed: Duration::from_secs(10),
            udp: Duration::from_mins(2),
        }
    }
}

/// Where a TCP connection through the NAT is, from the segments it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpProgress {
    /// The SYN went through; no SYN-ACK yet.
    SynSeen,
    /// The private side answered (SYN-ACK): the connection is open.
    Open,
    /// A FIN went one way.
    Closing,
    /// FIN both ways, or a RST.
    Closed,
}

/// One translated connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    pub proto: Proto,
    /// The peer on a's side that opened the connection.
    pub remote: SocketAddrV4,
    pub public: SocketAddrV4,
    pub private: SocketAddrV4,
    /// `None` for UDP.
    pub tcp: Option<TcpProgress>,
    pub fin_a_to_b: bool,
    pub fin_b_to_a: bool,
    pub packets_a_to_b: u64,
    pub packets_b_to_a: u64,
    /// IPv4 total lengths, headers included.
    pub bytes_a_to_b: u64,
    pub bytes_b_to_a: u64,
    pub created: Instant,
    pub last_seen: Instant,
}

impl Entry {
    /// How long this entry may stay idle in its present state.
    #[must_use]
    pub fn timeout(&self, limits: &Limits) -> Duration {
        match self.tcp {
            None => limits.udp,
            Some(TcpProgress::SynSeen) => limits.tcp_syn,
            Some(TcpProgress::Open) => limits.tcp_open,
            Some(TcpProgress::Closing) => limits.tcp_closing,
            Some(TcpProgress::Closed) => limits.tcp_closed,
        }
    }

    /// When it expires if nothing more passes.
    #[must_use]
    pub fn expires(&self, limits: &Limits) -> Instant {
        self.last_seen + self.timeout(limits)
    }

    fn expired(&self, limits: &Limits, now: Instant) -> bool {
        now >= self.expires(limits)
    }

    /// Counts one packet and follows the TCP flags.
    fn record(
        &mut self,
        direction: Direction,
        bytes: usize,
        flags: Option<TcpFlags>,
        now: Instant,
    ) {
        match direction {
            Direction::AToB => {
                self.packets_a_to_b += 1;
                self.bytes_a_to_b += bytes as u64;
            }
            Direction::BToA => {
                self.packets_b_to_a += 1;
                self.bytes_b_to_a += bytes as u64;
            }
        }
        self.last_seen = self.last_seen.max(now);
        let (Some(progress), Some(flags)) = (self.tcp, flags) else {
            return;
        };
        if flags.fin() {
            match direction {
                Direction::AToB => self.fin_a_to_b = true,
                Direction::BToA => self.fin_b_to_a = true,
            }
        }
        self.tcp = Some(if flags.rst() || (self.fin_a_to_b && self.fin_b_to_a) {
            TcpProgress::Closed
        } else if self.fin_a_to_b || self.fin_b_to_a {
            TcpProgress::Closing
        } else if progress == TcpProgress::SynSeen
            && direction == Direction::BToA
            && flags.syn()
            && flags.ack()
        {
            TcpProgress::Open
        } else {
            progress
        });
    }
}

/// `(proto, remote, public)`: how a packet from a finds its entry.
type PublicKey = (Proto, SocketAddrV4, SocketAddrV4);
/// `(proto, private, remote)`: how a reply from b finds its entry.
type PrivateKey = (Proto, SocketAddrV4, SocketAddrV4);

/// Why [`Table::open`] made no entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    TupleInUse,
    Full,
}

/// The entries, by id (creation order), with an index from each side.
#[derive(Debug, Clone, Default)]
pub struct Table {
    limits: Limits,
    entries: BTreeMap<u64, Entry>,
    by_public: HashMap<PublicKey, u64>,
    by_private: HashMap<PrivateKey, u64>,
    next_id: u64,
}

impl Table {
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            next_id: 1,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Live entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The live entry a packet from a to `public` belongs to (an expired one is removed).
    pub fn find_public(
        &mut self,
        proto: Proto,
        remote: SocketAddrV4,
        public: SocketAddrV4,
        now: Instant,
    ) -> Option<u64> {
        let id = *self.by_public.get(&(proto, remote, public))?;
        self.live(id, now)
    }

    /// The live entry a reply from `private` to `remote` belongs to.
    pub fn find_private(
        &mut self,
        proto: Proto,
        private: SocketAddrV4,
        remote: SocketAddrV4,
        now: Instant,
    ) -> Option<u64> {
        let id = *self.by_private.get(&(proto, private, remote))?;
        self.live(id, now)
    }

    fn live(&mut self, id: u64, now: Instant) -> Option<u64> {
        let expired = self.entries.get(&id)?.expired(&self.limits, now);
        if expired {
            self.remove(id);
            None
        } else {
            Some(id)
        }
    }

    #[must_use]
    pub fn get(&self, id: u64) -> Option<&Entry> {
        self.entries.get(&id)
    }

    /// A new entry for a connection from `remote` to `public`, forwarded to `private`.
    pub fn open(
        &mut self,
        proto: Proto,
        remote: SocketAddrV4,
        public: SocketAddrV4,
        private: SocketAddrV4,
        now: Instant,
    ) -> Result<u64, OpenError> {
        if let Some(&other) = self.by_private.get(&(proto, private, remote))
            && self.live(other, now).is_some()
        {
            return Err(OpenError::TupleInUse);
        }
        if self.entries.len() >= self.limits.max_entries {
            self.expire(now);
        }
        if self.entries.len() >= self.limits.max_entries {
            let oldest_closed = self
                .entries
                .values()
                .filter(|entry| entry.tcp == Some(TcpProgress::Closed))
                .min_by_key(|entry| entry.last_seen)
                .map(|entry| entry.id);
            match oldest_closed {
                Some(id) => self.remove(id),
                None => return Err(OpenError::Full),
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(
            id,
            Entry {
                id,
                proto,
                remote,
                public,
                private,
                tcp: (proto == Proto::Tcp).then_some(TcpProgress::SynSeen),
                fin_a_to_b: false,
                fin_b_to_a: false,
                packets_a_to_b: 0,
                packets_b_to_a: 0,
                bytes_a_to_b: 0,
                bytes_b_to_a: 0,
                created: now,
                last_seen: now,
            },
        );
        self.by_public.insert((proto, remote, public), id);
        self.by_private.insert((proto, private, remote), id);
        Ok(id)
    }

    /// Counts a packet of entry `id`.
    pub fn record(
        &mut self,
        id: u64,
        direction: Direction,
        bytes: usize,
        flags: Option<TcpFlags>,
        now: Instant,
    ) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.record(direction, bytes, flags, now);
        }
    }

    pub fn remove(&mut self, id: u64) {
        if let Some(entry) = self.entries.remove(&id) {
            self.by_public
                .remove(&(entry.proto, entry.remote, entry.public));
            self.by_private
                .remove(&(entry.proto, entry.private, entry.remote));
        }
    }

    /// Removes the entries whose rule is gone (`keep` says which public tuples still have one).
    pub fn retain_rules(&mut self, keep: impl Fn(Proto, SocketAddrV4) -> bool) {
        let gone: Vec<u64> = self
            .entries
            .values()
            .filter(|entry| !keep(entry.proto, entry.public))
            .map(|entry| entry.id)
            .collect();
        for id in gone {
            self.remove(id);
        }
    }

    /// Removes every entry idle past its timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let gone: Vec<u64> = self
            .entries
            .values()
            .filter(|entry| entry.expired(&self.limits, now))
            .map(|entry| entry.id)
            .collect();
        for &id in &gone {
            self.remove(id);
        }
        gone.len()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_public.clear();
        self.by_private.clear();
    }
}
