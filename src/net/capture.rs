//! The capture: an `AF_PACKET` socket on `lo` whose packets become [`Flows`].
//!
//! Why a packet socket with a BPF filter and `recvmsg`, not a `PACKET_MMAP` ring: a lab's traffic
//! is handshakes, short exchanges and now and then a bulk transfer, and on loopback a bulk transfer
//! moves 64 KiB per segment, so the segment rate stays low (a few tens of thousands a second at
//! most). The filter already keeps every other packet of the machine in the kernel and copies only
//! [`SNAP_LEN`](super::filter::SNAP_LEN) bytes of the lab's; one `recvmsg` per segment then costs
//! about a microsecond (see `benches/capture.rs`), and the kernel stamps each packet, so reading late
//! loses no timing. A mapped ring would save that syscall but pins megabytes per lab and needs
//! `unsafe` ring-walking code. Drops are not hidden either way: `PACKET_STATISTICS` counts them.
//!
//! The descriptor is non-blocking; register [`Capture::raw_fd`] with mio (`SourceFd`) and call
//! [`Capture::drain`] when it is readable.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::decode;
use super::filter::{self, MAX_PORTS, Scope};
use super::flows::Flows;
use crate::kernel::packet::{PacketSocket, interface_index};

/// At most this many packets per [`Capture::drain`], so a flood never stalls the event loop; the
/// socket stays readable and the next wake-up reads on.
pub const DRAIN_BUDGET: usize = 4096;

/// Why the capture could not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// `EPERM`/`EACCES`: no `CAP_NET_RAW` in this network namespace.
    NoPermission,
    /// Anything else (no `lo`, no packet sockets in this kernel), with the system's message.
    Failed(String),
}

pub struct Capture {
    /// `None` for the wire's capture: sockscope relays every packet itself and files it with
    /// [`Capture::record`].
    socket: Option<PacketSocket>,
    scope: Scope,
    flows: Flows,
    /// Kernel timestamp of the first segment: every `t_us` counts from it.
    first: Option<Duration>,
    kernel_drops: u64,
    /// Packets that passed the filter but were not TCP/UDP with whole headers.
    pub undecoded: u64,
    buffer: Vec<u8>,
}

impl Capture {
    /// Opens the capture on `lo` for `scope`.
    pub fn open(scope: Scope) -> Result<Self, OpenError> {
        let scope = bounded(scope);
        let classify = |error: io::Error| match error.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => OpenError::NoPermission,
            _ => OpenError::Failed(error.to_string()),
        };
        let ifindex = interface_index("lo").map_err(classify)?;
        let socket = PacketSocket::open(ifindex, &filter::program(&scope)).map_err(classify)?;
        // A larger receive buffer rides out bursts between two wake-ups (the kernel doubles it and
        // caps it at net.core.rmem_max); failing to grow it is not an error.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
        Ok(Self {
            socket: Some(socket),
            scope,
            flows: Flows::default(),
            first: None,
            kernel_drops: 0,
            undecoded: 0,
            buffer: vec![0; filter::SNAP_LEN as usize],
        })
    }

    /// A capture with no socket of its own, fed by the wire ([`Capture::record`]).
    #[must_use]
    pub fn detached() -> Self {
        Self {
            socket: None,
            scope: Scope::All,
            flows: Flows::default(),
            first: None,
            kernel_drops: 0,
            undecoded: 0,
            buffer: Vec::new(),
        }
    }

    #[must_use]
    pub fn raw_fd(&self) -> Option<RawFd> {
        self.socket.as_ref().map(PacketSocket::raw_fd)
    }

    /// Files one IP packet seen at `time` (since the Unix epoch); returns its index in capture
    /// order and whether it is a retransmission, or `None` for a packet that is no TCP segment or
    /// UDP datagram.
    pub fn record(
        &mut self,
        packet: &[u8],
        wire_len: usize,
        time: Duration,
    ) -> Option<(u64, bool)> {
        let Some(decoded) = decode::decode(packet, wire_len) else {
            self.undecoded += 1;
            return None;
        };
        let first = *self.first.get_or_insert(time);
        let t_us = time.saturating_sub(first).as_micros() as u64;
        let index = self.flows.recorded();
        let retransmission = self.flows.record(&decoded, t_us);
        Some((index, retransmission))
    }

    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Narrows (or widens) the filter to these ports; a no-op when they are the current ones.
    pub fn set_scope(&mut self, scope: Scope) -> io::Result<()> {
        let scope = bounded(scope);
        if scope != self.scope
            && let Some(socket) = &self.socket
        {
            socket.attach_filter(&filter::program(&scope))?;
            self.scope = scope;
        }
        Ok(())
    }

    /// Reads what the kernel has queued (at most [`DRAIN_BUDGET`] packets) into the flows; returns
    /// how many packets it read.
    pub fn drain(&mut self) -> usize {
        let Some(socket) = self.socket.take() else {
            return 0;
        };
        let mut read = 0;
        let mut buffer = std::mem::take(&mut self.buffer);
        while read < DRAIN_BUDGET {
            let Ok(received) = socket.recv(&mut buffer) else {
                break;
            };
            read += 1;
            // The filter drops the leaving copy already; this guards a kernel that ignored it.
            if received.outgoing {
                continue;
            }
            let time = received.kernel_time.unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
            });
            self.record(&buffer[..received.captured], received.wire_len, time);
        }
        self.buffer = buffer;
        self.socket = Some(socket);
        read
    }

    /// The kernel timestamp (since the Unix epoch) every `t_us` counts from.
    #[must_use]
    pub fn first_time(&self) -> Option<Duration> {
        self.first
    }

    #[must_use]
    pub fn flows(&self) -> &Flows {
        &self.flows
    }

    /// Packets the kernel dropped because the socket's buffer was full, since the capture opened.
    pub fn kernel_drops(&mut self) -> u64 {
        if let Some(Ok((_, drops))) = self.socket.as_ref().map(PacketSocket::statistics) {
            self.kernel_drops += u64::from(drops);
        }
        self.kernel_drops
    }

    /// Forgets every segment (a reset lab starts a new ladder).
    pub fn clear(&mut self) {
        self.drain();
        self.flows.clear();
        self.first = None;
    }
}

/// A port set too large for the filter becomes "all TCP and UDP on lo".
fn bounded(scope: Scope) -> Scope {
    match scope {
        Scope::Ports(ports) if ports.len() > MAX_PORTS => Scope::All,
        other => other,
    }
}

/// The ports of a set of endpoints, for [`Scope::Ports`] (port 0, "not bound yet", is left out).
pub fn ports_of(ports: impl IntoIterator<Item = u16>) -> Scope {
    Scope::Ports(
        ports
            .into_iter()
            .filter(|&port| port != 0)
            .collect::<BTreeSet<u16>>(),
    )
}
