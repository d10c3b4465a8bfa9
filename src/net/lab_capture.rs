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

use super::capture::{Capture, OpenError, ports_of};
use super::decode::flag_names;
use super::filter::Scope;
use super::flows::Flow;
use super::private;
use crate::command::{Command, Target};
use crate::escape;
use crate::model::{CaptureInfo, CapturedConnection, Network, Proto, Segment};
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
}

impl LabCapture {
    /// Opens the capture for the network this process runs in (see [`super::network`]).
    #[must_use]
    pub fn open() -> Self {
        let network = super::network();
        let scope = match network {
            // Everything in the private network is the lab's (or started with `sockscope exec`).
            Network::Private => Scope::All,
            // Nothing until the lab has sockets.
            Network::Host => Scope::Ports(BTreeSet::new()),
        };
        Self {
            network,
            capture: Capture::open(scope),
            names: HashMap::new(),
            ports: BTreeSet::new(),
        }
    }

    /// The descriptor to register for readability, when the capture runs.
    #[must_use]
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.capture.as_ref().ok().map(Capture::raw_fd)
    }

    /// Before a command runs: the port it will connect or send to joins the filter, so the first
    /// segment (sent inside the syscall) is captured.
    pub fn expect(&mut self, command: &Command) {
        let (Command::Connect { target, .. }
        | Command::Client { target, .. }
        | Command::Clients { target, .. }
        | Command::SendTo { target, .. }
        | Command::Forward { target, .. }) = command
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
            self.ports.insert(local.port());
            if let Some(remote) = endpoint.remote {
                self.ports.insert(remote.port());
            }
            self.names
                .entry((endpoint.proto, local, endpoint.remote))
                .and_modify(|name| endpoint.name.clone_into(name))
                .or_insert_with(|| endpoint.name.to_owned());
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

    /// Reads what the kernel has queued.
    pub fn drain(&mut self) {
        if let Ok(capture) = &mut self.capture {
            capture.drain();
        }
    }

    /// A reset lab: a new ladder, new names.
    pub fn clear(&mut self) {
        if let Ok(capture) = &mut self.capture {
            capture.clear();
        }
        self.names.clear();
        self.ports.clear();
        self.update_filter();
    }

    /// Everything captured so far, for the snapshot (drains the socket first).
    pub fn export(&mut self, lang: Lang) -> (Vec<Segment>, CaptureInfo) {
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
                return (Vec::new(), info);
            }
        };
        info.active = true;
        info.kernel_drops = capture.kernel_drops();
        let names = &self.names;
        let flows = capture.flows();
        info.captured = flows.recorded();
        info.ring_drops = flows.dropped();
        info.connections_evicted = flows.flows_evicted;
        let mut segments = Vec::new();
        for flow in flows.iter() {
            let conn = conn_name(names, flow);
            let a_name = name_of(names, flow.proto, flow.a, flow.b);
            let b_name = name_of(names, flow.proto, flow.b, flow.a);
            info.connections.push(CapturedConnection {
                conn: conn.clone(),
                proto: flow.proto,
                a: flow.a,
                b: flow.b,
                a_name: a_name.clone(),
                b_name: b_name.clone(),
                segments: flow.len() as u64,
                dropped: flow.dropped,
            });
            for (position, stored) in flow.segments().enumerate() {
                let (from, to) = flow.endpoints(stored);
                let (from_name, to_name) = if stored.from_a {
                    (a_name.clone(), b_name.clone())
                } else {
                    (b_name.clone(), a_name.clone())
                };
                segments.push((
                    stored.index,
                    Segment {
                        conn: conn.clone(),
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
                        preview: if stored.preview().is_empty() {
                            String::new()
                        } else {
                            escape::strace_bytes(stored.preview(), escape::STRACE_LIMIT)
                        },
                        dropped_before: if position == flow.head_len() {
                            flow.dropped
                        } else {
                            0
                        },
                    },
                ));
            }
        }
        // Capture order across connections: what happened first comes first.
        segments.sort_unstable_by_key(|(index, _)| *index);
        (
            segments.into_iter().map(|(_, segment)| segment).collect(),
            info,
        )
    }
}

type Names = HashMap<(Proto, SocketAddr, Option<SocketAddr>), String>;

/// The lab name of `side` talking to `peer`: the connected socket, else the listener or unconnected
/// UDP socket on that address.
fn name_of(names: &Names, proto: Proto, side: SocketAddr, peer: SocketAddr) -> Option<String> {
    names
        .get(&(proto, side, Some(peer)))
        .or_else(|| names.get(&(proto, side, None)))
        .cloned()
}

/// The connection's name: the opener's lab name, else the other side's, else its 4-tuple.
fn conn_name(names: &Names, flow: &Flow) -> String {
    name_of(names, flow.proto, flow.a, flow.b)
        .or_else(|| name_of(names, flow.proto, flow.b, flow.a))
        .unwrap_or_else(|| format!("{}-{}", flow.a, flow.b))
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
