//! Issue 8, defect 4: by default nothing the lab does makes a socket reachable from another
//! machine. Each action that would is refused before any syscall, with a message that says what
//! the kernel would have done and names `--allow-external`; with the flag it goes through.

mod common;

use std::process::Command;

use common::sockscope;

fn snapshot_json(args: &[&str]) -> serde_json::Value {
    let output = sockscope(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn run_json(commands: &str) -> serde_json::Value {
    snapshot_json(&["snapshot", "--run", commands, "--format", "json"])
}

fn calls(json: &serde_json::Value) -> Vec<String> {
    json["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .map(|entry| entry["call"].as_str().expect("call").to_owned())
        .collect()
}

/// The one refusal of a run: its command and message.
fn refusal(json: &serde_json::Value) -> (String, String) {
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "one refusal: {errors:?}");
    (
        errors[0]["command"].as_str().expect("command").to_owned(),
        errors[0]["message"].as_str().expect("message").to_owned(),
    )
}

#[test]
fn listen_on_an_unbound_socket_is_refused_and_the_autobind_explained() {
    let json = run_json("socket t tcp; listen t 5");
    let (command, message) = refusal(&json);
    assert_eq!(command, "listen t 5");
    for part in [
        "autobind",
        "0.0.0.0",
        "bind t 127.0.0.1:0",
        "--allow-external",
    ] {
        assert!(message.contains(part), "{part} in: {message}");
    }
    assert!(
        !calls(&json).iter().any(|call| call.starts_with("listen(")),
        "no listen() was made: {:?}",
        calls(&json)
    );
    let socket = &json["sockets"][0];
    assert_eq!(socket["state"], "CLOSE", "t is still a fresh socket");
    assert!(socket["local"].is_null(), "{socket}");
}

#[test]
fn the_first_sendto_or_send_on_an_unbound_udp_socket_is_refused() {
    for (commands, verb) in [
        ("socket u udp; sendto u 127.0.0.1:9 hi", "sendto()"),
        ("socket u udp; send u hi", "send()"),
    ] {
        let json = run_json(commands);
        let (_, message) = refusal(&json);
        assert!(message.contains(verb), "{message}");
        assert!(message.contains("0.0.0.0"), "{message}");
        assert!(message.contains("--allow-external"), "{message}");
        assert_eq!(calls(&json).len(), 1, "only socket(): {:?}", calls(&json));
        assert!(json["sockets"][0]["local"].is_null(), "u stays unbound");
    }
    let bound = run_json("socket u udp; bind u 127.0.0.1:0; sendto u 127.0.0.1:9 hi");
    assert_eq!(bound["errors"].as_array().expect("errors").len(), 0);
}

#[test]
fn wildcard_and_non_loopback_addresses_are_refused_before_socket() {
    for (commands, address) in [
        ("server s 0.0.0.0:0", "0.0.0.0:0"),
        ("server s [::]:0", "[::]:0"),
        ("socket b tcp; bind b 0.0.0.0:0", "0.0.0.0:0"),
        ("server s 192.0.2.1:0", "192.0.2.1:0"),
        ("forward f 0.0.0.0:0 127.0.0.1:9", "0.0.0.0:0"),
    ] {
        let json = run_json(commands);
        let (_, message) = refusal(&json);
        assert!(message.contains(address), "{address} in: {message}");
        assert!(message.contains("--allow-external"), "{message}");
        assert!(
            !calls(&json)
                .iter()
                .any(|call| call.starts_with("bind(") || call.starts_with("listen(")),
            "{commands}: {:?}",
            calls(&json)
        );
        if commands.starts_with("server") || commands.starts_with("forward") {
            assert!(
                calls(&json).is_empty(),
                "nothing half-made: {:?}",
                calls(&json)
            );
        }
    }
}

#[test]
fn a_wildcard_bind_address_from_the_command_line_is_refused_too() {
    let json = snapshot_json(&[
        "snapshot",
        "--run",
        "server s",
        "--bind",
        "0.0.0.0:0",
        "--format",
        "json",
    ]);
    let (_, message) = refusal(&json);
    assert!(message.contains("wildcard"), "{message}");
    assert!(calls(&json).is_empty());
}

#[test]
fn targets_off_loopback_are_refused_for_connect_client_clients_sendto_and_forward() {
    for commands in [
        "socket c tcp; connect c 192.0.2.1:80",
        "client c 192.0.2.1:80",
        "clients c 3 192.0.2.1:80",
        "socket u udp; bind u 127.0.0.1:0; sendto u 192.0.2.1:53 x",
        "forward f 127.0.0.1:0 192.0.2.1:80",
    ] {
        let json = run_json(commands);
        let (_, message) = refusal(&json);
        assert!(message.contains("192.0.2.1"), "{message}");
        assert!(message.contains("off this machine"), "{message}");
        assert!(
            !calls(&json).iter().any(|call| call.starts_with("connect(")
                || call.starts_with("sendto(")
                || call.starts_with("listen(")),
            "{commands}: {:?}",
            calls(&json)
        );
    }
}

#[test]
fn refusals_are_in_korean_too() {
    let json = snapshot_json(&[
        "snapshot",
        "--run",
        "socket t tcp; listen t 5",
        "--lang",
        "ko",
        "--format",
        "json",
    ]);
    let (_, message) = refusal(&json);
    assert!(message.contains("거부됨"), "{message}");
    assert!(message.contains("--allow-external"), "{message}");
}

#[test]
fn with_allow_external_the_kernel_gets_the_call() {
    // An address no interface has: with the flag the lab makes the bind and the kernel refuses
    // it (nothing becomes reachable, and the test proves the refusal was lifted).
    let json = snapshot_json(&[
        "snapshot",
        "--allow-external",
        "--run",
        "server s 192.0.2.1:0",
        "--format",
        "json",
    ]);
    assert_eq!(json["errors"].as_array().expect("errors").len(), 0);
    let trace = json["trace"].as_array().expect("trace");
    let bind = trace
        .iter()
        .find(|entry| {
            entry["call"]
                .as_str()
                .is_some_and(|call| call.starts_with("bind(") && call.contains("192.0.2.1"))
        })
        .expect("bind() was made");
    assert_eq!(bind["result"], "-1 EADDRNOTAVAIL");
}

/// The autobind itself, allowed: run inside a network namespace of its own (only a loopback), so
/// the wildcard listener is reachable from nowhere. Needs `unshare --net` (root here).
#[test]
fn with_allow_external_listen_autobinds_to_the_wildcard_in_a_private_namespace() {
    let probe = Command::new("unshare").args(["--net", "true"]).status();
    if !probe.is_ok_and(|status| status.success()) {
        eprintln!("skipped: unshare --net is not permitted here");
        return;
    }
    let output = Command::new("unshare")
        .args(["--net", "sh", "-c"])
        .arg(format!(
            "ip link set lo up && {} snapshot --allow-external --run 'socket t tcp; listen t 5; socket u udp; sendto u 127.0.0.1:9 x' --format json",
            env!("CARGO_BIN_EXE_sockscope")
        ))
        .output()
        .expect("unshare runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        json["errors"].as_array().expect("errors").len(),
        0,
        "{json}"
    );
    let local = |name: &str| -> String {
        json["sockets"]
            .as_array()
            .expect("sockets")
            .iter()
            .find(|socket| socket["name"] == name)
            .and_then(|socket| socket["local"].as_str())
            .unwrap_or_else(|| panic!("{name} has an address: {json}"))
            .to_owned()
    };
    assert!(local("t").starts_with("0.0.0.0:"), "{}", local("t"));
    assert!(local("u").starts_with("0.0.0.0:"), "{}", local("u"));
}
