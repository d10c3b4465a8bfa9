//! What the tracer thread reports: plain data, sent over a channel.

use serde::Serialize;

/// One decoded syscall of the traced program, in strace form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Syscall {
    pub pid: i32,
    /// The syscall's name (`listen`).
    pub syscall: &'static str,
    /// The descriptor the call acted on, as the program numbers it.
    pub fd: Option<i32>,
    /// Each argument, decoded (`"3"`, `"127.0.0.1:8080"`, `"SOCK_STREAM|SOCK_NONBLOCK"`).
    pub args: Vec<String>,
    /// `listen(3, 3)`, the form the lab's trace uses.
    pub call: String,
    /// `0`, `4`, or `-1 EAGAIN`, as the lab's trace writes it.
    pub result: String,
    pub errno: Option<String>,
    /// A real failure (not `EAGAIN`/`EINPROGRESS`, which are normal for non-blocking sockets).
    pub failed: bool,
    /// Milliseconds since the trace started, at the call's return.
    pub at_ms: u64,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ending {
    /// `exit(status)`.
    Exited(i32),
    /// Killed by this signal number.
    Signaled(i32),
}

/// A report from the tracer. Syscalls and waits are dropped (and counted) when the reader falls
/// behind; events about processes never are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A process (or thread) began to be traced: the program itself (`parent` None) or a child.
    Started {
        pid: i32,
        parent: Option<i32>,
        /// A thread of its parent (`clone(CLONE_THREAD)`), sharing its descriptor table.
        thread: bool,
        at_ms: u64,
    },
    /// A process replaced its program (`execve` succeeded).
    Exec {
        pid: i32,
        at_ms: u64,
    },
    /// A process is waiting in a call that may wait for the network (`accept`, `poll`, ...).
    Waiting {
        pid: i32,
        syscall: &'static str,
        fd: Option<i32>,
        at_ms: u64,
    },
    Syscall(Syscall),
    Ended {
        pid: i32,
        how: Ending,
        at_ms: u64,
    },
    /// Events the tracer could not send because the channel was full (the reader fell behind),
    /// reported as soon as there is room again.
    Dropped {
        count: u64,
    },
    /// A process beyond the cap: followed (its syscalls must be let through) but not recorded.
    Unrecorded {
        pid: i32,
    },
    /// The tracer is done: every traced process has ended, or it was told to stop.
    Finished,
}
