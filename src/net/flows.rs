//! Captured segments put in order per connection (4-tuple): relative sequence numbers per direction,
//! retransmissions, and bounded storage with drops counted.
//!
//! Each connection keeps its first [`HEAD_KEEP`] segments (the handshake stays visible however long
//! the transfer) and a ring of the latest [`TAIL_KEEP`]; what falls out of the ring in between is
//! counted in [`Flow::dropped`]. At most [`MAX_FLOWS`] connections are kept; the oldest goes first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use super::decode::{Decoded, PREVIEW_LEN, flags};
use crate::escape;
use crate::model::Proto;

pub const HEAD_KEEP: usize = 16;
pub const TAIL_KEEP: usize = 496;
pub const MAX_FLOWS: usize = 256;

/// One segment as stored (the endpoints live in its [`Flow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Capture order across all connections.
    pub index: u64,
    /// Microseconds since the capture's first segment.
    pub t_us: u64,
    /// Sent by the flow's `a` side (else by `b`).
    pub from_a: bool,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub rel_seq: u32,
    pub rel_ack: u32,
    pub len: u32,
    pub win: u16,
    pub retransmission: bool,
    /// The first payload bytes, escaped once here so every snapshot shares the string.
    pub preview: Option<Arc<str>>,
}

/// Sequence-space bookkeeping of one direction.
#[derive(Debug, Clone, Copy, Default)]
struct Direction {
    /// The initial sequence number (the SYN's, or the first one seen if the SYN was missed).
    isn: Option<u32>,
    /// One past the highest sequence number sent so far (SYN and FIN count one each).
    next: Option<u32>,
}

/// `a` before `b` in sequence space (RFC 1982 serial arithmetic).
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// The segments of one connection, in capture order.
#[derive(Debug, Clone)]
pub struct Flow {
    pub proto: Proto,
    /// The side seen sending first: the client, when the SYN was captured.
    pub a: SocketAddr,
    pub b: SocketAddr,
    /// Whether the capture saw `a`'s opening SYN (so `a` is known to be the initiator).
    pub saw_syn: bool,
    head: Vec<Stored>,
    tail: VecDeque<Stored>,
    /// Segments that fell out of the ring between the head and the tail.
    pub dropped: u64,
    dirs: [Direction; 2],
}

impl Flow {
    fn new(proto: Proto, a: SocketAddr, b: SocketAddr) -> Self {
        Self {
            proto,
            a,
            b,
            saw_syn: false,
            head: Vec::new(),
            tail: VecDeque::new(),
            dropped: 0,
            dirs: [Direction::default(); 2],
        }
    }

    /// The kept segments in order: the head, then (after `dropped` missing ones) the tail.
    pub fn segments(&self) -> impl Iterator<Item = &Stored> {
        self.head.iter().chain(self.tail.iter())
    }

