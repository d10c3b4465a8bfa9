//! The status line: the last message (or the lab's last refusal, or a key hint) and the flags on
//! the right; in prompt mode, the `:` command line with a visible cursor.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::draw;
use super::theme::Theme;
use crate::app::{App, Mode};
use crate::escape::visible;
use crate::text;

/// Draws the status line (or the prompt) into `area` (its first row).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let area = Rect::new(area.x, area.y, area.width, 1);
    let theme = Theme::of(app.theme);
    frame.buffer_mut().set_style(area, theme.base);
    if app.mode == Mode::Prompt {
        prompt(frame, area, app, &theme);
        return;
    }
    let flags = flags(app, &theme);
    let flags_width: usize = flags.iter().map(|span| draw::width(&span.content)).sum();
    let flags_width = flags_width.min(usize::from(area.width)) as u16;
    let left = Rect::new(area.x, area.y, area.width - flags_width, 1);
    let right = Rect::new(left.right(), area.y, flags_width, 1);
    let (message, style) = message(app, &theme);
    let buf = frame.buffer_mut();
    let shown = draw::clip(&message, usize::from(left.width.saturating_sub(1)));
    draw::put(buf, left, left.y, &Line::from(Span::styled(shown, style)));
    draw::put(buf, right, right.y, &Line::from(flags));
}

/// What the left part says: the app's status, else the lab's newest refusal, else a hint.
fn message(app: &App, theme: &Theme) -> (String, ratatui::style::Style) {
    if let Some(waiting) = &app.waiting {
        return (waiting_line(app, waiting), theme.warning);
    }
    if let Some(status) = &app.status {
        let style = if status.error {
            theme.error
        } else {
            ratatui::style::Style::new()
        };
        return (visible(&status.text), style);
    }
    let snapshot = &app.snapshot;
    let last_call = snapshot.trace.last().map_or(0, |entry| entry.at_ms);
    if let Some(refusal) = snapshot
        .errors
        .last()
        .filter(|refusal| refusal.at_ms >= last_call)
    {
        let text = format!(
            "! {}: {}",
            visible(&refusal.command),
            visible(&refusal.message)
        );
        return (text, theme.error);
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
        return (text, theme.warning);
    }
    let key = if app.lecture.is_some() {
        "ui.hint_lecture"
    } else {
        "ui.hint"
    };
    (app.t(key).to_owned(), theme.muted)
}

/// The flags on the right: frozen, presenter layout, language, help key.
fn flags<'a>(app: &App, theme: &Theme) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    if app.frozen {
        spans.push(Span::styled(
            format!(" {} ", app.t("ui.frozen")),
            theme
                .warning
                .add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(wire) = &app.snapshot.wire {
        spans.push(Span::styled(
            super::wire::short_line(app, wire),
            theme.accent,
        ));
        spans.push(Span::raw(" "));
    }
    if let Some(lecture) = &app.lecture {
        spans.push(Span::styled(
            text::format(
                app.lang,
                "ui.step",
                &[
                    ("step", &lecture.step.to_string()),
                    ("steps", &lecture.steps.to_string()),
                ],
            ),
            theme.accent,
        ));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(
        format!("{} ", app.t("ui.help_key")),
        theme.muted,
    ));
    spans
}

/// `:text` with the cursor drawn as a reversed cell (and the terminal cursor placed there),
/// scrolled so the cursor stays visible.
fn prompt(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let prompt = &app.prompt;
    // Every char shown escaped, so a pasted control character cannot act on the terminal.
    let shown: Vec<String> = prompt
        .text
        .chars()
        .map(|ch| visible(&ch.to_string()))
        .collect();
    let cursor = prompt.cursor.min(shown.len());
    let room = usize::from(area.width.saturating_sub(2)).max(1);
    // Skip leading chars until the text before the cursor, plus the cursor cell, fits.
    let mut first = 0;
    let width_between =
        |from: usize, to: usize| -> usize { shown[from..to].iter().map(|s| draw::width(s)).sum() };
    while first < cursor && width_between(first, cursor) + 1 > room {
        first += 1;
    }
    let mut spans = vec![Span::styled(":", theme.accent.add_modifier(Modifier::BOLD))];
    if first > 0 {
        spans.push(Span::styled("~", theme.muted));
    }
    let before: String = shown[first..cursor].concat();
    spans.push(Span::raw(before.clone()));
    let under = shown.get(cursor).cloned().unwrap_or_else(|| " ".to_owned());
    spans.push(Span::styled(
        under,
        ratatui::style::Style::new().add_modifier(Modifier::REVERSED),
    ));
    let after: String = shown
        .get(cursor + 1..)
        .map(<[String]>::concat)
        .unwrap_or_default();
    spans.push(Span::raw(after));
    let x = area.x + 1 + u16::from(first > 0) + draw::width(&before) as u16;
    draw::put(frame.buffer_mut(), area, area.y, &Line::from(spans));
    if x < area.right() {
        frame.set_cursor_position(Position::new(x, area.y));
    }
}

/// `waiting: wait 1h (59:58 left) · queued: close c1; send c1 "hi" · Esc cancels`.
fn waiting_line(app: &App, waiting: &crate::app::WaitView) -> String {
    let left_ms = waiting.until_ms.saturating_sub(app.now_ms);
    let left = format_left(left_ms);
    // How to cancel comes before the queue, which a narrow screen cuts first.
    let key = if waiting.queued.is_empty() {
        "status.waiting_alone"
    } else {
        "status.waiting"
    };
    let queued = visible(&waiting.queued.join("; "));
    text::format(
        app.lang,
        key,
        &[
            ("what", &visible(&waiting.what)),
            ("left", &left),
            ("count", &waiting.queued.len().to_string()),
            ("queued", &queued),
        ],
    )
}

/// `1:02:03`, `59:58` or `4.2s`: the time a wait has left.
fn format_left(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds >= 3600 {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    } else if seconds >= 60 {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    } else {
        format!("{}.{}s", seconds, ms % 1000 / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::format_left;

    #[test]
    fn time_left_reads_like_a_clock() {
        assert_eq!(format_left(4_250), "4.2s");
        assert_eq!(format_left(3_599_000), "59:59");
        assert_eq!(format_left(3_723_000), "1:02:03");
    }
}
