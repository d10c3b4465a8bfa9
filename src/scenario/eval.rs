//! Checks expectations against a snapshot, through its JSON form (the same fields users read).

use std::fmt;
use std::net::SocketAddr;

use serde_json::{Map, Value};

use super::expect::{Expectation, FieldPath, Op, Operand};
use super::schema::{self, PSEUDO_NAMES};
use super::segments;
use crate::model::{Snapshot, TcpState};
use crate::text::{self, Lang};

/// An expectation the kernel contradicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    /// 0-based index of the step.
    pub step: usize,
    /// The expectation as written.
    pub expectation: String,
    /// What the snapshot held instead (for a comparison with another field: both values);
    /// `no capture: REASON` for a check of segments when nothing was captured.
    pub seen: String,
    /// Why there were no segments to check, when that is why the check failed.
    pub no_capture: Option<String>,
}

impl CheckFailure {
    /// The failure as one line in `lang`: the step, the expectation and the value seen.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        let step = (self.step + 1).to_string();
        if let Some(reason) = &self.no_capture {
            return text::format(
                lang,
                "lecture_segments.check_no_capture",
                &[
                    ("step", &step),
                    ("reason", reason),
                    ("expectation", &self.expectation),
                ],
            );
        }
        text::format(
            lang,
            "scenario.check_failed",
            &[
                ("step", &step),
                ("seen", &self.seen),
                ("expectation", &self.expectation),
            ],
        )
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// Checks every expectation against `snapshot`; the failures, for step `step` (0-based).
#[must_use]
pub fn check_all(
    step: usize,
    expectations: &[Expectation],
    snapshot: &Snapshot,
) -> Vec<CheckFailure> {
    if expectations.is_empty() {
        return Vec::new();
    }
    let json = serde_json::to_value(snapshot).expect("snapshot serializes");
    expectations
        .iter()
        .filter_map(|expectation| {
            let (seen, no_capture) = match expectation.outcome(&json) {
                Outcome::Held => return None,
                Outcome::Failed(seen) => (seen, None),
                Outcome::NoCapture(reason) => (no_capture_seen(&reason), Some(reason)),
            };
            Some(CheckFailure {
                step,
                expectation: expectation.to_string(),
                seen,
                no_capture,
            })
        })
        .collect()
}

/// What a check of segments saw when nothing was captured.
fn no_capture_seen(reason: &str) -> String {
    format!("no capture: {reason}")
}

/// How one expectation came out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Held,
    /// What was seen instead.
    Failed(String),
    /// A check of segments, and the snapshot has none: why.
    NoCapture(String),
}

/// Whether a path reads the capture (`c.segments...`, `c.states...`, `c.handshake`, `segments...`).
fn reads_capture(path: &FieldPath) -> bool {
    if path.name == "segments" {
        return true;
    }
    !PSEUDO_NAMES.contains(&path.name.as_str())
        && path
            .fields
            .first()
            .is_some_and(|field| segments::CAPTURED_FIELDS.contains(&field.as_str()))
}

/// A value being compared. Whole numbers are widened to `i128`, so `FIELD + N` is exact for every
/// value the snapshot can hold (`u64`) and every N an expectation can write (`|N| <= i64::MAX`):
/// no sum wraps and no large value is compared through a lossy `f64`.
#[derive(Debug, Clone, PartialEq)]
enum Compared {
    Int(i128),
    Json(Value),
}

impl Compared {
    fn from_json(value: Value) -> Self {
        match whole_number(&value) {
            Some(number) => Self::Int(number),
            None => Self::Json(value),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(number) => Some(*number as f64),
            Self::Json(value) => value.as_f64(),
        }
    }
}