    /// The kept segment at `position` (0 is the first kept).
    #[must_use]
    pub fn get(&self, position: usize) -> Option<&Stored> {
        self.head
            .get(position)
            .or_else(|| self.tail.get(position.checked_sub(self.head.len())?))
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the kept segments come before the gap of dropped ones.
    #[must_use]
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The sender and receiver of a stored segment.
    #[must_use]
    pub fn endpoints(&self, segment: &Stored) -> (SocketAddr, SocketAddr) {
        if segment.from_a {
            (self.a, self.b)
        } else {
            (self.b, self.a)
        }
    }

    fn push(&mut self, stored: Stored) {
        if self.head.len() < HEAD_KEEP {
            self.head.push(stored);
            return;
        }
        if self.tail.len() == TAIL_KEEP {
            self.tail.pop_front();
            self.dropped += 1;
        }
        self.tail.push_back(stored);
    }

    /// A SYN with a new initial sequence number on a tuple already seen: a new connection reusing
    /// the 4-tuple (e.g. after `TIME_WAIT`).
    fn is_new_incarnation(&self, from_a: bool, segment: &Decoded<'_>) -> bool {
        let syn_only = segment.flags & (flags::SYN | flags::ACK) == flags::SYN;
        let dir = self.dirs[usize::from(!from_a)];
        syn_only && dir.isn.is_some_and(|isn| isn != segment.seq)
    }

    /// Files one segment; returns whether it is a retransmission.
    fn record(&mut self, index: u64, t_us: u64, segment: &Decoded<'_>) -> bool {
        let from_a = segment.from == self.a;
        let (mine, theirs) = if from_a { (0, 1) } else { (1, 0) };
        let tcp = self.proto == Proto::Tcp;
        let syn = segment.flags & flags::SYN != 0;
        if syn && segment.flags & flags::ACK == 0 && from_a && self.is_empty() {
            self.saw_syn = true;
        }
        let mut retransmission = false;
        let (mut rel_seq, mut rel_ack) = (0, 0);
        if tcp {
            let dir = &mut self.dirs[mine];
            if syn || dir.isn.is_none() {
                dir.isn.get_or_insert(segment.seq);
            }
            let isn = dir.isn.unwrap_or(segment.seq);
            rel_seq = segment.seq.wrapping_sub(isn);
            let seg_len = segment.len + u32::from(syn) + u32::from(segment.flags & flags::FIN != 0);
            let end = segment.seq.wrapping_add(seg_len);
            if seg_len > 0 {
                retransmission = dir.next.is_some_and(|next| seq_before(segment.seq, next));
                if dir.next.is_none_or(|next| seq_before(next, end)) {
                    dir.next = Some(end);
                }
            }
            if segment.flags & flags::ACK != 0
                && let Some(their_isn) = self.dirs[theirs].isn
            {
                rel_ack = segment.ack.wrapping_sub(their_isn);
            }
        }
        let preview = (!segment.preview.is_empty()).then(|| {
            let kept = &segment.preview[..segment.preview.len().min(PREVIEW_LEN)];
            Arc::from(escape::strace_bytes(kept, PREVIEW_LEN))
        });
        self.push(Stored {
            index,
            t_us,
            from_a,
            flags: segment.flags,
            seq: segment.seq,
            ack: segment.ack,
            rel_seq,
            rel_ack,
            len: segment.len,
            win: segment.win,
            retransmission,
            preview,
        });
        retransmission
    }
}

/// An unordered 4-tuple and protocol: both directions of a connection share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    proto: Proto,
    low: SocketAddr,
    high: SocketAddr,
}

impl FlowKey {
    fn of(segment: &Decoded<'_>) -> Self {
        let (low, high) = if segment.from <= segment.to {
            (segment.from, segment.to)
        } else {
            (segment.to, segment.from)
        };
        Self {
            proto: segment.proto,
            low,
            high,
        }
    }
}

/// Every captured connection, oldest first.
#[derive(Debug, Default)]
pub struct Flows {
    by_key: HashMap<FlowKey, u64>,
    by_id: BTreeMap<u64, Flow>,
    next_id: u64,
    next_index: u64,
    /// Connections forgotten to stay within [`MAX_FLOWS`].
    pub flows_evicted: u64,
}

impl Flows {
    /// Files one decoded segment, `t_us` after the capture's first; returns whether it is a
    /// retransmission.
    pub fn record(&mut self, segment: &Decoded<'_>, t_us: u64) -> bool {
        let key = FlowKey::of(segment);
        let existing = self.by_key.get(&key).copied();
        let id = match existing {
            Some(id)
                if !self.by_id[&id]
                    .is_new_incarnation(segment.from == self.by_id[&id].a, segment) =>
            {
                id
            }
            _ => self.open(key, segment),
        };
        let index = self.next_index;
        self.next_index += 1;
        self.by_id
            .get_mut(&id)
            .is_some_and(|flow| flow.record(index, t_us, segment))
    }

