//! The fields an expectation may name: the Snapshot JSON's, plus a few derived views.
//!
//! A path is `NAME.FIELD[.FIELD...]`. NAME is a lab name (its entries in `fds`, `sockets` and
//! `listeners` merged) or one of the pseudo-names in [`PSEUDO_NAMES`]. Derived fields:
//! - on an address (`local`, `remote`, `peer`): `port`, `ip`;
//! - on a list: `count` (its length), a number (that element), or a selector word: a TCP state
//!   (`kernel_only.TIME_WAIT`: how many entries are in that state) or, for `fds`, a descriptor kind
//!   (`fds.socket`: how many descriptors are sockets);
//! - on `counters`: `listen_overflows_delta`, `listen_drops_delta` (the value minus `_at_start`);
//! - on a lab name: `errno` and `result`, of the last syscall the trace records for that name
//!   (`errno` is `null` when the call succeeded; `result` is a number when the call returned one,
//!   e.g. the bytes `recv` read, else the text, e.g. `-1 EAGAIN`);
//! - on a lab name, from the capture ([`super::segments`]): `segments` (the segments it sent or
//!   received), `states` (the states its side entered by them) and `handshake` (a word);
//! - on a list: `last` (its last element); on a list of segments, a flag word (`SYN_ACK`: how many
//!   segments carry exactly those flags) or `retransmission` (how many are retransmissions).

use super::segments;
use crate::model::TcpState;

/// The top-level keys of the Snapshot JSON an expectation can start from.
pub const PSEUDO_NAMES: &[&str] = &[
    "fds",
    "sockets",
    "listeners",
    "kernel_only",
    "ports",
    "counters",
    "trace",
    "errors",
    "segments",
    "capture",
    "kernel_only_history",
    "wire",
    "nat",
];

/// The descriptor kinds `fds.KIND` counts.
const FD_KINDS: &[&str] = &["socket", "file", "tty", "epoll", "eventfd", "pipe", "other"];

/// Which words select elements of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Select {
    None,
    State,
    Kind,
    /// A flag word (`SYN_ACK`) or `retransmission`: on a list of segments.
    Flags,
}

/// The shape of a JSON value, as far as paths are concerned.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    Scalar,
    Addr,
    List(&'static Shape, Select),
    Record(&'static [(&'static str, Shape)]),
}

const WAITING: Shape = Shape::Record(&[("peer", Shape::Addr), ("state", Shape::Scalar)]);
const STATE_CHANGE: Shape = Shape::Record(&[("state", Shape::Scalar), ("at_ms", Shape::Scalar)]);
/// The segment behind a state derived from the capture.
const STATE_CAUSE: Shape = Shape::Record(&[
    ("flags", Shape::Scalar),
    ("sent", Shape::Scalar),
    ("t_us", Shape::Scalar),
]);

/// One captured segment (`segments` in the Snapshot JSON).
const SEGMENT: Shape = Shape::Record(&[
    ("conn", Shape::Scalar),
    ("t_us", Shape::Scalar),
    ("proto", Shape::Scalar),
    ("from", Shape::Addr),
    ("to", Shape::Addr),
    ("from_name", Shape::Scalar),
    ("to_name", Shape::Scalar),
    ("flags", Shape::Scalar),
    ("flag_bits", Shape::Scalar),
    ("seq", Shape::Scalar),
    ("ack", Shape::Scalar),
    ("rel_seq", Shape::Scalar),
    ("rel_ack", Shape::Scalar),
    ("len", Shape::Scalar),
    ("win", Shape::Scalar),
    ("retransmission", Shape::Scalar),
    ("preview", Shape::Scalar),
    ("dropped_before", Shape::Scalar),
    ("wire_id", Shape::Scalar),
    ("wire", Shape::Scalar),
    ("nat", Shape::Scalar),
    ("nat_drop", Shape::Scalar),
]);

const WIRE_HOST: Shape = Shape::Record(&[
    ("host", Shape::Scalar),
    ("address", Shape::Scalar),
    ("interface", Shape::Scalar),
    ("namespace_inode", Shape::Scalar),
]);

