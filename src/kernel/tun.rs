//! A TUN device for the wire (`--net wire`): the three ioctls no crate sockscope already uses
//! wraps — `TUNSETIFF` (make the device), `TUNSETOFFLOAD` (no offloads: every packet carries full
//! checksums and no segment is bigger than the MTU), and `SIOCSIFADDR`/`SIOCSIFNETMASK` (its IPv4
//! address). Bringing it up is `namespace::set_interface_up`.
//!
//! Why not the `tun` crate: it brings an async stack and its own device abstraction for a job that
//! is one `open` and four ioctls, and the device must be made inside a namespace of sockscope's
//! own, on the calling thread, which the ioctls make explicit.
//!
//! The device lives in the network namespace of the thread that opened `/dev/net/tun` (the file's
//! socket is made there), and stays usable through its descriptor from any namespace. It is not
//! persistent: it vanishes when the last descriptor closes.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::mem::zeroed;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// Where the TUN clone device is.
pub const CLONE_DEVICE: &str = "/dev/net/tun";

fn request_for(name: &CStr) -> io::Result<libc::ifreq> {
    // SAFETY: all-zero is a valid `ifreq`.
    let mut request: libc::ifreq = unsafe { zeroed() };
    let bytes = name.to_bytes_with_nul();
    if bytes.len() > request.ifr_name.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    Ok(request)
}

/// Opens the clone device (non-blocking), without making a device: whether this user may.
pub fn open_clone_device() -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(CLONE_DEVICE)
}

/// Makes the TUN device `name` (`IFF_TUN | IFF_NO_PI`: bare IP packets, no header) in the calling
/// thread's network namespace and returns its non-blocking descriptor.
pub fn create(name: &CStr) -> io::Result<File> {
    let file = open_clone_device()?;
    let mut request = request_for(name)?;
    request.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads (and writes back the name into) one `ifreq` on this stack frame; the
    // descriptor is open for the whole call.
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &raw mut request) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: TUNSETOFFLOAD takes its argument by value (a flag word, 0: no offload at all).
    if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETOFFLOAD, 0 as libc::c_ulong) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

fn sockaddr_in(address: Ipv4Addr) -> libc::sockaddr {
    let inet = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(address).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sockaddr_in` and `sockaddr` have the same size (16 bytes) on Linux, and the kernel
    // reads an `AF_INET` address in the `sockaddr` slot of an `ifreq` as a `sockaddr_in`.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(inet) }
}

/// Gives the interface `name` of the calling thread's network namespace the IPv4 address
/// `address/prefix` (the kernel adds the connected route for the prefix). Needs `CAP_NET_ADMIN`.
pub fn set_ipv4(name: &CStr, address: Ipv4Addr, prefix: u8) -> io::Result<()> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    for (call, value) in [
        (libc::SIOCSIFADDR, address),
        (libc::SIOCSIFNETMASK, Ipv4Addr::from(mask)),
    ] {
        let mut request = request_for(name)?;
        request.ifr_ifru.ifru_addr = sockaddr_in(value);
        // SAFETY: both requests read one `ifreq` on this stack frame; the socket stays open.
        if unsafe { libc::ioctl(socket.as_raw_fd(), call, &raw mut request) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
