//! Lecture scenarios against real sockets: every built-in holds on this kernel, failed checks name
//! the value the kernel gave, malformed files name their file, line and column.
//!
//! Every test takes `LOCK`: the `fd-table` scenario checks which descriptor numbers the kernel hands
//! out, so nothing else in this process may open or close descriptors while it runs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::scenario::{
    self, BUILTIN_NAMES, CheckFailure, Player, Scenario, ScenarioError, ScenarioErrorKind, play_to,
    run_step,
};
use sockscope::text::Lang;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A scenario file under the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "sockscope-scenario-{}-{}-{}.toml",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos())
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::write(&path, contents).expect("temp file written");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp path is UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn sockscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("sockscope runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const HEAD: &str = "title.en = \"test\"\ntitle.ko = \"시험\"\n";

fn step(body: &str) -> String {
    format!("[[step]]\n{body}say.en = \"words\"\nsay.ko = \"말\"\n")
}

/// The 1-based line and column at which `needle` first appears in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn load_error(contents: &str) -> (TempFile, ScenarioError) {
    let file = TempFile::new(contents);
    let error = scenario::load(file.path()).expect_err("malformed scenario is refused");
    (file, error)
}

#[test]
fn every_builtin_holds_step_by_step_and_on_replay() {
    let _guard = lock();
    let builtins = scenario::builtins();
    assert_eq!(builtins.len(), BUILTIN_NAMES.len());
    // Lectures on the wire need `--net wire` (two namespaces): tests/wire.rs plays them.
    for scenario in builtins.iter().filter(|scenario| !scenario.wire) {
        for lang in [Lang::En, Lang::Ko] {
            assert!(
                !scenario.title.get(lang).trim().is_empty(),
                "{}: title ({lang:?})",
                scenario.name
            );
            for step in &scenario.steps {
                assert!(
                    !step.say.get(lang).trim().is_empty(),
                    "{} step {}: narration ({lang:?})",
                    scenario.name,
                    step.index + 1
                );
            }
        }
        assert_ne!(scenario.title.en, scenario.title.ko, "{}", scenario.name);

        // Forward, one step at a time on one lab, as a presenter plays it (English).
        let mut player = Player::new(scenario.clone(), LabConfig::default());
        while player.forward().expect("event loop runs") {
            let outcome = player.played().expect("a step was played");
            let failures = real_failures(scenario, &outcome.failures);
            assert!(failures.is_empty(), "{} (en): {failures:#?}", scenario.name);
        }
        assert_eq!(player.current(), Some(scenario.steps.len() - 1));
        drop(player);

        // Replayed from scratch to the last step (Korean), as `snapshot --demo` and "step back" do.
        let config = LabConfig {
            lang: Lang::Ko,
            ..LabConfig::default()
        };
        let replayed = play_to(scenario, scenario.steps.len() - 1, config).expect("replay runs");
        let failures = real_failures(scenario, &replayed.failures);
        assert!(failures.is_empty(), "{} (ko): {failures:#?}", scenario.name);
    }
}

/// The failures that are not "no capture". This process plays on the host network, where only
/// root captures: as an ordinary user a lecture that says `capture = true` cannot check its
/// segments here (the tests below play those lectures in the private network, as any user).
fn real_failures(scenario: &Scenario, failures: &[CheckFailure]) -> Vec<CheckFailure> {
    let (uncaptured, real): (Vec<_>, Vec<_>) = failures
        .iter()
        .cloned()
        .partition(|failure| failure.no_capture.is_some());
    if !uncaptured.is_empty() {
        assert!(
            scenario.capture,
            "{} checks segments without saying capture = true",
            scenario.name
        );
        assert!(!is_root(), "root captures on the host: {uncaptured:#?}");
        eprintln!(
            "NOTE: {}: {} checks of segments skipped (no capture as an ordinary user on the host)",
            scenario.name,
            uncaptured.len()
        );
    }
    real
}

#[test]
fn builtins_load_by_name_and_steps_have_checks() {
    let _guard = lock();
    for name in BUILTIN_NAMES {
        let scenario = scenario::load(name).expect("built-in loads");
        assert_eq!(scenario.name, *name);
        assert!(scenario.steps.len() >= 4, "{name}: a lecture has steps");
        let checks: usize = scenario.steps.iter().map(|step| step.expect.len()).sum();
        assert!(
            checks >= scenario.steps.len(),
            "{name}: steps check what they say"
        );
    }
}

