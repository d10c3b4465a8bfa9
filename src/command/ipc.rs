//! The local IPC verbs of the lab language — `pipe`, `fifo`, `socketpair`, `unix-server`,
//! `unix-client`, `unix-dgram` — and how they parse and print.
//!
//! A unix socket address is a file name inside the lab's private directory (`srv.sock`: letters,
//! digits, `.`, `_`, `-`, no `/`, so nothing is made outside it) or `@name`, an address in the
//! kernel's abstract namespace, which leaves no file behind.

use super::Command;
use super::args::Args;
use super::error::{ParseError, ParseErrorKind};
use super::value::looks_numeric;

/// What a unix socket address argument must look like (the `expected` of an error).
const UNIX_ADDRESS: &str = "FILE (a name in the lab's directory: letters, digits . _ -) or @NAME";
/// The longest file name or abstract name (well inside `sun_path`'s 108 bytes with the directory).
pub const UNIX_NAME_MAX: usize = 48;

/// A unix socket address as the language writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    /// A socket file of this name in the lab's private directory.
    File(String),
    /// `@name`: the abstract namespace (no file).
    Abstract(String),
}

/// What `unix-client` connects to: an address, or a word that is a lab socket's name or a file
/// name (decided when it runs: a lab socket of that name wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixTarget {
    Abstract(String),
    Word(String),
}

/// `socketpair`'s type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    Stream,
    Dgram,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcCommand {
    /// `pipe2()`: `read` is `fds[0]`, `write` is `fds[1]`.
    Pipe { read: String, write: String },
    /// `mkfifo()` in the lab's directory, then both ends opened non-blocking.
    Fifo { read: String, write: String },
    SocketPair {
        first: String,
        second: String,
        kind: PairKind,
    },
    /// `socket(AF_UNIX, SOCK_STREAM)` + `bind` + `listen`.
    UnixServer {
        name: String,
        addr: UnixAddr,
        backlog: Option<u32>,
    },
    /// `socket(AF_UNIX, SOCK_STREAM)` + `connect`.
    UnixClient { name: String, target: UnixTarget },
    /// `socket(AF_UNIX, SOCK_DGRAM)`, bound when an address is given.
    UnixDgram {
        name: String,
        addr: Option<UnixAddr>,
    },
}

impl UnixAddr {
    /// As the language writes it: `srv.sock` or `@srv`.
    #[must_use]
    pub fn to_text(&self) -> String {
        match self {
            Self::File(name) => name.clone(),
            Self::Abstract(name) => format!("@{name}"),
        }
    }
}

impl UnixTarget {
    #[must_use]
    pub fn to_text(&self) -> String {
        match self {
            Self::Word(word) => word.clone(),
            Self::Abstract(name) => format!("@{name}"),
        }
    }
}

impl PairKind {
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::Dgram => "dgram",
        }
    }
}

impl IpcCommand {
    #[must_use]
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Pipe { .. } => "pipe",
            Self::Fifo { .. } => "fifo",
            Self::SocketPair { .. } => "socketpair",
            Self::UnixServer { .. } => "unix-server",
            Self::UnixClient { .. } => "unix-client",
            Self::UnixDgram { .. } => "unix-dgram",
        }
    }

    /// The arguments in canonical form (every one is a plain word).
    #[must_use]
    pub fn words(&self) -> Vec<String> {
        match self {
            Self::Pipe { read, write } | Self::Fifo { read, write } => {
                vec![read.clone(), write.clone()]
            }
            Self::SocketPair {
                first,
                second,
                kind,
            } => vec![first.clone(), second.clone(), kind.keyword().to_owned()],
            Self::UnixServer {
                name,
                addr,
                backlog,
            } => {
                let mut words = vec![name.clone(), addr.to_text()];
                words.extend(backlog.map(|backlog| backlog.to_string()));
                words
            }
            Self::UnixClient { name, target } => vec![name.clone(), target.to_text()],
            Self::UnixDgram { name, addr } => {
                let mut words = vec![name.clone()];
                words.extend(addr.as_ref().map(UnixAddr::to_text));
                words
            }
        }
    }

    /// The names this command creates, in the order their descriptors are made.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        match self {
            Self::Pipe { read, write } | Self::Fifo { read, write } => vec![read, write],
            Self::SocketPair { first, second, .. } => vec![first, second],
            Self::UnixServer { name, .. }
            | Self::UnixClient { name, .. }
            | Self::UnixDgram { name, .. } => vec![name],
        }
    }
}

