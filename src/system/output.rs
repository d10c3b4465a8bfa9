//! `sockscope dump`'s two outputs, written straight to a (buffered) writer: a table like `ss -tuanp`,
//! and the JSON of the contract.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::escape;
use crate::text::{self, Lang};

use super::SystemSnapshot;

/// `{"sockets": [...]}`, one socket object per line:
/// `{"proto", "local", "remote", "state", "recv_q", "send_q", "inode", "pid", "process"}`, with
/// `remote`, `pid` and `process` null when unknown or absent.
pub fn write_json(out: &mut impl Write, snapshot: &SystemSnapshot) -> io::Result<()> {
    out.write_all(b"{\"sockets\": [")?;
    for (index, socket) in snapshot.sockets.iter().enumerate() {
        out.write_all(if index == 0 { b"\n  " } else { b",\n  " })?;
        write!(
            out,
            "{{\"proto\": \"{}\", \"local\": \"{}\", \"remote\": ",
            socket.proto.name(),
            socket.local
        )?;
        match socket.remote {
            Some(remote) => write!(out, "\"{remote}\"")?,
            None => out.write_all(b"null")?,
        }
        write!(
            out,
            ", \"state\": \"{}\", \"recv_q\": {}, \"send_q\": {}, \"inode\": {}, \"pid\": ",
            socket.state.name(),
            socket.recv_q,
            socket.send_q,
            socket.inode
        )?;
        match socket.pid {
            Some(pid) => write!(out, "{pid}")?,
            None => out.write_all(b"null")?,
        }
        out.write_all(b", \"process\": ")?;
        match &socket.process {
            // The name is the process's choice: serde_json escapes it, and the controls it leaves
            // (DEL, C1) are escaped too.
            Some(name) => {
                let quoted = serde_json::to_string(&**name).map_err(io::Error::other)?;
                out.write_all(escape::json_controls(quoted).as_bytes())?;
            }
            None => out.write_all(b"null")?,
        }
        out.write_all(b"}")?;
    }
    if !snapshot.sockets.is_empty() {
        out.write_all(b"\n")?;
    }
    out.write_all(b"]}\n")
}

