//! `--net wire`: two hosts, `a` and `b`, joined by sockscope (DESIGN.md, "Sources and networks").
//!
//! - [`address`] — the hosts' addresses (198.18.0.0/15) and `--wire-a`/`--wire-b`;
//! - [`hosts`] — the namespaces and TUN devices, made before the lab starts, held by descriptors;
//! - [`controls`] — hold, deliver, drop, delay, loss: what becomes of each packet (no I/O);
//! - [`relay`] — [`Wire`], the relay between the two TUN devices on the runtime's poll.

pub mod address;
pub mod controls;
pub mod hosts;
pub mod relay;

use std::io;
use std::sync::OnceLock;

pub use relay::Wire;

use self::address::HostAddress;
use self::hosts::{MakeError, WireHosts};
use super::lab_file::{self, LabFile};
use crate::text::{self, Lang};

static HOSTS: OnceLock<WireHosts> = OnceLock::new();

/// The hosts of this process's wire, once [`enter`] made them.
#[must_use]
pub fn hosts() -> Option<&'static WireHosts> {
    HOSTS.get()
}

/// A wire entered: the runtime file `sockscope exec --host` finds it by lives as long as this.
#[derive(Debug)]
pub struct WireNetwork {
    pub lab_file: Option<LabFile>,
}

/// Why `--net wire` could not be had, in one line: what failed, what the error means, what to do.
#[must_use]
pub fn failure_message(error: &MakeError, lang: Lang) -> String {
    let errno = crate::lab::errno::name(&error.error);
    let permission = matches!(error.error.raw_os_error(), Some(libc::EACCES | libc::EPERM));
    let remedy = if error.step == "open /dev/net/tun" && permission {
        text::get(lang, "wire.remedy_tun")
    } else if permission {
        text::get(lang, "wire.remedy_root")
    } else {
        text::get(lang, "wire.remedy_report")
    };
    text::format(
        lang,
        "wire.unavailable",
        &[
            ("step", error.step),
            ("errno", &errno),
            ("error", &error.error.to_string()),
            ("remedy", remedy),
        ],
    )
}

/// Makes the hosts (the calling thread stays on `a`), records them for `sockscope exec`, and
/// makes them this process's network. An ordinary user's process must have no thread yet.
pub fn enter(a: HostAddress, b: HostAddress) -> Result<WireNetwork, MakeError> {
    let made = WireHosts::make(a, b)?;
    let user_namespace = made.user_namespace;
    let hosts = HOSTS.get_or_init(|| made);
    super::set_network(crate::model::Network::Wire);
    let extra = [(
        "wire_b_fd",
        std::os::fd::AsRawFd::as_raw_fd(&hosts.b.namespace).to_string(),
    )];
    let lab_file = lab_file::write_with(user_namespace, &extra).ok();
    Ok(WireNetwork { lab_file })
}

/// Whether `enter` would fail before changing anything: `/dev/net/tun` is the usual obstacle.
pub fn probe() -> Result<(), MakeError> {
    crate::kernel::tun::open_clone_device()
        .map(drop)
        .map_err(|error: io::Error| MakeError {
            step: "open /dev/net/tun",
            error,
        })
}
