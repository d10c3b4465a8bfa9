//! The runtime files by which `sockscope exec` finds running private labs: one file per lab,
//! `lab-PID`, in `$XDG_RUNTIME_DIR/sockscope` (else `/run/user/UID/sockscope`, else
//! `/tmp/sockscope-UID`), written when the lab enters its network and removed when it ends. A lab
//! killed by a signal leaves its file behind: a file whose process is gone, or whose process is no
//! longer in the recorded network namespace, is stale and removed by the next listing.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The directory of this user's lab files.
#[must_use]
pub fn directory() -> PathBuf {
    let uid = rustix::process::getuid().as_raw();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        return Path::new(&dir).join("sockscope");
    }
    let run_user = PathBuf::from(format!("/run/user/{uid}"));
    if run_user.is_dir() {
        return run_user.join("sockscope");
    }
    std::env::temp_dir().join(format!("sockscope-{uid}"))
}

/// A running lab's file. Dropping it removes the file.
#[derive(Debug)]
pub struct LabFile {
    path: PathBuf,
}

impl LabFile {
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LabFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `net:[4026532...]`, the identity of a process's network namespace.
fn net_namespace_of(pid: &str) -> io::Result<String> {
    Ok(fs::read_link(format!("/proc/{pid}/ns/net"))?
        .to_string_lossy()
        .into_owned())
}

/// Records this process as a running private lab (after it entered its namespace).
pub fn write(user_namespace: bool) -> io::Result<LabFile> {
    write_with(user_namespace, &[])
}

/// [`write`], with more `key=value` lines (a wire lab: `wire_b_fd`, the descriptor of host `b`'s
/// namespace, which `sockscope exec --host b` enters through `/proc/PID/fd/N`).
pub fn write_with(user_namespace: bool, extra: &[(&str, String)]) -> io::Result<LabFile> {
    let dir = directory();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    // A directory someone else owns (e.g. a shared /tmp) could be a trap: do not write into it.
    if fs::metadata(&dir)?.uid() != rustix::process::getuid().as_raw() {
        return Err(io::Error::from(io::ErrorKind::PermissionDenied));
    }
    let pid = std::process::id();
    let path = dir.join(format!("lab-{pid}"));
    let mut contents = format!(
        "pid={pid}\nnet={}\nuserns={}\n",
        net_namespace_of("self")?,
        u8::from(user_namespace)
    );
    for (key, value) in extra {
        let _ = writeln!(contents, "{key}={value}");
    }
    fs::write(&path, contents)?;
    Ok(LabFile { path })
}

/// A running private lab, as its file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningLab {
    pub pid: u32,
    /// The network namespace's identity, `net:[...]`.
    pub net: String,
    pub user_namespace: bool,
    /// A wire lab: the descriptor (in the lab's process) of host `b`'s namespace.
    pub wire_b_fd: Option<i32>,
}

fn parse(contents: &str) -> Option<RunningLab> {
    let mut pid = None;
    let mut net = None;
    let mut userns = false;
    let mut wire_b_fd = None;
    for line in contents.lines() {
        match line.split_once('=') {
            Some(("pid", value)) => pid = value.parse().ok(),
            Some(("net", value)) => net = Some(value.to_owned()),
            Some(("userns", value)) => userns = value == "1",
            Some(("wire_b_fd", value)) => wire_b_fd = value.parse().ok(),
            _ => {}
        }
    }
    Some(RunningLab {
        pid: pid?,
        net: net?,
        user_namespace: userns,
        wire_b_fd,
    })
}

/// Whether the process the file names still runs in the namespace the file recorded.
fn alive(lab: &RunningLab) -> bool {
    net_namespace_of(&lab.pid.to_string()).is_ok_and(|net| net == lab.net)
}

/// Every running private lab of this user, by pid; stale files are removed.
#[must_use]
pub fn running() -> Vec<RunningLab> {
    let Ok(entries) = fs::read_dir(directory()) else {
        return Vec::new();
    };
    let mut labs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let is_lab_file = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("lab-"));
        if !is_lab_file {
            continue;
        }
        match fs::read_to_string(&path).ok().as_deref().and_then(parse) {
            Some(lab) if alive(&lab) => labs.push(lab),
            _ => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    labs.sort_by_key(|lab| lab.pid);
    labs
}

/// The running lab with this pid, if it is one.
#[must_use]
pub fn find(pid: u32) -> Option<RunningLab> {
    running().into_iter().find(|lab| lab.pid == pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_file_parses_and_a_broken_one_does_not() {
        assert_eq!(
            parse("pid=42\nnet=net:[4026532000]\nuserns=1\n"),
            Some(RunningLab {
                pid: 42,
                net: "net:[4026532000]".into(),
                user_namespace: true,
                wire_b_fd: None,
            })
        );
        assert_eq!(parse("net=net:[1]\n"), None);
        assert_eq!(parse(""), None);
    }
}
