//! `NETLINK_SOCK_DIAG` dumps: every TCP or UDP socket of one address family, as the kernel holds them.
//!
//! This is how sockscope sees what no descriptor points at: connections waiting in a listener's accept
//! queue (full sockets with inode 0), half-open requests (`SYN_RECV`), `TIME_WAIT` and orphaned
//! `FIN_WAIT2` sockets. It is the same interface `ss` uses.
//!
//! The request is built with `netlink-packet-sock-diag`'s buffer types and replies are decoded in place
//! from the fixed `struct inet_diag_msg` header (no per-socket allocation; attributes are not read).
//! One netlink socket and one receive buffer are reused for every dump.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use netlink_packet_core::{NETLINK_HEADER_LEN, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer};
use netlink_packet_sock_diag::SOCK_DIAG_BY_FAMILY;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    InetRequestBuffer, InetResponseBuffer, REQUEST_LEN, RESPONSE_LEN, SocketIdBuffer, StateFlags,
};
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;

use crate::kernel::sys::TcpInfo;
use crate::model::{Proto, TcpState};

/// `1 << TCP_NEW_SYN_RECV`: the state the kernel keeps request sockets in (a handshake in progress, or
/// completed but held by `TCP_DEFER_ACCEPT`). Dumps report those sockets as `SYN_RECV` (3), and a
/// request for `SYN_RECV` also sets this bit. `StateFlags` of `netlink-packet-sock-diag` 0.4 has no
/// name for it.
pub const NEW_SYN_RECV: u32 = 1 << 12;

/// Every state, including `NEW_SYN_RECV`.
pub const ALL_STATES: u32 = StateFlags::all().bits() | NEW_SYN_RECV;

/// Only listening sockets: the cheapest dump.
pub const LISTEN_ONLY: u32 = StateFlags::LISTEN.bits();

/// The bit of `states` that selects `state`. `Unconnected` (a UDP socket with no peer) is the kernel's
/// `TCP_CLOSE`; `SynRecv` also selects `NEW_SYN_RECV`, where the kernel keeps half-open requests.
#[must_use]
pub fn state_bit(state: TcpState) -> u32 {
    let code: u8 = match state {
        TcpState::Established => 1,
        TcpState::SynSent => 2,
        TcpState::SynRecv => return (1 << 3) | NEW_SYN_RECV,
        TcpState::FinWait1 => 4,
        TcpState::FinWait2 => 5,
        TcpState::TimeWait => 6,
        TcpState::Close | TcpState::Unconnected => 7,
        TcpState::CloseWait => 8,
        TcpState::LastAck => 9,
        TcpState::Listen => 10,
        TcpState::Closing => 11,
        TcpState::NewSynRecv => 12,
        TcpState::Unknown(code) => code,
    };
    1u32.checked_shl(u32::from(code)).unwrap_or(0)
}

/// One socket of a dump (`struct inet_diag_msg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiagSocket {
    pub proto: Proto,
    /// For UDP, the kernel's `TCP_CLOSE` is reported as [`TcpState::Unconnected`] (as `ss` does).
    pub state: TcpState,
    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, a dual-stack socket talking IPv4) are given as IPv4.
    pub local: SocketAddr,
    /// `0.0.0.0:0` / `[::]:0` when there is no peer (a listener, an unconnected UDP socket).
    pub remote: SocketAddr,
    /// A TCP listener: connections in its accept queue. Other TCP sockets: unread bytes. UDP: memory
    /// the receive queue uses (datagrams plus their buffer overhead: 832 for one 5-byte datagram).
    pub recv_q: u32,
    /// A TCP listener: its accept-queue limit. Other TCP sockets: bytes not yet acknowledged
    /// (including bytes not yet sent). UDP: memory the send queue uses.
    pub send_q: u32,
    /// 0 when no file refers to the socket: not yet accepted, `TIME_WAIT`, `SYN_RECV`, orphaned.
    pub inode: u64,
    pub uid: u32,
    /// Time left on the socket's active timer (retransmit, keepalive, `TIME_WAIT`, zero-window probe).
    pub timer_ms: Option<u64>,
}

/// A reusable `NETLINK_SOCK_DIAG` socket.
pub struct SockDiag {
    socket: Socket,
    buf: Vec<u8>,
    seq: u32,
    /// Set when a dump stopped part-way: the kernel may still hold the rest of it for this socket, so
    /// the next dump starts on a fresh socket.
    stale: bool,
}

