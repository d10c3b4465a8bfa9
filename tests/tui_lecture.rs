//! Lecture mode in tmux: stepping back (close everything, replay) lands on the same state as
//! stepping forward to the same step.

mod common;

use std::time::Duration;

use common::tmux::Tmux;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// The screen with every number replaced by `#` (ports, fds, inodes and ages differ between two
/// runs of the same step; the states, names, queues drawn as slots and the narration must not).
fn normalized(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|line| {
            let mut out = String::new();
            let mut in_number = false;
            for ch in line.chars() {
                if ch.is_ascii_digit() {
                    if !in_number {
                        out.push('#');
                    }
                    in_number = true;
                } else {
                    in_number = false;
                    out.push(ch);
                }
            }
            out.trim_end().to_owned()
        })
        .collect()
}

/// The rows that show kernel state (descriptors, listeners, connections) and the narration's
/// step counter; the trace and status line are history, not state.
fn state_rows(screen: &str) -> Vec<String> {
    normalized(screen).into_iter().take(13).collect()
}

fn at_step(tmux: &Tmux, step: usize, steps: usize) -> String {
    let marker = format!("{step}/{steps}");
    let screen = tmux.wait_for(WAIT, |screen| screen.contains(&marker));
    assert!(screen.contains(&marker), "at step {marker}:\n{screen}");
    // The step has settled when its kernel-state rows stop changing over a few probes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut last = state_rows(&screen);
    let mut steady = 0;
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = tmux.screen();
        let rows = state_rows(&now);
        steady = if rows == last { steady + 1 } else { 0 };
        last = rows;
        if steady >= 3 || std::time::Instant::now() >= deadline {
            return now;
        }
    }
}

#[test]
fn stepping_back_lands_on_the_same_state_as_stepping_forward() {
    let tmux = Tmux::start(
        80,
        24,
        &format!("RUST_BACKTRACE=0 {BINARY} demo backlog --lang en --no-mouse; sleep 30"),
    );
    at_step(&tmux, 1, 4);
    tmux.keys(&["Right"]);
    at_step(&tmux, 2, 4);
    tmux.keys(&["Space"]);
    let forward = at_step(&tmux, 3, 4);
    tmux.keys(&["Right"]);
    at_step(&tmux, 4, 4);
    tmux.keys(&["Left"]);
    let back = at_step(&tmux, 3, 4);

    assert!(
        forward.contains("SYN_SENT") || forward.contains("[#]"),
        "step 3 shows the queue:\n{forward}"
    );
    assert_eq!(
        state_rows(&forward),
        state_rows(&back),
        "forward:\n{forward}\nback:\n{back}"
    );
    tmux.keys(&["q"]);
}
