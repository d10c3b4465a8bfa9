//! Why `--pid` may not trace a process: the errno of `PTRACE_SEIZE` said in words, with Yama's
//! `ptrace_scope`, the process's owner and what would permit it.

use std::io;

use crate::text::{self, Lang};

/// `/proc/sys/kernel/yama/ptrace_scope`, if Yama is on.
#[must_use]
pub fn yama_scope() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The real user id owning process `pid` (`Uid:` of `/proc/PID/status`).
#[must_use]
pub fn owner(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The sentence that says why the syscalls of `pid` are not shown.
#[must_use]
pub fn why_not(pid: i32, error: &io::Error, lang: Lang) -> String {
    let errno = error.raw_os_error().unwrap_or(0);
    let name = super::names::errno(errno);
    let meaning = nix::errno::Errno::from_raw(errno).desc();
    let me = rustix::process::geteuid().as_raw();
    let theirs = owner(pid);
    let scope = yama_scope();
    let scope_text = scope.map_or_else(
        || text::get(lang, "trace_board.no_yama").to_owned(),
        |scope| scope.to_string(),
    );
    let key = match (errno, scope) {
        (libc::ESRCH, _) => "trace_board.denied_gone",
        _ if me == 0 => "trace_board.denied_root",
        _ if theirs.is_some_and(|uid| uid != me) => "trace_board.denied_user",
        (_, Some(3)) => "trace_board.denied_yama3",
        (_, Some(2)) => "trace_board.denied_yama2",
        (_, Some(1)) => "trace_board.denied_yama1",
        _ => "trace_board.denied_other",
    };
    text::format(
        lang,
        key,
        &[
            ("pid", &pid.to_string()),
            ("errno", &name),
            ("meaning", meaning),
            ("scope", &scope_text),
            (
                "uid",
                &theirs.map_or_else(|| "?".to_owned(), |uid| uid.to_string()),
            ),
            ("me", &me.to_string()),
        ],
    )
}
