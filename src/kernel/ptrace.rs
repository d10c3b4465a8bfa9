//! Starting a program under ptrace with a seccomp filter, and reading what a syscall stop reports.
//!
//! The only `unsafe` of `sockscope trace`: `fork` in a process that has threads, the child's setup
//! between `fork` and `execve` (async-signal-safe calls only: no allocation, no lock), and reading
//! the union of `struct ptrace_syscall_info`. Everything else (`waitpid`, `PTRACE_CONT`, ...) is a
//! safe call through `nix`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::unistd::Pid;

/// Everything the child needs, prepared before `fork` (the child must not allocate).
pub struct ChildSetup<'a> {
    /// The program's resolved path.
    pub path: &'a CStr,
    /// `argv` and `envp` as null-terminated pointer arrays into strings the caller keeps alive.
    pub argv: &'a [*const libc::c_char],
    pub envp: &'a [*const libc::c_char],
    /// Descriptors that become the child's 0, 1 and 2.
    pub stdin: BorrowedFd<'a>,
    pub stdout: BorrowedFd<'a>,
    pub stderr: BorrowedFd<'a>,
    /// The classic BPF program the child installs with `seccomp(SECCOMP_SET_MODE_FILTER)`.
    pub filter: &'a [libc::sock_filter],
    /// The write end of a close-on-exec pipe: if a step fails the child writes `[step, errno]`
    /// (two native-endian `i32`s) and exits 127; a successful `execve` closes it unwritten.
    pub report: BorrowedFd<'a>,
}

/// Which step of the child's setup failed (the first `i32` written to the report pipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ChildStep {
    Stdio = 1,
    TraceMe = 2,
    NoNewPrivs = 3,
    Seccomp = 4,
    Exec = 5,
}

impl ChildStep {
    #[must_use]
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1 => Self::Stdio,
            2 => Self::TraceMe,
            3 => Self::NoNewPrivs,
            4 => Self::Seccomp,
            5 => Self::Exec,
            _ => return None,
        })
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Stdio => "dup2",
            Self::TraceMe => "ptrace(PTRACE_TRACEME)",
            Self::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            Self::Seccomp => "seccomp(SECCOMP_SET_MODE_FILTER)",
            Self::Exec => "execve",
        }
    }
}

/// Forks a child that asks to be traced (`PTRACE_TRACEME`), stops itself with `SIGSTOP` so the
/// tracer can set its options, then installs the seccomp filter and `execve`s the program.
///
/// Must be called on the thread that will trace the child: the kernel makes the thread that
/// forked (the child's real parent) its tracer. The filter comes after the stop on purpose:
/// `SECCOMP_RET_TRACE` without `PTRACE_O_TRACESECCOMP` set makes a filtered syscall fail with
/// `ENOSYS`, so the options must be in place before the first filtered syscall.
pub fn fork_traced(setup: &ChildSetup<'_>) -> io::Result<Pid> {
    let program = libc::sock_fprog {
        len: u16::try_from(setup.filter.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        filter: setup.filter.as_ptr().cast_mut(),
    };
    // SAFETY: after `fork` in a multithreaded process the child may only make async-signal-safe
    // calls until `execve`; `child` makes only raw syscalls (`dup2`, `ptrace`, `kill`, `prctl`,
    // `syscall(SYS_seccomp)`, `sigprocmask`, `signal`, `execve`, `write`, `_exit`) on data prepared
    // before the fork (`setup`, `program`), which stays valid in the child's copy of memory. The
    // parent only reads the returned pid.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: we are the child of the fork just above; see the comment there.
            unsafe { child(setup, &program) }
        }
        pid => Ok(Pid::from_raw(pid)),
    }
}

