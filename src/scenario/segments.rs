//! What expectations read from the capture: a lab name's segments, the states its side entered by
//! them (the ladder's lifeline), and whether its connection opened with a proper three-way
//! handshake. All of it is computed from the Snapshot JSON, like every other expectation, so what
//! a lecture checks is what `snapshot --format json` shows.
//!
//! Flag words name one exact combination of TCP flags, in any order, joined by `_` in a path
//! (`c.segments.SYN_ACK`, a count) or by `-` or `_` in a value (`c.segments.last.flags == FIN-ACK`);
//! they are read into bits and spelled back the way the ladder spells them (`SYN-ACK`, `FIN-ACK`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::{Proto, Segment};
use crate::net::decode::{flag_names, flags};
use crate::net::ladder;

/// The flag names a flag word may combine.
const FLAG_NAMES: [(&str, u8); 8] = [
    ("SYN", flags::SYN),
    ("FIN", flags::FIN),
    ("RST", flags::RST),
    ("PSH", flags::PSH),
    ("URG", flags::URG),
    ("ACK", flags::ACK),
    ("ECE", flags::ECE),
    ("CWR", flags::CWR),
];

/// The bits a flag word names (`SYN_ACK`, `ACK-SYN`, `RST`), `None` for any other word. Each flag
/// at most once, upper case.
#[must_use]
pub fn flag_bits(word: &str) -> Option<u8> {
    let mut bits = 0u8;
    for part in word.split(['_', '-']) {
        let (_, bit) = FLAG_NAMES.iter().find(|(name, _)| *name == part)?;
        if bits & bit != 0 {
            return None;
        }
        bits |= bit;
    }
    Some(bits)
}

/// A flag word as the ladder spells it (`ACK_FIN` -> `FIN-ACK`).
#[must_use]
pub fn canonical_flags(word: &str) -> Option<&'static str> {
    flag_bits(word).map(flag_names)
}

/// The fields under a lab name that are read from the capture.
pub const CAPTURED_FIELDS: [&str; 3] = ["segments", "states", "handshake"];

/// Why a snapshot has no capture: its `capture.reason` (or a plain word when it gives none).
/// `None` when the capture runs, or when the JSON says nothing about it.
#[must_use]
pub fn no_capture(json: &Value) -> Option<String> {
    let capture = json.get("capture")?;
    if capture.get("active").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    Some(
        capture
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("the capture is off")
            .to_owned(),
    )
}

fn segment_list(json: &Value) -> &[Value] {
    json.get("segments")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(segment: &'a Value, key: &str) -> Option<&'a str> {
    segment.get(key).and_then(Value::as_str)
}

/// The segments `name` sent or received, as the ladder labels them, in capture order.
#[must_use]
pub fn of_name(json: &Value, name: &str) -> Vec<Value> {
    segment_list(json)
        .iter()
        .filter(|segment| {
            text(segment, "from_name") == Some(name) || text(segment, "to_name") == Some(name)
        })
        .cloned()
        .collect()
}

/// The segments of connection `conn`, in order.
fn of_conn<'a>(json: &'a Value, conn: &str) -> Vec<&'a Value> {
    segment_list(json)
        .iter()
        .filter(|segment| text(segment, "conn") == Some(conn))
        .collect()
}

/// The fields of a segment that the ladder's state machine reads, as a model `Segment`.
fn as_model(segment: &Value) -> Option<Segment> {
    let number = |key: &str| segment.get(key).and_then(Value::as_u64).unwrap_or(0);
    let addr = |key: &str| text(segment, key).and_then(|a| a.parse::<SocketAddr>().ok());
    let bits = u8::try_from(number("flag_bits")).ok()?;
    Some(Segment {
        conn: Arc::from(text(segment, "conn").unwrap_or_default()),
        t_us: number("t_us"),
        proto: Proto::Tcp,
        from: addr("from")?,
        to: addr("to")?,
        from_name: None,
        to_name: None,
        flags: flag_names(bits),
        flag_bits: bits,
        seq: u32::try_from(number("seq")).ok()?,
        ack: u32::try_from(number("ack")).ok()?,
        rel_seq: 0,
        rel_ack: 0,
        len: u32::try_from(number("len")).ok()?,
        win: 0,
        retransmission: segment.get("retransmission").and_then(Value::as_bool) == Some(true),
        preview: None,
        dropped_before: 0,
        wire_id: None,
        wire: None,
        nat: None,
        nat_drop: None,
    })
}

