//! [`Wire`]: sockscope as the wire between hosts `a` and `b`. Both TUN descriptors are sources of
//! the runtime's one poll; every packet read from one host goes through the [`Controls`] and is
//! written to the other host's TUN device (now, after its delay, when released, or never). Each
//! TCP segment and UDP datagram is filed in the lab's capture as it enters the wire, so the
//! ladder shows it at once, drawn in flight until it is delivered.
//!
//! Nothing blocks: the descriptors are non-blocking, a read turn stops at [`READ_BUDGET`] packets
//! (the lab goes on at the next turn, so keys and frames get theirs), and a delay is a deadline
//! the loop's timeout honours ([`Wire::next_due`]), never a sleep.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::controls::{Controls, Fate, Packet, Refusal};
use super::hosts::{INTERFACE, WireHosts};
use crate::command::{Direction, NatCommand, WireCommand, percent_text};
use crate::model::{WireHost, WireHostInfo, WireInfo, WireMark};
use crate::net::lab_capture::LabCapture;
use crate::net::nat::{self, Nat, NatView, Verdict};

/// Packets read from one host per turn of the loop.
pub const READ_BUDGET: usize = 512;
/// The largest IP packet a TUN device hands over (its MTU is 1500; this leaves room for any).
const PACKET_MAX: usize = 65_535;

/// The NAT's name for a direction across the wire (the two enums are kept apart: the command
/// language's is about the wire's controls, the NAT's about its table).
fn nat_direction(direction: Direction) -> nat::Direction {
    match direction {
        Direction::AToB => nat::Direction::AToB,
        Direction::BToA => nat::Direction::BToA,
    }
}

/// The wire between the two hosts.
pub struct Wire {
    hosts: &'static WireHosts,
    controls: Controls,
    /// Port forwarding (`wire nat ...`): with no rule, every packet passes untouched.
    nat: Nat,
    buffer: Vec<u8>,
    /// A host whose device still had packets when its read turn ended.
    unread: [bool; 2],
    /// Writes the receiving host's device refused (counted as dropped).
    pub write_errors: u64,
    /// Connections of a lab since reset (`from`, `to`): what their closed or orphaned sockets
    /// still send (a FIN, an RST, a `LAST_ACK` end's retransmission) passes as on a cable, unrecorded,
    /// so it never takes the place of the replayed lab's segments in the hold.
    stale: HashSet<(SocketAddr, SocketAddr)>,
}

fn host_index(host: WireHost) -> usize {
    match host {
        WireHost::A => 0,
        WireHost::B => 1,
    }
}

fn direction_from(host: WireHost) -> Direction {
    match host {
        WireHost::A => Direction::AToB,
        WireHost::B => Direction::BToA,
    }
}

impl Wire {
    #[must_use]
    pub fn new(hosts: &'static WireHosts) -> Self {
        Self {
            hosts,
            controls: Controls::default(),
            nat: Nat::new(),
            buffer: vec![0; PACKET_MAX],
            unread: [false; 2],
            write_errors: 0,
            stale: HashSet::new(),
        }
    }

