//! A traced program: the learner's own program under ptrace with a seccomp filter, its syscalls
//! decoded like strace, its descriptor table from `/proc/PID/fd` and its sockets from `sock_diag`
//! (issue 12). The layers below any screen:
//!
//! - [`program`] — the program line, split and found on `PATH` (bad names said before anything runs);
//! - [`syscalls`] and [`filter`] — the syscalls of interest, their numbers, the BPF filter;
//! - [`tracer`] — the tracer thread (`crate::kernel::ptrace` holds its `unsafe`), sending
//!   [`event::TraceEvent`]s over a bounded channel and a `mio::Waker`;
//! - [`decode`], [`names`], [`sockaddr`], [`memory`] — strace-style decoding;
//! - [`log`], [`output`], [`view`], [`session`] — what a screen or snapshot holds;
//! - [`attach`] — why `--pid` may not trace a process;
//! - [`board`] — the dashboard's state (keys, filters, the prompt), drawn by `crate::ui::trace_board`;
//! - `snapshot --trace` and `--trace-pid` are `crate::screens::trace_snapshot` (they draw the board).

pub mod attach;
pub mod board;
pub mod decode;
pub mod event;
pub mod filter;
pub mod log;
pub mod memory;
pub mod names;
pub mod output;
pub mod program;
pub mod session;
pub mod sockaddr;
pub mod syscalls;
pub mod tracer;
pub mod view;

pub use self::session::{ProgramSnapshot, TracedRun};