/// The child between `fork` and `execve`. Never returns.
///
/// # Safety
/// Only to be called in the child of a `fork`, with `setup` and `program` prepared before it.
unsafe fn child(setup: &ChildSetup<'_>, program: &libc::sock_fprog) -> ! {
    let fail = |step: ChildStep| -> ! {
        // SAFETY: `__errno_location` returns this thread's errno; `report` is open in the child
        // (inherited); the buffer is on this stack. `_exit` ends the child without running the
        // parent's atexit handlers or flushing its copied stdio buffers.
        unsafe {
            let errno = *libc::__errno_location();
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&(step as i32).to_ne_bytes());
            bytes[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(setup.report.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
    };
    // SAFETY: each call is a plain syscall on descriptors and memory valid in the child (see
    // `fork_traced`); none allocates or takes a lock.
    unsafe {
        // The program gets default signal handling and an empty mask, as a shell would give it
        // (Rust ignores SIGPIPE in its own process, and ignored signals survive execve).
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // Its own process group, so the end of a trace can signal all of its processes at once.
        libc::setpgid(0, 0);
        for (from, to) in [(setup.stdin, 0), (setup.stdout, 1), (setup.stderr, 2)] {
            if libc::dup2(from.as_raw_fd(), to) == -1 {
                fail(ChildStep::Stdio);
            }
        }
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == -1 {
            fail(ChildStep::TraceMe);
        }
        // Wait here until the tracer has set PTRACE_O_TRACESECCOMP (see `fork_traced`).
        libc::kill(libc::getpid(), libc::SIGSTOP);
        // Required for an unprivileged process to install a filter; it also means a set-user-ID
        // program run under trace does not gain privileges (ptrace prevents that anyway).
        // No filter (`--detach`): every syscall stops instead, and the program can run on
        // untraced.
        if program.len > 0 && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 {
            fail(ChildStep::NoNewPrivs);
        }
        if program.len > 0
            && libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                std::ptr::from_ref(program),
            ) == -1
        {
            fail(ChildStep::Seccomp);
        }
        libc::execve(
            setup.path.as_ptr(),
            setup.argv.as_ptr(),
            setup.envp.as_ptr(),
        );
        fail(ChildStep::Exec)
    }
}

/// What `PTRACE_GET_SYSCALL_INFO` (Linux 5.3+) says about a stop: the same on every architecture,
/// so no register layout is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallStop {
    /// A `PTRACE_EVENT_SECCOMP` stop: the syscall is about to run.
    Seccomp { arch: u32, nr: u64, args: [u64; 6] },
    /// A syscall-entry stop (after `PTRACE_SYSCALL`).
    Entry { arch: u32, nr: u64, args: [u64; 6] },
    /// A syscall-exit stop: the return value (`is_error`: it is `-errno`).
    Exit { value: i64, is_error: bool },
    /// Not a syscall stop.
    None,
}

/// Asks the kernel which syscall a stopped tracee is in.
pub fn syscall_stop(pid: Pid) -> io::Result<SyscallStop> {
    let info = nix::sys::ptrace::syscall_info(pid)?;
    // SAFETY: the kernel fills the union member that `op` names (include/uapi/linux/ptrace.h), and
    // we read only that member. Every member is plain integers, valid for any bit pattern.
    let stop = unsafe {
        match info.op {
            libc::PTRACE_SYSCALL_INFO_SECCOMP => SyscallStop::Seccomp {
                arch: info.arch,
                nr: info.u.seccomp.nr,
                args: info.u.seccomp.args,
            },
            libc::PTRACE_SYSCALL_INFO_ENTRY => SyscallStop::Entry {
                arch: info.arch,
                nr: info.u.entry.nr,
                args: info.u.entry.args,
            },
            libc::PTRACE_SYSCALL_INFO_EXIT => SyscallStop::Exit {
                value: info.u.exit.sval,
                is_error: info.u.exit.is_error != 0,
            },
            _ => SyscallStop::None,
        }
    };
    Ok(stop)
}