/// A file name or abstract name: 1 to [`UNIX_NAME_MAX`] of letters, digits, `.`, `_`, `-`, and
/// not `.` or `..`.
fn is_unix_name(text: &str) -> bool {
    (1..=UNIX_NAME_MAX).contains(&text.len())
        && text != "."
        && text != ".."
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Parses an IPC verb's arguments; `None` when `verb` is not one of them.
pub(super) fn parse(verb: &str, a: &mut Args<'_, '_>) -> Result<Option<Command>, ParseError> {
    if !matches!(
        verb,
        "pipe" | "fifo" | "socketpair" | "unix-server" | "unix-client" | "unix-dgram"
    ) {
        return Ok(None);
    }
    let command = match verb {
        "pipe" => IpcCommand::Pipe {
            read: a.name("READ")?,
            write: distinct_name(a, "WRITE", 1)?,
        },
        "fifo" => IpcCommand::Fifo {
            read: a.name("READ")?,
            write: distinct_name(a, "WRITE", 1)?,
        },
        "socketpair" => IpcCommand::SocketPair {
            first: a.name("NAME1")?,
            second: distinct_name(a, "NAME2", 1)?,
            kind: a
                .optional_keyword(
                    "stream|dgram",
                    &[("stream", PairKind::Stream), ("dgram", PairKind::Dgram)],
                )?
                .unwrap_or(PairKind::Stream),
        },
        "unix-server" => IpcCommand::UnixServer {
            name: a.name("NAME")?,
            addr: unix_addr(a)?,
            backlog: a.optional_backlog()?,
        },
        "unix-client" => IpcCommand::UnixClient {
            name: a.name("NAME")?,
            target: match unix_addr(a)? {
                UnixAddr::Abstract(name) => UnixTarget::Abstract(name),
                UnixAddr::File(word) => UnixTarget::Word(word),
            },
        },
        "unix-dgram" => IpcCommand::UnixDgram {
            name: a.name("NAME")?,
            addr: match a.peek() {
                Some(_) => Some(unix_addr(a)?),
                None => None,
            },
        },
        other => unreachable!("{other} is matched above"),
    };
    Ok(Some(Command::Ipc(command)))
}

/// A name that must differ from the `back`-th argument before it (the two ends of a pipe).
fn distinct_name(
    a: &mut Args<'_, '_>,
    what: &'static str,
    back: usize,
) -> Result<String, ParseError> {
    let name = a.name(what)?;
    let earlier = a.tokens[a.next - 1 - back].text();
    if earlier == Some(name.as_str()) {
        let token = a.tokens[a.next - 1];
        return Err(a.error(token, ParseErrorKind::SameName, a.usage));
    }
    Ok(name)
}

fn unix_addr(a: &mut Args<'_, '_>) -> Result<UnixAddr, ParseError> {
    let token = a.take("FILE|@NAME")?;
    let text = token.text().unwrap_or_default();
    let parsed = match text.strip_prefix('@') {
        Some(name) if is_unix_name(name) => Some(UnixAddr::Abstract(name.to_owned())),
        // A number here is a misplaced BACKLOG, not a file name.
        None if is_unix_name(text) && !looks_numeric(text) => Some(UnixAddr::File(text.to_owned())),
        _ => None,
    };
    parsed.ok_or_else(|| a.error(token, ParseErrorKind::BadAddress, UNIX_ADDRESS))
}