/// `--net wire`: the hosts and the wire's settings and counters.
const WIRE: Shape = Shape::Record(&[
    ("hosts", Shape::List(&WIRE_HOST, Select::None)),
    ("hold", Shape::Scalar),
    ("held", Shape::List(&Shape::Scalar, Select::None)),
    ("delayed", Shape::Scalar),
    ("delay_a_to_b_ms", Shape::Scalar),
    ("delay_b_to_a_ms", Shape::Scalar),
    ("loss", Shape::Scalar),
    ("seed", Shape::Scalar),
    ("relayed", Shape::Scalar),
    ("dropped", Shape::Scalar),
    ("lost", Shape::Scalar),
]);

/// A NAT rule (`nat.rules`).
const NAT_RULE: Shape = Shape::Record(&[
    ("proto", Shape::Scalar),
    ("public", Shape::Addr),
    ("private", Shape::Addr),
]);

/// A NAT table entry (`nat.entries`): one connection, its three tuples and its counters.
const NAT_ENTRY: Shape = Shape::Record(&[
    ("id", Shape::Scalar),
    ("proto", Shape::Scalar),
    ("remote", Shape::Addr),
    ("public", Shape::Addr),
    ("private", Shape::Addr),
    ("state", Shape::Scalar),
    ("packets_a_to_b", Shape::Scalar),
    ("packets_b_to_a", Shape::Scalar),
    ("bytes_a_to_b", Shape::Scalar),
    ("bytes_b_to_a", Shape::Scalar),
    ("age_ms", Shape::Scalar),
    ("idle_ms", Shape::Scalar),
    ("expires_in_ms", Shape::Scalar),
]);

/// `--net wire`: the wire's NAT.
const NAT: Shape = Shape::Record(&[
    ("rules", Shape::List(&NAT_RULE, Select::None)),
    ("entries", Shape::List(&NAT_ENTRY, Select::None)),
    ("rewritten", Shape::Scalar),
    ("dropped", Shape::Scalar),
    ("last_drop", Shape::Scalar),
]);

/// A state a side entered, by the segment that caused it.
const LADDER_STATE: Shape = Shape::Record(&[
    ("state", Shape::Scalar),
    ("segment", Shape::Scalar),
    ("sent", Shape::Scalar),
]);

const CAPTURED_CONNECTION: Shape = Shape::Record(&[
    ("conn", Shape::Scalar),
    ("proto", Shape::Scalar),
    ("a", Shape::Addr),
    ("b", Shape::Addr),
    ("a_name", Shape::Scalar),
    ("b_name", Shape::Scalar),
    ("segments", Shape::Scalar),
    ("dropped", Shape::Scalar),
]);

const CAPTURE: Shape = Shape::Record(&[
    ("network", Shape::Scalar),
    ("active", Shape::Scalar),
    ("reason", Shape::Scalar),
    ("remedy", Shape::Scalar),
    ("captured", Shape::Scalar),
    ("kernel_drops", Shape::Scalar),
    ("ring_drops", Shape::Scalar),
    ("connections_evicted", Shape::Scalar),
    (
        "connections",
        Shape::List(&CAPTURED_CONNECTION, Select::None),
    ),
]);

/// A lab name: its descriptor, socket and listener entries merged, plus `errno` and `result`.
const ENDPOINT: Shape = Shape::Record(&[
    ("name", Shape::Scalar),
    ("fd", Shape::Scalar),
    ("kind", Shape::Scalar),
    ("target", Shape::Scalar),
    ("label", Shape::Scalar),
    ("peer", Shape::Scalar),
    ("address", Shape::Scalar),
    ("purpose", Shape::Scalar),
    ("proto", Shape::Scalar),
    ("role", Shape::Scalar),
    ("local", Shape::Addr),
    ("remote", Shape::Addr),
    ("state", Shape::Scalar),
    ("recv_q", Shape::Scalar),
    ("send_q", Shape::Scalar),
    ("bytes_sent", Shape::Scalar),
    ("bytes_received", Shape::Scalar),
    ("inode", Shape::Scalar),
    ("age_ms", Shape::Scalar),
    ("history", Shape::List(&STATE_CHANGE, Select::State)),
    ("forwarder", Shape::Scalar),
    ("backlog", Shape::Scalar),
    ("backlog_requested", Shape::Scalar),
    ("accept_queue", Shape::Scalar),
    ("syn_queue", Shape::Scalar),
    ("waiting", Shape::List(&WAITING, Select::State)),
    ("half_open", Shape::List(&WAITING, Select::State)),
    ("auto_accept", Shape::Scalar),
    ("errno", Shape::Scalar),
    ("result", Shape::Scalar),
    ("segs_out", Shape::Scalar),
    ("segs_in", Shape::Scalar),
    ("retransmits", Shape::Scalar),
    ("rtt_us", Shape::Scalar),
    ("history_source", Shape::Scalar),
    ("state_from_segments", Shape::Scalar),
    ("state_from_segments_cause", STATE_CAUSE),
    ("disagreement", Shape::Scalar),
    ("sampled_history", Shape::List(&STATE_CHANGE, Select::State)),
    ("segments", Shape::List(&SEGMENT, Select::Flags)),
    ("states", Shape::List(&LADDER_STATE, Select::State)),
    ("handshake", Shape::Scalar),
    ("host", Shape::Scalar),
]);

