//! The values inside tokens: names, addresses, targets, numbers, durations.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::error::ParseErrorKind;
use super::{NAME_MAX, Target};

/// `[A-Za-z][A-Za-z0-9_-]*`, at most [`NAME_MAX`] characters.
pub(super) fn is_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            bytes.len() <= NAME_MAX
                && first.is_ascii_alphabetic()
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080` and `:8080` (both 127.0.0.1). No other host
/// names: the lab does no DNS.
pub(super) fn parse_addr(text: &str) -> Result<SocketAddr, ParseErrorKind> {
    let (ip, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(ParseErrorKind::BadAddress)?;
        let port = after.strip_prefix(':').ok_or(ParseErrorKind::BadAddress)?;
        let ip: Ipv6Addr = host.parse().map_err(|_| ParseErrorKind::BadAddress)?;
        (IpAddr::V6(ip), port)
    } else {
        let (host, port) = text.rsplit_once(':').ok_or(ParseErrorKind::BadAddress)?;
        let ip = if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
            Ipv4Addr::LOCALHOST
        } else {
            host.parse().map_err(|_| ParseErrorKind::BadAddress)?
        };
        (IpAddr::V4(ip), port)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseErrorKind::BadPort);
    }
    let port: u16 = port.parse().map_err(|_| ParseErrorKind::BadPort)?;
    Ok(SocketAddr::new(ip, port))
}

/// An address (anything with a `:`) or the name of a lab socket.
pub(super) fn parse_target(text: &str) -> Result<Target, ParseErrorKind> {
    if text.contains(':') {
        parse_addr(text).map(Target::Addr)
    } else if is_name(text) {
        Ok(Target::Name(text.to_owned()))
    } else if text.starts_with(|c: char| c.is_ascii_digit() || c == '[') || text.contains('.') {
        Err(ParseErrorKind::BadAddress)
    } else {
        Err(ParseErrorKind::BadName)
    }
}

/// Whether a word is meant as a number (so a bad one is a bad number, not a bad address).
pub(super) fn looks_numeric(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') && !text.contains('.')
}

/// A whole number in decimal, optionally negative. Values past the `i128` range saturate, which
/// keeps them out of every range the language allows.
pub(super) fn parse_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0_i128, |acc, b| {
        acc.saturating_mul(10).saturating_add(i128::from(b - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The longest duration the language accepts (`wait`, a scenario's `wait`, `--wait`): a day. Long
/// enough for any lecture step (`wait = "1h"`), short enough that adding it to an `Instant` can
/// never overflow, whatever the clock.
pub const DURATION_MAX: Duration = Duration::from_hours(24);
/// [`DURATION_MAX`] as the messages write it.
pub const DURATION_MAX_TEXT: &str = "24h";

/// Why a text is not a duration the language accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not a number and a unit.
    Malformed,
    /// Well formed, but longer than [`DURATION_MAX`].
    TooLong,
}

/// A duration: a decimal number and a unit, `ns`, `us` (or `µs`), `ms`, `s`, `m` or `h`: `200ms`,
/// `1s`, `1.5s`, `2m`, `500us`. Rejects an empty string, a sign and a missing unit (`Malformed`),
/// and anything longer than [`DURATION_MAX`] (`TooLong`, however many digits it has). Digits past
/// nanosecond precision are dropped.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    use DurationError::{Malformed, TooLong};
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or(Malformed)?;
    let (number, unit) = text.split_at(split);
    let unit_nanos: u128 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return Err(Malformed),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(Malformed);
    }
    if number.contains('.') && fraction.is_empty() {
        return Err(Malformed);
    }
    let max = DURATION_MAX.as_nanos();
    // Checked all the way: any overflow is a value past the maximum.
    let mut total: u128 = 0;
    for b in whole.bytes() {
        total = total
            .checked_mul(10)
            .and_then(|total| total.checked_add(u128::from(b - b'0')))
            .filter(|&total| total <= max)
            .ok_or(TooLong)?;
    }
    total = total
        .checked_mul(unit_nanos)
        .filter(|&total| total <= max)
        .ok_or(TooLong)?;
    // 18 fractional digits are finer than a nanosecond of the largest unit, and small enough that
    // the product below cannot overflow.
    let fraction = &fraction[..fraction.len().min(18)];
    if !fraction.is_empty() {
        let numerator = fraction
            .bytes()
            .fold(0_u128, |acc, b| acc * 10 + u128::from(b - b'0'));
        let denominator = 10_u128.pow(fraction.len() as u32);
        total = total
            .checked_add(numerator * unit_nanos / denominator)
            .filter(|&total| total <= max)
            .ok_or(TooLong)?;
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| TooLong)?;
    Ok(Duration::new(secs, (total % NANOS_PER_SEC) as u32))
}

/// The shortest exact text for a duration in the largest unit that divides it: `1s`, `200ms`,
/// `1500ms`, `7ns`. Parses back with [`parse_duration`].
pub(super) fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos.is_multiple_of(NANOS_PER_SEC) {
        format!("{}s", nanos / NANOS_PER_SEC)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}
