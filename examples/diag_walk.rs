//! The floor `sockscope dump --no-owners` is measured against (`scripts/bench_dump.sh`): a bare
//! `NETLINK_SOCK_DIAG` walk of the same sockets, with nothing of sockscope in it.
//!
//! ```text
//! diag_walk
//! ```
//!
//! Sends the same four dump requests `dump` sends (TCP and UDP, IPv4 and IPv6, every state), reads
//! every batch into one reused 64 KiB buffer and only counts the messages: no decoding into
//! structs, no owners, no output but the count. What it costs is what the kernel costs (building
//! the messages and copying them out), so "within 2x of this" is a statement about everything
//! sockscope adds on top. An example rather than a subcommand: it is a measuring stick for the
//! script, not something a user runs, and it shares no code with the thing it measures.

use std::io;
use std::process::ExitCode;

use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_DONE: u16 = 3;
const NLMSG_ERROR: u16 = 2;
/// `nlmsghdr` (16 bytes) + `struct inet_diag_req_v2` (56 bytes).
const REQUEST_LEN: usize = 16 + 56;

fn main() -> ExitCode {
    match walk() {
        Ok(count) => {
            println!("{count}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("diag_walk: {err}");
            ExitCode::FAILURE
        }
    }
}

fn walk() -> io::Result<usize> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&netlink_sys::SocketAddr::new(0, 0))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut count = 0;
    let mut seq = 0;
    for protocol in [libc::IPPROTO_TCP as u8, libc::IPPROTO_UDP as u8] {
        for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
            seq += 1;
            socket.send(&request(family, protocol, seq), 0)?;
            count += read_until_done(&socket, &mut buf)?;
        }
    }
    Ok(count)
}

fn request(family: u8, protocol: u8, seq: u32) -> [u8; REQUEST_LEN] {
    let mut bytes = [0u8; REQUEST_LEN];
    bytes[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    bytes[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    bytes[6..8].copy_from_slice(&flags.to_ne_bytes());
    bytes[8..12].copy_from_slice(&seq.to_ne_bytes());
    bytes[16] = family;
    bytes[17] = protocol;
    // Every state (TCP_ESTABLISHED .. TCP_NEW_SYN_RECV); the socket id stays zero: match all.
    bytes[20..24].copy_from_slice(&0x1ffe_u32.to_ne_bytes());
    bytes
}

/// Counts the `SOCK_DIAG_BY_FAMILY` messages of one dump.
fn read_until_done(socket: &Socket, buf: &mut [u8]) -> io::Result<usize> {
    let mut count = 0;
    loop {
        let n = socket.recv(&mut &mut buf[..], 0)?;
        let mut offset = 0;
        while offset + 16 <= n {
            let length = u32::from_ne_bytes(buf[offset..offset + 4].try_into().expect("4 bytes"));
            let kind = u16::from_ne_bytes(buf[offset + 4..offset + 6].try_into().expect("2 bytes"));
            match kind {
                SOCK_DIAG_BY_FAMILY => count += 1,
                NLMSG_DONE => return Ok(count),
                NLMSG_ERROR => return Err(io::Error::other("NLMSG_ERROR")),
                _ => {}
            }
            offset += (length as usize).next_multiple_of(4).max(16);
        }
    }
}
