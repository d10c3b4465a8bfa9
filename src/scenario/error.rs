//! Why a scenario could not be loaded: with the file, line and column of the problem.

use std::fmt;

use super::builtin::BUILTIN_NAMES;
use super::expect::ExpectError;
use crate::command::ParseError;
use crate::text::{self, Lang};

/// What is wrong with a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioErrorKind {
    /// No built-in has that name and no file has that path.
    NotFound,
    /// The file exists but could not be read.
    Read(String),
    /// A directory, a device, a FIFO or a socket: not a file to read a scenario from.
    NotRegular(&'static str),
    /// More than [`super::SCENARIO_FILE_MAX`] bytes (how many, as far as known).
    TooLarge(u64),
    /// The byte at the error's position is not UTF-8.
    NotUtf8(u8),
    /// Not valid TOML, or not the scenario shape (missing or unknown key, wrong type): the
    /// `toml` crate's message.
    Toml(String),
    /// A `run` value the lab language rejects; the error's own position is within the `run` text.
    Run(Box<ParseError>),
    /// A `wait` value that is no duration.
    Wait(String),
    /// A `wait` value longer than [`crate::command::DURATION_MAX`].
    WaitTooLong(String),
    /// An `expect` entry that does not parse, or names a field the snapshot does not have.
    Expect(Box<ExpectError>),
    /// The file has no `[[step]]`.
    NoSteps,
}

/// A scenario that could not be loaded. `line` and `column` are 1-based (column in characters)
/// and point into `file`; both are 0 when there is no position (a missing file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub kind: ScenarioErrorKind,
}

impl ScenarioError {
    pub(super) fn without_position(file: &str, kind: ScenarioErrorKind) -> Self {
        Self {
            file: file.to_owned(),
            line: 0,
            column: 0,
            kind,
        }
    }

    /// The message in `lang`, prefixed with `FILE:LINE:COLUMN:` when there is a position.
    #[must_use]
    pub fn localized(&self, lang: Lang) -> String {
        let message = self.message(lang);
        if self.line == 0 {
            return message;
        }
        let line = self.line.to_string();
        let column = self.column.to_string();
        text::format(
            lang,
            "scenario.location",
            &[
                ("file", &self.file),
                ("line", &line),
                ("column", &column),
                ("message", &message),
            ],
        )
    }

    /// The message in `lang`, without the position.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        match &self.kind {
            ScenarioErrorKind::NotFound => text::format(
                lang,
                "scenario.not_found",
                &[
                    ("builtins", &BUILTIN_NAMES.join(", ")),
                    ("name", &self.file),
                ],
            ),
            ScenarioErrorKind::Read(detail) => text::format(
                lang,
                "scenario.read",
                &[("detail", detail), ("file", &self.file)],
            ),
            ScenarioErrorKind::NotRegular(what) => text::format(
                lang,
                "input.not_regular",
                &[
                    ("what", text::get(lang, &format!("input.file_type.{what}"))),
                    ("file", &self.file),
                ],
            ),
            ScenarioErrorKind::TooLarge(size) => text::format(
                lang,
                "input.too_large",
                &[
                    ("size", &size.to_string()),
                    ("max", &super::SCENARIO_FILE_MAX.to_string()),
                    ("file", &self.file),
                ],
            ),
            ScenarioErrorKind::NotUtf8(byte) => text::format(
                lang,
                "input.not_utf8",
                &[("byte", &format!("0x{byte:02X}"))],
            ),
            ScenarioErrorKind::Toml(detail) => {
                text::format(lang, "scenario.toml", &[("detail", detail)])
            }
            ScenarioErrorKind::Run(error) => {
                text::format(lang, "scenario.run", &[("message", &error.message(lang))])
            }
            ScenarioErrorKind::Wait(found) => {
                text::format(lang, "scenario.wait", &[("found", found)])
            }
            ScenarioErrorKind::WaitTooLong(found) => text::format(
                lang,
                "input.wait_too_long",
                &[("max", crate::command::DURATION_MAX_TEXT), ("found", found)],
            ),
            ScenarioErrorKind::Expect(error) => error.message(lang),
            ScenarioErrorKind::NoSteps => text::get(lang, "scenario.no_steps").to_owned(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.localized(Lang::En))
    }
}

impl std::error::Error for ScenarioError {}