/// The states `name`'s side of each of its TCP connections entered, by the captured segments
/// (`net::ladder::transitions`): `{state, segment, sent}`, `segment` indexing the connection's
/// segments (for a connected socket, `name.segments`).
#[must_use]
pub fn states(json: &Value, name: &str) -> Vec<Value> {
    let mine = of_name(json, name);
    let mut conns: Vec<&str> = Vec::new();
    for segment in &mine {
        if text(segment, "proto") == Some("tcp")
            && let Some(conn) = text(segment, "conn")
            && !conns.contains(&conn)
        {
            conns.push(conn);
        }
    }
    let mut out = Vec::new();
    for conn in conns {
        let all = of_conn(json, conn);
        let model: Vec<Segment> = all.iter().filter_map(|s| as_model(s)).collect();
        if model.len() != all.len() {
            continue;
        }
        let Some(first) = model.first() else {
            continue;
        };
        // The opener sent the first pure SYN; without one, the first segment's sender.
        let opener = model
            .iter()
            .find(|s| s.flag_bits & (flags::SYN | flags::ACK) == flags::SYN)
            .unwrap_or(first);
        let (opener, other) = (opener.from, opener.to);
        // Which address is `name` in this connection.
        let side = all.iter().zip(&model).find_map(|(json, model)| {
            if text(json, "from_name") == Some(name) {
                Some(model.from)
            } else if text(json, "to_name") == Some(name) {
                Some(model.to)
            } else {
                None
            }
        });
        let refs: Vec<&Segment> = model.iter().collect();
        for transition in ladder::transitions(&refs, opener, other) {
            if Some(transition.side) == side {
                let mut entry = Map::new();
                entry.insert("state".into(), transition.state.name().into());
                entry.insert("segment".into(), transition.segment.into());
                entry.insert("sent".into(), transition.sent.into());
                out.push(Value::Object(entry));
            }
        }
    }
    out
}

/// How a connection opened, as a word an expectation compares (`c.handshake == ok`), and the
/// segments that say so, for a failure message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `ok`, `refused`, `unanswered`, `unacknowledged`, `none` or `bad`.
    pub word: &'static str,
    /// The word and the segments it was read from: `refused (SYN, RST-ACK)`.
    pub shown: String,
}

/// A segment as the ladder reads it, for [`handshake`].
struct Seen<'a> {
    flags: &'a str,
    bits: u8,
    from: &'a str,
    seq: u64,
    ack: u64,
    retransmission: bool,
}

impl<'a> Seen<'a> {
    fn of(segment: &'a Value) -> Self {
        let number = |key: &str| segment.get(key).and_then(Value::as_u64).unwrap_or(0);
        Self {
            flags: text(segment, "flags").unwrap_or_default(),
            bits: u8::try_from(number("flag_bits")).unwrap_or(0),
            from: text(segment, "from").unwrap_or_default(),
            seq: number("seq"),
            ack: number("ack"),
            retransmission: segment.get("retransmission").and_then(Value::as_bool) == Some(true),
        }
    }

    fn is(&self, bits: u8) -> bool {
        self.bits == bits
    }
}

/// One more than a sequence number, modulo 2^32 (as TCP counts).
fn next(seq: u64) -> u64 {
    (seq + 1) & u64::from(u32::MAX)
}

