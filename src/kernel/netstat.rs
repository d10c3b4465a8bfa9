//! Namespace-wide TCP counters from `/proc/net/netstat`.
//!
//! The file is pairs of lines, a header and its values, each starting with the same tag:
//! `TcpExt: SyncookiesSent ... ListenOverflows ListenDrops ...` then `TcpExt: 0 ... 3 3 ...`.

use std::fs;
use std::io;

/// `(ListenOverflows, ListenDrops)` from the `TcpExt` lines of `/proc/net/netstat` text.
///
/// `ListenOverflows` counts handshakes dropped because an accept queue was full; `ListenDrops` counts
/// every drop at a listener, overflows included.
#[must_use]
pub fn parse_listen_counters(text: &str) -> Option<(u64, u64)> {
    let overflows = field(text, "TcpExt", "ListenOverflows")?;
    let drops = field(text, "TcpExt", "ListenDrops")?;
    Some((overflows, drops))
}

/// The value of `name` in the `tag:` header/value line pair.
fn field(text: &str, tag: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(names) = line
            .strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix(':'))
        else {
            continue;
        };
        let values = lines
            .next()?
            .strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix(':'))?;
        let index = names.split_whitespace().position(|n| n == name)?;
        return values.split_whitespace().nth(index)?.parse().ok();
    }
    None
}

/// Reads `/proc/net/netstat` of this network namespace.
pub fn read_listen_counters() -> io::Result<(u64, u64)> {
    let text = fs::read_to_string("/proc/net/netstat")?;
    parse_listen_counters(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/net/netstat has no TcpExt ListenOverflows/ListenDrops",
        )
    })
}
