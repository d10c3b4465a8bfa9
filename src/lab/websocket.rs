//! The HTTP and WebSocket verbs on the lab's own sockets: `ws-server` (one listener for plain
//! HTTP and WebSocket upgrades), `http-get`, `ws-client`, `ws-send`, `ws-close`.
//!
//! Every byte goes through the lab's non-blocking mio sockets, so each `recv`/`send` is in the
//! trace (escaped, as strace prints it) and each segment on the ladder; after each syscall the
//! trace says what the bytes meant: the HTTP heads (`Upgrade`, `101 Switching Protocols`) and
//! every WebSocket frame (opcode, FIN, length, mask, payload escaped), decoded from the bytes
//! that crossed the socket. The conversations run by themselves on readiness, as a server and
//! a browser would: nothing is read without a command except on these connections.

use mio::{Interest, Token};

use super::config::Step;
use super::engine::Lab;
use super::entry::Handle;
use super::error::LabError;
use super::verbs::Naming;
use super::web_session::Session;
use super::ws_wire::{Happened, Traced};
use crate::command::{Target, WebCommand};
use crate::escape::{STRACE_LIMIT, strace_bytes};

impl Lab {
    pub(super) fn web(&mut self, command: &WebCommand) -> Result<Step, LabError> {
        match command {
            WebCommand::Server {
                name,
                addr,
                backlog,
            } => self.ws_server(name, addr.as_ref(), *backlog),
            WebCommand::HttpGet { name, target, path } => {
                self.web_client(name, target, |peer| Ok(Session::http_get(peer, path)))
            }
            WebCommand::Client { name, target, path } => self.web_client(name, target, |peer| {
                Session::ws_client(peer, path).map_err(LabError::Os)
            }),
            WebCommand::Send { name, data } => {
                let text = String::from_utf8_lossy(data).into_owned();
                self.on_websocket(name, "ws-send", Some(text))
            }
            WebCommand::Close { name } => self.on_websocket(name, "ws-close", None),
        }
    }

    /// `server` that also answers: every connection it accepts is a conversation.
    fn ws_server(
        &mut self,
        name: &str,
        addr: Option<&Target>,
        backlog: Option<u32>,
    ) -> Result<Step, LabError> {
        let target = addr.cloned();
        self.server(name, target.as_ref(), backlog)?;
        let Ok(token) = self.table.token_of(name) else {
            return Ok(Step::Done);
        };
        if let Some(entry) = self.table.get(token)
            && matches!(entry.handle, Handle::Listener(_))
        {
            self.web.servers.insert(token);
            self.web_accept(token);
        }
        Ok(Step::Done)
    }

    /// `client` followed by a request once the connect has finished.
    fn web_client(
        &mut self,
        name: &str,
        target: &Target,
        session: impl FnOnce(std::net::SocketAddr) -> Result<Session, LabError>,
    ) -> Result<Step, LabError> {
        let peer = self.resolve(target)?;
        self.allow(super::exposure::check_target("connect", peer))?;
        self.table.ensure_free(name)?;
        let session = session(peer)?;
        if let Some(token) = self.client_to(name, peer)? {
            self.web.sessions.insert(token, session);
            self.drive_web(token);
        }
        Ok(Step::Done)
    }

    /// `ws-send` (`Some(text)`) or `ws-close` (`None`) on an open WebSocket; on a `ws-client`
    /// still in its handshake it waits for the handshake, as a script expects.
    fn on_websocket(
        &mut self,
        name: &str,
        verb: &'static str,
        message: Option<String>,
    ) -> Result<Step, LabError> {
        let token = self.table.token_of(name)?;
        let entry = self.table.named(name)?;
        let (Handle::Stream(stream), Some(session)) =
            (&entry.handle, self.web.sessions.get_mut(&token))
        else {
            return Err(entry.wrong_kind(verb));
        };
        if session.is_opening() {
            session.wait_for_open(message);
            return Ok(Step::Done);
        }
        let mut io = Traced::new(stream);
        let outcome = match message {
            Some(text) => session.send_text(&mut io, text),
            None => session.close(&mut io),
        }
        .map_err(|()| entry.wrong_kind(verb))?;
        self.finish_turn(token, io.happened, outcome);
        Ok(Step::Done)
    }

