//! What kind of object a descriptor of this process is, the way `lsof`/`lsfd` name it: `IPv4/TCP`,
//! `unix stream`, `netlink`, `pipe`, `FIFO`, `eventpoll`...
//!
//! `/proc/self/fd` says only `socket:[inode]` for every socket; the family, type and protocol come
//! from `getsockopt(SO_DOMAIN, SO_TYPE, SO_PROTOCOL)` on the descriptor itself. The number was read
//! from `/proc/self/fd` a moment before and another thread may have closed or reused it since, so
//! `fstat` first checks that it still is the socket with that inode (a wrong answer is then
//! impossible, a closed number only gives no answer).
//!
//! Every `unsafe` block passes pointers to locals of the calling function, with their exact sizes,
//! to `fstat` or `getsockopt` on a bare descriptor number; a closed number makes the call fail
//! with `EBADF`, which is an answer, not undefined behaviour.
#![allow(unsafe_code)]

use std::mem::{MaybeUninit, size_of};
use std::os::fd::RawFd;

/// A socket's `SO_DOMAIN`, `SO_TYPE` and `SO_PROTOCOL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketKind {
    pub domain: i32,
    pub kind: i32,
    pub protocol: i32,
}

/// `fstat` on a bare number: (inode, file type bits).
fn stat(fd: RawFd) -> Option<(u64, u32)> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is a local the kernel fills completely when the call succeeds; it is read
    // only then.
    let rc = unsafe { libc::fstat(fd, stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: fstat returned 0, so it wrote the whole struct.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_ino, stat.st_mode & libc::S_IFMT))
}

fn int_option(fd: RawFd, option: libc::c_int) -> Option<i32> {
    let mut value: libc::c_int = 0;
    let mut length = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `length` are locals; `length` holds the size of `value`, so the kernel
    // writes at most that many bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&raw mut value).cast(),
            &raw mut length,
        )
    };
    (rc == 0).then_some(value)
}

/// The family, type and protocol of the socket `fd`, if it still is the socket `inode`.
#[must_use]
pub fn socket_kind(fd: RawFd, inode: u64) -> Option<SocketKind> {
    let (found, mode) = stat(fd)?;
    if found != inode || mode != libc::S_IFSOCK {
        return None;
    }
    Some(SocketKind {
        domain: int_option(fd, libc::SO_DOMAIN)?,
        kind: int_option(fd, libc::SO_TYPE)?,
        protocol: int_option(fd, libc::SO_PROTOCOL)?,
    })
}

/// Whether `fd` is a FIFO or a pipe (both are `S_IFIFO`; `/proc` names a pipe `pipe:[inode]` and a
/// FIFO by its path).
#[must_use]
pub fn is_fifo(fd: RawFd) -> bool {
    stat(fd).is_some_and(|(_, mode)| mode == libc::S_IFIFO)
}

/// Whether `fd` is a character device (`/dev/null`: lsof says `CHR`).
#[must_use]
pub fn is_char_device(fd: RawFd) -> bool {
    stat(fd).is_some_and(|(_, mode)| mode == libc::S_IFCHR)
}

impl SocketKind {
    /// The kind as the descriptor table shows it, after lsof's TYPE and NODE columns:
    /// `IPv4/TCP`, `IPv6/UDP`, `unix stream`, `unix dgram`, `unix seqpacket`, `netlink`, `packet`.
    #[must_use]
    pub fn label(self) -> String {
        let transport = match (self.kind, self.protocol) {
            (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => "TCP",
            (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => "UDP",
            (libc::SOCK_RAW, _) => "raw",
            (_, libc::IPPROTO_SCTP) => "SCTP",
            _ => "?",
        };
        match self.domain {
            libc::AF_INET => format!("IPv4/{transport}"),
            libc::AF_INET6 => format!("IPv6/{transport}"),
            libc::AF_UNIX => match self.kind {
                libc::SOCK_STREAM => "unix stream".to_owned(),
                libc::SOCK_DGRAM => "unix dgram".to_owned(),
                libc::SOCK_SEQPACKET => "unix seqpacket".to_owned(),
                _ => "unix".to_owned(),
            },
            libc::AF_NETLINK => "netlink".to_owned(),
            libc::AF_PACKET => "packet".to_owned(),
            other => format!("socket (family {other})"),
        }
    }
}
