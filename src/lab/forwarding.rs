//! The lab's forwarders: `forward` opens a listener whose connections are relayed to a target;
//! each accepted connection gets an outbound leg, and bytes are pumped both ways.

use crate::net::wire::Wire;
use std::net::SocketAddr;

use mio::Token;

use super::config::Step;
use super::engine::Lab;
use super::entry::Handle;
use super::error::LabError;
use super::relay::{Pipe, RELAY_BUDGET, RELAYS_PER_FORWARDER, Relay, accepts};
use crate::command::Target;

impl Lab {
    pub(super) fn forward(
        &mut self,
        name: &str,
        listen: SocketAddr,
        target: &Target,
    ) -> Result<Step, LabError> {
        let target = self.resolve(target)?;
        self.allow(super::exposure::check_target("forward", target))?;
        self.table.ensure_free(name)?;
        // A port given explicitly is known before any syscall: refuse a loop before socket().
        if listen.port() != 0 {
            self.refuse_loop(name, listen, target)?;
        }
        let Some(token) = self.start_listener(name, Some(listen), None)? else {
            return Ok(Step::Done);
        };
        // The port the kernel picked could be one another forwarder already targets.
        let local = self.table.named(name)?.local;
        if let Some(local) = local
            && let Err(refusal) = self.refuse_loop(name, local, target)
        {
            self.close_token(token);
            return Err(refusal);
        }
        let entry = self.table.named_mut(name)?;
        entry.forwarder = Some(name.to_owned());
        entry.auto_accept = true;
        self.relays.targets.insert(name.to_owned(), target);
        self.accept_pending(token);
        Ok(Step::Done)
    }

    /// Refuses a forwarder listening on `listen` whose `target` leads back to it: the target
    /// itself, or another forwarder whose own target (and so on) does.
    fn refuse_loop(
        &self,
        name: &str,
        listen: SocketAddr,
        target: SocketAddr,
    ) -> Result<(), LabError> {
        let mut hop = target;
        let mut via: Vec<String> = Vec::new();
        loop {
            if accepts(listen, hop) {
                return Err(LabError::ForwardLoop {
                    name: name.to_owned(),
                    target,
                    via,
                });
            }
            // The lab forwarder listening where this hop leads, if any, and where it relays to.
            let next = self.relays.targets.iter().find_map(|(forwarder, onward)| {
                let local = self.table.named(forwarder).ok()?.local?;
                accepts(local, hop).then(|| (forwarder.clone(), *onward))
            });
            match next {
                // A loop among older forwarders (not through this one) cannot exist: each was
                // checked when it was made. The guard only keeps this walk finite.
                Some((forwarder, onward)) if !via.contains(&forwarder) => {
                    via.push(forwarder);
                    hop = onward;
                }
                _ => return Ok(()),
            }
        }
    }

    /// A forwarder accepted `inbound`: connect its other leg and start relaying.
    pub(super) fn open_relay(&mut self, forwarder: &str, inbound: Token) {
        let Some(target) = self.relays.targets.get(forwarder).copied() else {
            return;
        };
        if self.relays.count_for(forwarder) >= RELAYS_PER_FORWARDER {
            self.refuse_relay(forwarder, inbound, target);
            return;
        }
        let Some(entry) = self.table.get_mut(inbound) else {
            return;
        };
        entry.forwarder = Some(forwarder.to_owned());
        let in_name = entry.name().to_owned();
        let out_name = in_name.replacen("-in", "-out", 1);
        let out_name = if self.table.contains_name(&out_name) {
            format!("{in_name}-out")
        } else {
            out_name
        };
        // The outbound leg starts on the forwarder's host.
        self.placing = self
            .table
            .named(forwarder)
            .ok()
            .and_then(|entry| entry.host);
        let connected = self.client_to(&out_name, target);
        self.placing = None;
        match connected {
            Ok(Some(outbound)) => {
                if let Some(entry) = self.table.get_mut(outbound) {
                    entry.forwarder = Some(forwarder.to_owned());
                }
                let id = self.relays.next_id;
                self.relays.next_id += 1;
                self.relays.live.insert(
                    id,
                    Relay {
                        forwarder: forwarder.to_owned(),
                        inbound,
                        outbound,
                        to_target: Pipe::new(),
                        to_client: Pipe::new(),
                    },
                );
                self.relays.by_token.insert(inbound, id);
                self.relays.by_token.insert(outbound, id);
                self.pump_relay(inbound);
            }
            // No leg to relay to: the client must not wait forever.
            Ok(None) | Err(_) => self.close_token(inbound),
        }
    }

