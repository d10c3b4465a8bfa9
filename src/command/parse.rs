//! Turns the tokens of each command into a [`Command`].

use super::args::Args;
use super::error::{ParseError, ParseErrorKind, shown};
use super::lex::{Lexer, RawCommand, Token};
use super::wire::{DEFAULT_SEED, Direction, WireCommand, parse_percent};
use super::{
    BACKLOG_MAX, CLIENTS_MAX, Command, Located, NAME_MAX, RECV_DEFAULT, RECV_MAX, ShutdownHow,
    SockOpt, VERBS,
};
use crate::model::{Proto, WireHost};

/// The verbs that make sockets, whose NAME may say on which host of the wire (`srv@b`).
const PLACED_VERBS: &[&str] = &["socket", "server", "client", "clients", "forward"];

/// Parses a whole script. Nothing in it should run unless all of it parses, so the first error
/// (in script order) is returned and the commands before it are dropped.
pub fn parse_script(src: &str) -> Result<Vec<Located>, ParseError> {
    let mut lexer = Lexer::new(src);
    let mut commands = Vec::new();
    while let Some(raw) = lexer.next_command()? {
        let command = parse_command(&raw)?;
        commands.push(Located {
            line: raw.line,
            column: raw.tokens[0].column,
            source: raw.source.to_owned(),
            command,
        });
    }
    Ok(commands)
}

fn parse_command(raw: &RawCommand<'_>) -> Result<Command, ParseError> {
    let (verb_token, rest) = raw
        .tokens
        .split_first()
        .expect("the lexer yields no empty command");
    let word = verb_token.text().unwrap_or_default();
    let Some(&(verb, usage)) = VERBS.iter().find(|(v, _)| v.eq_ignore_ascii_case(word)) else {
        return Err(unknown_verb(raw.line, verb_token, word));
    };
    let (host, placed_name) = if PLACED_VERBS.contains(&verb) {
        placement(raw.line, rest.first())?
    } else {
        (None, None)
    };
    let mut tokens: Vec<&Token<'_>> = rest.iter().collect();
    if let Some(name) = &placed_name {
        tokens[0] = name;
    }
    let mut args = Args {
        tokens: &tokens,
        next: 0,
        line: raw.line,
        end_column: raw.end_column(),
        usage,
    };
    let command = if let Some(command) = socket_verb(verb, &mut args)? {
        command
    } else if let Some(command) = super::ipc::parse(verb, &mut args)? {
        command
    } else if let Some(command) = super::websocket::parse(verb, &mut args)? {
        command
    } else {
        lab_verb(verb, &mut args)?
    };
    args.finish()?;
    Ok(match host {
        Some(host) => Command::On {
            host,
            command: Box::new(command),
        },
        None => command,
    })
}

/// `NAME@HOST` as a socket-making verb's first argument: the host, and the token without it.
fn placement<'a>(
    line: usize,
    token: Option<&Token<'a>>,
) -> Result<(Option<WireHost>, Option<Token<'a>>), ParseError> {
    let Some(token) = token.filter(|token| token.quoted.is_none()) else {
        return Ok((None, None));
    };
    let Some((name, host)) = token.raw.split_once('@') else {
        return Ok((None, None));
    };
    let name_chars = name.chars().count();
    let Some(host) = WireHost::parse(host) else {
        return Err(ParseError {
            line,
            column: token.column + name_chars + 1,
            found: shown(host),
            expected: "a|b".to_owned(),
            kind: ParseErrorKind::BadHost,
        });
    };
    let name_token = Token {
        raw: name,
        start: token.start,
        end: token.start + name.len(),
        column: token.column,
        end_column: token.column + name_chars,
        quoted: None,
    };
    Ok((Some(host), Some(name_token)))
}

/// `wire ...`: see [`super::wire`].
fn wire_verb(a: &mut Args<'_, '_>) -> Result<Command, ParseError> {
    #[derive(Clone, Copy)]
    enum Word {
        Hold,
        Deliver,
        Drop,
        Delay,
        Loss,
        Reset,
        Nat,
    }
    let word = a.keyword(
        "hold|deliver|drop|delay|loss|reset|nat",
        &[
            ("hold", Word::Hold),
            ("deliver", Word::Deliver),
            ("drop", Word::Drop),
            ("delay", Word::Delay),
            ("loss", Word::Loss),
            ("reset", Word::Reset),
            ("nat", Word::Nat),
        ],
    )?;
    let control = match word {
        Word::Hold => WireCommand::Hold(a.keyword("on|off", &[("on", true), ("off", false)])?),
        Word::Deliver | Word::Drop => {
            let id = match a.peek() {
                Some(_) => Some(a.number("ID", 1, u64::MAX)?),
                None => None,
            };
            if matches!(word, Word::Deliver) {
                WireCommand::Deliver(id)
            } else {
                WireCommand::Drop(id)
            }
        }
        Word::Delay => {
            let duration = a.duration()?;
            let direction = a.optional_keyword(
                "a>b|b>a",
                &[("a>b", Direction::AToB), ("b>a", Direction::BToA)],
            )?;
            WireCommand::Delay(duration, direction)
        }
        Word::Loss => {
            let token = a.take("PERCENT")?;
            let ppm = token
                .text()
                .and_then(parse_percent)
                .ok_or_else(|| a.error(token, ParseErrorKind::BadPercent, "PERCENT"))?;
            let seed = match a.optional_keyword("seed", &[("seed", ())])? {
                Some(()) => a.number("N", 0, u64::MAX)?,
                None => DEFAULT_SEED,
            };
            WireCommand::Loss { ppm, seed }
        }
        Word::Reset => WireCommand::Reset,
        Word::Nat => {
            // The NAT words have their own grammar (an arrow that may touch the addresses): hand
            // over what is left, columns intact.
            let rest = &a.tokens[a.next..];
            a.next = a.tokens.len();
            WireCommand::Nat(super::nat::parse_nat(rest, a.line, a.end_column)?)
        }
    };
    Ok(Command::Wire(control))
}

