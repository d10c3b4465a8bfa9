//! An `AF_PACKET` socket on one interface: the syscalls no safe crate wraps for it (binding to an
//! interface index, attaching a classic BPF program, `recvmsg` with the kernel's timestamp and the
//! packet type, `PACKET_STATISTICS`).
//!
//! Every `unsafe` block passes pointers to values that live on the calling function's stack (or to
//! a slice the caller lends), with their exact sizes, on a descriptor this struct owns. Decoding the
//! packets happens in safe code (`crate::net::decode`).
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// One classic BPF instruction, as `struct sock_filter` lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// What `recvmsg` said about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes copied into the buffer (at most the filter's snap length and the buffer's size).
    pub captured: usize,
    /// The packet's whole length (`MSG_TRUNC`).
    pub wire_len: usize,
    /// `sll_pkttype == PACKET_OUTGOING`: the copy of a packet this host sent. On `lo` every segment
    /// is seen twice, once leaving and once arriving.
    pub outgoing: bool,
    /// `sll_protocol`, the ethertype in host order (0x0800 IPv4, 0x86dd IPv6).
    pub ethertype: u16,
    /// When the kernel received the packet (`SCM_TIMESTAMPNS`, `CLOCK_REALTIME`), if it said.
    pub kernel_time: Option<Duration>,
}

/// `SOCK_DGRAM` packet socket: the kernel strips the link header, so packets start at the IP
/// header, which is also what the attached BPF program sees at offset 0.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The interface index of `name` (`if_nametoindex`), e.g. `lo`.
pub fn interface_index(name: &str) -> io::Result<u32> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `name` is a NUL-terminated string that lives across the call; the function only
    // reads it.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

impl PacketSocket {
    /// Opens a non-blocking packet socket on interface `ifindex`, with `program` attached before any
    /// packet can arrive: the socket is created with protocol 0 (it receives nothing), the filter is
    /// attached, and only then `bind` sets the protocol to `ETH_P_ALL` and the interface.
    /// Needs `CAP_NET_RAW` in the user namespace that owns the network namespace.
    pub fn open(ifindex: u32, program: &[BpfInstruction]) -> io::Result<Self> {
        // SAFETY: plain syscall with integer arguments; the returned descriptor is checked and
        // owned right away.
        let raw = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        // SAFETY: `raw` is a descriptor the kernel just gave us and nothing else owns.
        let socket = Self {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        };
        socket.attach_filter(program)?;
        socket.set_int(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        // SAFETY: `sockaddr_ll` is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as libc::c_ushort;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = ifindex as libc::c_int;
        // SAFETY: `addr` lives on this stack frame and we pass its exact size; the kernel reads it.
        check(unsafe {
            libc::bind(
                socket.fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(socket)
    }

    #[must_use]
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Replaces the socket's filter (`SO_ATTACH_FILTER` swaps it atomically).
    pub fn attach_filter(&self, program: &[BpfInstruction]) -> io::Result<()> {
        let mut filters: Vec<libc::sock_filter> = program
            .iter()
            .map(|insn| libc::sock_filter {
                code: insn.code,
                jt: insn.jt,
                jf: insn.jf,
                k: insn.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: u16::try_from(filters.len())
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
            filter: filters.as_mut_ptr(),
        };
        // SAFETY: `fprog` points at `filters`, which outlives the call, with its exact length; the
        // kernel copies the program during the call.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&raw const fprog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: `value` is a live `c_int` on this stack frame and we pass its exact size.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    /// Receives one packet into `buf` without blocking (`WouldBlock` when none is queued).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        // SAFETY: all-zero is a valid `sockaddr_ll`.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        // Room for one `SCM_TIMESTAMPNS` control message (a `timespec`), u64-aligned.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: all-zero is a valid `msghdr`; the pointers are set below.
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&raw mut addr).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>();
        // SAFETY: `msg` points at `addr`, `iov` (which points at `buf`) and `control`, all alive for
        // the call and described with their exact sizes; the kernel writes at most those sizes.
        let len = unsafe {
            libc::recvmsg(
                self.fd.as_raw_fd(),
                &raw mut msg,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        let wire_len = len as usize;
        Ok(Received {
            captured: wire_len.min(buf.len()),
            wire_len,
            outgoing: addr.sll_pkttype == libc::PACKET_OUTGOING,
            ethertype: u16::from_be(addr.sll_protocol),
            kernel_time: timestamp(&msg),
        })
    }

    /// `PACKET_STATISTICS`: packets the filter accepted and packets the kernel dropped because the
    /// receive buffer was full, since the last call (the kernel resets them on every read).
    pub fn statistics(&self) -> io::Result<(u32, u32)> {
        let mut stats = MaybeUninit::<libc::tpacket_stats>::zeroed();
        let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: `stats` is a writable `tpacket_stats` on this stack frame and `len` its size; the
        // kernel writes at most `len` bytes.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                stats.as_mut_ptr().cast(),
                &raw mut len,
            )
        })?;
        // SAFETY: zero-initialised plain data, possibly overwritten by the kernel: always valid.
        let stats = unsafe { stats.assume_init() };
        Ok((stats.tp_packets, stats.tp_drops))
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The `SCM_TIMESTAMPNS` control message of a received packet, if present.
fn timestamp(msg: &libc::msghdr) -> Option<Duration> {
    // SAFETY: `msg` was filled by `recvmsg`; CMSG_FIRSTHDR/CMSG_NXTHDR only walk inside
    // `msg_control` as bounded by `msg_controllen`, and CMSG_DATA points inside the current header,
    // whose length the kernel checked holds a `timespec` for this type (read unaligned to be safe).
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let time = libc::CMSG_DATA(cmsg)
                    .cast::<libc::timespec>()
                    .read_unaligned();
                return Some(Duration::new(time.tv_sec as u64, time.tv_nsec as u32));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}
