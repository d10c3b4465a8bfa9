//! Plain data that every view renders: the snapshot of the lab (or of the machine) at one instant.
//!
//! Everything here is a fact read from the kernel or recorded from a syscall the lab made; nothing is
//! derived from what the program assumes it did. Field names follow the JSON contract of DESIGN.md.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A TCP state as the kernel names it (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
    /// A UDP socket with no peer (`ss` prints `UNCONN`; the kernel stores `TCP_CLOSE`).
    Unconnected,
    Unknown(u8),
}

impl TcpState {
    /// Maps the kernel's numeric state (`tcpi_state`, `idiag_state`).
    #[must_use]
    pub fn from_kernel(code: u8) -> Self {
        match code {
            1 => Self::Established,
            2 => Self::SynSent,
            3 => Self::SynRecv,
            4 => Self::FinWait1,
            5 => Self::FinWait2,
            6 => Self::TimeWait,
            7 => Self::Close,
            8 => Self::CloseWait,
            9 => Self::LastAck,
            10 => Self::Listen,
            11 => Self::Closing,
            12 => Self::NewSynRecv,
            other => Self::Unknown(other),
        }
    }

    /// The kernel's name for the state, as DESIGN.md's JSON contract spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Established => "ESTABLISHED",
            Self::SynSent => "SYN_SENT",
            Self::SynRecv | Self::NewSynRecv => "SYN_RECV",
            Self::FinWait1 => "FIN_WAIT1",
            Self::FinWait2 => "FIN_WAIT2",
            Self::TimeWait => "TIME_WAIT",
            Self::Close => "CLOSE",
            Self::CloseWait => "CLOSE_WAIT",
            Self::LastAck => "LAST_ACK",
            Self::Listen => "LISTEN",
            Self::Closing => "CLOSING",
            Self::Unconnected => "UNCONN",
            Self::Unknown(_) => "UNKNOWN",
        }
    }

    /// Parses a kernel state name (as printed by [`TcpState::name`]), case-insensitively.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        const ALL: [TcpState; 13] = [
            TcpState::Established,
            TcpState::SynSent,
            TcpState::SynRecv,
            TcpState::FinWait1,
            TcpState::FinWait2,
            TcpState::TimeWait,
            TcpState::Close,
            TcpState::CloseWait,
            TcpState::LastAck,
            TcpState::Listen,
            TcpState::Closing,
            TcpState::Unconnected,
            TcpState::Unknown(0),
        ];
        let wanted = name.trim().to_ascii_uppercase().replace('-', "_");
        ALL.into_iter().find(|state| state.name() == wanted)
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TcpState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What a descriptor in `/proc/self/fd` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FdKind {
    Socket,
    File,
    Tty,
    Epoll,
    Eventfd,
    Pipe,
    Other,
}

impl FdKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::File => "file",
            Self::Tty => "tty",
            Self::Epoll => "epoll",
            Self::Eventfd => "eventfd",
            Self::Pipe => "pipe",
            Self::Other => "other",
        }
    }
}

/// One row of the descriptor table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdEntry {
    pub fd: i32,
    pub kind: FdKind,
    /// The `readlink` target, e.g. `socket:[123456]`, `anon_inode:[eventpoll]`, `/etc/hostname`.
    pub target: String,
    /// The lab's handle for it (`srv`, `c1`, `f`), or what the lab uses it for (`poll`, `waker`).
    pub name: Option<String>,
    /// The kind as lsof/lsfd would name it: `IPv4/TCP`, `unix stream`, `netlink`, `pipe`, `FIFO`,
    /// `eventpoll`... Empty when unknown (then `kind` is shown).
    pub label: String,
    /// The other end: `fd 4` for a pipe or socketpair end, the path or `@name` a unix socket is
    /// bound or connected to.
    pub peer: Option<String>,
    /// The path or `@name` a unix socket is bound to (`getsockname`).
    pub address: Option<String>,
    /// For sockscope's own descriptors, what it uses them for (`poll`, `waker`, `signals`,
    /// `inherited`...): the locale key `fd_purpose.<id>` explains it.
    pub purpose: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// Why the lab holds a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created with `socket` and not yet listening or connected.
    Unconnected,
    Listener,
    Client,
    Accepted,
    Datagram,
}

