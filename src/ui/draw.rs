//! Small drawing helpers shared by the panels: display-width arithmetic (Korean is two columns a
//! character), word wrapping, panel frames and writing one line into a buffer.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::theme::Theme;
use crate::app::{App, Panel};

/// Columns `text` covers on a terminal.
#[must_use]
pub fn width(text: &str) -> usize {
    if text.is_ascii() {
        return text.len();
    }
    UnicodeWidthStr::width(text)
}

/// Columns `text` will cover once passed through [`crate::escape::visible`] (a control character
/// becomes `\xNN`), without building the escaped string.
#[must_use]
pub fn escaped_width(text: &str) -> usize {
    if text.is_ascii() && !text.bytes().any(|byte| byte.is_ascii_control()) {
        return text.len();
    }
    text.chars()
        .map(|ch| if ch.is_control() { 4 } else { char_width(ch) })
        .sum()
}

/// Columns `value` covers when displayed, without allocating.
#[must_use]
pub fn display_width(value: impl std::fmt::Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            self.0 += width(text);
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = std::fmt::write(&mut count, format_args!("{value}"));
    count.0
}

fn char_width(ch: char) -> usize {
    UnicodeWidthChar::width(ch).unwrap_or(0)
}

/// `text` cut to at most `max` columns (never in the middle of a wide character). When it had to
/// cut, the last column is a `~` so the reader sees that something is missing.
#[must_use]
pub fn clip(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(text.len());
    let mut used = 0;
    for ch in text.chars() {
        let w = char_width(ch);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(ch);
    }
    out.push('~');
    out
}

/// `text` made exactly `columns` wide: clipped, then padded with spaces.
#[must_use]
pub fn fit(text: &str, columns: usize) -> String {
    let mut out = clip(text, columns);
    let used = width(&out);
    out.extend(std::iter::repeat_n(' ', columns.saturating_sub(used)));
    out
}

/// `text` made exactly `columns` wide, aligned right.
#[must_use]
pub fn fit_right(text: &str, columns: usize) -> String {
    let clipped = clip(text, columns);
    let pad = columns.saturating_sub(width(&clipped));
    let mut out = " ".repeat(pad);
    out.push_str(&clipped);
    out
}