/// A close-on-exec pipe (`pipe2(O_CLOEXEC)`): the child's report channel.
pub fn report_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = std::io::pipe()?;
    Ok((OwnedFd::from(read), OwnedFd::from(write)))
}

/// Keeps `strings` alive and gives the null-terminated pointer array `execve` takes.
#[must_use]
pub fn pointer_array(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// What `waitpid` reported, decoded from the raw status (any signal number, real-time ones
/// included, which `nix::sys::signal::Signal` cannot name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Exited {
        pid: i32,
        status: i32,
    },
    Signaled {
        pid: i32,
        signal: i32,
    },
    /// A signal-delivery-stop or group-stop (`signal`), or the initial `SIGSTOP` of a new tracee.
    Stopped {
        pid: i32,
        signal: i32,
    },
    /// A `PTRACE_EVENT_*` stop.
    Event {
        pid: i32,
        event: i32,
    },
    /// A syscall-entry or syscall-exit stop (`PTRACE_O_TRACESYSGOOD`).
    SyscallStop {
        pid: i32,
    },
}

/// Waits for the next change of the tracee `pid` alone.
pub fn wait_pid(pid: i32) -> io::Result<Waited> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: as in `wait_any`.
        let waited = unsafe { libc::waitpid(pid, &raw mut status, libc::__WALL) };
        if waited == -1 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        return Ok(decode_status(waited, status));
    }
}

/// Like [`wait_any`], without waiting: `None` when nothing changed.
pub fn wait_any_nohang() -> io::Result<Option<Waited>> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: as in `wait_any`.
        let pid = unsafe {
            libc::waitpid(
                -1,
                &raw mut status,
                libc::__WALL | libc::__WNOTHREAD | libc::WNOHANG,
            )
        };
        match pid {
            -1 => {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            0 => return Ok(None),
            pid => return Ok(Some(decode_status(pid, status))),
        }
    }
}

/// Waits for the next change of any child or tracee of *this thread* (`__WALL | __WNOTHREAD`: the
/// children other threads of sockscope started, like an `ss` a test runs, are left to them).
pub fn wait_any() -> io::Result<Waited> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live `c_int` on this stack frame that the kernel writes once.
        let pid = unsafe { libc::waitpid(-1, &raw mut status, libc::__WALL | libc::__WNOTHREAD) };
        if pid == -1 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        return Ok(decode_status(pid, status));
    }
}

fn decode_status(pid: i32, status: libc::c_int) -> Waited {
    if libc::WIFEXITED(status) {
        return Waited::Exited {
            pid,
            status: libc::WEXITSTATUS(status),
        };
    }
    if libc::WIFSIGNALED(status) {
        return Waited::Signaled {
            pid,
            signal: libc::WTERMSIG(status),
        };
    }
    let signal = libc::WSTOPSIG(status);
    let event = (status >> 16) & 0xff;
    if signal == libc::SIGTRAP | 0x80 {
        Waited::SyscallStop { pid }
    } else if signal == libc::SIGTRAP && event != 0 {
        Waited::Event { pid, event }
    } else {
        Waited::Stopped { pid, signal }
    }
}

/// How to resume a stopped tracee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// `PTRACE_CONT`: run until the next seccomp stop, event or signal.
    Continue,
    /// `PTRACE_SYSCALL`: also stop at the next syscall entry or exit.
    Syscall,
}

/// Resumes `pid`, delivering `signal` (0 for none): any signal number, real-time ones included.
pub fn resume(pid: i32, how: Resume, signal: i32) -> io::Result<()> {
    let request = match how {
        Resume::Continue => libc::PTRACE_CONT,
        Resume::Syscall => libc::PTRACE_SYSCALL,
    };
    // SAFETY: PTRACE_CONT and PTRACE_SYSCALL take no pointer: `addr` is ignored and `data` is the
    // signal number, passed by value.
    let rc = unsafe { libc::ptrace(request, pid, 0, signal as libc::c_long) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