/// The segment-derived history of a tuple only the kernel still holds.
const KERNEL_ONLY_HISTORY: Shape = Shape::Record(&[
    ("local", Shape::Addr),
    ("remote", Shape::Addr),
    ("history", Shape::List(&STATE_CHANGE, Select::State)),
    ("state_from_segments", Shape::Scalar),
    ("state_from_segments_cause", STATE_CAUSE),
    ("disagreement", Shape::Scalar),
]);

const FD: Shape = Shape::Record(&[
    ("fd", Shape::Scalar),
    ("kind", Shape::Scalar),
    ("target", Shape::Scalar),
    ("name", Shape::Scalar),
    ("label", Shape::Scalar),
    ("peer", Shape::Scalar),
    ("address", Shape::Scalar),
    ("purpose", Shape::Scalar),
]);

const KERNEL_ONLY: Shape = Shape::Record(&[
    ("local", Shape::Addr),
    ("remote", Shape::Addr),
    ("state", Shape::Scalar),
    ("was", Shape::Scalar),
    ("timer_ms", Shape::Scalar),
]);

const PORT_USE: Shape = Shape::Record(&[
    ("port", Shape::Scalar),
    ("proto", Shape::Scalar),
    ("name", Shape::Scalar),
]);

const PORTS: Shape = Shape::Record(&[
    ("ephemeral", Shape::List(&Shape::Scalar, Select::None)),
    ("unprivileged_start", Shape::Scalar),
    ("somaxconn", Shape::Scalar),
    ("in_use", Shape::List(&PORT_USE, Select::None)),
]);

const COUNTERS: Shape = Shape::Record(&[
    ("listen_overflows", Shape::Scalar),
    ("listen_drops", Shape::Scalar),
    ("listen_overflows_at_start", Shape::Scalar),
    ("listen_drops_at_start", Shape::Scalar),
    ("listen_overflows_delta", Shape::Scalar),
    ("listen_drops_delta", Shape::Scalar),
    ("scope", Shape::Scalar),
]);

const TRACE_ENTRY: Shape = Shape::Record(&[
    ("call", Shape::Scalar),
    ("result", Shape::Scalar),
    ("errno", Shape::Scalar),
    ("failed", Shape::Scalar),
    ("name", Shape::Scalar),
    ("at_ms", Shape::Scalar),
]);

const LAB_MESSAGE: Shape = Shape::Record(&[
    ("command", Shape::Scalar),
    ("message", Shape::Scalar),
    ("at_ms", Shape::Scalar),
]);

/// The shape a path starts from.
pub(super) fn root(name: &str) -> Shape {
    match name {
        "fds" => Shape::List(&FD, Select::Kind),
        "sockets" | "listeners" => Shape::List(&ENDPOINT, Select::State),
        "kernel_only" => Shape::List(&KERNEL_ONLY, Select::State),
        "kernel_only_history" => Shape::List(&KERNEL_ONLY_HISTORY, Select::State),
        "ports" => PORTS,
        "counters" => COUNTERS,
        "trace" => Shape::List(&TRACE_ENTRY, Select::None),
        "errors" => Shape::List(&LAB_MESSAGE, Select::None),
        "segments" => Shape::List(&SEGMENT, Select::Flags),
        "capture" => CAPTURE,
        "wire" => WIRE,
        "nat" => NAT,
        _ => ENDPOINT,
    }
}

