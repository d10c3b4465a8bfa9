//! The two hosts of `--net wire`: network namespaces `a` and `b`, each with `lo` up and one TUN
//! device `wire0` holding the host's address, and no route but the connected one (inside
//! 198.18.0.0/15).
//!
//! The namespaces are held only by descriptors (an `nsfs` file each, the TUN devices and the
//! sockets made in them), never by a bind mount under `/run/netns`: when sockscope ends, however
//! it ends (SIGKILL included), the kernel closes them and both hosts, with their devices, are gone.
//!
//! Making them: `unshare(CLONE_NEWNET)` moves the calling thread into a new namespace; it is done
//! twice — `b` first, then `a`, where the thread stays: sockets placed on no host are made on `a`
//! exactly as before, and `sockscope exec --host a` is `/proc/PID/ns/net`. A socket for `b` is made
//! after a `setns` to `b` and a `setns` back ([`WireHosts::on_host`]); a socket keeps the namespace
//! it was made in. An ordinary user makes a user namespace first (where `/dev/net/tun` lets them),
//! which needs a process without threads; root needs none and can do this at any time.

use std::ffi::CStr;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::address::HostAddress;
use crate::kernel::internal_fds;
use crate::kernel::namespace::{self, Unshare};
use crate::kernel::tun;
use crate::model::WireHost;

/// The TUN device's name on each host.
pub const INTERFACE: &CStr = c"wire0";

/// One host: its namespace, its TUN device (sockscope's end of the wire) and its address.
#[derive(Debug)]
pub struct Host {
    pub host: WireHost,
    /// `/proc/thread-self/ns/net` opened while inside: what `setns` enters.
    pub namespace: File,
    /// The namespace's inode (`ip netns identify`, `/proc/PID/ns/net` show the same number).
    pub namespace_inode: u64,
    /// The TUN device's descriptor, non-blocking.
    pub tun: File,
    pub address: HostAddress,
}

/// Both hosts.
#[derive(Debug)]
pub struct WireHosts {
    pub a: Host,
    pub b: Host,
    /// Whether a user namespace was made first (an ordinary user).
    pub user_namespace: bool,
}

/// Why the hosts could not be made: the step, and the kernel's answer.
#[derive(Debug)]
pub struct MakeError {
    pub step: &'static str,
    pub error: io::Error,
}

fn step(step: &'static str) -> impl FnOnce(io::Error) -> MakeError {
    move |error| MakeError { step, error }
}

fn current_namespace() -> io::Result<File> {
    File::open("/proc/thread-self/ns/net")
}

/// Sets up the namespace the calling thread is in as `host`.
fn furnish(host: WireHost, address: HostAddress) -> Result<Host, MakeError> {
    namespace::set_interface_up(c"lo").map_err(step("lo up"))?;
    // Made before the low numbers are reserved for the lab: moved up, so the lab's first socket
    // is still fd 3 on the wire.
    let tun = internal_fds::moved_high(tun::create(INTERFACE).map_err(step("TUNSETIFF"))?);
    tun::set_ipv4(INTERFACE, address.address, address.prefix).map_err(step("SIOCSIFADDR"))?;
    namespace::set_interface_up(INTERFACE).map_err(step("wire0 up"))?;
    let namespace = internal_fds::moved_high(current_namespace().map_err(step("ns/net"))?);
    let namespace_inode = namespace.metadata().map_err(step("ns/net"))?.ino();
    Ok(Host {
        host,
        namespace,
        namespace_inode,
        tun,
        address,
    })
}

impl WireHosts {
    /// Makes both hosts and leaves the calling thread on `a`. An ordinary user needs a process
    /// without threads (the user namespace); root does not.
    pub fn make(a: HostAddress, b: HostAddress) -> Result<Self, MakeError> {
        // Asked first, before anything changes: whether this user may make a TUN device at all.
        drop(tun::open_clone_device().map_err(step("open /dev/net/tun"))?);
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        let root = uid == 0;
        if root {
            namespace::unshare(Unshare::Net).map_err(step("unshare"))?;
        } else {
            namespace::unshare(Unshare::UserAndNet).map_err(step("unshare"))?;
            fs::write("/proc/self/setgroups", "deny").map_err(step("setgroups"))?;
            fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n")).map_err(step("uid_map"))?;
            fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n")).map_err(step("gid_map"))?;
        }
        let b = furnish(WireHost::B, b)?;
        namespace::unshare(Unshare::Net).map_err(step("unshare"))?;
        let a = furnish(WireHost::A, a)?;
        Ok(Self {
            a,
            b,
            user_namespace: !root,
        })
    }

    #[must_use]
    pub fn host(&self, host: WireHost) -> &Host {
        match host {
            WireHost::A => &self.a,
            WireHost::B => &self.b,
        }
    }

    /// Runs `make` with the calling thread on `host`, then puts the thread back on `a`. What it
    /// makes (a socket, a netlink socket) stays in `host`'s namespace.
    pub fn on_host<T>(&self, host: WireHost, make: impl FnOnce() -> T) -> io::Result<T> {
        if host == WireHost::A {
            return Ok(make());
        }
        let enter = |host: &Host| {
            move_into_link_name_space(host.namespace.as_fd(), Some(LinkNameSpaceType::Network))
                .map_err(io::Error::from)
        };
        enter(&self.b)?;
        let product = make();
        // Failing to go back would leave every later socket on the wrong host: nothing sane is
        // left to do then.
        enter(&self.a).expect("setns back to host a");
        Ok(product)
    }
}
