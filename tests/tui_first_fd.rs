//! The real dashboard in tmux: the lab's first socket is fd 3 there too (the terminal, the input
//! thread and the signal pipe are made above the low numbers), the screen says so with lsof's
//! kind, and quitting removes the lab's private directory.

mod common;

use std::time::Duration;

use common::tmux::{Tmux, child_of};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(10);

#[test]
fn the_dashboards_first_socket_is_fd_3_and_quitting_removes_the_lab_directory() {
    let command =
        format!("RUST_BACKTRACE=0 {BINARY} --lang en --run 'socket s tcp; fifo fr fw'; sleep 30");
    let tmux = Tmux::start(120, 40, &command);
    let shell = tmux.format("#{pane_pid}");
    let pid = child_of(&shell, WAIT).expect("sockscope started");
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("fw"));
    assert!(
        screen.lines().any(|line| line
            .trim_start_matches('│')
            .trim_start()
            .starts_with("3 IPv4/TCP")),
        "fd 3 is the lab's socket, shown as IPv4/TCP:\n{screen}"
    );
    // The kernel's word: /proc says fd 3 of the dashboard's process is a socket, and its FIFO
    // lives in the lab's own directory.
    let fd3 = std::fs::read_link(format!("/proc/{pid}/fd/3")).expect("fd 3 is open");
    assert!(fd3.to_string_lossy().starts_with("socket:["), "{fd3:?}");
    let fifo = std::fs::read_link(format!("/proc/{pid}/fd/4")).expect("fd 4 is open");
    let dir = fifo.parent().expect("a directory").to_owned();
    assert!(
        dir.file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("sockscope-lab-")),
        "{fifo:?}"
    );
    assert!(dir.is_dir());

    tmux.keys(&["q"]);
    let deadline = std::time::Instant::now() + WAIT;
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/fd")).exists(),
        "sockscope quit"
    );
    assert!(
        !dir.exists(),
        "{} is removed when the lab quits",
        dir.display()
    );
}