    fn open(&mut self, key: FlowKey, segment: &Decoded<'_>) -> u64 {
        if self.by_id.len() >= MAX_FLOWS
            && let Some((oldest, flow)) = self.by_id.pop_first()
        {
            let old_key = FlowKey {
                proto: flow.proto,
                low: flow.a.min(flow.b),
                high: flow.a.max(flow.b),
            };
            if self.by_key.get(&old_key) == Some(&oldest) {
                self.by_key.remove(&old_key);
            }
            self.flows_evicted += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_id
            .insert(id, Flow::new(segment.proto, segment.from, segment.to));
        self.by_key.insert(key, id);
        id
    }

    /// The connections, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.by_id.values()
    }

    /// Segments dropped from every connection's ring.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.by_id.values().map(|flow| flow.dropped).sum()
    }

    /// How many segments were filed since the start (or the last [`Flows::clear`]).
    #[must_use]
    pub fn recorded(&self) -> u64 {
        self.next_index
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg<'a>(from: &str, to: &str, bits: u8, seq: u32, ack: u32, len: u32) -> Decoded<'a> {
        Decoded {
            proto: Proto::Tcp,
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            flags: bits,
            seq,
            ack,
            win: 100,
            len,
            preview: b"",
        }
    }

    const C: &str = "127.0.0.1:40000";
    const S: &str = "127.0.0.1:5555";

    #[test]
    fn relative_numbers_per_direction_and_retransmissions() {
        let mut flows = Flows::default();
        flows.record(&seg(C, S, flags::SYN, 1000, 0, 0), 0);
        flows.record(&seg(C, S, flags::SYN, 1000, 0, 0), 1_000_000);
        flows.record(
            &seg(S, C, flags::SYN | flags::ACK, 9000, 1001, 0),
            1_000_050,
        );
        flows.record(&seg(C, S, flags::ACK, 1001, 9001, 0), 1_000_060);
        flows.record(
            &seg(C, S, flags::PSH | flags::ACK, 1001, 9001, 5),
            1_000_070,
        );
        flows.record(
            &seg(C, S, flags::PSH | flags::ACK, 1001, 9001, 5),
            1_200_000,
        );
        flows.record(&seg(S, C, flags::ACK, 9001, 1006, 0), 1_200_010);
        let flow = flows.iter().next().expect("one flow");
        assert!(flow.saw_syn);
        let got: Vec<(u32, u32, bool)> = flow
            .segments()
            .map(|s| (s.rel_seq, s.rel_ack, s.retransmission))
            .collect();
        assert_eq!(
            got,
            [
                (0, 0, false),
                (0, 0, true),
                (0, 1, false),
                (1, 1, false),
                (1, 1, false),
                (1, 1, true),
                (1, 6, false),
            ]
        );
    }

    #[test]
    fn the_ring_keeps_the_head_and_the_latest_and_counts_the_rest() {
        let mut flows = Flows::default();
        flows.record(&seg(C, S, flags::SYN, 0, 0, 0), 0);
        let total = HEAD_KEEP + TAIL_KEEP + 10;
        for n in 1..total as u32 {
            flows.record(&seg(C, S, flags::ACK, n, 1, 1), u64::from(n));
        }
        let flow = flows.iter().next().unwrap();
        assert_eq!(flow.len(), HEAD_KEEP + TAIL_KEEP);
        assert_eq!(flow.dropped, 10);
        assert_eq!(flow.segments().next().unwrap().flags, flags::SYN);
        assert_eq!(flow.segments().last().unwrap().seq, total as u32 - 1);
    }

    #[test]
    fn a_new_syn_on_a_reused_tuple_is_a_new_connection_and_old_flows_are_evicted() {
        let mut flows = Flows::default();
        flows.record(&seg(C, S, flags::SYN, 1, 0, 0), 0);
        flows.record(&seg(C, S, flags::SYN, 5000, 0, 0), 1);
        assert_eq!(flows.iter().count(), 2);
        for port in 0..MAX_FLOWS as u16 {
            flows.record(
                &seg(
                    &format!("127.0.0.1:{}", 1000 + port),
                    S,
                    flags::SYN,
                    1,
                    0,
                    0,
                ),
                2,
            );
        }
        assert_eq!(flows.iter().count(), MAX_FLOWS);
        assert_eq!(flows.flows_evicted, 2);
    }
}
