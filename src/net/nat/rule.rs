//! A port-forwarding rule (public address:port on host a's side → private address:port on host b)
//! and why a rule is refused.

use std::fmt;
use std::net::SocketAddrV4;

use crate::model::Proto;

/// One forwarding rule: TCP or UDP packets from a's side to `public` are sent on to `private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub proto: Proto,
    /// The router's public address and port (host a's side, "the internet").
    pub public: SocketAddrV4,
    /// The server on the private network (host b).
    pub private: SocketAddrV4,
}

/// Why [`Rule::check`] or `Nat::add_rule` refused a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// Port 0 cannot be forwarded (no packet is addressed to it).
    PortZero,
    /// 0.0.0.0, 255.255.255.255, a multicast or a loopback address: no packet between the two hosts
    /// has it as a unicast destination or source.
    NotUnicast(std::net::Ipv4Addr),
    /// The public and the private tuple are the same: the rewrite would change nothing.
    SameTuple,
    /// The public tuple is already forwarded (to `existing`'s private tuple).
    Duplicate(Rule),
    /// The public tuple of one rule is the private tuple of another (or the other way round): a
    /// packet could be rewritten twice, and replies could not be told apart.
    Chained(Rule),
    /// `remove_rule`: no rule has this protocol and public tuple.
    NoSuchRule,
}

impl Rule {
    #[must_use]
    pub fn new(proto: Proto, public: SocketAddrV4, private: SocketAddrV4) -> Self {
        Self {
            proto,
            public,
            private,
        }
    }

    /// Checks the rule on its own (not against other rules).
    pub fn check(&self) -> Result<(), RuleError> {
        for addr in [self.public, self.private] {
            if addr.port() == 0 {
                return Err(RuleError::PortZero);
            }
            let ip = *addr.ip();
            if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
                return Err(RuleError::NotUnicast(ip));
            }
        }
        if self.public == self.private {
            return Err(RuleError::SameTuple);
        }
        Ok(())
    }

    /// Checks the rule against one that is already there.
    pub fn check_against(&self, existing: &Rule) -> Result<(), RuleError> {
        if self.proto != existing.proto {
            return Ok(());
        }
        if self.public == existing.public {
            return Err(RuleError::Duplicate(*existing));
        }
        if self.public == existing.private || self.private == existing.public {
            return Err(RuleError::Chained(*existing));
        }
        Ok(())
    }
}

impl fmt::Display for Rule {
    /// `tcp 198.18.0.254:8080 -> 198.18.0.2:80`, as the command language writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {}",
            self.proto.name(),
            self.public,
            self.private
        )
    }
}

impl RuleError {
    /// The locale key of the message (under `[nat.rule]`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::PortZero => "nat.rule.port_zero",
            Self::NotUnicast(_) => "nat.rule.not_unicast",
            Self::SameTuple => "nat.rule.same_tuple",
            Self::Duplicate(_) => "nat.rule.duplicate",
            Self::Chained(_) => "nat.rule.chained",
            Self::NoSuchRule => "nat.rule.no_such_rule",
        }
    }

    /// The message in `lang`.
    #[must_use]
    pub fn message(self, lang: crate::text::Lang) -> String {
        let detail = match self {
            Self::NotUnicast(ip) => ip.to_string(),
            Self::Duplicate(rule) | Self::Chained(rule) => rule.to_string(),
            _ => String::new(),
        };
        crate::text::format(lang, self.key(), &[("rule", &detail), ("ip", &detail)])
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(crate::text::Lang::En))
    }
}

impl std::error::Error for RuleError {}
