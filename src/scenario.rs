//! Lecture scenarios: TOML files of steps, each a few lab commands, a narration in English and
//! Korean, and expectations checked against what the kernel reports after the step.
//!
//! ```toml
//! title.en = "Backlog"
//! title.ko = "백로그"
//! [[step]]
//! run = "server srv 127.0.0.1:0 2; clients c 4 srv"
//! wait = "300ms"
//! say.en = "..."
//! say.ko = "..."
//! expect = ["srv.accept_queue == 3", "c4.state == SYN_SENT"]
//! focus = "srv"
//! ```
//!
//! A scenario that checks segments says `capture = true` at the top ([`Scenario::capture`]).
//!
//! [`load`] reads a built-in (by name) or a file; [`run_step`] plays one step on a lab and checks
//! it; [`play_to`] rebuilds a lab from scratch and replays steps `0..=N` (how a presenter steps
//! back); [`Player`] keeps the lab alive between steps for a UI. The file format is documented for
//! users in `docs/scenarios.md`.

mod builtin;
mod describe;
mod error;
mod eval;
mod expect;
mod file;
mod lecture;
mod player;
mod schema;
mod segments;

use std::path::Path;
use std::time::Duration;

use crate::command::Located;
use crate::text::Lang;

pub use builtin::BUILTIN_NAMES;
pub use describe::{describe, list};
pub use error::{ScenarioError, ScenarioErrorKind};
pub use eval::{CheckFailure, check_all};
pub use expect::{ExpectError, ExpectErrorKind, Expectation, FieldPath, Op, Operand};
pub use file::SCENARIO_FILE_MAX;
pub use lecture::Lecture;
pub use player::{PlayError, Played, Player, StepError, play_to, run_step};

/// A text in both languages of the tool.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Localized {
    pub en: String,
    pub ko: String,
}

impl Localized {
    #[must_use]
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

/// One step of a scenario: commands to run, how long to let the kernel settle, what to say and
/// what must then be true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioStep {
    /// 0-based position in the scenario.
    pub index: usize,
    /// The commands, parsed by the lab language (lines and columns relative to the `run` text).
    pub run: Vec<Located>,
    /// The `run` text as written.
    pub run_source: String,
    /// 1-based line of the `run` value in the scenario file.
    pub source_line: usize,
    /// How long the event loop runs after the commands, before the snapshot and the checks.
    pub wait: Option<Duration>,
    pub say: Localized,
    pub expect: Vec<Expectation>,
    /// The lab name a dashboard selects and highlights during this step.
    pub focus: Option<String>,
}

/// A lecture: a title and its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The built-in's name, or the file's stem.
    pub name: String,
    /// Where it came from: `assets/scenarios/NAME.toml` for a built-in, else the path as given.
    pub file: String,
    pub title: Localized,
    /// `capture = true`: the lecture checks segments, so `demo` and `snapshot --demo` run it in
    /// the private network unless `--net host` is given.
    pub capture: bool,
    /// `wire = true`: the lecture places sockets on hosts `a` and `b` and drives the wire between
    /// them, so `demo` and `snapshot --demo` run it in `--net wire` (other networks cannot play it).
    pub wire: bool,
    pub steps: Vec<ScenarioStep>,
}

/// Parses scenario text. `name` and `file` are what messages and listings call it.
pub fn parse(name: &str, file: &str, source: &str) -> Result<Scenario, ScenarioError> {
    file::parse(name, file, source)
}

/// Parses the bytes of a scenario file: first as UTF-8 (a byte that is not is reported at its line
/// and column), then as a scenario.
pub fn parse_bytes(name: &str, file: &str, bytes: Vec<u8>) -> Result<Scenario, ScenarioError> {
    let source = file::decode(file, bytes)?;
    parse(name, file, &source)
}

/// A built-in scenario by name, or a scenario file by path (a regular file of at most
/// [`SCENARIO_FILE_MAX`] bytes, UTF-8).
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(source) = builtin::source(name_or_path) {
        return parse(name_or_path, &builtin::file_of(name_or_path), source);
    }
    let path = Path::new(name_or_path);
    let source = file::read(path, name_or_path)?;
    let stem = path.file_stem().map_or_else(
        || name_or_path.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    parse(&stem, name_or_path, &source)
}

/// Every built-in scenario, in teaching order.
///
/// # Panics
/// If a bundled scenario is malformed (the tests load every one of them).
#[must_use]
pub fn builtins() -> Vec<Scenario> {
    BUILTIN_NAMES
        .iter()
        .map(|name| load(name).unwrap_or_else(|error| panic!("built-in scenario: {error}")))
        .collect()
}
