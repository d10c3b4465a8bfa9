//! Read-only probes of what the kernel knows about sockets (DESIGN.md, "Kernel facts and where they
//! come from"). Nothing here changes a socket except [`sys::set_defer_accept`], which the lab's
//! `setsockopt` verb uses.
//!
//! - [`sys`] — `TCP_INFO`, `TCP_DEFER_ACCEPT`, `SIOCINQ`/`SIOCOUTQ` on a socket we own.
//! - [`packet`] — the `AF_PACKET` socket the capture reads segments from.
//! - [`namespace`] — `unshare` and bringing `lo` up in a new network namespace.
//!
//! - [`ptrace`] — `fork` + `PTRACE_TRACEME` + seccomp for `sockscope trace`, `waitpid`, syscall stops.
//! - [`tun`] — the wire's TUN devices (`TUNSETIFF`, `TUNSETOFFLOAD`, `SIOCSIFADDR`).
//!
//! - [`fd_kind`] — `SO_DOMAIN`/`SO_TYPE`/`SO_PROTOCOL` and `fstat` on a bare descriptor number.
//!
//! These five are the only modules with `unsafe` code.
//! - [`sock_diag`] — `NETLINK_SOCK_DIAG` dumps of every TCP/UDP socket, including those no
//!   descriptor points at.
//! - [`fd_table`] — `/proc/<pid>/fd`.
//! - [`internal_fds`] — sockscope's own descriptors: their purposes, and the low numbers kept free.
//! - [`owners`] — which process holds each socket: a `/proc/*/fd` scan cached by inode.
//! - [`netstat`] — `ListenOverflows`/`ListenDrops` from `/proc/net/netstat`.
//! - [`activity`] — the namespace's TCP/UDP counters as one fingerprint: did anything happen?
//! - [`sysctl`] — the port ranges and `somaxconn`.

pub mod activity;
pub mod fd_kind;
pub mod fd_table;
pub mod internal_fds;
pub mod namespace;
pub mod netstat;
pub mod owners;
pub mod packet;
pub mod ptrace;
pub mod sock_diag;
pub mod sys;
pub mod sysctl;
pub mod tun;