/// Room for one batch of dump messages. Measured on 6.18: the first batch on a new socket is ~4 KiB,
/// later ones ~32 KiB (about 260 sockets) whatever the buffer size, so reusing the socket helps and a
/// bigger buffer would not.
const RECV_BUF: usize = 64 * 1024;

/// A dump that stalls this long is an error, not a hang.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);

impl SockDiag {
    /// The netlink socket's descriptor, so the fd table can say what it is.
    #[must_use]
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.socket)
    }

    pub fn new() -> io::Result<Self> {
        Ok(Self {
            socket: open_socket()?,
            buf: vec![0; RECV_BUF],
            seq: 0,
            stale: false,
        })
    }

    /// All sockets of `proto` in one address family (`v6`) whose state bit is in `states`.
    pub fn dump(&mut self, proto: Proto, v6: bool, states: u32) -> io::Result<Vec<DiagSocket>> {
        let mut out = Vec::new();
        self.dump_each(proto, v6, states, |socket| out.push(socket))?;
        Ok(out)
    }

    /// Like [`SockDiag::dump`], handing each socket to `f` as it is decoded; returns how many.
    pub fn dump_each(
        &mut self,
        proto: Proto,
        v6: bool,
        states: u32,
        mut f: impl FnMut(DiagSocket),
    ) -> io::Result<usize> {
        let mut count = 0usize;
        let request = request_bytes(proto, v6, states, self.next_seq());
        self.run(&request, |chunk, seq| {
            decode(chunk, Some(seq), proto, &mut |socket| {
                count += 1;
                f(socket);
            })
        })?;
        Ok(count)
    }

    /// The raw netlink bytes of one dump, every `recv` concatenated (a stream [`parse_dump`] reads).
    /// For fixtures and debugging.
    pub fn dump_raw(&mut self, proto: Proto, v6: bool, states: u32) -> io::Result<Vec<u8>> {
        let mut raw = Vec::new();
        let request = request_bytes(proto, v6, states, self.next_seq());
        self.run(&request, |chunk, seq| {
            raw.extend_from_slice(chunk);
            decode(chunk, Some(seq), proto, &mut |_| {})
        })?;
        Ok(raw)
    }

    /// Like [`SockDiag::dump_each`], asking the kernel for `INET_DIAG_INFO` too: each TCP socket comes
    /// with its `struct tcp_info` (what `ss -ti` shows), read from the reply's attributes (`None`
    /// where the kernel sent none: UDP, request and `TIME_WAIT` sockets).
    pub fn dump_each_with_info(
        &mut self,
        proto: Proto,
        v6: bool,
        states: u32,
        mut f: impl FnMut(DiagSocket, Option<TcpInfo>),
    ) -> io::Result<usize> {
        let mut count = 0usize;
        let mut request = request_bytes(proto, v6, states, self.next_seq());
        InetRequestBuffer::new(&mut request[NETLINK_HEADER_LEN..])
            .set_extensions(INET_DIAG_INFO_EXT);
        let result = self.run(&request, |chunk, seq| {
            // Two walks of one batch in the same order: `decode` for the sockets and the dump's
            // control messages, `tcp_infos` for the attributes (left out of `decode`, which the
            // plain dumps keep allocation-free).
            let mut infos = tcp_infos(chunk, seq).into_iter();
            decode(chunk, Some(seq), proto, &mut |socket| {
                count += 1;
                f(socket, infos.next().flatten());
            })
        });
        result.map(|()| count)
    }

    /// Like [`SockDiag::dump_each`], but only sockets whose local port is one of `ports`: the kernel
    /// runs the filter (an `INET_DIAG_REQ_BYTECODE` program, as `ss 'sport = :P'` sends) while it
    /// walks, so the answer costs the matching sockets, not every socket of the machine. At most
    /// [`MAX_FILTER_PORTS`] ports (more: the caller filters). No ports: nothing is asked, 0.
    pub fn dump_ports_each(
        &mut self,
        proto: Proto,
        v6: bool,
        states: u32,
        ports: &[u16],
        mut f: impl FnMut(DiagSocket),
    ) -> io::Result<usize> {
        if ports.is_empty() {
            return Ok(0);
        }
        if ports.len() > MAX_FILTER_PORTS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("sock_diag: at most {MAX_FILTER_PORTS} ports in one filter"),
            ));
        }
        let request = request_with_ports(request_bytes(proto, v6, states, self.next_seq()), ports);
        let mut count = 0usize;
        self.run(&request, |chunk, seq| {
            decode(chunk, Some(seq), proto, &mut |socket| {
                count += 1;
                f(socket);
            })
        })?;
        Ok(count)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends one dump request (sequence number `self.seq`) and feeds each received batch to
    /// `on_chunk` until it reports `NLMSG_DONE`.
    fn run(
        &mut self,
        request: &[u8],
        mut on_chunk: impl FnMut(&[u8], u32) -> io::Result<bool>,
    ) -> io::Result<()> {
        if self.stale {
            self.socket = open_socket()?;
            self.stale = false;
        }
        // Until DONE arrives, an early return leaves the rest of the dump queued on this socket.
        self.stale = true;
        retry_eintr(|| self.socket.send(request, 0))?;
        loop {
            let n = retry_eintr(|| self.socket.recv(&mut &mut self.buf[..], libc::MSG_TRUNC))?;
            if n > self.buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("sock_diag: a {n}-byte batch did not fit the receive buffer"),
                ));
            }
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if on_chunk(&self.buf[..n], self.seq)? {
                self.stale = false;
                return Ok(());
            }
        }
    }
}

