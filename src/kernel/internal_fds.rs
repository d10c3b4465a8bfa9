//! sockscope's own descriptors: which number serves which purpose, and keeping the low numbers free
//! for the lab, so the lab's first socket gets fd 3 as in a small C program.
//!
//! The event loop, its waker, the signal pipes, `sock_diag`, the capture and crossterm's reader
//! are made while [`LowFds`] holds every free number below [`reserve_top`] with placeholders
//! (`/dev/null` duplicates); they land above it, and releasing the placeholders gives the low
//! numbers back. Some of those descriptors are hidden inside crates (mio's waker, signal-hook's
//! socketpair, crossterm's poll): [`track`] names every descriptor that appeared while its closure
//! ran.
//!
//! The names live in one process-wide registry because the descriptor table is process-wide: a
//! reactor, a terminal and a lab each add theirs, and every snapshot reads them all.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use super::fd_table;

/// What sockscope uses a descriptor for: a short id, shown as the descriptor's name; the
/// explanation is the locale key `fd_purpose.<id>`.
pub type Purpose = &'static str;

/// The id of a descriptor that was open before sockscope made its first event loop.
pub const INHERITED: Purpose = "inherited";

/// The most numbers held free at start: sockscope's own descriptors land at this number or above.
const RESERVE_TOP: RawFd = 64;

fn registry() -> MutexGuard<'static, BTreeMap<RawFd, Purpose>> {
    static NAMES: OnceLock<Mutex<BTreeMap<RawFd, Purpose>>> = OnceLock::new();
    NAMES
        .get_or_init(|| Mutex::new(BTreeMap::new()))
        .lock()
        // A panic elsewhere leaves a map that is still a valid map.
        .unwrap_or_else(PoisonError::into_inner)
}

/// The descriptors above stderr that were open before sockscope made its first event loop: the
/// parent's (a shell's redirection, a test harness's pipe), not sockscope's.
fn inherited() -> &'static BTreeSet<RawFd> {
    static INHERITED_FDS: OnceLock<BTreeSet<RawFd>> = OnceLock::new();
    INHERITED_FDS.get_or_init(|| {
        fd_table::read_own()
            .unwrap_or_default()
            .into_iter()
            .map(|link| link.fd)
            .filter(|&fd| fd > 2)
            .collect()
    })
}

/// Names `fd` as one of sockscope's own.
pub fn name(fd: RawFd, purpose: Purpose) {
    registry().insert(fd, purpose);
}

/// Forgets the names of descriptors that are closed (or about to be).
pub fn forget(fds: &[RawFd]) {
    let mut names = registry();
    for fd in fds {
        names.remove(fd);
    }
}

/// What sockscope uses `fd` for, if it is one of its own or was inherited.
#[must_use]
pub fn purpose_of(fd: RawFd) -> Option<Purpose> {
    if let Some(purpose) = registry().get(&fd) {
        return Some(purpose);
    }
    inherited().contains(&fd).then_some(INHERITED)
}

/// Runs `make` and names `purpose` every descriptor that appeared while it ran (or now points at
/// something else). Returns what `make` returned and those descriptors.
///
/// Meant for start-up, when only this thread opens descriptors; another thread opening one
/// meanwhile would be named too.
pub fn track<T>(purpose: Purpose, make: impl FnOnce() -> T) -> (T, Vec<RawFd>) {
    inherited();
    let before = fd_table::read_own().unwrap_or_default();
    let result = make();
    let after = fd_table::read_own().unwrap_or_default();
    let new: Vec<RawFd> = after
        .iter()
        .filter(|link| !before.contains(link))
        .map(|link| link.fd)
        .collect();
    for &fd in &new {
        name(fd, purpose);
    }
    (result, new)
}

/// The number below which [`LowFds::reserve`] holds placeholders: [`RESERVE_TOP`], or half the
/// descriptor limit when that is lower (`ulimit -n 32` leaves room for the lab).
#[must_use]
pub fn reserve_top() -> RawFd {
    let limit = fd_table::descriptor_limit().unwrap_or(u64::MAX);
    RawFd::try_from(limit / 2)
        .unwrap_or(RESERVE_TOP)
        .clamp(3, RESERVE_TOP)
}

/// `file` again, on the lowest free number at or above [`reserve_top`] (close-on-exec): for a
/// descriptor sockscope must make before the placeholders exist (the wire's namespaces and TUN
/// devices are made before any thread starts). The flags of the open file (`O_NONBLOCK`) are
/// shared by the copy. On failure (no number left up there) the file stays where it is.
#[must_use]
pub fn moved_high(file: File) -> File {
    match rustix::io::fcntl_dupfd_cloexec(&file, reserve_top()) {
        Ok(copy) => File::from(copy),
        Err(_) => file,
    }
}

/// Placeholders on every free number from 3 up to [`reserve_top`], while sockscope makes its own
/// descriptors; dropping (or [`release`](Self::release)) frees them for the lab.
#[derive(Debug, Default)]
pub struct LowFds {
    placeholders: Vec<OwnedFd>,
}

impl LowFds {
    /// Takes every free number below [`reserve_top`]. Best effort: when no descriptor is left
    /// (`EMFILE`), fewer numbers are held and sockscope's descriptors simply sit lower.
    #[must_use]
    pub fn reserve() -> Self {
        // Noted first, so the placeholders are never taken for inherited descriptors.
        inherited();
        let top = reserve_top();
        let Ok(first) = File::open("/dev/null") else {
            return Self::default();
        };
        let first = OwnedFd::from(first);
        if first.as_raw_fd() >= top {
            return Self::default();
        }
        let mut placeholders = vec![first];
        // F_DUPFD_CLOEXEC from 0 takes the lowest free number, as open() would.
        while let Ok(copy) = rustix::io::fcntl_dupfd_cloexec(&placeholders[0], 0) {
            if copy.as_raw_fd() >= top {
                break;
            }
            placeholders.push(copy);
        }
        Self { placeholders }
    }

    /// How many numbers are held.
    #[must_use]
    pub fn held(&self) -> usize {
        self.placeholders.len()
    }

    /// Gives the numbers back (the lab's first socket takes the lowest).
    pub fn release(&mut self) {
        self.placeholders.clear();
    }
}
