//! Writes commands back as canonical text.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::Command;
use super::value::format_duration;

pub(super) fn line(command: &Command) -> String {
    let on_off = |on: bool| if on { "on" } else { "off" };
    let words: Vec<Cow<'_, str>> = match command {
        Command::Socket { name, proto, v6 } => {
            let mut words = vec![name.into(), proto.name().into()];
            if *v6 {
                words.push("v6".into());
            }
            words
        }
        Command::Bind { name, addr } => vec![name.into(), addr.to_text().into()],
        Command::Listen { name, backlog } => vec![name.into(), backlog.to_string().into()],
        Command::Connect { name, target } | Command::Client { name, target } => {
            vec![name.into(), target.to_text().into()]
        }
        Command::Accept { name, as_name } => {
            let mut words = vec![name.into()];
            if let Some(new_name) = as_name {
                words.extend(["as".into(), new_name.into()]);
            }
            words
        }
        Command::Close { name } | Command::RecvFrom { name } => vec![name.into()],
        Command::Send { name, data } => vec![name.into(), text(data).into()],
        Command::Recv { name, max } => vec![name.into(), max.to_string().into()],
        Command::SendTo { name, target, data } => {
            vec![name.into(), target.to_text().into(), text(data).into()]
        }
        Command::Shutdown { name, how } => vec![name.into(), how.keyword().into()],
        Command::SetSockOpt {
            name,
            option,
            value,
        } => vec![
            name.into(),
            option.keyword().into(),
            value.to_string().into(),
        ],
        Command::Open { name, path } => vec![name.into(), path_text(path).into()],
        Command::Server {
            name,
            addr,
            backlog,
        } => {
            let mut words = vec![name.into()];
            words.extend(addr.as_ref().map(|addr| addr.to_text().into()));
            words.extend(backlog.map(|backlog| backlog.to_string().into()));
            words
        }
        Command::Clients {
            prefix,
            count,
            target,
        } => vec![
            prefix.into(),
            count.to_string().into(),
            target.to_text().into(),
        ],
        Command::Forward {
            name,
            listen,
            target,
        } => vec![
            name.into(),
            listen.to_string().into(),
            target.to_text().into(),
        ],
        Command::AutoAccept { name, on } => vec![name.into(), on_off(*on).into()],
        Command::Wait { duration } => vec![format_duration(*duration).into()],
        Command::Ipc(ipc) => ipc.words().into_iter().map(Cow::Owned).collect(),
        Command::Web(web) => {
            let (plain, data) = web.words();
            let mut words: Vec<Cow<'_, str>> = plain.into_iter().map(Cow::Owned).collect();
            words.extend(data.map(|data| text(data).into()));
            words
        }
        Command::Wire(control) => vec![control.words().into()],
        Command::On { host, command } => {
            // The name is the placed command's first word: `server srv@b 2`.
            let inner = line(command);
            let mut words = inner.splitn(3, ' ');
            let verb = words.next().unwrap_or_default();
            let name = words.next().unwrap_or_default();
            let mut out = format!("{verb} {name}@{}", host.name());
            if let Some(rest) = words.next() {
                out.push(' ');
                out.push_str(rest);
            }
            return out;
        }
    };
    let mut out = String::from(command.verb());
    for word in words {
        out.push(' ');
        out.push_str(&word);
    }
    out
}

/// A character that can stand in a bare word and needs no escape to be read.
fn is_plain(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '"' | ';' | '#' | '\\')
    } else {
        c.is_alphanumeric()
    }
}

/// TEXT: bare words when the bytes are plain words separated by single spaces, quoted otherwise.
fn text(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text)
            if !text.is_empty()
                && text
                    .split(' ')
                    .all(|w| !w.is_empty() && w.chars().all(is_plain)) =>
        {
            text.to_owned()
        }
        _ => quote(data),
    }
}

fn path_text(path: &str) -> String {
    if !path.is_empty() && path.chars().all(is_plain) {
        path.to_owned()
    } else {
        quote(path.as_bytes())
    }
}

/// A quoted string whose escapes decode to exactly `data`. Printable ASCII and non-ASCII letters
/// stay as they are; other bytes are escaped, so the line is safe to show on a terminal.
fn quote(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() + 2);
    out.push('"');
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                ' ' | ';' | '#' => out.push(c),
                c if is_plain(c) => out.push(c),
                c => {
                    let mut buf = [0; 4];
                    for byte in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}
