//! One raw IPv4 packet as the NAT sees it: validated with `etherparse` (read-only), then its
//! addresses and ports rewritten in place with incremental checksum updates.
//!
//! Why incremental updates (RFC 1624, equation 3) rather than recomputing with etherparse:
//! - the cost does not grow with the payload (a rewrite touches 6 bytes and 3 checksums, whatever
//!   the packet's size), and nothing is re-serialized;
//! - a checksum that was wrong stays wrong: the receiving kernel drops a corrupted segment as it
//!   would have without the router, where a recomputation would bless the corruption;
//! - a UDP datagram sent without a checksum (0) keeps having none (RFC 768), and a computed 0 is
//!   sent as 0xFFFF.
//!
//! The tests check every rewrite against etherparse's own from-scratch checksums.

use std::net::{Ipv4Addr, SocketAddrV4};

use etherparse::{IpNumber, Ipv4Slice, TcpHeaderSlice, UdpHeaderSlice};

use super::verdict::{DropReason, Flow, Pass};
use crate::model::Proto;

/// Offsets of the IPv4 header's fields.
const IP_CHECKSUM: usize = 10;
const IP_SRC: usize = 12;
const IP_DST: usize = 16;
/// Offsets in the TCP and UDP headers.
const L4_SRC_PORT: usize = 0;
const L4_DST_PORT: usize = 2;
const TCP_CHECKSUM: usize = 16;
const UDP_CHECKSUM: usize = 6;

/// The TCP flags byte (header offset 13), as the table reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;

    #[must_use]
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }

    #[must_use]
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }

    #[must_use]
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }

    #[must_use]
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A packet that can be translated: where its fields are, and what they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub flow: Flow,
    /// The IPv4 total length (what the table counts as bytes).
    pub total_len: usize,
    /// Where the TCP or UDP header starts.
    pub l4_offset: usize,
    /// `None` for UDP.
    pub tcp: Option<TcpFlags>,
    /// The UDP datagram carries no checksum (the field is 0).
    pub udp_no_checksum: bool,
    /// The IPv4 header checksum verifies.
    pub header_checksum_ok: bool,
}

/// What a look at the packet found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looked {
    Translatable(Parsed),
    /// Not something NAT rewrites: pass it on.
    Pass(Pass),
    /// IPv4 addressed between `src` and `dst` (the first 20 bytes were there), but not
    /// translatable: whether it is dropped depends on whether it concerns a rule.
    Broken {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        reason: DropReason,
    },
    /// Not even a whole IPv4 base header, or one that contradicts itself.
    Malformed(DropReason),
}

/// Reads a packet without changing it. Never panics, whatever the bytes.
#[must_use]
pub fn look(packet: &[u8]) -> Looked {
    match packet.first() {
        Some(byte) if byte >> 4 == 4 => {}
        _ => return Looked::Pass(Pass::NotIpv4),
    }
    if packet.len() < 20 {
        return Looked::Malformed(DropReason::Truncated);
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let broken = |reason| Looked::Broken { src, dst, reason };
    let ip = match Ipv4Slice::from_slice(packet) {
        Ok(ip) => ip,
        Err(error) => {
            use etherparse::err::ipv4::SliceError;
            return match error {
                SliceError::Len(_) => broken(DropReason::Truncated),
                SliceError::Header(_) | SliceError::Exts(_) => broken(DropReason::Malformed),
            };
        }
    };
    let header = ip.header();
    if header.is_fragmenting_payload() {
        return broken(DropReason::Fragment);
    }
    let header_len = header.slice().len();
    let total_len = usize::from(header.total_len());
    let header_checksum_ok = ipv4_header_sum(header.slice()) == 0xFFFF;
    let payload = ip.payload().payload;
    let proto = match header.protocol() {
        IpNumber::TCP => Proto::Tcp,
        IpNumber::UDP => Proto::Udp,
        other => return Looked::Pass(Pass::OtherProtocol(other.0)),
    };
    let (src_port, dst_port, tcp, udp_no_checksum) = match proto {
        Proto::Tcp => match TcpHeaderSlice::from_slice(payload) {
            Ok(tcp) => (
                tcp.source_port(),
                tcp.destination_port(),
                Some(TcpFlags(tcp.slice()[13])),
                false,
            ),
            Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => {
                return broken(DropReason::Truncated);
            }
            Err(etherparse::err::tcp::HeaderSliceError::Content(_)) => {
                return broken(DropReason::Malformed);
            }
        },
        Proto::Udp => match UdpHeaderSlice::from_slice(payload) {
            Ok(udp) => {
                let length = usize::from(udp.length());
                if length < 8 || length > payload.len() {
                    return broken(DropReason::Malformed);
                }
                (
                    udp.source_port(),
                    udp.destination_port(),
                    None,
                    udp.checksum() == 0,
                )
            }
            Err(_) => return broken(DropReason::Truncated),
        },
    };
    Looked::Translatable(Parsed {
        flow: Flow {
            proto,
            src: SocketAddrV4::new(src, src_port),
            dst: SocketAddrV4::new(dst, dst_port),
        },
        total_len,
        l4_offset: header_len,
        tcp,
        udp_no_checksum,
        header_checksum_ok,
    })
}

/// Which end of the packet a rewrite changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Source,
    Destination,
}

