//! The capture as the lab uses it: which ports to watch (on the host network), which lab names the
//! captured endpoints have, and what goes into the snapshot (`segments`, `capture`).
//!
//! The lab tells it about every command before it runs ([`LabCapture::expect`]: a connect to a port
//! outside the lab must be in the filter before the SYN leaves) and about its sockets after
//! ([`LabCapture::learn`]). Names stay known after a socket is closed, so the FIN exchange of a closed
//! socket is still labelled.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::capture::{Capture, OpenError, ports_of};
use super::decode::flag_names;
use super::filter::Scope;
use super::flows::{Flow, Flows};
use super::{ladder, private};
use crate::command::{Command, Target, WebCommand};
use crate::model::{
    CaptureInfo, CapturedConnection, NatSide, Network, Proto, Segment, StateCause, StateChange,
    TcpState, WireMark,
};
use crate::text::{self, Lang};

/// A lab socket as the capture needs to know it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub name: &'a str,
    pub proto: Proto,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
}

pub struct LabCapture {
    network: Network,
    capture: Result<Capture, OpenError>,
    /// `(local, remote)` -> lab name; `remote` is `None` for listeners and unconnected UDP sockets.
    names: Names,
    /// Ports of the lab's sockets and of the targets it connected or sent to.
    ports: BTreeSet<u16>,
    /// When the lab's clock started (since the Unix epoch, as the kernel stamps packets): segment
    /// times become the lab's `at_ms`.
    origin: Duration,
    /// Counts every change of `names` (they label the segments).
    names_generation: u64,
    /// The last export, shared by every snapshot until a segment is filed or a name changes: an
    /// idle lab holding a full capture (131k segments) would otherwise rebuild and copy all of
    /// them at every probe.
    cached: Option<CachedExport>,
    /// `--net wire`: each segment's number on the wire and, until it is delivered, where it is.
    wire: WireMarks,
}

/// What the wire says about the segments it relays, by capture index.
#[derive(Debug, Default)]
pub struct WireMarks {
    ids: HashMap<u64, u64>,
    marks: HashMap<u64, WireMark>,
    /// Which copy of a NAT-rewritten packet a segment is.
    nat: HashMap<u64, NatSide>,
    /// Why the NAT dropped a segment.
    nat_drops: HashMap<u64, &'static str>,
    /// Counts every change (they are drawn on the ladder).
    generation: u64,
}

struct CachedExport {
    /// `(segments filed, names generation)` when it was built.
    key: (u64, u64),
    segments: Arc<[Segment]>,
    connections: Vec<CapturedConnection>,
    histories: Arc<SideHistories>,
}

/// What the capture adds to a snapshot (the segments and histories shared with the capture's
/// cache: cloning a snapshot copies none of them).
#[derive(Debug, Default)]
pub struct Exported {
    pub segments: Arc<[Segment]>,
    pub info: CaptureInfo,
    /// The states each side of every captured TCP connection entered, by `(local, remote)`.
    pub histories: Arc<SideHistories>,
}

/// The states one side of a captured TCP connection entered, from its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideHistory {
    /// This side sent the connection's SYN (it started in `CLOSE`; the other side's listener was
    /// in `LISTEN`).
    pub opener: bool,
    /// Each state entered, when (milliseconds since the lab started) and the segment that did it.
    pub changes: Vec<(StateChange, StateCause)>,
}

impl SideHistory {
    /// The state the segments leave this side in, and the segment that put it there.
    #[must_use]
    pub fn last(&self) -> Option<(TcpState, StateCause)> {
        self.changes
            .last()
            .map(|(change, cause)| (change.state, *cause))
    }
}

/// Side histories by `(local, remote)`: the newest connection on a 4-tuple wins.
pub type SideHistories = HashMap<(SocketAddr, SocketAddr), SideHistory>;

