//! Decoding one syscall in strace form, in two halves: what is known when it starts (the
//! arguments, the addresses and bytes given to `connect`, `bind`, `sendto`, `write`), and what is
//! known when it returns (the addresses `accept`, `recvfrom`, `getsockname` filled in — their
//! `addrlen` is value-result — the bytes received, `poll`'s `revents`).

use super::memory::Memory;
use super::names;
use super::sockaddr;
use super::syscalls::Call;
use crate::escape;

/// How many bytes of a buffer are shown (strace's default `-s 32`).
const SHOWN_BYTES: usize = escape::STRACE_LIMIT;

/// The most array elements shown (pollfds, epoll events); more are written as `...`.
const SHOWN_ELEMENTS: usize = 16;

/// A syscall seen at its start, waiting for its return.
#[derive(Debug, Clone)]
pub struct Pending {
    pub call: Call,
    pub args: [u64; 6],
    /// The descriptor it acts on.
    pub fd: Option<i32>,
    /// The arguments as known at the start; `None` where only the return tells.
    shown: Vec<Option<String>>,
}

/// A syscall that returned, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub args: Vec<String>,
    pub result: String,
    pub errno: Option<String>,
    pub failed: bool,
}

impl Decoded {
    /// `listen(3, 3)`.
    #[must_use]
    pub fn call_text(&self, name: &str) -> String {
        format!("{name}({})", self.args.join(", "))
    }
}

fn int(value: u64) -> String {
    (value as i32).to_string()
}

fn fd_of(value: u64) -> i32 {
    value as i32
}

/// Bytes at `address` as strace shows a buffer of `len` bytes: the first 32, escaped.
fn data(memory: &dyn Memory, address: u64, len: u64) -> String {
    if len == 0 {
        return "\"\"".to_owned();
    }
    let wanted = (len as usize).min(SHOWN_BYTES);
    match memory.read(address, wanted) {
        Some(bytes) => {
            let mut shown = escape::strace_bytes(&bytes, SHOWN_BYTES);
            if len as usize > bytes.len() && !shown.ends_with("...") {
                shown.push_str("...");
            }
            shown
        }
        None => format!("{address:#x}"),
    }
}

/// The sockaddr at `address` with `len` bytes; `NULL` for a null pointer.
fn address_at(memory: &dyn Memory, address: u64, len: u64) -> String {
    if address == 0 {
        return "NULL".to_owned();
    }
    let len = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    match memory.read(address, len) {
        Some(bytes) => sockaddr::format(&bytes),
        None => format!("{address:#x}"),
    }
}

/// A sockaddr filled in by the kernel: its length is read from `len_pointer` (value-result).
fn returned_address(memory: &dyn Memory, address: u64, len_pointer: u64) -> String {
    if address == 0 {
        return "NULL".to_owned();
    }
    match memory.read_u32(len_pointer) {
        Some(len) => address_at(memory, address, u64::from(len)),
        None => format!("{address:#x}"),
    }
}

fn timeout_pointer(address: u64) -> String {
    if address == 0 {
        "NULL".to_owned()
    } else {
        "{...}".to_owned()
    }
}

/// A `struct sockopt` value: an `int` as `[1]`, anything else by its size.
fn option_value(memory: &dyn Memory, address: u64, len: u64) -> String {
    if address == 0 {
        return "NULL".to_owned();
    }
    if len == 4
        && let Some(value) = memory.read_u32(address)
    {
        return format!("[{}]", value as i32);
    }
    format!("<{len} bytes>")
}

/// `[{fd=3, events=POLLIN}]` or, after the call, the entries with `revents`.
fn pollfds(memory: &dyn Memory, address: u64, count: u64, returned: bool) -> String {
    let shown = (count as usize).min(SHOWN_ELEMENTS);
    let Some(bytes) = memory.read(address, shown * 8) else {
        return format!("{address:#x}");
    };
    let mut items = Vec::new();
    for entry in bytes.chunks_exact(8) {
        let fd = i32::from_ne_bytes(entry[..4].try_into().unwrap_or_default());
        let events = u16::from_ne_bytes([entry[4], entry[5]]);
        let revents = u16::from_ne_bytes([entry[6], entry[7]]);
        if returned {
            if revents != 0 {
                items.push(format!(
                    "{{fd={fd}, revents={}}}",
                    names::poll_events(u64::from(revents))
                ));
            }
        } else {
            items.push(format!(
                "{{fd={fd}, events={}}}",
                names::poll_events(u64::from(events))
            ));
        }
    }
    if count as usize > shown {
        items.push("...".to_owned());
    }
    format!("[{}]", items.join(", "))
}

