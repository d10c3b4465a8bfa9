//! The NAT part of the `wire` verb: `wire nat tcp|udp PUBLIC -> PRIVATE`, `wire nat del tcp|udp
//! PUBLIC`, `wire nat off`. [`parse_nat`] reads the words after `nat`; the `wire` verb's parser
//! hands them over, so every error keeps its column in the script.
//!
//! ```text
//! wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80   # forward the router's public port to b
//! wire nat udp 198.18.0.254:5353->198.18.0.2:53     # the arrow may touch the addresses
//! wire nat del tcp 198.18.0.254:8080                 # remove that rule (and its connections)
//! wire nat off                                       # remove every rule: a transparent wire
//! ```

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

use super::error::{ParseError, ParseErrorKind, shown};
use super::lex::Token;
use super::value::parse_addr;
use crate::model::Proto;
use crate::net::nat::{Rule, RuleError};

/// The usage form of the NAT commands (errors show it as-is).
pub const NAT_USAGE: &str = "wire nat tcp|udp PUBLIC_ADDR:PORT -> PRIVATE_ADDR:PORT | wire nat del tcp|udp PUBLIC_ADDR:PORT | wire nat off";

/// The arrow between the public and the private tuple.
const ARROW: &str = "->";

/// A NAT command of the lab language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatCommand {
    /// Forward `rule.public` to `rule.private` (`Nat::add_rule`).
    Add(Rule),
    /// Remove the rule for this protocol and public tuple (`Nat::remove_rule`).
    Delete { proto: Proto, public: SocketAddrV4 },
    /// Remove every rule and entry (`Nat::clear`).
    Off,
}

impl NatCommand {
    /// The command in canonical text, which [`parse_nat`] reads back to an equal command.
    #[must_use]
    pub fn to_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for NatCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Add(rule) => write!(f, "wire nat {rule}"),
            Self::Delete { proto, public } => write!(f, "wire nat del {} {public}", proto.name()),
            Self::Off => f.write_str("wire nat off"),
        }
    }
}

/// One word of the arguments: a token, or a piece of one split at `->`.
struct Word<'a> {
    text: &'a str,
    /// The token as written (quotes included), for messages.
    raw: &'a str,
    column: usize,
}

/// Parses the words after `wire nat`. `line` is the command's line and `end_column` the column
/// just past its last token (where a missing argument is reported).
pub(super) fn parse_nat(
    args: &[&Token<'_>],
    line: usize,
    end_column: usize,
) -> Result<NatCommand, ParseError> {
    let words = split_arrows(args);
    let mut cursor = Cursor {
        words: &words,
        next: 0,
        line,
        end_column,
    };
    let first = cursor.take("tcp|udp|del|off")?;
    let command = match first.text.to_ascii_lowercase().as_str() {
        "off" => NatCommand::Off,
        "del" => {
            let proto = cursor.proto()?;
            let (public, _) = cursor.addr("PUBLIC_ADDR:PORT")?;
            NatCommand::Delete { proto, public }
        }
        "tcp" | "udp" => {
            let proto = if first.text.eq_ignore_ascii_case("tcp") {
                Proto::Tcp
            } else {
                Proto::Udp
            };
            let (public, public_word) = cursor.addr("PUBLIC_ADDR:PORT")?;
            let arrow = cursor.take(ARROW)?;
            if arrow.text != ARROW {
                return Err(cursor.error(arrow, ParseErrorKind::BadKeyword, ARROW));
            }
            let (private, private_word) = cursor.addr("PRIVATE_ADDR:PORT")?;
            let rule = Rule::new(proto, public, private);
            rule.check().map_err(|error| {
                let word = match error {
                    RuleError::NotUnicast(ip) if ip == *public.ip() => public_word,
                    RuleError::PortZero if public.port() == 0 => public_word,
                    _ => private_word,
                };
                rule_error(&cursor, word, error)
            })?;
            NatCommand::Add(rule)
        }
        _ => {
            return Err(cursor.error(first, ParseErrorKind::BadKeyword, "tcp|udp|del|off"));
        }
    };
    cursor.finish()?;
    Ok(command)
}

/// The positioned error for a rule [`Rule::check`] refused.
fn rule_error(cursor: &Cursor<'_, '_>, word: &Word<'_>, error: RuleError) -> ParseError {
    let (kind, expected) = match error {
        RuleError::PortZero => (
            ParseErrorKind::BadPort,
            "ADDR:PORT with a PORT from 1 to 65535",
        ),
        RuleError::SameTuple => (
            ParseErrorKind::BadAddress,
            "PRIVATE_ADDR:PORT other than the public one",
        ),
        _ => (
            ParseErrorKind::BadAddress,
            "a unicast IPv4 address (not 0.0.0.0, broadcast, multicast or loopback)",
        ),
    };
    cursor.error(word, kind, expected)
}

/// The argument tokens as words, bare words split around `->` (`a->b` is three words), each
/// with its column.
fn split_arrows<'t>(args: &[&'t Token<'_>]) -> Vec<Word<'t>> {
    let mut words = Vec::new();
    for &token in args {
        let Some(text) = token.text() else {
            // Quoted bytes that are not UTF-8: one word that matches nothing.
            words.push(Word {
                text: "",
                raw: token.raw,
                column: token.column,
            });
            continue;
        };
        if token.quoted.is_some() {
            words.push(Word {
                text,
                raw: token.raw,
                column: token.column,
            });
            continue;
        }
        let mut rest = text;
        let mut column = token.column;
        while !rest.is_empty() {
            let (piece, after) = match rest.find(ARROW) {
                Some(0) => rest.split_at(ARROW.len()),
                Some(at) => rest.split_at(at),
                None => (rest, ""),
            };
            words.push(Word {
                text: piece,
                raw: piece,
                column,
            });
            column += piece.chars().count();
            rest = after;
        }
    }
    words
}

struct Cursor<'w, 'a> {
    words: &'w [Word<'a>],
    next: usize,
    line: usize,
    end_column: usize,
}

