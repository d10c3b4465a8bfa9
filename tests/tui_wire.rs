//! The wire in the real dashboard, in tmux: held segments drawn in flight on the ladder, the
//! wire's state in the status line and at the ladder's foot, and the keys that deliver (`v`) and
//! drop (`X`) them. Needs root here (the hosts' TUN devices); skips with the reason otherwise.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::tmux::Tmux;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(15);

/// A runtime directory of this test (its lab file), removed when the test ends.
struct RuntimeDir(PathBuf);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The row holding `needle`, if one does.
fn row_of(screen: &str, needle: &str) -> Option<usize> {
    screen.lines().position(|line| line.contains(needle))
}

#[test]
fn held_segments_fly_on_the_ladder_and_v_and_x_deliver_and_drop_them() {
    if !rustix::process::geteuid().is_root() || sockscope::net::wire::probe().is_err() {
        eprintln!("SKIPPED: making the wire's TUN devices needs root here");
        return;
    }
    let runtime =
        RuntimeDir(std::env::temp_dir().join(format!("sockscope-tui-wire-{}", std::process::id())));
    std::fs::create_dir_all(&runtime.0).expect("runtime dir");
    let tmux = Tmux::start(
        170,
        45,
        &format!(
            "XDG_RUNTIME_DIR={} RUST_BACKTRACE=0 {BINARY} --net wire --lang en --no-mouse \
             --run 'wire hold on; server srv@b; client c@a srv'; sleep 30",
            runtime.0.display()
        ),
    );
    // The SYN is held: its arrow stops midway, numbered, and the status line says so.
    let screen = tmux.wait_for(WAIT, |screen| {
        screen.contains("SYN_SENT") && screen.contains(" held ")
    });
    let syn = row_of(&screen, " SYN #").unwrap_or_else(|| panic!("held SYN:\n{screen}"));
    assert!(
        screen.lines().nth(syn).unwrap().contains(" held "),
        "{screen}"
    );
    assert!(screen.contains("wire: hold on (1 held)"), "{screen}");
    assert!(
        screen.contains("wire: hold on · 1 held · delay 0ms · loss 0% seed 1 · 0 dropped"),
        "the ladder's foot:\n{screen}"
    );
    assert!(
        screen.contains("198.18.0.2:"),
        "srv listens on host b:\n{screen}"
    );

    // v delivers it: the SYN arrow reaches the server, whose SYN-ACK is now the one held.
    tmux.keys(&["v"]);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("SYN-ACK #"));
    let syn_ack = row_of(&screen, "SYN-ACK #").unwrap_or_else(|| panic!("{screen}"));
    assert!(
        screen.lines().nth(syn_ack).unwrap().contains("held"),
        "{screen}"
    );
    assert!(screen.contains("SYN_RECV"), "{screen}");
    assert!(
        row_of(&screen, "─ SYN seq=0").is_some(),
        "the delivered SYN is drawn whole:\n{screen}"
    );

    // X drops it: its arrow ends at an X, and the wire counts one dropped.
    tmux.keys(&["X"]);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("1 dropped"));
    assert!(
        screen.contains("wire: hold on (0 held), 1 dropped"),
        "{screen}"
    );
    let dropped = row_of(&screen, "SYN-ACK").unwrap_or_else(|| panic!("{screen}"));
    assert!(
        screen.lines().nth(dropped).unwrap().contains("X─"),
        "{screen}"
    );

    // The client's timer runs on: its SYN comes again, held and marked as a retransmission.
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("RETX"));
    assert!(screen.contains("RETX"), "{screen}");
    tmux.keys(&["q"]);
}

#[test]
fn a_nat_rule_brings_the_nat_table_on_screen_and_the_ladder_names_the_host_side() {
    if !rustix::process::geteuid().is_root() || sockscope::net::wire::probe().is_err() {
        eprintln!("SKIPPED: making the wire's TUN devices needs root here");
        return;
    }
    let runtime = RuntimeDir(
        std::env::temp_dir().join(format!("sockscope-tui-wire-nat-{}", std::process::id())),
    );
    std::fs::create_dir_all(&runtime.0).expect("runtime dir");
    let tmux = Tmux::start(
        170,
        45,
        &format!(
            "XDG_RUNTIME_DIR={} RUST_BACKTRACE=0 {BINARY} --net wire --lang en --no-mouse \
             --run 'socket app@b tcp; bind app 198.18.0.2:80; listen app 8; \
             wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80; client c@a 198.18.0.254:8080; \
             wait 100ms; accept app as s'; sleep 30",
            runtime.0.display()
        ),
    );
    // The panel takes the port map's place: the entry with its three tuples and both counts.
    let screen = tmux.wait_for(WAIT, |screen| {
        screen.contains("NAT table (1)") && screen.contains(" open ")
    });
    let entry = row_of(&screen, "198.18.0.254:8080 <-> 198.18.0.2:80")
        .unwrap_or_else(|| panic!("the NAT entry:\n{screen}"));
    let line = screen.lines().nth(entry).unwrap();
    assert!(line.contains("tcp   198.18.0.1:"), "{screen}");
    assert!(line.contains(" open "), "{screen}");
    assert!(
        !screen.contains("port map"),
        "the NAT table replaced it:\n{screen}"
    );
    // The ladder says whose side of the rewrite it draws.
    assert!(
        screen.contains("host a's side") || screen.contains("host b's side"),
        "{screen}"
    );
    tmux.keys(&["q"]);
}
