//! What the tests that need a wire share: whether this machine can make one, the lock on the
//! test process's own wire, and that wire (made by the first test that asks).

use std::sync::{Mutex, MutexGuard};

use sockscope::net::wire::{self, address};

/// The in-process wire belongs to the whole test process: one test at a time uses it.
static IN_PROCESS: Mutex<()> = Mutex::new(());

pub fn lock() -> MutexGuard<'static, ()> {
    IN_PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why this machine cannot make a wire, if it cannot (then the test says so and returns).
pub fn no_wire() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root: /dev/net/tun is root-only here".into());
    }
    wire::probe()
        .err()
        .map(|error| format!("{}: {}", error.step, error.error))
}

/// The process's wire, made by the first test that asks, the calling thread on host a.
pub fn in_process_wire() -> &'static wire::hosts::WireHosts {
    if let Some(hosts) = wire::hosts() {
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&hosts.a.namespace),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns to host a");
        return hosts;
    }
    if let Err(error) = wire::enter(address::DEFAULT_A, address::DEFAULT_B) {
        panic!("{}: {}", error.step, error.error);
    }
    wire::hosts().expect("hosts made")
}
