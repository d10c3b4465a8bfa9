//! Colours and emphasis, one set per `--theme`. Panels never name a colour: they ask the theme.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};

use crate::model::PortBand;
use crate::model::TcpState;
use crate::settings::ThemeName;

/// Every style the dashboard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The whole screen (the high-contrast theme paints it black).
    pub base: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub title_focused: Style,
    /// Column headers.
    pub header: Style,
    /// The selected row of the focused panel.
    pub selection: Style,
    /// A row that changed a moment ago.
    pub fresh: Style,
    pub error: Style,
    pub warning: Style,
    pub muted: Style,
    /// Something to notice: a filled queue slot's count, a command to type.
    pub accent: Style,
    /// A filled slot of an accept queue.
    pub slot_filled: Style,
    pub slot_empty: Style,
    /// The lecture's failure banner.
    pub banner: Style,
    pub band_well_known: Style,
    pub band_registered: Style,
    pub band_dynamic: Style,
    pub band_ephemeral: Style,
    /// `LISTEN`.
    pub state_listen: Style,
    /// `ESTABLISHED`.
    pub state_open: Style,
    /// `SYN_SENT`, `SYN_RECV`: the handshake.
    pub state_opening: Style,
    /// `FIN_WAIT1`/`2`, `CLOSE_WAIT`, `LAST_ACK`, `CLOSING`: the teardown.
    pub state_closing: Style,
    /// `TIME_WAIT`.
    pub state_time_wait: Style,
    /// `CLOSE`, `UNCONN`, unknown.
    pub state_closed: Style,
}

/// The items a config file may recolour (`[colors.THEME] ITEM = {...}`), named as the fields.
pub const ITEMS: &[&str] = &[
    "base",
    "border",
    "border_focused",
    "title",
    "title_focused",
    "header",
    "selection",
    "fresh",
    "error",
    "warning",
    "muted",
    "accent",
    "slot_filled",
    "slot_empty",
    "banner",
    "band_well_known",
    "band_registered",
    "band_dynamic",
    "band_ephemeral",
    "state_listen",
    "state_open",
    "state_opening",
    "state_closing",
    "state_time_wait",
    "state_closed",
];

/// A colour the user chose for one item of one theme (from the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemColor {
    pub theme: ThemeName,
    /// One of [`ITEMS`].
    pub item: &'static str,
    pub fg: Option<Color>,
    pub bg: Option<Color>,
}

/// The user's colours, set once at start (before any screen draws): every `Theme::of` applies
/// them, so the panels, which ask for a theme by name, need not carry them around.
static USER_COLORS: OnceLock<Vec<ItemColor>> = OnceLock::new();

/// Sets the user's colours; `false` if they were set before (the first set stays).
pub fn set_user_colors(colors: Vec<ItemColor>) -> bool {
    USER_COLORS.set(colors).is_ok()
}

impl Theme {
    /// The styles of a named theme, with the user's colours for it.
    #[must_use]
    pub fn of(name: ThemeName) -> Theme {
        let mut theme = match name {
            ThemeName::Default => Self::dark(),
            ThemeName::Light => Self::light(),
            ThemeName::HighContrast => Self::high_contrast(),
        };
        for choice in USER_COLORS.get().into_iter().flatten() {
            if choice.theme != name {
                continue;
            }
            if let Some(style) = theme.item_mut(choice.item) {
                if let Some(fg) = choice.fg {
                    *style = style.fg(fg);
                }
                if let Some(bg) = choice.bg {
                    *style = style.bg(bg);
                }
            }
        }
        theme
    }

    /// The style of an item by its name in [`ITEMS`].
    fn item_mut(&mut self, item: &str) -> Option<&mut Style> {
        Some(match item {
            "base" => &mut self.base,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "title" => &mut self.title,
            "title_focused" => &mut self.title_focused,
            "header" => &mut self.header,
            "selection" => &mut self.selection,
            "fresh" => &mut self.fresh,
            "error" => &mut self.error,
            "warning" => &mut self.warning,
            "muted" => &mut self.muted,
            "accent" => &mut self.accent,
            "slot_filled" => &mut self.slot_filled,
            "slot_empty" => &mut self.slot_empty,
            "banner" => &mut self.banner,
            "band_well_known" => &mut self.band_well_known,
            "band_registered" => &mut self.band_registered,
            "band_dynamic" => &mut self.band_dynamic,
            "band_ephemeral" => &mut self.band_ephemeral,
            "state_listen" => &mut self.state_listen,
            "state_open" => &mut self.state_open,
            "state_opening" => &mut self.state_opening,
            "state_closing" => &mut self.state_closing,
            "state_time_wait" => &mut self.state_time_wait,
            "state_closed" => &mut self.state_closed,
            _ => return None,
        })
    }