/// An `fd_set` of `nfds` bits: `[3 4]`.
fn fd_set(memory: &dyn Memory, address: u64, nfds: u64) -> String {
    if address == 0 {
        return "NULL".to_owned();
    }
    let nfds = (nfds as usize).min(libc::FD_SETSIZE);
    let Some(bytes) = memory.read(address, nfds.div_ceil(8)) else {
        return format!("{address:#x}");
    };
    let set: Vec<String> = (0..nfds)
        .filter(|&fd| {
            bytes
                .get(fd / 8)
                .is_some_and(|byte| byte & (1 << (fd % 8)) != 0)
        })
        .map(|fd| fd.to_string())
        .collect();
    format!("[{}]", set.join(" "))
}

/// `struct epoll_event` is packed on `x86_64` (12 bytes), naturally aligned elsewhere (16).
#[cfg(target_arch = "x86_64")]
const EPOLL_EVENT_SIZE: usize = 12;
#[cfg(not(target_arch = "x86_64"))]
const EPOLL_EVENT_SIZE: usize = 16;
const EPOLL_DATA_OFFSET: usize = EPOLL_EVENT_SIZE - 8;

fn epoll_event(bytes: &[u8]) -> String {
    let events = u32::from_ne_bytes(bytes[..4].try_into().unwrap_or_default());
    let data = u64::from_ne_bytes(
        bytes[EPOLL_DATA_OFFSET..EPOLL_DATA_OFFSET + 8]
            .try_into()
            .unwrap_or_default(),
    );
    format!(
        "{{events={}, data={data:#x}}}",
        names::epoll_events(u64::from(events))
    )
}

fn epoll_events(memory: &dyn Memory, address: u64, count: u64) -> String {
    let shown = (count as usize).min(SHOWN_ELEMENTS);
    let Some(bytes) = memory.read(address, shown * EPOLL_EVENT_SIZE) else {
        return format!("{address:#x}");
    };
    let mut items: Vec<String> = bytes
        .chunks_exact(EPOLL_EVENT_SIZE)
        .map(epoll_event)
        .collect();
    if count as usize > shown {
        items.push("...".to_owned());
    }
    format!("[{}]", items.join(", "))
}

// `struct msghdr` and `struct iovec` on 64-bit Linux (x86_64 and aarch64 alike).
const MSGHDR_SIZE: usize = 56;
const IOVEC_SIZE: usize = 16;

/// `{name=127.0.0.1:9, data="hello"}`: the address and the first bytes of the iovecs (`limit`:
/// how many bytes the call moved, for a receive).
fn msghdr(memory: &dyn Memory, address: u64, limit: Option<u64>) -> String {
    let Some(header) = memory
        .read(address, MSGHDR_SIZE)
        .filter(|h| h.len() == MSGHDR_SIZE)
    else {
        return format!("{address:#x}");
    };
    let word = |at: usize| u64::from_ne_bytes(header[at..at + 8].try_into().unwrap_or_default());
    let name = word(0);
    let name_len = u64::from(u32::from_ne_bytes(
        header[8..12].try_into().unwrap_or_default(),
    ));
    let iov = word(16);
    let iov_len = word(24).min(SHOWN_ELEMENTS as u64);
    let mut collected = Vec::new();
    let mut total = 0u64;
    if let Some(vectors) = memory.read(iov, iov_len as usize * IOVEC_SIZE) {
        for vector in vectors.chunks_exact(IOVEC_SIZE) {
            let base = u64::from_ne_bytes(vector[..8].try_into().unwrap_or_default());
            let len = u64::from_ne_bytes(vector[8..].try_into().unwrap_or_default());
            let len = limit.map_or(len, |limit| len.min(limit.saturating_sub(total)));
            total += len;
            if collected.len() < SHOWN_BYTES
                && let Some(bytes) = memory.read(base, (len as usize).min(SHOWN_BYTES))
            {
                collected.extend_from_slice(&bytes);
            }
        }
    }
    let mut shown = escape::strace_bytes(&collected, SHOWN_BYTES);
    if total as usize > collected.len().min(SHOWN_BYTES) && !shown.ends_with("...") {
        shown.push_str("...");
    }
    format!(
        "{{name={}, data={shown}}}",
        address_at(memory, name, name_len)
    )
}

