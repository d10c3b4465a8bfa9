//! The states each side of a TCP connection entered, derived from its captured segments (RFC 9293's
//! state diagram as the segments drive it): what the ladder panel writes on each lifeline, next to
//! the segment that caused it. Sampled `TCP_INFO` states stay the cross-check.

use std::net::SocketAddr;

use super::decode::flags;
use crate::model::{Segment, TcpState};

/// One side entered `state` because of segment number `segment` (an index into the slice given to
/// [`transitions`]), which it `sent` or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub side: SocketAddr,
    pub state: TcpState,
    pub segment: usize,
    pub sent: bool,
}

#[derive(Debug, Clone, Copy)]
struct Side {
    addr: SocketAddr,
    state: TcpState,
    /// One past this side's FIN, once it sent one: an ACK of this value acknowledges the FIN.
    fin_end: Option<u32>,
}

/// The transitions of both sides of one TCP connection. `opener` is the side that sent the SYN
/// (starting in `CLOSE`), `other` the listening side (starting in `LISTEN`). Retransmissions
/// change nothing.
#[must_use]
pub fn transitions(
    segments: &[&Segment],
    opener: SocketAddr,
    other: SocketAddr,
) -> Vec<Transition> {
    let mut sides = [
        Side {
            addr: opener,
            state: TcpState::Close,
            fin_end: None,
        },
        Side {
            addr: other,
            state: TcpState::Listen,
            fin_end: None,
        },
    ];
    let mut out = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        if segment.retransmission {
            continue;
        }
        let Some(from) = sides.iter().position(|side| side.addr == segment.from) else {
            continue;
        };
        let to = 1 - from;
        let bits = segment.flag_bits;
        let mut enter = |side: &mut Side, state: TcpState, sent: bool| {
            if side.state != state {
                side.state = state;
                out.push(Transition {
                    side: side.addr,
                    state,
                    segment: index,
                    sent,
                });
            }
        };
        // The sender's side of the segment.
        let sender = &mut sides[from];
        if bits & flags::RST != 0 {
            enter(sender, TcpState::Close, true);
        } else if bits & flags::SYN != 0 && bits & flags::ACK == 0 {
            enter(sender, TcpState::SynSent, true);
        } else if bits & flags::SYN != 0 {
            enter(sender, TcpState::SynRecv, true);
        } else if bits & flags::FIN != 0 {
            sender.fin_end = Some(segment.seq.wrapping_add(segment.len).wrapping_add(1));
            match sender.state {
                TcpState::Established | TcpState::SynRecv => {
                    enter(sender, TcpState::FinWait1, true);
                }
                TcpState::CloseWait => enter(sender, TcpState::LastAck, true),
                _ => {}
            }
        }
        // The receiver's side, once the segment arrived (the wire may hold, delay or drop it).
        if segment.wire.is_some() {
            continue;
        }
        let receiver = &mut sides[to];
        if bits & flags::RST != 0 {
            enter(receiver, TcpState::Close, false);
            continue;
        }
        if bits & flags::SYN != 0 && bits & flags::ACK != 0 && receiver.state == TcpState::SynSent {
            enter(receiver, TcpState::Established, false);
            continue;
        }
        let acks_fin = bits & flags::ACK != 0 && receiver.fin_end == Some(segment.ack);
        if bits & flags::ACK != 0 {
            match receiver.state {
                TcpState::SynRecv => enter(receiver, TcpState::Established, false),
                TcpState::FinWait1 if acks_fin => enter(receiver, TcpState::FinWait2, false),
                TcpState::Closing if acks_fin => enter(receiver, TcpState::TimeWait, false),
                TcpState::LastAck if acks_fin => enter(receiver, TcpState::Close, false),
                _ => {}
            }
        }
        if bits & flags::FIN != 0 {
            match receiver.state {
                TcpState::Established => enter(receiver, TcpState::CloseWait, false),
                TcpState::FinWait1 => enter(receiver, TcpState::Closing, false),
                TcpState::FinWait2 => enter(receiver, TcpState::TimeWait, false),
                _ => {}
            }
        }
    }
    out
}

/// Whether a socket's state as the kernel reports it (`reported`) is the one its segments imply.
///
/// One pair is the same fact told in two places: a connection entering `TIME_WAIT` is handed to a
/// time-wait socket of its own and the full socket is closed (`tcp_time_wait` calls `tcp_done`), so
/// the descriptor's `TCP_INFO` then says `CLOSE` while `sock_diag` shows the tuple in `TIME_WAIT`.
#[must_use]
pub fn states_agree(implied: TcpState, reported: TcpState) -> bool {
    implied.name() == reported.name()
        || (implied == TcpState::TimeWait && reported == TcpState::Close)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    fn seg(from: &str, to: &str, bits: u8, seq: u32, ack: u32) -> Segment {
        Segment {
            conn: "c".into(),
            t_us: 0,
            proto: Proto::Tcp,
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            from_name: None,
            to_name: None,
            flags: "",
            flag_bits: bits,
            seq,
            ack,
            rel_seq: 0,
            rel_ack: 0,
            len: 0,
            win: 0,
            retransmission: false,
            preview: None,
            dropped_before: 0,
            wire_id: None,
            wire: None,
            nat: None,
            nat_drop: None,
        }
    }

    #[test]
    fn a_whole_connection_walks_both_state_diagrams() {
        use TcpState::{Close, CloseWait, Established, FinWait1, FinWait2, LastAck, SynRecv};
        use TcpState::{SynSent, TimeWait};
        use flags::{ACK, FIN, SYN};
        const C: &str = "127.0.0.1:40000";
        const S: &str = "127.0.0.1:5555";
        let segments = [
            seg(C, S, SYN, 100, 0),
            seg(S, C, SYN | ACK, 900, 101),
            seg(C, S, ACK, 101, 901),
            seg(C, S, FIN | ACK, 101, 901),
            seg(S, C, ACK, 901, 102),
            seg(S, C, FIN | ACK, 901, 102),
            seg(C, S, ACK, 102, 902),
        ];
        let refs: Vec<&Segment> = segments.iter().collect();
        let (c, s) = (C.parse().unwrap(), S.parse().unwrap());
        let walked = transitions(&refs, c, s);
        let of = |side: SocketAddr| -> Vec<(TcpState, usize)> {
            walked
                .iter()
                .filter(|t| t.side == side)
                .map(|t| (t.state, t.segment))
                .collect()
        };
        assert_eq!(
            of(c),
            [
                (SynSent, 0),
                (Established, 1),
                (FinWait1, 3),
                (FinWait2, 4),
                (TimeWait, 5)
            ]
        );
        assert_eq!(
            of(s),
            [
                (SynRecv, 1),
                (Established, 2),
                (CloseWait, 3),
                (LastAck, 5),
                (Close, 6)
            ]
        );
    }

    #[test]
    fn agreement_allows_only_the_time_wait_hand_over() {
        use TcpState::{Close, Established, NewSynRecv, SynRecv, TimeWait};
        assert!(states_agree(Established, Established));
        assert!(
            states_agree(SynRecv, NewSynRecv),
            "one state, two kernel codes"
        );
        assert!(
            states_agree(TimeWait, Close),
            "the full socket is closed, a time-wait socket holds the tuple"
        );
        assert!(!states_agree(Close, TimeWait), "never the other way round");
        assert!(
            !states_agree(Close, Established),
            "an RST the kernel ignored"
        );
        assert!(
            !states_agree(Established, TcpState::CloseWait),
            "a FIN the capture missed"
        );
    }
}
