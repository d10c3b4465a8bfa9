//! Issue 8, defect 6 (b, c): when descriptors run out, EMFILE is shown as what it is (trace,
//! `errors`, status line) and the descriptor table is still read. Each case runs sockscope under
//! `ulimit -n 64` in a shell of its own.

use std::process::Command;

fn sockscope_limited(limit: u32, args: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {limit} && exec {} {args}",
            env!("CARGO_BIN_EXE_sockscope")
        ))
        .env("LANG", "C")
        .output()
        .expect("sh runs")
}

fn json_limited(limit: u32, commands: &str) -> serde_json::Value {
    let output = sockscope_limited(limit, &format!("snapshot --run '{commands}' --format json"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn names_in_fd_table(json: &serde_json::Value) -> Vec<String> {
    json["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .filter_map(|fd| fd["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn clients_that_run_out_of_descriptors_say_emfile_and_the_table_is_still_shown() {
    let json = json_limited(64, "server s 127.0.0.1:0 300; clients c 200 s");
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["command"], "clients c 200 s");
    let message = errors[0]["message"].as_str().expect("message");
    for part in ["EMFILE", "64", "ulimit -n", "socket()"] {
        assert!(message.contains(part), "{part} in: {message}");
    }
    let failed: Vec<_> = json["trace"]
        .as_array()
        .expect("trace")
        .iter()
        .filter(|entry| entry["result"] == "-1 EMFILE")
        .collect();
    assert_eq!(failed.len(), 1, "the clients stop at the first EMFILE");
    let stopped_at = failed[0]["name"].as_str().expect("named");
    assert!(
        message.contains(&format!("'{stopped_at}'")),
        "names the client that failed ({stopped_at}): {message}"
    );

    // Every descriptor is in use, and the table still lists all 64 of them.
    let fds = json["fds"].as_array().expect("fds");
    assert_eq!(fds.len(), 64, "{fds:?}");
    let names = names_in_fd_table(&json);
    for name in ["stdin", "poll", "waker", "s", "c1"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(
        !json["probe_errors"]
            .as_array()
            .expect("probe_errors")
            .iter()
            .any(|error| error.as_str().is_some_and(|e| e.contains("/proc/self/fd"))),
        "the descriptor table was read: {}",
        json["probe_errors"]
    );
}

#[test]
fn auto_accept_that_runs_out_says_emfile() {
    // 25 clients and 25 accepted connections do not fit in 40 descriptors.
    let json = json_limited(
        40,
        "server s 127.0.0.1:0 64; auto-accept s on; clients c 25 s",
    );
    let errors = json["errors"].as_array().expect("errors");
    assert!(!errors.is_empty(), "{json}");
    assert!(
        errors.iter().any(|error| error["message"]
            .as_str()
            .is_some_and(|message| message.contains("EMFILE"))),
        "{errors:?}"
    );
    assert!(json["fds"].as_array().expect("fds").len() >= 39);
}

#[test]
fn the_status_line_says_emfile() {
    let output = sockscope_limited(
        64,
        "snapshot --run 'server s 127.0.0.1:0 300; clients c 200 s' --size 200x40",
    );
    assert!(output.status.success());
    let screen = String::from_utf8_lossy(&output.stdout);
    let status = screen.lines().last().expect("a status line");
    assert!(status.contains("EMFILE"), "status line: {status}");
    assert!(
        !screen.contains("no descriptors"),
        "the descriptor panel has rows:\n{screen}"
    );
}