impl Role {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Unconnected => "unconnected",
            Self::Listener => "listener",
            Self::Client => "client",
            Self::Accepted => "accepted",
            Self::Datagram => "datagram",
        }
    }
}

/// A state the kernel reported for a socket, and when the lab first saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateChange {
    pub state: TcpState,
    /// Milliseconds since the lab started.
    pub at_ms: u64,
}

/// A socket the lab owns, with what the kernel says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketInfo {
    pub name: String,
    pub fd: i32,
    pub proto: Proto,
    pub role: Role,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub state: TcpState,
    pub recv_q: u32,
    pub send_q: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub inode: u64,
    /// Milliseconds since the socket was created.
    pub age_ms: u64,
    pub history: Vec<StateChange>,
    /// Set for sockets the lab made for a `forward` relay: the forwarder's name.
    pub forwarder: Option<String>,
    /// The kernel's segment counters (`segs_out`, `segs_in`, `retransmits`, `rtt_us`): TCP only.
    #[serde(flatten)]
    pub tcp: Option<TcpCounters>,
    /// `--net wire`: the host the socket lives on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<WireHost>,
}

/// A connection the kernel holds in a listener's queue, not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub peer: SocketAddr,
    pub state: TcpState,
}

/// A listening socket and its two queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerInfo {
    pub name: String,
    pub local: Option<SocketAddr>,
    /// What the kernel enforces: `min(backlog asked, somaxconn)` (`tcpi_sacked`).
    pub backlog: u32,
    /// What `listen()` was called with.
    pub backlog_requested: u32,
    /// Completed connections not yet accepted (`tcpi_unacked`).
    pub accept_queue: u32,
    /// Half-open connections (`SYN_RECV`) for this listener's port.
    pub syn_queue: u32,
    pub waiting: Vec<Waiting>,
    /// Half-open connections (`SYN_RECV`) with their peers.
    pub half_open: Vec<Waiting>,
    pub auto_accept: bool,
}

/// A TCP 4-tuple the kernel still keeps after the lab closed its descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelOnly {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    /// The lab name the socket had before `close()`.
    pub was: Option<String>,
    /// Time left on the kernel's timer (e.g. `TIME_WAIT`), in milliseconds.
    pub timer_ms: Option<u64>,
}

/// A port the lab's sockets occupy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortUse {
    pub port: u16,
    pub proto: Proto,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ports {
    /// `net.ipv4.ip_local_port_range`.
    pub ephemeral: [u16; 2],
    /// `net.ipv4.ip_unprivileged_port_start`.
    pub unprivileged_start: u16,
    /// `net.core.somaxconn`.
    pub somaxconn: u32,
    pub in_use: Vec<PortUse>,
}

impl Default for Ports {
    fn default() -> Self {
        Self {
            ephemeral: [32768, 60999],
            unprivileged_start: 1024,
            somaxconn: 4096,
            in_use: Vec::new(),
        }
    }
}

/// `TcpExt` counters from `/proc/net/netstat` (namespace-wide).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub listen_overflows: u64,
    pub listen_drops: u64,
    /// The same counters' values when the lab started, so the UI can show what the lab caused.
    pub listen_overflows_at_start: u64,
    pub listen_drops_at_start: u64,
    /// Whose listeners they count: the kernel keeps them per network namespace.
    pub scope: CounterScope,
}

/// Whose listeners a namespace-wide counter counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterScope {
    /// The host network's namespace: every program on the machine that uses it (`"machine"`).
    #[default]
    Machine,
    /// The lab's private network: only the lab, and what `sockscope exec` runs there (`"lab"`).
    Lab,
}

