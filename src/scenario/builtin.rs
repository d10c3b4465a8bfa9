//! The scenarios bundled into the binary (`assets/scenarios/*.toml`).

/// Each built-in's name and its TOML text, in teaching order.
const BUILTINS: &[(&str, &str)] = &[
    (
        "server-life",
        include_str!("../../assets/scenarios/server-life.toml"),
    ),
    (
        "client-ephemeral",
        include_str!("../../assets/scenarios/client-ephemeral.toml"),
    ),
    (
        "three-way-handshake",
        include_str!("../../assets/scenarios/three-way-handshake.toml"),
    ),
    (
        "established-before-accept",
        include_str!("../../assets/scenarios/established-before-accept.toml"),
    ),
    (
        "backlog",
        include_str!("../../assets/scenarios/backlog.toml"),
    ),
    (
        "four-tuple",
        include_str!("../../assets/scenarios/four-tuple.toml"),
    ),
    (
        "fd-table",
        include_str!("../../assets/scenarios/fd-table.toml"),
    ),
    (
        "four-way-close",
        include_str!("../../assets/scenarios/four-way-close.toml"),
    ),
    ("reset", include_str!("../../assets/scenarios/reset.toml")),
    (
        "half-close",
        include_str!("../../assets/scenarios/half-close.toml"),
    ),
    (
        "addr-in-use",
        include_str!("../../assets/scenarios/addr-in-use.toml"),
    ),
    (
        "udp-vs-tcp",
        include_str!("../../assets/scenarios/udp-vs-tcp.toml"),
    ),
    (
        "ipc-vs-socket",
        include_str!("../../assets/scenarios/ipc-vs-socket.toml"),
    ),
    (
        "port-forward",
        include_str!("../../assets/scenarios/port-forward.toml"),
    ),
    (
        "port-ranges",
        include_str!("../../assets/scenarios/port-ranges.toml"),
    ),
    (
        "websocket",
        include_str!("../../assets/scenarios/websocket.toml"),
    ),
    (
        "handshake-step",
        include_str!("../../assets/scenarios/handshake-step.toml"),
    ),
    (
        "syn-retransmit",
        include_str!("../../assets/scenarios/syn-retransmit.toml"),
    ),
    (
        "close-step",
        include_str!("../../assets/scenarios/close-step.toml"),
    ),
    (
        "slow-network",
        include_str!("../../assets/scenarios/slow-network.toml"),
    ),
    (
        "nat-port-forward",
        include_str!("../../assets/scenarios/nat-port-forward.toml"),
    ),
];

/// The names of the built-in scenarios, in teaching order.
pub const BUILTIN_NAMES: &[&str] = &[
    "server-life",
    "client-ephemeral",
    "three-way-handshake",
    "established-before-accept",
    "backlog",
    "four-tuple",
    "fd-table",
    "four-way-close",
    "reset",
    "half-close",
    "addr-in-use",
    "udp-vs-tcp",
    "ipc-vs-socket",
    "port-forward",
    "port-ranges",
    "websocket",
    "handshake-step",
    "syn-retransmit",
    "close-step",
    "slow-network",
    "nat-port-forward",
];

/// The TOML text of a built-in.
pub(super) fn source(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|&(_, source)| source)
}

/// What messages call a built-in's file.
pub(super) fn file_of(name: &str) -> String {
    format!("assets/scenarios/{name}.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_table() {
        let table: Vec<&str> = BUILTINS.iter().map(|(name, _)| *name).collect();
        assert_eq!(table, BUILTIN_NAMES);
    }
}
