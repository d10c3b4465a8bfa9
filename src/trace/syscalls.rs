//! The syscalls `sockscope trace` stops on, and their numbers on this architecture.
//!
//! Numbers come from `libc`'s `SYS_*` constants: the crate is already a dependency, is kept by the
//! Rust project, and its per-architecture tables are generated from the kernel's headers. aarch64
//! has no `poll`, `select`, `dup2`, `epoll_create` or `epoll_wait` (only their newer forms), so
//! those entries exist on `x86_64` alone.

/// A syscall of interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    Socket,
    Socketpair,
    Bind,
    Listen,
    Accept,
    Accept4,
    Connect,
    Sendto,
    Sendmsg,
    Sendmmsg,
    Recvfrom,
    Recvmsg,
    Recvmmsg,
    Read,
    Write,
    Shutdown,
    Close,
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Setsockopt,
    Getsockopt,
    Getsockname,
    Getpeername,
    Poll,
    Ppoll,
    Select,
    Pselect6,
    EpollCreate,
    EpollCreate1,
    EpollCtl,
    EpollWait,
    EpollPwait,
    EpollPwait2,
}

/// What a call is about, for deciding whether to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Always a socket call (strace's `%network`).
    Network,
    /// A call on any descriptor (`read`, `close`, `fcntl`, ...): shown only when the descriptor is
    /// a socket.
    OnAnyFd,
    /// Waiting for readiness (`poll`, `select`, `epoll_*`): always shown.
    Readiness,
}

impl Call {
    /// The syscall's name, as strace prints it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::Socketpair => "socketpair",
            Self::Bind => "bind",
            Self::Listen => "listen",
            Self::Accept => "accept",
            Self::Accept4 => "accept4",
            Self::Connect => "connect",
            Self::Sendto => "sendto",
            Self::Sendmsg => "sendmsg",
            Self::Sendmmsg => "sendmmsg",
            Self::Recvfrom => "recvfrom",
            Self::Recvmsg => "recvmsg",
            Self::Recvmmsg => "recvmmsg",
            Self::Read => "read",
            Self::Write => "write",
            Self::Shutdown => "shutdown",
            Self::Close => "close",
            Self::Dup => "dup",
            Self::Dup2 => "dup2",
            Self::Dup3 => "dup3",
            Self::Fcntl => "fcntl",
            Self::Setsockopt => "setsockopt",
            Self::Getsockopt => "getsockopt",
            Self::Getsockname => "getsockname",
            Self::Getpeername => "getpeername",
            Self::Poll => "poll",
            Self::Ppoll => "ppoll",
            Self::Select => "select",
            Self::Pselect6 => "pselect6",
            Self::EpollCreate => "epoll_create",
            Self::EpollCreate1 => "epoll_create1",
            Self::EpollCtl => "epoll_ctl",
            Self::EpollWait => "epoll_wait",
            Self::EpollPwait => "epoll_pwait",
            Self::EpollPwait2 => "epoll_pwait2",
        }
    }

    #[must_use]
    pub fn class(self) -> Class {
        match self {
            Self::Read
            | Self::Write
            | Self::Close
            | Self::Dup
            | Self::Dup2
            | Self::Dup3
            | Self::Fcntl => Class::OnAnyFd,
            Self::Poll
            | Self::Ppoll
            | Self::Select
            | Self::Pselect6
            | Self::EpollCreate
            | Self::EpollCreate1
            | Self::EpollCtl
            | Self::EpollWait
            | Self::EpollPwait
            | Self::EpollPwait2 => Class::Readiness,
            _ => Class::Network,
        }
    }

    /// Whether the first argument is the descriptor the call acts on.
    #[must_use]
    pub fn takes_fd(self) -> bool {
        !matches!(
            self,
            Self::Socket
                | Self::Socketpair
                | Self::Poll
                | Self::Ppoll
                | Self::Select
                | Self::Pselect6
                | Self::EpollCreate
                | Self::EpollCreate1
        )
    }

    /// Whether the call may wait for the network (the program is idle while it blocks there).
    #[must_use]
    pub fn may_wait(self) -> bool {
        matches!(
            self,
            Self::Accept
                | Self::Accept4
                | Self::Recvfrom
                | Self::Recvmsg
                | Self::Recvmmsg
                | Self::Read
                | Self::Poll
                | Self::Ppoll
                | Self::Select
                | Self::Pselect6
                | Self::EpollWait
                | Self::EpollPwait
                | Self::EpollPwait2
        )
    }

    /// The call a syscall number of this architecture stands for.
    #[must_use]
    pub fn from_number(nr: u64) -> Option<Self> {
        TABLE
            .iter()
            .find(|(number, _)| u64::try_from(*number).ok() == Some(nr))
            .map(|&(_, call)| call)
    }
}

/// Every traced syscall with its number on this architecture.
pub const TABLE: &[(libc::c_long, Call)] = &[
    (libc::SYS_socket, Call::Socket),
    (libc::SYS_socketpair, Call::Socketpair),
    (libc::SYS_bind, Call::Bind),
    (libc::SYS_listen, Call::Listen),
    (libc::SYS_accept, Call::Accept),
    (libc::SYS_accept4, Call::Accept4),
    (libc::SYS_connect, Call::Connect),
    (libc::SYS_sendto, Call::Sendto),
    (libc::SYS_sendmsg, Call::Sendmsg),
    (libc::SYS_sendmmsg, Call::Sendmmsg),
    (libc::SYS_recvfrom, Call::Recvfrom),
    (libc::SYS_recvmsg, Call::Recvmsg),
    (libc::SYS_recvmmsg, Call::Recvmmsg),
    (libc::SYS_read, Call::Read),
    (libc::SYS_write, Call::Write),
    (libc::SYS_shutdown, Call::Shutdown),
    (libc::SYS_close, Call::Close),
    (libc::SYS_dup, Call::Dup),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_dup2, Call::Dup2),
    (libc::SYS_dup3, Call::Dup3),
    (libc::SYS_fcntl, Call::Fcntl),
    (libc::SYS_setsockopt, Call::Setsockopt),
    (libc::SYS_getsockopt, Call::Getsockopt),
    (libc::SYS_getsockname, Call::Getsockname),
    (libc::SYS_getpeername, Call::Getpeername),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_poll, Call::Poll),
    (libc::SYS_ppoll, Call::Ppoll),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_select, Call::Select),
    (libc::SYS_pselect6, Call::Pselect6),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_epoll_create, Call::EpollCreate),
    (libc::SYS_epoll_create1, Call::EpollCreate1),
    (libc::SYS_epoll_ctl, Call::EpollCtl),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_epoll_wait, Call::EpollWait),
    (libc::SYS_epoll_pwait, Call::EpollPwait),
    (libc::SYS_epoll_pwait2, Call::EpollPwait2),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_maps_back_to_its_call_once() {
        for &(number, call) in TABLE {
            assert_eq!(
                Call::from_number(number as u64),
                Some(call),
                "{}",
                call.name()
            );
        }
        let mut numbers: Vec<_> = TABLE.iter().map(|(n, _)| *n).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), TABLE.len(), "no number twice");
        assert_eq!(Call::from_number(libc::SYS_getpid as u64), None);
    }
}
