//! The scenario file: read with a size cap, decoded as UTF-8, then TOML read with spans, so every
//! error names its line and column.

use std::fs::File;
use std::io::Read as _;
use std::ops::Range;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ScenarioError, ScenarioErrorKind};
use super::expect::Expectation;
use super::{Localized, Scenario, ScenarioStep};
use crate::command::{self, DurationError, ParseError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalized {
    en: String,
    ko: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    run: Spanned<String>,
    wait: Option<Spanned<String>>,
    say: RawLocalized,
    #[serde(default)]
    expect: Vec<Spanned<String>>,
    focus: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    title: RawLocalized,
    /// The lecture needs the segments: it runs in the private network unless told otherwise.
    #[serde(default)]
    capture: bool,
    /// The lecture needs two hosts and the wire between them: it runs in `--net wire`.
    #[serde(default)]
    wire: bool,
    #[serde(default)]
    step: Vec<RawStep>,
}

impl From<RawLocalized> for Localized {
    fn from(raw: RawLocalized) -> Self {
        Self {
            en: raw.en,
            ko: raw.ko,
        }
    }
}

/// Maps byte offsets of the file to 1-based lines and character columns.
struct Positions<'a> {
    file: &'a str,
    source: &'a str,
    /// The byte offset where each line starts, found once: every step asks for its line, and
    /// counting newlines from the top each time made parsing quadratic in the file's length.
    line_starts: Vec<usize>,
}

impl<'a> Positions<'a> {
    fn new(file: &'a str, source: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(newline, _)| newline + 1))
            .collect();
        Self {
            file,
            source,
            line_starts,
        }
    }

    fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        // The number of lines starting at or before `offset` is the 1-based line.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.source[line_start..offset].chars().count() + 1;
        (line, column)
    }

    fn error(&self, offset: usize, kind: ScenarioErrorKind) -> ScenarioError {
        let (line, column) = self.line_column(offset);
        ScenarioError {
            file: self.file.to_owned(),
            line,
            column,
            kind,
        }
    }

    /// Where the text of a string value starts in the file, if the file holds it verbatim (no
    /// escapes): then a position inside the value maps to a position in the file exactly.
    fn verbatim_start(&self, span: &Range<usize>, value: &str) -> Option<usize> {
        let raw = self.source.get(span.clone())?;
        let mut start = span.start;
        if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            start += 3;
            let rest = &self.source[start..];
            if rest.starts_with("\r\n") {
                start += 2;
            } else if rest.starts_with('\n') {
                start += 1;
            }
        } else {
            start += 1;
        }
        (self.source.get(start..start + value.len()) == Some(value)).then_some(start)
    }

    /// The file offset of a 1-based (line, character column) inside a string value; the value's
    /// opening quote when the file does not hold the value verbatim.
    fn offset_in_value(
        &self,
        span: &Range<usize>,
        value: &str,
        line: usize,
        column: usize,
    ) -> usize {
        let Some(start) = self.verbatim_start(span, value) else {
            return span.start;
        };
        let line_start: usize = value
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        let within: usize = value[line_start..]
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        start + line_start + within
    }
}

/// The largest scenario file sockscope reads: 1 MiB, a hundred times the longest built-in. A cap,
/// so that `--demo /dev/zero` or a huge file cannot eat the memory.
pub const SCENARIO_FILE_MAX: u64 = 1 << 20;

/// Reads a scenario file: a regular file of at most [`SCENARIO_FILE_MAX`] bytes, UTF-8.
/// `file` is what messages call it.
pub(super) fn read(path: &Path, file: &str) -> Result<String, ScenarioError> {
    let positionless = |kind| ScenarioError::without_position(file, kind);
    let io_error = |error: std::io::Error| {
        positionless(if error.kind() == std::io::ErrorKind::NotFound {
            ScenarioErrorKind::NotFound
        } else {
            ScenarioErrorKind::Read(error.to_string())
        })
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked on the open
    // descriptor, so nothing can swap the file between the check and the read.
    let handle = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_error)?;
    let metadata = handle.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        let file_type = metadata.file_type();
        let what = if file_type.is_dir() {
            "directory"
        } else if file_type.is_fifo() {
            "fifo"
        } else if file_type.is_socket() {
            "socket"
        } else {
            "device"
        };
        return Err(positionless(ScenarioErrorKind::NotRegular(what)));
    }
    if metadata.len() > SCENARIO_FILE_MAX {
        return Err(positionless(ScenarioErrorKind::TooLarge(metadata.len())));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // One byte more than allowed tells a file that grew since fstat from one that fits.
    handle
        .take(SCENARIO_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > SCENARIO_FILE_MAX {
        return Err(positionless(
            ScenarioErrorKind::TooLarge(bytes.len() as u64),
        ));
    }
    decode(file, bytes)
}

/// The file's bytes as text, or where the first byte that is not UTF-8 is.
pub(super) fn decode(file: &str, bytes: Vec<u8>) -> Result<String, ScenarioError> {
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        let valid = error.utf8_error().valid_up_to();
        // The prefix is valid UTF-8 by definition.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let positions = Positions::new(file, before);
        positions.error(before.len(), ScenarioErrorKind::NotUtf8(bytes[valid]))
    })
}