fn open_socket() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&netlink_sys::SocketAddr::new(0, 0))?;
    socket2::SockRef::from(&socket).set_read_timeout(Some(RECV_TIMEOUT))?;
    Ok(socket)
}

fn retry_eintr<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

const REQUEST_TOTAL: usize = NETLINK_HEADER_LEN + REQUEST_LEN;

/// `nlmsghdr` + `struct inet_diag_req_v2` with an all-zero socket id (match everything).
fn request_bytes(proto: Proto, v6: bool, states: u32, seq: u32) -> [u8; REQUEST_TOTAL] {
    let mut bytes = [0u8; REQUEST_TOTAL];
    {
        let mut header = NetlinkBuffer::new(&mut bytes[..]);
        header.set_length(REQUEST_TOTAL as u32);
        header.set_message_type(SOCK_DIAG_BY_FAMILY);
        header.set_flags(NLM_F_REQUEST | NLM_F_DUMP);
        header.set_sequence_number(seq);
        header.set_port_number(0);
    }
    let mut request = InetRequestBuffer::new(&mut bytes[NETLINK_HEADER_LEN..]);
    request.set_family(if v6 { AF_INET6 } else { AF_INET });
    request.set_protocol(match proto {
        Proto::Tcp => IPPROTO_TCP,
        Proto::Udp => IPPROTO_UDP,
    });
    request.set_extensions(0);
    request.set_pad(0);
    // The kernel keeps half-open requests in NEW_SYN_RECV; asking for SYN_RECV should show them.
    let states = if states & (1 << 3) != 0 {
        states | NEW_SYN_RECV
    } else {
        states
    };
    request.set_states(states);
    bytes
}

/// The most ports one [`SockDiag::dump_ports_each`] filter holds (12 bytes of bytecode each).
pub const MAX_FILTER_PORTS: usize = 256;

/// `INET_DIAG_REQ_BYTECODE`, the request attribute holding a filter program.
const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// `INET_DIAG_BC_JMP`: always jumps by `no`.
const INET_DIAG_BC_JMP: u8 = 1;
/// `INET_DIAG_BC_S_EQ`: the local port equals the operand (the next op's `no` field).
const INET_DIAG_BC_S_EQ: u8 = 11;

/// `request` (its header length updated) followed by an `INET_DIAG_REQ_BYTECODE` attribute that
/// accepts a socket whose local port is one of `ports`.
///
/// An op is `struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }`: the kernel jumps `yes` bytes on
/// a match, `no` on a mismatch, and accepts when it lands exactly on the end (past it: rejects).
/// Per port: `S_EQ` (yes 8: on to the `JMP` after it; no 12: on to the next port) with the port in
/// a second op's `no`, then `JMP` to the end (a `u16` jump: `yes` is only a byte). The last port has
/// no `JMP`: a match lands on the end, a mismatch 4 bytes past it.
fn request_with_ports(request: [u8; REQUEST_TOTAL], ports: &[u16]) -> Vec<u8> {
    let program_len = ports.len() * 12 - 4;
    let attribute_len = 4 + program_len;
    let total = REQUEST_TOTAL + attribute_len;
    let mut bytes = Vec::with_capacity(total);
    bytes.extend_from_slice(&request);
    bytes[0..4].copy_from_slice(&(total as u32).to_ne_bytes());
    bytes.extend_from_slice(&(attribute_len as u16).to_ne_bytes());
    bytes.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    let op = |bytes: &mut Vec<u8>, code: u8, yes: u8, no: u16| {
        bytes.extend_from_slice(&[code, yes]);
        bytes.extend_from_slice(&no.to_ne_bytes());
    };
    for (index, &port) in ports.iter().enumerate() {
        op(&mut bytes, INET_DIAG_BC_S_EQ, 8, 12);
        op(&mut bytes, 0, 0, port);
        if index + 1 < ports.len() {
            let jump_at = index * 12 + 8;
            op(
                &mut bytes,
                INET_DIAG_BC_JMP,
                4,
                (program_len - jump_at) as u16,
            );
        }
    }
    debug_assert_eq!(bytes.len(), total);
    bytes
}