fn now_since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl LabCapture {
    /// Opens the capture for the network this process runs in (see [`super::network`]).
    #[must_use]
    pub fn open() -> Self {
        let network = super::network();
        let scope = match network {
            // Everything in the private network is the lab's (or started with `sockscope exec`);
            // the wire files every packet it relays itself.
            Network::Private | Network::Wire => Scope::All,
            // Nothing until the lab has sockets.
            Network::Host => Scope::Ports(BTreeSet::new()),
        };
        let capture = if network == Network::Wire {
            Ok(Capture::detached())
        } else {
            Capture::open(scope)
        };
        Self {
            network,
            origin: now_since_epoch(),
            capture,
            wire: WireMarks::default(),
            names: HashMap::new(),
            ports: BTreeSet::new(),
            names_generation: 0,
            cached: None,
        }
    }

    /// The descriptor to register for readability, when the capture runs.
    #[must_use]
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.capture.as_ref().ok().and_then(Capture::raw_fd)
    }

    /// `--net wire`: files a packet that entered the wire, numbered `id` on it; returns its
    /// segment's capture index and whether it is a retransmission (`None`: not TCP or UDP).
    pub fn record_wire(&mut self, packet: &[u8], id: u64) -> Option<(u64, bool)> {
        let capture = self.capture.as_mut().ok()?;
        let (index, retransmission) = capture.record(packet, packet.len(), now_since_epoch())?;
        self.wire.ids.insert(index, id);
        self.wire.generation += 1;
        Some((index, retransmission))
    }

    /// `--net wire`: a packet the NAT rewrote, filed again as the receiving host gets it (the
    /// sender's copy, `sent`, was filed as it entered the wire); returns its capture index.
    pub fn record_rewritten(&mut self, packet: &[u8], sent: Option<u64>) -> Option<u64> {
        let capture = self.capture.as_mut().ok()?;
        let (index, _) = capture.record(packet, packet.len(), now_since_epoch())?;
        self.wire.nat.insert(index, NatSide::Rewritten);
        if let Some(sent) = sent {
            self.wire.nat.insert(sent, NatSide::Sent);
        }
        self.wire.generation += 1;
        Some(index)
    }

    /// `--net wire`: the NAT dropped this segment, for `reason` (a `DropReason` word).
    pub fn mark_nat_drop(&mut self, index: u64, reason: &'static str) {
        self.wire.marks.insert(index, WireMark::Dropped);
        self.wire.nat_drops.insert(index, reason);
        self.wire.generation += 1;
    }

    /// `--net wire`: where a segment the wire has not delivered is (`None`: delivered).
    pub fn mark_wire(&mut self, index: u64, mark: Option<WireMark>) {
        let changed = match mark {
            Some(mark) => self.wire.marks.insert(index, mark) != Some(mark),
            None => self.wire.marks.remove(&index).is_some(),
        };
        if changed {
            self.wire.generation += 1;
        }
    }

    /// Before a command runs: the port it will connect or send to joins the filter, so the first
    /// segment (sent inside the syscall) is captured.
    pub fn expect(&mut self, command: &Command) {
        let (Command::Connect { target, .. }
        | Command::Client { target, .. }
        | Command::Clients { target, .. }
        | Command::SendTo { target, .. }
        | Command::Forward { target, .. }
        | Command::Web(WebCommand::HttpGet { target, .. } | WebCommand::Client { target, .. })) =
            command
        else {
            return;
        };
        if let Target::Addr(addr) = target
            && self.ports.insert(addr.port())
        {
            self.update_filter();
        }
    }

    /// After a command (and on every probe): the lab's sockets, for names and the filter's ports.
    pub fn learn<'a>(&mut self, endpoints: impl IntoIterator<Item = Endpoint<'a>>) {
        let before = self.ports.len();
        for endpoint in endpoints {
            let Some(local) = endpoint.local else {
                continue;
            };
            // Every segment of a connection carries both its ports, so one of them in the filter
            // catches them all: a client's (or an accepted socket's) ephemeral port joins only when
            // neither end is known yet. Thousands of clients of one listener keep the filter at a
            // port or two instead of overflowing it to every segment on lo.
            match endpoint.remote {
                Some(remote)
                    if self.ports.contains(&local.port())
                        || self.ports.contains(&remote.port()) => {}
                Some(remote) => {
                    self.ports.insert(local.port());
                    self.ports.insert(remote.port());
                }
                None => {
                    self.ports.insert(local.port());
                }
            }
            let generation = &mut self.names_generation;
            self.names
                .entry((endpoint.proto, local, endpoint.remote))
                .and_modify(|name| {
                    if &**name != endpoint.name {
                        *name = Arc::from(endpoint.name);
                        *generation += 1;
                    }
                })
                .or_insert_with(|| {
                    *generation += 1;
                    Arc::from(endpoint.name)
                });
        }
        if self.ports.len() != before {
            self.update_filter();
        }
    }

    fn update_filter(&mut self) {
        if self.network == Network::Host
            && let Ok(capture) = &mut self.capture
        {
            // A failed re-attach keeps the old filter: fewer segments, never a stall.
            let _ = capture.set_scope(ports_of(self.ports.iter().copied()));
        }
    }

    /// Reads what the kernel has queued; returns whether a segment was filed (one the ladder can
    /// show). On the host network with more ports than the kernel filter holds, every loopback
    /// segment of the machine is read, and most are not the lab's.
    pub fn drain(&mut self) -> bool {
        if let Ok(capture) = &mut self.capture {
            let before = capture.flows().recorded();
            capture.drain();
            return capture.flows().recorded() != before;
        }
        false
    }

    /// The endpoints of every connection captured so far (both orders of each).
    #[must_use]
    pub fn tuples(&self) -> Vec<(SocketAddr, SocketAddr)> {
        let Ok(capture) = &self.capture else {
            return Vec::new();
        };
        capture
            .flows()
            .iter()
            .flat_map(|flow| [(flow.a, flow.b), (flow.b, flow.a)])
            .collect()
    }

    /// A reset lab: a new ladder, new names.
    pub fn clear(&mut self) {
        if let Ok(capture) = &mut self.capture {
            capture.clear();
        }
        self.names.clear();
        self.names_generation += 1;
        self.wire = WireMarks::default();
        self.cached = None;
        self.ports.clear();
        self.origin = now_since_epoch();
        self.update_filter();
    }

    /// Everything captured so far, for the snapshot (drains the socket first).
    pub fn export(&mut self, lang: Lang) -> Exported {
        self.drain();
        let mut info = CaptureInfo {
            network: self.network,
            ..CaptureInfo::default()
        };
        let capture = match &mut self.capture {
            Ok(capture) => capture,
            Err(error) => {
                let (reason, remedy) = unavailable_text(self.network, error, lang);
                info.reason = Some(reason);
                info.remedy = Some(remedy);
                return Exported {
                    info,
                    ..Exported::default()
                };
            }
        };
        info.active = true;
        info.kernel_drops = capture.kernel_drops();
        // Segment times count from the capture's first segment; the lab's from its start.
        let first = capture
            .first_time()
            .map_or(Duration::ZERO, |first| first.saturating_sub(self.origin));
        let flows = capture.flows();
        info.captured = flows.recorded();
        info.ring_drops = flows.dropped();
        info.connections_evicted = flows.flows_evicted;
        let key = (
            flows.recorded(),
            self.names_generation + self.wire.generation,
        );
        let cached = match self.cached.take() {
            Some(cached) if cached.key == key => cached,
            _ => {
                let (segments, connections, by_flow) = export_flows(flows, &self.names, &self.wire);
                let histories = side_histories(flows, &segments, &by_flow, first);
                CachedExport {
                    key,
                    segments: segments.into(),
                    connections,
                    histories: Arc::new(histories),
                }
            }
        };
        info.connections.clone_from(&cached.connections);
        let exported = Exported {
            segments: Arc::clone(&cached.segments),
            info,
            histories: Arc::clone(&cached.histories),
        };
        self.cached = Some(cached);
        exported
    }
}

