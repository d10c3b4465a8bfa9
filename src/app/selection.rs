//! The rows each panel lists, and the item behind a selected row.

use super::{App, Panel};
use crate::model::{
    FdEntry, KernelOnly, ListenerInfo, PortBand, PortUse, Role, SocketInfo, TraceEntry,
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
            Item::PortBand(_) => None,
        }
    }
}

impl App {
    /// The sockets the connections panel lists (everything but listeners), in creation order.
    pub fn connections(&self) -> impl Iterator<Item = &SocketInfo> {
        self.snapshot
            .sockets
            .iter()
            .filter(|socket| socket.role != Role::Listener)
    }

    /// How many rows `panel` lists.
    #[must_use]
    pub fn rows(&self, panel: Panel) -> usize {
        let snapshot = &self.snapshot;
        match panel {
            Panel::Fds => snapshot.fds.len(),
            Panel::Listeners => snapshot.listeners.len(),
            Panel::Connections => self.connections().count() + snapshot.kernel_only.len(),
            Panel::Ports => PortBand::ALL.len() + snapshot.ports.in_use.len(),
            Panel::Trace => snapshot.trace.len(),
        }
    }

    /// The item on row `index` of `panel`.
    #[must_use]
    pub fn item_at(&self, panel: Panel, index: usize) -> Option<Item<'_>> {
        let snapshot = &self.snapshot;
        match panel {
            Panel::Fds => snapshot.fds.get(index).map(Item::Fd),
            Panel::Listeners => snapshot.listeners.get(index).map(Item::Listener),
            Panel::Connections => {
                let live = self.connections().count();
                if index < live {
                    self.connections().nth(index).map(Item::Socket)
                } else {
                    snapshot.kernel_only.get(index - live).map(Item::KernelOnly)
                }
            }
            Panel::Ports => PortBand::ALL
                .get(index)
                .copied()
                .map(Item::PortBand)
                .or_else(|| {
                    snapshot
                        .ports
                        .in_use
                        .get(index - PortBand::ALL.len())
                        .map(Item::Port)
                }),
            Panel::Trace => snapshot.trace.get(index).map(Item::Trace),
        }
    }

    /// The item selected in the focused panel.
    #[must_use]
    pub fn selected_item(&self) -> Option<Item<'_>> {
        self.item_at(self.focus, self.selected_index(self.focus))
    }
}
