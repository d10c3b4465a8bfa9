//! Parse errors: where, what was found, what was wanted, in English or Korean.

use std::fmt;

use crate::text::{self, Lang};

/// Why a script did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The first word of a command is no verb; `suggestion` is the closest verb, if one is close.
    UnknownVerb {
        suggestion: Option<&'static str>,
    },
    /// The command ended early; `missing` names the piece (`BACKLOG`, `tcp|udp`, ...).
    MissingArgument {
        missing: &'static str,
    },
    ExtraArgument,
    BadName,
    /// A word that must be one of a few keywords (`tcp|udp`, `on|off`, `as`, ...) is not.
    BadKeyword,
    BadAddress,
    BadPort,
    BadNumber,
    BadDuration,
    /// A well-formed duration longer than [`super::DURATION_MAX`].
    DurationTooLong,
    UnterminatedQuote,
    BadEscape,
    /// A request PATH that is not `/` followed by visible ASCII (`http-get`, `ws-client`).
    BadRequestPath,
    /// A number outside `min..=max` (COUNT, BACKLOG, MAX, VALUE).
    OutOfRange {
        min: u64,
        max: u64,
    },
    /// The two ends of a pipe or socketpair were given the same name.
    SameName,
    /// `NAME@HOST` with a host the wire does not have (only `a` and `b`).
    BadHost,
    /// `wire loss` with something that is no percentage from 0 to 100.
    BadPercent,
}

impl ParseErrorKind {
    /// The locale key of the message for this kind (under `[parse]`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::UnknownVerb { .. } => "parse.unknown_verb",
            Self::MissingArgument { .. } => "parse.missing_argument",
            Self::ExtraArgument => "parse.extra_argument",
            Self::BadName => "parse.bad_name",
            Self::BadKeyword => "parse.bad_keyword",
            Self::BadAddress => "parse.bad_address",
            Self::BadPort => "parse.bad_port",
            Self::BadNumber => "parse.bad_number",
            Self::BadDuration => "parse.bad_duration",
            Self::DurationTooLong => "input.duration_too_long",
            Self::UnterminatedQuote => "parse.unterminated_quote",
            Self::BadEscape => "parse.bad_escape",
            Self::BadRequestPath => "websocket.bad_request_path",
            Self::OutOfRange { .. } => "parse.out_of_range",
            Self::SameName => "parse_ipc.same_name",
            Self::BadHost => "wire.parse_bad_host",
            Self::BadPercent => "wire.parse_bad_percent",
        }
    }
}

/// A script that did not parse: the first error, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters, of the offending token (for a missing argument: just past
    /// the end of the command).
    pub column: usize,
    /// The offending text as written (control characters escaped); empty for a missing argument.
    pub found: String,
    /// The usage form, or the kind of token wanted (`NAME`, `ADDR:PORT`, `tcp|udp`, ...).
    pub expected: String,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// The message in the given language, with its position.
    #[must_use]
    pub fn localized(&self, lang: Lang) -> String {
        let line = self.line.to_string();
        let column = self.column.to_string();
        let message = self.message(lang);
        // User text goes in last so that nothing it contains is taken for a placeholder.
        text::format(
            lang,
            "parse.location",
            &[("line", &line), ("column", &column), ("message", &message)],
        )
    }

    /// The message in the given language, without the position.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        let key = self.kind.key();
        let expected = self.expected.as_str();
        let found = self.found.as_str();
        match self.kind {
            ParseErrorKind::UnknownVerb { suggestion } => {
                let hint = suggestion.map_or_else(String::new, |verb| {
                    text::format(lang, "parse.did_you_mean", &[("suggestion", verb)])
                });
                text::format(
                    lang,
                    key,
                    &[("hint", &hint), ("expected", expected), ("found", found)],
                )
            }
            ParseErrorKind::MissingArgument { missing } => {
                text::format(lang, key, &[("missing", missing), ("expected", expected)])
            }
            ParseErrorKind::OutOfRange { min, max } => text::format(
                lang,
                key,
                &[
                    ("min", &min.to_string()),
                    ("max", &max.to_string()),
                    ("expected", expected),
                    ("found", found),
                ],
            ),
            ParseErrorKind::DurationTooLong => text::format(
                lang,
                key,
                &[("max", super::DURATION_MAX_TEXT), ("found", found)],
            ),
            _ => text::format(lang, key, &[("expected", expected), ("found", found)]),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.localized(Lang::En))
    }
}

impl std::error::Error for ParseError {}

/// Source text made safe to show in a message: control characters escaped (`\x1b`), the same
/// escaping as every other message (see [`crate::escape::visible`]).
pub(super) fn shown(raw: &str) -> String {
    crate::escape::visible(raw)
}