impl CounterScope {
    /// The scope of the counters in `network`.
    #[must_use]
    pub fn of(network: Network) -> Self {
        match network {
            Network::Host => Self::Machine,
            // On the wire the lab runs in host a's namespace: its counters are host a's own.
            Network::Private | Network::Wire => Self::Lab,
        }
    }

    /// The locale key stem of its labels (`counters.machine`, `counters.lab`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Machine => "machine",
            Self::Lab => "lab",
        }
    }
}

/// One syscall the lab made, in strace form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    pub call: String,
    /// `0`, `5`, or `-1 EADDRINUSE`.
    pub result: String,
    pub errno: Option<String>,
    /// A real failure (not `EAGAIN`/`EINPROGRESS`, which are normal for non-blocking sockets).
    pub failed: bool,
    /// The lab name the call acted on.
    pub name: Option<String>,
    /// Milliseconds since the lab started.
    pub at_ms: u64,
}

/// A command the lab refused, and why (already in the user's language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabMessage {
    pub command: String,
    pub message: String,
    pub at_ms: u64,
}

/// Everything a view needs, read at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub fds: Vec<FdEntry>,
    pub sockets: Vec<SocketInfo>,
    pub listeners: Vec<ListenerInfo>,
    pub kernel_only: Vec<KernelOnly>,
    pub ports: Ports,
    pub counters: Counters,
    pub trace: Vec<TraceEntry>,
    /// Commands the lab refused before any syscall (unknown name, wrong kind of socket).
    pub errors: Vec<LabMessage>,
    /// How many older trace entries were dropped to keep the trace bounded.
    pub trace_dropped: u64,
    /// Probe failures (e.g. `sock_diag` unavailable): shown, never fatal.
    pub probe_errors: Vec<String>,
    /// Milliseconds since the lab started.
    pub at_ms: u64,
    /// Every captured segment of the lab's connections, in capture order (shared: snapshots taken
    /// while nothing new was captured hold the same ones, and cloning a snapshot copies none).
    pub segments: Arc<[Segment]>,
    /// Whether the capture runs, and why not.
    pub capture: CaptureInfo,
    /// The segment-derived state history of each `kernel_only` tuple the capture saw open.
    pub kernel_only_history: Vec<KernelOnlyHistory>,
    /// `--net wire`: the hosts and what the wire between them does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireInfo>,
    /// `--net wire`: the wire's NAT (rules, table, counters); absent in the other networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<NatView>,
}

/// One rule, as JSON: `{"proto": "tcp", "public": "198.18.0.254:8080", "private": "198.18.0.2:80"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatRuleView {
    pub proto: Proto,
    pub public: std::net::SocketAddrV4,
    pub private: std::net::SocketAddrV4,
}

/// One table entry, as JSON:
/// `{"id": 1, "proto": "tcp", "remote": "198.18.0.1:40000", "public": "198.18.0.254:8080",
///   "private": "198.18.0.2:80", "state": "open", "packets_a_to_b": 4, "packets_b_to_a": 3,
///   "bytes_a_to_b": 220, "bytes_b_to_a": 180, "age_ms": 1200, "idle_ms": 30, "expires_in_ms": 7439970}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatEntryView {
    /// The same for every packet of the connection (`Verdict::Rewritten.entry`).
    pub id: u64,
    pub proto: Proto,
    /// The peer on a's side.
    pub remote: std::net::SocketAddrV4,
    /// What the remote peer talks to.
    pub public: std::net::SocketAddrV4,
    /// Where its packets really go.
    pub private: std::net::SocketAddrV4,
    /// `syn_seen`, `open`, `closing`, `closed` (TCP), `udp`.
    pub state: &'static str,
    pub packets_a_to_b: u64,
    pub packets_b_to_a: u64,
    pub bytes_a_to_b: u64,
    pub bytes_b_to_a: u64,
    pub age_ms: u64,
    pub idle_ms: u64,
    pub expires_in_ms: u64,
}