/// Decodes a stream of netlink messages from a `SOCK_DIAG_BY_FAMILY` dump of `proto` sockets (one or
/// more `recv` batches, concatenated), calling `f` for each socket. Returns whether `NLMSG_DONE` was
/// seen (nothing after it is read). An `NLMSG_ERROR` becomes the `io::Error` of its errno; malformed
/// bytes are `ErrorKind::InvalidData`.
///
/// `inet_diag_msg` does not say which protocol it describes; the request did, hence `proto`.
pub fn parse_dump(bytes: &[u8], proto: Proto, mut f: impl FnMut(DiagSocket)) -> io::Result<bool> {
    decode(bytes, None, proto, &mut f)
}

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("sock_diag: {what}"))
}

/// Walks the messages of `bytes`; with `seq`, messages of another sequence number (left over from an
/// earlier dump) are skipped.
fn decode(
    bytes: &[u8],
    seq: Option<u32>,
    proto: Proto,
    f: &mut dyn FnMut(DiagSocket),
) -> io::Result<bool> {
    let mut offset = 0;
    while offset < bytes.len() {
        let message = NetlinkBuffer::new_checked(&bytes[offset..]).map_err(invalid)?;
        let length = message.length() as usize;
        if seq.is_none_or(|seq| seq == message.sequence_number()) {
            let payload = &bytes[offset + NETLINK_HEADER_LEN..offset + length];
            match i32::from(message.message_type()) {
                libc::NLMSG_NOOP => {}
                libc::NLMSG_ERROR => {
                    let code = leading_i32(payload)
                        .ok_or_else(|| invalid("NLMSG_ERROR without an error code"))?;
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                    }
                }
                libc::NLMSG_DONE => {
                    // A dump that failed part-way ends with DONE carrying a negative errno.
                    if let Some(code) = leading_i32(payload).filter(|code| *code < 0) {
                        return Err(io::Error::from_raw_os_error(code.saturating_neg()));
                    }
                    return Ok(true);
                }
                libc::NLMSG_OVERRUN => return Err(invalid("NLMSG_OVERRUN: data lost")),
                _ if message.message_type() == SOCK_DIAG_BY_FAMILY => f(socket(payload, proto)?),
                _ => {}
            }
        }
        // Messages are padded to 4 bytes (NLMSG_ALIGN); the last one may lack its padding.
        offset = offset.saturating_add(length.next_multiple_of(4));
    }
    Ok(false)
}

fn leading_i32(payload: &[u8]) -> Option<i32> {
    payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_ne_bytes)
}

/// Decodes one `struct inet_diag_msg` (attributes after it are ignored).
fn socket(payload: &[u8], proto: Proto) -> io::Result<DiagSocket> {
    if payload.len() < RESPONSE_LEN {
        return Err(invalid(format_args!(
            "inet_diag_msg of {} bytes, expected {RESPONSE_LEN}",
            payload.len()
        )));
    }
    let msg = InetResponseBuffer::new(payload);
    let id = SocketIdBuffer::new(msg.socket_id());
    let family = msg.family();
    let local = address(
        family,
        id.source_address(),
        id.source_port(),
        id.interface_id(),
    )?;
    let remote = address(
        family,
        id.destination_address(),
        id.destination_port(),
        id.interface_id(),
    )?;
    let state = match (proto, msg.state()) {
        (Proto::Udp, 7) => TcpState::Unconnected,
        (_, code) => TcpState::from_kernel(code),
    };
    let timer_ms = (msg.timer() != 0).then(|| u64::from(msg.expires()));
    Ok(DiagSocket {
        proto,
        state,
        local,
        remote,
        recv_q: msg.recv_queue(),
        send_q: msg.send_queue(),
        inode: u64::from(msg.inode()),
        uid: msg.uid(),
        timer_ms,
    })
}

