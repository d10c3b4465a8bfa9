//! Drawing the dashboard from `&App`. Rendering is pure: it reads the app and changes nothing.
//!
//! [`render`] draws the whole screen; every panel also has its own `render(frame, area, app)` so
//! it can be drawn (and tested) alone.

pub mod big_text;
pub mod connections;
pub mod draw;
pub mod explain;
pub mod explain_segment;
pub mod fds;
pub mod help;
pub mod ladder;
pub mod layout;
pub mod listeners;
pub mod narration;
pub mod nat;
pub mod para;
pub mod ports;
pub mod scroll;
pub mod status;
pub mod theme;
pub mod trace;
pub mod trace_board;
pub mod watch;
pub mod wire;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::app::{App, Mode, Panel};
use crate::text;

pub use self::layout::{MIN_HEIGHT, MIN_WIDTH};
pub use self::theme::Theme;

/// Draws the dashboard for `app` on the whole frame.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(app.theme);
    frame.buffer_mut().set_style(area, theme.base);
    let Some(areas) = layout::areas(app, area) else {
        too_small(frame, area, app);
        return;
    };
    for panel in Panel::ALL {
        if let Some(rect) = areas.panel(panel) {
            render_panel(frame, rect, app, panel);
        }
    }
    if let (Some(rect), Some(view)) = (areas.nat, &app.snapshot.nat) {
        nat::render_table(frame, rect, &nat::NatPanel::of(view, app.lang, app.theme));
    }
    if let Some(rect) = areas.explain {
        explain::render(frame, rect, app);
    }
    if let Some(rect) = areas.narration {
        narration::render(frame, rect, app);
    }
    status::render(frame, areas.status, app);
    if app.mode == Mode::Help {
        help::render(frame, area, app);
    }
}

/// Draws one of the focusable panels into `area`.
pub fn render_panel(frame: &mut Frame, area: Rect, app: &App, panel: Panel) {
    match panel {
        Panel::Fds => fds::render(frame, area, app),
        Panel::Listeners => listeners::render(frame, area, app),
        Panel::Connections => connections::render(frame, area, app),
        Panel::Ladder => ladder::render(frame, area, app),
        Panel::Ports => ports::render(frame, area, app),
        Panel::Trace => trace::render(frame, area, app),
    }
}

/// The centred "terminal too small: need `WxH`, have `wxh`" message, wrapped to whatever width there
/// is.
fn too_small(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme::of(app.theme);
    let sizes = text::format(
        app.lang,
        "ui.too_small_sizes",
        &[
            ("need", &format!("{MIN_WIDTH}x{MIN_HEIGHT}")),
            ("have", &format!("{}x{}", area.width, area.height)),
        ],
    );
    let width = usize::from(area.width);
    let mut lines: Vec<(String, ratatui::style::Style)> = Vec::new();
    for line in draw::wrap(app.t("ui.too_small"), width) {
        lines.push((line, theme.warning.add_modifier(Modifier::BOLD)));
    }
    for line in draw::wrap(&sizes, width) {
        lines.push((line, theme.base));
    }
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    let buf = frame.buffer_mut();
    for (offset, (line, style)) in lines.into_iter().enumerate() {
        let y = top + offset as u16;
        if y >= area.bottom() {
            break;
        }
        let x = area.x + (area.width.saturating_sub(draw::width(&line) as u16)) / 2;
        let row = Rect::new(x, y, area.right() - x, 1);
        draw::put(buf, row, y, &Line::from(Span::styled(line, style)));
    }
}