/// The whole NAT: rules, entries (oldest first), and what it did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NatView {
    pub rules: Vec<NatRuleView>,
    pub entries: Vec<NatEntryView>,
    /// Packets rewritten, both ways.
    pub rewritten: u64,
    /// Packets dropped, for any reason.
    pub dropped: u64,
    /// The last drop's reason (`no_connection`, `truncated`, ...), `null` if none.
    pub last_drop: Option<&'static str>,
}

/// One host of the wire, as the snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireHostInfo {
    pub host: WireHost,
    /// `198.18.0.1/24`.
    pub address: String,
    /// The TUN device's name inside the host.
    pub interface: String,
    /// The network namespace's inode (what `/proc/PID/ns/net` links to: `net:[INODE]`).
    pub namespace_inode: u64,
}

/// The wire's settings and counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WireInfo {
    pub hosts: Vec<WireHostInfo>,
    pub hold: bool,
    /// The held segments' wire numbers, oldest first.
    pub held: Vec<u64>,
    /// Segments on their way for the one-way delay.
    pub delayed: u64,
    pub delay_a_to_b_ms: u64,
    pub delay_b_to_a_ms: u64,
    /// The loss rate as written (`2%`) and its seed.
    pub loss: String,
    pub seed: u64,
    /// Packets delivered to the other host.
    pub relayed: u64,
    /// Packets thrown away (by `wire drop` or the loss rate).
    pub dropped: u64,
    /// Of those, lost to the loss rate.
    pub lost: u64,
}

impl Snapshot {
    /// Whether two snapshots state the same facts, ignoring the clock (`at_ms`, ages): an idle lab
    /// gives the same facts probe after probe and needs no redraw.
    #[must_use]
    pub fn same_facts(&self, other: &Snapshot) -> bool {
        // Snapshots taken while nothing new was captured share their segments: no need to compare
        // 131k of them one by one (`Arc`'s own equality does that only for sized types).
        if !Arc::ptr_eq(&self.segments, &other.segments) && self.segments != other.segments {
            return false;
        }
        let timeless = |snapshot: &Snapshot| {
            let mut copy = snapshot.clone();
            copy.segments = Arc::default();
            copy.at_ms = 0;
            for socket in &mut copy.sockets {
                socket.age_ms = 0;
            }
            for held in &mut copy.kernel_only {
                // The timer counts down every probe; whole seconds are what the screen shows.
                held.timer_ms = held.timer_ms.map(|ms| ms / 1000);
            }
            copy
        };
        timeless(self) == timeless(other)
    }

    /// Moves the snapshot's clock to `at_ms` without probing: every age grows and every kernel
    /// timer runs down by the time passed (what an idle lab's next snapshot would say).
    pub fn advance_clock(&mut self, at_ms: u64) {
        let passed = at_ms.saturating_sub(self.at_ms);
        for socket in &mut self.sockets {
            socket.age_ms = socket.age_ms.saturating_add(passed);
        }
        for held in &mut self.kernel_only {
            held.timer_ms = held.timer_ms.map(|ms| ms.saturating_sub(passed));
        }
        self.at_ms = at_ms.max(self.at_ms);
    }

    #[must_use]
    pub fn socket(&self, name: &str) -> Option<&SocketInfo> {
        self.sockets.iter().find(|socket| socket.name == name)
    }

    #[must_use]
    pub fn listener(&self, name: &str) -> Option<&ListenerInfo> {
        self.listeners.iter().find(|listener| listener.name == name)
    }
}

/// A band of the port number space (IANA's three, and the kernel's ephemeral range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortBand {
    WellKnown,
    Registered,
    Dynamic,
    Ephemeral,
}

impl PortBand {
    pub const ALL: [PortBand; 4] = [
        PortBand::WellKnown,
        PortBand::Registered,
        PortBand::Dynamic,
        PortBand::Ephemeral,
    ];

