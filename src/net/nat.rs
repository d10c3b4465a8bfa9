//! The wire as a home router: port forwarding on raw IPv4 packets (issue 11, item 4).
//!
//! Host a's side is "the internet", host b the private network. A [`Rule`] forwards a public
//! address:port (the router's, on a's side) to a private address:port on b, for TCP or UDP. The
//! wire hands every packet to [`Nat::translate`] with its [`Direction`]:
//! - a → b, to a rule's public tuple: the destination becomes the private tuple (a TCP connection
//!   must start with a SYN; its entry is made then);
//! - b → a, from the private tuple of a table entry to its remote peer: the source becomes the
//!   public tuple again, so a only ever sees the address it connected to;
//! - anything else passes untouched (the wire stays transparent), except what concerns a rule but
//!   cannot be translated: truncated, malformed, fragmented, a bad IPv4 header checksum, a TCP
//!   segment of an unknown connection. Those are dropped, with a [`DropReason`].
//!
//! The IPv4 header checksum and the TCP/UDP checksum (its pseudo-header covers the addresses) are
//! updated incrementally ([`packet`] says why). The [`table`] counts packets and bytes each way,
//! follows FIN and RST, and expires idle entries; [`view`] is its plain-data form for the panel
//! and the JSON. Nothing here panics on any input, allocates per packet, or reads the clock: the
//! caller passes `now`.

pub mod packet;
pub mod rule;
pub mod table;
pub mod verdict;
pub mod view;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use self::packet::{End, Looked, Parsed};
use self::table::{Limits, OpenError, Table, TcpProgress};
use crate::model::Proto;

pub use self::rule::{Rule, RuleError};
pub use self::verdict::{Direction, DropReason, Flow, Pass, Verdict};
pub use self::view::{NatEntryView, NatRuleView, NatView};

/// How often `translate` sweeps expired entries out (lookups never see them anyway).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The router: its rules and its table.
#[derive(Debug, Clone)]
pub struct Nat {
    rules: Vec<Rule>,
    table: Table,
    next_sweep: Option<Instant>,
    rewritten: u64,
    dropped: u64,
    last_drop: Option<DropReason>,
}

impl Default for Nat {
    fn default() -> Self {
        Self::new()
    }
}

