//! Expectations: `NAME.FIELD OP VALUE`, parsed and checked against the schema when a scenario
//! loads, so a typo is reported with its position before anything runs.
//!
//! ```text
//! srv.accept_queue == 3
//! c4.state == SYN_SENT
//! kernel_only.TIME_WAIT >= 1
//! srv-a1.local.port == srv.local.port      # VALUE may be another field
//! s.fd == a.fd + 1                          # ... plus or minus a whole number
//! dup.local == null
//! c.segments.SYN_ACK == 1                   # from the capture: segments, states, handshake
//! c.segments.last.flags == FIN-ACK
//! c.segments.1.ack == c.segments.0.seq + 1
//! c.handshake == ok
//! ```

use std::fmt;

use super::{schema, segments};
use crate::model::TcpState;
use crate::text::{self, Lang};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// `NAME.FIELD[.FIELD...]`: where in the snapshot a value is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// A lab name or a pseudo-name (`counters`, `ports`, `kernel_only`, `fds`, ...).
    pub name: String,
    pub fields: Vec<String>,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for field in &self.fields {
            write!(f, ".{field}")?;
        }
        Ok(())
    }
}

/// The right-hand side of an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Null,
    Bool(bool),
    Int(i64),
    /// A word or a quoted string; a kernel state name is stored in its canonical spelling.
    Text(String),
    /// Another field of the same snapshot, plus `offset`.
    Field {
        path: FieldPath,
        offset: i64,
    },
}

/// One check of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// As written in the file.
    pub source: String,
    pub subject: FieldPath,
    pub op: Op,
    pub value: Operand,
    /// 1-based position of the expectation in its file (column in characters); 0 when parsed
    /// from a bare string.
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.source.trim())
    }
}

/// What is wrong with an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectErrorKind {
    /// Not `NAME.FIELD OP VALUE`.
    Syntax,
    /// The path names a field the snapshot does not have; `expected` lists what fits there.
    UnknownField { field: String, expected: String },
    /// A VALUE that cannot be read (e.g. `srv.fd == a.fd + x`).
    BadValue,
    /// A whole number outside `min..=max` (a VALUE, or the N of `FIELD + N`).
    NumberOutOfRange { number: String, min: i64, max: i64 },
}

/// An expectation that did not parse: `column` is 1-based, in characters of the expectation text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectError {
    pub source: String,
    pub column: usize,
    pub kind: ExpectErrorKind,
}

impl ExpectError {
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        let found = self.source.trim();
        match &self.kind {
            ExpectErrorKind::Syntax => {
                text::format(lang, "scenario.expect_syntax", &[("found", found)])
            }
            ExpectErrorKind::UnknownField { field, expected } => {
                let key = if expected.is_empty() {
                    "scenario.expect_no_field"
                } else {
                    "scenario.expect_field"
                };
                text::format(
                    lang,
                    key,
                    &[("expected", expected), ("field", field), ("found", found)],
                )
            }
            ExpectErrorKind::BadValue => {
                text::format(lang, "scenario.expect_value", &[("found", found)])
            }
            ExpectErrorKind::NumberOutOfRange { number, min, max } => text::format(
                lang,
                "input.expect_number_range",
                &[
                    ("min", &min.to_string()),
                    ("max", &max.to_string()),
                    ("number", number),
                    ("found", found),
                ],
            ),
        }
    }
}

impl fmt::Display for ExpectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for ExpectError {}

/// A scanner over the expectation text that knows its position in characters.
struct Scanner<'a> {
    text: &'a str,
    /// Byte offset.
    at: usize,
}

impl<'a> Scanner<'a> {
    fn column(&self, byte: usize) -> usize {
        self.text[..byte].chars().count() + 1
    }

    fn skip_spaces(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// Takes characters while `keep` holds.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        self.at += end;
        &rest[..end]
    }
}

