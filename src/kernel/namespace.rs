//! The two namespace syscalls sockscope makes that are not safe to wrap in general (`unshare`) or
//! that no crate wraps (`SIOCSIFFLAGS` to bring `lo` up). Everything else about namespaces
//! (`setns`, the id maps) is safe code in `crate::net::private` and `crate::net::exec`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::mem::zeroed;
use std::os::fd::AsRawFd;

use rustix::thread::UnshareFlags;

/// Which new namespaces to enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unshare {
    /// A new network namespace (needs `CAP_SYS_ADMIN`: root).
    Net,
    /// A new user namespace and, owned by it, a new network namespace (any user, where allowed).
    UserAndNet,
}

/// `unshare(CLONE_NEWNET)` or `unshare(CLONE_NEWUSER | CLONE_NEWNET)` for the calling process.
/// Fails with `EINVAL` for a user namespace when the process has more than one thread.
pub fn unshare(which: Unshare) -> io::Result<()> {
    let flags = match which {
        Unshare::Net => UnshareFlags::NEWNET,
        Unshare::UserAndNet => UnshareFlags::NEWUSER | UnshareFlags::NEWNET,
    };
    // SAFETY: `unshare_unsafe` is unsafe only because `CLONE_FILES` could leave other threads with
    // descriptors this thread no longer shares. We pass only NEWUSER and NEWNET, which change no
    // descriptor table.
    unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(io::Error::from)
}

/// Sets `IFF_UP` on the interface `name` of the current network namespace (as `ip link set lo up`),
/// with `SIOCGIFFLAGS`/`SIOCSIFFLAGS` on a throw-away UDP socket. Needs `CAP_NET_ADMIN` there.
pub fn set_interface_up(name: &CStr) -> io::Result<()> {
    // Any datagram socket serves for the interface ioctls; it is never bound.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    // SAFETY: all-zero is a valid `ifreq`.
    let mut request: libc::ifreq = unsafe { zeroed() };
    let bytes = name.to_bytes_with_nul();
    if bytes.len() > request.ifr_name.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: both requests read and write one `ifreq`, which lives on this stack frame; the
    // socket stays open across the calls.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) == -1 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut request) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
