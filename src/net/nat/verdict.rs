//! What the NAT did with one packet, and the words for it.

use std::fmt;
use std::net::SocketAddrV4;

use crate::model::Proto;

/// Which way a packet crosses the wire: from host a ("the internet") to host b (the private
/// network), or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    AToB,
    BToA,
}

/// A packet's protocol, source and destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    pub proto: Proto,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

impl fmt::Display for Flow {
    /// `tcp 198.18.0.1:40000 > 198.18.0.254:8080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} > {}", self.proto.name(), self.src, self.dst)
    }
}

/// What [`super::Nat::translate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Sent on as it was.
    Untouched(Pass),
    /// Rewritten in place (addresses, ports, checksums); send the buffer on. `entry` is the NAT
    /// table entry's id (the same for every packet of one connection, both ways).
    Rewritten {
        entry: u64,
        before: Flow,
        after: Flow,
    },
    /// Not to be sent on.
    Dropped(DropReason),
}

/// Why a packet was passed on untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// No rule is set: the wire is transparent.
    NoRules,
    /// Not IPv4 (IPv6, or bytes that are not IP at all): NAT here is IPv4 only.
    NotIpv4,
    /// IPv4 but neither TCP nor UDP (ICMP, ...), with its protocol number. ICMP errors quoting a
    /// translated packet are not rewritten (a documented limit).
    OtherProtocol(u8),
    /// TCP or UDP matching no rule and no table entry.
    NotForNat,
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than its headers or its IPv4 total length says.
    Truncated,
    /// Headers that contradict themselves (IHL < 5, a TCP data offset < 5, a UDP length outside
    /// the packet).
    Malformed,
    /// The IPv4 header checksum does not verify: a router drops such packets.
    BadHeaderChecksum,
    /// An IPv4 fragment concerning a rule: only the first carries the ports, and this router does
    /// not reassemble (the hosts send with DF set, so none should come).
    Fragment,
    /// To a public address of a rule, but to a port (or protocol) no rule forwards.
    NoRule,
    /// A TCP segment that is not a SYN, for a connection the table does not know (or no longer
    /// knows); or a reply from a private tuple with no table entry.
    NoConnection,
    /// A new connection whose reply tuple is already used by another entry (two public ports
    /// forwarded to one private port, reached from one remote port).
    TupleInUse,
    /// The table is full of live entries: new connections are dropped, existing ones keep going
    /// (as Linux's conntrack does).
    TableFull,
}

impl DropReason {
    pub const ALL: [Self; 8] = [
        Self::Truncated,
        Self::Malformed,
        Self::BadHeaderChecksum,
        Self::Fragment,
        Self::NoRule,
        Self::NoConnection,
        Self::TupleInUse,
        Self::TableFull,
    ];

    /// The locale key of the reason (under `[nat.drop]`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Truncated => "nat.drop.truncated",
            Self::Malformed => "nat.drop.malformed",
            Self::BadHeaderChecksum => "nat.drop.bad_header_checksum",
            Self::Fragment => "nat.drop.fragment",
            Self::NoRule => "nat.drop.no_rule",
            Self::NoConnection => "nat.drop.no_connection",
            Self::TupleInUse => "nat.drop.tuple_in_use",
            Self::TableFull => "nat.drop.table_full",
        }
    }

    /// A stable word for JSON and traces: `truncated`, `no_connection`, ...
    #[must_use]
    pub fn word(self) -> &'static str {
        self.key().trim_start_matches("nat.drop.")
    }
}

impl Pass {
    /// The locale key of the reason (under `[nat.pass]`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::NoRules => "nat.pass.no_rules",
            Self::NotIpv4 => "nat.pass.not_ipv4",
            Self::OtherProtocol(_) => "nat.pass.other_protocol",
            Self::NotForNat => "nat.pass.not_for_nat",
        }
    }
}
