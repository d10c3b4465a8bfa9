//! The dashboard rendered headless: the same `ui::render` as the terminal, into a buffer.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::svg::{SvgOptions, color_rgb};
use crate::app::App;
use crate::settings::ThemeName;
use crate::ui;
use crate::ui::theme::Theme;

/// The screen `ui::render` draws for `app` at `columns` x `rows`.
#[must_use]
pub fn render_screen(app: &App, columns: u16, rows: u16) -> Buffer {
    let mut terminal =
        Terminal::new(TestBackend::new(columns, rows)).expect("a test backend never fails");
    terminal
        .draw(|frame| ui::render(frame, app))
        .expect("drawing into memory never fails");
    terminal.backend().buffer().clone()
}

/// SVG colours that match the theme: what its base style leaves to the terminal gets the
/// theme's own idea of a background (dark themes dark, the light theme light).
#[must_use]
pub fn svg_options(theme: ThemeName, title: Option<String>) -> SvgOptions {
    let base = Theme::of(theme).base;
    let defaults = SvgOptions::default();
    let (text_default, paper_default) = match theme {
        ThemeName::Light => ((0x20, 0x20, 0x20), (0xfa, 0xfa, 0xfa)),
        ThemeName::HighContrast => ((0xff, 0xff, 0xff), (0x00, 0x00, 0x00)),
        ThemeName::Default => (defaults.default_fg, defaults.default_bg),
    };
    SvgOptions {
        default_fg: base
            .fg
            .map_or(text_default, |color| color_rgb(color, text_default)),
        default_bg: base
            .bg
            .map_or(paper_default, |color| color_rgb(color, paper_default)),
        title,
        ..defaults
    }
}