/// The call as known at its start.
#[must_use]
pub fn entry(call: Call, args: [u64; 6], memory: &dyn Memory) -> Pending {
    let fd = call.takes_fd().then(|| fd_of(args[0]));
    Pending {
        call,
        args,
        fd,
        shown: network_at_entry(call, args, memory),
    }
}

/// The arguments of the socket calls known at their start (`None`: filled in at the return).
fn network_at_entry(call: Call, a: [u64; 6], memory: &dyn Memory) -> Vec<Option<String>> {
    match call {
        Call::Socket | Call::Socketpair => {
            let domain = a[0] as i32;
            let mut shown = vec![
                Some(names::family(domain)),
                Some(names::socket_type(a[1])),
                Some(names::protocol(domain, a[2] as i32)),
            ];
            if call == Call::Socketpair {
                shown.push(None);
            }
            shown
        }
        Call::Bind | Call::Connect => vec![Some(int(a[0])), Some(address_at(memory, a[1], a[2]))],
        Call::Accept | Call::Getsockname | Call::Getpeername => vec![Some(int(a[0])), None],
        Call::Accept4 => vec![Some(int(a[0])), None, Some(names::socket_flags(a[3]))],
        Call::Sendto => vec![
            Some(int(a[0])),
            Some(data(memory, a[1], a[2])),
            Some(a[2].to_string()),
            Some(names::msg_flags(a[3])),
            Some(address_at(memory, a[4], a[5])),
        ],
        Call::Recvfrom => vec![
            Some(int(a[0])),
            None,
            Some(a[2].to_string()),
            Some(names::msg_flags(a[3])),
            None,
        ],
        Call::Sendmsg => vec![
            Some(int(a[0])),
            Some(msghdr(memory, a[1], None)),
            Some(names::msg_flags(a[2])),
        ],
        Call::Recvmsg => vec![Some(int(a[0])), None, Some(names::msg_flags(a[2]))],
        Call::Sendmmsg | Call::Recvmmsg => vec![
            Some(int(a[0])),
            Some("{...}".to_owned()),
            Some(a[2].to_string()),
            Some(names::msg_flags(a[3])),
        ],
        _ => others_at_entry(call, a, memory),
    }
}

