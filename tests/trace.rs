//! `sockscope trace`'s foundations on real programs: C programs compiled here with the system's C
//! compiler, run under the tracer, checked against `/proc/PID/fd`, `ss` and `strace`.

mod common;
mod trace_programs;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sockscope::kernel::sock_diag::SockDiag;
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::model::TcpState;
use sockscope::trace::event::{Ending, Syscall};
use sockscope::trace::program::Program;
use sockscope::trace::session::{ProgramSnapshot, TracedRun};
use sockscope::trace::tracer::Limits;
use trace_programs::{SERVER, compiled};

/// A scripted client/server pair in one program: the parent listens, forks a client that sends
/// "ping", reads the answer and closes; the parent answers "pong", reads the end, closes both.
const PAIR: &str = r#"
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    if (listen(l, 1) != 0) return 1;
    socklen_t len = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &len);
    pid_t child = fork();
    char buf[16];
    if (child == 0) {
        close(l);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) _exit(2);
        write(c, "ping\n", 5);
        read(c, buf, sizeof buf);
        shutdown(c, SHUT_WR);
        close(c);
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    read(s, buf, sizeof buf);
    write(s, "pong\n", 5);
    read(s, buf, sizeof buf);
    close(s);
    close(l);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}
"#;

/// Forks 10 children that each open and close a socket; exits with the number that failed.
const FORKER: &str = r"
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
int main(void) {
    for (int i = 0; i < 10; i++) {
        if (fork() == 0) {
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (s < 0) _exit(1);
            close(s);
            _exit(0);
        }
    }
    int failed = 0, status;
    while (wait(&status) > 0) failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return failed;
}
";

/// Opens and closes 1000 sockets as fast as it can.
const FLOOD: &str = r"
#include <unistd.h>
#include <sys/socket.h>
int main(void) {
    for (int i = 0; i < 1000; i++) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        if (s < 0) return 1;
        close(s);
    }
    return 0;
}
";

fn program(binary: &Path, arguments: &[&str]) -> Program {
    let mut line = vec![OsString::from(binary)];
    line.extend(arguments.iter().map(OsString::from));
    Program::from_argv(line).expect("the compiled program is found")
}

/// Waits until the server under `run` (started with port 0: the kernel picks a free one, so no
/// other test can take it meanwhile) waits in `accept`, and returns the port it listens on, as
/// the program's own listener shows it. A server that failed says why (its standard error).
fn listening_port(run: &mut TracedRun) -> u16 {
    until(run, |run| {
        run.log().finished
            || run
                .log()
                .processes
                .get(&run.pid())
                .and_then(|leader| leader.waiting_in.as_deref())
                .is_some_and(|call| call.starts_with("accept"))
    });
    let mut diag = SockDiag::new().expect("sock_diag");
    let view = run.view(&mut diag);
    let listener = view.listeners.first().unwrap_or_else(|| {
        panic!(
            "the server listens and waits in accept: exit {:?}, stderr {:?}",
            view.exit, view.stderr
        )
    });
    listener.local.port()
}

/// Pumps `run` until `done` holds, at most 10 s.
/// Says whether `done` held in time.
fn until(run: &mut TracedRun, done: impl Fn(&TracedRun) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(run) {
        if Instant::now() >= deadline {
            return false;
        }
        run.settle(Duration::from_millis(20));
    }
    true
}

fn calls<'a>(snapshot: &'a ProgramSnapshot, name: &str) -> Vec<&'a Syscall> {
    snapshot
        .syscalls
        .iter()
        .filter(|s| s.syscall == name)
        .collect()
}

