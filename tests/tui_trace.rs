//! `sockscope trace -- <C echo server>` in a real terminal (tmux): the board shows the server's
//! `listen()`, the lab's clients typed at the prompt reach it, the accept shows in the trace panel,
//! and q ends the program.

mod common;
mod trace_programs;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use trace_programs::{SERVER, compiled};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// The number after `prefix` on `screen`.
fn number_after(screen: &str, prefix: &str) -> Option<u32> {
    let rest = &screen[screen.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn lab_clients_from_the_prompt_show_as_accepts_in_the_trace_panel() {
    let server = compiled("server", SERVER);
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} trace --lang en -- {} 0; sleep 30",
        server.display()
    );
    let tmux = Tmux::start(150, 42, &command);
    let started = tmux.wait_for(WAIT, |screen| {
        screen.contains("listen(3, 3) = 0") && screen.contains("port=")
    });
    assert!(started.contains("listen(3, 3) = 0"), "{started}");
    let port = number_after(&started, "port=").expect("the server printed its port");
    let pid = number_after(&started, "  pid ").expect("the header names the pid");
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    tmux.type_text(":");
    tmux.type_text(&format!("clients c 2 127.0.0.1:{port}"));
    tmux.keys(&["Enter"]);
    // The syscall shows the moment it returns; the listener's queue on the next probe after it.
    let poked = tmux.wait_for(WAIT, |screen| {
        screen.contains("accept(3, NULL) = 4")
            && screen.contains("lab:c2")
            && screen.contains("accept queue 1/3")
    });
    assert!(poked.contains("accept(3, NULL) = 4"), "{poked}");
    assert!(
        poked.contains("lab:c1") && poked.contains("lab:c2"),
        "{poked}"
    );
    // The second client waits in the accept queue while the server reads from the first.
    assert!(poked.contains("accept queue 1/3"), "{poked}");

    tmux.keys(&["q"]);
    let deadline = Instant::now() + WAIT;
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "q ended the traced program"
    );
    let after = tmux.wait_for(WAIT, |screen| !screen.contains("sockscope trace"));
    assert!(
        !after.contains("sockscope trace"),
        "the board closed:\n{after}"
    );
}
