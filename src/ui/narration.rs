//! The lecture pane: the scenario's title, `step 3/7`, the narration wrapped to the pane, and a
//! red banner when the kernel contradicted what the step expected.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;
use super::{big_text, draw};
use crate::app::{App, LayoutMode};
use crate::escape::visible;
use crate::text;

/// Draws the narration of the current lecture step into `area` (nothing outside a lecture).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let Some(lecture) = &app.lecture else {
        return;
    };
    let theme = Theme::of(app.theme);
    let title = if lecture.title.is_empty() {
        app.t("panel.narration").to_owned()
    } else {
        visible(&lecture.title)
    };
    let inner = draw::panel_block(frame, area, &theme, &title, false);
    if inner.is_empty() {
        return;
    }
    let width = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = Vec::new();
    // The banner may take half the pane; the step and the narration keep the rest.
    let banner_room = usize::from(inner.height / 2).max(1);
    if !lecture.failures.is_empty() {
        let heading = text::format(
            app.lang,
            "ui.failures",
            &[("count", &lecture.failures.len().to_string())],
        );
        let failures: Vec<String> = lecture
            .failures
            .iter()
            .map(|failure| format!("! {}", visible(failure)))
            .collect();
        let wrapped = |texts: &[String]| -> Vec<String> {
            texts
                .iter()
                .flat_map(|text| draw::wrap(text, width))
                .collect()
        };
        let mut banner = wrapped(
            &[
                std::iter::once(heading).collect::<Vec<_>>(),
                failures.clone(),
            ]
            .concat(),
        );
        if banner.len() > banner_room {
            // Not enough room for the heading too: the failures themselves matter more.
            banner = wrapped(&failures);
        }
        if banner.len() > banner_room {
            banner.truncate(banner_room);
            if let Some(last) = banner.last_mut() {
                *last = format!("{}~", draw::clip(last, width.saturating_sub(1)));
            }
        }
        for line in banner {
            lines.push(Line::from(Span::styled(
                draw::fit(&line, width),
                theme.banner,
            )));
        }
    }
    let mut step = if lecture.step == 0 {
        app.t("ui.step_ready").to_owned()
    } else {
        text::format(
            app.lang,
            "ui.step",
            &[
                ("step", &lecture.step.to_string()),
                ("steps", &lecture.steps.to_string()),
            ],
        )
    };
    if let Some(seconds) = lecture.autoplay {
        step.push_str("  ");
        step.push_str(&text::format(
            app.lang,
            "ui.autoplay",
            &[("seconds", &seconds.to_string())],
        ));
    }
    let step_style = theme.accent.add_modifier(Modifier::BOLD);
    // For a projector: the step counter drawn big when the pane has room for it and the
    // narration, and its text is in the big font (not Hangul), with no banner above it.
    let big_step = app.layout == LayoutMode::Presenter
        && lines.is_empty()
        && inner.height >= BIG_STEP_MIN_HEIGHT
        && big_text::fits(&step, inner.width);
    if !big_step {
        lines.push(Line::from(Span::styled(step.clone(), step_style)));
    }
    for line in draw::wrap(&visible_multiline(&lecture.narration), width) {
        lines.push(Line::from(line));
    }
    let big = big_step.then_some((step.as_str(), step_style));
    put_lines(frame.buffer_mut(), inner, big, &lines);
}

/// The pane's lines from its top, under the big step counter if there is one.
fn put_lines(buf: &mut Buffer, inner: Rect, big: Option<(&str, Style)>, lines: &[Line<'_>]) {
    let mut body = inner;
    if let Some((text, style)) = big {
        big_text::render(buf, inner, text, style);
        let used = big_text::ROWS + 1;
        body = Rect {
            y: inner.y + used,
            height: inner.height - used,
            ..inner
        };
    }
    for (offset, line) in lines.iter().take(usize::from(body.height)).enumerate() {
        draw::put(buf, body, body.y + offset as u16, line);
    }
}

/// The pane height from which the step counter is drawn big: its rows, a blank, and at least
/// five lines of narration.
const BIG_STEP_MIN_HEIGHT: u16 = big_text::ROWS + 1 + 5;

/// The narration with its line breaks kept and every other control character escaped.
fn visible_multiline(text: &str) -> String {
    text.split('\n')
        .map(|line| visible(line.trim_end_matches('\r')))
        .collect::<Vec<_>>()
        .join("\n")
}