/// Greedy word wrap by display width; words longer than a line are broken. Newlines in `text`
/// start new lines. Always returns at least one line.
#[must_use]
pub fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split(' ').filter(|word| !word.is_empty()) {
            let word_width = width(word);
            let gap = usize::from(used > 0);
            if used + gap + word_width <= columns {
                if gap == 1 {
                    line.push(' ');
                }
                line.push_str(word);
                used += gap + word_width;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            for ch in word.chars() {
                let w = char_width(ch);
                if used + w > columns && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(ch);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// Writes `line` at row `y` of `area`. A line wider than the area is cut with a `~` in the last
/// column, so the reader sees that something is missing. Rows outside the area are ignored.
pub fn put(buf: &mut Buffer, area: Rect, y: u16, line: &Line<'_>) {
    if y < area.y || y >= area.bottom() || area.width == 0 {
        return;
    }
    let max = usize::from(area.width);
    let total: usize = line.spans.iter().map(|span| width(&span.content)).sum();
    if total <= max {
        buf.set_line(area.x, y, line, area.width);
        return;
    }
    let mut spans = Vec::with_capacity(line.spans.len());
    let mut used = 0;
    for span in &line.spans {
        let span_width = width(&span.content);
        if used + span_width < max {
            spans.push(span.clone());
            used += span_width;
            continue;
        }
        spans.push(Span::styled(clip(&span.content, max - used), span.style));
        break;
    }
    let cut = Line::from(spans).style(line.style);
    buf.set_line(area.x, y, &cut, area.width);
}

/// Writes `text` at (`x`, `y`) in `style`, never past the right edge of `area` (cut with `~`).
pub fn put_str(buf: &mut Buffer, area: Rect, x: u16, y: u16, text: &str, style: Style) {
    if y < area.y || y >= area.bottom() || x < area.x || x >= area.right() {
        return;
    }
    let room = usize::from(area.right() - x);
    buf.set_stringn(x, y, clip(text, room), room, style);
}

/// Paints row `y` of `area` with `style` (a selection or a fresh change).
pub fn paint_row(buf: &mut Buffer, area: Rect, y: u16, style: Style) {
    if y >= area.y && y < area.bottom() {
        buf.set_style(Rect::new(area.x, y, area.width, 1), style);
    }
}

/// The rows of a list below its one-line header.
#[must_use]
pub fn below_header(inner: Rect) -> Rect {
    Rect::new(
        inner.x,
        inner.y.saturating_add(1),
        inner.width,
        inner.height.saturating_sub(1),
    )
}

/// The area inside a one-cell border.
#[must_use]
pub fn inner(area: Rect) -> Rect {
    Rect::new(
        area.x.saturating_add(1),
        area.y.saturating_add(1),
        area.width.saturating_sub(2),
        area.height.saturating_sub(2),
    )
}

/// `area` limited to the frame, so nothing is ever written outside the buffer.
#[must_use]
pub fn clamp(frame: &Frame, area: Rect) -> Rect {
    frame.area().intersection(area)
}

/// Draws a bordered panel frame titled `title` (focused when `focused`), returns the inside.
pub fn panel_block(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    focused: bool,
) -> Rect {
    let (border, title_style) = if focused {
        (theme.border_focused, theme.title_focused)
    } else {
        (theme.border, theme.title)
    };
    let room = usize::from(area.width.saturating_sub(4));
    let block = Block::bordered()
        .border_style(border)
        .style(theme.base)
        .title(Line::from(Span::styled(
            format!(" {} ", clip(title, room.saturating_sub(2))),
            title_style,
        )));
    frame.render_widget(block, area);
    inner(area)
}

/// The panel frame of one of the five focusable panels.
pub fn focus_block(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, panel: Panel) -> Rect {
    let title = panel_title(app, panel);
    panel_block(frame, area, theme, &title, app.focus == panel)
}

/// Opens a focusable panel whose frame is all it draws outside: the frame (clipped to the
/// screen), and then its inside with the app's theme, or `None` when no row of the inside shows.
#[must_use]
pub fn open_focus_panel(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    panel: Panel,
) -> Option<(Rect, Theme)> {
    let area = clamp(frame, area);
    if area.is_empty() {
        return None;
    }
    let theme = Theme::of(app.theme);
    let inner = focus_block(frame, area, app, &theme, panel);
    (!inner.is_empty()).then_some((inner, theme))
}

/// Draws `line` as a list row at `y`. The selected row (of the focused panel) stands out in the
/// selection's colours, else a new row in the fresh colours (`fresh` is asked only then): the
/// whole row, painted to the edge.
pub fn put_list_row(
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    line: Line<'_>,
    theme: &Theme,
    selected: bool,
    fresh: impl FnOnce() -> bool,
) {
    let emphasis = if selected {
        Some(theme.selection)
    } else if fresh() {
        Some(theme.fresh)
    } else {
        None
    };
    let line = match emphasis {
        Some(style) => {
            paint_row(buf, area, y, style);
            restyle(line, style)
        }
        None => line,
    };
    put(buf, area, y, &line);
}

/// A panel's title with its row count, e.g. `listeners (2)`.
#[must_use]
pub fn panel_title(app: &App, panel: Panel) -> String {
    let name = app.t(panel.title_key());
    match panel {
        Panel::Ports => name.to_owned(),
        _ => format!("{name} ({})", app.rows(panel)),
    }
}

/// Every span of `line` in `style`, so a selected or fresh row reads as one block.
#[must_use]
pub fn restyle(line: Line<'_>, style: Style) -> Line<'_> {
    Line::from(
        line.spans
            .into_iter()
            .map(|span| Span::styled(span.content, style))
            .collect::<Vec<_>>(),
    )
}

/// One table column: its width and alignment.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub width: usize,
    pub right: bool,
}

/// Builds a line of cells laid out in `cols`, one space between columns. Cells past the last
/// column are dropped; a cell is clipped to its column.
#[must_use]
pub fn row<'a>(cols: &[Col], cells: Vec<(String, Style)>) -> Line<'a> {
    let mut spans = Vec::with_capacity(cells.len() * 2);
    for (index, (col, (text, style))) in cols.iter().zip(cells).enumerate() {
        if index > 0 {
            spans.push(Span::raw(" "));
        }
        let shown = if col.right {
            fit_right(&text, col.width)
        } else {
            fit(&text, col.width)
        };
        spans.push(Span::styled(shown, style));
    }
    Line::from(spans)
}

/// Human-sized byte counts that stay narrow: `512`, `9999`, `12.3K`, `4.5M`, `1.2G`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
        let count = self.0;
        if count >= 10_000 {
            for (size, unit) in UNITS {
                if count >= size {
                    let tenths = count * 10 / size;
                    return if tenths >= 1000 {
                        write!(f, "{}{unit}", tenths / 10)
                    } else {
                        write!(f, "{}.{}{unit}", tenths / 10, tenths % 10)
                    };
                }
            }
        }
        write!(f, "{count}")
    }
}

/// [`Bytes`] as a string.
#[must_use]
pub fn bytes(count: u64) -> String {
    Bytes(count).to_string()
}

/// A duration in milliseconds as `850ms`, `12s`, `3m04s`, `2h05m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(pub u64);

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        let seconds = ms / 1000;
        if ms < 1000 {
            write!(f, "{ms}ms")
        } else if seconds < 60 {
            write!(f, "{seconds}s")
        } else if seconds < 3600 {
            write!(f, "{}m{:02}s", seconds / 60, seconds % 60)
        } else {
            write!(f, "{}h{:02}m", seconds / 3600, seconds / 60 % 60)
        }
    }
}

