//! The HTTP and WebSocket verbs of the lab language: a server that answers plain HTTP requests
//! and WebSocket upgrades on one listener, an HTTP GET client and a WebSocket client.
//!
//! ```text
//! ws-server web                 # socket + bind + listen + auto-accept, 127.0.0.1:0
//! http-get browser web /        # a plain GET on the same port
//! ws-client chat web /chat      # GET /chat with Upgrade: websocket, then frames
//! ws-send chat "hello"          # one text frame (a client's frames are masked)
//! ws-close chat                 # a Close frame; the server answers and closes TCP
//! ```

use super::args::Args;
use super::error::{ParseError, ParseErrorKind};
use super::{Command, Target};

/// The longest request path the clients send.
pub const REQUEST_PATH_MAX: usize = 256;

/// One HTTP or WebSocket command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebCommand {
    /// `ws-server NAME [ADDR:PORT|NAME] [BACKLOG]`: a listener whose connections speak HTTP/1.1
    /// and may upgrade to WebSocket (then every text or binary message is echoed back).
    Server {
        name: String,
        addr: Option<Target>,
        backlog: Option<u32>,
    },
    /// `http-get NAME TARGET [PATH]`: socket + connect, then `GET PATH HTTP/1.1` (keep-alive).
    HttpGet {
        name: String,
        target: Target,
        path: String,
    },
    /// `ws-client NAME TARGET [PATH]`: socket + connect, then the opening handshake.
    Client {
        name: String,
        target: Target,
        path: String,
    },
    /// `ws-send NAME TEXT`: one text message on an open WebSocket.
    Send { name: String, data: Vec<u8> },
    /// `ws-close NAME`: starts the closing handshake.
    Close { name: String },
}

/// The verbs with their usage forms, in the order [`super::VERBS`] lists them.
pub const WEB_VERBS: [(&str, &str); 5] = [
    ("ws-server", "ws-server NAME [ADDR:PORT|NAME] [BACKLOG]"),
    ("http-get", "http-get NAME TARGET [PATH]"),
    ("ws-client", "ws-client NAME TARGET [PATH]"),
    ("ws-send", "ws-send NAME TEXT"),
    ("ws-close", "ws-close NAME"),
];

/// Parses the arguments of `verb` if it is one of [`WEB_VERBS`].
pub(super) fn parse(verb: &str, a: &mut Args<'_, '_>) -> Result<Option<Command>, ParseError> {
    let web = match verb {
        "ws-server" => {
            let (name, addr, backlog) = a.server_arguments()?;
            WebCommand::Server {
                name,
                addr,
                backlog,
            }
        }
        "http-get" => WebCommand::HttpGet {
            name: a.name("NAME")?,
            target: a.target("TARGET")?,
            path: request_path(a)?,
        },
        "ws-client" => WebCommand::Client {
            name: a.name("NAME")?,
            target: a.target("TARGET")?,
            path: request_path(a)?,
        },
        "ws-send" => WebCommand::Send {
            name: a.name("NAME")?,
            data: a.text()?,
        },
        "ws-close" => WebCommand::Close {
            name: a.name("NAME")?,
        },
        _ => return Ok(None),
    };
    Ok(Some(Command::Web(web)))
}

/// An optional PATH (default `/`): `/` and then visible ASCII, as an HTTP request line takes it.
fn request_path(a: &mut Args<'_, '_>) -> Result<String, ParseError> {
    let Some(token) = a.peek() else {
        return Ok("/".to_owned());
    };
    a.next += 1;
    match token.text() {
        Some(path) if is_request_path(path) => Ok(path.to_owned()),
        _ => Err(a.error(token, ParseErrorKind::BadRequestPath, "PATH")),
    }
}

/// Starts with `/`, at most [`REQUEST_PATH_MAX`] bytes of visible ASCII without quotes, `;`,
/// `#` or `\` (so it prints back as one bare word and cannot break the request line).
#[must_use]
pub fn is_request_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= REQUEST_PATH_MAX
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b';' | b'#' | b'\\'))
}

impl WebCommand {
    #[must_use]
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Server { .. } => "ws-server",
            Self::HttpGet { .. } => "http-get",
            Self::Client { .. } => "ws-client",
            Self::Send { .. } => "ws-send",
            Self::Close { .. } => "ws-close",
        }
    }

    /// The plain words after the verb, and the TEXT that ends the command, if any (the printer
    /// quotes it).
    #[must_use]
    pub fn words(&self) -> (Vec<String>, Option<&[u8]>) {
        match self {
            Self::Server {
                name,
                addr,
                backlog,
            } => {
                let mut words = vec![name.clone()];
                words.extend(addr.as_ref().map(Target::to_text));
                words.extend(backlog.map(|backlog| backlog.to_string()));
                (words, None)
            }
            Self::HttpGet { name, target, path } | Self::Client { name, target, path } => {
                (vec![name.clone(), target.to_text(), path.clone()], None)
            }
            Self::Send { name, data } => (vec![name.clone()], Some(data)),
            Self::Close { name } => (vec![name.clone()], None),
        }
    }
}