/// Whether `word` selects list elements of this kind.
pub(super) fn selects(select: Select, word: &str) -> bool {
    match select {
        Select::None => false,
        Select::State => is_state_word(word),
        Select::Kind => FD_KINDS.contains(&word),
        Select::Flags => is_flag_word(word) || word == "retransmission",
    }
}

/// A kernel state name (or `SYN-SENT`-style spelling of one).
pub(super) fn is_state_word(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_uppercase()) && TcpState::from_name(word).is_some()
}

/// A flag word as a path writes it: flag names joined by `_` (`SYN_ACK`).
pub(super) fn is_flag_word(word: &str) -> bool {
    !word.contains('-') && segments::flag_bits(word).is_some()
}

/// Why a path does not fit the schema: which segment (0 = the first field after NAME) and what
/// would have fit there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Misfit {
    pub segment: usize,
    pub expected: String,
}

/// Checks the fields of a path against the schema.
pub(super) fn check(name: &str, fields: &[String]) -> Result<(), Misfit> {
    let mut shape = root(name);
    for (segment, field) in fields.iter().enumerate() {
        let misfit = |expected: String| Misfit { segment, expected };
        shape = match shape {
            Shape::Scalar => return Err(misfit(String::new())),
            Shape::Addr => match field.as_str() {
                "port" | "ip" => Shape::Scalar,
                _ => return Err(misfit("port, ip".to_owned())),
            },
            Shape::List(element, select) => {
                if field == "count" {
                    Shape::Scalar
                } else if field == "last" || field.bytes().all(|b| b.is_ascii_digit()) {
                    *element
                } else if selects(select, field) {
                    Shape::Scalar
                } else {
                    return Err(misfit(list_expected(select)));
                }
            }
            Shape::Record(record) => {
                let Some((_, inner)) = record.iter().find(|(key, _)| key == field) else {
                    return Err(misfit(record_keys(record)));
                };
                *inner
            }
        };
    }
    match shape {
        Shape::Scalar | Shape::Addr => Ok(()),
        Shape::List(_, select) => Err(Misfit {
            segment: fields.len(),
            expected: list_expected(select),
        }),
        Shape::Record(record) => Err(Misfit {
            segment: fields.len(),
            expected: record_keys(record),
        }),
    }
}

