//! The lab's descriptors get the numbers a small C program would: sockscope makes its own (epoll,
//! eventfd, netlink, packet, signal socketpair) while placeholders hold the low numbers, so the
//! first `socket s tcp` of a fresh lab is fd 3 — headless, in `sockscope snapshot`, and on the
//! dashboard — and every other descriptor in the table says what it is for.
//!
//! One test in this file on purpose: the descriptor table belongs to the whole process, and a
//! second test running beside it would take numbers.

mod common;

use std::time::{Duration, Instant};

use common::{lab_running, sockscope};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sockscope::command::parse_script;
use sockscope::lab::LabConfig;
use sockscope::model::Snapshot;
use sockscope::runtime::Runtime;
use sockscope::runtime::input::ScriptedInput;
use sockscope::runtime::reactor::Reactor;
use sockscope::screens::{LabScreen, lab};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;

fn fd_of(fds: &serde_json::Value, name: &str) -> i64 {
    fds.as_array()
        .expect("fds")
        .iter()
        .find(|fd| fd["name"] == name && fd["purpose"].is_null())
        .and_then(|fd| fd["fd"].as_i64())
        .unwrap_or_else(|| panic!("{name} in {fds}"))
}

/// Every descriptor has a name: the lab's own handle, or what sockscope (or the parent) has it
/// for, never a bare number with a generic explanation.
fn assert_all_named(snapshot: &Snapshot) {
    for fd in &snapshot.fds {
        assert!(
            fd.name.is_some(),
            "fd {} ({}) has no name: {:#?}",
            fd.fd,
            fd.target,
            snapshot.fds
        );
        if let Some(purpose) = &fd.purpose {
            let key = format!("fd_purpose.{purpose}");
            for lang in [Lang::En, Lang::Ko] {
                assert_ne!(
                    sockscope::text::get(lang, &key),
                    key,
                    "{key} is explained ({lang:?})"
                );
            }
        }
    }
}

fn first_socket_in_the_dashboard() -> Snapshot {
    let terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    let mut runtime: Runtime<TestBackend, ScriptedInput> = Runtime::new(
        Reactor::new().expect("reactor"),
        terminal,
        ScriptedInput::new(),
        None,
        None,
    )
    .expect("runtime");
    let options = lab::Options {
        lab: LabConfig::default(),
        lang: Lang::En,
        theme: ThemeName::Default,
        refresh: Duration::from_millis(20),
        mouse: false,
        presenter: false,
        script: parse_script("socket s tcp").expect("parses"),
        panic_after: None,
        lecture: None,
    };
    let mut screen = LabScreen::new(runtime.reactor(), options).expect("lab screen");
    runtime.begin(&mut screen).expect("size");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        runtime
            .turn(&mut screen, Some(Duration::from_millis(20)))
            .expect("turn");
        let snapshot = &screen.app().snapshot;
        if snapshot.socket("s").is_some() || Instant::now() >= deadline {
            let text = sockscope::export::buffer_to_text(runtime.terminal().backend().buffer());
            assert!(
                text.lines().any(|line| line
                    .trim_start_matches('│')
                    .trim_start()
                    .starts_with("3 IPv4/TCP")),
                "the descriptor table shows fd 3 as IPv4/TCP:\n{text}"
            );
            return snapshot.clone();
        }
    }
}

#[test]
fn a_fresh_lab_gives_its_first_socket_fd_3_and_names_every_other_descriptor() {
    let open_at_start = sockscope::kernel::fd_table::read_own().expect("/proc/self/fd");
    assert!(
        !open_at_start.iter().any(|link| link.fd == 3),
        "fd 3 was already open when the test started (inherited from the parent): {open_at_start:?}"
    );

    // Headless, in this process.
    let mut headless = lab_running("socket s tcp; socket t tcp");
    let snapshot = headless.snapshot();
    let s = snapshot.socket("s").expect("s");
    assert_eq!(
        s.fd, 3,
        "the first socket of a fresh lab: {:#?}",
        snapshot.fds
    );
    assert_eq!(snapshot.socket("t").expect("t").fd, 4);
    assert_all_named(&snapshot);
    let own: Vec<i32> = snapshot
        .fds
        .iter()
        .filter(|fd| fd.purpose.as_deref().is_some_and(|p| p != "inherited") && fd.fd > 2)
        .map(|fd| fd.fd)
        .collect();
    assert!(
        own.len() >= 4 && own.iter().all(|&fd| fd >= 16),
        "sockscope's own descriptors sit above the low numbers: {own:?}"
    );
    drop(headless);

    // The dashboard, in this process (the runtime a terminal would run, with a test backend).
    let dashboard = first_socket_in_the_dashboard();
    assert_eq!(
        dashboard.socket("s").expect("s").fd,
        3,
        "{:#?}",
        dashboard.fds
    );
    assert_all_named(&dashboard);

    // `sockscope snapshot`, a process of its own.
    let output = sockscope(&["snapshot", "--run", "socket s tcp", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(fd_of(&json["fds"], "s"), 3, "{}", json["fds"]);
    for fd in json["fds"].as_array().expect("fds") {
        assert!(fd["name"].is_string(), "every descriptor is named: {fd}");
    }

    // The descriptor-reuse lecture shows a textbook program's numbers: 3, 4, 5, then the lowest
    // free number again.
    let step = |n: &str| -> serde_json::Value {
        let output = sockscope(&[
            "snapshot", "--demo", "fd-table", "--step", n, "--format", "json",
        ]);
        assert_eq!(output.status.code(), Some(0), "step {n}");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        json["fds"].clone()
    };
    let first = step("1");
    assert_eq!(
        [
            fd_of(&first, "f1"),
            fd_of(&first, "srv"),
            fd_of(&first, "f2")
        ],
        [3, 4, 5]
    );
    assert_eq!(
        fd_of(&step("2"), "f3"),
        4,
        "the socket's number, reused by a file"
    );
    assert_eq!(fd_of(&step("3"), "s"), 3, "f1's number, reused by a socket");
}
