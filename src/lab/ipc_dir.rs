//! The lab's private directory for the files local IPC needs (FIFOs, unix socket paths).
//!
//! Made on first use under `$XDG_RUNTIME_DIR` (else `/tmp`) with mode 0700, so no other user can
//! reach the lab's sockets or FIFOs, and removed with everything in it when the lab ends
//! normally (dropped: quit, a signal sockscope handles, the end of a snapshot). A `SIGKILL` leaves
//! it behind as `sockscope-lab-PID-N`; abstract names (`@name`) leave nothing.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug, Default)]
pub struct IpcDir {
    path: Option<PathBuf>,
}

/// Tells apart the directories of several labs in one process (tests).
static NEXT: AtomicU32 = AtomicU32::new(1);

impl IpcDir {
    /// The directory, made now if it does not exist yet.
    pub fn path(&mut self) -> io::Result<&Path> {
        if self.path.is_none() {
            self.path = Some(create()?);
        }
        Ok(self.path.as_deref().expect("made above"))
    }

    /// Removes what the lab made inside (a reset lab starts without its old FIFOs and socket
    /// files, so replaying `unix-server s srv.sock` binds again).
    pub fn clear(&mut self) {
        if let Some(path) = &self.path
            && let Ok(entries) = fs::read_dir(path)
        {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

impl Drop for IpcDir {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_dir_all(path);
        }
    }
}

fn base() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// A new directory of our own: `create` (not `create_all`) fails if the name exists, so a
/// directory or link someone else put there is never taken for ours.
fn create() -> io::Result<PathBuf> {
    let base = base();
    let pid = std::process::id();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("sockscope-lab-{pid}-{n}"));
        match DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
}
