//! The only module that calls into libc directly: three socket syscalls the safe crates do not wrap,
//! and `fcntl(F_GETFD)` on a bare descriptor number.
//!
//! Every socket `unsafe` block here passes a pointer to a buffer that lives on this function's stack,
//! with its exact length, to a syscall on a descriptor the caller lends us (`BorrowedFd`, so it stays
//! open for the duration of the call). Decoding happens in safe code.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The fields of the kernel's `struct tcp_info` (`include/uapi/linux/tcp.h`) that sockscope shows.
///
/// For a listening socket the kernel reuses two fields: `unacked` is the accept-queue length
/// (`sk_ack_backlog`) and `sacked` is its limit (`sk_max_ack_backlog`, i.e. `min(backlog, somaxconn)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// `tcpi_state`, the kernel's state number (see `TcpState::from_kernel`).
    pub state: u8,
    /// `tcpi_unacked`: segments in flight, or the accept-queue length of a listener.
    pub unacked: u32,
    /// `tcpi_sacked`: selectively acknowledged segments, or the accept-queue limit of a listener.
    pub sacked: u32,
    /// `tcpi_retransmits`: consecutive retransmissions of the current segment.
    pub retransmits: u8,
    /// `tcpi_total_retrans`: segments retransmitted over the socket's life.
    pub total_retrans: u32,
    /// `tcpi_rtt`: smoothed round-trip time, in microseconds.
    pub rtt_us: u32,
    /// `tcpi_bytes_acked` (Linux 4.1+; 0 on older kernels).
    pub bytes_acked: u64,
    /// `tcpi_bytes_received` (Linux 4.1+; 0 on older kernels).
    pub bytes_received: u64,
    /// `tcpi_segs_out` (Linux 4.2+; 0 on older kernels).
    pub segs_out: u32,
    /// `tcpi_segs_in` (Linux 4.2+; 0 on older kernels).
    pub segs_in: u32,
}

// Byte offsets in `struct tcp_info`: eight `__u8` fields, then `__u32` fields from offset 8, then the
// `__u64` pacing and byte counters from offset 104.
const OFF_STATE: usize = 0;
const OFF_RETRANSMITS: usize = 2;
const OFF_UNACKED: usize = 24;
const OFF_SACKED: usize = 28;
const OFF_RTT: usize = 68;
const OFF_TOTAL_RETRANS: usize = 100;
const OFF_BYTES_ACKED: usize = 120;
const OFF_BYTES_RECEIVED: usize = 128;
const OFF_SEGS_OUT: usize = 136;
const OFF_SEGS_IN: usize = 140;

/// Room for the whole structure of current kernels (about 280 bytes on 6.x); the kernel copies
/// `min(our length, its length)` bytes, so a newer kernel never overruns this.
const TCP_INFO_CAPACITY: usize = 512;

impl TcpInfo {
    /// Decodes the bytes `getsockopt(TCP_INFO)` returned. Fields beyond the end of `bytes` (an older
    /// kernel returns a shorter structure) read as zero.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            state: u8_at(bytes, OFF_STATE),
            unacked: u32_at(bytes, OFF_UNACKED),
            sacked: u32_at(bytes, OFF_SACKED),
            retransmits: u8_at(bytes, OFF_RETRANSMITS),
            total_retrans: u32_at(bytes, OFF_TOTAL_RETRANS),
            rtt_us: u32_at(bytes, OFF_RTT),
            bytes_acked: u64_at(bytes, OFF_BYTES_ACKED),
            bytes_received: u64_at(bytes, OFF_BYTES_RECEIVED),
            segs_out: u32_at(bytes, OFF_SEGS_OUT),
            segs_in: u32_at(bytes, OFF_SEGS_IN),
        }
    }
}