/// The states both sides of every TCP connection whose opening SYN was captured entered,
/// walked over its kept segments (`by_flow`: indices into `segments`, one list per flow). The
/// segments a ring dropped in between are data and ACKs of an established connection; the
/// handshake stays in every flow's head and the close in its tail. `first` is the capture's first
/// segment on the lab's clock.
fn side_histories(
    flows: &Flows,
    segments: &[Segment],
    by_flow: &[Vec<usize>],
    first: Duration,
) -> SideHistories {
    let mut histories = SideHistories::new();
    for (flow, indices) in flows.iter().zip(by_flow) {
        if flow.proto != Proto::Tcp || !flow.saw_syn {
            continue;
        }
        let kept: Vec<&Segment> = indices.iter().map(|&index| &segments[index]).collect();
        let mut sides = [
            (
                (flow.a, flow.b),
                SideHistory {
                    opener: true,
                    changes: Vec::new(),
                },
            ),
            (
                (flow.b, flow.a),
                SideHistory {
                    opener: false,
                    changes: Vec::new(),
                },
            ),
        ];
        for transition in ladder::transitions(&kept, flow.a, flow.b) {
            let segment = kept[transition.segment];
            let change = StateChange {
                state: transition.state,
                at_ms: (first + Duration::from_micros(segment.t_us)).as_millis() as u64,
            };
            let cause = StateCause {
                flags: segment.flags,
                sent: transition.sent,
                t_us: segment.t_us,
            };
            let side = usize::from(transition.side != flow.a);
            sides[side].1.changes.push((change, cause));
        }
        for (key, side) in sides {
            histories.insert(key, side);
        }
    }
    histories
}

/// Every kept segment of `flows` for the model, in capture order, labelled with the lab's names; and
/// one summary per connection.
#[must_use]
pub fn segments_and_connections(
    flows: &Flows,
    names: &Names,
) -> (Vec<Segment>, Vec<CapturedConnection>) {
    let (segments, connections, _) = export_flows(flows, names, &WireMarks::default());
    (segments, connections)
}