    /// IANA's bands are fixed; the ephemeral range is the kernel's, passed in.
    #[must_use]
    pub fn range(self, ephemeral: [u16; 2]) -> (u16, u16) {
        match self {
            Self::WellKnown => (0, 1023),
            Self::Registered => (1024, 49151),
            Self::Dynamic => (49152, 65535),
            Self::Ephemeral => (ephemeral[0], ephemeral[1]),
        }
    }

    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::WellKnown => "well_known",
            Self::Registered => "registered",
            Self::Dynamic => "dynamic",
            Self::Ephemeral => "ephemeral",
        }
    }
}

// --- Segments (issue 10): what the capture saw, and the kernel's own segment counters. ---

/// What the kernel says of one TCP socket the lab owns (`TCP_INFO`: its segment counters), and how
/// its state compares with the one its captured segments imply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TcpCounters {
    /// `tcpi_segs_out`: segments this socket sent, retransmissions included.
    pub segs_out: u32,
    /// `tcpi_segs_in`: segments this socket received.
    pub segs_in: u32,
    /// `tcpi_total_retrans`: segments this socket retransmitted, in all.
    pub retransmits: u32,
    /// `tcpi_rtt`: smoothed round-trip time in microseconds.
    pub rtt_us: u32,
    /// Where the socket's `history` comes from.
    pub history_source: HistorySource,
    /// The state the captured segments put this socket in (`None` without a capture, or before
    /// the capture saw its connection open).
    pub state_from_segments: Option<TcpState>,
    /// The segment that put it there.
    pub state_from_segments_cause: Option<StateCause>,
    /// `TCP_INFO`'s state (`state`) is not the one the segments imply: shown, never hidden.
    pub disagreement: bool,
    /// The states `TCP_INFO` reported at each probe: the check on a history from segments.
    pub sampled_history: Vec<StateChange>,
}

/// Where a state history comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorySource {
    /// `TCP_INFO` read at each probe: a state that lasts less than a probe apart is missed.
    #[default]
    Sampled,
    /// The captured segments (every transition, with the segment that caused it), starting from
    /// the state `socket()` created (`CLOSE`) for the side that opened the connection.
    Segments,
}

impl HistorySource {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sampled => "sampled",
            Self::Segments => "segments",
        }
    }
}

/// The captured segment that caused a state: its flags, whether the socket `sent` or received it,
/// and its time (`t_us`, as in `segments`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateCause {
    pub flags: &'static str,
    pub sent: bool,
    pub t_us: u64,
}

/// The state history of a 4-tuple only the kernel still holds, from its captured segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelOnlyHistory {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub history: Vec<StateChange>,
    pub state_from_segments: TcpState,
    pub state_from_segments_cause: StateCause,
    /// The kernel's state (`sock_diag`, in `kernel_only`) is not the one the segments imply.
    pub disagreement: bool,
}

/// Which network the lab's sockets live in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The machine's own loopback (today's behaviour).
    #[default]
    Host,
    /// A network namespace of sockscope's own, with its own loopback.
    Private,
    /// Two hosts (network namespaces `a` and `b`), joined by sockscope relaying between their
    /// TUN devices.
    Wire,
}

impl Network {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Private => "private",
            Self::Wire => "wire",
        }
    }
}

/// One of the two hosts of `--net wire`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WireHost {
    A,
    B,
}

