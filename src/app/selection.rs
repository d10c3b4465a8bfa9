//! The rows each panel lists, and the item behind a selected row.

use super::App;
use super::item::Item;
use super::ladder::{Ladder, Subject};
use super::panel::Panel;
use crate::model::{PortBand, Role, SocketInfo};

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
            Panel::Ladder => self.ladder().rows.len(),
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
            Panel::Ladder => self.ladder().item(index),
        }
    }

    /// The item selected in the focused panel.
    #[must_use]
    pub fn selected_item(&self) -> Option<Item<'_>> {
        self.item_at(self.focus, self.selected_index(self.focus))
    }

    /// The panel whose selection the ladder follows: the focused one, or the one that had the
    /// focus before the ladder took it.
    #[must_use]
    pub fn ladder_source(&self) -> Panel {
        if self.focus == Panel::Ladder {
            self.ladder_source
        } else {
            self.focus
        }
    }

    /// The ladder of the connection selected in the other panels (else of the newest one).
    #[must_use]
    pub fn ladder(&self) -> Ladder<'_> {
        let source = self.ladder_source();
        let item = if source == Panel::Ladder {
            None
        } else {
            self.item_at(source, self.selected_index(source))
        };
        Ladder::build(&self.snapshot, Subject::of(&self.snapshot, item))
    }
}
