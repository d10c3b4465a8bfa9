//! Nothing the lab does may make a socket reachable from another machine unless the user allowed
//! it: the rule behind "nothing exposed by default".
//!
//! A socket is reachable from elsewhere when it is bound to the wildcard address (`0.0.0.0`,
//! `::`) or to an address of a real interface. The lab gets there in two ways: explicitly (a
//! `bind` or `server` address, `--bind`), or through the kernel's *autobind*: `listen()` on an
//! unbound TCP socket, and the first `sendto()`/`send()` on an unbound UDP socket, bind it to the
//! wildcard and an ephemeral port first. `connect()` autobinds too, but to the source address of
//! the route to the peer, which for a loopback peer is loopback: it is allowed, and its target is
//! checked instead (traffic to a non-loopback address leaves the machine).
//!
//! This module only classifies; [`LabConfig::may_reach_beyond_loopback`] decides whether a
//! classified action is allowed, so a later private network can allow it without touching this.
//!
//! [`LabConfig::may_reach_beyond_loopback`]: super::LabConfig::may_reach_beyond_loopback

use std::net::{IpAddr, SocketAddr};

use crate::text::{self, Lang};

/// An action that would make a lab socket reachable from, or talk to, another machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// `verb` on the unbound socket `name` would make the kernel bind it to the wildcard.
    Autobind {
        verb: &'static str,
        name: String,
        v6: bool,
        udp: bool,
    },
    /// Binding the wildcard address: every interface, from every network.
    Wildcard(SocketAddr),
    /// Binding an address of a real interface: reachable from that interface's network.
    NotLoopback(SocketAddr),
    /// `verb` would send traffic to an address outside loopback.
    TargetOutside {
        verb: &'static str,
        target: SocketAddr,
    },
}

/// The flag that allows what this module refuses (named in every refusal).
pub const ALLOW_FLAG: &str = "--allow-external";

/// Whether an address stays on this machine: 127.0.0.0/8, `::1`, or 127/8 mapped into IPv6.
#[must_use]
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The wildcard address, also as an IPv4-mapped IPv6 address (`::ffff:0.0.0.0`).
fn is_wildcard(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_unspecified(),
        IpAddr::V6(ip) => {
            ip.is_unspecified() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified())
        }
    }
}

/// What binding `address` would expose, if anything.
pub fn check_bind(address: SocketAddr) -> Result<(), Exposure> {
    if is_wildcard(address.ip()) {
        Err(Exposure::Wildcard(address))
    } else if is_loopback(address.ip()) {
        Ok(())
    } else {
        Err(Exposure::NotLoopback(address))
    }
}

/// Whether `verb` sending to or connecting to `target` keeps the traffic on loopback.
pub fn check_target(verb: &'static str, target: SocketAddr) -> Result<(), Exposure> {
    if is_loopback(target.ip()) {
        Ok(())
    } else {
        Err(Exposure::TargetOutside { verb, target })
    }
}

/// Whether `verb` on a socket whose local address is `local` (`None` or port 0: not bound) would
/// make the kernel autobind it to the wildcard.
pub fn check_autobind(
    verb: &'static str,
    name: &str,
    local: Option<SocketAddr>,
    v6: bool,
    udp: bool,
) -> Result<(), Exposure> {
    if local.is_some_and(|local| local.port() != 0) {
        Ok(())
    } else {
        Err(Exposure::Autobind {
            verb,
            name: name.to_owned(),
            v6,
            udp,
        })
    }
}

impl Exposure {
    /// The refusal: what the kernel would have done, why that is refused, and how to allow it.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        let flag = ("flag", ALLOW_FLAG);
        match self {
            Self::Autobind {
                verb,
                name,
                v6,
                udp,
            } => {
                let (wildcard, loopback) = if *v6 {
                    ("[::]", "[::1]")
                } else {
                    ("0.0.0.0", "127.0.0.1")
                };
                let key = if *udp {
                    "refused.autobind_udp"
                } else {
                    "refused.autobind_listen"
                };
                text::format(
                    lang,
                    key,
                    &[
                        ("verb", verb),
                        ("name", name),
                        ("wildcard", wildcard),
                        ("loopback", loopback),
                        flag,
                    ],
                )
            }
            Self::Wildcard(address) => text::format(
                lang,
                "refused.wildcard",
                &[
                    ("addr", &address.to_string()),
                    ("loopback", loopback_like(*address)),
                    flag,
                ],
            ),
            Self::NotLoopback(address) => text::format(
                lang,
                "refused.not_loopback",
                &[
                    ("addr", &address.to_string()),
                    ("loopback", loopback_like(*address)),
                    flag,
                ],
            ),
            Self::TargetOutside { verb, target } => text::format(
                lang,
                "refused.target_outside",
                &[("verb", verb), ("addr", &target.to_string()), flag],
            ),
        }
    }
}

/// The loopback address of the same family, for the advice in a refusal.
fn loopback_like(address: SocketAddr) -> &'static str {
    if address.is_ipv6() {
        "[::1]"
    } else {
        "127.0.0.1"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a socket address")
    }

    #[test]
    fn loopback_is_127_slash_8_and_colon_colon_1_also_mapped() {
        for ok in [
            "127.0.0.1:0",
            "127.1.2.3:80",
            "[::1]:0",
            "[::ffff:127.0.0.1]:0",
        ] {
            assert_eq!(check_bind(addr(ok)), Ok(()), "{ok}");
            assert_eq!(check_target("connect", addr(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn wildcards_and_real_interfaces_are_exposures() {
        for wild in ["0.0.0.0:0", "[::]:8080", "[::ffff:0.0.0.0]:0"] {
            assert_eq!(check_bind(addr(wild)), Err(Exposure::Wildcard(addr(wild))));
        }
        for real in [
            "192.168.1.5:0",
            "10.0.0.1:22",
            "[fe80::1]:0",
            "198.18.0.1:0",
        ] {
            assert_eq!(
                check_bind(addr(real)),
                Err(Exposure::NotLoopback(addr(real)))
            );
            assert!(check_target("connect", addr(real)).is_err());
        }
    }

    #[test]
    fn an_unbound_socket_would_be_autobound() {
        assert!(check_autobind("listen", "t", None, false, false).is_err());
        assert!(check_autobind("listen", "t", Some(addr("0.0.0.0:0")), false, false).is_err());
        assert_eq!(
            check_autobind("sendto", "u", Some(addr("127.0.0.1:4000")), false, true),
            Ok(())
        );
    }

    #[test]
    fn every_refusal_names_the_flag_in_both_languages() {
        let refusals = [
            Exposure::Autobind {
                verb: "listen",
                name: "t".to_owned(),
                v6: false,
                udp: false,
            },
            Exposure::Autobind {
                verb: "sendto",
                name: "u".to_owned(),
                v6: true,
                udp: true,
            },
            Exposure::Wildcard(addr("0.0.0.0:80")),
            Exposure::NotLoopback(addr("192.168.1.5:0")),
            Exposure::TargetOutside {
                verb: "connect",
                target: addr("8.8.8.8:53"),
            },
        ];
        for refusal in &refusals {
            for lang in [Lang::En, Lang::Ko] {
                let message = refusal.message(lang);
                assert!(message.contains(ALLOW_FLAG), "{message}");
                assert!(
                    !message.contains('{'),
                    "every placeholder filled: {message}"
                );
            }
        }
        let autobind = refusals[0].message(Lang::En);
        assert!(
            autobind.contains("0.0.0.0"),
            "says what the kernel would bind: {autobind}"
        );
    }
}
