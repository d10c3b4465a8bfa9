//! Plain data for the NAT panel and the snapshot JSON: the rules and the table, with ages in
//! milliseconds (as `SocketInfo.age_ms`) and addresses as `IP:PORT` strings.

use std::net::SocketAddrV4;
use std::time::Instant;

use serde::Serialize;

use super::rule::Rule;
use super::table::{Entry, Limits, TcpProgress};
use crate::model::Proto;

/// One rule, as JSON: `{"proto": "tcp", "public": "198.18.0.254:8080", "private": "198.19.0.2:80"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatRuleView {
    pub proto: Proto,
    pub public: SocketAddrV4,
    pub private: SocketAddrV4,
}

/// One table entry, as JSON:
/// `{"id": 1, "proto": "tcp", "remote": "198.18.0.1:40000", "public": "198.18.0.254:8080",
///   "private": "198.19.0.2:80", "state": "open", "packets_a_to_b": 4, "packets_b_to_a": 3,
///   "bytes_a_to_b": 220, "bytes_b_to_a": 180, "age_ms": 1200, "idle_ms": 30, "expires_in_ms": 7439970}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatEntryView {
    /// The same for every packet of the connection (`Verdict::Rewritten.entry`).
    pub id: u64,
    pub proto: Proto,
    /// The peer on a's side.
    pub remote: SocketAddrV4,
    /// What the remote peer talks to.
    pub public: SocketAddrV4,
    /// Where its packets really go.
    pub private: SocketAddrV4,
    /// `syn_seen`, `open`, `closing`, `closed` (TCP), `udp`.
    pub state: &'static str,
    pub packets_a_to_b: u64,
    pub packets_b_to_a: u64,
    pub bytes_a_to_b: u64,
    pub bytes_b_to_a: u64,
    pub age_ms: u64,
    pub idle_ms: u64,
    pub expires_in_ms: u64,
}

/// The whole NAT: rules, entries (oldest first), and what it did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NatView {
    pub rules: Vec<NatRuleView>,
    pub entries: Vec<NatEntryView>,
    /// Packets rewritten, both ways.
    pub rewritten: u64,
    /// Packets dropped, for any reason.
    pub dropped: u64,
    /// The last drop's reason (`no_connection`, `truncated`, ...), `null` if none.
    pub last_drop: Option<&'static str>,
}

impl From<&Rule> for NatRuleView {
    fn from(rule: &Rule) -> Self {
        Self {
            proto: rule.proto,
            public: rule.public,
            private: rule.private,
        }
    }
}

impl NatEntryView {
    #[must_use]
    pub fn of(entry: &Entry, limits: &Limits, now: Instant) -> Self {
        let ms = |later: Instant, earlier: Instant| {
            later.saturating_duration_since(earlier).as_millis() as u64
        };
        Self {
            id: entry.id,
            proto: entry.proto,
            remote: entry.remote,
            public: entry.public,
            private: entry.private,
            state: state_word(entry.tcp),
            packets_a_to_b: entry.packets_a_to_b,
            packets_b_to_a: entry.packets_b_to_a,
            bytes_a_to_b: entry.bytes_a_to_b,
            bytes_b_to_a: entry.bytes_b_to_a,
            age_ms: ms(now, entry.created),
            idle_ms: ms(now, entry.last_seen),
            expires_in_ms: ms(entry.expires(limits), now),
        }
    }
}

/// The JSON word of an entry's state.
#[must_use]
pub fn state_word(progress: Option<TcpProgress>) -> &'static str {
    match progress {
        None => "udp",
        Some(TcpProgress::SynSeen) => "syn_seen",
        Some(TcpProgress::Open) => "open",
        Some(TcpProgress::Closing) => "closing",
        Some(TcpProgress::Closed) => "closed",
    }
}