/// [`Elapsed`] as a string.
#[must_use]
pub fn duration(ms: u64) -> String {
    Elapsed(ms).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_columns_not_chars() {
        assert_eq!(clip("한국어", 4), "한~");
        assert_eq!(clip("한국어", 6), "한국어");
        assert_eq!(fit("한국어", 5), "한국~");
        assert_eq!(width(&fit("한국어", 5)), 5);
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit_right("7", 3), "  7");
        assert_eq!(clip("abc", 0), "");
    }

    #[test]
    fn wrapping_respects_display_width() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("가나다 라마", 6), ["가나다", "라마"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        for line in wrap("커널이 연결을 받아 두었다가 accept()가 꺼내 갑니다", 9)
        {
            assert!(width(&line) <= 9, "{line}");
        }
    }

    #[test]
    fn lines_too_wide_are_cut_with_a_mark() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        let line = Line::from(vec![Span::raw("abc "), Span::raw("한국어")]);
        put(&mut buf, Rect::new(0, 0, 7, 1), 0, &line);
        let row: String = (0..8).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(row, "abc 한 ~ ");
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        put_str(&mut buf, Rect::new(0, 0, 8, 1), 5, 0, "xyz1", Style::new());
        let row: String = (0..8).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(row, "     xy~");
    }

    #[test]
    fn numbers_stay_narrow() {
        assert_eq!(bytes(512), "512");
        assert_eq!(bytes(12_345), "12.0K");
        assert_eq!(bytes(5 << 20), "5.0M");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(64_000), "1m04s");
        assert_eq!(duration(7_500_000), "2h05m");
        assert_eq!(display_width(Elapsed(64_000)), 5);
        assert_eq!(display_width(Bytes(12_345)), 5);
        assert_eq!(escaped_width("a\u{1b}b"), 6);
        assert_eq!(escaped_width("한a"), 3);
    }
}
