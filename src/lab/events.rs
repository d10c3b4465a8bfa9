//! What the lab does by itself when a socket becomes ready: auto-accept, finish a connect,
//! relay bytes. Nothing else is read or written without a command.

use mio::Token;

use super::engine::Lab;
use super::entry::Handle;

impl Lab {
    pub(super) fn handle_socket_event(&mut self, token: Token, readable: bool, writable: bool) {
        let Some(entry) = self.table.get(token) else {
            return;
        };
        let (web_server, web_conversation) = self.is_web(token);
        match &entry.handle {
            Handle::Listener(_) if readable && web_server => self.web_accept(token),
            Handle::Listener(_) if readable && entry.auto_accept => {
                let context = if entry.forwarder.is_some() {
                    format!("forward {}", entry.name())
                } else {
                    format!("auto-accept {} on", entry.name())
                };
                self.accept_pending(token);
                self.note_exhaustion(context);
            }
            Handle::Stream(_) => {
                if writable && entry.connecting {
                    self.finish_connect(token);
                }
                if self.relays.is_relayed(token) {
                    self.pump_relay(token);
                }
                if web_conversation {
                    self.drive_web(token);
                }
            }
            _ => {}
        }
    }
}
