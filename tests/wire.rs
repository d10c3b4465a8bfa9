//! `--net wire`: two hosts joined by sockscope. The handshake stepped one segment at a time (the
//! kernel's states at each step, also through the `handshake-step` lecture and the other wire
//! lectures); 10 MB through a lossy wire; a one-way delay the kernel's RTT follows; nothing left
//! behind by a SIGKILL; the fallback message for an ordinary user.
//!
//! Making the hosts needs root here (`/dev/net/tun` is root-only on these machines): without it
//! the tests that need a wire say why and skip. The 10 MB test makes the wire inside this test
//! process (root may: only a user namespace needs a process without threads); every other test
//! runs the binary, each with a runtime directory of its own.

mod common;

use common::wire::{in_process_wire, lock};

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sockscope::command::{Command as LabCommand, WireCommand};
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::model::WireHost;
use sockscope::net::wire::{self, address};

macro_rules! need_wire {
    () => {
        if let Some(why) = common::wire::no_wire() {
            eprintln!("SKIPPED: no wire on this machine ({why})");
            return;
        }
    };
}

/// A runtime directory of one test (so its lab files are its own), removed when dropped.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sockscope-wire-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("runtime dir");
        Self(dir)
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn command(runtime: &Path) -> Command {
    let mut command = common::sockscope_command(false);
    command.env("XDG_RUNTIME_DIR", runtime).env("LANG", "C");
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `snapshot --net wire --run SCRIPT --format json`.
fn wire_snapshot(runtime: &Path, script: &str) -> Value {
    let output = command(runtime)
        .args([
            "snapshot", "--net", "wire", "--run", script, "--wait", "10ms", "--format", "json",
        ])
        .output()
        .expect("sockscope runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn socket<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["sockets"]
        .as_array()
        .and_then(|sockets| sockets.iter().find(|socket| socket["name"] == name))
        .unwrap_or_else(|| panic!("no socket {name}: {json}"))
}

fn listener<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["listeners"]
        .as_array()
        .and_then(|listeners| listeners.iter().find(|listener| listener["name"] == name))
        .unwrap_or_else(|| panic!("no listener {name}: {json}"))
}

fn segment_flags(json: &Value) -> Vec<(String, Option<String>)> {
    json["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|segment| {
            (
                segment["flags"].as_str().unwrap_or_default().to_owned(),
                segment["wire"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

const HANDSHAKE: &str = "wire hold on; server srv@b; client c@a srv; wait 100ms";

#[test]
fn the_handshake_delivered_segment_by_segment_shows_each_state_at_its_step() {
    need_wire!();
    let runtime = RuntimeDir::new("handshake");
    let delivered = |count: usize| {
        let more = "; wire deliver; wait 50ms".repeat(count);
        wire_snapshot(&runtime.0, &format!("{HANDSHAKE}{more}"))
    };

    // SYN held: the client is in SYN_SENT, the server has heard nothing.
    let json = delivered(0);
    assert_eq!(socket(&json, "c")["host"], "a");
    assert_eq!(socket(&json, "srv")["host"], "b");
    let server: SocketAddr = socket(&json, "srv")["local"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let client: SocketAddr = socket(&json, "c")["local"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(server.ip(), IpAddr::V4(address::DEFAULT_B.address));
    assert_eq!(client.ip(), IpAddr::V4(address::DEFAULT_A.address));
    assert_eq!(socket(&json, "c")["state"], "SYN_SENT");
    assert_eq!(listener(&json, "srv")["syn_queue"], 0);
    assert_eq!(segment_flags(&json), [("SYN".into(), Some("held".into()))]);
    assert_eq!(json["wire"]["hold"], true);
    assert_eq!(json["wire"]["held"].as_array().unwrap().len(), 1);
    let hosts = json["wire"]["hosts"].as_array().unwrap();
    assert_eq!(hosts[0]["address"], "198.18.0.1/24");
    assert_eq!(hosts[1]["address"], "198.18.0.2/24");

    // SYN delivered, SYN-ACK held: the server's connection waits in the SYN queue, SYN_RECV.
    let json = delivered(1);
    assert_eq!(socket(&json, "c")["state"], "SYN_SENT");
    let srv = listener(&json, "srv");
    assert_eq!(srv["syn_queue"], 1);
    assert_eq!(srv["accept_queue"], 0);
    assert_eq!(srv["half_open"][0]["state"], "SYN_RECV");
    assert_eq!(
        segment_flags(&json),
        [
            ("SYN".into(), None),
            ("SYN-ACK".into(), Some("held".into()))
        ]
    );

    // SYN-ACK delivered, final ACK held: the client is ESTABLISHED, the server still SYN_RECV.
    let json = delivered(2);
    assert_eq!(socket(&json, "c")["state"], "ESTABLISHED");
    assert_eq!(listener(&json, "srv")["syn_queue"], 1);
    assert_eq!(listener(&json, "srv")["accept_queue"], 0);

    // Final ACK delivered: ESTABLISHED, moved from the SYN queue to the accept queue.
    let json = delivered(3);
    let srv = listener(&json, "srv");
    assert_eq!(srv["syn_queue"], 0);
    assert_eq!(srv["accept_queue"], 1);
    assert_eq!(srv["waiting"][0]["state"], "ESTABLISHED");
    assert!(
        segment_flags(&json).iter().all(|(_, wire)| wire.is_none()),
        "{json}"
    );
    assert_eq!(json["wire"]["held"].as_array().unwrap().len(), 0);
}

#[test]
fn every_wire_lecture_holds_at_every_step_headless() {
    need_wire!();
    let runtime = RuntimeDir::new("lectures");
    let wire_lectures: Vec<_> = sockscope::scenario::builtins()
        .into_iter()
        .filter(|scenario| scenario.wire)
        .collect();
    let names: Vec<&str> = wire_lectures.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "handshake-step",
            "syn-retransmit",
            "close-step",
            "slow-network",
            "nat-port-forward"
        ]
    );
    // Each in both languages: the narration differs, the checks must hold all the same.
    for (scenario, lang) in wire_lectures
        .iter()
        .flat_map(|scenario| [(scenario, "en"), (scenario, "ko")])
    {
        // The last step replays every step before it, each checked against the kernel.
        let output = command(&runtime.0)
            .args([
                "snapshot",
                "--lang",
                lang,
                "--demo",
                &scenario.name,
                "--format",
                "json",
            ])
            .output()
            .expect("sockscope runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{} ({lang}): {}",
            scenario.name,
            stderr(&output)
        );
        let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(
            json["capture"]["network"], "wire",
            "{} selects the wire",
            scenario.name
        );
    }
    // A wire lecture cannot run elsewhere, and says so.
    let output = command(&runtime.0)
        .args(["snapshot", "--demo", "handshake-step", "--net", "host"])
        .output()
        .expect("sockscope runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--net wire"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_one_way_delay_of_200ms_makes_connect_take_400ms_and_rtt_follows() {
    need_wire!();
    let runtime = RuntimeDir::new("delay");
    let json = wire_snapshot(
        &runtime.0,
        "wire delay 200ms; server srv@b; client c@a srv; wait 700ms",
    );
    let c = socket(&json, "c");
    assert_eq!(c["state"], "ESTABLISHED");
    assert!(c["rtt_us"].as_u64().unwrap() >= 400_000, "{c}");
    // The connect's duration as the kernel's segments tell it: from the SYN leaving host a to the
    // final ACK, sent the moment the SYN-ACK arrived.
    let segments = json["segments"].as_array().unwrap();
    let syn = segments.iter().find(|s| s["flags"] == "SYN").unwrap();
    let ack = segments
        .iter()
        .find(|s| s["flags"] == "ACK" && s["from_name"] == "c")
        .unwrap();
    let took = ack["t_us"].as_u64().unwrap() - syn["t_us"].as_u64().unwrap();
    assert!(took >= 400_000, "connect took {took} us");
    assert_eq!(json["wire"]["delay_a_to_b_ms"], 200);
    assert_eq!(json["wire"]["delay_b_to_a_ms"], 200);
}

/// What goes through the lossy wire.
const TOTAL: usize = 10 << 20;

#[test]
fn a_reset_lab_replays_the_stepped_handshake_without_the_old_segments_in_the_way() {
    need_wire!();
    let _guard = lock();
    in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    let script = "wire hold on; server srv@b; client c@a srv; wait 100ms";
    common::run(
        &mut lab,
        &format!(
            "{script}; wire deliver; wait 50ms; wire deliver; wait 50ms; wire deliver; wait 50ms; accept srv as s"
        ),
    );
    assert_eq!(
        lab.snapshot().socket("s").map(|s| s.host),
        Some(Some(WireHost::B))
    );
    // Stepping back: the lab closes everything (FINs leave both hosts) and replays.
    lab.reset();
    common::run(&mut lab, script);
    let snapshot = lab.snapshot();
    let wire = snapshot.wire.as_ref().expect("wire");
    assert_eq!(wire.held.len(), 1, "only the new SYN is held: {wire:?}");
    assert_eq!(snapshot.segments.len(), 1, "{:?}", snapshot.segments);
    common::run(&mut lab, "wire deliver; wait 50ms");
    let snapshot = lab.snapshot();
    let srv = snapshot.listener("srv").expect("srv");
    assert_eq!(
        srv.syn_queue, 1,
        "the new SYN was delivered, not an old FIN"
    );
}

/// Pseudo-random but reproducible bytes: byte `i` of the stream.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

#[test]
fn ten_megabytes_through_a_wire_losing_2_percent_arrive_intact_and_in_order() {
    need_wire!();
    let _guard = lock();
    let hosts = in_process_wire();
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    lab.execute(&LabCommand::Wire(WireCommand::Loss {
        ppm: 20_000,
        seed: 7,
    }))
    .expect("loss set");

    // The server on b, the client on a (this thread lives on a; threads it starts do too).
    let listener = hosts
        .on_host(WireHost::B, || {
            TcpListener::bind(SocketAddr::new(IpAddr::V4(hosts.b.address.address), 0))
        })
        .unwrap()
        .expect("listener on b");
    let target = listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader_done = Arc::clone(&done);
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut received = 0;
        let mut buffer = vec![0; 1 << 16];
        let mut intact = true;
        while received < TOTAL {
            let count = stream.read(&mut buffer).expect("read");
            assert!(count > 0, "early end of stream at {received}");
            intact &= buffer[..count]
                .iter()
                .enumerate()
                .all(|(at, byte)| *byte == pattern(received + at));
            received += count;
        }
        reader_done.store(true, Ordering::SeqCst);
        (received, intact)
    });
    let writer = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(target).expect("connect through the wire");
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        stream.write_all(&data).expect("write");
        stream
    });

    // The wire runs on the lab's loop until the reader has everything (bounded, not timed).
    let deadline = Instant::now() + Duration::from_mins(1);
    let mut retransmissions_seen = BTreeSet::new();
    while !done.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the transfer did not finish");
        lab.run_for(Duration::from_millis(50), Duration::from_millis(50))
            .expect("loop runs");
        let snapshot = lab.snapshot();
        retransmissions_seen.extend(
            snapshot
                .segments
                .iter()
                .filter(|segment| segment.retransmission)
                .filter_map(|segment| segment.wire_id),
        );
    }
    let (received, intact) = reader.join().expect("reader");
    let _stream = writer.join().expect("writer");
    assert_eq!(received, TOTAL);
    assert!(intact, "bytes arrived changed or out of order");
    let info = lab.snapshot().wire.expect("wire info");
    assert!(info.lost > 0, "2% of thousands of segments: some lost");
    assert_eq!(info.loss, "2%");
    assert_eq!(info.seed, 7);
    assert!(
        !retransmissions_seen.is_empty(),
        "TCP recovered by retransmitting, and the ladder marks it"
    );
}

/// `net:[INODE]` namespaces some process still holds (as its own or through a descriptor).
fn namespaces_in_use() -> BTreeSet<u64> {
    let mut held = BTreeSet::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return held;
    };
    for process in processes.flatten() {
        let path = process.path();
        let links = std::fs::read_dir(path.join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|fd| fd.path())
            .chain(std::iter::once(path.join("ns/net")));
        for link in links {
            if let Ok(target) = std::fs::read_link(&link) {
                let target = target.to_string_lossy();
                if let Some(inode) = target
                    .strip_prefix("net:[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|inode| inode.parse().ok())
                {
                    held.insert(inode);
                }
            }
        }
    }
    held
}

fn root_links() -> BTreeSet<String> {
    let output = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split(':').nth(1).map(|name| name.trim().to_owned()))
        .collect()
}

struct Killed(Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_sigkilled_wire_lab_leaves_no_namespace_and_no_device_behind() {
    need_wire!();
    let runtime = RuntimeDir::new("sigkill");
    let links_before = root_links();
    let child = command(&runtime.0)
        .args([
            "snapshot",
            "--net",
            "wire",
            "--run",
            "wire hold on; server srv@b; client c@a srv; wait 50ms; wire deliver",
            "--wait",
            "60s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lab starts");
    let pid = child.id();
    let mut child = Killed(Some(child));
    let file = runtime.0.join("sockscope").join(format!("lab-{pid}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&file).is_ok_and(|text| text.contains("wire_b_fd=")) {
        assert!(Instant::now() < deadline, "no lab file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let lab_file = std::fs::read_to_string(&file).unwrap();
    let b_fd: u32 = lab_file
        .lines()
        .find_map(|line| line.strip_prefix("wire_b_fd="))
        .and_then(|fd| fd.parse().ok())
        .expect("b's descriptor");
    let inode_of = |path: String| {
        std::fs::read_link(path)
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("net:[")
            .trim_end_matches(']')
            .parse::<u64>()
            .unwrap()
    };
    let a = inode_of(format!("/proc/{pid}/ns/net"));
    let b = inode_of(format!("/proc/{pid}/fd/{b_fd}"));
    assert_ne!(a, b);

    // While it runs, `ss` inside each host agrees with the stepped handshake (SYN delivered,
    // SYN-ACK held): SYN-SENT on a, SYN-RECV and the listener on b.
    let ss = |host: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = command(&runtime.0)
                .args([
                    "exec",
                    "--lab",
                    &pid.to_string(),
                    "--host",
                    host,
                    "--",
                    "ss",
                    "-Htan",
                ])
                .output()
                .expect("exec runs");
            let text = String::from_utf8_lossy(&output.stdout).into_owned();
            if text.contains("SYN") || Instant::now() >= deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let on_a = ss("a");
    assert!(
        on_a.contains("SYN-SENT") && on_a.contains("198.18.0.1:"),
        "{on_a}"
    );
    let on_b = ss("b");
    assert!(
        on_b.contains("SYN-RECV") && on_b.contains("LISTEN"),
        "{on_b}"
    );
    assert!(namespaces_in_use().contains(&b));

    let mut process = child.0.take().unwrap();
    process.kill().expect("SIGKILL");
    process.wait().expect("reaped");
    // The kernel frees a namespace once nothing holds it: no process is in it or has a
    // descriptor of it, so neither host (nor its TUN device) is left.
    let held = namespaces_in_use();
    assert!(!held.contains(&a), "host a's namespace is still held");
    assert!(!held.contains(&b), "host b's namespace is still held");
    let links_after = root_links();
    let new: Vec<_> = links_after.difference(&links_before).collect();
    assert!(new.is_empty(), "new links in the root namespace: {new:?}");
    assert!(!links_after.iter().any(|link| link.starts_with("wire")));
}

#[test]
fn an_ordinary_user_gets_one_line_saying_what_failed_and_what_to_do() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED: needs root to run sockscope as nobody");
        return;
    }
    let output = common::sockscope_command(true)
        .env("LANG", "C")
        .args(["snapshot", "--net", "wire", "--run", "server srv@b"])
        .output()
        .expect("sockscope runs");
    let message = stderr(&output);
    if wire::probe().is_ok()
        && std::fs::metadata("/dev/net/tun").is_ok_and(|meta| {
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o006 == 0o006
        })
    {
        eprintln!("SKIPPED: /dev/net/tun is world-usable here; nobody may make a wire");
        return;
    }
    assert_eq!(output.status.code(), Some(74), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("/dev/net/tun"), "{message}");
    assert!(message.contains("EACCES"), "{message}");
    assert!(message.contains("Permission denied"), "{message}");
    assert!(message.contains("root"), "{message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn on_the_wire_the_first_sockets_are_fd_3_and_4_and_the_wires_descriptors_are_named() {
    need_wire!();
    let runtime = RuntimeDir::new("first-fd");
    let json = wire_snapshot(&runtime.0, "socket s tcp; socket t@b tcp");
    // The hosts are made before the low numbers are reserved for the lab; their descriptors must
    // still land above them, as a small C program's first sockets would be 3 and 4.
    assert_eq!(socket(&json, "s")["fd"], 3, "{json}");
    assert_eq!(socket(&json, "t")["fd"], 4, "{json}");
    assert_eq!(socket(&json, "t")["host"], "b", "{json}");
    let purposes: Vec<&str> = json["fds"]
        .as_array()
        .expect("fds")
        .iter()
        .filter_map(|fd| fd["purpose"].as_str())
        .collect();
    for purpose in [
        "wire-tun-a",
        "wire-tun-b",
        "wire-host-a",
        "wire-host-b",
        "sock_diag-b",
    ] {
        assert!(purposes.contains(&purpose), "{purpose} in {purposes:?}");
    }
    for fd in json["fds"].as_array().expect("fds") {
        if fd["purpose"]
            .as_str()
            .is_some_and(|p| p.starts_with("wire-"))
        {
            assert!(fd["fd"].as_i64().is_some_and(|n| n > 4), "{fd}");
        }
    }
}
