//! The hosts' addresses on the wire: `ADDR/PREFIX` inside 198.18.0.0/15 (RFC 2544's range for
//! benchmarking networks, never routed on the internet), so no route the kernel adds for them leads
//! out of it.

use std::fmt;
use std::net::Ipv4Addr;

/// 198.18.0.0/15.
pub const RANGE: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 18, 0, 0), 15);
/// Host `a`'s address unless `--wire-a` says otherwise.
pub const DEFAULT_A: HostAddress = HostAddress {
    address: Ipv4Addr::new(198, 18, 0, 1),
    prefix: 24,
};
/// Host `b`'s address unless `--wire-b` says otherwise.
pub const DEFAULT_B: HostAddress = HostAddress {
    address: Ipv4Addr::new(198, 18, 0, 2),
    prefix: 24,
};
/// The longest prefix that still leaves two host addresses.
const PREFIX_MAX: u8 = 30;

/// An interface address and the length of its network prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostAddress {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

impl HostAddress {
    /// The network this address's prefix covers.
    #[must_use]
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & mask(self.prefix))
    }

    fn is_network_or_broadcast(self) -> bool {
        let host_bits = u32::from(self.address) & !mask(self.prefix);
        host_bits == 0 || host_bits == !mask(self.prefix)
    }

    /// Reads `198.18.0.1/24`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not ADDR/PREFIX (try 198.18.0.1/24)"))?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("'{address}' is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|prefix| (RANGE.1..=PREFIX_MAX).contains(prefix))
            .ok_or_else(|| {
                format!(
                    "'/{prefix}' is not a prefix from /{} to /{PREFIX_MAX}",
                    RANGE.1
                )
            })?;
        let parsed = Self { address, prefix };
        let range = HostAddress {
            address,
            prefix: RANGE.1,
        };
        if range.network() != RANGE.0 {
            return Err(format!(
                "{address} is outside {}/{}, the range the wire uses (no route may lead out)",
                RANGE.0, RANGE.1
            ));
        }
        if parsed.is_network_or_broadcast() {
            return Err(format!(
                "{address} is the network or broadcast address of /{prefix}"
            ));
        }
        Ok(parsed)
    }

    /// Whether two hosts with these addresses reach each other over their connected routes.
    pub fn check_pair(a: Self, b: Self) -> Result<(), String> {
        if a.address == b.address {
            return Err(format!("hosts a and b both have {}", a.address));
        }
        if a.prefix != b.prefix || a.network() != b.network() {
            return Err(format!(
                "{a} and {b} are not in one network: give both the same prefix"
            ));
        }
        Ok(())
    }
}

impl fmt::Display for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_inside_the_test_range() {
        assert_eq!(HostAddress::parse("198.18.0.1/24"), Ok(DEFAULT_A));
        assert!(HostAddress::parse("198.19.255.1/16").is_ok());
        assert!(HostAddress::parse("10.0.0.1/24").is_err());
        // A /14 would put a route to 198.16.0.0/14 (outside the range) on the host.
        assert!(HostAddress::parse("198.18.0.1/14").is_err());
        assert!(HostAddress::parse("198.18.0.0/24").is_err());
        assert!(HostAddress::parse("198.18.0.255/24").is_err());
        assert!(HostAddress::parse("198.18.0.1").is_err());
        assert!(HostAddress::check_pair(DEFAULT_A, DEFAULT_B).is_ok());
        assert!(HostAddress::check_pair(DEFAULT_A, DEFAULT_A).is_err());
        let far = HostAddress::parse("198.18.1.2/24").unwrap();
        assert!(HostAddress::check_pair(DEFAULT_A, far).is_err());
    }
}