/// The table `ss -tuanp` prints: Netid, State, Recv-Q, Send-Q, local and peer address, process;
/// states in the kernel's names (`ESTABLISHED`, `TIME_WAIT`, `UNCONN`).
///
/// Each row is assembled by hand in one reused line buffer (addresses and numbers formatted
/// without `fmt`'s machinery, each process name escaped once per process): no allocation per row,
/// which is most of what 100k rows cost once the kernel has answered.
pub fn write_table(out: &mut impl Write, snapshot: &SystemSnapshot) -> io::Result<()> {
    // Every address is formatted once, into one buffer, to size the columns.
    let mut arena: Vec<u8> = Vec::with_capacity(snapshot.sockets.len() * 40);
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(snapshot.sockets.len() * 2);
    let (mut local_width, mut peer_width) = ("Local Address:Port".len(), "Peer Address:Port".len());
    for socket in &snapshot.sockets {
        let local = push_address(&mut arena, &mut spans, socket.local, false);
        let peer = match socket.remote {
            Some(remote) => push_address(&mut arena, &mut spans, remote, false),
            None => push_address(&mut arena, &mut spans, socket.local, true),
        };
        local_width = local_width.max(local);
        peer_width = peer_width.max(peer);
    }
    writeln!(
        out,
        "{:<5} {:<11} {:>6} {:>6} {:<local_width$} {:<peer_width$} Process",
        "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    )?;
    let mut names: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut line: Vec<u8> = Vec::with_capacity(256);
    for (index, socket) in snapshot.sockets.iter().enumerate() {
        let text = |span: (u32, u32)| &arena[span.0 as usize..span.1 as usize];
        line.clear();
        push_left(&mut line, socket.proto.name().as_bytes(), 5);
        push_left(&mut line, socket.state.name().as_bytes(), 11);
        push_number_right(&mut line, socket.recv_q, 6);
        push_number_right(&mut line, socket.send_q, 6);
        push_left(&mut line, text(spans[index * 2]), local_width);
        let peer = text(spans[index * 2 + 1]);
        if let Some(pid) = socket.pid {
            push_left(&mut line, peer, peer_width);
            let name = socket.process.as_ref().map_or(&[][..], |name| {
                // Keyed by the shared name's address: every socket of a process holds the same Arc.
                names
                    .entry(Arc::as_ptr(name).cast::<u8>() as usize)
                    .or_insert_with(|| escape::visible(name).replace('"', "\\\"").into_bytes())
            });
            line.extend_from_slice(b"users:((\"");
            line.extend_from_slice(name);
            line.extend_from_slice(b"\",pid=");
            push_number(&mut line, u64::from(pid));
            if let Some(fd) = socket.fd {
                line.extend_from_slice(b",fd=");
                push_number(&mut line, u64::from(fd.unsigned_abs()));
            }
            line.extend_from_slice(b"))");
        } else {
            // No trailing blanks on rows without a process.
            line.extend_from_slice(peer);
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// `text` then blanks up to `width`, then the column separator.
fn push_left(line: &mut Vec<u8>, text: &[u8], width: usize) {
    line.extend_from_slice(text);
    line.resize(line.len() + width.saturating_sub(text.len()) + 1, b' ');
}

/// `number` right-aligned in `width`, then the column separator.
fn push_number_right(line: &mut Vec<u8>, number: u32, width: usize) {
    let mut digits = [0u8; 20];
    let text = decimal(u64::from(number), &mut digits);
    line.resize(line.len() + width.saturating_sub(text.len()), b' ');
    line.extend_from_slice(text);
    line.push(b' ');
}

fn push_number(line: &mut Vec<u8>, number: u64) {
    let mut digits = [0u8; 20];
    line.extend_from_slice(decimal(number, &mut digits));
}

/// The decimal digits of `number`, written at the end of `digits`.
fn decimal(mut number: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            return &digits[at..];
        }
    }
}

/// Formats `address` (or, for a socket with no peer, `ss`'s `0.0.0.0:*` / `[::]:*`) at the end of
/// `arena`; returns its length. IPv4 by hand (most rows); IPv6 through `Display`.
fn push_address(
    arena: &mut Vec<u8>,
    spans: &mut Vec<(u32, u32)>,
    address: SocketAddr,
    no_peer: bool,
) -> usize {
    let start = arena.len();
    match (no_peer, address) {
        (false, SocketAddr::V4(v4)) => {
            for (index, octet) in v4.ip().octets().into_iter().enumerate() {
                if index > 0 {
                    arena.push(b'.');
                }
                push_number(arena, u64::from(octet));
            }
            arena.push(b':');
            push_number(arena, u64::from(v4.port()));
        }
        (false, address) => {
            // Writing to a Vec cannot fail.
            let _ = write!(arena, "{address}");
        }
        (true, SocketAddr::V4(_)) => arena.extend_from_slice(b"0.0.0.0:*"),
        (true, SocketAddr::V6(_)) => arena.extend_from_slice(b"[::]:*"),
    }
    spans.push((start as u32, arena.len() as u32));
    arena.len() - start
}

/// The line saying how many sockets have no known owner and why, or `None` when every socket that
/// has a descriptor was placed (or owners were not looked up).
#[must_use]
pub fn owners_note(snapshot: &SystemSnapshot, lang: Lang) -> Option<String> {
    let owners = &snapshot.owners;
    if !owners.looked_up || owners.unknown == 0 {
        return None;
    }
    let key = if owners.privileged {
        "dump.owners_unknown_root"
    } else {
        "dump.owners_unknown"
    };
    Some(text::format_count(
        lang,
        key,
        owners.unknown as u64,
        &[("processes", &owners.unreadable_processes.to_string())],
    ))
}

/// How long the collection took and what it read (`dump --stats`).
#[must_use]
pub fn stats_line(snapshot: &SystemSnapshot, lang: Lang) -> String {
    let ms = |duration: std::time::Duration| format!("{:.1}", duration.as_secs_f64() * 1e3);
    let timings = &snapshot.timings;
    let owners = &snapshot.owners;
    let mut line = text::format(
        lang,
        "dump.stats",
        &[
            ("sockets", &snapshot.sockets.len().to_string()),
            ("total", &ms(timings.total)),
            ("sock_diag", &ms(timings.sock_diag)),
        ],
    );
    if owners.looked_up {
        line.push_str(&text::format(
            lang,
            "dump.stats_owners",
            &[
                ("owners", &ms(timings.owners)),
                ("processes", &owners.processes.to_string()),
                ("rescanned", &owners.rescanned.to_string()),
                ("fds", &owners.fds_read.to_string()),
                ("unreadable", &owners.unreadable_processes.to_string()),
            ],
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Proto, TcpState};
    use crate::system::SystemSocket;

    fn snapshot() -> SystemSnapshot {
        let listener = SystemSocket {
            proto: Proto::Tcp,
            state: TcpState::Listen,
            local: "127.0.0.1:8080".parse().unwrap(),
            remote: None,
            recv_q: 2,
            send_q: 128,
            inode: 99,
            uid: 1000,
            timer_ms: None,
            pid: Some(42),
            fd: Some(3),
            process: Some(Arc::from("we\"ird\u{1b}")),
        };
        let waiting = SystemSocket {
            state: TcpState::TimeWait,
            local: "[::1]:40000".parse().unwrap(),
            remote: Some("[::1]:8080".parse().unwrap()),
            recv_q: 0,
            send_q: 0,
            inode: 0,
            pid: None,
            fd: None,
            process: None,
            ..listener.clone()
        };
        SystemSnapshot {
            sockets: vec![listener, waiting],
            ..SystemSnapshot::default()
        }
    }

    #[test]
    fn json_has_exactly_the_contract_fields() {
        let mut out = Vec::new();
        write_json(&mut out, &snapshot()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let sockets = json["sockets"].as_array().unwrap();
        let first = sockets[0].as_object().unwrap();
        let keys: Vec<&str> = first.keys().map(String::as_str).collect();
        let mut expected = [
            "proto", "local", "remote", "state", "recv_q", "send_q", "inode", "pid", "process",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(first["process"], "we\"ird\u{1b}");
        assert_eq!(first["remote"], serde_json::Value::Null);
        assert_eq!(first["send_q"], 128);
        assert_eq!(sockets[1]["state"], "TIME_WAIT");
        assert_eq!(sockets[1]["pid"], serde_json::Value::Null);
        assert_eq!(sockets[1]["remote"], "[::1]:8080");

        let mut empty = Vec::new();
        write_json(&mut empty, &SystemSnapshot::default()).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "{\"sockets\": []}\n");
    }

    #[test]
    fn table_aligns_and_escapes_the_process_name() {
        let mut out = Vec::new();
        write_table(&mut out, &snapshot()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Netid State"));
        assert!(lines[1].starts_with("tcp   LISTEN           2    128 127.0.0.1:8080"));
        assert!(lines[1].contains("0.0.0.0:*"));
        assert!(lines[1].ends_with("users:((\"we\\\"ird\\x1b\",pid=42,fd=3))"));
        assert!(lines[2].contains("TIME_WAIT"));
        assert!(!text.contains('\u{1b}'));
        assert_eq!(lines[1].find("0.0.0.0:*"), lines[2].find("[::1]:8080"));
    }

    #[test]
    fn the_note_explains_unknown_owners_in_both_languages() {
        let mut snapshot = snapshot();
        assert_eq!(owners_note(&snapshot, Lang::En), None);
        snapshot.owners.looked_up = true;
        snapshot.owners.unknown = 3;
        let note = owners_note(&snapshot, Lang::En).unwrap();
        assert!(note.contains('3') && note.contains("root"), "{note}");
        assert!(owners_note(&snapshot, Lang::Ko).unwrap().contains('3'));
        snapshot.owners.privileged = true;
        assert_ne!(owners_note(&snapshot, Lang::En).unwrap(), note);
    }
}
