//! A plain-text listing of a snapshot: the same facts as the JSON, one line each.

use std::fmt::Write as _;

use crate::escape::visible;
use crate::model::Snapshot;
use crate::text::{self, Lang};

fn addr_or_dash(address: Option<std::net::SocketAddr>) -> String {
    address.map_or_else(|| "-".to_owned(), |address| address.to_string())
}

/// Every fact of the snapshot as aligned text lines, headed in `lang`.
#[must_use]
pub fn listing(snapshot: &Snapshot, lang: Lang) -> String {
    let mut out = String::new();
    let heading = |out: &mut String, key: &str| {
        let _ = writeln!(out, "== {}", text::get(lang, key));
    };
    heading(&mut out, "listing.fds");
    for fd in &snapshot.fds {
        let _ = writeln!(
            out,
            "{:>5}  {:<8} {:<28} {}",
            fd.fd,
            fd.kind.name(),
            visible(&fd.target),
            fd.name.as_deref().unwrap_or("")
        );
    }
    heading(&mut out, "listing.sockets");
    for socket in &snapshot.sockets {
        let _ = writeln!(
            out,
            "{:<10} fd {:<5} {} {:<11} {:<22} {:<22} {:<12} recv_q {:<6} send_q {}",
            socket.name,
            socket.fd,
            socket.proto.name(),
            socket.role.name(),
            addr_or_dash(socket.local),
            addr_or_dash(socket.remote),
            socket.state.name(),
            socket.recv_q,
            socket.send_q
        );
    }
    heading(&mut out, "listing.listeners");
    for listener in &snapshot.listeners {
        let _ = writeln!(
            out,
            "{:<10} {:<22} backlog {} (listen {}) accept_queue {} syn_queue {}",
            listener.name,
            addr_or_dash(listener.local),
            listener.backlog,
            listener.backlog_requested,
            listener.accept_queue,
            listener.syn_queue
        );
        for waiting in listener.waiting.iter().chain(&listener.half_open) {
            let _ = writeln!(out, "    <- {:<22} {}", waiting.peer, waiting.state.name());
        }
    }
    heading(&mut out, "listing.kernel_only");
    for held in &snapshot.kernel_only {
        let _ = writeln!(
            out,
            "{:<22} {:<22} {:<11} {}",
            held.local,
            held.remote,
            held.state.name(),
            held.was.as_deref().unwrap_or("")
        );
    }
    let counters = &snapshot.counters;
    let _ = writeln!(
        out,
        "== ListenOverflows {} (+{}), ListenDrops {} (+{}) [{}]; ephemeral {}-{}; somaxconn {}",
        counters.listen_overflows,
        counters
            .listen_overflows
            .saturating_sub(counters.listen_overflows_at_start),
        counters.listen_drops,
        counters
            .listen_drops
            .saturating_sub(counters.listen_drops_at_start),
        text::get(lang, &format!("counters.{}", counters.scope.key())),
        snapshot.ports.ephemeral[0],
        snapshot.ports.ephemeral[1],
        snapshot.ports.somaxconn
    );
    heading(&mut out, "listing.trace");
    for entry in &snapshot.trace {
        let _ = writeln!(out, "{} = {}", entry.call, entry.result);
    }
    for error in &snapshot.errors {
        let _ = writeln!(out, "! {}: {}", error.command, error.message);
    }
    for error in &snapshot.probe_errors {
        let _ = writeln!(out, "! {error}");
    }
    out
}
