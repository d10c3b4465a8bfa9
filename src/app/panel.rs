//! The panels of the lab dashboard that take the focus.

/// The panels that take the focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    Fds,
    Listeners,
    Connections,
    /// The segments of the connection selected in the other panels (issue 10).
    Ladder,
    Ports,
    Trace,
}

impl Panel {
    pub const ALL: [Panel; 6] = [
        Panel::Fds,
        Panel::Listeners,
        Panel::Connections,
        Panel::Ladder,
        Panel::Ports,
        Panel::Trace,
    ];

    pub(super) fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|panel| *panel == self)
            .expect("every panel is in ALL")
    }

    /// The locale key of the panel's title.
    #[must_use]
    pub fn title_key(self) -> &'static str {
        match self {
            Self::Fds => "panel.fds",
            Self::Listeners => "panel.listeners",
            Self::Connections => "panel.connections",
            Self::Ladder => "ladder.title",
            Self::Ports => "panel.ports",
            Self::Trace => "panel.trace",
        }
    }
}
