//! Symbolic names of syscall arguments and results, as strace prints them: address families,
//! socket types and flags, `MSG_*`, `SHUT_*`, `fcntl` commands and `O_*` flags, socket options,
//! `POLL*`/`EPOLL*` events, and errno names.

/// Joins the names of the set bits of `value` with `|`; leftover bits are shown in hex.
fn bits(value: u64, table: &[(u64, &str)]) -> String {
    let mut names = Vec::new();
    let mut rest = value;
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            names.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 || names.is_empty() {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

fn named(value: i64, table: &[(i64, &str)]) -> String {
    table
        .iter()
        .find(|(number, _)| *number == value)
        .map_or_else(|| value.to_string(), |(_, name)| (*name).to_owned())
}

#[must_use]
pub fn family(domain: i32) -> String {
    named(
        i64::from(domain),
        &[
            (libc::AF_UNSPEC as i64, "AF_UNSPEC"),
            (libc::AF_UNIX as i64, "AF_UNIX"),
            (libc::AF_INET as i64, "AF_INET"),
            (libc::AF_INET6 as i64, "AF_INET6"),
            (libc::AF_NETLINK as i64, "AF_NETLINK"),
            (libc::AF_PACKET as i64, "AF_PACKET"),
            (libc::AF_VSOCK as i64, "AF_VSOCK"),
        ],
    )
}

/// `SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC`.
#[must_use]
pub fn socket_type(value: u64) -> String {
    let kind = value & 0xf;
    let base = named(
        kind as i64,
        &[
            (libc::SOCK_STREAM as i64, "SOCK_STREAM"),
            (libc::SOCK_DGRAM as i64, "SOCK_DGRAM"),
            (libc::SOCK_RAW as i64, "SOCK_RAW"),
            (libc::SOCK_SEQPACKET as i64, "SOCK_SEQPACKET"),
        ],
    );
    let flags = value & !0xf;
    if flags == 0 {
        base
    } else {
        format!("{base}|{}", socket_flags(flags))
    }
}

/// `accept4`'s and `socket`'s flags.
#[must_use]
pub fn socket_flags(value: u64) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    bits(
        value,
        &[
            (libc::SOCK_NONBLOCK as u64, "SOCK_NONBLOCK"),
            (libc::SOCK_CLOEXEC as u64, "SOCK_CLOEXEC"),
        ],
    )
}

#[must_use]
pub fn protocol(domain: i32, protocol: i32) -> String {
    if matches!(domain, libc::AF_INET | libc::AF_INET6) {
        return named(
            i64::from(protocol),
            &[
                (libc::IPPROTO_IP as i64, "IPPROTO_IP"),
                (libc::IPPROTO_TCP as i64, "IPPROTO_TCP"),
                (libc::IPPROTO_UDP as i64, "IPPROTO_UDP"),
                (libc::IPPROTO_ICMP as i64, "IPPROTO_ICMP"),
                (libc::IPPROTO_ICMPV6 as i64, "IPPROTO_ICMPV6"),
            ],
        );
    }
    protocol.to_string()
}

/// `MSG_*` flags of send/recv.
#[must_use]
pub fn msg_flags(value: u64) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    bits(
        value,
        &[
            (libc::MSG_OOB as u64, "MSG_OOB"),
            (libc::MSG_PEEK as u64, "MSG_PEEK"),
            (libc::MSG_DONTROUTE as u64, "MSG_DONTROUTE"),
            (libc::MSG_TRUNC as u64, "MSG_TRUNC"),
            (libc::MSG_DONTWAIT as u64, "MSG_DONTWAIT"),
            (libc::MSG_EOR as u64, "MSG_EOR"),
            (libc::MSG_WAITALL as u64, "MSG_WAITALL"),
            (libc::MSG_NOSIGNAL as u64, "MSG_NOSIGNAL"),
            (libc::MSG_MORE as u64, "MSG_MORE"),
            (libc::MSG_CMSG_CLOEXEC as u64, "MSG_CMSG_CLOEXEC"),
        ],
    )
}

#[must_use]
pub fn shutdown_how(how: u64) -> String {
    named(
        how as i64,
        &[
            (libc::SHUT_RD as i64, "SHUT_RD"),
            (libc::SHUT_WR as i64, "SHUT_WR"),
            (libc::SHUT_RDWR as i64, "SHUT_RDWR"),
        ],
    )
}

