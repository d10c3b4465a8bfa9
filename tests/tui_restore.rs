//! The terminal is always restored: on `q`, on SIGTERM, SIGINT and SIGHUP, and after a panic.
//! Each test runs the real binary in a tmux pane, then asks tmux and `stty` about the terminal.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, child_of};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

/// Runs sockscope in a pane whose shell then prints the exit status and the tty modes.
fn start(extra: &str) -> (Tmux, u32) {
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} --run 'server srv 127.0.0.1:0 2' {extra}; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 30"
    );
    let tmux = Tmux::start(80, 24, &command);
    let shell = tmux.format("#{pane_pid}");
    let pid = child_of(&shell, Duration::from_secs(5)).expect("sockscope started");
    // Wait until the dashboard is up: the alternate screen is on.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tmux.format("#{alternate_on}") != "1" && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        tmux.format("#{alternate_on}"),
        "1",
        "the dashboard entered the alternate screen: {}",
        tmux.screen()
    );
    (tmux, pid)
}

fn assert_restored(tmux: &Tmux, expected_exit: &str) {
    // stty prints after the exit status: wait for both.
    let screen = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("EXIT=") && screen.contains("icanon")
    });
    assert!(
        screen.contains(&format!("EXIT={expected_exit}")),
        "{screen}"
    );
    assert_eq!(tmux.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(tmux.format("#{cursor_flag}"), "1", "cursor shown");
    let modes = screen
        .lines()
        .find(|line| line.contains("icanon"))
        .unwrap_or_else(|| panic!("stty printed the modes: {screen}"));
    assert!(
        modes.split_whitespace().any(|mode| mode == "icanon"),
        "raw mode off: {modes}"
    );
    assert!(
        modes.split_whitespace().any(|mode| mode == "echo"),
        "echo back on: {modes}"
    );
}

fn kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn quitting_with_q_restores_the_terminal() {
    let (tmux, _) = start("");
    tmux.keys(&["q"]);
    assert_restored(&tmux, "0");
}

#[test]
fn sigterm_restores_the_terminal() {
    let (tmux, pid) = start("");
    kill(pid, "TERM");
    assert_restored(&tmux, "143");
}

#[test]
fn sigint_and_sighup_restore_the_terminal() {
    for (signal, status) in [("INT", "130"), ("HUP", "129")] {
        let (tmux, pid) = start("");
        kill(pid, signal);
        assert_restored(&tmux, status);
    }
}

#[test]
fn a_panic_restores_the_terminal() {
    let (tmux, _) = start("--panic-after 1500");
    // stty prints after the exit status: wait for both.
    let screen = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("EXIT=") && screen.contains("icanon")
    });
    assert!(
        screen.contains("panic requested"),
        "the panic message is readable: {screen}"
    );
    assert_restored(&tmux, "101");
}