/// `INET_DIAG_INFO` (`include/uapi/linux/inet_diag.h`): the attribute holding `struct tcp_info`.
pub const INET_DIAG_INFO: u16 = 2;

/// The `idiag_ext` bit that asks for [`INET_DIAG_INFO`] (`1 << (INET_DIAG_INFO - 1)`).
pub const INET_DIAG_INFO_EXT: u8 = 1 << (INET_DIAG_INFO - 1);

/// The `INET_DIAG_INFO` attribute of each socket message of `bytes` (of sequence `seq`), in order.
fn tcp_infos(bytes: &[u8], seq: u32) -> Vec<Option<TcpInfo>> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let Ok(message) = NetlinkBuffer::new_checked(&bytes[offset..]) else {
            break;
        };
        let length = message.length() as usize;
        if message.sequence_number() == seq && message.message_type() == SOCK_DIAG_BY_FAMILY {
            let payload = &bytes[offset + NETLINK_HEADER_LEN..offset + length];
            out.push(info_attribute(
                payload.get(RESPONSE_LEN..).unwrap_or_default(),
            ));
        }
        offset = offset.saturating_add(length.next_multiple_of(4));
    }
    out
}

/// Walks the `struct rtattr`s after an `inet_diag_msg` for `INET_DIAG_INFO`.
fn info_attribute(mut attributes: &[u8]) -> Option<TcpInfo> {
    while attributes.len() >= 4 {
        let length = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]);
        if length < 4 || length > attributes.len() {
            return None;
        }
        if kind == INET_DIAG_INFO {
            return Some(TcpInfo::from_bytes(&attributes[4..length]));
        }
        attributes = attributes
            .get(length.next_multiple_of(4)..)
            .unwrap_or_default();
    }
    None
}