#[test]
fn listen_shows_the_descriptor_the_program_really_got() {
    let server = compiled("server", SERVER);
    let output = common::sockscope(&[
        "snapshot",
        "--trace",
        &format!("'{}' 0", server.display()),
        "--format",
        "json",
        "--wait",
        "10ms",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let program = &json["program"];
    // The program's own printout: "fd=N port=P".
    let printed = program["stdout"].as_str().expect("stdout");
    let fd: i64 = printed
        .split_whitespace()
        .find_map(|word| word.strip_prefix("fd="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the server printed its fd: {printed:?}"));
    let syscalls = program["syscalls"].as_array().expect("syscalls");
    let listen = syscalls
        .iter()
        .find(|s| s["syscall"] == "listen")
        .expect("listen traced");
    assert_eq!(listen["call"], format!("listen({fd}, 3)"));
    assert_eq!(listen["result"], "0");
    assert_eq!(listen["fd"], fd);
    assert_eq!(
        syscalls[0]["result"],
        fd.to_string(),
        "socket() returned it"
    );
    // The descriptor table from /proc/PID/fd has it as the listening socket.
    let fds = program["fds"].as_array().expect("fds");
    let entry = fds.iter().find(|e| e["fd"] == fd).expect("fd in the table");
    assert_eq!(entry["kind"], "socket");
    let listener = &program["listeners"][0];
    assert_eq!(listener["fd"], fd);
    assert_eq!(listener["backlog"], 3);
    // The lab's own fields are there too, with their usual meaning.
    assert!(json["fds"].is_array() && json["trace"].is_array());
}

#[test]
fn clients_wait_in_the_programs_accept_queue_as_ss_shows() {
    let server = compiled("server", SERVER);
    let mut run = TracedRun::start(program(&server, &["0"]), Limits::default(), None)
        .expect("the server starts under trace");
    let port = listening_port(&mut run);
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab");
    common::run(&mut lab, &format!("clients c 6 127.0.0.1:{port}"));
    // The server accepts c1 and then waits in read() on it: from then on its queue is still.
    until(&mut run, |run| {
        run.log()
            .processes
            .values()
            .any(|p| p.waiting_in.as_deref() == Some("read"))
    });
    let mut diag = SockDiag::new().expect("sock_diag");
    let snapshot = run.snapshot(&mut diag);
    let rows = common::ss("-Htan");

    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let listener = snapshot
        .listeners
        .iter()
        .find(|l| l.local == address)
        .expect("the program's listener");
    let ss_listener = rows
        .iter()
        .find(|r| r.state == TcpState::Listen && r.local == address)
        .expect("ss shows the listener");
    assert_eq!(listener.accept_queue, ss_listener.recv_q);
    assert_eq!(listener.backlog, ss_listener.send_q);
    assert_eq!(listener.backlog, 3);
    // A backlog of 3 lets 4 wait (N+1); c1 was accepted, when the queue held 4 or fewer, so 3 or
    // 4 are left, and the clients the full queue turned away are still in SYN_SENT.
    assert!((3..=4).contains(&listener.accept_queue), "{listener:?}");
    lab.invalidate_kernel_view();
    let syn_sent = lab
        .snapshot()
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::SynSent)
        .count();
    assert_eq!(1 + listener.accept_queue as usize + syn_sent, 6);

    // Established connections to the port, as ss sees them: the accepted one plus the waiting.
    let accepted = snapshot
        .sockets
        .iter()
        .find(|s| s.local == address && s.state == TcpState::Established)
        .expect("the accepted connection");
    let mut ss_peers: Vec<SocketAddr> = rows
        .iter()
        .filter(|r| r.state == TcpState::Established && r.local == address)
        .filter_map(|r| r.peer)
        .filter(|&peer| Some(peer) != accepted.remote)
        .collect();
    ss_peers.sort();
    let mut waiting: Vec<SocketAddr> = listener.waiting.iter().map(|w| w.peer).collect();
    waiting.sort();
    assert_eq!(waiting, ss_peers);
    assert_eq!(waiting.len(), listener.accept_queue as usize);

    // /proc/PID/fd agrees with the trace: listen() was called on the listener's descriptor.
    let listen = calls(&snapshot, "listen")[0];
    assert_eq!(listen.call, format!("listen({}, 3)", listener.fd));
    let link =
        std::fs::read_link(format!("/proc/{}/fd/{}", run.pid(), listener.fd)).expect("readlink");
    let inode = snapshot
        .sockets
        .iter()
        .find(|s| s.fd == listener.fd)
        .expect("listener socket")
        .inode;
    assert_eq!(link.to_string_lossy(), format!("socket:[{inode}]"));
    let accept = calls(&snapshot, "accept")[0];
    assert_eq!(accept.result, accepted.fd.to_string());
    run.end(Duration::from_secs(1));
    assert!(run.log().finished, "the server ended");
}

/// One traced call as both tools can say it: name, descriptor, result.
type Row = (String, Option<i64>, String);

/// `strace -ff -yy` output of one process: the socket calls, with close/read/write kept only on
/// sockets (`-yy` shows `3<TCP:[...]>`).
fn strace_rows(text: &str) -> Vec<Row> {
    const NETWORK: &[&str] = &[
        "socket",
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "getsockname",
        "getpeername",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "shutdown",
        "setsockopt",
        "getsockopt",
    ];
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once('(') else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let first_arg = rest.split([',', ')']).next().unwrap_or("");
        let on_socket = ["<TCP", "<UDP", "<UNIX", "<socket:"]
            .iter()
            .any(|kind| first_arg.contains(kind));
        let wanted =
            NETWORK.contains(&name) || (["close", "read", "write"].contains(&name) && on_socket);
        if !wanted {
            continue;
        }
        let fd = if matches!(name, "socket" | "socketpair") {
            None
        } else {
            first_arg
                .split('<')
                .next()
                .and_then(|n| n.trim().parse().ok())
        };
        let result = line.rsplit_once(" = ").map_or("", |(_, r)| r);
        let mut words = result.split_whitespace();
        let value = words.next().unwrap_or("");
        let value: String = value
            .chars()
            .take_while(|c| *c == '-' || c.is_ascii_digit())
            .collect();
        let result = if value == "-1" {
            format!("-1 {}", words.next().unwrap_or(""))
        } else {
            value
        };
        rows.push((name.to_owned(), fd, result));
    }
    rows
}

#[test]
fn traced_socket_calls_equal_what_strace_reports() {
    let pair = compiled("pair", PAIR);
    // strace first: one file per process (-ff), so no call is split by another process's.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("strace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("out");
    let status = Command::new("strace")
        .args([
            "-f",
            "-ff",
            "-qq",
            "-yy",
            "-e",
            "trace=network,close,read,write",
            "-o",
        ])
        .arg(&prefix)
        .arg(&pair)
        .status()
        .expect("strace runs (installed by .ci/run)");
    assert!(status.success(), "the pair ran under strace");
    let mut theirs: Vec<Vec<Row>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| strace_rows(&std::fs::read_to_string(entry.unwrap().path()).unwrap()))
        .collect();
    theirs.sort();

    let mut run = TracedRun::start(program(&pair, &[]), Limits::default(), None).expect("starts");
    until(&mut run, |run| run.log().finished);
    let mut diag = SockDiag::new().expect("sock_diag");
    let snapshot = run.snapshot(&mut diag);
    assert_eq!(
        snapshot.exit,
        Some(Ending::Exited(0)),
        "{}",
        snapshot.stderr
    );
    assert_eq!(snapshot.processes.len(), 2, "parent and the forked client");
    let mut by_pid: BTreeMap<i32, Vec<Row>> = BTreeMap::new();
    for call in &snapshot.syscalls {
        by_pid.entry(call.pid).or_default().push((
            call.syscall.to_owned(),
            call.fd.map(i64::from),
            call.result.clone(),
        ));
    }
    let mut ours: Vec<Vec<Row>> = by_pid.into_values().collect();
    ours.sort();
    assert_eq!(ours, theirs);
    // Sanity: the comparison covered the interesting calls.
    let all: Vec<&str> = snapshot.syscalls.iter().map(|s| s.syscall).collect();
    for name in [
        "socket", "bind", "listen", "accept", "connect", "read", "write", "shutdown", "close",
    ] {
        assert!(all.contains(&name), "{name} traced: {all:?}");
    }
    let read = snapshot
        .syscalls
        .iter()
        .find(|s| s.syscall == "read" && s.result == "5")
        .expect("a read of 5 bytes");
    assert!(
        read.call.contains("\"p"),
        "the data is shown: {}",
        read.call
    );
}

#[test]
fn a_program_that_does_not_exist_or_cannot_run_is_bad_input() {
    let run = |line: &str| common::sockscope(&["snapshot", "--trace", line, "--format", "json"]);
    let missing = run("no-such-program-sockscope-x --flag");
    assert_eq!(missing.status.code(), Some(2));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(
        message.contains("'no-such-program-sockscope-x' not found"),
        "{message}"
    );
    assert!(missing.stdout.is_empty());

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let text = dir.join("trace-not-a-program.txt");
    std::fs::write(&text, "not a program\n").unwrap();
    let not_executable = run(&text.display().to_string());
    assert_eq!(not_executable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_executable.stderr).contains("is not an executable file"));

    // Executable, but not a program the kernel can start: execve says ENOEXEC.
    let garbage = dir.join("trace-garbage");
    std::fs::write(&garbage, [0x7f, b'E', b'L', b'F', 0, 0, 0]).unwrap();
    std::fs::set_permissions(
        &garbage,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let unrunnable = run(&garbage.display().to_string());
    assert_eq!(unrunnable.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unrunnable.stderr);
    assert!(
        message.contains("execve failed: Exec format error"),
        "{message}"
    );

    let unbalanced = run("sh 'open");
    assert_eq!(unbalanced.status.code(), Some(2));

    // The listing format is the lab's alone; text and SVG draw the trace board.
    let listing = common::sockscope(&["snapshot", "--trace", "true", "--format", "listing"]);
    assert_eq!(listing.status.code(), Some(2));
}

#[test]
fn a_program_that_exits_at_once_is_shown_with_its_status() {
    let output = common::sockscope(&["snapshot", "--trace", "sh -c 'exit 3'", "--format", "json"]);
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["program"]["exit"], serde_json::json!({"exited": 3}));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("exited with status 3"), "{message}");
}