fn record_keys(record: &[(&str, Shape)]) -> String {
    record
        .iter()
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_expected(select: Select) -> String {
    match select {
        Select::None => "count, N, last".to_owned(),
        Select::State => "count, N, last, STATE (e.g. TIME_WAIT)".to_owned(),
        Select::Kind => format!("count, N, last, {}", FD_KINDS.join(", ")),
        Select::Flags => {
            "count, N, last, retransmission, FLAGS (e.g. SYN, SYN_ACK, FIN_ACK, RST_ACK)".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        CaptureInfo, CapturedConnection, FdEntry, FdKind, KernelOnly, ListenerInfo, Proto, Role,
        Segment, Snapshot, SocketInfo, TcpCounters, TcpState, TraceEntry,
    };

    fn keys(value: &serde_json::Value) -> Vec<String> {
        value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    }

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_owned).collect()
    }

    /// A snapshot with one entry in every list, so every field the model serializes appears.
    #[allow(clippy::too_many_lines)] // one literal: every field of the model, filled
    fn full_snapshot() -> Snapshot {
        let addr = "127.0.0.1:1".parse().ok();
        Snapshot {
            fds: vec![FdEntry {
                fd: 3,
                kind: FdKind::Socket,
                target: "socket:[1]".into(),
                name: None,
                label: "IPv4/TCP".into(),
                peer: None,
                address: None,
                purpose: None,
            }],
            sockets: vec![SocketInfo {
                name: "s".into(),
                fd: 3,
                proto: Proto::Tcp,
                role: Role::Listener,
                local: addr,
                remote: None,
                state: TcpState::Listen,
                recv_q: 0,
                send_q: 0,
                bytes_sent: 0,
                bytes_received: 0,
                inode: 1,
                age_ms: 0,
                history: Vec::new(),
                forwarder: None,
                // Every optional part filled, so every field is serialized and checked.
                tcp: Some(TcpCounters {
                    state_from_segments: Some(TcpState::Established),
                    state_from_segments_cause: Some(crate::model::StateCause {
                        flags: "ACK",
                        sent: true,
                        t_us: 1,
                    }),
                    ..TcpCounters::default()
                }),
                host: Some(crate::model::WireHost::B),
            }],
            listeners: vec![ListenerInfo {
                name: "s".into(),
                local: addr,
                backlog: 1,
                backlog_requested: 1,
                accept_queue: 0,
                syn_queue: 0,
                waiting: Vec::new(),
                half_open: Vec::new(),
                auto_accept: false,
            }],
            kernel_only: vec![KernelOnly {
                local: addr.unwrap(),
                remote: addr.unwrap(),
                state: TcpState::TimeWait,
                was: None,
                timer_ms: None,
            }],
            trace: vec![TraceEntry {
                call: "close(3)".into(),
                result: "0".into(),
                errno: None,
                failed: false,
                name: None,
                at_ms: 0,
            }],
            segments: vec![Segment {
                conn: "s".into(),
                t_us: 0,
                proto: Proto::Tcp,
                from: addr.unwrap(),
                to: addr.unwrap(),
                from_name: Some("s".into()),
                to_name: None,
                flags: "SYN",
                flag_bits: 2,
                seq: 0,
                ack: 0,
                rel_seq: 0,
                rel_ack: 0,
                len: 0,
                win: 0,
                retransmission: false,
                preview: None,
                dropped_before: 0,
                wire_id: Some(1),
                wire: Some(crate::model::WireMark::Held),
                nat: Some(crate::model::NatSide::Sent),
                nat_drop: Some("no_rule"),
            }]
            .into(),
            capture: CaptureInfo {
                connections: vec![CapturedConnection {
                    conn: "s".into(),
                    proto: Proto::Tcp,
                    a: addr.unwrap(),
                    b: addr.unwrap(),
                    a_name: None,
                    b_name: None,
                    segments: 1,
                    dropped: 0,
                }],
                ..CaptureInfo::default()
            },
            wire: Some(crate::model::WireInfo {
                hosts: vec![crate::model::WireHostInfo {
                    host: crate::model::WireHost::A,
                    address: "198.18.0.1/24".into(),
                    interface: "wire0".into(),
                    namespace_inode: 1,
                }],
                held: vec![1],
                ..crate::model::WireInfo::default()
            }),
            nat: Some(crate::model::NatView {
                rules: vec![crate::model::NatRuleView {
                    proto: crate::model::Proto::Tcp,
                    public: "198.18.0.254:8080".parse().unwrap(),
                    private: "198.18.0.2:80".parse().unwrap(),
                }],
                entries: vec![crate::model::NatEntryView {
                    id: 1,
                    proto: crate::model::Proto::Tcp,
                    remote: "198.18.0.1:40000".parse().unwrap(),
                    public: "198.18.0.254:8080".parse().unwrap(),
                    private: "198.18.0.2:80".parse().unwrap(),
                    state: "open",
                    packets_a_to_b: 1,
                    packets_b_to_a: 1,
                    bytes_a_to_b: 60,
                    bytes_b_to_a: 60,
                    age_ms: 1,
                    idle_ms: 1,
                    expires_in_ms: 1,
                }],
                last_drop: Some("no_rule"),
                ..crate::model::NatView::default()
            }),
            ..Snapshot::default()
        }
    }

    /// Every field the model serializes is one the schema knows, so the two cannot drift apart.
    #[test]
    fn schema_covers_the_snapshot_json() {
        let json = serde_json::to_value(full_snapshot()).unwrap();
        for (record, key) in keys(&json["sockets"][0])
            .into_iter()
            .map(|key| (&json["sockets"][0], key))
            .chain(
                keys(&json["listeners"][0])
                    .into_iter()
                    .map(|key| (&json["listeners"][0], key)),
            )
        {
            // A field that is itself a record is covered through each of its fields.
            let paths: Vec<Vec<String>> = match &record[&key] {
                serde_json::Value::Object(inner) => inner
                    .keys()
                    .map(|sub| vec![key.clone(), sub.clone()])
                    .collect(),
                _ => vec![vec![key.clone()]],
            };
            for path in paths {
                check("s", &path)
                    .or_else(|_| check("s", &[key.clone(), "count".into()]))
                    .unwrap_or_else(|misfit| panic!("socket field {path:?}: {misfit:?}"));
            }
        }
        for (root, value) in [
            ("fds", &json["fds"][0]),
            ("kernel_only", &json["kernel_only"][0]),
            ("trace", &json["trace"][0]),
            ("segments", &json["segments"][0]),
        ] {
            for key in keys(value) {
                check(root, &["0".into(), key.clone()])
                    .unwrap_or_else(|misfit| panic!("{root} field {key}: {misfit:?}"));
            }
        }
        for key in keys(&json["segments"][0]) {
            check("s", &["segments".into(), "last".into(), key.clone()])
                .unwrap_or_else(|misfit| panic!("s.segments field {key}: {misfit:?}"));
        }
        for key in keys(&json["capture"]["connections"][0]) {
            check("capture", &["connections".into(), "0".into(), key.clone()])
                .unwrap_or_else(|misfit| panic!("capture.connections field {key}: {misfit:?}"));
        }
        for key in keys(&json) {
            assert!(
                PSEUDO_NAMES.contains(&key.as_str())
                    || ["trace_dropped", "probe_errors", "at_ms"].contains(&key.as_str()),
                "top-level key {key} is not a pseudo-name"
            );
        }
        for (root, list) in [("nat", "rules"), ("nat", "entries")] {
            for key in keys(&json[root][list][0]) {
                check(root, &[list.into(), "0".into(), key.clone()])
                    .unwrap_or_else(|misfit| panic!("{root}.{list} field {key}: {misfit:?}"));
            }
        }
        for root in ["ports", "counters", "capture", "nat"] {
            for key in keys(&json[root]) {
                check(root, std::slice::from_ref(&key))
                    .or_else(|_| check(root, &[key.clone(), "count".into()]))
                    .unwrap_or_else(|misfit| panic!("{root} field {key}: {misfit:?}"));
            }
        }
    }

    #[test]
    fn derived_fields() {
        for ok in [
            "srv.local.port",
            "srv.waiting.count",
            "srv.waiting.0.peer.port",
            "kernel_only.TIME_WAIT",
            "kernel_only.count",
            "fds.socket",
            "fds.count",
            "counters.listen_overflows_delta",
            "ports.ephemeral.0",
            "c1.errno",
            "c1.segments.count",
            "c1.segments.SYN",
            "c1.segments.SYN_ACK",
            "c1.segments.ACK_FIN",
            "c1.segments.retransmission",
            "c1.segments.last.flags",
            "c1.segments.0.from.port",
            "c1.states.last.state",
            "c1.states.SYN_SENT",
            "c1.handshake",
            "c1.segs_out",
            "segments.RST_ACK",
            "capture.active",
            "capture.connections.0.a.port",
            "kernel_only.last.state",
            "nat.entries.0.remote.ip",
            "nat.entries.count",
            "nat.rules.0.private.port",
        ] {
            let mut fields = path(ok);
            let name = fields.remove(0);
            assert_eq!(check(&name, &fields), Ok(()), "{ok}");
        }
        for (bad, segment) in [
            ("srv.nope", 0),
            ("srv.state.port", 1),
            ("srv.waiting", 1),
            ("kernel_only.socket", 0),
            ("fds.TIME_WAIT", 0),
            ("srv.local.host", 1),
            ("c1.segments.SYN_SENT", 1),
            ("c1.segments.syn", 1),
            ("c1.segments", 1),
            ("c1.segments.last.flag", 2),
            ("c1.handshake.ok", 1),
            ("kernel_only.SYN", 0),
            ("c1.states.SYN_ACK", 1),
        ] {
            let mut fields = path(bad);
            let name = fields.remove(0);
            assert_eq!(check(&name, &fields).unwrap_err().segment, segment, "{bad}");
        }
    }
}