/// The opening of `name`'s connection (the first connection its segments belong to):
/// - `ok`: SYN, then SYN-ACK acknowledging the SYN's seq + 1, then the opener's ACK with seq =
///   the SYN's + 1 acknowledging the SYN-ACK's seq + 1 (retransmitted SYNs before the answer are
///   allowed: the ladder marks them);
/// - `refused`: the SYN answered by RST (its ack = the SYN's seq + 1);
/// - `unanswered`: only SYNs so far; `unacknowledged`: SYN and SYN-ACK, no ACK yet;
/// - `none`: no segments; `bad`: anything else (the shown text says what).
#[must_use]
pub fn handshake(json: &Value, name: &str) -> Handshake {
    let mine = of_name(json, name);
    let Some(conn) = mine.first().and_then(|s| text(s, "conn")) else {
        return Handshake {
            word: "none",
            shown: "none (no segments)".to_owned(),
        };
    };
    let all = of_conn(json, conn);
    let seen: Vec<Seen<'_>> = all.iter().map(|s| Seen::of(s)).collect();
    let mut read: Vec<String> = Vec::new();
    let mut note = |segment: &Seen<'_>| {
        let mut shown = segment.flags.to_owned();
        if segment.retransmission {
            shown.push_str(" (retransmitted)");
        }
        read.push(shown);
    };
    let verdict = read_handshake(&seen, &mut note);
    let (word, why) = verdict;
    let mut shown = format!("{word} ({})", read.join(", "));
    if let Some(why) = why {
        let _ = write!(shown, ": {why}");
    }
    Handshake { word, shown }
}