/// The same for calls on any descriptor and the readiness calls.
fn others_at_entry(call: Call, a: [u64; 6], memory: &dyn Memory) -> Vec<Option<String>> {
    match call {
        Call::Read => vec![Some(int(a[0])), None, Some(a[2].to_string())],
        Call::Write => vec![
            Some(int(a[0])),
            Some(data(memory, a[1], a[2])),
            Some(a[2].to_string()),
        ],
        Call::Shutdown => vec![Some(int(a[0])), Some(names::shutdown_how(a[1]))],
        Call::Close | Call::Dup | Call::EpollCreate => vec![Some(int(a[0]))],
        Call::Dup2 | Call::Listen => vec![Some(int(a[0])), Some(int(a[1]))],
        Call::Dup3 => vec![
            Some(int(a[0])),
            Some(int(a[1])),
            Some(names::open_flags(a[2]).replace("O_RDONLY|", "")),
        ],
        Call::Fcntl => {
            let command = a[1] as i32;
            let mut shown = vec![Some(int(a[0])), Some(names::fcntl_command(command))];
            match command {
                libc::F_SETFL => shown.push(Some(names::open_flags(a[2]))),
                libc::F_SETFD => shown.push(Some(names::fd_flags(a[2]))),
                libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETOWN => {
                    shown.push(Some(int(a[2])));
                }
                _ => {}
            }
            shown
        }
        Call::Setsockopt => {
            let level = a[1] as i32;
            vec![
                Some(int(a[0])),
                Some(names::sockopt_level(level)),
                Some(names::sockopt_name(level, a[2] as i32)),
                Some(option_value(memory, a[3], a[4])),
            ]
        }
        Call::Getsockopt => {
            let level = a[1] as i32;
            vec![
                Some(int(a[0])),
                Some(names::sockopt_level(level)),
                Some(names::sockopt_name(level, a[2] as i32)),
                None,
            ]
        }
        Call::Poll | Call::Ppoll => vec![
            Some(pollfds(memory, a[0], a[1], false)),
            Some(a[1].to_string()),
            Some(if call == Call::Poll {
                int(a[2])
            } else {
                timeout_pointer(a[2])
            }),
        ],
        Call::Select | Call::Pselect6 => vec![
            Some(int(a[0])),
            Some(fd_set(memory, a[1], a[0])),
            Some(fd_set(memory, a[2], a[0])),
            Some(fd_set(memory, a[3], a[0])),
            Some(timeout_pointer(a[4])),
        ],
        Call::EpollCreate1 => vec![Some(if a[0] as i32 == libc::EPOLL_CLOEXEC {
            "EPOLL_CLOEXEC".to_owned()
        } else {
            int(a[0])
        })],
        Call::EpollCtl => vec![
            Some(int(a[0])),
            Some(names::epoll_op(a[1] as i32)),
            Some(int(a[2])),
            Some(if a[3] == 0 {
                "NULL".to_owned()
            } else {
                memory
                    .read(a[3], EPOLL_EVENT_SIZE)
                    .filter(|bytes| bytes.len() == EPOLL_EVENT_SIZE)
                    .map_or_else(|| format!("{:#x}", a[3]), |bytes| epoll_event(&bytes))
            }),
        ],
        Call::EpollWait | Call::EpollPwait | Call::EpollPwait2 => vec![
            Some(int(a[0])),
            None,
            Some(int(a[2])),
            Some(if call == Call::EpollPwait2 {
                timeout_pointer(a[3])
            } else {
                int(a[3])
            }),
        ],
        _ => Vec::new(),
    }
}

/// Results that are part of normal non-blocking life (and a syscall a signal interrupted, which
/// the kernel restarts or turns into `EINTR`), not failures.
fn expected(code: i32) -> bool {
    matches!(code, libc::EAGAIN | libc::EINPROGRESS | 512..=516)
}

