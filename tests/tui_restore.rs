//! The terminal is always restored: on `q`, on SIGTERM, SIGINT, SIGHUP and SIGQUIT, and after a
//! panic; Ctrl-Z / SIGTSTP hands it back to the shell and `fg` brings the dashboard back; a long
//! `wait` never freezes the loop. Each test runs the real binary in a tmux pane, then asks tmux
//! and `stty` about the terminal.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, child_of};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

/// Runs sockscope in a pane whose shell then prints the exit status and the tty modes.
fn start(extra: &str) -> (Tmux, u32) {
    start_args(&format!("--run 'server srv 127.0.0.1:0 2' {extra}"))
}

/// Runs `sockscope ARGS` in a pane whose shell then prints the exit status and the tty modes.
fn start_args(args: &str) -> (Tmux, u32) {
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} {args}; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 30"
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

#[test]
fn sigquit_restores_the_terminal() {
    let (tmux, pid) = start("");
    kill(pid, "QUIT");
    assert_restored(&tmux, "131");
}

/// A lecture whose second step waits 30 s.
fn long_wait_lecture() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sockscope-wait-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("long-wait.toml");
    std::fs::write(
        &path,
        r#"title.en = "A long wait"
title.ko = "긴 기다림"

[[step]]
run = "server srv 127.0.0.1:0 2"
say.en = "A listener."
say.ko = "리스너 하나."

[[step]]
run = "client c1 srv"
wait = "30s"
say.en = "A client, then a long wait."
say.ko = "클라이언트 하나, 그리고 긴 기다림."
"#,
    )
    .expect("scenario written");
    path
}

#[test]
fn q_during_a_long_lecture_wait_quits_at_once() {
    let scenario = long_wait_lecture();
    let (tmux, _) = start_args(&format!("demo {}", scenario.display()));
    tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("A listener.")
    });
    tmux.keys(&["Right"]);
    let waiting = tmux.wait_for(Duration::from_secs(10), |screen| screen.contains("waiting"));
    assert!(
        waiting.contains("wait 30s"),
        "the step's wait runs as a timer:\n{waiting}"
    );
    let pressed = std::time::Instant::now();
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(Duration::from_secs(20), |screen| screen.contains("EXIT="));
    let took = pressed.elapsed();
    // Far less than the 30 s the step waits: the wait did not block the loop.
    assert!(
        took < Duration::from_secs(10),
        "q took {took:?} during a 30 s wait:\n{screen}"
    );
    assert_restored(&tmux, "0");
    let _ = std::fs::remove_dir_all(scenario.parent().expect("dir"));
}

#[test]
fn ctrl_c_in_the_prompt_cancels_a_wait_and_the_lab_stays_up() {
    let (tmux, _) = start("");
    tmux.keys(&[":"]);
    tmux.type_text("wait 1h");
    tmux.keys(&["Enter"]);
    let waiting = tmux.wait_for(Duration::from_secs(10), |screen| screen.contains("waiting"));
    assert!(waiting.contains("wait 3600s"), "{waiting}");
    // A command typed during the wait queues behind it, and the queue is shown.
    tmux.keys(&[":"]);
    tmux.type_text("socket late tcp");
    tmux.keys(&["Enter"]);
    let queued = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("queued (1)")
    });
    assert!(queued.contains("queued (1)"), "{queued}");
    tmux.keys(&[":", "C-c"]);
    let cancelled = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.contains("cancelled")
    });
    assert!(cancelled.contains("dropped 1"), "{cancelled}");
    // Still running: a new command runs at once.
    tmux.keys(&[":"]);
    tmux.type_text("socket fresh tcp");
    tmux.keys(&["Enter"]);
    let after = tmux.wait_for(Duration::from_secs(10), |screen| screen.contains("fresh"));
    assert!(
        after.contains("fresh"),
        "the lab ran the next command:\n{after}"
    );
    assert!(
        !after.contains(" late "),
        "the dropped command never ran:\n{after}"
    );
    tmux.keys(&["q"]);
    assert_restored(&tmux, "0");
}

