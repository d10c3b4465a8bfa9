//! One captured IP packet -> the TCP segment or UDP datagram it carries, with `etherparse`.
//!
//! `etherparse` because it is zero-copy (slices into the capture buffer, no allocation per packet),
//! has no dependencies, handles IPv4 and IPv6 (with extension headers) alike, and has a lax mode
//! that still decodes a packet the capture's snap length cut short: the header lengths come from
//! the packet, the payload length from the IP header, not from how much was copied.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

use crate::model::Proto;

/// How many payload bytes a segment keeps for the ladder's preview.
pub const PREVIEW_LEN: usize = 32;

/// TCP flag bits, as in the header's 13th byte.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// What one packet said, before it is put in its connection's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub proto: Proto,
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// TCP flag bits (0 for UDP).
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// The advertised window as sent (not scaled).
    pub win: u16,
    /// Payload bytes on the wire (not only those captured).
    pub len: u32,
    /// The first payload bytes, at most [`PREVIEW_LEN`].
    pub preview: &'a [u8],
}

/// Decodes `packet` (starting at the IP header; `wire_len` is the packet's whole length). `None`
/// for anything that is not a TCP or UDP packet with complete headers.
#[must_use]
pub fn decode(packet: &[u8], wire_len: usize) -> Option<Decoded<'_>> {
    let sliced = LaxSlicedPacket::from_ip(packet).ok()?;
    let (src, dst, payload) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
            ip.payload(),
        ),
        LaxNetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
            ip.payload(),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    // The transport header starts where the captured IP payload starts; the IP header says how
    // long the whole IP payload was.
    let transport_at = packet.len() - payload.payload.len();
    // A length field of 0 (BIG TCP's IPv4 GSO packets, IPv6 jumbograms): trust the packet's length.
    let declared = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => Some(usize::from(ip.header().total_len())).filter(|&n| n > 0),
        LaxNetSlice::Ipv6(ip) => Some(usize::from(ip.header().payload_length()))
            .filter(|&n| n > 0)
            .map(|n| n + 40),
        LaxNetSlice::Arp(_) => return None,
    };
    let ip_len = declared.unwrap_or(wire_len);
    let transport_len = ip_len.saturating_sub(transport_at);
    match sliced.transport? {
        TransportSlice::Tcp(tcp) => {
            let header = tcp.header_len();
            let bits = tcp.slice()[13];
            Some(Decoded {
                proto: Proto::Tcp,
                from: SocketAddr::new(src, tcp.source_port()),
                to: SocketAddr::new(dst, tcp.destination_port()),
                flags: bits,
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                win: tcp.window_size(),
                len: transport_len.saturating_sub(header) as u32,
                preview: preview(tcp.payload()),
            })
        }
        TransportSlice::Udp(udp) => Some(Decoded {
            proto: Proto::Udp,
            from: SocketAddr::new(src, udp.source_port()),
            to: SocketAddr::new(dst, udp.destination_port()),
            flags: 0,
            seq: 0,
            ack: 0,
            win: 0,
            len: transport_len.saturating_sub(8) as u32,
            preview: preview(udp.payload()),
        }),
        _ => None,
    }
}

fn preview(payload: &[u8]) -> &[u8] {
    &payload[..payload.len().min(PREVIEW_LEN)]
}

/// The flags as the ladder names them: `SYN`, `SYN-ACK`, `PSH-ACK`, `FIN-ACK`, `RST`, `ACK` (one
/// shared string per combination, so a segment carries no allocation for them).
#[must_use]
pub fn flag_names(bits: u8) -> &'static str {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| (0..=u8::MAX).map(spell_flags).collect())[usize::from(bits)].as_str()
}

fn spell_flags(bits: u8) -> String {
    const ORDER: [(u8, &str); 8] = [
        (flags::SYN, "SYN"),
        (flags::FIN, "FIN"),
        (flags::RST, "RST"),
        (flags::PSH, "PSH"),
        (flags::URG, "URG"),
        (flags::ACK, "ACK"),
        (flags::ECE, "ECE"),
        (flags::CWR, "CWR"),
    ];
    ORDER
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn build_tcp(payload: &[u8]) -> Vec<u8> {
        let builder = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(40000, 5555, 1000, 65495)
            .syn()
            .ack(77);
        let mut packet = Vec::new();
        builder.write(&mut packet, payload).expect("writes");
        packet
    }

    #[test]
    fn a_packet_cut_by_the_snap_length_keeps_its_real_payload_length() {
        let packet = build_tcp(&[b'x'; 1000]);
        let whole = decode(&packet, packet.len()).expect("decodes");
        let cut = decode(&packet[..100], packet.len()).expect("decodes cut");
        assert_eq!(whole.len, 1000);
        assert_eq!(cut.len, 1000);
        assert_eq!(cut.preview.len(), PREVIEW_LEN);
        assert_eq!(cut.from, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(cut.to, "127.0.0.2:5555".parse().unwrap());
        assert_eq!((cut.seq, cut.ack, cut.win), (1000, 77, 65495));
        assert_eq!(flag_names(cut.flags), "SYN-ACK");
    }

    #[test]
    fn ipv6_udp_decodes_and_garbage_does_not() {
        let builder = PacketBuilder::ipv6([0; 16], [0; 16], 64).udp(1, 2);
        let mut packet = Vec::new();
        builder.write(&mut packet, b"hello").expect("writes");
        let decoded = decode(&packet, packet.len()).expect("decodes");
        assert_eq!((decoded.proto, decoded.len), (Proto::Udp, 5));
        assert_eq!(decoded.preview, b"hello");
        assert!(decode(&[0x45, 0, 0], 3).is_none());
        assert!(decode(&[], 0).is_none());
    }

    #[test]
    fn flags_read_in_ladder_order() {
        assert_eq!(flag_names(flags::SYN), "SYN");
        assert_eq!(flag_names(flags::FIN | flags::ACK), "FIN-ACK");
        assert_eq!(flag_names(flags::PSH | flags::ACK), "PSH-ACK");
        assert_eq!(flag_names(0), "");
    }
}
