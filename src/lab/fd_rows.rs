//! The rows of the descriptor table: each descriptor's kind as lsof/lsfd would name it, its other
//! end, and, for sockscope's own descriptors, what they are for.

use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;

use crate::kernel::fd_kind;
use crate::kernel::fd_table::FdLink;
use crate::model::{FdEntry, FdKind};

/// The kinds of socket descriptors, by inode: a socket's family and type never change, so each is
/// asked once (three `getsockopt` calls) and forgotten when its descriptor is gone.
#[derive(Debug, Default)]
pub struct FdLabels {
    by_inode: HashMap<u64, String>,
}

/// What the lab knows of one of its own descriptors.
#[derive(Debug, Default)]
pub struct Known {
    pub name: String,
    /// The other end, when the kernel or the lab can say (`@srv`, `fd 4`).
    pub peer: Option<String>,
    /// A unix socket's bound address.
    pub address: Option<String>,
}

impl FdLabels {
    /// The kind of `link` as the descriptor table shows it.
    pub fn label(&mut self, link: &FdLink) -> String {
        match link.kind {
            FdKind::Socket => {
                let Some(inode) = link.socket_inode else {
                    return "socket".to_owned();
                };
                if let Some(label) = self.by_inode.get(&inode) {
                    return label.clone();
                }
                match fd_kind::socket_kind(link.fd, inode) {
                    Some(kind) => {
                        let label = kind.label();
                        self.by_inode.insert(inode, label.clone());
                        label
                    }
                    None => "socket".to_owned(),
                }
            }
            FdKind::Epoll => "eventpoll".to_owned(),
            FdKind::Eventfd => "eventfd".to_owned(),
            FdKind::Pipe => "pipe".to_owned(),
            FdKind::Tty => "tty".to_owned(),
            FdKind::File if fd_kind::is_fifo(link.fd) => "FIFO".to_owned(),
            FdKind::File if fd_kind::is_char_device(link.fd) => "char device".to_owned(),
            FdKind::File => "file".to_owned(),
            FdKind::Other => link
                .target
                .strip_prefix("anon_inode:")
                .map_or("other", |inner| {
                    inner.trim_start_matches('[').trim_end_matches(']')
                })
                .to_owned(),
        }
    }

    /// Forgets the inodes no descriptor points at any more.
    pub fn keep_only(&mut self, links: &[FdLink]) {
        let live: HashSet<u64> = links.iter().filter_map(|link| link.socket_inode).collect();
        self.by_inode.retain(|inode, _| live.contains(inode));
    }
}

/// One row per descriptor. `purpose` names sockscope's own descriptors (and stdio).
pub fn rows(
    links: &[FdLink],
    labels: &mut FdLabels,
    known: &HashMap<RawFd, Known>,
    purpose: impl Fn(RawFd) -> Option<&'static str>,
) -> Vec<FdEntry> {
    let entries: Vec<FdEntry> = links
        .iter()
        .map(|link| {
            let label = labels.label(link);
            let mine = known.get(&link.fd);
            let purpose = if mine.is_some() {
                None
            } else {
                purpose(link.fd)
            };
            FdEntry {
                fd: link.fd,
                kind: link.kind,
                target: link.target.clone(),
                name: mine
                    .map(|known| known.name.clone())
                    .or_else(|| purpose.map(str::to_owned)),
                peer: mine.and_then(|known| known.peer.clone()),
                address: mine.and_then(|known| known.address.clone()),
                purpose: purpose.map(str::to_owned),
                label,
            }
        })
        .collect();
    labels.keep_only(links);
    with_pipe_peers(entries)
}

/// The two ends of a pipe (or of a FIFO) are two descriptors of one inode: `/proc` shows the
/// same target for both, so each end's peer is the other descriptor with that target.
fn with_pipe_peers(mut entries: Vec<FdEntry>) -> Vec<FdEntry> {
    let mut by_target: HashMap<String, Vec<RawFd>> = HashMap::new();
    for entry in &entries {
        if entry.label == "pipe" || entry.label == "FIFO" {
            by_target
                .entry(entry.target.clone())
                .or_default()
                .push(entry.fd);
        }
    }
    for entry in &mut entries {
        if entry.peer.is_some() {
            continue;
        }
        if let Some(fds) = by_target.get(&entry.target) {
            let others: Vec<String> = fds
                .iter()
                .filter(|&&fd| fd != entry.fd)
                .map(|fd| format!("fd {fd}"))
                .collect();
            if !others.is_empty() {
                entry.peer = Some(others.join(", "));
            }
        }
    }
    entries
}