/// sockscope started from an interactive shell in the pane, so job control works.
fn start_in_shell() -> (Tmux, u32) {
    let tmux = Tmux::start(80, 24, "env PS1='$ ' bash --norc --noprofile -i");
    let shell = tmux.format("#{pane_pid}");
    // No `; echo` after it: bash goes on with a list when a job in it stops.
    tmux.type_text(&format!("{BINARY} --run 'server srv 127.0.0.1:0 2'"));
    tmux.keys(&["Enter"]);
    let pid = child_of(&shell, Duration::from_secs(5)).expect("sockscope started");
    wait_alternate(&tmux, "1");
    (tmux, pid)
}

fn wait_alternate(tmux: &Tmux, on: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tmux.format("#{alternate_on}") != on && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(tmux.format("#{alternate_on}"), on, "{}", tmux.screen());
}

/// The pane's tty modes, read from outside (`stty -F`).
fn pane_modes(tmux: &Tmux) -> Vec<String> {
    let tty = tmux.format("#{pane_tty}");
    let output = std::process::Command::new("stty")
        .args(["-a", "-F", &tty])
        .output()
        .expect("stty runs");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn process_state(pid: u32) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1.trim_start().to_owned();
            after.chars().next()
        })
        .unwrap_or('?')
}

fn suspend_and_resume(tmux: &Tmux, pid: u32, suspend: impl Fn()) {
    let before = tmux.screen().matches("Stopped").count();
    suspend();
    wait_alternate(tmux, "0");
    let stopped = tmux.wait_for(Duration::from_secs(10), |screen| {
        screen.matches("Stopped").count() > before
    });
    assert!(
        stopped.matches("Stopped").count() > before,
        "the shell took the terminal back:\n{stopped}"
    );
    assert_eq!(
        tmux.format("#{cursor_flag}"),
        "1",
        "cursor shown while stopped"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while process_state(pid) != 'T' && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(process_state(pid), 'T', "sockscope is stopped");
    tmux.type_text("fg");
    tmux.keys(&["Enter"]);
    wait_alternate(tmux, "1");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !pane_modes(tmux).iter().any(|mode| mode == "-icanon")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let modes = pane_modes(tmux);
    assert!(
        modes.iter().any(|mode| mode == "-icanon") && modes.iter().any(|mode| mode == "-echo"),
        "raw mode again after fg: {modes:?}"
    );
    // And the dashboard answers keys again.
    let screen = tmux.wait_for(Duration::from_secs(10), |screen| screen.contains("srv"));
    assert!(
        screen.contains("listeners"),
        "the dashboard is back:\n{screen}"
    );
}

#[test]
fn sigtstp_hands_the_terminal_back_and_fg_brings_the_dashboard_back() {
    let (tmux, pid) = start_in_shell();
    suspend_and_resume(&tmux, pid, || kill(pid, "TSTP"));
    // Ctrl-Z arrives as a key in raw mode: the same path.
    suspend_and_resume(&tmux, pid, || tmux.keys(&["C-z"]));
    tmux.keys(&["q"]);
    wait_alternate(&tmux, "0");
    // Until it has exited, sockscope's input thread may still read what is typed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.type_text("echo EXIT=$?");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(Duration::from_secs(10), |screen| screen.contains("EXIT=0"));
    // (readline keeps its own modes at the prompt: the cooked-mode check is the other tests'.)
    assert!(screen.contains("EXIT=0"), "{screen}");
}

#[test]
fn too_few_descriptors_is_a_clear_error() {
    let output = std::process::Command::new("bash")
        .args(["-c", &format!("ulimit -n 10; exec {BINARY}")])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exits non-zero: {stderr}");
    assert!(stderr.contains("ulimit -n 10"), "names the limit: {stderr}");
    assert!(stderr.contains("file descriptors"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "one plain line: {stderr}");
}
