//! `--net private` and `sockscope exec`: a running lab's private network entered from outside, as
//! root and as an ordinary user; finding the lab; clear errors when there is none or several.
//!
//! Each test gives its labs a runtime directory of its own (`XDG_RUNTIME_DIR`), so tests running at
//! the same time never see each other's labs. Background labs are `snapshot`s with a bounded
//! `--wait`; a guard kills them if a test fails early.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A runtime directory of one test, removed when the test ends.
struct RuntimeDir(PathBuf);

impl std::ops::Deref for RuntimeDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh runtime directory for one test (owned by `owner`, so the lab can write its file).
fn runtime_dir(test: &str, owner: Option<u32>) -> RuntimeDir {
    let dir = std::env::temp_dir().join(format!("sockscope-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("runtime dir");
    if let Some(uid) = owner {
        chown(&dir, Some(uid), Some(uid)).expect("chown");
    }
    RuntimeDir(dir)
}

fn command(as_nobody: bool, runtime: &Path) -> Command {
    let mut command = common::sockscope_command(as_nobody);
    command.env("XDG_RUNTIME_DIR", runtime).env("LANG", "C");
    command
}

/// A lab running in the background; killed on drop if still running.
struct BackgroundLab {
    child: Option<Child>,
    pid: u32,
}

impl BackgroundLab {
    fn start(as_nobody: bool, runtime: &Path, script: &str, wait: &str) -> Self {
        let child = command(as_nobody, runtime)
            .args([
                "snapshot", "--net", "private", "--run", script, "--wait", wait, "--format", "json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lab starts");
        // setpriv execs sockscope, so the child's pid is the lab's.
        let pid = child.id();
        let lab = Self {
            child: Some(child),
            pid,
        };
        let file = runtime.join("sockscope").join(format!("lab-{pid}"));
        wait_until("the lab's runtime file", || file.exists());
        lab
    }

    /// Waits for the lab to finish its `--wait` and returns its JSON.
    fn finish(mut self) -> Value {
        let output = self
            .child
            .take()
            .unwrap()
            .wait_with_output()
            .expect("lab ends");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON")
    }
}

impl Drop for BackgroundLab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `done` until it holds, for at most 10 seconds (a bound, not a timing assertion).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exec(as_nobody: bool, runtime: &Path, lab: Option<u32>, cmd: &[&str]) -> Output {
    let mut command = command(as_nobody, runtime);
    command.arg("exec");
    if let Some(pid) = lab {
        command.args(["--lab", &pid.to_string()]);
    }
    command.arg("--").args(cmd).output().expect("exec runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The lab's listening address, as `ss` inside its network reports it.
fn listening_port(as_nobody: bool, runtime: &Path) -> u16 {
    let mut port = None;
    wait_until("the lab's listener", || {
        let listing = stdout(&exec(as_nobody, runtime, None, &["ss", "-Htln"]));
        port = listing
            .split_whitespace()
            .find_map(|field| field.parse::<SocketAddr>().ok())
            .map(|addr| addr.port());
        port.is_some()
    });
    port.unwrap()
}

#[test]
fn exec_runs_ss_and_a_python_client_inside_the_running_private_lab() {
    let runtime = runtime_dir("exec-root", None);
    let lab = BackgroundLab::start(false, &runtime, "server s 127.0.0.1:0 5", "5s");
    let port = listening_port(false, &runtime);
    let listing = stdout(&exec(false, &runtime, None, &["ss", "-tan"]));
    assert!(
        listing.contains(&format!("127.0.0.1:{port}")) && listing.contains("LISTEN"),
        "{listing}"
    );
    let client = exec(
        false,
        &runtime,
        Some(lab.pid),
        &[
            "python3",
            "-c",
            &format!(
                "import socket; s = socket.create_connection(('127.0.0.1', {port})); \
                 print(s.getsockname()[1])"
            ),
        ],
    );
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let client_port: u16 = stdout(&client).trim().parse().expect("the client's port");
    let json = lab.finish();
    let listener = &json["listeners"][0];
    assert_eq!(listener["accept_queue"], 1, "{listener}");
    assert_eq!(
        listener["waiting"][0]["peer"],
        format!("127.0.0.1:{client_port}")
    );
    // The lab captured the stranger's handshake too: everything in its network is its own.
    let flags: Vec<&str> = json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["from"] == format!("127.0.0.1:{client_port}"))
        .map(|s| s["flags"].as_str().unwrap())
        .collect();
    assert_eq!(flags[..2], ["SYN", "ACK"], "{flags:?}");
    // The lab removed its runtime file when it ended.
    let left: Vec<_> = std::fs::read_dir(runtime.join("sockscope"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_ordinary_user_enters_their_own_private_lab() {
    if !is_root() {
        eprintln!("NOTE: cannot switch to nobody without root; the root test covers exec");
        return;
    }
    let runtime = runtime_dir("exec-nobody", Some(NOBODY));
    let lab = BackgroundLab::start(
        true,
        &runtime,
        "server s 127.0.0.1:0 3; clients c 2 s",
        "3s",
    );
    let port = listening_port(true, &runtime);
    let listing = stdout(&exec(true, &runtime, Some(lab.pid), &["ss", "-tan"]));
    let established = listing
        .lines()
        .filter(|line| line.starts_with("ESTAB") && line.contains(&format!(":{port}")))
        .count();
    // Both ends of both connections: the clients and the server's queued sockets.
    assert_eq!(established, 4, "{listing}");
    let json = lab.finish();
    assert_eq!(json["capture"]["active"], true);
    assert_eq!(json["listeners"][0]["accept_queue"], 2);
}

#[test]
fn exec_without_a_running_lab_says_where_it_looked() {
    let runtime = runtime_dir("exec-none", None);
    let output = exec(false, &runtime, None, &["true"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no private lab is running"), "{message}");
    assert!(
        message.contains(&runtime.display().to_string()),
        "{message}"
    );
    // A process that shares our network is no lab to enter.
    let own = exec(false, &runtime, Some(std::process::id()), &["true"]);
    assert_eq!(own.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&own.stderr).contains("not a lab in a private network"));
}

#[test]
fn exec_with_several_labs_lists_them_and_a_stale_file_is_ignored() {
    let runtime = runtime_dir("exec-several", None);
    let files = runtime.join("sockscope");
    std::fs::create_dir_all(&files).unwrap();
    // A lab that was killed: its process no longer exists.
    std::fs::write(
        files.join("lab-999999999"),
        "pid=999999999\nnet=net:[1]\nuserns=0\n",
    )
    .unwrap();
    let first = BackgroundLab::start(false, &runtime, "server a 127.0.0.1:0 1", "2s");
    let only = exec(false, &runtime, None, &["true"]);
    assert!(
        only.status.success(),
        "{}",
        String::from_utf8_lossy(&only.stderr)
    );
    assert!(
        !files.join("lab-999999999").exists(),
        "the stale file is removed"
    );
    let second = BackgroundLab::start(false, &runtime, "server b 127.0.0.1:0 1", "2s");
    let output = exec(false, &runtime, None, &["true"]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("several private labs"), "{message}");
    assert!(message.contains(&first.pid.to_string()), "{message}");
    assert!(message.contains(&second.pid.to_string()), "{message}");
    // Each lab is its own network: `a` is not in `b`'s.
    let in_second = stdout(&exec(false, &runtime, Some(second.pid), &["ss", "-Htln"]));
    assert_eq!(in_second.lines().count(), 1, "{in_second}");
}

#[test]
fn a_command_that_does_not_exist_exits_127() {
    let runtime = runtime_dir("exec-missing", None);
    let lab = BackgroundLab::start(false, &runtime, "server s 127.0.0.1:0 1", "2s");
    let output = exec(
        false,
        &runtime,
        Some(lab.pid),
        &["/nonexistent/sockscope-test-command"],
    );
    assert_eq!(output.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot run"));
}

/// 100 MB through a connection in the private network (both ends started with `sockscope exec`):
/// the lab keeps the handshake and the latest segments, counts every segment it let go, and its
/// memory stays small.
#[test]
fn a_100_mb_transfer_is_captured_bounded_with_its_drops_counted() {
    const BULK: &str = "
import socket, threading
total = 100 * 1024 * 1024
server = socket.socket()
server.bind(('127.0.0.1', 0))
server.listen(1)
def sink():
    conn, _ = server.accept()
    got = 0
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        got += len(data)
    print(got)
reader = threading.Thread(target=sink)
reader.start()
client = socket.create_connection(server.getsockname())
block = b'x' * (1 << 20)
for _ in range(100):
    client.sendall(block)
client.close()
reader.join()
";
    let runtime = runtime_dir("bulk", None);
    let lab = BackgroundLab::start(false, &runtime, "server s 127.0.0.1:0 1", "4s");
    let bulk = exec(false, &runtime, Some(lab.pid), &["python3", "-c", BULK]);
    assert!(
        bulk.status.success(),
        "{}",
        String::from_utf8_lossy(&bulk.stderr)
    );
    assert_eq!(stdout(&bulk).trim(), (100 * 1024 * 1024).to_string());
    let status = std::fs::read_to_string(format!("/proc/{}/status", lab.pid)).expect("status");
    let rss_kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    assert!(rss_kb < 64 * 1024, "the lab holds {rss_kb} kB");
    let json = lab.finish();
    let capture = &json["capture"];
    let connections = capture["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1, "{capture}");
    let bulk_conn = &connections[0];
    let kept = bulk_conn["segments"].as_u64().unwrap();
    let dropped = bulk_conn["dropped"].as_u64().unwrap();
    assert_eq!(kept, 16 + 496, "the head and the ring are full");
    assert!(dropped > 0);
    assert_eq!(capture["captured"].as_u64().unwrap(), kept + dropped);
    assert_eq!(capture["ring_drops"].as_u64().unwrap(), dropped);
    let segments = json["segments"].as_array().unwrap();
    assert_eq!(segments[0]["flags"], "SYN", "the handshake stays visible");
    assert_eq!(segments[16]["dropped_before"].as_u64().unwrap(), dropped);
    assert!(capture["kernel_drops"].is_u64());
}

/// Runs sockscope as nobody inside a user namespace whose `user.max_user_namespaces` is 0: a kernel
/// that refuses new user namespaces, made for real (root maps uid 0 and 65534 into a new user
/// namespace, whose root lowers the limit for everything nested in it).
fn in_a_kernel_without_user_namespaces(args: &[&str]) -> Option<Output> {
    let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
    let inner = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=65534 \
         --regid=65534 --clear-groups {} {}",
        env!("CARGO_BIN_EXE_sockscope"),
        quoted.join(" ")
    );
    // The outer shell waits for its id maps; the inner one starts with root's capabilities there.
    let script = format!("read go; exec sh -c \"{inner}\"");
    let mut child = Command::new("unshare")
        .args(["-U", "sh", "-c", &script])
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let pid = child.id();
    let ours = std::fs::metadata("/proc/self/ns/user").ok()?;
    wait_until("the new user namespace", || {
        std::fs::metadata(format!("/proc/{pid}/ns/user")).is_ok_and(|ns| ns.ino() != ours.ino())
    });
    for map in ["uid_map", "gid_map"] {
        // One write: the kernel takes a map only once.
        std::fs::write(format!("/proc/{pid}/{map}"), "0 0 1\n65534 65534 1\n").ok()?;
    }
    child.stdin.take()?.write_all(b"go\n").ok()?;
    child.wait_with_output().ok()
}

#[test]
fn a_kernel_that_refuses_user_namespaces_gets_the_reason_and_the_remedy() {
    if !is_root() {
        eprintln!("NOTE: making a restricted user namespace needs root; skipped");
        return;
    }
    let Some(private) = in_a_kernel_without_user_namespaces(&[
        "snapshot",
        "--net",
        "private",
        "--run",
        "server s 127.0.0.1:0 1",
        "--format",
        "json",
    ]) else {
        eprintln!("NOTE: unshare(1) cannot make a user namespace here; skipped");
        return;
    };
    assert_eq!(private.status.code(), Some(1), "{private:?}");
    let message = String::from_utf8_lossy(&private.stderr);
    assert!(
        message.contains("--net private is not available"),
        "{message}"
    );
    assert!(
        message.contains("user.max_user_namespaces = 0"),
        "{message}"
    );
    assert!(
        message.contains("sudo sysctl user.max_user_namespaces="),
        "{message}"
    );
    assert!(private.stdout.is_empty(), "nothing half-done");

    let host = in_a_kernel_without_user_namespaces(&[
        "snapshot",
        "--run",
        "server s 127.0.0.1:0 1",
        "--format",
        "json",
    ])
    .expect("runs");
    assert!(
        host.status.success(),
        "{}",
        String::from_utf8_lossy(&host.stderr)
    );
    let json: Value = serde_json::from_slice(&host.stdout).expect("JSON");
    let remedy = json["capture"]["remedy"].as_str().unwrap();
    assert!(
        remedy.contains("--net private will not work here either"),
        "{remedy}"
    );
    assert!(remedy.contains("user.max_user_namespaces = 0"), "{remedy}");
}