impl WireHost {
    pub const BOTH: [Self; 2] = [Self::A, Self::B];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
        }
    }

    /// `a` or `b` (case-insensitive).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "a" | "A" => Some(Self::A),
            "b" | "B" => Some(Self::B),
            _ => None,
        }
    }

    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// One TCP segment or UDP datagram the capture saw, in capture order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The connection's name: the lab name of the side that opened it (the SYN's sender), else of
    /// the other side, else `ADDR:PORT-ADDR:PORT`.
    pub conn: Arc<str>,
    /// Microseconds since the capture's first segment (the kernel's receive timestamps).
    pub t_us: u64,
    pub proto: Proto,
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// Lab names of the sender and receiver, where the lab owns (or owned) them.
    pub from_name: Option<Arc<str>>,
    pub to_name: Option<Arc<str>>,
    /// `SYN`, `SYN-ACK`, `ACK`, `PSH-ACK`, `FIN-ACK`, `RST-ACK`, ...; empty for UDP.
    pub flags: &'static str,
    /// The TCP flag bits themselves (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    pub flag_bits: u8,
    pub seq: u32,
    pub ack: u32,
    /// Sequence number relative to the sender's initial one (the SYN is 0).
    pub rel_seq: u32,
    /// Acknowledgment relative to the receiver's initial sequence number (0 without ACK).
    pub rel_ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// The window field as sent (not scaled).
    pub win: u16,
    pub retransmission: bool,
    /// The first payload bytes, escaped (nothing a peer sends reaches the terminal raw); `None`
    /// for a segment without payload.
    pub preview: Option<Arc<str>>,
    /// Segments of this connection the ring dropped just before this one.
    pub dropped_before: u64,
    /// `--net wire`: the number the wire gave this segment (`wire deliver ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_id: Option<u64>,
    /// `--net wire`: the segment has not arrived (held, delayed) or never will (dropped); `None`
    /// once delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire: Option<WireMark>,
    /// `--net wire` with NAT rules: which copy of a rewritten packet this is. The wire files a
    /// packet the NAT rewrote twice: as sent (`sent`, the sender's tuple) and as delivered
    /// (`rewritten`, the receiver's tuple), so each host's connection is complete on the ladder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<NatSide>,
    /// `--net wire`: why the NAT dropped this segment (`no_rule`, `no_connection`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_drop: Option<&'static str>,
}

/// Which copy of a packet the NAT rewrote a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NatSide {
    /// As its sender sent it (the tuple on the sender's host).
    Sent,
    /// As the other host received it, after the rewrite.
    Rewritten,
}

/// Where a segment the wire has not delivered is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WireMark {
    /// Held until `wire deliver` (or `wire drop`).
    Held,
    /// On its way, for the one-way delay.
    Delayed,
    /// Thrown away by the wire (`wire drop`, or the loss rate).
    Dropped,
}

impl WireMark {
    /// Still on its way to the receiver: drawn in flight.
    #[must_use]
    pub fn in_flight(self) -> bool {
        matches!(self, Self::Held | Self::Delayed)
    }
}

impl Segment {
    #[must_use]
    pub fn has_flag(&self, bit: u8) -> bool {
        self.flag_bits & bit != 0
    }
}

/// One connection the capture saw: both endpoints and how much of it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapturedConnection {
    pub conn: Arc<str>,
    pub proto: Proto,
    /// The opening side (when the capture saw the SYN), then the other.
    pub a: SocketAddr,
    pub b: SocketAddr,
    pub a_name: Option<Arc<str>>,
    pub b_name: Option<Arc<str>>,
    /// Segments kept in the snapshot.
    pub segments: u64,
    /// Segments dropped from this connection's ring.
    pub dropped: u64,
}

/// Whether segments are being captured, and if not, why and what to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaptureInfo {
    pub network: Network,
    pub active: bool,
    /// Why there is no capture (in the user's language).
    pub reason: Option<String>,
    /// What to do about it.
    pub remedy: Option<String>,
    /// Segments captured since the lab started.
    pub captured: u64,
    /// Packets the kernel dropped because the capture fell behind (`PACKET_STATISTICS`).
    pub kernel_drops: u64,
    /// Segments dropped from the per-connection rings.
    pub ring_drops: u64,
    /// Whole connections forgotten to keep the capture bounded.
    pub connections_evicted: u64,
    pub connections: Vec<CapturedConnection>,
}

impl Snapshot {
    /// The captured segments of one connection (by its `conn` name), in order.
    pub fn segments_of<'a>(&'a self, conn: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments
            .iter()
            .filter(move |segment| &*segment.conn == conn)
    }
}