/// `idiag_src`/`idiag_dst` (16 bytes, IPv4 in the first 4) and a big-endian port.
fn address(family: u8, addr: &[u8], port: &[u8], interface: u32) -> io::Result<SocketAddr> {
    let port = u16::from_be_bytes([port[0], port[1]]);
    match family {
        AF_INET => Ok(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])),
            port,
        )),
        AF_INET6 => {
            let octets: [u8; 16] = addr.try_into().map_err(invalid)?;
            let ip = Ipv6Addr::from(octets);
            if let Some(v4) = ip.to_ipv4_mapped() {
                return Ok(SocketAddr::new(IpAddr::V4(v4), port));
            }
            // The interface index is the scope of a link-local address only.
            let scope = if ip.is_unicast_link_local() {
                interface
            } else {
                0
            };
            Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)))
        }
        other => Err(invalid(format_args!("unexpected address family {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let length = NETLINK_HEADER_LEN + payload.len();
        let mut bytes = vec![0u8; length.next_multiple_of(4)];
        {
            let mut header = NetlinkBuffer::new(&mut bytes[..]);
            header.set_length(length as u32);
            header.set_message_type(kind);
            header.set_flags(flags);
            header.set_sequence_number(seq);
        }
        bytes[NETLINK_HEADER_LEN..length].copy_from_slice(payload);
        bytes
    }

    fn v6_mapped_established() -> Vec<u8> {
        let mut payload = vec![0u8; RESPONSE_LEN + 8];
        {
            let mut msg = InetResponseBuffer::new(&mut payload[..]);
            msg.set_family(AF_INET6);
            msg.set_state(1);
            msg.set_recv_queue(5);
            msg.set_inode(77);
            msg.set_uid(1000);
            let mut id = SocketIdBuffer::new(msg.socket_id_mut());
            id.source_port_mut().copy_from_slice(&8080u16.to_be_bytes());
            id.destination_port_mut()
                .copy_from_slice(&40000u16.to_be_bytes());
            let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets();
            id.source_address_mut().copy_from_slice(&mapped);
            id.destination_address_mut().copy_from_slice(&mapped);
        }
        payload
    }

    #[test]
    fn mapped_addresses_become_ipv4_and_done_ends_the_stream() {
        let mut bytes = message(SOCK_DIAG_BY_FAMILY, 2, 9, &v6_mapped_established());
        bytes.extend(message(libc::NLMSG_DONE as u16, 2, 9, &0i32.to_ne_bytes()));
        bytes.extend(message(SOCK_DIAG_BY_FAMILY, 2, 9, &[0; 3]));
        let mut seen = Vec::new();
        assert!(parse_dump(&bytes, Proto::Tcp, |s| seen.push(s)).unwrap());
        assert_eq!(seen.len(), 1);
        let s = seen[0];
        assert_eq!(s.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(s.remote, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(s.state, TcpState::Established);
        assert_eq!((s.recv_q, s.inode, s.uid, s.timer_ms), (5, 77, 1000, None));
    }

    #[test]
    fn error_messages_carry_their_errno() {
        let mut payload = (-libc::EBUSY).to_ne_bytes().to_vec();
        payload.extend([0; NETLINK_HEADER_LEN]);
        let bytes = message(libc::NLMSG_ERROR as u16, 0, 1, &payload);
        let err = parse_dump(&bytes, Proto::Tcp, |_| {}).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBUSY));

        let done = message(
            libc::NLMSG_DONE as u16,
            2,
            1,
            &(-libc::ENOBUFS).to_ne_bytes(),
        );
        let err = parse_dump(&done, Proto::Tcp, |_| {}).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOBUFS));
    }

    #[test]
    fn other_sequences_are_skipped_and_truncation_is_an_error() {
        let mut bytes = message(SOCK_DIAG_BY_FAMILY, 2, 1, &v6_mapped_established());
        bytes.extend(message(libc::NLMSG_DONE as u16, 2, 1, &0i32.to_ne_bytes()));
        let mut count = 0;
        assert!(!decode(&bytes, Some(2), Proto::Tcp, &mut |_| count += 1).unwrap());
        assert_eq!(count, 0);

        let cut = &bytes[..40];
        let err = parse_dump(cut, Proto::Tcp, |_| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let short = message(SOCK_DIAG_BY_FAMILY, 2, 1, &[0; 20]);
        assert!(parse_dump(&short, Proto::Tcp, |_| {}).is_err());
    }

    #[test]
    fn the_kernel_filters_by_local_port() {
        use std::net::{TcpListener, TcpStream};
        let listeners: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|listener| listener.local_addr().expect("address").port())
            .collect();
        let _client =
            TcpStream::connect(listeners[2].local_addr().expect("address")).expect("connect");
        let mut diag = SockDiag::new().expect("sock_diag");
        let mut found = Vec::new();
        let count = diag
            .dump_ports_each(Proto::Tcp, false, ALL_STATES, &ports[1..], |socket| {
                found.push((socket.local.port(), socket.state));
            })
            .expect("filtered dump");
        // Listener 1, listener 2 and the connection waiting in 2's accept queue; never listener 0
        // (and not the client end, whose local port is an ephemeral one).
        assert_eq!(count, 3, "{found:?}");
        assert_eq!(found.len(), 3);
        assert!(found.contains(&(ports[1], TcpState::Listen)), "{found:?}");
        assert!(found.contains(&(ports[2], TcpState::Listen)), "{found:?}");
        assert!(
            found.contains(&(ports[2], TcpState::Established)),
            "{found:?}"
        );
        let one = diag
            .dump_ports_each(Proto::Tcp, false, LISTEN_ONLY, &ports[..1], |socket| {
                assert_eq!(socket.local.port(), ports[0]);
            })
            .expect("one port");
        assert_eq!(one, 1);
        assert_eq!(
            diag.dump_ports_each(Proto::Tcp, false, ALL_STATES, &[], |_| {})
                .unwrap(),
            0
        );
    }

    #[test]
    fn udp_close_is_unconnected_and_state_bits() {
        let mut payload = v6_mapped_established();
        payload[1] = 7;
        let bytes = message(SOCK_DIAG_BY_FAMILY, 2, 1, &payload);
        let mut states = Vec::new();
        assert!(!parse_dump(&bytes, Proto::Udp, |s| states.push(s.state)).unwrap());
        assert!(!parse_dump(&bytes, Proto::Tcp, |s| states.push(s.state)).unwrap());
        assert_eq!(states, [TcpState::Unconnected, TcpState::Close]);

        assert_eq!(state_bit(TcpState::Listen), 1 << 10);
        assert_eq!(state_bit(TcpState::SynRecv), (1 << 3) | (1 << 12));
        assert_eq!(ALL_STATES, 0x1ffe);
        assert_eq!(state_bit(TcpState::Unknown(40)), 0);
    }
}