/// The verbs that are one system call each.
fn socket_verb(verb: &str, a: &mut Args<'_, '_>) -> Result<Option<Command>, ParseError> {
    Ok(Some(match verb {
        "socket" => Command::Socket {
            name: a.name("NAME")?,
            proto: a.keyword("tcp|udp", &[("tcp", Proto::Tcp), ("udp", Proto::Udp)])?,
            v6: a.optional_keyword("v6", &[("v6", true)])?.unwrap_or(false),
        },
        "bind" => Command::Bind {
            name: a.name("NAME")?,
            addr: a.target("ADDR:PORT|NAME")?,
        },
        "listen" => Command::Listen {
            name: a.name("NAME")?,
            backlog: a.number("BACKLOG", 0, BACKLOG_MAX.into())? as u32,
        },
        "connect" => Command::Connect {
            name: a.name("NAME")?,
            target: a.target("ADDR:PORT|NAME")?,
        },
        "accept" => Command::Accept {
            name: a.name("NAME")?,
            as_name: match a.optional_keyword("as", &[("as", ())])? {
                Some(()) => Some(a.name("NEWNAME")?),
                None => None,
            },
        },
        "close" => Command::Close {
            name: a.name("NAME")?,
        },
        "send" => Command::Send {
            name: a.name("NAME")?,
            data: a.text()?,
        },
        "recv" => Command::Recv {
            name: a.name("NAME")?,
            max: match a.peek() {
                Some(_) => a.number("MAX", 1, RECV_MAX as u64)? as usize,
                None => RECV_DEFAULT,
            },
        },
        "sendto" => Command::SendTo {
            name: a.name("NAME")?,
            target: a.target("ADDR:PORT|NAME")?,
            data: a.text()?,
        },
        "recvfrom" => Command::RecvFrom {
            name: a.name("NAME")?,
        },
        "shutdown" => Command::Shutdown {
            name: a.name("NAME")?,
            how: a.keyword(
                "rd|wr|both",
                &[
                    ("rd", ShutdownHow::Read),
                    ("wr", ShutdownHow::Write),
                    ("both", ShutdownHow::Both),
                ],
            )?,
        },
        "setsockopt" => {
            let name = a.name("NAME")?;
            let option = a.keyword(
                "reuseaddr|reuseport|nodelay|linger0|defer_accept",
                &[
                    ("reuseaddr", SockOpt::ReuseAddr),
                    ("reuseport", SockOpt::ReusePort),
                    ("nodelay", SockOpt::NoDelay),
                    ("linger0", SockOpt::Linger0),
                    ("defer_accept", SockOpt::DeferAccept),
                ],
            )?;
            let value = a.switch_or_number()?.unwrap_or(1);
            Command::SetSockOpt {
                name,
                option,
                value,
            }
        }
        "open" => Command::Open {
            name: a.name("NAME")?,
            path: a.path()?,
        },
        _ => return Ok(None),
    }))
}

/// The verbs that do several things at once, or none.
fn lab_verb(verb: &str, a: &mut Args<'_, '_>) -> Result<Command, ParseError> {
    Ok(match verb {
        "server" => {
            let (name, addr, backlog) = a.server_arguments()?;
            Command::Server {
                name,
                addr,
                backlog,
            }
        }
        "client" => Command::Client {
            name: a.name("NAME")?,
            target: a.target("TARGET")?,
        },
        "clients" => {
            let prefix_token = a.peek();
            let prefix = a.name("PREFIX")?;
            let count = a.number("COUNT", 1, CLIENTS_MAX.into())? as u32;
            let last = format!("{prefix}{count}");
            if let Some(token) = prefix_token.filter(|_| last.len() > NAME_MAX) {
                return Err(ParseError {
                    found: last,
                    ..a.error(token, ParseErrorKind::BadName, "PREFIX")
                });
            }
            Command::Clients {
                prefix,
                count,
                target: a.target("TARGET")?,
            }
        }
        "forward" => Command::Forward {
            name: a.name("NAME")?,
            listen: a.addr("LISTEN_ADDR")?,
            target: a.target("TARGET")?,
        },
        "auto-accept" => Command::AutoAccept {
            name: a.name("NAME")?,
            on: a.keyword("on|off", &[("on", true), ("off", false)])?,
        },
        "wait" => Command::Wait {
            duration: a.duration()?,
        },
        "wire" => wire_verb(a)?,
        other => unreachable!("verb {other} is in VERBS but not in the parser"),
    })
}

fn unknown_verb(line: usize, token: &Token<'_>, word: &str) -> ParseError {
    let verbs: Vec<&str> = VERBS.iter().map(|&(verb, _)| verb).collect();
    ParseError {
        line,
        column: token.column,
        found: shown(token.raw),
        expected: verbs.join(", "),
        kind: ParseErrorKind::UnknownVerb {
            suggestion: closest_verb(word),
        },
    }
}

/// The verb nearest to `word` by edit distance, if it is near enough to be a typo.
fn closest_verb(word: &str) -> Option<&'static str> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    let limit = if word.len() <= 4 { 1 } else { 2 };
    VERBS
        .iter()
        .map(|&(verb, _)| (edit_distance(&word, verb), verb))
        .filter(|&(distance, _)| distance <= limit)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, verb)| verb)
}

/// Levenshtein distance between `a` and the ASCII word `b`.
fn edit_distance(a: &[char], b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}
