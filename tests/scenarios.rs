//! Lecture scenarios against real sockets: every built-in holds on this kernel, failed checks name
//! the value the kernel gave, malformed files name their file, line and column.
//!
//! Every test takes `LOCK`: the `fd-table` scenario checks which descriptor numbers the kernel hands
//! out, so nothing else in this process may open or close descriptors while it runs.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::scenario::{
    self, BUILTIN_NAMES, Player, ScenarioError, ScenarioErrorKind, play_to, run_step,
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
    for scenario in &builtins {
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
            assert!(
                outcome.failures.is_empty(),
                "{} (en): {:#?}",
                scenario.name,
                outcome.failures
            );
        }
        assert_eq!(player.current(), Some(scenario.steps.len() - 1));
        drop(player);

        // Replayed from scratch to the last step (Korean), as `snapshot --demo` and "step back" do.
        let config = LabConfig {
            lang: Lang::Ko,
            ..LabConfig::default()
        };
        let replayed = play_to(scenario, scenario.steps.len() - 1, config).expect("replay runs");
        assert!(
            replayed.failures.is_empty(),
            "{} (ko): {:#?}",
            scenario.name,
            replayed.failures
        );
    }
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