/// A whole number as written: digits, maybe after a sign. Such a word is a number, never text, so
/// one too large for the comparison is an error instead of a string that never matches.
fn is_integer(word: &str) -> bool {
    let digits = word.strip_prefix(['-', '+']).unwrap_or(word);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_field_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Expectation {
    /// Parses and checks one expectation. Positions in the error are within `source`.
    pub fn parse(source: &str) -> Result<Self, ExpectError> {
        let fail = |byte: usize, kind: ExpectErrorKind| ExpectError {
            source: source.to_owned(),
            column: source[..byte].chars().count() + 1,
            kind,
        };
        let mut scan = Scanner {
            text: source,
            at: 0,
        };
        scan.skip_spaces();
        let subject_at = scan.at;
        let Some((subject, field_starts)) = path(&mut scan) else {
            return Err(fail(subject_at, ExpectErrorKind::Syntax));
        };
        check_path(&subject, &field_starts, source, &fail)?;
        scan.skip_spaces();
        let op_at = scan.at;
        let op = match scan.take_while(|c| matches!(c, '=' | '!' | '<' | '>')) {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return Err(fail(op_at, ExpectErrorKind::Syntax)),
        };
        scan.skip_spaces();
        let value_at = scan.at;
        if scan.rest().is_empty() {
            return Err(fail(value_at, ExpectErrorKind::Syntax));
        }
        let value = operand(&mut scan, source, &fail)?;
        scan.skip_spaces();
        if !scan.rest().is_empty() {
            return Err(fail(scan.at, ExpectErrorKind::Syntax));
        }
        debug_assert!(scan.column(scan.at) >= 1);
        Ok(Self {
            source: source.to_owned(),
            subject,
            op,
            value,
            line: 0,
            column: 0,
        })
    }
}

/// `NAME.FIELD[.FIELD...]`, with the byte offset of each field.
fn path(scan: &mut Scanner<'_>) -> Option<(FieldPath, Vec<usize>)> {
    let start = scan.at;
    let name = scan.take_while(is_name_char);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        scan.at = start;
        return None;
    }
    let mut fields = Vec::new();
    let mut starts = Vec::new();
    while scan.rest().starts_with('.') {
        scan.at += 1;
        starts.push(scan.at);
        let field = scan.take_while(is_field_char);
        if field.is_empty() {
            return None;
        }
        fields.push(field.to_owned());
    }
    if fields.is_empty() {
        scan.at = start;
        return None;
    }
    Some((
        FieldPath {
            name: name.to_owned(),
            fields,
        },
        starts,
    ))
}

fn check_path(
    path: &FieldPath,
    starts: &[usize],
    source: &str,
    fail: &impl Fn(usize, ExpectErrorKind) -> ExpectError,
) -> Result<(), ExpectError> {
    schema::check(&path.name, &path.fields).map_err(|misfit| {
        let (at, field) = match path.fields.get(misfit.segment) {
            // A field after a plain value: name the plain value.
            Some(_) if misfit.expected.is_empty() => (
                starts[misfit.segment],
                path.fields[misfit.segment - 1].clone(),
            ),
            Some(field) => (starts[misfit.segment], field.clone()),
            // The path stopped too early: point just past it.
            None => {
                let last = starts.len() - 1;
                (starts[last] + path.fields[last].len(), String::new())
            }
        };
        debug_assert!(at <= source.len());
        fail(
            at,
            ExpectErrorKind::UnknownField {
                field: if field.is_empty() {
                    path.to_string()
                } else {
                    field
                },
                expected: misfit.expected,
            },
        )
    })
}