#[test]
fn processes_beyond_the_cap_are_followed_but_not_recorded() {
    let forker = compiled("forker", FORKER);
    let limits = Limits {
        processes: 4,
        ..Limits::default()
    };
    let mut run = TracedRun::start(program(&forker, &[]), limits, None).expect("starts");
    until(&mut run, |run| run.log().finished);
    let log = run.log();
    // Every child's socket() worked: an untraced one would have got ENOSYS from the filter.
    assert_eq!(log.processes[&run.pid()].ended, Some(Ending::Exited(0)));
    assert_eq!(log.processes.len(), 4);
    assert_eq!(log.unrecorded_processes, 7);
    let sockets = log
        .syscalls
        .iter()
        .filter(|s| s.syscall == "socket")
        .count();
    assert_eq!(sockets, 3, "only the recorded children's calls");
}

#[test]
fn every_forked_childs_calls_are_recorded_whichever_stop_comes_first() {
    // The kernel reports a new child's first stop and its parent's fork event in either order;
    // a child seen first runs on at once, so its calls must count from that moment. Ten runs of
    // ten children give the early order many chances.
    let forker = compiled("forker", FORKER);
    for round in 0..10 {
        let mut run =
            TracedRun::start(program(&forker, &[]), Limits::default(), None).expect("starts");
        until(&mut run, |run| run.log().finished);
        let log = run.log();
        assert_eq!(log.processes[&run.pid()].ended, Some(Ending::Exited(0)));
        let leader = run.pid();
        let children = log
            .processes
            .values()
            .filter(|p| p.parent == Some(leader) && !p.thread)
            .count();
        assert_eq!(children, 10, "round {round}: every child is recorded");
        let mut callers: Vec<i32> = log
            .syscalls
            .iter()
            .filter(|s| s.syscall == "socket" && !s.failed)
            .map(|s| s.pid)
            .collect();
        callers.sort_unstable();
        callers.dedup();
        assert_eq!(
            callers.len(),
            10,
            "round {round}: each child's socket() is in the log: {callers:?}"
        );
    }
}

