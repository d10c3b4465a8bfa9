//! The help overlay (`?`): every key, grouped, in one or more columns so it fits at 80x24.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Clear;

use super::draw;
use super::theme::Theme;
use crate::app::App;

/// A line of the help: a section heading, or keys and what they do (a locale key).
#[derive(Debug, Clone, Copy)]
enum Entry {
    Heading(&'static str),
    Key(&'static str, &'static str),
}

const ENTRIES: [Entry; 32] = [
    Entry::Heading("help.section_move"),
    Entry::Key("Up Down k j", "help.move"),
    Entry::Key("PgUp PgDn", "help.page"),
    Entry::Key("g G", "help.ends"),
    Entry::Key("Tab l", "help.next_panel"),
    Entry::Key("S-Tab h", "help.prev_panel"),
    Entry::Key("click", "help.click"),
    Entry::Heading("help.section_lab"),
    Entry::Key(":", "help.prompt"),
    Entry::Key("n", "help.new"),
    Entry::Key("c", "help.connect"),
    Entry::Key("a", "help.accept"),
    Entry::Key("A", "help.auto"),
    Entry::Key("s", "help.send"),
    Entry::Key("r", "help.recv"),
    Entry::Key("x", "help.close"),
    Entry::Key("w", "help.shutdown"),
    Entry::Key("Esc", "help.cancel_wait"),
    Entry::Heading("wire.help_section"),
    Entry::Key("v", "wire.help_deliver"),
    Entry::Key("X", "wire.help_drop"),
    Entry::Heading("help.section_view"),
    Entry::Key("p", "help.freeze"),
    Entry::Key("L", "help.layout"),
    Entry::Key("d", "help.ladder"),
    Entry::Key("?", "help.help"),
    Entry::Key("C-z", "help.suspend"),
    Entry::Key("q", "help.quit"),
    Entry::Heading("help.section_lecture"),
    Entry::Key("Right Space", "help.next"),
    Entry::Key("Left", "help.prev"),
    Entry::Key("r", "help.restart"),
];

fn key_label(app: &App, key: &'static str) -> &'static str {
    if key == "click" {
        app.t("help.key_click")
    } else {
        key
    }
}

/// The entries in columns of at most `rows` lines: whole sections per column when that needs no
/// more columns than cutting anywhere would.
fn flow(rows: usize) -> Vec<Vec<Entry>> {
    let rows = rows.max(1);
    let plain: Vec<Vec<Entry>> = ENTRIES.chunks(rows).map(<[Entry]>::to_vec).collect();
    let mut sections: Vec<Vec<Entry>> = Vec::new();
    for entry in ENTRIES {
        if matches!(entry, Entry::Heading(_)) || sections.is_empty() {
            sections.push(Vec::new());
        }
        sections
            .last_mut()
            .expect("one section at least")
            .push(entry);
    }
    let mut columns: Vec<Vec<Entry>> = vec![Vec::new()];
    for section in sections {
        let current = columns.last_mut().expect("one column at least");
        if !current.is_empty() && current.len() + section.len() > rows {
            columns.push(Vec::new());
        }
        let current = columns.last_mut().expect("one column at least");
        if section.len() > rows {
            return plain;
        }
        current.extend(section);
    }
    if columns.len() > plain.len() {
        plain
    } else {
        columns
    }
}

/// Draws the help overlay over the dashboard in `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.width < 10 || area.height < 5 {
        return;
    }
    let theme = Theme::of(app.theme);
    let key_width = ENTRIES
        .iter()
        .filter_map(|entry| match entry {
            Entry::Key(key, _) => Some(draw::width(key_label(app, key))),
            Entry::Heading(_) => None,
        })
        .max()
        .unwrap_or(1);
    let text_width = ENTRIES
        .iter()
        .map(|entry| match entry {
            Entry::Key(_, text) => key_width + 2 + draw::width(app.t(text)),
            Entry::Heading(text) => draw::width(app.t(text)),
        })
        .max()
        .unwrap_or(1);
    let margin = if area.height >= 24 { 2 } else { 0 };
    let max_rows = usize::from(area.height.saturating_sub(3 + margin)).max(1);
    let columns = flow(max_rows);
    let rows = columns.iter().map(Vec::len).max().unwrap_or(1);
    let wanted_width = (columns.len() * (text_width + 3) + 1) as u16;
    let width = wanted_width.min(area.width.saturating_sub(margin));
    let height = (rows as u16 + 3).min(area.height.saturating_sub(margin));
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, popup);
    let inner = draw::panel_block(frame, popup, &theme, app.t("help.title"), true);
    if inner.is_empty() {
        return;
    }
    let column_width = usize::from(inner.width) / columns.len();
    let buf = frame.buffer_mut();
    for (index, column) in columns.iter().enumerate() {
        let x = inner.x + (index * column_width) as u16 + 1;
        let cell = Rect::new(
            x,
            inner.y,
            (column_width as u16)
                .saturating_sub(1)
                .min(inner.right().saturating_sub(x)),
            inner.height,
        );
        for (row, entry) in column.iter().enumerate() {
            let line = match entry {
                Entry::Heading(text) => Line::from(Span::styled(
                    app.t(text),
                    theme.title_focused.add_modifier(Modifier::UNDERLINED),
                )),
                Entry::Key(key, text) => Line::from(vec![
                    Span::styled(
                        draw::fit(key_label(app, key), key_width),
                        theme.accent.add_modifier(Modifier::BOLD),
                    ),
                    Span::raw("  "),
                    Span::raw(draw::clip(
                        app.t(text),
                        usize::from(cell.width).saturating_sub(key_width + 2),
                    )),
                ]),
            };
            draw::put(buf, cell, cell.y + row as u16, &line);
        }
    }
    let footer = Line::from(Span::styled(app.t("help.close_hint"), theme.muted));
    draw::put(
        buf,
        Rect::new(
            inner.x + 1,
            inner.y,
            inner.width.saturating_sub(1),
            inner.height,
        ),
        inner.bottom() - 1,
        &footer,
    );
}
