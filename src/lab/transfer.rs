//! What every verb that moves bytes does around its syscall, on a network socket and an IPC end
//! alike: retry it when a signal interrupts it, count the bytes on the entry, and trace the call
//! the way strace writes it.

use std::io;

use super::entry::Entry;
use super::trace::Trace;
use crate::escape::{STRACE_LIMIT, strace_bytes};

/// Makes `call` again while it fails with `EINTR` (a signal came in): that failure is no outcome.
pub(super) fn retrying<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// After `call` (`send`, `write`, `sendto`) tried to send `data` on `entry` (to `to`, as strace
/// writes the address): counts what went and traces `call(fd, "data", len[, to]) = sent`.
pub(super) fn sent(
    trace: &mut Trace,
    entry: &mut Entry,
    call: &str,
    data: &[u8],
    to: Option<&str>,
    result: &io::Result<usize>,
) {
    if let Ok(sent) = result {
        entry.bytes_sent += *sent as u64;
    }
    let fd = entry.handle.raw_fd();
    let bytes = strace_bytes(data, STRACE_LIMIT);
    let len = data.len();
    let line = match to {
        Some(to) => format!("{call}({fd}, {bytes}, {len}, {to})"),
        None => format!("{call}({fd}, {bytes}, {len})"),
    };
    trace.record(Some(entry.name()), line, result.as_ref().copied());
}

/// After `call` (`recv`, `read`, `recvfrom`) read into `buffer` (of `max` bytes) on `entry`:
/// counts what came and traces `call(fd, "data", max[, from]) = received` (`...` for the data,
/// and no `from`, when it failed).
pub(super) fn received(
    trace: &mut Trace,
    entry: &mut Entry,
    call: &str,
    buffer: &[u8],
    from: Option<&str>,
    result: &io::Result<usize>,
) {
    let max = buffer.len();
    let fd = entry.handle.raw_fd();
    let line = match result {
        Ok(received) => {
            entry.bytes_received += *received as u64;
            let bytes = strace_bytes(&buffer[..*received], STRACE_LIMIT);
            match from {
                Some(from) => format!("{call}({fd}, {bytes}, {max}, {from})"),
                None => format!("{call}({fd}, {bytes}, {max})"),
            }
        }
        Err(_) => format!("{call}({fd}, ..., {max})"),
    };
    trace.record(Some(entry.name()), line, result.as_ref().copied());
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use mio::Token;

    use super::*;
    use crate::lab::entry::Handle;

    /// A lab entry on a real file (its descriptor is all the bookkeeping reads).
    fn entry() -> Entry {
        let file = std::fs::File::open("/dev/null").expect("/dev/null opens");
        Entry::new("p".into(), Handle::File(file), Token(1), None, false)
    }

    #[test]
    fn a_send_is_counted_and_traced_as_strace_writes_it() {
        let mut trace = Trace::new(Instant::now(), 10);
        let mut entry = entry();
        let fd = entry.handle.raw_fd();
        sent(&mut trace, &mut entry, "send", b"hi", None, &Ok(2));
        let to = "{sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"127.0.0.1\")}";
        sent(&mut trace, &mut entry, "sendto", b"hey", Some(to), &Ok(1));
        let refused = io::Error::from_raw_os_error(libc::EAGAIN);
        sent(&mut trace, &mut entry, "write", b"x", None, &Err(refused));
        assert_eq!(entry.bytes_sent, 3, "only what went is counted");
        let calls: Vec<_> = trace.entries().into_iter().map(|e| e.call).collect();
        assert_eq!(
            calls,
            [
                format!("send({fd}, \"hi\", 2)"),
                format!("sendto({fd}, \"hey\", 3, {to})"),
                format!("write({fd}, \"x\", 1)"),
            ]
        );
        let results: Vec<_> = trace.entries().into_iter().map(|e| e.result).collect();
        assert_eq!(results, ["2", "1", "-1 EAGAIN"]);
        assert!(
            trace
                .entries()
                .iter()
                .all(|e| e.name.as_deref() == Some("p")),
            "each call is traced under the entry's name"
        );
    }

    #[test]
    fn a_receive_shows_what_came_and_dots_when_it_failed() {
        let mut trace = Trace::new(Instant::now(), 10);
        let mut entry = entry();
        let fd = entry.handle.raw_fd();
        let mut buffer = vec![0; 8];
        buffer[..5].copy_from_slice(b"hello");
        received(&mut trace, &mut entry, "recv", &buffer, None, &Ok(5));
        received(
            &mut trace,
            &mut entry,
            "recvfrom",
            &buffer,
            Some("from"),
            &Ok(2),
        );
        let empty = io::Error::from_raw_os_error(libc::EAGAIN);
        received(
            &mut trace,
            &mut entry,
            "recvfrom",
            &buffer,
            None,
            &Err(empty),
        );
        assert_eq!(entry.bytes_received, 7);
        let calls: Vec<_> = trace.entries().into_iter().map(|e| e.call).collect();
        assert_eq!(
            calls,
            [
                format!("recv({fd}, \"hello\", 8)"),
                format!("recvfrom({fd}, \"he\", 8, from)"),
                format!("recvfrom({fd}, ..., 8)"),
            ]
        );
    }
}
