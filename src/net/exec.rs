//! `sockscope exec [--lab PID] [--host a|b] -- CMD ARGS...`: runs a command inside a running lab's
//! private network, like `ip netns exec`: the lab's user namespace first (if it made one), then its
//! network namespace, through `/proc/PID/ns/*`, then `execvp`. Both `setns` calls need a
//! single-threaded process, which `main` is when it gets here.
//!
//! A wire lab's process lives on host `a` (its `/proc/PID/ns/net`); host `b`'s namespace is held
//! only by a descriptor of the lab, which its lab file names: `--host b` enters it through
//! `/proc/PID/fd/N`.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::lab_file::{self, RunningLab};
use crate::model::WireHost;
use crate::text::{self, Lang};

/// Exit status when no lab (or more than one) could be chosen, or it could not be entered.
const EXIT_NO_LAB: u8 = 2;
/// The shell's statuses for a command that is not there or cannot run.
const EXIT_NOT_FOUND: u8 = 127;
const EXIT_CANNOT_RUN: u8 = 126;

/// Which lab to enter: the one named, or the only one running.
fn choose(pid: Option<u32>, lang: Lang) -> Result<u32, String> {
    if let Some(pid) = pid {
        return Ok(pid);
    }
    let running = lab_file::running();
    match running.as_slice() {
        [only] => Ok(only.pid),
        [] => Err(text::format(
            lang,
            "exec.no_lab",
            &[("dir", &lab_file::directory().display().to_string())],
        )),
        several => Err(text::format(
            lang,
            "exec.several_labs",
            &[("labs", &list(several))],
        )),
    }
}

fn list(labs: &[RunningLab]) -> String {
    labs.iter()
        .map(|lab| format!("  {} ({})", lab.pid, lab.net))
        .collect::<Vec<_>>()
        .join("\n")
}

fn namespace_inode(pid: &str, kind: &str) -> io::Result<u64> {
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))?.ino())
}

/// Enters the namespaces of `pid` (for a wire lab, of `host` on it). Fails if `pid` shares this
/// process's network (nothing to enter).
fn enter(pid: u32, host: Option<WireHost>, lang: Lang) -> Result<(), String> {
    let pid_text = pid.to_string();
    let failed = |step: &str, error: &io::Error| {
        text::format(
            lang,
            "exec.cannot_enter",
            &[
                ("pid", &pid_text),
                ("step", step),
                ("error", &error.to_string()),
            ],
        )
    };
    // Open both before moving: inside the user namespace /proc may judge us differently.
    let user = File::open(format!("/proc/{pid}/ns/user")).map_err(|e| failed("ns/user", &e))?;
    let wire_b = lab_file::find(pid).and_then(|lab| lab.wire_b_fd);
    let net_path = match (host, wire_b) {
        (Some(WireHost::B), Some(fd)) => format!("/proc/{pid}/fd/{fd}"),
        (Some(_), None) => {
            return Err(text::format(
                lang,
                "wire.exec_not_wire",
                &[("pid", &pid_text)],
            ));
        }
        _ => format!("/proc/{pid}/ns/net"),
    };
    let net = File::open(&net_path).map_err(|e| failed(&net_path, &e))?;
    let their_net = net.metadata().map_err(|e| failed("ns/net", &e))?.ino();
    let our_net = namespace_inode("self", "net").map_err(|e| failed("ns/net", &e))?;
    if their_net == our_net {
        return Err(text::format(
            lang,
            "exec.not_private",
            &[("pid", &pid_text)],
        ));
    }
    let their_user = user.metadata().map_err(|e| failed("ns/user", &e))?.ino();
    if their_user != namespace_inode("self", "user").map_err(|e| failed("ns/user", &e))? {
        move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&user),
            Some(LinkNameSpaceType::User),
        )
        .map_err(|e| failed("setns(user)", &e.into()))?;
    }
    move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&net),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(|e| failed("setns(net)", &e.into()))?;
    Ok(())
}

/// Runs `command` in the chosen lab's network; returns only if that fails.
#[must_use]
pub fn run(lab: Option<u32>, host: Option<WireHost>, command: &[String], lang: Lang) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("sockscope: {}", text::get(lang, "exec.no_command"));
        return ExitCode::from(EXIT_NO_LAB);
    };
    let entered = choose(lab, lang).and_then(|pid| enter(pid, host, lang));
    if let Err(message) = entered {
        eprintln!("sockscope: {message}");
        return ExitCode::from(EXIT_NO_LAB);
    }
    let error = Command::new(program).args(args).exec();
    eprintln!(
        "sockscope: {}",
        text::format(
            lang,
            "exec.cannot_run",
            &[("command", program), ("error", &error.to_string())]
        )
    );
    ExitCode::from(if error.kind() == io::ErrorKind::NotFound {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_RUN
    })
}