#[must_use]
pub fn fcntl_command(command: i32) -> String {
    named(
        i64::from(command),
        &[
            (libc::F_DUPFD as i64, "F_DUPFD"),
            (libc::F_DUPFD_CLOEXEC as i64, "F_DUPFD_CLOEXEC"),
            (libc::F_GETFD as i64, "F_GETFD"),
            (libc::F_SETFD as i64, "F_SETFD"),
            (libc::F_GETFL as i64, "F_GETFL"),
            (libc::F_SETFL as i64, "F_SETFL"),
            (libc::F_GETOWN as i64, "F_GETOWN"),
            (libc::F_SETOWN as i64, "F_SETOWN"),
        ],
    )
}

/// File status flags (`F_GETFL`/`F_SETFL`): the access mode, then the bits; `O_NONBLOCK` is the
/// one that matters for sockets.
#[must_use]
pub fn open_flags(value: u64) -> String {
    let mode = named(
        (value & libc::O_ACCMODE as u64) as i64,
        &[
            (libc::O_RDONLY as i64, "O_RDONLY"),
            (libc::O_WRONLY as i64, "O_WRONLY"),
            (libc::O_RDWR as i64, "O_RDWR"),
        ],
    );
    let rest = value & !(libc::O_ACCMODE as u64);
    if rest == 0 {
        return mode;
    }
    let rest = bits(
        rest,
        &[
            (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
            (libc::O_APPEND as u64, "O_APPEND"),
            (libc::O_ASYNC as u64, "O_ASYNC"),
            (libc::O_DIRECT as u64, "O_DIRECT"),
            (libc::O_LARGEFILE as u64, "O_LARGEFILE"),
            (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
        ],
    );
    format!("{mode}|{rest}")
}

#[must_use]
pub fn fd_flags(value: u64) -> String {
    if value == libc::FD_CLOEXEC as u64 {
        "FD_CLOEXEC".to_owned()
    } else {
        value.to_string()
    }
}

#[must_use]
pub fn sockopt_level(level: i32) -> String {
    named(
        i64::from(level),
        &[
            (libc::SOL_SOCKET as i64, "SOL_SOCKET"),
            (libc::IPPROTO_TCP as i64, "SOL_TCP"),
            (libc::IPPROTO_IP as i64, "SOL_IP"),
            (libc::IPPROTO_IPV6 as i64, "SOL_IPV6"),
            (libc::IPPROTO_UDP as i64, "SOL_UDP"),
        ],
    )
}

#[must_use]
pub fn sockopt_name(level: i32, name: i32) -> String {
    let table: &[(i64, &str)] = match level {
        libc::SOL_SOCKET => &[
            (libc::SO_REUSEADDR as i64, "SO_REUSEADDR"),
            (libc::SO_REUSEPORT as i64, "SO_REUSEPORT"),
            (libc::SO_KEEPALIVE as i64, "SO_KEEPALIVE"),
            (libc::SO_BROADCAST as i64, "SO_BROADCAST"),
            (libc::SO_LINGER as i64, "SO_LINGER"),
            (libc::SO_RCVBUF as i64, "SO_RCVBUF"),
            (libc::SO_SNDBUF as i64, "SO_SNDBUF"),
            (libc::SO_RCVTIMEO as i64, "SO_RCVTIMEO_OLD"),
            (libc::SO_SNDTIMEO as i64, "SO_SNDTIMEO_OLD"),
            (libc::SO_ERROR as i64, "SO_ERROR"),
            (libc::SO_TYPE as i64, "SO_TYPE"),
            (libc::SO_ACCEPTCONN as i64, "SO_ACCEPTCONN"),
            (libc::SO_DOMAIN as i64, "SO_DOMAIN"),
            (libc::SO_PROTOCOL as i64, "SO_PROTOCOL"),
            (libc::SO_BINDTODEVICE as i64, "SO_BINDTODEVICE"),
            (libc::SO_PEERCRED as i64, "SO_PEERCRED"),
        ],
        libc::IPPROTO_TCP => &[
            (libc::TCP_NODELAY as i64, "TCP_NODELAY"),
            (libc::TCP_MAXSEG as i64, "TCP_MAXSEG"),
            (libc::TCP_CORK as i64, "TCP_CORK"),
            (libc::TCP_KEEPIDLE as i64, "TCP_KEEPIDLE"),
            (libc::TCP_KEEPINTVL as i64, "TCP_KEEPINTVL"),
            (libc::TCP_KEEPCNT as i64, "TCP_KEEPCNT"),
            (libc::TCP_DEFER_ACCEPT as i64, "TCP_DEFER_ACCEPT"),
            (libc::TCP_INFO as i64, "TCP_INFO"),
            (libc::TCP_QUICKACK as i64, "TCP_QUICKACK"),
            (libc::TCP_FASTOPEN as i64, "TCP_FASTOPEN"),
            (libc::TCP_USER_TIMEOUT as i64, "TCP_USER_TIMEOUT"),
        ],
        libc::IPPROTO_IPV6 => &[(libc::IPV6_V6ONLY as i64, "IPV6_V6ONLY")],
        libc::IPPROTO_IP => &[
            (libc::IP_TOS as i64, "IP_TOS"),
            (libc::IP_TTL as i64, "IP_TTL"),
            (libc::IP_RECVERR as i64, "IP_RECVERR"),
        ],
        _ => &[],
    };
    named(i64::from(name), table)
}

#[must_use]
pub fn poll_events(value: u64) -> String {
    bits(
        value,
        &[
            (libc::POLLIN as u64, "POLLIN"),
            (libc::POLLPRI as u64, "POLLPRI"),
            (libc::POLLOUT as u64, "POLLOUT"),
            (libc::POLLERR as u64, "POLLERR"),
            (libc::POLLHUP as u64, "POLLHUP"),
            (libc::POLLNVAL as u64, "POLLNVAL"),
            (libc::POLLRDHUP as u64, "POLLRDHUP"),
        ],
    )
}

#[must_use]
pub fn epoll_events(value: u64) -> String {
    bits(
        value,
        &[
            (libc::EPOLLIN as u64, "EPOLLIN"),
            (libc::EPOLLPRI as u64, "EPOLLPRI"),
            (libc::EPOLLOUT as u64, "EPOLLOUT"),
            (libc::EPOLLERR as u64, "EPOLLERR"),
            (libc::EPOLLHUP as u64, "EPOLLHUP"),
            (libc::EPOLLRDHUP as u64, "EPOLLRDHUP"),
            (libc::EPOLLEXCLUSIVE as u64, "EPOLLEXCLUSIVE"),
            (libc::EPOLLONESHOT as u64, "EPOLLONESHOT"),
            (libc::EPOLLET as u64, "EPOLLET"),
        ],
    )
}

#[must_use]
pub fn epoll_op(op: i32) -> String {
    named(
        i64::from(op),
        &[
            (libc::EPOLL_CTL_ADD as i64, "EPOLL_CTL_ADD"),
            (libc::EPOLL_CTL_MOD as i64, "EPOLL_CTL_MOD"),
            (libc::EPOLL_CTL_DEL as i64, "EPOLL_CTL_DEL"),
        ],
    )
}

/// The errno's name: `EADDRINUSE`; the kernel's restart codes (a syscall interrupted by a signal,
/// which userspace never sees) by their kernel names, as strace shows them.
#[must_use]
pub fn errno(code: i32) -> String {
    match code {
        512 => "ERESTARTSYS".to_owned(),
        513 => "ERESTARTNOINTR".to_owned(),
        514 => "ERESTARTNOHAND".to_owned(),
        516 => "ERESTART_RESTARTBLOCK".to_owned(),
        _ => match nix::errno::Errno::from_raw(code) {
            nix::errno::Errno::UnknownErrno => format!("E{code}"),
            // nix names each errno after its C constant (`Debug` is the constant's name).
            known => format!("{known:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_like_strace() {
        let stream_nonblock = (libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;
        assert_eq!(
            socket_type(stream_nonblock),
            "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"
        );
        assert_eq!(socket_type(libc::SOCK_DGRAM as u64), "SOCK_DGRAM");
        assert_eq!(
            open_flags((libc::O_RDWR | libc::O_NONBLOCK) as u64),
            "O_RDWR|O_NONBLOCK"
        );
        assert_eq!(msg_flags(0), "0");
        assert_eq!(
            msg_flags((libc::MSG_NOSIGNAL | 0x8000_0000u32 as i32) as u32 as u64),
            "MSG_NOSIGNAL|0x80000000"
        );
        assert_eq!(
            sockopt_name(libc::SOL_SOCKET, libc::SO_REUSEADDR),
            "SO_REUSEADDR"
        );
        assert_eq!(sockopt_name(libc::IPPROTO_TCP, 9999), "9999");
        assert_eq!(shutdown_how(libc::SHUT_WR as u64), "SHUT_WR");
        assert_eq!(
            poll_events((libc::POLLIN | libc::POLLOUT) as u64),
            "POLLIN|POLLOUT"
        );
    }

    #[test]
    fn errno_names_come_from_the_constants() {
        assert_eq!(errno(libc::EADDRINUSE), "EADDRINUSE");
        assert_eq!(errno(libc::EAGAIN), "EAGAIN");
        assert_eq!(errno(512), "ERESTARTSYS");
        assert_eq!(errno(4000), "E4000");
    }
}
