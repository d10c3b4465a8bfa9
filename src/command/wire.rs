//! The `wire` verb (`--net wire`): what the wire between hosts `a` and `b` does with the segments
//! it relays, and where a socket is placed (`NAME@a`, `NAME@b`).
//!
//! ```text
//! wire hold on|off            segments wait in the wire until delivered (off: all go on)
//! wire deliver [ID]           the next held segment (the oldest that is no retransmission, else
//!                             the oldest), or the one numbered ID
//! wire drop [ID]              throws away the same segment deliver would pass on
//! wire delay DURATION [a>b|b>a]   a one-way delay (both directions unless one is named)
//! wire loss PERCENT [seed N]  drops that share of segments at random, reproducibly (seed 1)
//! wire reset                  a transparent wire again (what waits goes on; NAT rules go too)
//! wire nat tcp|udp PUBLIC -> PRIVATE | nat del tcp|udp PUBLIC | nat off   port forwarding
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use super::nat::NatCommand;
use super::value::format_duration;
use crate::model::WireHost;

/// Which way a segment crosses the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From host `a` toward host `b`.
    AToB,
    /// From host `b` toward host `a`.
    BToA,
}

impl Direction {
    pub const BOTH: [Self; 2] = [Self::AToB, Self::BToA];

    /// The host the segment came from.
    #[must_use]
    pub fn from(self) -> WireHost {
        match self {
            Self::AToB => WireHost::A,
            Self::BToA => WireHost::B,
        }
    }

    /// `a>b` or `b>a`.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::AToB => "a>b",
            Self::BToA => "b>a",
        }
    }

    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Self::AToB => 0,
            Self::BToA => 1,
        }
    }
}

/// The largest loss rate, in millionths (100%).
pub const LOSS_MAX_PPM: u32 = 1_000_000;
/// The seed `wire loss` uses when none is given.
pub const DEFAULT_SEED: u64 = 1;

/// One wire control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireCommand {
    Hold(bool),
    /// `None`: the oldest held segment.
    Deliver(Option<u64>),
    Drop(Option<u64>),
    /// `None`: both directions.
    Delay(Duration, Option<Direction>),
    /// A share of segments dropped, in millionths, and the seed of the draw.
    Loss {
        ppm: u32,
        seed: u64,
    },
    Reset,
    /// A NAT rule added or removed (`wire nat ...`, [`super::nat`]).
    Nat(NatCommand),
}

/// `2%`, `2`, `0.5%`: a percentage with up to four decimals, in millionths.
#[must_use]
pub fn parse_percent(text: &str) -> Option<u32> {
    let number = text.strip_suffix('%').unwrap_or(text);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 4 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let mut fraction_ppm = 0;
    for (place, digit) in fraction.bytes().enumerate() {
        fraction_ppm += u32::from(digit - b'0') * 10u32.pow(3 - place as u32);
    }
    let ppm = whole.checked_mul(10_000)?.checked_add(fraction_ppm)?;
    (ppm <= LOSS_MAX_PPM).then_some(ppm)
}

/// Millionths as a percentage without trailing zeros: `2%`, `0.5%`.
#[must_use]
pub fn percent_text(ppm: u32) -> String {
    let whole = ppm / 10_000;
    let fraction = ppm % 10_000;
    if fraction == 0 {
        format!("{whole}%")
    } else {
        let digits = format!("{fraction:04}");
        format!("{whole}.{}%", digits.trim_end_matches('0'))
    }
}

impl WireCommand {
    /// The words after `wire`, canonical.
    #[must_use]
    pub fn words(&self) -> String {
        let mut out = String::new();
        match self {
            Self::Hold(on) => out.push_str(if *on { "hold on" } else { "hold off" }),
            Self::Deliver(id) | Self::Drop(id) => {
                out.push_str(if matches!(self, Self::Deliver(_)) {
                    "deliver"
                } else {
                    "drop"
                });
                if let Some(id) = id {
                    let _ = write!(out, " {id}");
                }
            }
            Self::Delay(duration, direction) => {
                let _ = write!(out, "delay {}", format_duration(*duration));
                if let Some(direction) = direction {
                    let _ = write!(out, " {}", direction.keyword());
                }
            }
            Self::Loss { ppm, seed } => {
                let _ = write!(out, "loss {} seed {seed}", percent_text(*ppm));
            }
            Self::Reset => out.push_str("reset"),
            Self::Nat(nat) => {
                let line = nat.to_line();
                out.push_str(line.strip_prefix("wire ").unwrap_or(&line));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_read_and_print_back() {
        assert_eq!(parse_percent("2%"), Some(20_000));
        assert_eq!(parse_percent("2"), Some(20_000));
        assert_eq!(parse_percent("0.5%"), Some(5_000));
        assert_eq!(parse_percent("100%"), Some(LOSS_MAX_PPM));
        assert_eq!(parse_percent("100.1%"), None);
        assert_eq!(parse_percent("-1%"), None);
        assert_eq!(parse_percent("1.23456"), None);
        assert_eq!(parse_percent("%"), None);
        assert_eq!(percent_text(20_000), "2%");
        assert_eq!(percent_text(5_000), "0.5%");
        assert_eq!(percent_text(12_345), "1.2345%");
    }
}