pub(super) fn parse(name: &str, file: &str, source: &str) -> Result<Scenario, ScenarioError> {
    let positions = Positions::new(file, source);
    let raw: RawScenario = toml::from_str(source).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let message = error.message().trim().to_owned();
        positions.error(offset, ScenarioErrorKind::Toml(message))
    })?;
    if raw.step.is_empty() {
        return Err(positions.error(source.len(), ScenarioErrorKind::NoSteps));
    }
    let steps = raw
        .step
        .into_iter()
        .enumerate()
        .map(|(index, step)| parse_step(&positions, index, step))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Scenario {
        name: name.to_owned(),
        file: file.to_owned(),
        title: raw.title.into(),
        capture: raw.capture,
        wire: raw.wire,
        steps,
    })
}

fn parse_step(
    positions: &Positions<'_>,
    index: usize,
    raw: RawStep,
) -> Result<ScenarioStep, ScenarioError> {
    let run_span = raw.run.span();
    let run_source = raw.run.into_inner();
    let run = command::parse_script(&run_source).map_err(|error: ParseError| {
        let offset = positions.offset_in_value(&run_span, &run_source, error.line, error.column);
        positions.error(offset, ScenarioErrorKind::Run(Box::new(error)))
    })?;
    let (source_line, _) = positions.line_column(
        positions
            .verbatim_start(&run_span, &run_source)
            .unwrap_or(run_span.start),
    );
    let wait = match raw.wait {
        None => None,
        Some(wait) => {
            let span = wait.span();
            let text = wait.into_inner();
            match command::parse_duration(text.trim()) {
                Ok(duration) => Some(duration),
                Err(DurationError::Malformed) => {
                    return Err(positions.error(span.start, ScenarioErrorKind::Wait(text)));
                }
                Err(DurationError::TooLong) => {
                    return Err(positions.error(span.start, ScenarioErrorKind::WaitTooLong(text)));
                }
            }
        }
    };
    let expect = raw
        .expect
        .into_iter()
        .map(|spanned| {
            let span = spanned.span();
            let text = spanned.into_inner();
            let at_start = positions.offset_in_value(&span, &text, 1, 1);
            let (line, column) = positions.line_column(at_start);
            match Expectation::parse(&text) {
                Ok(expectation) => Ok(Expectation {
                    line,
                    column,
                    ..expectation
                }),
                Err(error) => {
                    let offset = positions.offset_in_value(&span, &text, 1, error.column);
                    Err(positions.error(offset, ScenarioErrorKind::Expect(Box::new(error))))
                }
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ScenarioStep {
        index,
        run,
        run_source,
        source_line,
        wait,
        say: raw.say.into(),
        expect,
        focus: raw.focus,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "title.en = \"T\"\ntitle.ko = \"티\"\n";

    fn step(body: &str) -> String {
        format!("{HEAD}[[step]]\n{body}say.en = \"e\"\nsay.ko = \"k\"\n")
    }

    fn error(source: &str) -> ScenarioError {
        parse("t", "t.toml", source).unwrap_err()
    }

    #[test]
    fn reads_a_step() {
        let text = step(
            "run = \"server srv 127.0.0.1:0 2\"\nwait = \"300ms\"\nexpect = [\"srv.backlog == 2\"]\nfocus = \"srv\"\n",
        );
        let scenario = parse("t", "t.toml", &text).unwrap();
        assert_eq!(scenario.title.ko, "티");
        let step = &scenario.steps[0];
        assert_eq!(step.run.len(), 1);
        assert_eq!(step.source_line, 4);
        assert_eq!(step.wait, Some(std::time::Duration::from_millis(300)));
        assert_eq!((step.expect[0].line, step.expect[0].column), (6, 12));
        assert_eq!(step.focus.as_deref(), Some("srv"));
    }

    #[test]
    fn capture_is_a_top_level_switch() {
        let text = step("run = \"\"\n");
        assert!(!parse("t", "t.toml", &text).unwrap().capture);
        let wanted = format!("capture = true\n{text}");
        assert!(parse("t", "t.toml", &wanted).unwrap().capture);
        let e = error(&format!("capture = \"yes\"\n{text}"));
        assert_eq!((e.line, e.column), (1, 11), "{e}");
        // A segment expectation that does not fit is positioned like any other.
        let e = error(&step("run = \"\"\nexpect = [\"c.segments.SYNACK == 1\"]\n"));
        assert_eq!((e.line, e.column), (5, 23), "{e}");
    }

    #[test]
    fn run_errors_land_on_the_bad_word() {
        let e = error(&step("run = \"server srv; lisen srv 2\"\n"));
        assert_eq!((e.line, e.column), (4, 20));
        assert!(matches!(e.kind, ScenarioErrorKind::Run(_)));
        let e = error(&step(
            "run = \"\"\"\nserver srv\n  clients c x srv\n\"\"\"\n",
        ));
        assert_eq!((e.line, e.column), (6, 13));
        // With an escape the file does not hold the value verbatim: the string's start.
        let e = error(&step("run = \"send \\\"x\\\"; bogus\"\n"));
        assert_eq!((e.line, e.column), (4, 7));
    }

    #[test]
    fn other_errors_have_positions() {
        let e = error(&step("run = \"\"\nwait = \"soon\"\n"));
        assert_eq!(
            (e.line, e.column, e.kind),
            (5, 8, ScenarioErrorKind::Wait("soon".into()))
        );
        let e = error(&step("run = \"\"\nexpect = [\"srv.queue == 1\"]\n"));
        assert_eq!((e.line, e.column), (5, 16));
        let e = error(&step("run = \"\"\nbogus = 1\n"));
        assert_eq!((e.line, e.column), (5, 1));
        let e = error(&format!("{HEAD}[[step]\n"));
        assert_eq!(e.line, 3);
        let e = error(HEAD);
        assert_eq!(e.kind, ScenarioErrorKind::NoSteps);
        assert!(e.to_string().starts_with("t.toml:3:1: "), "{e}");
    }

    /// Issue 8, defect 1: a scenario's wait has the language's maximum; an hour is fine.
    #[test]
    fn a_wait_past_the_maximum_is_positioned() {
        let ok = parse("t", "t.toml", &step("run = \"\"\nwait = \"1h\"\n")).unwrap();
        assert_eq!(ok.steps[0].wait, Some(std::time::Duration::from_hours(1)));
        let e = error(&step("run = \"\"\nwait = \"86400.000000001s\"\n"));
        assert_eq!((e.line, e.column), (5, 8));
        assert_eq!(
            e.kind,
            ScenarioErrorKind::WaitTooLong("86400.000000001s".into())
        );
        assert!(e.to_string().contains("at most 24h"), "{e}");
        let e = error(&step("run = \"\"\nwait = \"9223372036854775807s\"\n"));
        assert!(matches!(e.kind, ScenarioErrorKind::WaitTooLong(_)), "{e}");
    }

    /// Issue 8, defect 9: the first byte that is not UTF-8, at its line and column.
    #[test]
    fn bytes_that_are_not_utf8_are_positioned() {
        let mut bytes = step("run = \"\"\n").into_bytes();
        bytes.extend_from_slice("say.x = \"한\u{e9}".as_bytes());
        bytes.push(0xe9);
        let e = decode("t.toml", bytes).unwrap_err();
        assert!(e.to_string().starts_with("t.toml:7:12: "), "{e}");
        assert_eq!(
            (e.line, e.column, e.kind),
            (7, 12, ScenarioErrorKind::NotUtf8(0xe9))
        );
        let e = decode("t.toml", vec![0xff]).unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert_eq!(decode("t.toml", b"ok".to_vec()).unwrap(), "ok");
    }
}