/// [`segments_and_connections`], and for each flow the indices of its segments in the first.
fn export_flows(
    flows: &Flows,
    names: &Names,
    wire: &WireMarks,
) -> (Vec<Segment>, Vec<CapturedConnection>, Vec<Vec<usize>>) {
    // Capture order across connections: sort small keys, then build each segment once.
    let kept: Vec<&Flow> = flows.iter().collect();
    let mut order: Vec<(u64, u32, u32)> = Vec::with_capacity(kept.iter().map(|f| f.len()).sum());
    for (which, flow) in kept.iter().enumerate() {
        for (position, stored) in flow.segments().enumerate() {
            order.push((stored.index, which as u32, position as u32));
        }
    }
    order.sort_unstable();
    let labels: Vec<FlowLabels> = kept
        .iter()
        .map(|flow| FlowLabels {
            conn: conn_name(names, flow),
            a: name_of(names, flow.proto, flow.a, flow.b),
            b: name_of(names, flow.proto, flow.b, flow.a),
        })
        .collect();
    let mut by_flow: Vec<Vec<usize>> = kept
        .iter()
        .map(|flow| Vec::with_capacity(flow.len()))
        .collect();
    let mut segments = Vec::with_capacity(order.len());
    for (_, which, position) in order {
        let flow = kept[which as usize];
        let label = &labels[which as usize];
        let Some(stored) = flow.get(position as usize) else {
            continue;
        };
        by_flow[which as usize].push(segments.len());
        let (from, to) = flow.endpoints(stored);
        let (from_name, to_name) = if stored.from_a {
            (label.a.clone(), label.b.clone())
        } else {
            (label.b.clone(), label.a.clone())
        };
        segments.push(Segment {
            conn: label.conn.clone(),
            t_us: stored.t_us,
            proto: flow.proto,
            from,
            to,
            from_name,
            to_name,
            flags: flag_names(stored.flags),
            flag_bits: stored.flags,
            seq: stored.seq,
            ack: stored.ack,
            rel_seq: stored.rel_seq,
            rel_ack: stored.rel_ack,
            len: stored.len,
            win: stored.win,
            retransmission: stored.retransmission,
            preview: stored.preview.clone(),
            dropped_before: if position as usize == flow.head_len() {
                flow.dropped
            } else {
                0
            },
            wire_id: wire.ids.get(&stored.index).copied(),
            wire: wire.marks.get(&stored.index).copied(),
            nat: wire.nat.get(&stored.index).copied(),
            nat_drop: wire.nat_drops.get(&stored.index).copied(),
        });
    }
    let connections = kept
        .iter()
        .zip(labels)
        .map(|(flow, label)| CapturedConnection {
            conn: label.conn,
            proto: flow.proto,
            a: flow.a,
            b: flow.b,
            a_name: label.a,
            b_name: label.b,
            segments: flow.len() as u64,
            dropped: flow.dropped,
        })
        .collect();
    (segments, connections, by_flow)
}

/// The names one connection's segments carry.
struct FlowLabels {
    conn: Arc<str>,
    a: Option<Arc<str>>,
    b: Option<Arc<str>>,
}

/// Lab names by `(protocol, local, remote)`; `remote` is `None` for listeners and unconnected UDP.
pub type Names = HashMap<(Proto, SocketAddr, Option<SocketAddr>), Arc<str>>;

/// The lab name of `side` talking to `peer`: the connected socket, else the listener or unconnected
/// UDP socket on that address.
fn name_of(names: &Names, proto: Proto, side: SocketAddr, peer: SocketAddr) -> Option<Arc<str>> {
    names
        .get(&(proto, side, Some(peer)))
        .or_else(|| names.get(&(proto, side, None)))
        .cloned()
}

/// The connection's name: the opener's lab name, else the other side's, else its 4-tuple.
fn conn_name(names: &Names, flow: &Flow) -> Arc<str> {
    name_of(names, flow.proto, flow.a, flow.b)
        .or_else(|| name_of(names, flow.proto, flow.b, flow.a))
        .unwrap_or_else(|| Arc::from(format!("{}-{}", flow.a, flow.b)))
}

/// Why the capture is off and what to do, in the user's language.
fn unavailable_text(network: Network, error: &OpenError, lang: Lang) -> (String, String) {
    match error {
        OpenError::NoPermission if network == Network::Host => {
            let remedy = match private::userns_restriction() {
                None => text::get(lang, "capture.remedy_root_or_private").to_owned(),
                Some(restriction) => text::format(
                    lang,
                    "capture.remedy_root_only",
                    &[("why", &restriction.message(lang))],
                ),
            };
            (text::get(lang, "capture.no_permission").to_owned(), remedy)
        }
        OpenError::NoPermission => (
            text::get(lang, "capture.no_permission_private").to_owned(),
            text::get(lang, "capture.remedy_report").to_owned(),
        ),
        OpenError::Failed(message) => (
            text::format(lang, "capture.failed", &[("error", message)]),
            text::get(lang, "capture.remedy_report").to_owned(),
        ),
    }
}