/// A JSON integer (signed or unsigned), widened.
fn whole_number(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

impl Expectation {
    /// Checks this expectation against a Snapshot JSON value; `Err` holds what was seen (for a
    /// check of segments without a capture: `no capture: REASON`, whatever the comparison).
    pub fn evaluate(&self, json: &Value) -> Result<(), String> {
        match self.outcome(json) {
            Outcome::Held => Ok(()),
            Outcome::Failed(seen) => Err(seen),
            Outcome::NoCapture(reason) => Err(no_capture_seen(&reason)),
        }
    }

    fn outcome(&self, json: &Value) -> Outcome {
        let on_capture = reads_capture(&self.subject)
            || matches!(&self.value, Operand::Field { path, .. } if reads_capture(path));
        if on_capture && let Some(reason) = segments::no_capture(json) {
            return Outcome::NoCapture(reason);
        }
        match self.compare_in(json) {
            Ok(()) => Outcome::Held,
            Err(seen) => Outcome::Failed(seen),
        }
    }

    fn compare_in(&self, json: &Value) -> Result<(), String> {
        let (left, left_shown) = read(json, &self.subject);
        let left = Compared::from_json(left);
        let (right, right_shown) = match &self.value {
            Operand::Null => (Compared::Json(Value::Null), None),
            Operand::Bool(value) => (Compared::Json(Value::Bool(*value)), None),
            Operand::Int(value) => (Compared::Int(i128::from(*value)), None),
            Operand::Text(value) => (Compared::Json(Value::String(value.clone())), None),
            Operand::Field { path, offset } => {
                let (value, shown) = read(json, path);
                let value = match (whole_number(&value), *offset) {
                    (_, 0) => Compared::from_json(value),
                    // Both fit in 65 bits: the i128 sum is exact; checked all the same.
                    (Some(number), offset) => number
                        .checked_add(i128::from(offset))
                        .map_or(Compared::Json(Value::Null), Compared::Int),
                    (None, _) => Compared::Json(Value::Null),
                };
                (value, Some(shown))
            }
        };
        if compare(&left, self.op, &right) {
            return Ok(());
        }
        Err(match right_shown {
            Some(right_shown) => {
                format!("{left_shown}; {} = {right_shown}", value_path(&self.value))
            }
            None => left_shown,
        })
    }
}

fn value_path(operand: &Operand) -> String {
    match operand {
        Operand::Field { path, .. } => path.to_string(),
        _ => String::new(),
    }
}

fn compare(left: &Compared, op: Op, right: &Compared) -> bool {
    let is_number = |side: &Compared| match side {
        Compared::Int(_) => true,
        Compared::Json(value) => value.is_number(),
    };
    let ordering = match (left, right) {
        (Compared::Int(a), Compared::Int(b)) => Some(a.cmp(b)),
        (a, b) if is_number(a) && is_number(b) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Compared::Json(Value::String(a)), Compared::Json(Value::String(b)))
            if op != Op::Eq && op != Op::Ne =>
        {
            Some(a.cmp(b))
        }
        _ => None,
    };
    let equal = match (left, right) {
        (Compared::Json(a), Compared::Json(b)) if !(a.is_number() && b.is_number()) => a == b,
        _ => ordering.is_some_and(std::cmp::Ordering::is_eq),
    };
    match op {
        Op::Eq => equal,
        Op::Ne => !equal,
        Op::Lt => ordering.is_some_and(std::cmp::Ordering::is_lt),
        Op::Le => ordering.is_some_and(std::cmp::Ordering::is_le),
        Op::Gt => ordering.is_some_and(std::cmp::Ordering::is_gt),
        Op::Ge => ordering.is_some_and(std::cmp::Ordering::is_ge),
    }
}

/// The value at `path` and how to show it (`null (no socket named 'x')` for an unknown name).
fn read(json: &Value, path: &FieldPath) -> (Value, String) {
    if let Some(read) = read_captured(json, path) {
        return read;
    }
    let Some(mut current) = root(json, &path.name) else {
        return (
            Value::Null,
            format!("null (no '{}' in the snapshot)", path.name),
        );
    };
    for field in &path.fields {
        current = step_into(&current, field);
    }
    let shown = show(&current);
    (current, shown)
}

/// A lab name's fields from the capture: they exist for every name the ladder knows, open or
/// closed (a closed socket's FIN exchange is still its own).
fn read_captured(json: &Value, path: &FieldPath) -> Option<(Value, String)> {
    if PSEUDO_NAMES.contains(&path.name.as_str()) {
        return None;
    }
    let (first, rest) = path.fields.split_first()?;
    let mut current = match first.as_str() {
        "handshake" => {
            let handshake = segments::handshake(json, &path.name);
            return Some((Value::from(handshake.word), handshake.shown));
        }
        "segments" => Value::Array(segments::of_name(json, &path.name)),
        "states" => Value::Array(segments::states(json, &path.name)),
        _ => return None,
    };
    for field in rest {
        current = step_into(&current, field);
    }
    let shown = show(&current);
    Some((current, shown))
}

