//! What the tracer reported, kept: the program's processes and its syscalls (bounded, oldest
//! dropped and counted).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::event::{Ending, Syscall, TraceEvent};

/// How many syscalls are kept.
pub const DEFAULT_SYSCALL_LIMIT: usize = 10_000;

/// One of the program's processes (or threads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub pid: i32,
    pub parent: Option<i32>,
    /// A thread of `parent`, sharing its descriptor table.
    pub thread: bool,
    /// `/proc/PID/comm` when it started or last `execve`d (escaped: the program chooses it).
    pub comm: String,
    pub started_ms: u64,
    /// The call it waits in, e.g. `accept` on fd 3 (`None` while it runs).
    pub waiting_in: Option<String>,
    pub waiting_fd: Option<i32>,
    pub ended: Option<Ending>,
    pub ended_ms: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct ProgramLog {
    pub processes: BTreeMap<i32, ProcessInfo>,
    pub syscalls: VecDeque<Syscall>,
    pub limit: usize,
    /// Syscalls dropped from the front to keep `limit`.
    pub syscalls_dropped: u64,
    /// Events the tracer could not send because sockscope fell behind.
    pub events_dropped: u64,
    /// Processes beyond the tracer's cap: followed, not recorded.
    pub unrecorded_processes: u64,
    /// Every traced process has ended.
    pub finished: bool,
    /// Some process has waited in a call that may wait for the network.
    pub has_waited: bool,
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| crate::escape::visible(name.trim_end_matches('\n')))
        .unwrap_or_default()
}

impl ProgramLog {
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            ..Self::default()
        }
    }

    pub fn apply(&mut self, event: TraceEvent) {
        match event {
            TraceEvent::Started {
                pid,
                parent,
                thread,
                at_ms,
            } => {
                self.processes.insert(
                    pid,
                    ProcessInfo {
                        pid,
                        parent,
                        thread,
                        comm: comm(pid),
                        started_ms: at_ms,
                        waiting_in: None,
                        waiting_fd: None,
                        ended: None,
                        ended_ms: None,
                    },
                );
            }
            TraceEvent::Exec { pid, .. } => {
                if let Some(process) = self.processes.get_mut(&pid) {
                    process.comm = comm(pid);
                }
            }
            TraceEvent::Waiting {
                pid, syscall, fd, ..
            } => {
                self.has_waited = true;
                if let Some(process) = self.processes.get_mut(&pid) {
                    process.waiting_in = Some(syscall.to_owned());
                    process.waiting_fd = fd;
                }
            }
            TraceEvent::Syscall(syscall) => {
                if let Some(process) = self.processes.get_mut(&syscall.pid) {
                    process.waiting_in = None;
                    process.waiting_fd = None;
                }
                if self.syscalls.len() == self.limit {
                    self.syscalls.pop_front();
                    self.syscalls_dropped += 1;
                }
                self.syscalls.push_back(syscall);
            }
            TraceEvent::Ended { pid, how, at_ms } => {
                if let Some(process) = self.processes.get_mut(&pid) {
                    process.ended = Some(how);
                    process.ended_ms = Some(at_ms);
                    process.waiting_in = None;
                    process.waiting_fd = None;
                }
            }
            TraceEvent::Dropped { count } => self.events_dropped += count,
            TraceEvent::Unrecorded { .. } => self.unrecorded_processes += 1,
            TraceEvent::Finished => self.finished = true,
        }
    }

    /// Processes (not threads) that have not ended: the descriptor tables to read.
    #[must_use]
    pub fn live_processes(&self) -> Vec<i32> {
        self.processes
            .values()
            .filter(|p| p.ended.is_none() && !p.thread)
            .map(|p| p.pid)
            .collect()
    }

    /// Every process and thread that has not ended.
    #[must_use]
    pub fn live_tasks(&self) -> Vec<i32> {
        self.processes
            .values()
            .filter(|p| p.ended.is_none())
            .map(|p| p.pid)
            .collect()
    }
}