impl Nat {
    /// No rules, the default [`Limits`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    #[must_use]
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            rules: Vec::new(),
            table: Table::new(limits),
            next_sweep: None,
            rewritten: 0,
            dropped: 0,
            last_drop: None,
        }
    }

    /// Adds a rule, refusing one that is malformed, already there, or chained to another.
    pub fn add_rule(&mut self, rule: Rule) -> Result<(), RuleError> {
        rule.check()?;
        for existing in &self.rules {
            rule.check_against(existing)?;
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Removes the rule for `proto` and `public`, and the table entries it made (their
    /// connections break, as on a router whose rule is deleted). Returns the rule.
    pub fn remove_rule(&mut self, proto: Proto, public: SocketAddrV4) -> Result<Rule, RuleError> {
        let at = self
            .rules
            .iter()
            .position(|rule| rule.proto == proto && rule.public == public)
            .ok_or(RuleError::NoSuchRule)?;
        let rule = self.rules.remove(at);
        let rules = &self.rules;
        self.table.retain_rules(|proto, public| {
            rules
                .iter()
                .any(|rule| rule.proto == proto && rule.public == public)
        });
        Ok(rule)
    }

    /// Removes every rule and entry (`wire nat off`): the wire is transparent again.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.table.clear();
    }

    #[must_use]
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The table itself (entries with `Instant`s; [`Nat::view`] for plain data).
    #[must_use]
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Removes the entries idle past their timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        self.table.expire(now)
    }

    /// The rules, the live entries (oldest first) and the counters, as plain data.
    #[must_use]
    pub fn view(&self, now: Instant) -> NatView {
        let limits = self.table.limits();
        NatView {
            rules: self.rules.iter().map(NatRuleView::from).collect(),
            entries: self
                .table
                .iter()
                .filter(|entry| now < entry.expires(limits))
                .map(|entry| NatEntryView::of(entry, limits, now))
                .collect(),
            rewritten: self.rewritten,
            dropped: self.dropped,
            last_drop: self.last_drop.map(DropReason::word),
        }
    }

    /// Translates one packet in place. The buffer is the whole IP packet as read from the TUN
    /// device; on `Rewritten` send it on, on `Untouched` send it on unchanged, on `Dropped` do not
    /// send it. Never panics.
    pub fn translate(&mut self, packet: &mut [u8], direction: Direction, now: Instant) -> Verdict {
        if self.rules.is_empty() && self.table.is_empty() {
            return Verdict::Untouched(Pass::NoRules);
        }
        if self.next_sweep.is_none_or(|at| now >= at) {
            self.table.expire(now);
            self.next_sweep = Some(now + SWEEP_EVERY);
        }
        let verdict = match packet::look(packet) {
            Looked::Pass(pass) => Verdict::Untouched(pass),
            Looked::Malformed(reason) => Verdict::Dropped(reason),
            Looked::Broken { src, dst, reason } => {
                let concerned = match direction {
                    Direction::AToB => self.rules.iter().any(|rule| *rule.public.ip() == dst),
                    Direction::BToA => self.table.iter().any(|entry| *entry.private.ip() == src),
                };
                if concerned {
                    Verdict::Dropped(reason)
                } else {
                    Verdict::Untouched(Pass::NotForNat)
                }
            }
            Looked::Translatable(parsed) => match direction {
                Direction::AToB => self.inbound(packet, &parsed, now),
                Direction::BToA => self.outbound(packet, &parsed, now),
            },
        };
        match verdict {
            Verdict::Rewritten { .. } => self.rewritten += 1,
            Verdict::Dropped(reason) => {
                self.dropped += 1;
                self.last_drop = Some(reason);
            }
            Verdict::Untouched(_) => {}
        }
        verdict
    }

    /// a → b: to a public tuple, rewrite the destination.
    fn inbound(&mut self, packet: &mut [u8], parsed: &Parsed, now: Instant) -> Verdict {
        let flow = parsed.flow;
        let Some(rule) = self
            .rules
            .iter()
            .find(|rule| rule.proto == flow.proto && rule.public == flow.dst)
            .copied()
        else {
            return if self
                .rules
                .iter()
                .any(|rule| rule.public.ip() == flow.dst.ip())
            {
                Verdict::Dropped(DropReason::NoRule)
            } else {
                Verdict::Untouched(Pass::NotForNat)
            };
        };
        if !parsed.header_checksum_ok {
            return Verdict::Dropped(DropReason::BadHeaderChecksum);
        }
        let opening = parsed.tcp.is_none_or(|flags| flags.syn() && !flags.ack());
        let mut id = self.table.find_public(flow.proto, flow.src, flow.dst, now);
        // A new SYN on a closed connection's tuple is a new connection (port reuse).
        if let Some(old) = id
            && opening
            && self
                .table
                .get(old)
                .is_some_and(|e| e.tcp == Some(TcpProgress::Closed))
        {
            self.table.remove(old);
            id = None;
        }
        let id = match id {
            Some(id) => id,
            None if opening => {
                match self
                    .table
                    .open(flow.proto, flow.src, rule.public, rule.private, now)
                {
                    Ok(id) => id,
                    Err(OpenError::TupleInUse) => return Verdict::Dropped(DropReason::TupleInUse),
                    Err(OpenError::Full) => return Verdict::Dropped(DropReason::TableFull),
                }
            }
            None => return Verdict::Dropped(DropReason::NoConnection),
        };
        packet::rewrite(packet, parsed, End::Destination, rule.private);
        self.table
            .record(id, Direction::AToB, parsed.total_len, parsed.tcp, now);
        Verdict::Rewritten {
            entry: id,
            before: flow,
            after: Flow {
                dst: rule.private,
                ..flow
            },
        }
    }

    /// b → a: from an entry's private tuple to its remote peer, rewrite the source back.
    fn outbound(&mut self, packet: &mut [u8], parsed: &Parsed, now: Instant) -> Verdict {
        let flow = parsed.flow;
        let Some(id) = self.table.find_private(flow.proto, flow.src, flow.dst, now) else {
            let from_forwarded = self
                .rules
                .iter()
                .any(|rule| rule.proto == flow.proto && rule.private == flow.src);
            // A private server's reply with no entry would show a its private address: drop it.
            return if from_forwarded {
                Verdict::Dropped(DropReason::NoConnection)
            } else {
                Verdict::Untouched(Pass::NotForNat)
            };
        };
        if !parsed.header_checksum_ok {
            return Verdict::Dropped(DropReason::BadHeaderChecksum);
        }
        let Some(public) = self.table.get(id).map(|entry| entry.public) else {
            return Verdict::Dropped(DropReason::NoConnection);
        };
        packet::rewrite(packet, parsed, End::Source, public);
        self.table
            .record(id, Direction::BToA, parsed.total_len, parsed.tcp, now);
        Verdict::Rewritten {
            entry: id,
            before: flow,
            after: Flow {
                src: public,
                ..flow
            },
        }
    }
}