    fn dark() -> Theme {
        let fg = |color| Style::new().fg(color);
        Theme {
            base: Style::new(),
            border: fg(Color::DarkGray),
            border_focused: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            title: fg(Color::Gray),
            title_focused: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            header: fg(Color::Gray).add_modifier(Modifier::UNDERLINED),
            selection: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            fresh: Style::new().fg(Color::Black).bg(Color::LightYellow),
            error: fg(Color::LightRed).add_modifier(Modifier::BOLD),
            warning: fg(Color::Yellow),
            muted: fg(Color::DarkGray),
            accent: fg(Color::LightCyan),
            slot_filled: Style::new()
                .fg(Color::Black)
                .bg(Color::LightGreen)
                .add_modifier(Modifier::BOLD),
            slot_empty: fg(Color::DarkGray),
            banner: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            band_well_known: Style::new().fg(Color::White).bg(Color::Magenta),
            band_registered: Style::new().fg(Color::White).bg(Color::Blue),
            band_dynamic: Style::new().fg(Color::Black).bg(Color::Cyan),
            band_ephemeral: Style::new().fg(Color::Black).bg(Color::Yellow),
            state_listen: fg(Color::LightBlue),
            state_open: fg(Color::LightGreen),
            state_opening: fg(Color::Yellow),
            state_closing: fg(Color::LightMagenta),
            state_time_wait: fg(Color::Magenta),
            state_closed: fg(Color::DarkGray),
        }
    }

    fn light() -> Theme {
        let fg = |color| Style::new().fg(color);
        Theme {
            base: Style::new(),
            border: fg(Color::Gray),
            border_focused: fg(Color::Blue).add_modifier(Modifier::BOLD),
            title: fg(Color::DarkGray),
            title_focused: fg(Color::Blue).add_modifier(Modifier::BOLD),
            header: fg(Color::DarkGray).add_modifier(Modifier::UNDERLINED),
            selection: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            fresh: Style::new().fg(Color::Black).bg(Color::Yellow),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            warning: fg(Color::Rgb(0xa0, 0x60, 0x00)),
            muted: fg(Color::Gray),
            accent: fg(Color::Blue),
            slot_filled: Style::new()
                .fg(Color::White)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD),
            slot_empty: fg(Color::Gray),
            banner: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            band_well_known: Style::new().fg(Color::White).bg(Color::Magenta),
            band_registered: Style::new().fg(Color::White).bg(Color::Blue),
            band_dynamic: Style::new().fg(Color::Black).bg(Color::LightCyan),
            band_ephemeral: Style::new().fg(Color::Black).bg(Color::LightYellow),
            state_listen: fg(Color::Blue),
            state_open: fg(Color::Green),
            state_opening: fg(Color::Rgb(0xa0, 0x60, 0x00)),
            state_closing: fg(Color::Magenta),
            state_time_wait: fg(Color::Rgb(0x80, 0x00, 0x80)),
            state_closed: fg(Color::Gray),
        }
    }

    /// For projectors: black, white and yellow only, bold, no dim greys.
    fn high_contrast() -> Theme {
        let white = Style::new()
            .fg(Color::White)
            .bg(Color::Black)
            .add_modifier(Modifier::BOLD);
        let yellow = white.fg(Color::Yellow);
        let inverse = Style::new()
            .fg(Color::Black)
            .bg(Color::Yellow)
            .add_modifier(Modifier::BOLD);
        let white_block = Style::new()
            .fg(Color::Black)
            .bg(Color::White)
            .add_modifier(Modifier::BOLD);
        Theme {
            base: white,
            border: white,
            border_focused: yellow,
            title: white,
            title_focused: inverse,
            header: white.add_modifier(Modifier::UNDERLINED),
            selection: inverse,
            fresh: white_block,
            error: yellow.add_modifier(Modifier::UNDERLINED | Modifier::REVERSED),
            warning: yellow,
            muted: white.remove_modifier(Modifier::BOLD),
            accent: yellow,
            slot_filled: inverse,
            slot_empty: white,
            banner: inverse,
            band_well_known: white_block,
            band_registered: white,
            band_dynamic: white_block,
            band_ephemeral: inverse,
            state_listen: white,
            state_open: white,
            state_opening: yellow,
            state_closing: yellow.add_modifier(Modifier::UNDERLINED),
            state_time_wait: white.add_modifier(Modifier::UNDERLINED),
            state_closed: white.remove_modifier(Modifier::BOLD),
        }
    }

    /// The colour of a TCP state's family.
    #[must_use]
    pub fn state(&self, state: TcpState) -> Style {
        match state {
            TcpState::Listen => self.state_listen,
            TcpState::Established => self.state_open,
            TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv => self.state_opening,
            TcpState::FinWait1
            | TcpState::FinWait2
            | TcpState::CloseWait
            | TcpState::LastAck
            | TcpState::Closing => self.state_closing,
            TcpState::TimeWait => self.state_time_wait,
            TcpState::Close | TcpState::Unconnected | TcpState::Unknown(_) => self.state_closed,
        }
    }

    /// The colour of a band of the port map.
    #[must_use]
    pub fn band(&self, band: PortBand) -> Style {
        match band {
            PortBand::WellKnown => self.band_well_known,
            PortBand::Registered => self.band_registered,
            PortBand::Dynamic => self.band_dynamic,
            PortBand::Ephemeral => self.band_ephemeral,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ITEMS, Theme};
    use crate::settings::ThemeName;

    #[test]
    fn every_item_name_is_a_style() {
        let mut theme = Theme::of(ThemeName::Default);
        for item in ITEMS {
            assert!(theme.item_mut(item).is_some(), "{item}");
        }
        assert!(theme.item_mut("nothing").is_none());
    }
}