/// The call completed: `value` is what it returned (`-errno` when `is_error`).
#[must_use]
pub fn exit(pending: &Pending, value: i64, is_error: bool, memory: &dyn Memory) -> Decoded {
    let a = pending.args;
    let ok = !is_error;
    let count = if ok { value.max(0) as u64 } else { 0 };
    let filled = |index: usize| -> String {
        match (pending.call, index) {
            (Call::Socketpair, 3) if ok => match (memory.read_u32(a[3]), memory.read_u32(a[3] + 4))
            {
                (Some(first), Some(second)) => format!("[{}, {}]", first as i32, second as i32),
                _ => format!("{:#x}", a[3]),
            },
            (Call::Accept | Call::Accept4 | Call::Getsockname | Call::Getpeername, 1) if ok => {
                returned_address(memory, a[1], a[2])
            }
            (Call::Recvfrom | Call::Read, 1) if ok => data(memory, a[1], count),
            (Call::Recvfrom, 4) if ok => returned_address(memory, a[4], a[5]),
            (Call::Recvmsg, 1) if ok => msghdr(memory, a[1], Some(count)),
            (Call::Getsockopt, 3) if ok => match memory.read_u32(a[4]) {
                Some(len) => option_value(memory, a[3], u64::from(len)),
                None => format!("{:#x}", a[3]),
            },
            (Call::EpollWait | Call::EpollPwait | Call::EpollPwait2, 1) if ok => {
                epoll_events(memory, a[1], count)
            }
            // A call that failed filled nothing in: show the pointer, as strace does.
            (_, index) => {
                let pointer = a.get(index).copied().unwrap_or(0);
                if pointer == 0 {
                    "NULL".to_owned()
                } else {
                    format!("{pointer:#x}")
                }
            }
        }
    };
    let args: Vec<String> = pending
        .shown
        .iter()
        .enumerate()
        .map(|(index, shown)| shown.clone().unwrap_or_else(|| filled(index)))
        .collect();
    if is_error {
        let code = value.saturating_neg() as i32;
        let name = names::errno(code);
        return Decoded {
            args,
            result: format!("-1 {name}"),
            errno: Some(name),
            failed: !expected(code),
        };
    }
    let result = match pending.call {
        Call::Fcntl if a[1] as i32 == libc::F_GETFL => {
            format!("{value:#x} (flags {})", names::open_flags(value as u64))
        }
        Call::Fcntl if a[1] as i32 == libc::F_GETFD => {
            format!("{value:#x} (flags {})", names::fd_flags(value as u64))
        }
        Call::Poll | Call::Ppoll if value > 0 => {
            format!("{value} ({})", pollfds(memory, a[0], a[1], true))
        }
        _ => value.to_string(),
    };
    Decoded {
        args,
        result,
        errno: None,
        failed: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn v4(port: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; 16];
        bytes[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        bytes[2..4].copy_from_slice(&port.to_be_bytes());
        bytes[4..8].copy_from_slice(&[127, 0, 0, 1]);
        bytes
    }

    #[test]
    fn bind_reads_its_address_at_entry_and_accept_at_exit() {
        let mut memory = BTreeMap::new();
        memory.insert(0x1000, v4(8080));
        let bind = entry(Call::Bind, [3, 0x1000, 16, 0, 0, 0], &memory);
        // The program may reuse the buffer once the call returned: entry already has it.
        memory.insert(0x1000, v4(1));
        let done = exit(&bind, 0, false, &memory);
        assert_eq!(done.call_text("bind"), "bind(3, 127.0.0.1:8080)");
        assert_eq!(done.result, "0");

        let accept = entry(Call::Accept4, [3, 0x2000, 0x3000, 2048, 0, 0], &memory);
        memory.insert(0x2000, v4(5555));
        memory.insert(0x3000, 16u32.to_ne_bytes().to_vec());
        let done = exit(&accept, 4, false, &memory);
        assert_eq!(
            done.call_text("accept4"),
            "accept4(3, 127.0.0.1:5555, SOCK_NONBLOCK)"
        );
        assert_eq!(done.result, "4");
    }

    #[test]
    fn failures_name_their_errno_and_expected_ones_are_not_failures() {
        let memory = BTreeMap::new();
        let accept = entry(Call::Accept, [3, 0, 0, 0, 0, 0], &memory);
        let done = exit(&accept, -i64::from(libc::EAGAIN), true, &memory);
        assert_eq!(done.call_text("accept"), "accept(3, NULL)");
        assert_eq!(done.result, "-1 EAGAIN");
        assert!(!done.failed);
        let listen = entry(Call::Listen, [7, 3, 0, 0, 0, 0], &memory);
        let done = exit(&listen, -i64::from(libc::EBADF), true, &memory);
        assert_eq!((done.result.as_str(), done.failed), ("-1 EBADF", true));
    }

    #[test]
    fn received_bytes_are_escaped_and_cut_to_what_arrived() {
        let mut memory = BTreeMap::new();
        let read = entry(Call::Read, [4, 0x1000, 1024, 0, 0, 0], &memory);
        memory.insert(0x1000, b"hi\x1b[2J\n and more".to_vec());
        let done = exit(&read, 3, false, &memory);
        assert_eq!(done.call_text("read"), "read(4, \"hi\\33\", 1024)");
        let long = vec![b'x'; 100];
        memory.insert(0x1000, long);
        let write = entry(Call::Write, [4, 0x1000, 100, 0, 0, 0], &memory);
        let done = exit(&write, 100, false, &memory);
        assert_eq!(done.args[1], format!("\"{}\"...", "x".repeat(32)));
    }

    #[test]
    fn fcntl_shows_o_nonblock_both_ways() {
        let memory = BTreeMap::new();
        let set = entry(
            Call::Fcntl,
            [
                3,
                libc::F_SETFL as u64,
                (libc::O_RDWR | libc::O_NONBLOCK) as u64,
                0,
                0,
                0,
            ],
            &memory,
        );
        assert_eq!(
            exit(&set, 0, false, &memory).call_text("fcntl"),
            "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)"
        );
        let get = entry(Call::Fcntl, [3, libc::F_GETFL as u64, 0, 0, 0, 0], &memory);
        assert_eq!(
            exit(&get, 0x802, false, &memory).result,
            "0x802 (flags O_RDWR|O_NONBLOCK)"
        );
    }
}