fn show(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The value a path starts from: a pseudo-name's part of the snapshot, or everything the snapshot
/// says of a lab name (its descriptor, socket and listener entries merged, later ones winning, plus
/// its last traced call). `None` when the snapshot never heard of the name.
fn root(json: &Value, name: &str) -> Option<Value> {
    if PSEUDO_NAMES.contains(&name) {
        return json.get(name).cloned();
    }
    let named = |list: &str| -> Vec<Map<String, Value>> {
        json.get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|item| item.get("name").and_then(Value::as_str) == Some(name))
            .filter_map(|item| item.as_object().cloned())
            .collect()
    };
    let fds = named("fds");
    let sockets = named("sockets");
    let listeners = named("listeners");
    let traced = named("trace");
    if fds.is_empty() && sockets.is_empty() && listeners.is_empty() && traced.is_empty() {
        return None;
    }
    let mut merged = Map::new();
    for part in fds.into_iter().chain(sockets).chain(listeners) {
        merged.extend(part);
    }
    let last = traced.last();
    let errno = last
        .and_then(|entry| entry.get("errno").cloned())
        .unwrap_or(Value::Null);
    let result = last
        .and_then(|entry| entry.get("result").and_then(Value::as_str))
        .map_or(Value::Null, |result| {
            result
                .parse::<i64>()
                .map_or_else(|_| Value::String(result.to_owned()), Value::from)
        });
    merged.insert("errno".to_owned(), errno);
    merged.insert("result".to_owned(), result);
    Some(Value::Object(merged))
}

