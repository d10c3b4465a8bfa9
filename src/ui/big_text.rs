//! Large text for projectors (the presenter layout), with `tui-big-text` (a ratatui widget kept
//! by the ratatui project): its 8x8 font at half height, 8 columns by 4 rows a character.
//! The font covers ASCII only, so text with anything else (Hangul) is left to the caller to
//! draw at normal size rather than drawn as blanks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Widget;
use tui_big_text::{BigText, PixelSize};

/// The rows one line of big text takes.
pub const ROWS: u16 = 4;
/// The columns one character of big text takes.
const COLUMNS_PER_CHAR: usize = 8;

/// Whether `text` can be drawn big in `width` columns: every character in the font, and room.
#[must_use]
pub fn fits(text: &str, width: u16) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|ch| ch.is_ascii() && !ch.is_ascii_control())
        && text.chars().count() * COLUMNS_PER_CHAR <= usize::from(width)
}

/// Draws `text` big at the top of `area` (check [`fits`] first).
pub fn render(buf: &mut Buffer, area: Rect, text: &str, style: Style) {
    let area = Rect {
        height: area.height.min(ROWS),
        ..area
    };
    BigText::builder()
        .pixel_size(PixelSize::HalfHeight)
        .style(style)
        .lines(vec![Line::from(text.to_owned())])
        .build()
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_that_fits_is_drawn_big_and_hangul_is_not() {
        assert!(fits("step 2/4", 64));
        assert!(!fits("step 2/4", 63), "too wide");
        assert!(!fits("단계 2/4", 200), "not in the font");
        assert!(!fits("", 10));
        let area = Rect::new(0, 0, 40, 6);
        let mut buf = Buffer::empty(area);
        render(&mut buf, area, "2/4", Style::new());
        let drawn: usize = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .filter(|&x| buf[(x, y)].symbol() != " ")
                    .count()
            })
            .sum();
        assert!(drawn > 6, "glyphs drawn: {drawn}");
        assert!(
            (0..area.width).all(|x| buf[(x, ROWS)].symbol() == " "),
            "nothing below the big rows"
        );
    }
}