fn operand(
    scan: &mut Scanner<'_>,
    source: &str,
    fail: &impl Fn(usize, ExpectErrorKind) -> ExpectError,
) -> Result<Operand, ExpectError> {
    let start = scan.at;
    if scan.rest().starts_with('"') {
        scan.at += 1;
        let inner = scan.take_while(|c| c != '"');
        if !scan.rest().starts_with('"') {
            return Err(fail(start, ExpectErrorKind::BadValue));
        }
        scan.at += 1;
        return Ok(Operand::Text(inner.to_owned()));
    }
    if scan.rest().starts_with(|c: char| c.is_ascii_alphabetic())
        && let Some((path, starts)) = path(scan)
    {
        check_path(&path, &starts, source, fail)?;
        scan.skip_spaces();
        let sign = match scan.rest().chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => return Ok(Operand::Field { path, offset: 0 }),
        };
        scan.at += 1;
        scan.skip_spaces();
        let number_at = scan.at;
        let digits = scan.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(fail(number_at, ExpectErrorKind::BadValue));
        }
        // At most i64::MAX either way: the sum is then computed exactly (see `eval`).
        let offset: i64 = digits.parse().map_err(|_| {
            fail(
                number_at,
                ExpectErrorKind::NumberOutOfRange {
                    number: digits.to_owned(),
                    min: 0,
                    max: i64::MAX,
                },
            )
        })?;
        return Ok(Operand::Field {
            path,
            offset: sign * offset,
        });
    }
    let word_at = scan.at;
    let word = scan.take_while(|c| !c.is_whitespace());
    Ok(match word {
        "null" => Operand::Null,
        "true" => Operand::Bool(true),
        "false" => Operand::Bool(false),
        _ => {
            if is_integer(word) {
                let number = word.parse::<i64>().map_err(|_| {
                    fail(
                        word_at,
                        ExpectErrorKind::NumberOutOfRange {
                            number: word.to_owned(),
                            min: i64::MIN,
                            max: i64::MAX,
                        },
                    )
                })?;
                Operand::Int(number)
            } else if schema::is_state_word(word) {
                Operand::Text(
                    TcpState::from_name(word)
                        .map_or_else(|| word.to_owned(), |state| state.name().to_owned()),
                )
            } else if let Some(flags) = segments::canonical_flags(word) {
                // Flags as the ladder spells them: `FIN_ACK` and `ACK-FIN` mean `FIN-ACK`.
                Operand::Text(flags.to_owned())
            } else {
                Operand::Text(word.to_owned())
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        let e = Expectation::parse("srv.accept_queue == 3").unwrap();
        assert_eq!(e.subject.to_string(), "srv.accept_queue");
        assert_eq!((e.op, e.value), (Op::Eq, Operand::Int(3)));
        let e = Expectation::parse("c4.state==syn-sent").unwrap();
        assert_eq!(e.value, Operand::Text("syn-sent".into()));
        let e = Expectation::parse("c4.state == SYN-SENT").unwrap();
        assert_eq!(e.value, Operand::Text("SYN_SENT".into()));
        let e = Expectation::parse(" s.fd == a.fd + 1 ").unwrap();
        assert_eq!(
            e.value,
            Operand::Field {
                path: FieldPath {
                    name: "a".into(),
                    fields: vec!["fd".into()]
                },
                offset: 1
            }
        );
        let e = Expectation::parse("srv-a1.remote != null").unwrap();
        assert_eq!((e.op, e.value), (Op::Ne, Operand::Null));
        let e = Expectation::parse("dup.errno == EADDRINUSE").unwrap();
        assert_eq!(e.value, Operand::Text("EADDRINUSE".into()));
        let e = Expectation::parse("srv.local == \"127.0.0.1:80\"").unwrap();
        assert_eq!(e.value, Operand::Text("127.0.0.1:80".into()));
        for op in ["<", "<=", ">", ">="] {
            Expectation::parse(&format!("kernel_only.count {op} -2")).unwrap();
        }
        let e = Expectation::parse("c.segments.last.flags == ACK_FIN").unwrap();
        assert_eq!(e.value, Operand::Text("FIN-ACK".into()));
        let e = Expectation::parse("c.segments.0.flags == SYN").unwrap();
        assert_eq!(e.value, Operand::Text("SYN".into()));
        let e = Expectation::parse("c.segments.SYN_ACK == 1").unwrap();
        assert_eq!(e.subject.fields, ["segments", "SYN_ACK"]);
        let e = Expectation::parse("c.segments.1.ack == c.segments.0.seq + 1").unwrap();
        assert!(matches!(e.value, Operand::Field { offset: 1, .. }));
        let e = Expectation::parse("c.handshake == ok").unwrap();
        assert_eq!(e.value, Operand::Text("ok".into()));
    }

    /// Segment paths that do not fit point at the field that is wrong.
    #[test]
    fn segment_errors_point_at_the_problem() {
        for (text, column) in [
            ("c.segments.SYNACK == 1", 12),
            ("c.segments.SYN-ACK == 1", 15),
            ("c.segments == 3", 11),
            ("c.segments.last.flag == SYN", 17),
            ("c.handshake.ok == true", 13),
            ("c.states.SYN == 1", 10),
            ("c.segments.0.flags == c.segments.first.flags", 34),
        ] {
            let e = Expectation::parse(text).unwrap_err();
            assert_eq!(e.column, column, "{text}: {e}");
        }
        let e = Expectation::parse("c.segments.SYNACK == 1").unwrap_err();
        assert!(e.to_string().contains("SYN_ACK"), "{e}");
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = Expectation::parse("srv.acept_queue == 3").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(
            matches!(e.kind, ExpectErrorKind::UnknownField { ref field, .. } if field == "acept_queue")
        );
        let e = Expectation::parse("srv.state = LISTEN").unwrap_err();
        assert_eq!((e.column, e.kind), (11, ExpectErrorKind::Syntax));
        let e = Expectation::parse("srv.state ==").unwrap_err();
        assert_eq!(e.column, 13);
        let e = Expectation::parse("srv == 3").unwrap_err();
        assert_eq!(e.column, 1);
        let e = Expectation::parse("s.fd == a.fd + x").unwrap_err();
        assert_eq!((e.column, e.kind), (16, ExpectErrorKind::BadValue));
        let e = Expectation::parse("s.fd == a.bogus").unwrap_err();
        assert_eq!(e.column, 11);
        let e = Expectation::parse("srv.state == LISTEN LISTEN").unwrap_err();
        assert_eq!(e.column, 21);
        let e = Expectation::parse("srv.waiting == 1").unwrap_err();
        assert_eq!(e.column, 12);
    }

    /// Issue 8, defect 7: numbers an `i64` cannot hold are positioned errors, not text or a wrap.
    #[test]
    fn out_of_range_numbers_are_positioned_errors() {
        let e = Expectation::parse("s.fd == a.fd + 9223372036854775807").unwrap();
        assert!(matches!(e.value, Operand::Field { offset, .. } if offset == i64::MAX));
        let e = Expectation::parse("s.fd == a.fd - 9223372036854775807").unwrap();
        assert!(matches!(e.value, Operand::Field { offset, .. } if offset == -i64::MAX));
        let e = Expectation::parse("s.fd == a.fd + 9223372036854775808").unwrap_err();
        assert_eq!(e.column, 16);
        assert!(matches!(
            e.kind,
            ExpectErrorKind::NumberOutOfRange { min: 0, .. }
        ));
        assert!(e.message(Lang::En).contains("9223372036854775808"), "{e}");
        for (text, column) in [
            ("s.fd == 9223372036854775808", 9),
            ("s.fd == -9223372036854775809", 9),
            ("s.fd  >  99999999999999999999999", 10),
        ] {
            let e = Expectation::parse(text).unwrap_err();
            assert_eq!(e.column, column, "{text}");
            assert!(
                matches!(
                    e.kind,
                    ExpectErrorKind::NumberOutOfRange {
                        min: i64::MIN,
                        max: i64::MAX,
                        ..
                    }
                ),
                "{text}"
            );
        }
        let e = Expectation::parse("s.fd == -9223372036854775808").unwrap();
        assert_eq!(e.value, Operand::Int(i64::MIN));
    }
}