    /// The forwarder is at its relay limit: `inbound` is closed at once, and the trace and the
    /// lab's errors say why.
    fn refuse_relay(&mut self, forwarder: &str, inbound: Token, target: SocketAddr) {
        let in_name = self
            .table
            .get(inbound)
            .map_or_else(String::new, |entry| entry.name().to_owned());
        self.trace.record_refusal(
            Some(&in_name),
            format!("relay({in_name}, {target})"),
            &format!("relay limit: {forwarder} relays at most {RELAYS_PER_FORWARDER} connections"),
        );
        self.note_error(
            format!("forward {forwarder}"),
            &LabError::RelayLimit {
                forwarder: forwarder.to_owned(),
                limit: RELAYS_PER_FORWARDER,
                closed: in_name,
            },
        );
        self.close_token(inbound);
    }

    /// Moves what can be moved on the relay `token` belongs to; closes both legs when both
    /// directions are finished or either fails.
    pub(super) fn pump_relay(&mut self, token: Token) {
        let Some(&id) = self.relays.by_token.get(&token) else {
            return;
        };
        let Some(relay) = self.relays.live.get_mut(&id) else {
            return;
        };
        let (Some(inbound), Some(outbound)) = (
            self.table.get(relay.inbound),
            self.table.get(relay.outbound),
        ) else {
            return;
        };
        let (Handle::Stream(client), Handle::Stream(server)) = (&inbound.handle, &outbound.handle)
        else {
            return;
        };
        let forward = relay.to_target.pump(client, server, RELAY_BUDGET);
        let backward = relay.to_client.pump(server, client, RELAY_BUDGET);
        let (inbound_token, outbound_token) = (relay.inbound, relay.outbound);
        let finished = relay.to_target.is_finished() && relay.to_client.is_finished();
        let failed = forward.is_err() || backward.is_err();
        let (to_target, more_forward) = forward.unwrap_or((0, false));
        let (to_client, more_backward) = backward.unwrap_or((0, false));
        if more_forward || more_backward {
            self.relays.unfinished.insert(inbound_token);
        } else {
            self.relays.unfinished.remove(&inbound_token);
        }
        if let Some(entry) = self.table.get_mut(inbound_token) {
            entry.bytes_received += to_target;
            entry.bytes_sent += to_client;
        }
        if let Some(entry) = self.table.get_mut(outbound_token) {
            entry.bytes_sent += to_target;
            entry.bytes_received += to_client;
        }
        if finished || failed {
            self.close_token(inbound_token);
        }
    }

    /// Whether a relay stopped on its budget and wants another turn.
    #[must_use]
    pub fn has_unfinished_work(&self) -> bool {
        !self.relays.unfinished.is_empty()
            || self.has_unfinished_web()
            || self.wire.as_ref().is_some_and(Wire::has_unread)
    }

    /// Gives every relay that stopped on its budget another turn (one budget each). Returns
    /// whether anything moved.
    pub fn continue_work(&mut self) -> bool {
        // The wire's due segments go first: a delay is a deadline, not a best effort.
        let wire_unread = self.wire.as_ref().is_some_and(Wire::has_unread);
        self.wire_work();
        let tokens: Vec<Token> = self.relays.unfinished.iter().copied().collect();
        for token in &tokens {
            self.pump_relay(*token);
        }
        if !tokens.is_empty() {
            // Bytes moved: queues and counters changed.
            self.prober.mark_stale();
        }
        let web = self.continue_web();
        !tokens.is_empty() || web || wire_unread
    }
}
