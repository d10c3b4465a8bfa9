//! Shared helpers for integration tests: a lab driven by a script, `ss` parsed, the CLI run.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sockscope::command::parse_script;
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::model::{Snapshot, TcpState};
use sockscope::script;

/// A fresh lab that has run `commands`.
pub fn lab_running(commands: &str) -> HeadlessLab {
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    run(&mut lab, commands);
    lab
}

pub fn run(lab: &mut HeadlessLab, commands: &str) {
    let parsed = parse_script(commands).expect("script parses");
    script::run(lab, &parsed).expect("script runs");
}

/// Takes snapshots until `done` holds or `limit` passes; returns the last one.
pub fn snapshot_when(
    lab: &mut HeadlessLab,
    limit: Duration,
    done: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let deadline = Instant::now() + limit;
    loop {
        lab.invalidate_kernel_view();
        let snapshot = lab.snapshot();
        if done(&snapshot) || Instant::now() >= deadline {
            return snapshot;
        }
        lab.run_for(Duration::from_millis(10), Duration::from_millis(10))
            .expect("loop runs");
    }
}

/// One line of `ss -Htan` / `ss -Huan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsRow {
    pub state: TcpState,
    pub recv_q: u32,
    pub send_q: u32,
    pub local: SocketAddr,
    pub peer: Option<SocketAddr>,
}

fn ss_state(word: &str) -> TcpState {
    match word {
        "ESTAB" => TcpState::Established,
        "UNCONN" => TcpState::Unconnected,
        other => TcpState::from_name(&other.replace("FIN-WAIT-", "FIN_WAIT"))
            .unwrap_or_else(|| panic!("unknown ss state {other}")),
    }
}

fn ss_addr(text: &str) -> Option<SocketAddr> {
    if text.ends_with(":*") {
        return None;
    }
    // ss prints IPv6 as [::1]:80 and may add %interface; the std parser takes the rest.
    let cleaned = text.replace("%lo", "");
    cleaned.parse().ok()
}

/// Runs `ss` with the given flags (e.g. `-Htan`) and parses every row.
pub fn ss(flags: &str) -> Vec<SsRow> {
    let output = Command::new("ss")
        .arg(flags)
        .output()
        .expect("ss runs (iproute2 installed)");
    assert!(output.status.success(), "ss {flags} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // udp rows from `ss -Huan` have no Netid column with -u alone: State Recv Send Local Peer.
            if fields.len() < 5 {
                return None;
            }
            Some(SsRow {
                state: ss_state(fields[0]),
                recv_q: fields[1].parse().ok()?,
                send_q: fields[2].parse().ok()?,
                local: ss_addr(fields[3])?,
                peer: ss_addr(fields[4]),
            })
        })
        .collect()
}

/// The sockscope binary with `args`.
pub fn sockscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(args)
        .env("LANG", "C")
        .output()
        .expect("sockscope runs")
}
pub mod tmux;
pub mod wire;

/// A `Command` for the sockscope binary, run as nobody (`setpriv`, uid and gid 65534, no groups)
/// when asked: how the tests show what an ordinary user gets.
pub fn sockscope_command(as_nobody: bool) -> Command {
    if as_nobody {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_sockscope"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_sockscope"))
    }
}
