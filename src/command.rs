//! The lab command language: one parser for every key press, prompt line, scenario step and test.
//!
//! A script is a sequence of commands separated by newlines or `;`; `#` starts a comment. Both are
//! ordinary characters inside a double-quoted string. [`parse_script`] parses the whole script before
//! anything runs and returns the first error, with the line and column (1-based, in characters) of
//! the offending token. [`Command::to_line`] writes a command back in a canonical form that parses to
//! the same value.
//!
//! ```text
//! server srv :8080 2; client c1 srv
//! send c1 "GET / HTTP/1.0\r\n\r\n"   # one quoted string, escapes allowed
//! wait 200ms
//! ```

mod args;
mod error;
mod ipc;
mod lex;
mod nat;
mod parse;
mod print;
mod value;
mod websocket;
mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use crate::model::{Proto, WireHost};

pub use error::{ParseError, ParseErrorKind};
pub use ipc::{IpcCommand, PairKind, UNIX_NAME_MAX, UnixAddr, UnixTarget};
pub use nat::{NAT_USAGE, NatCommand};
pub use parse::parse_script;
pub use value::{DURATION_MAX, DURATION_MAX_TEXT, DurationError, parse_duration};
pub use websocket::{REQUEST_PATH_MAX, WEB_VERBS, WebCommand, is_request_path};
pub use wire::{DEFAULT_SEED, Direction, WireCommand, percent_text};

/// Where a command sends to or connects to: an address, or another lab socket by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Addr(SocketAddr),
    Name(String),
}

/// Which direction `shutdown` closes (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    Read,
    Write,
    Both,
}

/// The socket options the lab can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOpt {
    ReuseAddr,
    ReusePort,
    NoDelay,
    /// `SO_LINGER` with a zero timeout: `close` sends RST instead of FIN.
    Linger0,
    DeferAccept,
}

/// One command of the lab language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Socket {
        name: String,
        proto: Proto,
        v6: bool,
    },
    /// Binds to an address, or to the address another lab socket has (a real collision on a port
    /// the kernel picked).
    Bind {
        name: String,
        addr: Target,
    },
    Listen {
        name: String,
        backlog: u32,
    },
    Connect {
        name: String,
        target: Target,
    },
    Accept {
        name: String,
        as_name: Option<String>,
    },
    Close {
        name: String,
    },
    Send {
        name: String,
        data: Vec<u8>,
    },
    /// `max` defaults to [`RECV_DEFAULT`] and is at most [`RECV_MAX`].
    Recv {
        name: String,
        max: usize,
    },
    SendTo {
        name: String,
        target: Target,
        data: Vec<u8>,
    },
    RecvFrom {
        name: String,
    },
    Shutdown {
        name: String,
        how: ShutdownHow,
    },
    /// `value` defaults to 1; `on` and `off` mean 1 and 0.
    SetSockOpt {
        name: String,
        option: SockOpt,
        value: u32,
    },
    Open {
        name: String,
        path: String,
    },
    Server {
        name: String,
        addr: Option<Target>,
        backlog: Option<u32>,
    },
    Client {
        name: String,
        target: Target,
    },
    /// Creates `count` clients named `{prefix}1` ..= `{prefix}{count}`.
    Clients {
        prefix: String,
        count: u32,
        target: Target,
    },
    Forward {
        name: String,
        listen: SocketAddr,
        target: Target,
    },
    AutoAccept {
        name: String,
        on: bool,
    },
    Wait {
        duration: Duration,
    },
    /// A local IPC verb (`pipe`, `fifo`, `socketpair`, `unix-*`): see [`IpcCommand`].
    Ipc(IpcCommand),
    /// The HTTP and WebSocket verbs (`ws-server`, `http-get`, `ws-client`, `ws-send`, `ws-close`).
    Web(WebCommand),
    /// A socket-making command placed on one host of the wire: written `NAME@a` / `NAME@b`.
    On {
        host: WireHost,
        command: Box<Command>,
    },
    /// What the wire does with the segments it relays (`--net wire`).
    Wire(WireCommand),
}

/// A parsed command and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line of the command in the script.
    pub line: usize,
    /// 1-based column (in characters) of the command's verb.
    pub column: usize,
    /// The command as written, without comment or separator.
    pub source: String,
    pub command: Command,
}

