//! Splits a script into commands and commands into tokens, keeping line and column of each.
//!
//! Outside quotes, a newline or `;` ends a command and `#` starts a comment that runs to the end of the
//! line; ASCII whitespace separates tokens, and `"` starts a quoted token. A quoted token ends at the
//! next unescaped `"` on the same line.

use super::error::{ParseError, ParseErrorKind, shown};

/// The escapes a quoted string may use (the `expected` of a bad escape).
const ESCAPES: &str = r#"\n \r \t \\ \" \0 \xNN"#;

/// One word of a command.
#[derive(Debug)]
pub(super) struct Token<'a> {
    /// As written, including the quotes of a quoted token.
    pub raw: &'a str,
    /// Byte offsets of `raw` in the script.
    pub start: usize,
    pub end: usize,
    /// 1-based column of the first character, and the column just past the last one.
    pub column: usize,
    pub end_column: usize,
    /// The decoded bytes of a quoted token; `None` for a bare word.
    pub quoted: Option<Vec<u8>>,
}

impl Token<'_> {
    /// The token's text: the bare word, or the quoted content if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        match &self.quoted {
            None => Some(self.raw),
            Some(bytes) => std::str::from_utf8(bytes).ok(),
        }
    }
}

/// The tokens of one command (never empty).
#[derive(Debug)]
pub(super) struct RawCommand<'a> {
    pub line: usize,
    pub tokens: Vec<Token<'a>>,
    /// From the first token to the end of the last.
    pub source: &'a str,
}

impl RawCommand<'_> {
    /// The column just past the command's last token.
    pub fn end_column(&self) -> usize {
        self.tokens.last().map_or(1, |token| token.end_column)
    }
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    /// Moves past one byte, counting lines and (at the first byte of each character) columns.
    fn bump(&mut self) {
        let byte = self.src.as_bytes()[self.pos];
        self.pos += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if byte & 0xC0 != 0x80 {
            self.column += 1;
        }
    }

    /// The next non-empty command, `None` at the end of the script.
    pub fn next_command(&mut self) -> Result<Option<RawCommand<'a>>, ParseError> {
        let mut tokens = Vec::new();
        let mut line = self.line;
        while let Some(byte) = self.peek() {
            if tokens.is_empty() {
                line = self.line;
            }
            match byte {
                b'\n' | b';' => {
                    self.bump();
                    if !tokens.is_empty() {
                        break;
                    }
                }
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.bump();
                    }
                }
                b'"' => tokens.push(self.quoted()?),
                _ if byte.is_ascii_whitespace() => self.bump(),
                _ => tokens.push(self.bare()),
            }
        }
        let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
            return Ok(None);
        };
        let source = &self.src[first.start..last.end];
        Ok(Some(RawCommand {
            line,
            tokens,
            source,
        }))
    }

    /// A bare word. `#` inside a word is part of it (`issue#5`), as in a shell: only a `#` that
    /// starts a word starts a comment.
    fn bare(&mut self) -> Token<'a> {
        let (start, column) = (self.pos, self.column);
        while let Some(byte) = self.peek() {
            if byte.is_ascii_whitespace() || matches!(byte, b';' | b'"') {
                break;
            }
            self.bump();
        }
        self.token(start, column, None)
    }

    fn quoted(&mut self) -> Result<Token<'a>, ParseError> {
        let (start, column) = (self.pos, self.column);
        self.bump();
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err(self.unterminated(start, column)),
                Some(b'"') => {
                    self.bump();
                    return Ok(self.token(start, column, Some(bytes)));
                }
                Some(b'\\') => {
                    let (escape_start, escape_column) = (self.pos, self.column);
                    self.bump();
                    let decoded = match self.peek() {
                        None | Some(b'\n') => return Err(self.unterminated(start, column)),
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(b'0') => b'\0',
                        Some(b'\\') => b'\\',
                        Some(b'"') => b'"',
                        Some(b'x') => {
                            self.bump();
                            match self.hex_digit().zip(self.hex_digit()) {
                                Some((high, low)) => {
                                    bytes.push(high << 4 | low);
                                    continue;
                                }
                                None => return Err(self.bad_escape(escape_start, escape_column)),
                            }
                        }
                        Some(_) => return Err(self.bad_escape(escape_start, escape_column)),
                    };
                    self.bump();
                    bytes.push(decoded);
                }
                Some(byte) => {
                    bytes.push(byte);
                    self.bump();
                }
            }
        }
    }

    fn hex_digit(&mut self) -> Option<u8> {
        let value = char::from(self.peek()?).to_digit(16)?;
        self.bump();
        Some(value as u8)
    }

    fn token(&self, start: usize, column: usize, quoted: Option<Vec<u8>>) -> Token<'a> {
        Token {
            raw: &self.src[start..self.pos],
            start,
            end: self.pos,
            column,
            end_column: self.column,
            quoted,
        }
    }

    fn unterminated(&self, start: usize, column: usize) -> ParseError {
        let rest = &self.src[start..];
        let rest = rest.split('\n').next().unwrap_or(rest);
        ParseError {
            line: self.line,
            column,
            found: shown(rest.trim_end_matches('\r')),
            expected: "\"".to_owned(),
            kind: ParseErrorKind::UnterminatedQuote,
        }
    }

    /// A bad escape starting at `start`: the backslash, what was read after it, and the next
    /// character unless it ends the string or the line.
    fn bad_escape(&self, start: usize, column: usize) -> ParseError {
        let rest = &self.src[self.pos..];
        let next = rest
            .chars()
            .next()
            .filter(|c| !matches!(c, '"' | '\n'))
            .map_or(0, char::len_utf8);
        ParseError {
            line: self.line,
            column,
            found: shown(&self.src[start..self.pos + next]),
            expected: ESCAPES.to_owned(),
            kind: ParseErrorKind::BadEscape,
        }
    }
}