/// Writes `to` as the packet's source or destination address and port, and updates the IPv4
/// header checksum and the TCP/UDP checksum (whose pseudo-header holds the addresses).
/// `parsed` must come from [`look`] on this very packet.
pub fn rewrite(packet: &mut [u8], parsed: &Parsed, end: End, to: SocketAddrV4) {
    let (ip_at, port_at) = match end {
        End::Source => (IP_SRC, L4_SRC_PORT),
        End::Destination => (IP_DST, L4_DST_PORT),
    };
    let port_at = parsed.l4_offset + port_at;
    let old_ip: [u8; 4] = packet[ip_at..ip_at + 4].try_into().expect("4 bytes");
    let old_port: [u8; 2] = packet[port_at..port_at + 2].try_into().expect("2 bytes");
    let new_ip = to.ip().octets();
    let new_port = to.port().to_be_bytes();

    let ip_checksum = read_u16(packet, IP_CHECKSUM);
    write_u16(packet, IP_CHECKSUM, adjust(ip_checksum, &old_ip, &new_ip));
    packet[ip_at..ip_at + 4].copy_from_slice(&new_ip);

    let checksum_at = parsed.l4_offset
        + match parsed.flow.proto {
            Proto::Tcp => TCP_CHECKSUM,
            Proto::Udp => UDP_CHECKSUM,
        };
    let keep_zero = parsed.flow.proto == Proto::Udp && parsed.udp_no_checksum;
    if !keep_zero {
        let checksum = read_u16(packet, checksum_at);
        let checksum = adjust(checksum, &old_ip, &new_ip);
        let mut checksum = adjust(checksum, &old_port, &new_port);
        if parsed.flow.proto == Proto::Udp && checksum == 0 {
            // In UDP, 0 means "no checksum"; the same value in one's complement is 0xFFFF.
            checksum = 0xFFFF;
        }
        write_u16(packet, checksum_at, checksum);
    }
    packet[port_at..port_at + 2].copy_from_slice(&new_port);
}

/// RFC 1624, equation 3: `HC' = ~(~HC + ~m + m')`, for every 16-bit word `m` of `old` replaced by
/// the word `m'` at the same place in `new` (both of even, equal length).
#[must_use]
pub fn adjust(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    let mut sum = u32::from(!checksum);
    for (old, new) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        sum += u32::from(!u16::from_be_bytes([old[0], old[1]]));
        sum += u32::from(u16::from_be_bytes([new[0], new[1]]));
    }
    !fold(sum)
}

/// The one's-complement sum of the header's 16-bit words: 0xFFFF when its checksum verifies.
fn ipv4_header_sum(header: &[u8]) -> u16 {
    let sum = header
        .chunks_exact(2)
        .map(|word| u32::from(u16::from_be_bytes([word[0], word[1]])))
        .sum();
    fold(sum)
}

/// Folds the carries of a 32-bit sum back in (end-around carry).
fn fold(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

fn read_u16(packet: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([packet[at], packet[at + 1]])
}

fn write_u16(packet: &mut [u8], at: usize, value: u16) {
    packet[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1624_example_holds() {
        // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 changed to m' = 0x3285: HC' = 0x0000.
        assert_eq!(adjust(0xDD2F, &[0x55, 0x55], &[0x32, 0x85]), 0x0000);
    }

    #[test]
    fn only_whole_headers_are_translatable() {
        assert_eq!(look(&[]), Looked::Pass(Pass::NotIpv4));
        assert_eq!(look(&[0x60; 40]), Looked::Pass(Pass::NotIpv4));
        assert_eq!(look(&[0x45; 19]), Looked::Malformed(DropReason::Truncated));
    }
}