/// Every verb with its usage form. The forms are language-neutral; help and errors show them as-is.
pub const VERBS: &[(&str, &str)] = &[
    ("socket", "socket NAME[@HOST] tcp|udp [v6]"),
    ("bind", "bind NAME ADDR:PORT|NAME"),
    ("listen", "listen NAME BACKLOG"),
    ("connect", "connect NAME ADDR:PORT|NAME"),
    ("accept", "accept NAME [as NEWNAME]"),
    ("close", "close NAME"),
    ("send", "send NAME TEXT"),
    ("recv", "recv NAME [MAX]"),
    ("sendto", "sendto NAME ADDR:PORT|NAME TEXT"),
    ("recvfrom", "recvfrom NAME"),
    ("shutdown", "shutdown NAME rd|wr|both"),
    (
        "setsockopt",
        "setsockopt NAME reuseaddr|reuseport|nodelay|linger0|defer_accept [VALUE]",
    ),
    ("open", "open NAME PATH"),
    ("server", "server NAME[@HOST] [ADDR:PORT|NAME] [BACKLOG]"),
    ("client", "client NAME[@HOST] TARGET"),
    ("clients", "clients PREFIX[@HOST] COUNT TARGET"),
    ("forward", "forward NAME[@HOST] LISTEN_ADDR TARGET"),
    ("auto-accept", "auto-accept NAME on|off"),
    ("wait", "wait DURATION"),
    // ipc and descriptors
    ("pipe", "pipe READ WRITE"),
    ("fifo", "fifo READ WRITE"),
    ("socketpair", "socketpair NAME1 NAME2 [stream|dgram]"),
    ("unix-server", "unix-server NAME FILE|@NAME [BACKLOG]"),
    ("unix-client", "unix-client NAME FILE|@NAME|SERVER"),
    ("unix-dgram", "unix-dgram NAME [FILE|@NAME]"),
    WEB_VERBS[0],
    WEB_VERBS[1],
    WEB_VERBS[2],
    WEB_VERBS[3],
    WEB_VERBS[4],
    (
        "wire",
        "wire hold on|off | deliver [ID] | drop [ID] | delay DURATION [a>b|b>a] | loss PERCENT [seed N] | reset | nat tcp|udp PUBLIC -> PRIVATE | nat del tcp|udp PUBLIC | nat off",
    ),
];

/// The longest NAME (and so the longest generated `clients` name).
pub const NAME_MAX: usize = 32;
/// `recv NAME` without MAX reads at most this many bytes.
pub const RECV_DEFAULT: usize = 4096;
/// The largest MAX `recv` accepts (1 MiB).
pub const RECV_MAX: usize = 1 << 20;
/// The largest BACKLOG `listen` and `server` accept.
pub const BACKLOG_MAX: u32 = 65_535;
/// The largest COUNT `clients` accepts.
pub const CLIENTS_MAX: u32 = 10_000;

/// An address as the language writes it: `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`, `:8080`
/// (the last two mean 127.0.0.1). The command line's `--bind` reads addresses with it too, so the
/// two never disagree.
#[must_use]
pub fn parse_address(text: &str) -> Option<SocketAddr> {
    value::parse_addr(text).ok()
}

/// The usage form of a verb (case-insensitive), as listed in [`VERBS`].
#[must_use]
pub fn usage(verb: &str) -> Option<&'static str> {
    VERBS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(verb))
        .map(|&(_, form)| form)
}

impl Command {
    /// The verb that writes this command (`auto-accept`, `sendto`, ...).
    #[must_use]
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Socket { .. } => "socket",
            Self::Bind { .. } => "bind",
            Self::Listen { .. } => "listen",
            Self::Connect { .. } => "connect",
            Self::Accept { .. } => "accept",
            Self::Close { .. } => "close",
            Self::Send { .. } => "send",
            Self::Recv { .. } => "recv",
            Self::SendTo { .. } => "sendto",
            Self::RecvFrom { .. } => "recvfrom",
            Self::Shutdown { .. } => "shutdown",
            Self::SetSockOpt { .. } => "setsockopt",
            Self::Open { .. } => "open",
            Self::Server { .. } => "server",
            Self::Client { .. } => "client",
            Self::Clients { .. } => "clients",
            Self::Forward { .. } => "forward",
            Self::AutoAccept { .. } => "auto-accept",
            Self::Wait { .. } => "wait",
            Self::Ipc(ipc) => ipc.verb(),
            Self::Web(web) => web.verb(),
            Self::On { command, .. } => command.verb(),
            Self::Wire(_) => "wire",
        }
    }

    /// The usage form of this command's verb.
    #[must_use]
    pub fn usage(&self) -> &'static str {
        usage(self.verb()).unwrap_or_default()
    }

    /// The command in canonical text: every value written out, text quoted and escaped when it is not
    /// plain words. Any command that [`parse_script`] produced parses back to an equal command.
    #[must_use]
    pub fn to_line(&self) -> String {
        print::line(self)
    }
}

impl Target {
    /// The target as the language writes it (`127.0.0.1:8080`, `[::1]:80`, `srv`).
    #[must_use]
    pub fn to_text(&self) -> String {
        match self {
            Self::Addr(addr) => addr.to_string(),
            Self::Name(name) => name.clone(),
        }
    }
}

impl ShutdownHow {
    /// The keyword: `rd`, `wr` or `both`.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Read => "rd",
            Self::Write => "wr",
            Self::Both => "both",
        }
    }
}

impl SockOpt {
    /// The keyword: `reuseaddr`, `reuseport`, `nodelay`, `linger0` or `defer_accept`.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            Self::ReuseAddr => "reuseaddr",
            Self::ReusePort => "reuseport",
            Self::NoDelay => "nodelay",
            Self::Linger0 => "linger0",
            Self::DeferAccept => "defer_accept",
        }
    }
}