    /// Accepts what waits on a `ws-server` listener; each connection becomes a conversation.
    pub(super) fn web_accept(&mut self, listener: Token) {
        while let Ok(Some(token)) = self.accept_one(listener, Naming::Numbered("a"), false) {
            if let Some(entry) = self.table.get_mut(token)
                && let Handle::Stream(stream) = &mut entry.handle
            {
                // Writable too: an answer the socket could not take at once goes on later.
                let _ = self.registry.reregister(
                    stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                );
            }
            self.web.sessions.insert(token, Session::server());
            self.drive_web(token);
        }
        self.note_exhaustion(format!("ws-server {}", self.table_name(listener)));
    }

    fn table_name(&self, token: Token) -> String {
        self.table
            .get(token)
            .map_or_else(String::new, |entry| entry.name().to_owned())
    }

    /// Whether `token` is a `ws-server` listener or one of the conversations.
    #[must_use]
    pub(super) fn is_web(&self, token: Token) -> (bool, bool) {
        (
            self.web.servers.contains(&token),
            self.web.sessions.contains_key(&token),
        )
    }

    /// One turn of the conversation on `token`.
    pub(super) fn drive_web(&mut self, token: Token) {
        let Some(entry) = self.table.get(token) else {
            self.web.sessions.remove(&token);
            self.web.unfinished.remove(&token);
            return;
        };
        let (Handle::Stream(stream), Some(session)) =
            (&entry.handle, self.web.sessions.get_mut(&token))
        else {
            return;
        };
        // A connect still under way (or failed: then there is no peer) sends nothing yet.
        let connected = !entry.connecting && stream.peer_addr().is_ok();
        if entry.connecting {
            return;
        }
        let mut io = Traced::new(stream);
        let outcome = session.turn(&mut io, connected);
        let outcome = super::web_session::Outcome {
            close: outcome.close || !connected,
            ..outcome
        };
        self.finish_turn(token, io.happened, outcome);
    }

    /// Writes a turn into the trace and the byte counters, then closes or schedules as asked.
    fn finish_turn(
        &mut self,
        token: Token,
        happened: Vec<Happened>,
        outcome: super::web_session::Outcome,
    ) {
        let Some(entry) = self.table.get_mut(token) else {
            return;
        };
        let name = entry.name().to_owned();
        let fd = entry.handle.raw_fd();
        let happened = match self.web.sessions.get_mut(&token) {
            Some(session) => session.explain(happened),
            None => happened,
        };
        for event in happened {
            match event {
                Happened::Syscall {
                    sent,
                    data,
                    asked,
                    result,
                } => {
                    let shown = strace_bytes(&data, STRACE_LIMIT);
                    if let Ok(n) = &result {
                        if sent {
                            entry.bytes_sent += *n as u64;
                        } else {
                            entry.bytes_received += *n as u64;
                        }
                    }
                    let call = if sent {
                        format!("send({fd}, {shown}, {asked})")
                    } else {
                        format!("recv({fd}, {shown}, {asked})")
                    };
                    self.trace
                        .record(Some(&name), call, result.as_ref().copied());
                }
                Happened::Meaning { text, failed } => {
                    self.trace.record_meaning(Some(&name), text, failed);
                }
            }
        }
        if outcome.more {
            self.web.unfinished.insert(token);
        } else {
            self.web.unfinished.remove(&token);
        }
        if outcome.close {
            self.web.sessions.remove(&token);
            self.web.unfinished.remove(&token);
            if self.table.get(token).is_some() {
                self.close_token(token);
            }
        }
        // Bytes moved: queues and counters changed.
        self.prober.mark_stale();
    }

    /// Gives every conversation that stopped on its budget another turn.
    pub(super) fn continue_web(&mut self) -> bool {
        let tokens: Vec<Token> = self.web.unfinished.iter().copied().collect();
        for token in &tokens {
            self.drive_web(*token);
        }
        !tokens.is_empty()
    }

    #[must_use]
    pub(super) fn has_unfinished_web(&self) -> bool {
        !self.web.unfinished.is_empty()
    }
}
