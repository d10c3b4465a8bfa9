//! The syscall trace: what the lab did, in strace form, kept bounded.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::errno;
use crate::model::TraceEntry;

/// How many entries the trace keeps; older ones are counted, not kept.
pub const DEFAULT_TRACE_LIMIT: usize = 5000;

#[derive(Debug)]
pub struct Trace {
    entries: VecDeque<TraceEntry>,
    limit: usize,
    dropped: u64,
    started: Instant,
    /// The first call since the last [`Trace::take_exhaustion`] that failed because descriptors
    /// ran out, so the lab can say so beyond the trace.
    exhaustion: Option<Exhaustion>,
}

/// A call that failed with `EMFILE` or `ENFILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhaustion {
    /// The call as traced, e.g. `socket(AF_INET, ...)`.
    pub call: String,
    /// The lab name it was made for (`c57`), if any.
    pub name: Option<String>,
    /// `EMFILE` (this process's limit) or `ENFILE` (the system's).
    pub errno: &'static str,
}

impl Trace {
    #[must_use]
    pub fn new(started: Instant, limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            limit: limit.max(1),
            dropped: 0,
            started,
            exhaustion: None,
        }
    }

    fn push(&mut self, entry: TraceEntry) {
        if self.entries.len() == self.limit {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// Records a call and its outcome: `Ok(n)` is printed as `n`, an error as `-1 ENAME`.
    pub fn record<T: std::fmt::Display>(
        &mut self,
        name: Option<&str>,
        call: String,
        outcome: Result<T, &io::Error>,
    ) {
        let (result, errno, failed) = match outcome {
            Ok(value) => (value.to_string(), None, false),
            Err(error) => {
                if self.exhaustion.is_none() {
                    self.exhaustion = match error.raw_os_error() {
                        Some(libc::EMFILE) => Some("EMFILE"),
                        Some(libc::ENFILE) => Some("ENFILE"),
                        _ => None,
                    }
                    .map(|errno| Exhaustion {
                        call: call.clone(),
                        name: name.map(str::to_owned),
                        errno,
                    });
                }
                let errno = errno::name(error);
                (
                    format!("-1 {errno}"),
                    Some(errno),
                    !errno::is_expected(error),
                )
            }
        };
        self.push(TraceEntry {
            call,
            result,
            errno,
            failed,
            name: name.map(str::to_owned),
            at_ms: self.started.elapsed().as_millis() as u64,
        });
    }

    /// Records a call whose result already failed with `error` but the syscall itself returned 0,
    /// as with `getsockopt(SO_ERROR)` reporting a failed non-blocking connect.
    pub fn record_pending_error(&mut self, name: Option<&str>, call: String, error: &io::Error) {
        let errno = errno::name(error);
        self.push(TraceEntry {
            call,
            result: format!("0 ({errno})"),
            errno: Some(errno),
            failed: true,
            name: name.map(str::to_owned),
            at_ms: self.started.elapsed().as_millis() as u64,
        });
    }

    /// Records something the lab itself declined to do, with no syscall to show for it (a relay
    /// over the forwarder's limit): failed, with `reason` as the result and no errno.
    pub fn record_refusal(&mut self, name: Option<&str>, call: String, reason: &str) {
        self.push(TraceEntry {
            call,
            result: format!("-1 ({reason})"),
            errno: None,
            failed: true,
            name: name.map(str::to_owned),
            at_ms: self.started.elapsed().as_millis() as u64,
        });
    }

    /// Records what the bytes of the calls before it meant (an HTTP head, a WebSocket frame),
    /// already escaped: `decoded`, or `protocol error` when they broke the protocol.
    pub fn record_meaning(&mut self, name: Option<&str>, text: String, failed: bool) {
        self.push(TraceEntry {
            call: text,
            result: if failed { "protocol error" } else { "decoded" }.to_owned(),
            errno: None,
            failed,
            name: name.map(str::to_owned),
            at_ms: self.started.elapsed().as_millis() as u64,
        });
    }

    /// The first call that ran out of descriptors since the last time this was asked.
    pub fn take_exhaustion(&mut self) -> Option<Exhaustion> {
        self.exhaustion.take()
    }

    #[must_use]
    pub fn entries(&self) -> Vec<TraceEntry> {
        self.entries.iter().cloned().collect()
    }

    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    #[must_use]
    pub fn last(&self) -> Option<&TraceEntry> {
        self.entries.back()
    }
}

/// `AF_INET` or `AF_INET6`.
#[must_use]
pub fn family(v6: bool) -> &'static str {
    if v6 { "AF_INET6" } else { "AF_INET" }
}

/// A socket address as the trace prints it (`127.0.0.1:8080`, `[::1]:8080`).
#[must_use]
pub fn addr(address: &SocketAddr) -> String {
    address.to_string()
}
