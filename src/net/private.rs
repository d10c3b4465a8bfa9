//! `--net private`: sockscope moves itself into a network namespace of its own, with its own `lo`.
//!
//! As root that is `unshare(CLONE_NEWNET)`. As an ordinary user it is a new user namespace first
//! (`CLONE_NEWUSER | CLONE_NEWNET` in one call), where the process holds every capability until it
//! calls `execve`: `deny` goes to `/proc/self/setgroups` before `gid_map` (the kernel refuses the map
//! otherwise), and the caller's uid and gid map to themselves, so files the lab writes stay the
//! user's. Then `lo` is brought up. This must happen before any thread exists: the kernel refuses a
//! new user namespace to a multithreaded process (`EINVAL`).
//!
//! `lo` is brought up with `SIOCSIFFLAGS` rather than rtnetlink: one flag on one interface, a call
//! every Linux has had forever, and no second netlink message crate next to the `sock_diag` one.

use std::fs;
use std::io;

use super::lab_file::{self, LabFile};
use crate::kernel::namespace::{self, Unshare};
use crate::model::Network;
use crate::text::{self, Lang};

/// A private network entered: the runtime file that lets `sockscope exec` find it lives as long as
/// this value (it is removed when the value drops).
#[derive(Debug)]
pub struct PrivateNetwork {
    /// Whether a user namespace was created too (an ordinary user).
    pub user_namespace: bool,
    pub lab_file: Option<LabFile>,
}

/// Why unprivileged user namespaces do not work here, read from the kernel's switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Ubuntu 23.10+: `kernel.apparmor_restrict_unprivileged_userns = 1` (capabilities inside denied).
    AppArmor,
    /// Debian's older switch: `kernel.unprivileged_userns_clone = 0`.
    Disabled,
    /// `user.max_user_namespaces = 0`.
    NoneAllowed,
}

impl Restriction {
    /// The restriction and its remedy, in the user's language.
    #[must_use]
    pub fn message(self, lang: Lang) -> String {
        text::get(
            lang,
            match self {
                Self::AppArmor => "net.restricted_apparmor",
                Self::Disabled => "net.restricted_disabled",
                Self::NoneAllowed => "net.restricted_none",
            },
        )
        .to_owned()
    }

    /// Which restriction the switches' values show (`None`: a switch that is absent).
    #[must_use]
    pub fn from_switches(
        apparmor_restrict: Option<u64>,
        unprivileged_clone: Option<u64>,
        max_user_namespaces: Option<u64>,
    ) -> Option<Self> {
        if apparmor_restrict == Some(1) {
            Some(Self::AppArmor)
        } else if unprivileged_clone == Some(0) {
            Some(Self::Disabled)
        } else if max_user_namespaces == Some(0) {
            Some(Self::NoneAllowed)
        } else {
            None
        }
    }
}

fn read_switch(path: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// What keeps an ordinary user out of a new user namespace on this machine, if anything (root is
/// never kept out).
#[must_use]
pub fn userns_restriction() -> Option<Restriction> {
    if rustix::process::geteuid().is_root() {
        return None;
    }
    Restriction::from_switches(
        read_switch("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        read_switch("/proc/sys/kernel/unprivileged_userns_clone"),
        read_switch("/proc/sys/user/max_user_namespaces"),
    )
}

/// Why `--net private` could not be entered.
#[derive(Debug)]
pub enum EnterError {
    /// The process already runs threads (a bug in sockscope: the namespace must come first).
    Threads(usize),
    /// The kernel refuses user namespaces to ordinary users here.
    Restricted(Restriction, io::Error),
    /// A step failed for another reason.
    Failed(&'static str, io::Error),
}

impl EnterError {
    /// The message for standard error, with what to do.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Self::Threads(count) => {
                text::format(lang, "net.threads", &[("count", &count.to_string())])
            }
            Self::Restricted(restriction, error) => text::format(
                lang,
                "net.restricted",
                &[
                    ("error", &error.to_string()),
                    ("why", &restriction.message(lang)),
                ],
            ),
            Self::Failed(step, error) => text::format(
                lang,
                "net.failed",
                &[("step", step), ("error", &error.to_string())],
            ),
        }
    }
}

fn thread_count() -> usize {
    fs::read_dir("/proc/self/task").map_or(1, Iterator::count)
}

/// Enters a new private network (see the module documentation) and records it for `sockscope
/// exec`. Call before any thread starts.
pub fn enter() -> Result<PrivateNetwork, EnterError> {
    let threads = thread_count();
    if threads > 1 {
        return Err(EnterError::Threads(threads));
    }
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    // Root (with CAP_SYS_ADMIN) needs no user namespace; a root without it (a container) falls back.
    let plain = uid == 0 && namespace::unshare(Unshare::Net).is_ok();
    let restricted = |step: &'static str, error: io::Error| match userns_restriction() {
        Some(restriction) if is_permission(&error) || step == "unshare" => {
            EnterError::Restricted(restriction, error)
        }
        _ => EnterError::Failed(step, error),
    };
    if !plain {
        namespace::unshare(Unshare::UserAndNet).map_err(|error| restricted("unshare", error))?;
        fs::write("/proc/self/setgroups", "deny")
            .map_err(|error| restricted("/proc/self/setgroups", error))?;
        fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
            .map_err(|error| restricted("/proc/self/uid_map", error))?;
        fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
            .map_err(|error| restricted("/proc/self/gid_map", error))?;
    }
    namespace::set_interface_up(c"lo").map_err(|error| restricted("lo up", error))?;
    super::set_network(Network::Private);
    // Without the file `exec` cannot find the lab, but the lab itself works: not fatal.
    let lab_file = lab_file::write(!plain).ok();
    Ok(PrivateNetwork {
        user_namespace: !plain,
        lab_file,
    })
}

fn is_permission(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switches_name_the_restriction() {
        assert_eq!(
            Restriction::from_switches(Some(1), None, Some(100)),
            Some(Restriction::AppArmor)
        );
        assert_eq!(
            Restriction::from_switches(Some(0), Some(0), Some(100)),
            Some(Restriction::Disabled)
        );
        assert_eq!(
            Restriction::from_switches(None, None, Some(0)),
            Some(Restriction::NoneAllowed)
        );
        assert_eq!(Restriction::from_switches(Some(0), Some(1), Some(5)), None);
        assert_eq!(Restriction::from_switches(None, None, None), None);
    }
}