fn u8_at(bytes: &[u8], at: usize) -> u8 {
    bytes.get(at).copied().unwrap_or(0)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`.
pub fn tcp_info(fd: BorrowedFd<'_>) -> io::Result<TcpInfo> {
    let mut buf = [0u8; TCP_INFO_CAPACITY];
    let len = getsockopt_bytes(fd, libc::IPPROTO_TCP, libc::TCP_INFO, &mut buf)?;
    Ok(TcpInfo::from_bytes(&buf[..len]))
}

/// `setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, seconds)`: the listener keeps a completed handshake
/// as a request (`SYN_RECV`) until the client sends data or the time runs out.
pub fn set_defer_accept(fd: BorrowedFd<'_>, seconds: u32) -> io::Result<()> {
    let value = libc::c_int::try_from(seconds).unwrap_or(libc::c_int::MAX);
    // SAFETY: `value` is a live `c_int` on this stack frame and we pass its exact size; the kernel
    // only reads it. `fd` is borrowed, so the descriptor stays open during the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bytes queued on the socket: `(SIOCINQ, SIOCOUTQ)`, i.e. unread received bytes and sent bytes not
/// yet acknowledged by the peer. Fails with `EINVAL` on a listening socket.
pub fn queued_bytes(fd: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    // SIOCINQ is FIONREAD and SIOCOUTQ is TIOCOUTQ on Linux (`include/uapi/linux/sockios.h`).
    let inq = ioctl_int(fd, libc::FIONREAD)?;
    let outq = ioctl_int(fd, libc::TIOCOUTQ)?;
    Ok((inq, outq))
}

fn getsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len()).unwrap_or(libc::socklen_t::MAX);
    // SAFETY: `buf` is a valid, writable byte buffer of at least `len` bytes, and `len` is a live
    // `socklen_t`; the kernel writes at most `len` bytes and stores the length it wrote back into
    // `len`. `fd` is borrowed, so the descriptor stays open during the call.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &raw mut len,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((len as usize).min(buf.len()))
}

fn ioctl_int(fd: BorrowedFd<'_>, request: libc::Ioctl) -> io::Result<u32> {
    let mut value: libc::c_int = 0;
    // SAFETY: both requests write one `c_int` through the pointer, which points at `value` on this
    // stack frame. `fd` is borrowed, so the descriptor stays open during the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, &raw mut value) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(u32::try_from(value).unwrap_or(0))
}

/// Whether descriptor number `fd` is open in this process, asked without opening anything (how
/// the descriptor table is read once every descriptor is in use).
#[must_use]
pub fn is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no argument and no pointer; it only reads the close-on-exec flag of
    // whatever `fd` is. A number that is not open gives EBADF; nothing is borrowed, changed or
    // closed, so no Rust object's descriptor is affected.
    let rc = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    rc != -1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_open_tells_open_descriptors_from_free_numbers() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null opens");
        let fd = file.as_raw_fd();
        assert!(is_open(fd));
        drop(file);
        assert!(!is_open(fd), "closed again");
        assert!(!is_open(-1));
    }

    #[test]
    fn short_tcp_info_reads_missing_fields_as_zero() {
        let mut bytes = vec![0u8; 104];
        bytes[OFF_STATE] = 10;
        bytes[OFF_UNACKED..OFF_UNACKED + 4].copy_from_slice(&3u32.to_ne_bytes());
        bytes[OFF_SACKED..OFF_SACKED + 4].copy_from_slice(&2u32.to_ne_bytes());
        let info = TcpInfo::from_bytes(&bytes);
        assert_eq!(info.state, 10);
        assert_eq!(info.unacked, 3);
        assert_eq!(info.sacked, 2);
        assert_eq!(info.bytes_acked, 0);
        assert_eq!(info.segs_in, 0);
        assert_eq!(TcpInfo::from_bytes(&[]), TcpInfo::default());
        // A field cut in half by the kernel's length is not half-read.
        assert_eq!(TcpInfo::from_bytes(&bytes[..26]).unacked, 0);
    }
}
