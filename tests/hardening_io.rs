//! Issue 8 ("Hardening"), the input/output half: the binary run the way a careless or hostile user
//! runs it. Each test is named after the defect of the list it guards (`d1_...` is defect
//! 1); every one of them failed before the fix.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use sockscope::model::{Proto, TcpState};
use sockscope::settings::ThemeName;
use sockscope::system::{Filter, SystemSnapshot, SystemSocket};
use sockscope::text::Lang;
use sockscope::ui::watch::counts_line;
use sockscope::watch::WatchApp;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

/// The exit statuses the README documents.
const OK: i32 = 0;
const CHECKS_FAILED: i32 = 1;
const BAD_INPUT: i32 = 2;
const IO_ERROR: i32 = 74;

/// A directory of its own under the temp directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "sockscope-hardening-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("temp dir created");
        Self(path)
    }

    /// Writes `contents` to `name` in the directory; its path as a string.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        fs::write(&path, contents).expect("temp file written");
        path.to_str().expect("UTF-8 temp path").to_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The binary with `args`, standard output to `stdout`, nothing on standard input. A `timeout`
/// wrapper makes sure the test ends even if the binary would block (as it did on a FIFO).
fn run_with(args: &[&str], stdout: Stdio) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg(BINARY)
        .args(args)
        .env("LANG", "C")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("sockscope runs")
}

fn run(args: &[&str]) -> Output {
    run_with(args, Stdio::piped())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the plain-message rule: every line starts with `sockscope: `, and standard error holds no
/// control character but the newlines that end lines (no ESC, no BEL, no colour, no backtrace).
fn assert_plain_lines(output: &Output, lines: usize) {
    let err = stderr(output);
    assert_eq!(err.lines().count(), lines, "{err:?}");
    for line in err.lines() {
        assert!(line.starts_with("sockscope: "), "{err:?}");
    }
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "no control characters on stderr: {err:?}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("BACKTRACE"),
        "{err}"
    );
}

const HEAD: &str = "title.en = \"test\"\ntitle.ko = \"시험\"\n";

fn step(body: &str) -> String {
    format!("[[step]]\n{body}say.en = \"words\"\nsay.ko = \"말\"\n")
}

// ---------------------------------------------------------------------------------------------
// Defect 1: durations overflow and panic.

