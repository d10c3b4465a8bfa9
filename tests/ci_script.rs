//! `.ci/run` prints its closing total and keeps the suite's status, also when tests fail (it
//! used to end at the failing pipeline under `set -e`, before the total). The script is run with
//! a fake suite in place of `cargo test` (and no install step).

use std::process::Command;
use std::sync::Mutex;

/// One run at a time: the socket-file check of one run would see another run's planted file.
static ONE_RUN: Mutex<()> = Mutex::new(());

fn run_ci(fake_suite: &str) -> (String, Option<i32>) {
    let _one = ONE_RUN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run");
    let output = Command::new("bash")
        .arg(script)
        .env("SOCKSCOPE_CI_TEST_COMMAND", fake_suite)
        .output()
        .expect("bash runs .ci/run");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        output.status.code(),
    )
}

#[test]
fn a_failing_suite_still_gets_its_total_and_its_status() {
    let (out, status) = run_ci(
        "echo 'test result: ok. 5 passed; 0 failed; 0 ignored'; \
         echo 'test result: FAILED. 3 passed; 2 failed; 0 ignored'; exit 101",
    );
    assert_eq!(status, Some(101), "{out}");
    let last = out.lines().last().unwrap_or_default();
    assert_eq!(last, "total: 8 passed, 2 failed", "{out}");
}

#[test]
fn a_passing_suite_ends_with_its_total_and_status_0() {
    let (out, status) = run_ci("echo 'test result: ok. 7 passed; 0 failed; 1 ignored'");
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("total: 7 passed, 0 failed"),
        "{out}"
    );
}

#[test]
fn a_tmux_socket_left_behind_fails_the_run() {
    let dir = format!(
        "{}/tmux-{}",
        std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".to_owned()),
        rustix::process::getuid().as_raw()
    );
    let leftover = format!("{dir}/sockscope-test-ci-script-{}", std::process::id());
    let suite = format!(
        "mkdir -p {dir} && touch {leftover} && echo 'test result: ok. 1 passed; 0 failed; 0 ignored'"
    );
    let (out, status) = run_ci(&suite);
    let _ = std::fs::remove_file(&leftover);
    assert_eq!(status, Some(1), "{out}");
    assert!(out.contains("left 1 socket file"), "{out}");
}