/// The handshake's word and, for `bad`, why; `note` is told every segment looked at.
fn read_handshake(
    seen: &[Seen<'_>],
    note: &mut impl FnMut(&Seen<'_>),
) -> (&'static str, Option<String>) {
    let Some(syn) = seen.first() else {
        return ("none", None);
    };
    note(syn);
    if !syn.is(flags::SYN) {
        return ("bad", Some("the first segment is not a SYN".to_owned()));
    }
    let mut rest = seen[1..].iter();
    // The answer: the first segment from the other side; the opener's repeated SYNs are skipped.
    let answer = loop {
        let Some(segment) = rest.next() else {
            return ("unanswered", None);
        };
        note(segment);
        if segment.from == syn.from && segment.is(flags::SYN) && segment.seq == syn.seq {
            continue;
        }
        break segment;
    };
    if answer.from == syn.from {
        return (
            "bad",
            Some("the opener sent again before any answer".to_owned()),
        );
    }
    if answer.bits & flags::RST != 0 {
        return if answer.ack == next(syn.seq) || answer.bits & flags::ACK == 0 {
            ("refused", None)
        } else {
            (
                "bad",
                Some(format!(
                    "the RST acknowledges {}, not the SYN's seq + 1 = {}",
                    answer.ack,
                    next(syn.seq)
                )),
            )
        };
    }
    if !answer.is(flags::SYN | flags::ACK) {
        return ("bad", Some("the answer is not a SYN-ACK".to_owned()));
    }
    if answer.ack != next(syn.seq) {
        return (
            "bad",
            Some(format!(
                "the SYN-ACK acknowledges {}, not the SYN's seq + 1 = {}",
                answer.ack,
                next(syn.seq)
            )),
        );
    }
    // The third segment: the opener's next one (the other side's repeated SYN-ACKs are skipped).
    let third = loop {
        let Some(segment) = rest.next() else {
            return ("unacknowledged", None);
        };
        if segment.from != syn.from && segment.is(answer.bits) && segment.seq == answer.seq {
            note(segment);
            continue;
        }
        if segment.from != syn.from {
            continue;
        }
        note(segment);
        break segment;
    };
    if third.bits & (flags::SYN | flags::RST | flags::ACK) != flags::ACK {
        return ("bad", Some("the opener's reply is not an ACK".to_owned()));
    }
    if third.seq != next(syn.seq) || third.ack != next(answer.seq) {
        return (
            "bad",
            Some(format!(
                "the ACK has seq {} and ack {}, not the SYN's seq + 1 = {} and the SYN-ACK's seq + 1 = {}",
                third.seq,
                third.ack,
                next(syn.seq),
                next(answer.seq)
            )),
        );
    }
    ("ok", None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const C: &str = "127.0.0.1:40000";
    const S: &str = "127.0.0.1:5555";

    fn seg(from: &str, bits: u8, seq: u32, ack: u32, retransmission: bool) -> Value {
        let (to, from_name, to_name) = if from == C {
            (S, "c", "s")
        } else {
            (C, "s", "c")
        };
        json!({
            "conn": "c", "proto": "tcp", "from": from, "to": to,
            "from_name": from_name, "to_name": to_name,
            "flags": flag_names(bits), "flag_bits": bits, "seq": seq, "ack": ack,
            "len": 0, "retransmission": retransmission,
        })
    }

    fn snapshot(segments: &[Value]) -> Value {
        json!({ "segments": segments, "capture": { "active": true } })
    }

    const SYN: u8 = flags::SYN;
    const SYN_ACK: u8 = flags::SYN | flags::ACK;
    const ACK: u8 = flags::ACK;
    const RST_ACK: u8 = flags::RST | flags::ACK;

    #[test]
    fn flag_words_in_any_order_and_spelling() {
        assert_eq!(flag_bits("SYN"), Some(SYN));
        assert_eq!(flag_bits("SYN_ACK"), Some(SYN_ACK));
        assert_eq!(flag_bits("ACK-SYN"), Some(SYN_ACK));
        assert_eq!(canonical_flags("ACK_FIN"), Some("FIN-ACK"));
        assert_eq!(canonical_flags("RST-ACK"), Some("RST-ACK"));
        for not in ["syn", "SYN_SYN", "SYN_SENT", "", "SYN__ACK", "FIN_WAIT2"] {
            assert_eq!(flag_bits(not), None, "{not}");
        }
    }

    #[test]
    fn the_handshake_words() {
        let ok = snapshot(&[
            seg(C, SYN, 100, 0, false),
            seg(C, SYN, 100, 0, true),
            seg(S, SYN_ACK, 900, 101, false),
            seg(C, ACK, 101, 901, false),
        ]);
        let shake = handshake(&ok, "c");
        assert_eq!(shake.word, "ok", "{}", shake.shown);
        assert_eq!(shake.shown, "ok (SYN, SYN (retransmitted), SYN-ACK, ACK)");
        assert_eq!(handshake(&ok, "s").word, "ok");
        let cases = [
            (vec![seg(C, SYN, 1, 0, false)], "unanswered"),
            (
                vec![seg(C, SYN, 1, 0, false), seg(S, RST_ACK, 0, 2, false)],
                "refused",
            ),
            (
                vec![seg(C, SYN, 1, 0, false), seg(S, SYN_ACK, 7, 2, false)],
                "unacknowledged",
            ),
            (
                vec![seg(C, SYN, 1, 0, false), seg(S, SYN_ACK, 7, 5, false)],
                "bad",
            ),
            (
                vec![
                    seg(C, SYN, 1, 0, false),
                    seg(S, SYN_ACK, 7, 2, false),
                    seg(C, ACK, 2, 9, false),
                ],
                "bad",
            ),
            (vec![seg(C, ACK, 1, 0, false)], "bad"),
            (Vec::new(), "none"),
        ];
        for (segments, word) in cases {
            let shake = handshake(&snapshot(&segments), "c");
            assert_eq!(shake.word, word, "{}", shake.shown);
        }
        // Sequence numbers wrap: the SYN at 2^32 - 1 is acknowledged with 0.
        let wrapped = snapshot(&[
            seg(C, SYN, u32::MAX, 0, false),
            seg(S, SYN_ACK, u32::MAX, 0, false),
            seg(C, ACK, 0, 0, false),
        ]);
        assert_eq!(handshake(&wrapped, "c").word, "ok");
    }

    #[test]
    fn states_follow_the_ladder() {
        let json = snapshot(&[
            seg(C, SYN, 100, 0, false),
            seg(S, SYN_ACK, 900, 101, false),
            seg(C, ACK, 101, 901, false),
        ]);
        let names = |name: &str| -> Vec<String> {
            states(&json, name)
                .iter()
                .map(|entry| entry["state"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(names("c"), ["SYN_SENT", "ESTABLISHED"]);
        assert_eq!(names("s"), ["SYN_RECV", "ESTABLISHED"]);
        assert_eq!(states(&json, "c")[1]["segment"], 1);
        assert!(names("x").is_empty());
    }

    #[test]
    fn no_capture_reads_the_reason() {
        let off = json!({ "capture": { "active": false, "reason": "needs root" } });
        assert_eq!(no_capture(&off).as_deref(), Some("needs root"));
        assert_eq!(no_capture(&snapshot(&[])), None);
        assert_eq!(no_capture(&json!({})), None);
    }
}
