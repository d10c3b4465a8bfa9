//! What the ladder panel shows: which captured connection it follows (the one selected in the other
//! panels, else the newest), its segments in order, the two lifelines, the states each side entered
//! (derived from the segments by `net::ladder`), and the rows — a segment each, plus a gap line
//! where the capture's ring let segments go.

use std::net::SocketAddr;

use super::item::Item;
use crate::model::{CapturedConnection, Proto, Segment, Snapshot, SocketInfo};
use crate::net::ladder::{Transition, transitions};

/// One end of the ladder: a lab name (where the lab owns or owned it) and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lifeline<'a> {
    pub name: Option<&'a str>,
    pub addr: Option<SocketAddr>,
}

/// One row of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LadderRow {
    /// Segment number `n` of [`Ladder::segments`].
    Segment(usize),
    /// The ring dropped this many segments here.
    Gap(u64),
}

/// The ladder of one connection (or of one UDP socket's datagrams with one peer).
#[derive(Debug, Clone, Default)]
pub struct Ladder<'a> {
    /// The captured connection shown; `None` when the capture saw nothing for the subject.
    pub connection: Option<&'a CapturedConnection>,
    /// The lab name the selection points at, when it names one (shown when nothing was captured).
    pub subject: Option<&'a str>,
    /// The opening side (the SYN's sender) on the left, the other on the right.
    pub left: Lifeline<'a>,
    pub right: Lifeline<'a>,
    pub segments: Vec<&'a Segment>,
    /// The states each side entered, and the segment that made it (TCP only).
    pub transitions: Vec<Transition>,
    pub rows: Vec<LadderRow>,
}

impl<'a> Ladder<'a> {
    /// The transitions segment number `index` caused, left side first.
    pub fn transitions_at(&self, index: usize) -> impl Iterator<Item = &Transition> + '_ {
        self.transitions
            .iter()
            .filter(move |transition| transition.segment == index)
    }

    /// The position of `segment` (a reference into the same snapshot) in [`Self::segments`].
    #[must_use]
    pub fn index_of(&self, segment: &Segment) -> Option<usize> {
        self.segments
            .iter()
            .position(|candidate| std::ptr::eq(*candidate, segment))
    }

    /// The lifeline at `addr`, if it is one of the two.
    #[must_use]
    pub fn lifeline(&self, addr: SocketAddr) -> Option<Lifeline<'a>> {
        [self.left, self.right]
            .into_iter()
            .find(|side| side.addr == Some(addr))
    }
}

/// What the selection in the other panels asks the ladder to follow.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A connected socket or a tuple the kernel still keeps.
    Tuple {
        proto: Option<Proto>,
        local: SocketAddr,
        remote: SocketAddr,
        name: Option<&'a str>,
    },
    /// A listener or an unconnected UDP socket: its newest conversation.
    Address {
        proto: Proto,
        local: SocketAddr,
        name: &'a str,
    },
    /// A lab name with no live socket (a closed one, named in the trace): its newest connection.
    Name(&'a str),
    /// Nothing in particular: the newest connection.
    Newest,
}

fn socket_subject(socket: &SocketInfo) -> Subject<'_> {
    match (socket.local, socket.remote) {
        (Some(local), Some(remote)) => Subject::Tuple {
            proto: Some(socket.proto),
            local,
            remote,
            name: Some(&socket.name),
        },
        (Some(local), None) => Subject::Address {
            proto: socket.proto,
            local,
            name: &socket.name,
        },
        _ => Subject::Name(&socket.name),
    }
}

impl<'a> Subject<'a> {
    /// What selecting `item` asks the ladder to follow.
    #[must_use]
    pub fn of(snapshot: &'a Snapshot, item: Option<Item<'a>>) -> Self {
        let named = |name: &'a str| -> Subject<'a> {
            snapshot
                .socket(name)
                .map_or(Subject::Name(name), socket_subject)
        };
        match item {
            Some(Item::Socket(socket)) => socket_subject(socket),
            Some(Item::Listener(listener)) => {
                listener
                    .local
                    .map_or(Subject::Name(&listener.name), |local| Subject::Address {
                        proto: Proto::Tcp,
                        local,
                        name: &listener.name,
                    })
            }
            Some(Item::KernelOnly(held)) => Subject::Tuple {
                proto: Some(Proto::Tcp),
                local: held.local,
                remote: held.remote,
                name: held.was.as_deref(),
            },
            Some(Item::Fd(fd)) => fd.name.as_deref().map_or(Subject::Newest, named),
            Some(Item::Port(used)) => named(&used.name),
            Some(Item::Trace(entry)) => entry.name.as_deref().map_or(Subject::Newest, named),
            _ => Subject::Newest,
        }
    }

