//! One HTTP or WebSocket conversation on a lab connection: the server side (a request that is
//! plain HTTP gets an answer, one that asks for `Upgrade: websocket` gets `101 Switching
//! Protocols` and then frames, echoed back) and the two clients (`http-get`, `ws-client`).
//!
//! The HTTP heads are parsed with `httparse`, the upgrade is checked and answered with
//! tungstenite's handshake functions, and after the `101` tungstenite's [`WebSocketContext`]
//! speaks the protocol over the borrowed, non-blocking socket: the lab keeps the socket (and
//! its descriptor, token and trace), the context keeps only protocol state.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

use mio::Token;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::{client, derive_accept_key, server};
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig, WebSocketContext};
use tungstenite::{Error as WsError, Message};

use super::ws_wire::{FrameReader, Happened, PAYLOAD_PREVIEW, Traced};
use crate::escape::strace_bytes;

/// The largest request or response head a conversation reads; a longer one is refused.
pub const HEAD_MAX: usize = 16 * 1024;
/// The largest WebSocket message (and frame) the lab takes.
pub const MESSAGE_MAX: usize = 64 * 1024;
/// Bytes one conversation reads in one turn; with more waiting it goes on at the next turn, so a
/// flooding peer leaves room for keys and frames (as the forwarder's relays do).
pub const TURN_BUDGET: u64 = 256 * 1024;
/// What the server answers a plain request with.
pub const PLAIN_BODY: &str = "hello from sockscope: a plain HTTP answer on the WebSocket port\n";

/// Which end of a conversation the lab is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A connection a `ws-server` accepted.
    Server,
    /// `http-get`: one request, then the connection stays open (keep-alive).
    HttpClient,
    /// `ws-client`: the opening handshake, then frames.
    WsClient,
}

enum Phase {
    /// A client whose connect has not finished: the request goes out when it has.
    Connecting {
        request: Vec<u8>,
        accept: Option<String>,
    },
    /// Reading a request (server) or a response head (client; `accept` is the
    /// `Sec-WebSocket-Accept` a `ws-client` waits for).
    Head {
        accept: Option<String>,
    },
    /// Reading a response body of this many bytes more (`None`: until end of file).
    Body {
        left: Option<u64>,
        preview: Vec<u8>,
    },
    /// Nothing more to read but keep-alive: bytes that arrive are decoded as a new head.
    Idle,
    WebSocket(Box<WebSocketContext>),
    Done,
}

/// What the lab must do after a turn.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Close the socket (the conversation ended, or failed).
    pub close: bool,
    /// The turn stopped on its budget: give it another soon.
    pub more: bool,
}

pub struct Session {
    pub side: Side,
    phase: Phase,
    /// Bytes received and not yet understood (a head in progress).
    inbound: Vec<u8>,
    /// Bytes to send that the socket did not take yet (HTTP heads; frames wait in the context).
    outbound: Vec<u8>,
    /// What the queued heads say, noted after the `send` that carries them.
    heads: Vec<String>,
    /// `ws-send`/`ws-close` given to a client still in its handshake: done once it is open
    /// (`None` = the Close frame).
    waiting: Vec<Option<String>>,
    /// Stream offsets: bytes received and sent so far (as the syscalls said), and where frames
    /// start in each direction, so the decoder reads frames and only frames.
    received: u64,
    sent: u64,
    consumed: u64,
    queued: u64,
    frames_in_from: Option<u64>,
    frames_out_from: Option<u64>,
    frames_in: FrameReader,
    frames_out: FrameReader,
}

/// Every conversation of the lab, by connection token, and the `ws-server` listeners.
#[derive(Default)]
pub struct WebSessions {
    pub sessions: HashMap<Token, Session>,
    pub servers: HashSet<Token>,
    pub unfinished: BTreeSet<Token>,
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MESSAGE_MAX))
        .max_frame_size(Some(MESSAGE_MAX))
}