    #[must_use]
    pub fn hosts(&self) -> &'static WireHosts {
        self.hosts
    }

    /// Registers both TUN descriptors for readability with the runtime's poll.
    pub fn register(&self, registry: &Registry, tokens: [Token; 2]) -> io::Result<()> {
        for (host, token) in WireHost::BOTH.into_iter().zip(tokens) {
            let fd = self.hosts.host(host).tun.as_raw_fd();
            registry.register(&mut SourceFd(&fd), token, Interest::READABLE)?;
        }
        Ok(())
    }

    /// Reads what host `from` sent, up to [`READ_BUDGET`] packets; returns whether any came.
    pub fn read_from(&mut self, from: WireHost, capture: &mut LabCapture) -> bool {
        let now = Instant::now();
        let mut tun: &File = &self.hosts.host(from).tun;
        let mut read = 0;
        self.unread[host_index(from)] = false;
        while read < READ_BUDGET {
            let length = match tun.read(&mut self.buffer) {
                Ok(length) => length,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: the device is empty. Another error: nothing to read either.
                Err(_) => break,
            };
            read += 1;
            let id = self.controls.take_id();
            let bytes = self.buffer[..length].to_vec();
            if !self.stale.is_empty()
                && crate::net::decode::decode(&bytes, length)
                    .is_some_and(|seen| self.stale.contains(&(seen.from, seen.to)))
            {
                let packet = Packet {
                    id,
                    direction: direction_from(from),
                    bytes,
                    segment: None,
                    retransmission: false,
                };
                self.write(packet, capture);
                continue;
            }
            let recorded = capture.record_wire(&bytes, id);
            let packet = Packet {
                id,
                direction: direction_from(from),
                bytes,
                segment: recorded.map(|(index, _)| index),
                retransmission: recorded.is_some_and(|(_, retransmission)| retransmission),
            };
            let fate = self.controls.arrive(packet, now);
            self.settle(fate, capture);
        }
        if read == READ_BUDGET {
            self.unread[host_index(from)] = true;
        }
        read > 0
    }

    /// Whether a host's device may still hold packets (its read turn ended on the budget).
    #[must_use]
    pub fn has_unread(&self) -> bool {
        self.unread.iter().any(|&unread| unread)
    }

    /// Reads on where a read turn stopped on its budget.
    pub fn continue_reading(&mut self, capture: &mut LabCapture) -> bool {
        let mut any = false;
        for host in WireHost::BOTH {
            if self.unread[host_index(host)] {
                any |= self.read_from(host, capture);
            }
        }
        any
    }

    /// When the next delayed packet is due.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.controls.next_due()
    }

    /// Delivers the delayed packets that are due; returns whether there were any.
    pub fn deliver_due(&mut self, now: Instant, capture: &mut LabCapture) -> bool {
        let due = self.controls.due(now);
        let any = !due.is_empty();
        for packet in due {
            self.write(packet, capture);
        }
        any
    }

    /// Carries out what the controls decided about a packet.
    fn settle(&mut self, fate: Fate, capture: &mut LabCapture) {
        match fate {
            Fate::Deliver(packet) => self.write(packet, capture),
            Fate::Wait(segment, mark) => {
                if let Some(index) = segment {
                    capture.mark_wire(index, Some(mark));
                }
            }
            Fate::Dropped(segment) => {
                if let Some(index) = segment {
                    capture.mark_wire(index, Some(WireMark::Dropped));
                }
            }
        }
    }

    /// Hands a packet to the other host.
    fn write(&mut self, mut packet: Packet, capture: &mut LabCapture) {
        let to = packet.direction.from().other();
        // NAT stage: every packet (IPv4: the hosts have no other addresses) passes here, with its
        // direction, just before it is written to the other host's TUN device: in delivery order,
        // so the table follows each connection as its receiver sees it.
        match self.nat.translate(
            &mut packet.bytes,
            nat_direction(packet.direction),
            Instant::now(),
        ) {
            Verdict::Dropped(reason) => {
                self.controls.dropped += 1;
                if let Some(index) = packet.segment {
                    capture.mark_nat_drop(index, reason.word());
                }
                return;
            }
            // The receiver's copy, with the receiver's tuple: the ladder shows both sides.
            Verdict::Rewritten { .. } => {
                capture.record_rewritten(&packet.bytes, packet.segment);
            }
            Verdict::Untouched(_) => {}
        }
        let mut tun: &File = &self.hosts.host(to).tun;
        let written = loop {
            match tun.write(&packet.bytes) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let mark = if written.is_ok() {
            None
        } else {
            self.write_errors += 1;
            self.controls.dropped += 1;
            Some(WireMark::Dropped)
        };
        if let Some(index) = packet.segment {
            capture.mark_wire(index, mark);
        }
    }

    /// Runs one `wire` control.
    pub fn control(
        &mut self,
        command: &WireCommand,
        capture: &mut LabCapture,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        match *command {
            WireCommand::Hold(on) => {
                for fate in self.controls.set_hold(on, now) {
                    self.settle(fate, capture);
                }
            }
            WireCommand::Deliver(id) => {
                let fate = self.controls.deliver(id, now)?;
                self.settle(fate, capture);
            }
            WireCommand::Drop(id) => {
                let fate = self.controls.drop_held(id)?;
                self.settle(fate, capture);
            }
            WireCommand::Delay(delay, direction) => self.controls.set_delay(delay, direction),
            WireCommand::Loss { ppm, seed } => self.controls.set_loss(ppm, seed),
            WireCommand::Reset => {
                for packet in self.controls.reset(now) {
                    self.write(packet, capture);
                }
                // A transparent wire: no forwarding either (what waited went on translated).
                self.nat.clear();
            }
            WireCommand::Nat(nat) => self.nat_control(nat)?,
        }
        Ok(())
    }

    fn nat_control(&mut self, command: NatCommand) -> Result<(), Refusal> {
        match command {
            NatCommand::Add(rule) => self.nat.add_rule(rule).map_err(Refusal::Nat),
            NatCommand::Delete { proto, public } => self
                .nat
                .remove_rule(proto, public)
                .map(drop)
                .map_err(Refusal::Nat),
            NatCommand::Off => {
                self.nat.clear();
                Ok(())
            }
        }
    }

    /// The NAT for the snapshot.
    #[must_use]
    pub fn nat_view(&self) -> NatView {
        self.nat.view(Instant::now())
    }

    /// A reset lab: the wire is transparent again and forgets what waited in it (those segments
    /// belonged to sockets that are gone); the connections in `old` pass untouched from now on.
    pub fn clear(&mut self, old: impl IntoIterator<Item = (SocketAddr, SocketAddr)>) {
        self.controls.reset(Instant::now());
        self.controls.clear();
        self.nat.clear();
        self.stale.extend(old);
    }

    /// The wire for the snapshot.
    #[must_use]
    pub fn info(&self) -> WireInfo {
        let (ppm, seed) = self.controls.loss();
        WireInfo {
            hosts: WireHost::BOTH
                .into_iter()
                .map(|host| {
                    let end = self.hosts.host(host);
                    WireHostInfo {
                        host,
                        address: end.address.to_string(),
                        interface: INTERFACE.to_string_lossy().into_owned(),
                        namespace_inode: end.namespace_inode,
                    }
                })
                .collect(),
            hold: self.controls.hold(),
            held: self.controls.held().map(|packet| packet.id).collect(),
            delayed: self.controls.delayed_count() as u64,
            delay_a_to_b_ms: self.controls.delay(Direction::AToB).as_millis() as u64,
            delay_b_to_a_ms: self.controls.delay(Direction::BToA).as_millis() as u64,
            loss: percent_text(ppm),
            seed,
            relayed: self.controls.relayed,
            dropped: self.controls.dropped,
            lost: self.controls.lost,
        }
    }
}