const WRONG: &str = "[[step]]
run = \"server srv 127.0.0.1:0 2; clients c 4 srv\"
wait = \"300ms\"
say.en = \"A backlog of 2 holds three.\"
say.ko = \"백로그 2에는 셋이 들어갑니다.\"
expect = [\"srv.accept_queue == 4\", \"c4.state == SYN_SENT\"]
";

#[test]
fn a_false_expectation_reports_what_the_kernel_gave() {
    let _guard = lock();
    let file = TempFile::new(&format!("{HEAD}{WRONG}"));
    let scenario = scenario::load(file.path()).expect("scenario loads");
    let mut lab = HeadlessLab::new(LabConfig::default()).expect("lab starts");
    let error = run_step(&mut lab, &scenario.steps[0]).expect_err("the check fails");
    let failures = error.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0].step, 0);
    assert_eq!(failures[0].expectation, "srv.accept_queue == 4");
    assert_eq!(failures[0].seen, "3");
    let message = failures[0].message(Lang::En);
    assert!(
        message.contains("step 1") && message.contains("srv.accept_queue == 4"),
        "{message}"
    );
    assert!(message.contains('3'), "{message}");
}

#[test]
fn snapshot_demo_exits_1_naming_the_failed_check_and_still_writes() {
    let _guard = lock();
    let file = TempFile::new(&format!("{HEAD}{WRONG}"));
    let out = TempFile::new("");
    let output = sockscope(&[
        "snapshot",
        "--demo",
        file.path(),
        "--format",
        "json",
        "-o",
        out.path(),
        "--lang",
        "en",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("step 1"), "{err}");
    assert!(err.contains("srv.accept_queue == 4"), "{err}");
    assert!(err.contains("says 3"), "{err}");
    assert!(
        !err.contains("c4.state"),
        "only the failed check is reported: {err}"
    );
    let written = std::fs::read_to_string(&out.0).expect("output written");
    let json: serde_json::Value = serde_json::from_str(&written).expect("JSON written");
    assert!(json["listeners"].is_array(), "{written}");
}

#[test]
fn snapshot_demo_of_a_builtin_passes_and_step_must_exist() {
    let _guard = lock();
    let output = sockscope(&[
        "snapshot",
        "--demo",
        "server-life",
        "--step",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("snapshot JSON on stdout");
    let srv = json["sockets"]
        .as_array()
        .and_then(|sockets| sockets.iter().find(|socket| socket["name"] == "srv"))
        .expect("srv in the snapshot");
    assert_eq!(srv["state"], "LISTEN");

    let output = sockscope(&["snapshot", "--demo", "server-life", "--step", "99"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("server-life"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let _guard = lock();
    let text = format!("{HEAD}[[step]\nrun = \"server srv\"\n");
    let (file, error) = load_error(&text);
    assert!(
        matches!(error.kind, ScenarioErrorKind::Toml(_)),
        "{error:?}"
    );
    assert_eq!(error.file, file.path());
    assert_eq!(error.line, 3, "{error}");
    assert!(error.column >= 1);
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("{}:3:{}: ", file.path(), error.column)),
        "{shown}"
    );

    let output = sockscope(&["snapshot", "--demo", file.path()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("{}:3:", file.path())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_and_unknown_keys_are_positioned() {
    let _guard = lock();
    let text = format!("{HEAD}{}colour = \"red\"\n", step("run = \"server srv\"\n"));
    let (_file, error) = load_error(&text);
    assert_eq!(
        (error.line, error.column),
        position_of(&text, "colour"),
        "{error}"
    );
    assert!(error.to_string().contains("colour"), "{error}");

    let text = format!("title.en = \"only english\"\n{}", step("run = \"\"\n"));
    let (_file, error) = load_error(&text);
    assert!(error.to_string().contains("ko"), "{error}");
    assert_eq!(error.line, 1, "{error}");
}

#[test]
fn a_bad_command_in_run_points_at_the_bad_word() {
    let _guard = lock();
    let text = format!(
        "{HEAD}{}",
        step("run = \"server srv 127.0.0.1:0 2; clients c 4 srv; lisen srv 2\"\n")
    );
    let (file, error) = load_error(&text);
    assert!(matches!(error.kind, ScenarioErrorKind::Run(_)), "{error:?}");
    let (line, column) = position_of(&text, "lisen");
    assert_eq!((error.line, error.column), (line, column), "{error}");
    let shown = error.to_string();
    assert!(
        shown.contains("lisen") && shown.contains("listen"),
        "{shown}"
    );

    let output = sockscope(&["snapshot", "--demo", file.path(), "--lang", "en"]);
    assert_eq!(output.status.code(), Some(2));
    let expected = format!("{}:{line}:{column}:", file.path());
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));

    // A multi-line run: the line inside the string adds to the string's line in the file.
    let text = format!(
        "{HEAD}{}",
        step("run = \"\"\"\nserver srv\n  clients c many srv\n\"\"\"\n")
    );
    let (_file, error) = load_error(&text);
    assert_eq!(
        (error.line, error.column),
        position_of(&text, "many"),
        "{error}"
    );
}

#[test]
fn an_unknown_expectation_field_is_positioned() {
    let _guard = lock();
    let text = format!(
        "{HEAD}{}",
        step(
            "run = \"server srv\"\nexpect = [\"srv.state == LISTEN\", \"srv.acept_queue == 0\"]\n"
        )
    );
    let (_file, error) = load_error(&text);
    assert!(
        matches!(error.kind, ScenarioErrorKind::Expect(_)),
        "{error:?}"
    );
    assert_eq!(
        (error.line, error.column),
        position_of(&text, "acept_queue"),
        "{error}"
    );
    let shown = error.to_string();
    assert!(
        shown.contains("acept_queue") && shown.contains("accept_queue"),
        "{shown}"
    );

    let text = format!(
        "{HEAD}{}",
        step("run = \"\"\nexpect = [\"srv.state LISTEN\"]\n")
    );
    let (_file, error) = load_error(&text);
    assert_eq!(
        (error.line, error.column),
        position_of(&text, "LISTEN\"]"),
        "{error}"
    );

    let text = format!("{HEAD}{}", step("run = \"\"\nwait = \"a while\"\n"));
    let (_file, error) = load_error(&text);
    assert!(
        matches!(error.kind, ScenarioErrorKind::Wait(_)),
        "{error:?}"
    );
    assert_eq!(error.line, position_of(&text, "a while").0);
}

#[test]
fn demo_list_names_every_builtin_with_its_step_count() {
    let _guard = lock();
    let builtins = scenario::builtins();
    for (lang, word) in [("en", "steps"), ("ko", "단계")] {
        let output = sockscope(&["demo", "--list", "--lang", lang]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let listing = String::from_utf8(output.stdout).expect("UTF-8");
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), builtins.len(), "{listing}");
        for (line, scenario) in lines.iter().zip(&builtins) {
            let mut words = line.split_whitespace();
            assert_eq!(words.next(), Some(scenario.name.as_str()), "{line}");
            let count = scenario.steps.len().to_string();
            let rest: Vec<&str> = words.collect();
            assert!(
                rest.first()
                    .is_some_and(|first| first.starts_with(&count) && line.contains(word)),
                "{line}"
            );
            let title = scenario
                .title
                .get(if lang == "ko" { Lang::Ko } else { Lang::En });
            assert!(line.ends_with(title), "{line}");
        }
    }
}

#[test]
fn demo_print_shows_steps_in_order_with_narration() {
    let _guard = lock();
    let scenario = scenario::load("backlog").expect("built-in");
    let output = sockscope(&["demo", "backlog", "--print", "--lang", "ko"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let mut at = 0;
    for step in &scenario.steps {
        let narration = step.say.ko.lines().next().expect("narration");
        let found = printed[at..].find(narration).unwrap_or_else(|| {
            panic!(
                "step {} missing or out of order:\n{printed}",
                step.index + 1
            )
        });
        at += found + narration.len();
    }
}

// --- Issue 10, item 6: expectations on the captured segments. ---

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `sockscope ARGS` as root, or as nobody (`setpriv`); nobody can read the temp files (0644).
fn sockscope_as(nobody: bool, args: &[&str]) -> Output {
    let mut command = common::sockscope_command(nobody);
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("LANG", "C")
        .output()
        .expect("sockscope runs")
}

/// Who the tests can run sockscope as: root, and nobody when the tests run as root.
fn users() -> Vec<bool> {
    if is_root() {
        vec![false, true]
    } else {
        eprintln!("NOTE: not root: the runs as nobody are skipped");
        vec![false]
    }
}

fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "snapshot JSON on stdout ({error}); stderr: {}",
            stderr(output)
        )
    })
}

/// Every form of segment expectation, against the kernel's real segments: a handshake, a refused
/// connect, SYNs a full listener drops and the clients retransmit, and a FIN exchange.
const SEGMENT_FORMS: &str = "capture = true

[[step]]
run = \"server srv 127.0.0.1:0 1; socket x tcp; bind x 127.0.0.1:0; client c srv; client r x\"
wait = \"200ms\"
say.en = \"open and refused\"
say.ko = \"열림과 거절\"
expect = [
  \"capture.active == true\", \"capture.network == private\",
  \"c.handshake == ok\", \"c.segments.count == 3\", \"c.segments.SYN == 1\", \"c.segments.SYN_ACK == 1\",
  \"c.segments.ACK_SYN == 1\", \"c.segments.ACK == 1\", \"c.segments.retransmission == 0\",
  \"c.segments.0.flags == SYN\", \"c.segments.1.flags == SYN-ACK\", \"c.segments.last.flags == ACK\",
  \"c.segments.1.ack == c.segments.0.seq + 1\", \"c.segments.2.ack == c.segments.1.seq + 1\",
  \"c.segments.2.seq == c.segments.0.seq + 1\", \"c.segments.0.to.port == srv.local.port\",
  \"c.states.0.state == SYN_SENT\", \"c.states.last.state == ESTABLISHED\", \"c.states.count == 2\",
  \"srv.states.0.state == SYN_RECV\", \"srv.states.SYN_RECV == 1\",
  \"r.handshake == refused\", \"r.segments.count == 2\", \"r.segments.RST_ACK == 1\",
  \"r.segments.last.flags == RST-ACK\", \"r.segments.last.from_name == x\", \"r.errno == ECONNREFUSED\",
  \"segments.SYN == 2\", \"segments.count == 5\",
]

[[step]]
run = \"clients q 3 srv\"
wait = \"1500ms\"
say.en = \"dropped SYNs\"
say.ko = \"버려진 SYN\"
expect = [
  \"srv.accept_queue == 2\", \"q1.handshake == ok\", \"q2.handshake == unanswered\",
  \"q3.handshake == unanswered\", \"q2.segments.retransmission >= 1\", \"q3.segments.SYN >= 2\",
  \"q2.segments.count == q2.segments.SYN\", \"q2.states.count == 1\", \"q2.states.0.state == SYN_SENT\",
  \"counters.listen_overflows_delta >= 4\",
]

[[step]]
run = \"close c\"
wait = \"100ms\"
say.en = \"a FIN\"
say.ko = \"FIN\"
expect = [
  \"c.fd == null\", \"c.segments.count == 5\", \"c.segments.FIN_ACK == 1\", \"c.segments.3.flags == ACK_FIN\",
  \"c.segments.last.flags == ACK\", \"c.segments.last.from_name == srv\", \"c.states.last.state == FIN_WAIT2\",
]
";

#[test]
fn every_segment_expectation_form_holds_on_real_segments_as_root_and_as_nobody() {
    let _guard = lock();
    let file = TempFile::new(&format!("{HEAD}{SEGMENT_FORMS}"));
    let scenario = scenario::load(file.path()).expect("the scenario loads");
    assert!(scenario.capture);
    for nobody in users() {
        for lang in ["en", "ko"] {
            let output = sockscope_as(
                nobody,
                &[
                    "snapshot",
                    "--demo",
                    file.path(),
                    "--format",
                    "json",
                    "--lang",
                    lang,
                ],
            );
            assert_eq!(
                output.status.code(),
                Some(0),
                "as nobody: {nobody}, {lang}: {}",
                stderr(&output)
            );
            let json = json_of(&output);
            assert_eq!(
                json["capture"]["network"], "private",
                "capture = true chose it"
            );
            assert_eq!(json["capture"]["active"], true);
        }
    }
}

#[test]
fn a_false_segment_expectation_reports_the_segments_seen() {
    let _guard = lock();
    let text = format!(
        "{HEAD}capture = true\n{}",
        step(
            "run = \"server srv; client c srv\"\nwait = \"100ms\"\n\
             expect = [\"c.segments.count == 99\", \"c.handshake == refused\", \"c.handshake == ok\"]\n"
        )
    );
    let file = TempFile::new(&text);
    let output = sockscope(&[
        "snapshot",
        "--demo",
        file.path(),
        "--format",
        "json",
        "--lang",
        "en",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("`c.segments.count == 99`, but the kernel says 3"),
        "{err}"
    );
    assert!(
        err.contains("`c.handshake == refused`, but the kernel says ok (SYN, SYN-ACK, ACK)"),
        "{err}"
    );
    assert!(!err.contains("`c.handshake == ok`"), "{err}");
}

#[test]
fn the_new_lectures_play_to_their_last_step_in_en_and_ko() {
    let _guard = lock();
    for name in ["three-way-handshake", "reset"] {
        let scenario = scenario::load(name).expect("built-in");
        assert!(scenario.capture, "{name} asks for the capture");
        for nobody in users() {
            for lang in ["en", "ko"] {
                let output = sockscope_as(
                    nobody,
                    &[
                        "snapshot", "--demo", name, "--format", "json", "--lang", lang,
                    ],
                );
                assert_eq!(
                    output.status.code(),
                    Some(0),
                    "{name} as nobody: {nobody}, {lang}: {}",
                    stderr(&output)
                );
                let json = json_of(&output);
                assert_eq!(json["capture"]["network"], "private");
                let flags: Vec<&str> = json["segments"]
                    .as_array()
                    .expect("segments")
                    .iter()
                    .filter_map(|segment| segment["flags"].as_str())
                    .collect();
                let expected: &[&str] = if name == "reset" {
                    // The refused connect, then d's handshake and its RST.
                    &["SYN", "RST-ACK", "SYN", "SYN-ACK", "ACK", "RST-ACK"]
                } else {
                    &["SYN", "SYN-ACK", "ACK", "PSH-ACK", "ACK"]
                };
                assert_eq!(flags, expected, "{name} ({lang})");
            }
        }
        // The last step, as text in Korean: the narration is the scenario's own.
        let output = sockscope(&[
            "snapshot", "--demo", name, "--lang", "ko", "--format", "text",
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let title = &scenario.title.ko;
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(title.as_str()),
            "{name}: the Korean title on screen"
        );
    }
}

/// Issue 10, "Done when": in the private network, the backlog lecture's `ListenOverflows` delta
/// equals the SYNs the ladder shows dropped (sent, and never answered by a SYN-ACK).
#[test]
fn backlog_listen_overflows_equal_the_dropped_syns_on_the_ladder() {
    let _guard = lock();
    for nobody in users() {
        let output = sockscope_as(
            nobody,
            &["snapshot", "--demo", "backlog", "--format", "json"],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let json = json_of(&output);
        assert_eq!(json["capture"]["network"], "private");
        let segments = json["segments"].as_array().expect("segments");
        let mut conns: Vec<&str> = segments
            .iter()
            .filter_map(|segment| segment["conn"].as_str())
            .collect();
        conns.sort_unstable();
        conns.dedup();
        let mut dropped = 0;
        let mut retransmitted = 0;
        for conn in conns {
            let of_conn = segments.iter().filter(|segment| segment["conn"] == conn);
            let syns = of_conn.clone().filter(|s| s["flags"] == "SYN").count();
            let answered = of_conn.clone().filter(|s| s["flags"] == "SYN-ACK").count();
            retransmitted += of_conn
                .filter(|s| s["flags"] == "SYN" && s["retransmission"] == true)
                .count();
            // A SYN-ACK answers one SYN; every other SYN met the full queue.
            dropped += syns - answered.min(syns);
        }
        let counters = &json["counters"];
        let delta = counters["listen_overflows"].as_u64().unwrap()
            - counters["listen_overflows_at_start"].as_u64().unwrap();
        assert!(retransmitted >= 2, "both late clients retransmitted");
        assert!(dropped >= 3, "{dropped}");
        assert_eq!(
            delta, dropped as u64,
            "ListenOverflows delta vs the ladder's unanswered SYNs (nobody: {nobody})"
        );
    }
}

#[test]
fn a_malformed_segment_expectation_names_file_line_and_column() {
    let _guard = lock();
    for (bad, needle) in [
        ("c.segments.SYNACK == 1", "SYNACK"),
        ("c.handshake.ok == true", "ok =="),
        ("c.segments.last.flag == SYN", "flag =="),
        ("c.states.SYN == 1", "SYN =="),
    ] {
        let text = format!(
            "{HEAD}capture = true\n{}",
            step(&format!(
                "run = \"\"\nexpect = [\"c.handshake == ok\", \"{bad}\"]\n"
            ))
        );
        let (file, error) = load_error(&text);
        assert!(
            matches!(error.kind, ScenarioErrorKind::Expect(_)),
            "{error:?}"
        );
        let (line, column) = position_of(&text, needle);
        assert_eq!((error.line, error.column), (line, column), "{bad}: {error}");
        let output = sockscope(&["snapshot", "--demo", file.path(), "--lang", "en"]);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let expected = format!("{}:{line}:{column}:", file.path());
        assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
    }
}

/// Runs sockscope as nobody inside a user namespace whose `user.max_user_namespaces` is 0, where
/// no private network can be made (as in `tests/private_net.rs`).
fn as_nobody_without_user_namespaces(args: &[&str]) -> Option<Output> {
    use std::io::Write as _;
    use std::os::unix::fs::MetadataExt as _;
    use std::process::Stdio;
    let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
    let inner = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=65534 \
         --regid=65534 --clear-groups {} {}",
        env!("CARGO_BIN_EXE_sockscope"),
        quoted.join(" ")
    );
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
    let ours = std::fs::metadata("/proc/self/ns/user").ok()?.ino();
    // The child unshares at once; wait (bounded) until its namespace is a new one.
    let mut tries = 0;
    while std::fs::metadata(format!("/proc/{pid}/ns/user"))
        .ok()?
        .ino()
        == ours
    {
        tries += 1;
        if tries > 5000 {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::yield_now();
    }
    for map in ["uid_map", "gid_map"] {
        std::fs::write(format!("/proc/{pid}/{map}"), "0 0 1\n65534 65534 1\n").ok()?;
    }
    child.stdin.take()?.write_all(b"go\n").ok()?;
    child.wait_with_output().ok()
}

/// Where no private network can be made, a lecture that asks for it still plays, on the host
/// network, with a note; its segment checks say why there is nothing to check. `--net host`
/// chooses the host network without the note.
#[test]
fn a_lecture_that_wants_the_capture_falls_back_and_says_why() {
    let _guard = lock();
    if !is_root() {
        eprintln!("NOTE: making a restricted user namespace needs root; skipped");
        return;
    }
    let Some(output) = as_nobody_without_user_namespaces(&[
        "snapshot", "--demo", "reset", "--step", "2", "--format", "json", "--lang", "en",
    ]) else {
        eprintln!("NOTE: unshare(1) cannot make a user namespace here; skipped");
        return;
    };
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("runs on the host network instead"), "{err}");
    assert!(err.contains("user.max_user_namespaces = 0"), "{err}");
    assert!(
        err.contains("`c.handshake == refused` cannot be checked, no capture: No segments"),
        "{err}"
    );
    // The checks that need no capture held: the lecture played.
    assert!(!err.contains("c.errno"), "{err}");
    let json = json_of(&output);
    assert_eq!(json["capture"]["network"], "host");
    assert_eq!(json["capture"]["active"], false);

    // Chosen explicitly, the host network needs no note; as root it captures.
    let output = sockscope_as(
        true,
        &[
            "snapshot", "--demo", "reset", "--step", "2", "--net", "host", "--lang", "ko",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(!err.contains("호스트 네트워크에서 돌아갑니다"), "{err}");
    assert!(err.contains("캡처 없음"), "{err}");
    let output = sockscope(&[
        "snapshot", "--demo", "reset", "--net", "host", "--format", "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json_of(&output)["capture"]["network"], "host");
}
