//! The item behind a selected row of a panel.

use crate::model::{
    FdEntry, KernelOnly, ListenerInfo, PortBand, PortUse, Segment, SocketInfo, TraceEntry,
};

/// What a selected row stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item<'a> {
    Fd(&'a FdEntry),
    Listener(&'a ListenerInfo),
    Socket(&'a SocketInfo),
    KernelOnly(&'a KernelOnly),
    PortBand(PortBand),
    Port(&'a PortUse),
    Trace(&'a TraceEntry),
    /// A captured segment on the ladder.
    Segment(&'a Segment),
    /// The ladder's "... N segments dropped" line: segments the capture's ring let go.
    SegmentGap(u64),
}

impl Item<'_> {
    /// The lab name the item carries, if any.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match self {
            Item::Fd(fd) => fd.name.as_deref(),
            Item::Listener(listener) => Some(&listener.name),
            Item::Socket(socket) => Some(&socket.name),
            Item::KernelOnly(held) => held.was.as_deref(),
            Item::Port(port) => Some(&port.name),
            Item::Trace(entry) => entry.name.as_deref(),
            Item::Segment(segment) => segment.from_name.as_deref(),
            Item::PortBand(_) | Item::SegmentGap(_) => None,
        }
    }
}
