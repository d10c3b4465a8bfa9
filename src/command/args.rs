//! The arguments of one command, read left to right: names, keywords, addresses, numbers, text.
//! Every verb's parser (the core verbs in `parse.rs`, the families in files of their own) reads
//! its arguments through this one reader, so they all fail the same way, at the same column.

use std::net::SocketAddr;

use super::Target;
use super::error::{ParseError, ParseErrorKind, shown};
use super::lex::Token;
use super::value::{
    DurationError, is_name, parse_addr, parse_duration, parse_integer, parse_target,
};

/// The escapes a quoted PATH may use: no `\0`, and `\xNN` bytes must form UTF-8.
const PATH_ESCAPES: &str = r#"\n \r \t \\ \" \xNN (UTF-8)"#;

/// The arguments of one command, consumed left to right.
pub(super) struct Args<'c, 'a> {
    pub(super) tokens: &'c [&'c Token<'a>],
    pub(super) next: usize,
    pub(super) line: usize,
    pub(super) end_column: usize,
    pub(super) usage: &'static str,
}

impl<'c, 'a> Args<'c, 'a> {
    pub(super) fn peek(&self) -> Option<&'c Token<'a>> {
        self.tokens.get(self.next).copied()
    }

    pub(super) fn duration(&mut self) -> Result<std::time::Duration, ParseError> {
        let token = self.take("DURATION")?;
        let parsed = token
            .text()
            .ok_or(DurationError::Malformed)
            .and_then(parse_duration);
        match parsed {
            Ok(duration) => Ok(duration),
            Err(DurationError::Malformed) => {
                Err(self.error(token, ParseErrorKind::BadDuration, "DURATION"))
            }
            Err(DurationError::TooLong) => {
                Err(self.error(token, ParseErrorKind::DurationTooLong, "DURATION"))
            }
        }
    }

    pub(super) fn take(&mut self, missing: &'static str) -> Result<&'c Token<'a>, ParseError> {
        let token = self.peek().ok_or_else(|| ParseError {
            line: self.line,
            column: self.end_column,
            found: String::new(),
            expected: self.usage.to_owned(),
            kind: ParseErrorKind::MissingArgument { missing },
        })?;
        self.next += 1;
        Ok(token)
    }

    pub(super) fn error(
        &self,
        token: &Token<'_>,
        kind: ParseErrorKind,
        expected: &str,
    ) -> ParseError {
        ParseError {
            line: self.line,
            column: token.column,
            found: shown(token.raw),
            expected: expected.to_owned(),
            kind,
        }
    }

    /// Fails on the first argument left over.
    pub(super) fn finish(&self) -> Result<(), ParseError> {
        match self.peek() {
            Some(token) => Err(self.error(token, ParseErrorKind::ExtraArgument, self.usage)),
            None => Ok(()),
        }
    }

    pub(super) fn name(&mut self, what: &'static str) -> Result<String, ParseError> {
        let token = self.take(what)?;
        match token.text() {
            Some(text) if is_name(text) => Ok(text.to_owned()),
            _ => Err(self.error(token, ParseErrorKind::BadName, what)),
        }
    }

    pub(super) fn keyword<T: Copy>(
        &mut self,
        what: &'static str,
        choices: &[(&str, T)],
    ) -> Result<T, ParseError> {
        let token = self.take(what)?;
        let text = token.text().unwrap_or_default();
        choices
            .iter()
            .find(|(word, _)| word.eq_ignore_ascii_case(text))
            .map(|&(_, value)| value)
            .ok_or_else(|| self.error(token, ParseErrorKind::BadKeyword, what))
    }

    pub(super) fn optional_keyword<T: Copy>(
        &mut self,
        what: &'static str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, ParseError> {
        match self.peek() {
            Some(_) => self.keyword(what, choices).map(Some),
            None => Ok(None),
        }
    }

    pub(super) fn addr(&mut self, what: &'static str) -> Result<SocketAddr, ParseError> {
        let token = self.take(what)?;
        token
            .text()
            .ok_or(ParseErrorKind::BadAddress)
            .and_then(parse_addr)
            .map_err(|kind| self.error(token, kind, what))
    }

    pub(super) fn target(&mut self, what: &'static str) -> Result<Target, ParseError> {
        let token = self.take(what)?;
        token
            .text()
            .ok_or(ParseErrorKind::BadAddress)
            .and_then(parse_target)
            .map_err(|kind| self.error(token, kind, what))
    }

    pub(super) fn number(
        &mut self,
        what: &'static str,
        min: u64,
        max: u64,
    ) -> Result<u64, ParseError> {
        let token = self.take(what)?;
        let value = token
            .text()
            .and_then(parse_integer)
            .ok_or_else(|| self.error(token, ParseErrorKind::BadNumber, what))?;
        u64::try_from(value)
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| self.error(token, ParseErrorKind::OutOfRange { min, max }, what))
    }

    /// An optional `on`, `off` or number (`setsockopt`'s VALUE).
    pub(super) fn switch_or_number(&mut self) -> Result<Option<u32>, ParseError> {
        let Some(token) = self.peek() else {
            return Ok(None);
        };
        match token.text() {
            Some(word) if word.eq_ignore_ascii_case("on") => {
                self.next += 1;
                Ok(Some(1))
            }
            Some(word) if word.eq_ignore_ascii_case("off") => {
                self.next += 1;
                Ok(Some(0))
            }
            _ => Ok(Some(self.number("VALUE", 0, u32::MAX.into())? as u32)),
        }
    }

    /// TEXT: one quoted string, or all the remaining bare words joined by single spaces.
    pub(super) fn text(&mut self) -> Result<Vec<u8>, ParseError> {
        let rest = &self.tokens[self.next..];
        let first = self.take("TEXT")?;
        if let Some(bytes) = &first.quoted {
            return Ok(bytes.clone());
        }
        let mut data = Vec::new();
        for token in rest {
            if token.quoted.is_some() {
                break;
            }
            if !data.is_empty() {
                data.push(b' ');
            }
            data.extend_from_slice(token.raw.as_bytes());
        }
        // A quoted token after bare words is left over, and `finish` reports it.
        self.next += rest
            .iter()
            .skip(1)
            .take_while(|t| t.quoted.is_none())
            .count();
        Ok(data)
    }

    /// PATH: one word or quoted string, UTF-8, without NUL.
    pub(super) fn path(&mut self) -> Result<String, ParseError> {
        let token = self.take("PATH")?;
        match token.text() {
            Some(text) if !text.contains('\0') => Ok(text.to_owned()),
            _ => Err(self.error(token, ParseErrorKind::BadEscape, PATH_ESCAPES)),
        }
    }
}
