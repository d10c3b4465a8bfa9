//! Plain data for the NAT panel and the snapshot JSON: the rules and the table, with ages in
//! milliseconds (as `SocketInfo.age_ms`) and addresses as `IP:PORT` strings.

use std::time::Instant;

use super::rule::Rule;
use super::table::{Entry, Limits, TcpProgress};

// The types themselves live in the model (the Snapshot JSON holds a `NatView`, and the model
// imports nothing from `net`); here is how the NAT fills them.
pub use crate::model::{NatEntryView, NatRuleView, NatView};

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
