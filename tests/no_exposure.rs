//! Issue 8, "Done when": with no `--allow-external`, no lab action in any built-in scenario leaves
//! a socket bound to a wildcard or non-loopback address, as `ss` sees this process's sockets
//! after every step. One test in its own binary, so no other test's sockets share the pid.

use std::net::IpAddr;
use std::process::Command;

use sockscope::lab::LabConfig;
use sockscope::scenario::{self, Player};

/// `(netid, local address)` of every TCP/UDP socket `ss` attributes to this process.
fn own_sockets() -> Vec<(String, String)> {
    let output = Command::new("ss")
        .arg("-Htuanp")
        .output()
        .expect("ss runs (iproute2 installed)");
    assert!(output.status.success(), "ss -Htuanp failed");
    let mine = format!("pid={},", std::process::id());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains(&mine))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields[0].to_owned(), fields[4].to_owned())
        })
        .collect()
}

/// The address part of `ss`'s `ADDR:PORT` (`127.0.0.1:80`, `[::1]:80`, `*:80`, `0.0.0.0:80`).
fn ip_of(local: &str) -> Option<IpAddr> {
    let (host, _port) = local.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.split('%').next()?;
    host.parse().ok()
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[test]
fn no_builtin_scenario_binds_a_wildcard_or_outside_address() {
    let mut checked_sockets = 0;
    let mut steps = 0;
    // Lectures on the wire bind the hosts' addresses inside 198.18.0.0/15, with no route out;
    // they need `--net wire` and are played by tests/wire.rs.
    for scenario in scenario::builtins().into_iter().filter(|s| !s.wire) {
        let name = scenario.name.clone();
        let count = scenario.steps.len();
        let mut player = Player::new(scenario, LabConfig::default());
        for step in 1..=count {
            assert!(
                player.forward().expect("the step plays"),
                "{name} step {step}"
            );
            steps += 1;
            let refused: Vec<_> = player
                .played()
                .expect("played")
                .snapshot
                .errors
                .iter()
                .map(|error| error.message.clone())
                .collect();
            assert!(
                refused.is_empty(),
                "{name} step {step} was refused: {refused:?}"
            );
            for (netid, local) in own_sockets() {
                // `*:PORT` is how ss prints a wildcard it cannot pin to a family.
                let exposed =
                    local.starts_with("*:") || ip_of(&local).is_none_or(|ip| !is_loopback(ip));
                assert!(
                    !exposed,
                    "{name} step {step}: {netid} socket on {local} is reachable from elsewhere"
                );
                checked_sockets += 1;
            }
        }
    }
    assert!(steps > 50, "every built-in was played ({steps} steps)");
    assert!(
        checked_sockets > 100,
        "ss saw the lab's sockets ({checked_sockets})"
    );
}
