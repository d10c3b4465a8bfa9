//! A `struct sockaddr` from the program's memory, written the way the lab writes addresses:
//! `127.0.0.1:8080`, `[::1]:80`, a Unix path, `@abstract`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::escape;

/// The address, if it is an IPv4 or IPv6 one.
#[must_use]
pub fn inet(bytes: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?));
    match family {
        libc::AF_INET if bytes.len() >= 8 => {
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        libc::AF_INET6 if bytes.len() >= 24 => {
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let flow = u32::from_be_bytes(bytes[4..8].try_into().ok()?);
            let octets: [u8; 16] = bytes[8..24].try_into().ok()?;
            let scope = bytes
                .get(24..28)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(octets),
                port,
                flow,
                scope,
            )))
        }
        _ => None,
    }
}

/// The address in `bytes` (already cut to the length the program or the kernel gave).
#[must_use]
pub fn format(bytes: &[u8]) -> String {
    if bytes.len() < 2 {
        return "{}".to_owned();
    }
    if let Some(address) = inet(bytes) {
        return address.to_string();
    }
    let family = i32::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
    match family {
        libc::AF_UNIX => unix_path(&bytes[2..]),
        libc::AF_UNSPEC => "AF_UNSPEC".to_owned(),
        libc::AF_NETLINK if bytes.len() >= 12 => {
            let pid = u32::from_ne_bytes(bytes[4..8].try_into().unwrap_or_default());
            format!("netlink:{pid}")
        }
        other => format!("{{{}}}", super::names::family(other)),
    }
}

/// `sun_path`: a path up to its NUL, an abstract name (leading NUL) as `@name`, or an unnamed
/// socket as `{AF_UNIX}`. Escaped: the name is the program's.
fn unix_path(path: &[u8]) -> String {
    match path.first() {
        None => "{AF_UNIX}".to_owned(),
        Some(0) => {
            let name = &path[1..];
            format!("@{}", escape::visible(&String::from_utf8_lossy(name)))
        }
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            escape::visible(&String::from_utf8_lossy(&path[..end]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; 16];
        bytes[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        bytes[2..4].copy_from_slice(&port.to_be_bytes());
        bytes[4..8].copy_from_slice(&ip);
        bytes
    }

    #[test]
    fn inet_addresses_read_as_ip_and_port() {
        assert_eq!(format(&v4([127, 0, 0, 1], 8080)), "127.0.0.1:8080");
        let mut six = vec![0u8; 28];
        six[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        six[2..4].copy_from_slice(&443u16.to_be_bytes());
        six[23] = 1;
        assert_eq!(format(&six), "[::1]:443");
        // Cut short by a small addrlen: not an address.
        assert_eq!(format(&v4([127, 0, 0, 1], 1)[..6]), "{AF_INET}");
    }

    #[test]
    fn unix_names_are_paths_or_abstract_and_escaped() {
        let mut path = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        path.extend_from_slice(b"/tmp/s\0junk");
        assert_eq!(format(&path), "/tmp/s");
        let mut abstract_ = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abstract_.extend_from_slice(b"\0x\x1b]0;");
        assert_eq!(format(&abstract_), "@x\\x1b]0;");
        assert_eq!(format(&(libc::AF_UNIX as u16).to_ne_bytes()), "{AF_UNIX}");
    }
}