impl<'w, 'a> Cursor<'w, 'a> {
    fn take(&mut self, missing: &'static str) -> Result<&'w Word<'a>, ParseError> {
        let word = self.words.get(self.next).ok_or_else(|| ParseError {
            line: self.line,
            column: self.end_column,
            found: String::new(),
            expected: NAT_USAGE.to_owned(),
            kind: ParseErrorKind::MissingArgument { missing },
        })?;
        self.next += 1;
        Ok(word)
    }

    fn error(&self, word: &Word<'_>, kind: ParseErrorKind, expected: &str) -> ParseError {
        ParseError {
            line: self.line,
            column: word.column,
            found: shown(word.raw),
            expected: expected.to_owned(),
            kind,
        }
    }

    fn finish(&self) -> Result<(), ParseError> {
        match self.words.get(self.next) {
            Some(word) => Err(self.error(word, ParseErrorKind::ExtraArgument, NAT_USAGE)),
            None => Ok(()),
        }
    }

    fn proto(&mut self) -> Result<Proto, ParseError> {
        let word = self.take("tcp|udp")?;
        match word.text.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            _ => Err(self.error(word, ParseErrorKind::BadKeyword, "tcp|udp")),
        }
    }

    /// An explicit IPv4 address and port: `198.18.0.254:8080` (not `:8080`, `localhost:` or IPv6,
    /// which mean nothing on the wire).
    fn addr(&mut self, what: &'static str) -> Result<(SocketAddrV4, &'w Word<'a>), ParseError> {
        let word = self.take(what)?;
        let explicit = !word.text.starts_with(':')
            && !word.text.to_ascii_lowercase().starts_with("localhost:");
        match parse_addr(word.text) {
            Ok(SocketAddr::V4(addr)) if explicit => Ok((addr, word)),
            Ok(_) => Err(self.error(
                word,
                ParseErrorKind::BadAddress,
                &format!("{what} with an IPv4 address (NAT here is IPv4 only)"),
            )),
            Err(kind) => Err(self.error(word, kind, what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::lex::Lexer;
    use crate::text::Lang;

    /// Parses a whole `wire nat ...` line the way the `wire` verb will.
    fn parse(src: &str) -> Result<NatCommand, ParseError> {
        let raw = Lexer::new(src).next_command()?.expect("a command");
        assert_eq!(raw.tokens[0].raw, "wire");
        assert_eq!(raw.tokens[1].raw, "nat");
        parse_nat(
            &raw.tokens[2..].iter().collect::<Vec<_>>(),
            raw.line,
            raw.end_column(),
        )
    }

    fn v4(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    fn err(src: &str) -> (usize, ParseErrorKind, String) {
        let error = parse(src).expect_err(src);
        (error.column, error.kind, error.found)
    }

    #[test]
    fn rules_parse_and_print_back() {
        let rule = Rule::new(Proto::Tcp, v4("198.18.0.254:8080"), v4("198.19.0.2:80"));
        for src in [
            "wire nat tcp 198.18.0.254:8080 -> 198.19.0.2:80",
            "wire nat TCP 198.18.0.254:8080->198.19.0.2:80",
            "wire nat tcp 198.18.0.254:8080 ->198.19.0.2:80",
            "wire nat tcp 198.18.0.254:8080-> 198.19.0.2:80",
            "wire nat tcp \"198.18.0.254:8080\" -> 198.19.0.2:80",
        ] {
            assert_eq!(parse(src), Ok(NatCommand::Add(rule)), "{src}");
        }
        let udp = NatCommand::Add(Rule::new(
            Proto::Udp,
            v4("198.18.0.254:5353"),
            v4("198.19.0.2:53"),
        ));
        let delete = NatCommand::Delete {
            proto: Proto::Tcp,
            public: v4("198.18.0.254:8080"),
        };
        for command in [NatCommand::Add(rule), udp, delete, NatCommand::Off] {
            assert_eq!(parse(&command.to_line()), Ok(command), "{command}");
        }
        assert_eq!(parse("wire nat OFF"), Ok(NatCommand::Off));
        assert_eq!(
            NatCommand::Add(rule).to_line(),
            "wire nat tcp 198.18.0.254:8080 -> 198.19.0.2:80"
        );
    }

    #[test]
    fn errors_point_at_the_word() {
        use ParseErrorKind::{BadAddress, BadKeyword, BadPort, ExtraArgument, MissingArgument};
        let (column, kind, _) = err("wire nat");
        assert_eq!(
            (column, kind),
            (
                9,
                MissingArgument {
                    missing: "tcp|udp|del|off"
                }
            )
        );
        assert_eq!(
            err("wire nat sctp 1.2.3.4:1 -> 5.6.7.8:2"),
            (10, BadKeyword, "sctp".into())
        );
        assert_eq!(
            err("wire nat tcp 198.18.0.254 -> 198.19.0.2:80"),
            (14, BadAddress, "198.18.0.254".into())
        );
        assert_eq!(
            err("wire nat tcp 198.18.0.254:99999 -> 198.19.0.2:80"),
            (14, BadPort, "198.18.0.254:99999".into())
        );
        assert_eq!(
            err("wire nat tcp :8080 -> 198.19.0.2:80"),
            (14, BadAddress, ":8080".into())
        );
        assert_eq!(
            err("wire nat tcp [::1]:8080 -> 198.19.0.2:80"),
            (14, BadAddress, "[::1]:8080".into())
        );
        assert_eq!(
            err("wire nat tcp 198.18.0.254:8080 to 198.19.0.2:80"),
            (32, BadKeyword, "to".into())
        );
        let (column, kind, _) = err("wire nat tcp 198.18.0.254:8080");
        assert_eq!((column, kind), (31, MissingArgument { missing: "->" }));
        let (column, kind, _) = err("wire nat tcp 198.18.0.254:8080 ->");
        assert_eq!(
            (column, kind),
            (
                34,
                MissingArgument {
                    missing: "PRIVATE_ADDR:PORT"
                }
            )
        );
        // Glued: the private address starts right after the arrow.
        assert_eq!(
            err("wire nat tcp 198.18.0.254:8080->198.19.0.2"),
            (33, BadAddress, "198.19.0.2".into())
        );
        // Rules that cannot be: the offending address is marked.
        assert_eq!(
            err("wire nat tcp 198.18.0.254:0 -> 198.19.0.2:80"),
            (14, BadPort, "198.18.0.254:0".into())
        );
        assert_eq!(
            err("wire nat tcp 198.18.0.254:80 -> 0.0.0.0:80"),
            (33, BadAddress, "0.0.0.0:80".into())
        );
        assert_eq!(
            err("wire nat tcp 127.0.0.1:80 -> 198.19.0.2:80"),
            (14, BadAddress, "127.0.0.1:80".into())
        );
        assert_eq!(
            err("wire nat tcp 198.18.0.2:80 -> 198.18.0.2:80"),
            (31, BadAddress, "198.18.0.2:80".into())
        );
        assert_eq!(err("wire nat off now"), (14, ExtraArgument, "now".into()));
        assert_eq!(
            err("wire nat del icmp 1.2.3.4:5"),
            (14, BadKeyword, "icmp".into())
        );
        let (column, kind, _) = err("wire nat del tcp");
        assert_eq!(
            (column, kind),
            (
                17,
                MissingArgument {
                    missing: "PUBLIC_ADDR:PORT"
                }
            )
        );
        assert_eq!(
            err("wire nat del tcp 1.2.3.4:5 -> 6.7.8.9:1"),
            (28, ExtraArgument, "->".into())
        );
        // Korean text before the word still counts one column per character.
        let error = parse("wire nat tcp \"가\" -> 198.19.0.2:80").unwrap_err();
        assert_eq!((error.column, error.kind), (14, BadAddress));
    }

    #[test]
    fn messages_name_the_usage_and_escape_what_was_typed() {
        let error = parse("wire nat tcp 1.2.3.4:1 -> 5.6.7.8:2 \"\\x1b[2J\"").unwrap_err();
        let message = error.localized(Lang::En);
        assert!(message.starts_with("line 1, column 37:"), "{message}");
        assert!(
            message.contains("\\x1b[2J") && !message.contains('\u{1b}'),
            "{message}"
        );
        assert!(message.contains(NAT_USAGE), "{message}");
        let missing = parse("wire nat tcp 1.2.3.4:1")
            .unwrap_err()
            .localized(Lang::Ko);
        assert!(missing.contains("->"), "{missing}");
    }
}
