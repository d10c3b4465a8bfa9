//! Colours and emphasis, one set per `--theme`. Panels never name a colour: they ask the theme.

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

impl Theme {
    /// The styles of a named theme.
    #[must_use]
    pub fn of(name: ThemeName) -> Theme {
        match name {
            ThemeName::Default => Self::dark(),
            ThemeName::Light => Self::light(),
            ThemeName::HighContrast => Self::high_contrast(),
        }
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