/// One step of a path, with the derived fields of [`schema`].
fn step_into(value: &Value, field: &str) -> Value {
    match value {
        Value::Object(map) => map.get(field).cloned().unwrap_or_else(|| delta(map, field)),
        Value::Array(items) => {
            if field == "count" {
                Value::from(items.len())
            } else if field == "last" {
                items.last().cloned().unwrap_or(Value::Null)
            } else if let Ok(index) = field.parse::<usize>() {
                items.get(index).cloned().unwrap_or(Value::Null)
            } else if let Some(bits) = segments::flag_bits(field) {
                let count = items
                    .iter()
                    .filter(|item| {
                        item.get("flag_bits").and_then(Value::as_u64) == Some(u64::from(bits))
                    })
                    .count();
                Value::from(count)
            } else if field == "retransmission" {
                let count = items
                    .iter()
                    .filter(|item| {
                        item.get("retransmission").and_then(Value::as_bool) == Some(true)
                    })
                    .count();
                Value::from(count)
            } else {
                let wanted = TcpState::from_name(field)
                    .filter(|_| schema::is_state_word(field))
                    .map_or(field, |state| state.name());
                let count = items
                    .iter()
                    .filter(|item| {
                        ["state", "kind"]
                            .iter()
                            .any(|key| item.get(*key).and_then(Value::as_str) == Some(wanted))
                    })
                    .count();
                Value::from(count)
            }
        }
        Value::String(text) => match (text.parse::<SocketAddr>(), field) {
            (Ok(addr), "port") => Value::from(addr.port()),
            (Ok(addr), "ip") => Value::String(addr.ip().to_string()),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// `X_delta` = `X` - `X_at_start`.
fn delta(map: &Map<String, Value>, field: &str) -> Value {
    let Some(base) = field.strip_suffix("_delta") else {
        return Value::Null;
    };
    let now = map.get(base).and_then(whole_number);
    let start = map.get(&format!("{base}_at_start")).and_then(whole_number);
    // Counters are u64: the difference is taken wide and kept only if JSON can hold it.
    let difference = now
        .zip(start)
        .and_then(|(now, start)| now.checked_sub(start));
    difference
        .and_then(|d| i64::try_from(d).ok())
        .map_or(Value::Null, Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Counters, KernelOnly, ListenerInfo, SocketInfo, TraceEntry, Waiting};
    use crate::model::{Proto, Role};

    fn socket(name: &str, state: TcpState, local: &str) -> SocketInfo {
        SocketInfo {
            name: name.into(),
            fd: 6,
            proto: Proto::Tcp,
            role: Role::Listener,
            local: local.parse().ok(),
            remote: None,
            state,
            recv_q: 0,
            send_q: 0,
            bytes_sent: 0,
            bytes_received: 0,
            inode: 0,
            age_ms: 0,
            history: Vec::new(),
            forwarder: None,
            tcp: None,
            host: None,
        }
    }

    fn sample() -> Snapshot {
        let local = "127.0.0.1:4000".parse().unwrap();
        Snapshot {
            sockets: vec![
                socket("srv", TcpState::Listen, "127.0.0.1:4000"),
                socket("a", TcpState::Established, "127.0.0.1:4000"),
            ],
            listeners: vec![ListenerInfo {
                name: "srv".into(),
                local: Some(local),
                backlog: 2,
                backlog_requested: 2,
                accept_queue: 3,
                syn_queue: 0,
                waiting: vec![Waiting {
                    peer: "127.0.0.1:5000".parse().unwrap(),
                    state: TcpState::Established,
                }],
                half_open: Vec::new(),
                auto_accept: false,
            }],
            kernel_only: vec![KernelOnly {
                local,
                remote: "127.0.0.1:5001".parse().unwrap(),
                state: TcpState::TimeWait,
                was: Some("c".into()),
                timer_ms: Some(59_000),
            }],
            counters: Counters {
                listen_overflows: 12,
                listen_overflows_at_start: 10,
                ..Counters::default()
            },
            trace: vec![TraceEntry {
                call: "bind(7, 127.0.0.1:4000)".into(),
                result: "-1 EADDRINUSE".into(),
                errno: Some("EADDRINUSE".into()),
                failed: true,
                name: Some("dup".into()),
                at_ms: 0,
            }],
            ..Snapshot::default()
        }
    }

    fn check(text: &str) -> Result<(), String> {
        let json = serde_json::to_value(sample()).unwrap();
        Expectation::parse(text).unwrap().evaluate(&json)
    }

    #[test]
    fn reads_merged_and_derived_fields() {
        for ok in [
            "srv.accept_queue == 3",
            "srv.state == LISTEN",
            "srv.accept_queue > srv.backlog",
            "srv.waiting.count == 1",
            "srv.waiting.ESTABLISHED == 1",
            "srv.waiting.0.peer.port == 5000",
            "srv.local.port == 4000",
            "srv.local.ip == 127.0.0.1",
            "srv.remote == null",
            "srv.remote.port == null",
            "a.local.port == srv.local.port",
            "a.fd == srv.fd + 0",
            "a.fd < srv.fd + 1",
            "kernel_only.TIME_WAIT == 1",
            "kernel_only.count == 1",
            "kernel_only.FIN_WAIT2 == 0",
            "counters.listen_overflows_delta == 2",
            "counters.listen_overflows_delta > 0",
            "dup.errno == EADDRINUSE",
            "dup.result == \"-1 EADDRINUSE\"",
            "dup.local == null",
            "srv.errno == null",
            "ghost.state == null",
            "ports.ephemeral.0 <= ports.ephemeral.1",
            "ports.ephemeral.count == 2",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    /// Issue 8, defect 7: `FIELD + N` is exact; it never wraps into a false failure.
    #[test]
    fn field_offsets_never_wrap() {
        for ok in [
            "srv.local.port < srv.local.port + 9223372036854775807",
            "srv.local.port > srv.local.port - 9223372036854775807",
            "srv.accept_queue == srv.accept_queue + 0",
            "srv.accept_queue < srv.accept_queue + 1",
            "counters.listen_overflows_delta == 2",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert!(check("srv.local.port >= srv.local.port + 9223372036854775807").is_err());
        // Values past i64 (counters are u64) compare exactly, not through a rounded f64.
        let json = serde_json::json!({
            "counters": {
                "listen_overflows": u64::MAX,
                "listen_overflows_at_start": u64::MAX - 1,
                "listen_drops": u64::MAX - 1,
            }
        });
        for (text, holds) in [
            ("counters.listen_overflows > counters.listen_drops", true),
            (
                "counters.listen_overflows == counters.listen_drops + 1",
                true,
            ),
            ("counters.listen_overflows == counters.listen_drops", false),
            ("counters.listen_overflows_delta == 1", true),
        ] {
            let expectation = Expectation::parse(text).unwrap();
            assert_eq!(expectation.evaluate(&json).is_ok(), holds, "{text}");
        }
    }

    /// A connection's seven segments (open, 5 bytes, close by c), as the capture gives them.
    fn captured(active: bool) -> Value {
        let mut json = serde_json::to_value(sample()).unwrap();
        let (c, s) = ("127.0.0.1:5001", "127.0.0.1:4000");
        let rows: [(&str, u8, u64, u64, u64, bool); 8] = [
            (c, 0x02, 100, 0, 0, false),
            (c, 0x02, 100, 0, 0, true),
            (s, 0x12, 900, 101, 0, false),
            (c, 0x10, 101, 901, 0, false),
            (c, 0x18, 101, 901, 5, false),
            (s, 0x10, 901, 106, 0, false),
            (c, 0x11, 106, 901, 0, false),
            (s, 0x10, 901, 107, 0, false),
        ];
        let segments: Vec<Value> = rows
            .iter()
            .map(|&(from, bits, seq, ack, len, retransmission)| {
                let (to, from_name, to_name) = if from == c {
                    (s, "c", "a")
                } else {
                    (c, "a", "c")
                };
                serde_json::json!({
                    "conn": "c", "proto": "tcp", "from": from, "to": to,
                    "from_name": from_name, "to_name": to_name,
                    "flags": crate::net::decode::flag_names(bits), "flag_bits": bits,
                    "seq": seq, "ack": ack, "len": len, "retransmission": retransmission,
                })
            })
            .collect();
        json["segments"] = Value::Array(segments);
        json["capture"]["active"] = Value::Bool(active);
        json["capture"]["reason"] = if active {
            Value::Null
        } else {
            Value::from("capturing needs root")
        };
        json
    }

    #[test]
    fn reads_segments_states_and_the_handshake() {
        let json = captured(true);
        for ok in [
            "c.segments.count == 8",
            "c.segments.SYN == 2",
            "c.segments.SYN_ACK == 1",
            "c.segments.ACK_SYN == 1",
            "c.segments.PSH_ACK == 1",
            "c.segments.FIN_ACK == 1",
            "c.segments.RST_ACK == 0",
            "c.segments.retransmission == 1",
            "c.segments.last.flags == ACK",
            "c.segments.last.from_name == a",
            "c.segments.6.flags == FIN-ACK",
            "c.segments.6.flags == ACK_FIN",
            "c.segments.2.ack == c.segments.0.seq + 1",
            "c.segments.3.ack == c.segments.2.seq + 1",
            "c.segments.4.len == 5",
            "c.segments.0.from.port == 5001",
            "a.segments.count == 8",
            "ghost.segments.count == 0",
            "segments.SYN == 2",
            "c.handshake == ok",
            "a.handshake == ok",
            "ghost.handshake == none",
            "c.states.0.state == SYN_SENT",
            "c.states.1.state == ESTABLISHED",
            "c.states.FIN_WAIT1 == 1",
            "c.states.last.state == FIN_WAIT2",
            "a.states.0.state == SYN_RECV",
            "a.states.last.state == CLOSE_WAIT",
            "a.states.last.segment == 6",
            "kernel_only.last.state == TIME_WAIT",
            "capture.active == true",
        ] {
            let expectation = Expectation::parse(ok).unwrap();
            assert_eq!(expectation.evaluate(&json), Ok(()), "{ok}");
        }
        let fails = |text: &str| Expectation::parse(text).unwrap().evaluate(&json);
        assert_eq!(fails("c.segments.count == 7"), Err("8".into()));
        assert_eq!(
            fails("ghost.handshake == ok"),
            Err("none (no segments)".into())
        );
    }

    /// Without a capture every check of segments fails, with the reason as what was seen, whatever
    /// it compares: `!=` and `== 0` must not pass on segments nobody saw.
    #[test]
    fn checks_of_segments_without_a_capture_say_why() {
        let json = captured(false);
        for text in [
            "c.segments.count == 8",
            "c.segments.RST != 1",
            "c.segments.count == 0",
            "c.handshake == ok",
            "c.states.count >= 0",
            "segments.count == 8",
            "srv.accept_queue == c.segments.count",
        ] {
            let expectation = Expectation::parse(text).unwrap();
            assert_eq!(
                expectation.evaluate(&json),
                Err("no capture: capturing needs root".into()),
                "{text}"
            );
        }
        // Other checks, and the capture's own fields, read as ever.
        for ok in ["srv.accept_queue == 3", "capture.active == false"] {
            assert_eq!(
                Expectation::parse(ok).unwrap().evaluate(&json),
                Ok(()),
                "{ok}"
            );
        }
    }

    #[test]
    fn failures_say_what_was_seen() {
        assert_eq!(check("srv.accept_queue == 2"), Err("3".into()));
        assert_eq!(check("srv.state == SYN_SENT"), Err("LISTEN".into()));
        assert_eq!(check("srv.state < 3"), Err("LISTEN".into()));
        assert_eq!(
            check("a.local.port != srv.local.port"),
            Err("4000; srv.local.port = 4000".into())
        );
        assert!(
            check("ghost.state == LISTEN")
                .unwrap_err()
                .contains("ghost")
        );
    }
}