fn is_not_yet(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl Session {
    /// A connection a `ws-server` accepted: it waits for a request.
    #[must_use]
    pub fn server() -> Self {
        Self::with(Side::Server, Phase::Head { accept: None })
    }

    /// `http-get`: `GET path HTTP/1.1` to `peer`, sent once the connect finishes.
    #[must_use]
    pub fn http_get(peer: SocketAddr, path: &str) -> Self {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {peer}\r\nUser-Agent: sockscope\r\nAccept: */*\r\n\r\n"
        );
        Self::with(
            Side::HttpClient,
            Phase::Connecting {
                request: request.into_bytes(),
                accept: None,
            },
        )
    }

    /// `ws-client`: tungstenite writes the opening handshake (a fresh `Sec-WebSocket-Key`);
    /// the answer must carry the accept key derived from it.
    pub fn ws_client(peer: SocketAddr, path: &str) -> Result<Self, String> {
        let request = format!("ws://{peer}{path}")
            .into_client_request()
            .map_err(|error| error.to_string())?;
        let (request, key) = client::generate_request(request).map_err(|e| e.to_string())?;
        Ok(Self::with(
            Side::WsClient,
            Phase::Connecting {
                request,
                accept: Some(derive_accept_key(key.as_bytes())),
            },
        ))
    }

    fn with(side: Side, phase: Phase) -> Self {
        Self {
            side,
            phase,
            inbound: Vec::new(),
            outbound: Vec::new(),
            heads: Vec::new(),
            waiting: Vec::new(),
            received: 0,
            sent: 0,
            consumed: 0,
            queued: 0,
            frames_in_from: None,
            frames_out_from: None,
            frames_in: FrameReader::default(),
            frames_out: FrameReader::default(),
        }
    }

    #[must_use]
    pub fn is_websocket(&self) -> bool {
        matches!(self.phase, Phase::WebSocket(_))
    }

    /// A `ws-client` whose handshake is still under way: what it is told to send waits.
    #[must_use]
    pub fn is_opening(&self) -> bool {
        self.side == Side::WsClient
            && matches!(
                self.phase,
                Phase::Connecting { .. } | Phase::Head { accept: Some(_) }
            )
    }

    /// Keeps a message (`None`: the Close frame) for when the handshake has finished.
    pub fn wait_for_open(&mut self, message: Option<String>) {
        self.waiting.push(message);
    }

    fn queue(&mut self, bytes: &[u8]) {
        self.outbound.extend_from_slice(bytes);
        self.queued += bytes.len() as u64;
    }

    /// Queues a head and what it says.
    fn queue_head(&mut self, what: &str, head: &[u8]) {
        self.queue(head);
        self.heads.push(describe_head(what, head));
    }

    /// Writes what is queued, then notes the heads it carried; `Err` only for a real failure.
    fn flush_outbound(&mut self, io: &mut Traced<'_>) -> io::Result<()> {
        let written = self.write_outbound(io);
        for head in self.heads.drain(..) {
            io.note(head, false);
        }
        written
    }

    fn write_outbound(&mut self, io: &mut Traced<'_>) -> io::Result<()> {
        while !self.outbound.is_empty() {
            match io.write(&self.outbound) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.outbound.drain(..n);
                }
                Err(error) if is_not_yet(&error) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Does what the connection allows now: send what waits, read what came, answer it.
    pub fn turn(&mut self, io: &mut Traced<'_>, connected: bool) -> Outcome {
        let mut outcome = Outcome::default();
        if let Phase::Connecting { request, accept } = &mut self.phase {
            if !connected {
                return outcome;
            }
            let (request, accept) = (std::mem::take(request), accept.take());
            self.queue_head("http request", &request);
            if accept.is_some() {
                // After the request, everything this client sends is frames.
                self.frames_out_from = Some(self.queued);
            }
            self.phase = Phase::Head { accept };
        }
        if self.flush_outbound(io).is_err() {
            outcome.close = true;
            return outcome;
        }
        if matches!(self.phase, Phase::WebSocket(_)) {
            return self.websocket_turn(io);
        }
        let mut buffer = [0; 4096];
        loop {
            if io.received >= TURN_BUDGET {
                outcome.more = true;
                return outcome;
            }
            match std::io::Read::read(io, &mut buffer) {
                Ok(0) => {
                    if let Phase::Body { preview, .. } = &self.phase {
                        note_body(io, preview);
                    }
                    outcome.close = true;
                    return outcome;
                }
                Ok(n) => {
                    self.inbound.extend_from_slice(&buffer[..n]);
                    if !self.understand(io) {
                        // A refusal goes out before the close (as far as the socket takes it).
                        let _ = self.flush_outbound(io);
                        outcome.close = true;
                        return outcome;
                    }
                    if self.flush_outbound(io).is_err() {
                        outcome.close = true;
                        return outcome;
                    }
                    if matches!(self.phase, Phase::WebSocket(_)) {
                        return self.websocket_turn(io);
                    }
                }
                Err(error) if is_not_yet(&error) => return outcome,
                Err(_) => {
                    outcome.close = true;
                    return outcome;
                }
            }
        }
    }

    /// Reads heads and bodies out of `inbound` as far as they go. `false`: the conversation
    /// ends (a refusal was queued, or the answer was not what the client asked for).
    fn understand(&mut self, io: &mut Traced<'_>) -> bool {
        loop {
            match &mut self.phase {
                Phase::Body { left, preview } => {
                    let take = left.map_or(self.inbound.len(), |left| {
                        (left.min(self.inbound.len() as u64)) as usize
                    });
                    let room = PAYLOAD_PREVIEW.saturating_sub(preview.len()).min(take);
                    preview.extend_from_slice(&self.inbound[..room]);
                    self.inbound.drain(..take);
                    self.consumed += take as u64;
                    if let Some(left) = left {
                        *left -= take as u64;
                        if *left == 0 {
                            let preview = std::mem::take(preview);
                            note_body(io, &preview);
                            self.phase = Phase::Idle;
                        }
                    }
                    if self.inbound.is_empty() || matches!(self.phase, Phase::Body { .. }) {
                        return true;
                    }
                }
                Phase::Head { .. } | Phase::Idle => {
                    let parsed = if self.side == Side::Server {
                        self.request(io)
                    } else {
                        self.response(io)
                    };
                    match parsed {
                        Parsed::Partial => {
                            if self.inbound.len() > HEAD_MAX {
                                io.note(format!("http: a head longer than {HEAD_MAX} bytes"), true);
                                if self.side == Side::Server {
                                    self.refuse("431 Request Header Fields Too Large");
                                }
                                return false;
                            }
                            return true;
                        }
                        Parsed::Continue => {
                            if self.inbound.is_empty() || self.is_websocket() {
                                return true;
                            }
                        }
                        Parsed::End => return false,
                    }
                }
                Phase::Connecting { .. } | Phase::WebSocket(_) | Phase::Done => return true,
            }
        }
    }

    /// The server's side: one request head out of `inbound`, and its answer queued.
    fn request(&mut self, io: &mut Traced<'_>) -> Parsed {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        let length = match parsed.parse(&self.inbound) {
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Ok(httparse::Status::Complete(length)) => length,
            Err(error) => {
                io.note(format!("http: not a request ({error})"), true);
                self.refuse("400 Bad Request");
                return Parsed::End;
            }
        };
        note_head(io, "http request", &self.inbound[..length]);
        let request = to_http_request(&parsed);
        let asks_upgrade = parsed.headers.iter().any(|header| {
            header.name.eq_ignore_ascii_case("upgrade")
                && String::from_utf8_lossy(header.value).eq_ignore_ascii_case("websocket")
        });
        let method = parsed.method.unwrap_or_default().to_owned();
        self.inbound.drain(..length);
        self.consumed += length as u64;
        if asks_upgrade {
            let response = request
                .map_err(|error| error.to_string())
                .and_then(|request| {
                    server::create_response(&request).map_err(|error| error.to_string())
                });
            match response {
                Ok(response) => {
                    let mut head = Vec::new();
                    // Writing into a Vec cannot fail.
                    let _ = server::write_response(&mut head, &response);
                    self.queue_head("http response", &head);
                    self.frames_in_from = Some(self.consumed);
                    self.frames_out_from = Some(self.queued);
                    let tail = std::mem::take(&mut self.inbound);
                    self.phase = Phase::WebSocket(Box::new(WebSocketContext::from_partially_read(
                        tail,
                        Role::Server,
                        Some(config()),
                    )));
                    Parsed::Continue
                }
                Err(reason) => {
                    io.note(format!("websocket: upgrade refused ({reason})"), true);
                    self.refuse("400 Bad Request");
                    Parsed::End
                }
            }
        } else if method == "GET" || method == "HEAD" {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                PLAIN_BODY.len()
            );
            self.queue_head("http response", head.as_bytes());
            if method == "GET" {
                self.queue(PLAIN_BODY.as_bytes());
            }
            self.phase = Phase::Idle;
            Parsed::Continue
        } else {
            self.refuse("405 Method Not Allowed");
            Parsed::End
        }
    }

    /// A refusal: status, `Connection: close`, and the conversation ends.
    fn refuse(&mut self, status: &str) {
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        self.queue_head("http response", head.as_bytes());
        self.phase = Phase::Done;
    }

    /// A client's side: the response head out of `inbound`, checked against what was asked.
    fn response(&mut self, io: &mut Traced<'_>) -> Parsed {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        let length = match parsed.parse(&self.inbound) {
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Ok(httparse::Status::Complete(length)) => length,
            Err(error) => {
                io.note(format!("http: not a response ({error})"), true);
                return Parsed::End;
            }
        };
        note_head(io, "http response", &self.inbound[..length]);
        let code = parsed.code.unwrap_or_default();
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|header| header.name.eq_ignore_ascii_case(name))
                .map(|header| String::from_utf8_lossy(header.value).into_owned())
        };
        let content_length = header("content-length").and_then(|value| value.trim().parse().ok());
        let upgrade = header("upgrade");
        let connection = header("connection");
        let given_accept = header("sec-websocket-accept");
        self.inbound.drain(..length);
        self.consumed += length as u64;
        let Phase::Head { accept } = &self.phase else {
            // A response nobody asked for.
            io.note("http: a response to no request".to_owned(), true);
            return Parsed::End;
        };
        if let Some(expected) = accept.clone() {
            let upgraded = code == 101
                && upgrade.is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
                && connection.is_some_and(|value| {
                    value
                        .split([',', ' '])
                        .any(|token| token.eq_ignore_ascii_case("upgrade"))
                });
            if !upgraded {
                io.note(
                    format!("websocket: the server answered {code}, not 101"),
                    true,
                );
                return Parsed::End;
            }
            if given_accept.as_deref() != Some(expected.as_str()) {
                io.note(
                    format!(
                        "websocket: Sec-WebSocket-Accept {} is not {expected}",
                        strace_bytes(given_accept.unwrap_or_default().as_bytes(), 64)
                    ),
                    true,
                );
                return Parsed::End;
            }
            io.note(
                format!("websocket: open (Sec-WebSocket-Accept matches the key, {expected})"),
                false,
            );
            self.frames_in_from = Some(self.consumed);
            let tail = std::mem::take(&mut self.inbound);
            self.phase = Phase::WebSocket(Box::new(WebSocketContext::from_partially_read(
                tail,
                Role::Client,
                Some(config()),
            )));
            return Parsed::Continue;
        }
        self.phase = match content_length {
            Some(0) => Phase::Idle,
            left => Phase::Body {
                left,
                preview: Vec::new(),
            },
        };
        Parsed::Continue
    }

    /// Reads frames until the socket has no more; the server echoes text and binary messages.
    fn websocket_turn(&mut self, io: &mut Traced<'_>) -> Outcome {
        let mut outcome = Outcome::default();
        let Phase::WebSocket(context) = &mut self.phase else {
            return outcome;
        };
        for message in self.waiting.drain(..) {
            let written = match message {
                Some(text) => context
                    .write(io, Message::text(text))
                    .and_then(|()| context.flush(io)),
                None => context.close(io, Some(normal_closure())),
            };
            if let Err(error) = written
                && !is_quiet(&error)
            {
                io.note(format!("websocket: {error}"), true);
            }
        }
        loop {
            if io.received >= TURN_BUDGET {
                outcome.more = true;
                break;
            }
            match context.read(io) {
                Ok(message) => {
                    if self.side == Side::Server
                        && matches!(message, Message::Text(_) | Message::Binary(_))
                        && let Err(error) = context.write(io, message)
                        && !is_quiet(&error)
                    {
                        io.note(format!("websocket: {error}"), true);
                        outcome.close = true;
                        break;
                    }
                }
                Err(WsError::Io(error)) if is_not_yet(&error) => break,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                    io.note(
                        "websocket: closed (both Close frames crossed)".to_owned(),
                        false,
                    );
                    // RFC 6455 7.1.1: the server closes the TCP connection first.
                    outcome.close = true;
                    break;
                }
                Err(error) => {
                    io.note(format!("websocket: {error}"), true);
                    outcome.close = true;
                    break;
                }
            }
        }
        if !outcome.close
            && let Err(error) = context.flush(io)
            && !is_quiet(&error)
        {
            if !matches!(error, WsError::ConnectionClosed) {
                io.note(format!("websocket: {error}"), true);
            }
            outcome.close = true;
        }
        outcome
    }

    /// `ws-send`: one text message, written at once as far as the socket takes it.
    pub fn send_text(&mut self, io: &mut Traced<'_>, text: String) -> Result<Outcome, ()> {
        let Phase::WebSocket(context) = &mut self.phase else {
            return Err(());
        };
        if let Err(error) = context
            .write(io, Message::text(text))
            .and_then(|()| context.flush(io))
            && !is_quiet(&error)
        {
            io.note(format!("websocket: {error}"), true);
        }
        Ok(self.websocket_turn(io))
    }

    /// `ws-close`: a Close frame (1000, normal closure); the peer's answer finishes it.
    pub fn close(&mut self, io: &mut Traced<'_>) -> Result<Outcome, ()> {
        let Phase::WebSocket(context) = &mut self.phase else {
            return Err(());
        };
        if let Err(error) = context
            .close(io, Some(normal_closure()))
            .and_then(|()| context.flush(io))
            && !is_quiet(&error)
        {
            io.note(format!("websocket: {error}"), true);
        }
        Ok(self.websocket_turn(io))
    }

    /// Turns a turn's syscalls into notes: each chunk of frame bytes is followed by the frames
    /// it completed, decoded from the bytes themselves.
    pub fn explain(&mut self, happened: Vec<Happened>) -> Vec<Happened> {
        let mut out = Vec::with_capacity(happened.len());
        for event in happened {
            let Happened::Syscall {
                sent,
                data,
                result: Ok(n),
                ..
            } = &event
            else {
                out.push(event);
                continue;
            };
            let (total, from, reader) = if *sent {
                (&mut self.sent, self.frames_out_from, &mut self.frames_out)
            } else {
                (&mut self.received, self.frames_in_from, &mut self.frames_in)
            };
            let start = *total;
            *total += *n as u64;
            let frames = from.filter(|&from| *total > from).map(|from| {
                let skip = from.saturating_sub(start) as usize;
                reader.feed(&data[skip.min(data.len())..])
            });
            let sent = *sent;
            out.push(event);
            if let Some((frames, broken)) = frames {
                for frame in frames {
                    out.push(Happened::Meaning {
                        text: frame.describe(sent),
                        failed: false,
                    });
                }
                if let Some(why) = broken {
                    out.push(Happened::Meaning {
                        text: format!("ws frame: not a frame ({why})"),
                        failed: true,
                    });
                }
            }
        }
        out
    }
}

/// Close code 1000: the purpose of the connection is fulfilled (RFC 6455, 7.4.1).
fn normal_closure() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }
}

enum Parsed {
    Partial,
    Continue,
    End,
}

/// Would-block inside tungstenite: the frame waits in its buffer for the next writable turn.
fn is_quiet(error: &WsError) -> bool {
    matches!(error, WsError::Io(error) if is_not_yet(error))
}

fn to_http_request(parsed: &httparse::Request<'_, '_>) -> Result<server::Request, WsError> {
    let mut builder = tungstenite::http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(if parsed.version == Some(0) {
            tungstenite::http::Version::HTTP_10
        } else {
            tungstenite::http::Version::HTTP_11
        });
    for header in parsed.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    Ok(builder.body(())?)
}

/// `http request: "GET /chat HTTP/1.1" Upgrade: "websocket", ...`: the first line, then every
/// header that matters for the lesson, each value escaped.
fn note_head(io: &mut Traced<'_>, what: &str, head: &[u8]) {
    io.note(describe_head(what, head), false);
}

fn describe_head(what: &str, head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut out = format!("{what}: {}", strace_bytes(first.as_bytes(), 128));
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let shown = [
            "upgrade",
            "connection",
            "sec-websocket-key",
            "sec-websocket-accept",
            "sec-websocket-version",
            "content-length",
        ];
        if shown.iter().any(|wanted| name.eq_ignore_ascii_case(wanted)) {
            let _ = write!(
                out,
                ", {}: {}",
                strace_bytes(name.as_bytes(), 64).trim_matches('"'),
                strace_bytes(value.trim().as_bytes(), 64)
            );
        }
    }
    out
}

fn note_body(io: &mut Traced<'_>, preview: &[u8]) {
    io.note(
        format!("http body: {}", strace_bytes(preview, PAYLOAD_PREVIEW)),
        false,
    );
}
