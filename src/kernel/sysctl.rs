//! The port-number sysctls: the ephemeral range, the privileged-port boundary, the backlog ceiling.

use std::fs;
use std::path::Path;

use crate::model::Ports;

pub const IP_LOCAL_PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
pub const IP_UNPRIVILEGED_PORT_START: &str = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
pub const SOMAXCONN: &str = "/proc/sys/net/core/somaxconn";

/// `ip_local_port_range`: two numbers, low and high (the kernel separates them with a tab).
#[must_use]
pub fn parse_port_range(text: &str) -> Option<[u16; 2]> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    let low = numbers.next()?.ok()?;
    let high = numbers.next()?.ok()?;
    (numbers.next().is_none() && low <= high).then_some([low, high])
}

/// `ip_unprivileged_port_start`: one number, 0..=65535.
#[must_use]
pub fn parse_unprivileged_port_start(text: &str) -> Option<u16> {
    text.trim().parse().ok()
}

/// `somaxconn`: one non-negative number (the kernel stores an `int`).
#[must_use]
pub fn parse_somaxconn(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

/// Reads the three sysctls; a file that cannot be read or parsed keeps `Ports::default()`'s value.
#[must_use]
pub fn read_ports() -> Ports {
    read_ports_from(
        Path::new(IP_LOCAL_PORT_RANGE),
        Path::new(IP_UNPRIVILEGED_PORT_START),
        Path::new(SOMAXCONN),
    )
}

/// [`read_ports`] from other paths (for tests).
#[must_use]
pub fn read_ports_from(range: &Path, unprivileged_start: &Path, somaxconn: &Path) -> Ports {
    let read = |path: &Path| fs::read_to_string(path).ok();
    let mut ports = Ports::default();
    if let Some(value) = read(range).as_deref().and_then(parse_port_range) {
        ports.ephemeral = value;
    }
    if let Some(value) = read(unprivileged_start)
        .as_deref()
        .and_then(parse_unprivileged_port_start)
    {
        ports.unprivileged_start = value;
    }
    if let Some(value) = read(somaxconn).as_deref().and_then(parse_somaxconn) {
        ports.somaxconn = value;
    }
    ports
}