#[test]
fn d1_a_wait_past_the_maximum_in_run_is_a_positioned_error() {
    let output = run(&["snapshot", "--run", "wait 9223372036854775807s"]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("line 1, column 6"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("at most 24h"),
        "{}",
        stderr(&output)
    );
    assert_plain_lines(&output, 1);
}

#[test]
fn d1_the_wait_flag_has_the_same_maximum() {
    let output = run(&[
        "snapshot",
        "--run",
        "server s",
        "--wait",
        "9223372036854775807s",
    ]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("at most 24h"),
        "{}",
        stderr(&output)
    );
    // The maximum itself is accepted (nothing runs that long here: the script is malformed).
    let output = run(&["snapshot", "--run", "bogus", "--wait", "24h"]);
    assert!(
        stderr(&output).contains("unknown verb"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn d1_a_scenario_wait_past_the_maximum_names_file_line_and_column() {
    let dir = TempDir::new();
    let source = format!(
        "{HEAD}{}{}",
        step("run = \"\"\nwait = \"1h\"\n"),
        step("run = \"\"\nwait = \"9223372036854775807s\"\n")
    );
    let file = dir.file("long-wait.toml", &source);
    let output = run(&["snapshot", "--demo", &file]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    // The second step's wait value, line 10, column 8; the first step's hour is fine.
    let err = stderr(&output);
    assert!(err.contains(&format!("{file}:10:8: ")), "{err}");
    assert!(err.contains("at most 24h"), "{err}");
    assert_plain_lines(&output, 1);
}

#[test]
fn d1_autoplay_and_the_panic_timer_are_bounded_by_clap() {
    let output = run(&["demo", "backlog", "--autoplay", "9223372036854775807"]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert!(stderr(&output).contains("1..=3600"), "{}", stderr(&output));
    let output = run(&["--panic-after", "18446744073709551615"]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("0..=86400000"),
        "{}",
        stderr(&output)
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 2: text from files reaches the terminal raw.

/// An OSC 0 (set the window title) and an OSC 52 (write the clipboard), as TOML escapes.
const OSC_TITLE: &str = "\\u001b]0;pwned\\u0007";
const OSC_CLIPBOARD: &str = "\\u001b]52;c;cHduZWQ=\\u0007";

fn assert_escaped(output: &Output) {
    let err = stderr(output);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(
        err.contains("\\x1b]"),
        "the sequence is shown escaped: {err:?}"
    );
}

#[test]
fn d2_an_unknown_key_a_wait_and_an_expectation_are_printed_escaped() {
    let dir = TempDir::new();
    for (name, body) in [
        ("key", format!("run = \"\"\n\"{OSC_TITLE}\" = 1\n")),
        ("wait", format!("run = \"\"\nwait = \"{OSC_CLIPBOARD}\"\n")),
        (
            "expect",
            format!("run = \"\"\nexpect = [\"srv.bogus{OSC_TITLE} == 1\"]\n"),
        ),
        (
            "expect-syntax",
            format!("run = \"\"\nexpect = [\"{OSC_CLIPBOARD}\"]\n"),
        ),
        ("run", format!("run = \"{OSC_TITLE}\"\n")),
    ] {
        let file = dir.file(&format!("{name}.toml"), format!("{HEAD}{}", step(&body)));
        let output = run(&["snapshot", "--demo", &file]);
        assert_eq!(
            output.status.code(),
            Some(BAD_INPUT),
            "{name}: {}",
            stderr(&output)
        );
        assert_escaped(&output);
        assert_plain_lines(&output, 1);
    }
}

#[test]
fn d2_a_failed_check_naming_hostile_text_is_printed_escaped() {
    let dir = TempDir::new();
    let body = format!("run = \"server srv\"\nexpect = [\"srv.state == \\\"{OSC_TITLE}\\\"\"]\n");
    let file = dir.file("check.toml", format!("{HEAD}{}", step(&body)));
    let output = run(&["snapshot", "--demo", &file, "--format", "json"]);
    assert_eq!(
        output.status.code(),
        Some(CHECKS_FAILED),
        "{}",
        stderr(&output)
    );
    assert_escaped(&output);
    assert_plain_lines(&output, 1);
}

#[test]
fn d2_a_file_name_and_an_argument_are_printed_escaped() {
    let output = run(&[
        "snapshot",
        "--demo",
        "/nonexistent/\u{1b}]0;pwned\u{7}.toml",
    ]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert_escaped(&output);
    assert_plain_lines(&output, 1);
    // clap quotes the argument; a newline in it must not forge a line of its own.
    let output = run(&["dump", "--state", "x\u{7}\nsockscope: forged"]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(!err.contains('\u{7}'), "{err:?}");
    assert!(
        !err.lines()
            .any(|line| line.starts_with("sockscope: forged")),
        "{err}"
    );
}

#[test]
fn d2_narration_with_control_characters_never_reaches_stdout_raw() {
    let dir = TempDir::new();
    let source = format!(
        "title.en = \"t{OSC_TITLE}\"\ntitle.ko = \"t\"\n[[step]]\nrun = \"open f /dev/null\"\nsay.en = \"{OSC_CLIPBOARD}\"\nsay.ko = \"k\"\n"
    );
    let file = dir.file("say.toml", source);
    for format in ["text", "svg", "listing"] {
        let output = run(&["snapshot", "--demo", &file, "--format", format]);
        assert_eq!(
            output.status.code(),
            Some(OK),
            "{format}: {}",
            stderr(&output)
        );
        assert!(
            !output.stdout.contains(&0x1b) && !output.stdout.contains(&0x07),
            "{format}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let output = run(&["demo", &file, "--print"]);
    assert_eq!(output.status.code(), Some(OK), "{}", stderr(&output));
    assert!(
        !output.stdout.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn d2_json_escapes_the_c1_controls_serde_json_leaves_raw() {
    let dir = TempDir::new();
    // U+009B is CSI to a terminal that reads C1 controls; the lab opens the file and the
    // descriptor table shows its path.
    let path = dir.file("csi\u{9b}2J\u{7f}.txt", "");
    let script = format!("open f \"{path}\"");
    for format in ["json", "listing", "text"] {
        let output = run(&["snapshot", "--run", &script, "--format", format]);
        assert_eq!(
            output.status.code(),
            Some(OK),
            "{format}: {}",
            stderr(&output)
        );
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(
            !stdout.contains(['\u{9b}', '\u{7f}', '\u{1b}']),
            "{format}: {stdout}"
        );
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&stdout).expect("still JSON");
            let targets: Vec<&str> = json["fds"]
                .as_array()
                .expect("fds")
                .iter()
                .filter_map(|fd| fd["target"].as_str())
                .collect();
            assert!(targets.contains(&path.as_str()), "{targets:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Defect 3: writing output can panic; I/O errors had status 1.

/// Standard output whose reader is already gone: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn d3_a_closed_pipe_ends_quietly() {
    for args in [
        &["snapshot", "--run", "server s", "--format", "json"][..],
        &["snapshot", "--demo", "backlog", "--step", "1"],
        &["demo", "--list"],
        &["demo", "backlog", "--print"],
        &["--help"],
    ] {
        let output = run_with(args, closed_pipe());
        assert_eq!(
            output.status.code(),
            Some(OK),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), "", "{args:?}");
    }
}

#[test]
fn d3_a_full_disk_is_one_line_and_the_io_status() {
    for args in [
        &["snapshot", "--run", "server s", "--format", "json"][..],
        &["demo", "--list"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens");
        let output = run_with(args, Stdio::from(full));
        assert_eq!(
            output.status.code(),
            Some(IO_ERROR),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("No space left on device"),
            "{}",
            stderr(&output)
        );
        assert_plain_lines(&output, 1);
    }
    // Also through -o, and a failed check does not hide the I/O error's status.
    let output = run(&["snapshot", "--run", "server s", "-o", "/dev/full"]);
    assert_eq!(output.status.code(), Some(IO_ERROR), "{}", stderr(&output));
    assert!(stderr(&output).contains("/dev/full"), "{}", stderr(&output));
    assert_plain_lines(&output, 1);
}

#[test]
fn d3_a_missing_output_directory_is_one_line_and_nothing_is_left_behind() {
    let dir = TempDir::new();
    let target = dir.path("no-such-dir").join("out.svg");
    let target = target.to_str().expect("UTF-8");
    let output = run(&[
        "snapshot", "--run", "server s", "--format", "svg", "-o", target,
    ]);
    assert_eq!(output.status.code(), Some(IO_ERROR), "{}", stderr(&output));
    assert!(stderr(&output).contains("out.svg"), "{}", stderr(&output));
    assert_plain_lines(&output, 1);
    assert!(!Path::new(target).exists());
}

#[test]
fn d3_the_four_exit_statuses_are_distinct() {
    let dir = TempDir::new();
    let wrong = dir.file(
        "wrong.toml",
        format!(
            "{HEAD}{}",
            step("run = \"server srv\"\nexpect = [\"srv.state == CLOSE\"]\n")
        ),
    );
    let ok = run(&["snapshot", "--demo", "server-life", "--format", "json"]);
    assert_eq!(ok.status.code(), Some(OK), "{}", stderr(&ok));
    let failed = run(&["snapshot", "--demo", &wrong, "--format", "json"]);
    assert_eq!(
        failed.status.code(),
        Some(CHECKS_FAILED),
        "{}",
        stderr(&failed)
    );
    let bad = run(&["snapshot", "--run", "lisen s 5"]);
    assert_eq!(bad.status.code(), Some(BAD_INPUT), "{}", stderr(&bad));
    let io = run(&["snapshot", "--demo", &wrong, "-o", "/dev/full"]);
    assert_eq!(io.status.code(), Some(IO_ERROR), "{}", stderr(&io));
    // The failed check is still reported, then the write error.
    assert_plain_lines(&io, 2);
}

// ---------------------------------------------------------------------------------------------
// Defect 7: expectations overflow.

#[test]
fn d7_a_field_plus_the_largest_offset_does_not_wrap() {
    let dir = TempDir::new();
    let body = "run = \"server srv\"\nexpect = [\"srv.local.port < srv.local.port + 9223372036854775807\", \"srv.local.port > srv.local.port - 9223372036854775807\"]\n";
    let file = dir.file("offset.toml", format!("{HEAD}{}", step(body)));
    let output = run(&["snapshot", "--demo", &file, "--format", "json"]);
    assert_eq!(output.status.code(), Some(OK), "{}", stderr(&output));
}

#[test]
fn d7_an_out_of_range_number_is_a_positioned_parse_error() {
    let dir = TempDir::new();
    for (expectation, column) in [
        ("srv.local.port < srv.local.port + 9223372036854775808", 46),
        ("srv.fd == 99999999999999999999", 22),
    ] {
        let body = format!("run = \"server srv\"\nexpect = [\"{expectation}\"]\n");
        let file = dir.file("range.toml", format!("{HEAD}{}", step(&body)));
        let output = run(&["snapshot", "--demo", &file]);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains(&format!("{file}:5:{column}: ")), "{err}");
        assert!(err.contains("out of range"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Defect 9: unbounded reads.

/// The binary under a 1 GiB address-space limit, so that a regression fails the test (the read runs
/// out of memory) instead of taking the machine's memory with it.
fn run_limited(args: &[&str]) -> Output {
    Command::new("timeout")
        .args([
            "60",
            "sh",
            "-c",
            "ulimit -v 1048576; exec \"$0\" \"$@\"",
            BINARY,
        ])
        .args(args)
        .env("LANG", "C")
        .stdin(Stdio::null())
        .output()
        .expect("sockscope runs")
}

#[test]
fn d9_devices_directories_and_fifos_are_refused_at_once() {
    let dir = TempDir::new();
    let fifo = dir.path("lecture.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let fifo = fifo.to_str().expect("UTF-8").to_owned();
    let directory = dir.0.to_str().expect("UTF-8").to_owned();
    for (path, what) in [
        ("/dev/zero", "device"),
        (fifo.as_str(), "FIFO"),
        (directory.as_str(), "directory"),
    ] {
        let output = run_limited(&["snapshot", "--demo", path]);
        assert_eq!(
            output.status.code(),
            Some(BAD_INPUT),
            "{path}: {}",
            stderr(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains("not a regular file") && err.contains(what),
            "{err}"
        );
        assert_plain_lines(&output, 1);
    }
}

#[test]
fn d9_a_file_over_one_mib_is_refused_with_the_cap_in_the_message() {
    let dir = TempDir::new();
    let valid = format!("{HEAD}{}", step("run = \"\"\n"));
    // Exactly 1 MiB still loads: the rest is a comment.
    let mut fits = valid.clone().into_bytes();
    fits.extend_from_slice(b"#");
    fits.resize(1 << 20, b'x');
    let fits = dir.file("fits.toml", fits);
    let output = run_limited(&["snapshot", "--demo", &fits, "--format", "json"]);
    assert_eq!(output.status.code(), Some(OK), "{}", stderr(&output));
    let mut over = valid.into_bytes();
    over.extend_from_slice(b"#");
    over.resize((1 << 20) + 1, b'x');
    let over = dir.file("over.toml", over);
    let output = run_limited(&["snapshot", "--demo", &over]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("1048577 bytes") && err.contains("1048576"),
        "{err}"
    );
    assert_plain_lines(&output, 1);
}

#[test]
fn d9_a_byte_that_is_not_utf8_is_named_with_file_line_and_column() {
    let dir = TempDir::new();
    let mut source = HEAD.as_bytes().to_vec();
    source.extend_from_slice(b"[[step]]\nrun = \"send c h\xc3\xa9\xff\"\n");
    let file = dir.file("latin1.toml", source);
    let output = run(&["snapshot", "--demo", &file]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    let err = stderr(&output);
    // Line 4; "run = \"send c hé" is 16 characters, so the bad byte is column 17.
    assert!(err.contains(&format!("{file}:4:17: ")), "{err}");
    assert!(err.contains("0xFF"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Defect 11: the smaller ones.

#[test]
fn d11_bind_accepts_localhost_as_the_lab_language_does() {
    let output = run(&[
        "snapshot",
        "--run",
        "server s",
        "--bind",
        "localhost:0",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(OK), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let local = json["sockets"][0]["local"]
        .as_str()
        .expect("a local address");
    assert!(local.starts_with("127.0.0.1:"), "{local}");
}

#[test]
fn d11_size_out_of_range_gives_the_range() {
    for size in [
        "100000x100000",
        "1001x40",
        "0x40",
        "99999999999999999999999x1",
    ] {
        let output = run(&["snapshot", "--run", "", "--size", size]);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{size}");
        assert!(
            stderr(&output).contains("1 to 1000"),
            "{size}: {}",
            stderr(&output)
        );
    }
    let output = run(&["snapshot", "--run", "", "--size", "big"]);
    assert!(stderr(&output).contains("COLSxROWS"), "{}", stderr(&output));
}

#[test]
fn d11_one_unknown_owner_is_singular() {
    let mut snapshot = SystemSnapshot::default();
    snapshot.owners.looked_up = true;
    snapshot.owners.unknown = 1;
    let note = sockscope::system::owners_note(&snapshot, Lang::En).expect("a note");
    assert!(note.starts_with("1 socket's owner unknown"), "{note}");
    snapshot.owners.privileged = true;
    let note = sockscope::system::owners_note(&snapshot, Lang::En).expect("a note");
    assert!(note.starts_with("1 socket's owner unknown"), "{note}");
    snapshot.owners.unknown = 2;
    let note = sockscope::system::owners_note(&snapshot, Lang::En).expect("a note");
    assert!(note.starts_with("2 sockets' owners unknown"), "{note}");
}

#[test]
fn d11_a_scenario_of_one_step_says_step() {
    let dir = TempDir::new();
    let file = dir.file("one.toml", format!("{HEAD}{}", step("run = \"\"\n")));
    let output = run(&["snapshot", "--demo", &file, "--step", "2"]);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("'one' has 1 step;"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn d11_a_system_error_is_one_plain_line_with_the_io_status() {
    // Four descriptors: enough to start the binary, not enough for the lab's event loop.
    let output = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 4; exec \"$0\" snapshot --run 'server s'",
            BINARY,
        ])
        .env("LANG", "C")
        .stdin(Stdio::null())
        .output()
        .expect("sockscope runs");
    assert_eq!(output.status.code(), Some(IO_ERROR), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Too many open files"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("Location"), "{}", stderr(&output));
    assert_plain_lines(&output, 1);
}

#[test]
fn d11_the_watch_header_counts_time_wait_with_tcp_only() {
    let socket = |proto, state| SystemSocket {
        proto,
        state,
        local: "127.0.0.1:1".parse().expect("addr"),
        remote: None,
        recv_q: 0,
        send_q: 0,
        inode: 1,
        uid: 0,
        timer_ms: None,
        pid: None,
        fd: None,
        process: None,
    };
    let sockets = vec![
        socket(Proto::Tcp, TcpState::TimeWait),
        socket(Proto::Tcp, TcpState::TimeWait),
        socket(Proto::Tcp, TcpState::Listen),
    ];
    let snapshot = SystemSnapshot {
        tcp_states: BTreeMap::from([(TcpState::TimeWait, 2), (TcpState::Listen, 1)]),
        time_wait: 2,
        sockets,
        ..SystemSnapshot::default()
    };
    for lang in [Lang::En, Lang::Ko] {
        let mut app = WatchApp::new(lang, ThemeName::Default, Filter::default(), true);
        app.apply(snapshot.clone());
        let line = counts_line(&snapshot, &app);
        let (tcp, rest) = line.split_once("UDP").expect("a UDP part");
        assert!(tcp.contains("TIME_WAIT 2"), "{line}");
        assert!(
            !rest.contains("TIME_WAIT"),
            "TIME_WAIT is no UDP figure: {line}"
        );
        assert!(rest.starts_with(" 0"), "{line}");
    }
}