#[test]
fn a_flood_of_syscalls_is_bounded_and_counted() {
    let flood = compiled("flood", FLOOD);
    let limits = Limits {
        channel: 16,
        ..Limits::default()
    };
    let mut run = TracedRun::start(program(&flood, &[]), limits, None).expect("starts");
    // Starting takes in what came already (on a busy machine, up to a channel's worth).
    let kept_at_start = run.log().syscalls.len() as u64;
    // Read nothing more until the program is gone, so the channel overflows.
    let proc_dir = PathBuf::from(format!("/proc/{}", run.pid()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_dir.exists() && Instant::now() < deadline {
        std::thread::yield_now();
    }
    until(&mut run, |run| run.log().finished);
    let log = run.log();
    assert_eq!(log.processes[&run.pid()].ended, Some(Ending::Exited(0)));
    assert!(log.events_dropped > 0, "the channel held 16 events");
    let seen = log.syscalls.len() as u64;
    // 2000 calls plus the start and end: each either kept or counted.
    assert!(
        seen + log.events_dropped >= 2000,
        "{seen} kept, {} dropped",
        log.events_dropped
    );
    assert!(
        seen <= kept_at_start + 16 + 2,
        "no more than the channel held were kept: {seen} ({kept_at_start} at the start)"
    );
}

#[test]
fn an_ordinary_user_can_trace_its_own_child() {
    let server = compiled("server", SERVER);
    let output = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sockscope"))
        .args(["snapshot", "--trace"])
        .arg(format!("'{}' 0", server.display()))
        .args(["--format", "json", "--wait", "10ms"])
        .output()
        .expect("setpriv runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let listen = json["program"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["syscall"] == "listen")
        .cloned()
        .expect("listen traced as nobody");
    assert_eq!(listen["result"], "0");
}

#[test]
fn the_tracer_wakes_the_loop_that_reads_it() {
    use mio::{Events, Poll, Token, Waker};
    let server = compiled("server", SERVER);
    let mut poll = Poll::new().expect("poll");
    let waker = std::sync::Arc::new(Waker::new(poll.registry(), Token(7)).expect("waker"));
    let mut run =
        TracedRun::start(program(&server, &["0"]), Limits::default(), Some(waker)).expect("starts");
    // No busy loop: the poll sleeps until the tracer has something, then the events are there.
    let mut events = Events::with_capacity(4);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut listened = false;
    while !listened && Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .expect("poll waits");
        assert!(events.iter().all(|event| event.token() == Token(7)));
        run.pump();
        listened = run.log().syscalls.iter().any(|s| s.syscall == "listen");
    }
    assert!(listened, "woken with the listen() in the channel");
}

/// A forking server in Python: the parent accepts and closes its copy of the connection, the child
/// closes the listener, echoes one message in upper case, then waits for the peer to close.
const FORKING_SERVER: &str = r"
import os, socket, sys
s = socket.socket()
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        s.close()
        c.sendall(c.recv(64).upper())
        c.recv(64)
        os._exit(0)
    c.close()
";

#[test]
fn a_forking_server_shows_both_processes_and_the_childs_calls() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let script = dir.join(format!("forking-{}.py", std::process::id()));
    std::fs::write(&script, FORKING_SERVER).unwrap();
    let python = Program::from_argv(vec![
        "python3".into(),
        script.clone().into_os_string(),
        "0".into(),
    ])
    .expect("python3 is on PATH");
    let mut run = TracedRun::start(python, Limits::default(), None).expect("starts");
    let port = listening_port(&mut run);
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab");
    common::run(
        &mut lab,
        &format!("client c 127.0.0.1:{port}; send c hello"),
    );
    let leader = run.pid();
    // The child has answered and waits for the next message; the parent waits in accept again.
    let settled = until(&mut run, |run| {
        let log = run.log();
        let child_waits = log
            .processes
            .values()
            .any(|p| p.parent == Some(leader) && p.waiting_in.as_deref() == Some("recvfrom"))
            && log.syscalls.iter().any(|s| s.syscall == "sendto");
        let parent_accepts = log.processes[&leader]
            .waiting_in
            .as_deref()
            .is_some_and(|call| call.starts_with("accept"));
        child_waits && parent_accepts
    });
    assert!(
        settled,
        "the child answered and waits, the parent accepts again: {:#?}\n{:#?}",
        run.log().processes,
        run.log().syscalls
    );
    let mut diag = SockDiag::new().expect("sock_diag");
    let snapshot = run.snapshot(&mut diag);
    let child = snapshot
        .processes
        .iter()
        .find(|p| p.parent == Some(leader) && !p.thread && p.ended.is_none())
        .expect("the forked child")
        .pid;
    let accept = snapshot
        .syscalls
        .iter()
        .find(|s| s.pid == leader && s.syscall.starts_with("accept") && !s.failed)
        .expect("the parent accepted");
    let connected: i32 = accept.result.parse().expect("a descriptor");
    let listener_fd = snapshot.listeners[0].fd;
    assert_eq!(snapshot.listeners[0].pid, leader);

    // The parent closed its copy after the fork; the child closed the listener.
    assert!(
        snapshot
            .syscalls
            .iter()
            .any(|s| s.pid == leader && s.call == format!("close({connected})") && s.result == "0"),
        "{:#?}",
        snapshot.syscalls
    );
    assert!(
        snapshot
            .syscalls
            .iter()
            .any(|s| s.pid == child && s.call == format!("close({listener_fd})"))
    );
    let fds_of = |pid: i32| -> Vec<i32> {
        snapshot
            .fds
            .iter()
            .filter(|f| f.pid == pid && f.kind == sockscope::model::FdKind::Socket)
            .map(|f| f.fd)
            .collect()
    };
    assert_eq!(fds_of(leader), [listener_fd]);
    assert_eq!(fds_of(child), [connected]);
    let socket = snapshot
        .sockets
        .iter()
        .find(|s| s.pid == child)
        .expect("the child's connection");
    assert_eq!(socket.state, TcpState::Established);
    assert_eq!(socket.role, sockscope::model::Role::Accepted);

    // The child's recv and send of what the lab's client sent.
    let of_child = |name: &str| {
        calls(&snapshot, name)
            .into_iter()
            .find(|s| s.pid == child)
            .unwrap_or_else(|| panic!("the child made {name}()"))
    };
    let recv = of_child("recvfrom");
    assert_eq!(
        recv.call,
        format!("recvfrom({connected}, \"hello\", 64, 0, NULL)")
    );
    assert_eq!(recv.result, "5");
    let send = of_child("sendto");
    let answer = format!("sendto({connected}, \"HELLO\", 5");
    assert!(send.call.starts_with(&answer), "{}", send.call);
    run.end(Duration::from_secs(1));
    std::fs::remove_file(&script).unwrap();
}

/// Ignores SIGTERM, then waits in `accept()` forever.
const STUBBORN: &str = r"
#include <signal.h>
#include <sys/socket.h>
int main(void) {
    signal(SIGTERM, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    listen(fd, 1);
    accept(fd, 0, 0);
    return 0;
}
";

#[test]
fn ending_sends_sigterm_then_sigkill_after_the_grace_period() {
    let server = compiled("server", SERVER);
    let mut polite = TracedRun::start(program(&server, &["0"]), Limits::default(), None).unwrap();
    assert!(polite.settle(Duration::from_secs(10)));
    let pid = polite.pid();
    polite.end(Duration::from_secs(10));
    assert_eq!(
        polite.log().processes[&pid].ended,
        Some(Ending::Signaled(libc::SIGTERM))
    );
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");

    let stubborn = compiled("stubborn", STUBBORN);
    let mut run = TracedRun::start(program(&stubborn, &[]), Limits::default(), None).unwrap();
    assert!(run.settle(Duration::from_secs(10)));
    let pid = run.pid();
    run.end(Duration::from_millis(200));
    assert_eq!(
        run.log().processes[&pid].ended,
        Some(Ending::Signaled(libc::SIGKILL))
    );
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");
}

/// A server the test starts itself (not under trace), and the descriptor and port it printed.
struct Untraced {
    child: std::process::Child,
    fd: i32,
    port: u16,
}

impl Untraced {
    fn start() -> Self {
        use std::io::BufRead as _;
        let server = compiled("server", SERVER);
        let mut child = Command::new(&server)
            .arg("0")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the server says its port");
        let field = |name: &str| -> i64 {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {line:?}"))
        };
        Self {
            fd: field("fd=") as i32,
            port: field("port=") as u16,
            child,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Untraced {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn attaching_to_a_running_server_shows_its_descriptors_sockets_and_later_syscalls() {
    let server = Untraced::start();
    let pid = server.pid().to_string();
    let run = format!("client c1 127.0.0.1:{}; send c1 attach-me", server.port);
    let output = common::sockscope(&[
        "snapshot",
        "--trace-pid",
        &pid,
        "--run",
        &run,
        "--wait",
        "300ms",
        "--format",
        "json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let program = &json["program"];
    assert!(program["untraced_reason"].is_null(), "{program}");
    // The listening descriptor the server printed, a socket in /proc and LISTEN in sock_diag.
    let fds = program["fds"].as_array().expect("fds");
    assert!(
        fds.iter()
            .any(|fd| fd["fd"] == server.fd && fd["kind"] == "socket"),
        "{fds:?}"
    );
    let listener = &program["listeners"][0];
    assert_eq!(listener["fd"], server.fd);
    assert_eq!(listener["backlog"], 3);
    assert_eq!(listener["local"], format!("127.0.0.1:{}", server.port));
    // What it did after the attach: accepted the lab's client and echoed its bytes.
    let calls: Vec<String> = program["syscalls"]
        .as_array()
        .expect("syscalls")
        .iter()
        .map(|call| {
            format!(
                "{} = {}",
                call["call"].as_str().unwrap(),
                call["result"].as_str().unwrap()
            )
        })
        .collect();
    let accepted = calls
        .iter()
        .find(|call| call.starts_with(&format!("accept({}", server.fd)))
        .unwrap_or_else(|| panic!("no accept in {calls:?}"));
    let connection: i32 = accepted
        .rsplit(" = ")
        .next()
        .unwrap()
        .parse()
        .expect("an fd");
    assert!(
        calls.contains(&format!("write({connection}, \"attach-me\", 9) = 9")),
        "{calls:?}"
    );
    // The accepted connection, with its TCP_INFO from sock_diag (INET_DIAG_INFO): it received
    // exactly the nine bytes the lab sent.
    let accepted_socket = program["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|socket| socket["fd"] == connection)
        .unwrap_or_else(|| panic!("fd {connection} in {program}"));
    assert_eq!(accepted_socket["state"], "ESTABLISHED");
    assert_eq!(
        accepted_socket["tcp"]["bytes_received"], 9,
        "{accepted_socket}"
    );
    // Detached: it runs on untraced and still echoes.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("still running");
    assert!(status.contains("TracerPid:\t0\n"), "{status}");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connects");
    stream.write_all(b"still").unwrap();
    let mut echoed = [0u8; 5];
    stream.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"still");
}

#[test]
fn an_ordinary_user_attaching_to_roots_process_is_told_why_and_shown_what_proc_allows() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let server = Untraced::start();
    let pid = server.pid().to_string();
    let output = common::sockscope_command(true)
        .args(["snapshot", "--trace-pid", &pid, "--format", "json"])
        .env("LANG", "C")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The errno and its meaning, whose process it is, who we are, and what would permit it.
    for part in [
        "PTRACE_SEIZE",
        "EPERM",
        "Operation not permitted",
        "uid 0",
        "uid 65534",
        "as root",
    ] {
        assert!(stderr.contains(part), "{part} in {stderr}");
    }
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let program = &json["program"];
    let reason = program["untraced_reason"].as_str().expect("a reason");
    assert!(stderr.trim().ends_with(reason), "{reason} / {stderr}");
    assert_eq!(program["syscalls"].as_array().map(Vec::len), Some(0));
    // /proc/PID/fd of another user's process is closed to us: said, not hidden.
    assert_eq!(program["fds"].as_array().map(Vec::len), Some(0));
    let errors = program["probe_errors"].to_string();
    assert!(
        errors.contains(&format!("/proc/{pid}/fd")) && errors.contains("Permission denied"),
        "{errors}"
    );
    // Untouched: not traced, still listening.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("running");
    assert!(status.contains("TracerPid:\t0\n"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.port)).is_ok());
}

#[test]
fn the_board_draws_at_any_size_and_says_when_it_is_too_small() {
    let server = compiled("server", SERVER);
    let line = format!("{} 0", server.display());
    for (size, expect) in [
        ("80x24", "listen(3, 3) = 0"),
        ("60x16", "its syscalls"),
        ("59x40", "too small"),
        ("20x5", "terminal too"),
        ("1x1", ""),
    ] {
        let output = common::sockscope(&[
            "snapshot", "--trace", &line, "--format", "text", "--size", size, "--wait", "0s",
        ]);
        assert_eq!(output.status.code(), Some(0), "{size}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(expect), "{size}:\n{text}");
    }
    let svg = common::sockscope(&[
        "snapshot", "--trace", &line, "--format", "svg", "--wait", "0s",
    ]);
    assert_eq!(svg.status.code(), Some(0));
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert!(svg.contains("listen(3, 3) = 0"));
}

#[test]
fn the_trace_command_refuses_a_missing_program_or_pid_before_opening_a_screen() {
    let missing = common::sockscope(&["trace", "--", "/no/such/server"]);
    assert_eq!(missing.status.code(), Some(2));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("'/no/such/server' not found"), "{message}");
    // No program at all: clap's usage error.
    assert_eq!(common::sockscope(&["trace"]).status.code(), Some(2));
    let no_pid = common::sockscope(&["snapshot", "--trace-pid", "999999999", "--format", "json"]);
    assert_eq!(no_pid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_pid.stderr).contains("no process 999999999"));
}