    /// The lab name the subject carries, if any.
    fn name(self) -> Option<&'a str> {
        match self {
            Subject::Tuple { name, .. } => name,
            Subject::Address { name, .. } | Subject::Name(name) => Some(name),
            Subject::Newest => None,
        }
    }

    /// The newest captured connection that matches.
    fn find(self, connections: &'a [CapturedConnection]) -> Option<&'a CapturedConnection> {
        let newest = |wanted: &dyn Fn(&CapturedConnection) -> bool| {
            connections
                .iter()
                .rev()
                .find(|connection| wanted(connection))
        };
        match self {
            Subject::Tuple {
                proto,
                local,
                remote,
                ..
            } => newest(&|c| {
                proto.is_none_or(|proto| proto == c.proto)
                    && ((c.a == local && c.b == remote) || (c.a == remote && c.b == local))
            }),
            Subject::Address { proto, local, .. } => {
                newest(&|c| c.proto == proto && (c.a == local || c.b == local))
            }
            Subject::Name(name) => {
                newest(&|c| c.a_name.as_deref() == Some(name) || c.b_name.as_deref() == Some(name))
            }
            Subject::Newest => connections.last(),
        }
    }

    /// The lifelines of a subject the capture saw nothing of: they still say whose ladder it is.
    fn lifelines(self) -> (Lifeline<'a>, Lifeline<'a>) {
        match self {
            Subject::Tuple {
                local,
                remote,
                name,
                ..
            } => (
                Lifeline {
                    name,
                    addr: Some(local),
                },
                Lifeline {
                    name: None,
                    addr: Some(remote),
                },
            ),
            Subject::Address { local, name, .. } => (
                Lifeline {
                    name: Some(name),
                    addr: Some(local),
                },
                Lifeline::default(),
            ),
            Subject::Name(name) => (
                Lifeline {
                    name: Some(name),
                    addr: None,
                },
                Lifeline::default(),
            ),
            Subject::Newest => (Lifeline::default(), Lifeline::default()),
        }
    }
}

impl<'a> Ladder<'a> {
    /// The ladder of what `subject` points at in `snapshot`.
    #[must_use]
    pub fn build(snapshot: &'a Snapshot, subject: Subject<'a>) -> Self {
        let Some(connection) = subject.find(&snapshot.capture.connections) else {
            let (left, right) = subject.lifelines();
            return Ladder {
                subject: subject.name(),
                left,
                right,
                ..Ladder::default()
            };
        };
        let (a, b) = (connection.a, connection.b);
        // By 4-tuple, not by `conn` name: two connections may carry the same name (an unnamed
        // client of one listener, a UDP socket with two peers).
        let segments: Vec<&Segment> = snapshot
            .segments
            .iter()
            .filter(|segment| {
                segment.proto == connection.proto
                    && ((segment.from == a && segment.to == b)
                        || (segment.from == b && segment.to == a))
            })
            .collect();
        let transitions = if connection.proto == Proto::Tcp {
            transitions(&segments, a, b)
        } else {
            Vec::new()
        };
        let mut rows = Vec::with_capacity(segments.len() + 1);
        for (index, segment) in segments.iter().enumerate() {
            if segment.dropped_before > 0 {
                rows.push(LadderRow::Gap(segment.dropped_before));
            }
            rows.push(LadderRow::Segment(index));
        }
        Ladder {
            connection: Some(connection),
            subject: subject.name(),
            left: Lifeline {
                name: connection.a_name.as_deref(),
                addr: Some(a),
            },
            right: Lifeline {
                name: connection.b_name.as_deref(),
                addr: Some(b),
            },
            segments,
            transitions,
            rows,
        }
    }

    /// The item on row `index`.
    #[must_use]
    pub fn item(&self, index: usize) -> Option<Item<'a>> {
        match self.rows.get(index)? {
            LadderRow::Segment(at) => self.segments.get(*at).copied().map(Item::Segment),
            LadderRow::Gap(count) => Some(Item::SegmentGap(*count)),
        }
    }
}
