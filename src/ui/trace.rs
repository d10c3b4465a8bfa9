//! The syscall trace, newest at the bottom: failures in the error style, the `EAGAIN` and
//! `EINPROGRESS` of non-blocking life in the warning style. Below the list, the latest command
//! the lab refused and the probe errors, so nothing that went wrong is hidden.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw;
use super::scroll::{list_row, scroll_offset};
use super::theme::Theme;
use crate::app::{App, Panel};
use crate::escape::visible;
use crate::model::TraceEntry;
use crate::text;

/// The style of a trace line.
#[must_use]
pub fn entry_style(theme: &Theme, entry: &TraceEntry) -> Style {
    if entry.failed {
        theme.error
    } else if entry.errno.is_some() {
        theme.warning
    } else {
        Style::new()
    }
}

/// `call = result`, escaped.
#[must_use]
pub fn entry_text(entry: &TraceEntry) -> String {
    format!("{} = {}", visible(&entry.call), visible(&entry.result))
}

/// How many rows at the bottom hold refusals and probe errors.
fn footer_height(app: &App, inner: Rect) -> u16 {
    let snapshot = &app.snapshot;
    let wanted =
        u16::from(!snapshot.errors.is_empty()) + u16::from(!snapshot.probe_errors.is_empty());
    wanted.min(inner.height / 2)
}

fn list_area(app: &App, inner: Rect) -> Rect {
    let footer = footer_height(app, inner);
    Rect::new(inner.x, inner.y, inner.width, inner.height - footer)
}

fn title(app: &App) -> String {
    let base = draw::panel_title(app, Panel::Trace);
    let dropped = app.snapshot.trace_dropped;
    if dropped == 0 {
        base
    } else {
        let more = text::format(
            app.lang,
            "ui.trace_dropped",
            &[("count", &dropped.to_string())],
        );
        format!("{base} {more}")
    }
}

/// Draws the trace into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(app.theme);
    let inner = draw::panel_block(frame, area, &theme, &title(app), app.focus == Panel::Trace);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    let list = list_area(app, inner);
    let trace = &app.snapshot.trace;
    if trace.is_empty() && list.height > 0 {
        let empty = Line::from(Span::styled(app.t("ui.no_trace"), theme.muted));
        draw::put(buf, list, list.y, &empty);
    }
    let selected = app.selected_index(Panel::Trace);
    let offset = scroll_offset(selected, usize::from(list.height));
    for (index, entry) in trace
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(list.height))
    {
        let y = list.y + (index - offset) as u16;
        let style = if app.focus == Panel::Trace && index == selected {
            draw::paint_row(buf, list, y, theme.selection);
            theme.selection
        } else {
            entry_style(&theme, entry)
        };
        let text = draw::clip(&entry_text(entry), usize::from(list.width));
        draw::put(buf, list, y, &Line::from(Span::styled(text, style)));
    }
    let mut y = list.bottom();
    let snapshot = &app.snapshot;
    if let Some(refusal) = snapshot.errors.last() {
        let text = format!(
            "! {}: {}",
            visible(&refusal.command),
            visible(&refusal.message)
        );
        draw::put(buf, inner, y, &Line::from(Span::styled(text, theme.error)));
        y += 1;
    }
    if let Some(first) = snapshot.probe_errors.first() {
        let text = text::format(
            app.lang,
            "ui.probe_errors",
            &[
                ("count", &snapshot.probe_errors.len().to_string()),
                ("first", &visible(first)),
            ],
        );
        draw::put(
            buf,
            inner,
            y,
            &Line::from(Span::styled(format!("! {text}"), theme.warning)),
        );
    }
}

/// The trace row under screen row `row` of a panel drawn in `area`.
#[must_use]
pub(crate) fn hit(app: &App, area: Rect, row: u16) -> Option<usize> {
    let inner = draw::inner(area);
    list_row(
        list_area(app, inner),
        row,
        app.selected_index(Panel::Trace),
        app.rows(Panel::Trace),
    )
}
