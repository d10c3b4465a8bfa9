//! A rendered ratatui [`Buffer`] as plain text, and the cell-grid walk shared with the SVG export.
//!
//! How ratatui 0.30 (ratatui-core 0.1) stores a wide character: `Buffer::set_stringn` puts the
//! whole grapheme (e.g. `"한"`) into the cell at its starting column and resets the
//! `cell_width - 1` cells after it to `Cell::EMPTY` (symbol `" "`, default style). Those
//! continuation cells are not a second copy of anything: `Buffer::diff` and the `Debug` impl skip
//! `cell_width - 1` cells after a wide one, whatever they hold ("hidden by multi-width symbols").
//! A cell's width is `CellDiffOption::ForcedWidth(n)` when set, otherwise the width of its symbol.
//! [`row_glyphs`] walks a row the same way, so the exports show what a terminal shows.

use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};

/// One thing drawn on the grid: the symbol of the cell at `col`, covering `width` columns.
#[derive(Debug)]
pub(super) struct Glyph<'a> {
    /// Column relative to the buffer's left edge.
    pub col: u16,
    /// Columns covered, at least 1 (the glyph's own cell plus the continuation cells it hides).
    pub width: u16,
    /// What to print: the cell's symbol with escape sequences and control characters removed,
    /// padded with spaces (or cut) so that its display width is exactly `width`.
    pub text: String,
    /// The cell that carries the glyph and its style.
    pub cell: &'a Cell,
}

/// The plain text of `buffer`: one newline-terminated line per row, trailing spaces trimmed.
///
/// A wide character is printed once and the continuation cell(s) after it are skipped, so before
/// trimming every line is exactly `buffer.area.width` columns wide. Escape sequences and control
/// characters in cells are dropped: the result is safe to print to a terminal.
#[must_use]
pub fn buffer_to_text(buffer: &Buffer) -> String {
    let mut out = String::new();
    for row in 0..buffer.area.height {
        let start = out.len();
        for glyph in row_glyphs(buffer, row) {
            out.push_str(&glyph.text);
        }
        let kept = out[start..].trim_end_matches(' ').len();
        out.truncate(start + kept);
        out.push('\n');
    }
    out
}

/// The glyphs of row `row` (relative to the buffer's top), left to right, covering every column
/// of the row exactly once.
pub(super) fn row_glyphs(buffer: &Buffer, row: u16) -> Vec<Glyph<'_>> {
    let width = buffer.area.width;
    let start = usize::from(row) * usize::from(width);
    let Some(cells) = buffer.content.get(start..start + usize::from(width)) else {
        return Vec::new();
    };
    let mut glyphs = Vec::with_capacity(cells.len());
    let mut col: u16 = 0;
    while col < width {
        let cell = &cells[usize::from(col)];
        // A zero-width symbol advances nothing on a terminal; on the grid it is a blank cell.
        // A glyph wider than what is left of the row is cut at the right edge.
        let covers = grid_width(cell).clamp(1, width - col);
        glyphs.push(Glyph {
            col,
            width: covers,
            text: fit(&printable(cell.symbol()), covers),
            cell,
        });
        col += covers;
    }
    glyphs
}

/// The columns a cell covers, as ratatui's diff counts them.
fn grid_width(cell: &Cell) -> u16 {
    if let CellDiffOption::ForcedWidth(width) = cell.diff_option {
        return width.get();
    }
    let symbol = cell.symbol();
    // `str::cell_width` debug-asserts that a single byte is not a control character (release
    // builds count it as 1); a cell filled with `set_symbol` may still hold one.
    if symbol.len() == 1 {
        1
    } else {
        symbol.cell_width()
    }
}

/// `text` made exactly `width` columns wide: cut after the last character that still fits, then
/// padded with spaces.
fn fit(text: &str, width: u16) -> String {
    let mut text_width = text.cell_width();
    let mut end = text.len();
    while text_width > width {
        end = text[..end]
            .char_indices()
            .next_back()
            .map_or(0, |(at, _)| at);
        text_width = text[..end].cell_width();
    }
    let mut out = String::with_capacity(end + usize::from(width - text_width));
    out.push_str(&text[..end]);
    out.extend(std::iter::repeat_n(' ', usize::from(width - text_width)));
    out
}

/// `symbol` without terminal escape sequences (CSI, OSC, DCS and the like, 7-bit or 8-bit) and
/// without characters that must not reach a terminal or an XML document raw: C0/C1 controls,
/// bidirectional overrides, line/paragraph separators and the non-characters U+FFFE/U+FFFF.
/// The visible text of an OSC 8 hyperlink survives; its escapes do not.
pub(super) fn printable(symbol: &str) -> String {
    if symbol.chars().all(is_safe) {
        return symbol.to_owned();
    }
    let mut out = String::with_capacity(symbol.len());
    let mut chars = symbol.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_control_string(&mut chars),
                // nF sequences (ESC, intermediates, final), e.g. ESC ( B.
                Some(' '..='/') => {
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next();
                }
                // Two-character escapes (ESC 7, ESC c, ...), or a lone ESC at the end.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_control_string(&mut chars);
            }
            ch if is_safe(ch) => out.push(ch),
            _ => {}
        }
    }
    out
}

fn is_safe(ch: char) -> bool {
    !(ch.is_control()
        || matches!(
            ch,
            '\u{61c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{fffe}'
                | '\u{ffff}'
        ))
}

/// Skips the parameters, intermediates and final byte of a CSI sequence.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.next_if(|c| matches!(c, ' '..='?')).is_some() {}
    chars.next_if(|c| matches!(c, '@'..='~'));
}

/// Skips an OSC/DCS/SOS/PM/APC payload up to and including its terminator (BEL, ESC \ or ST).
fn skip_control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(ch) = chars.next() {
        match ch {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    use super::*;

    #[test]
    fn wide_cells_are_printed_once() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 1));
        buffer.set_string(0, 0, "한국 x", Style::new());
        assert_eq!(buffer_to_text(&buffer), "한국 x\n");
        let glyphs = row_glyphs(&buffer, 0);
        assert_eq!(
            glyphs
                .iter()
                .map(|g| (g.col, g.width))
                .take(3)
                .collect::<Vec<_>>(),
            [(0, 2), (2, 2), (4, 1)]
        );
        assert_eq!(glyphs.iter().map(|g| g.width).sum::<u16>(), 10);
    }

    #[test]
    fn hidden_continuation_content_is_not_printed() {
        // Written after the wide char: ratatui's diff never draws it, nor do we.
        let mut buffer = Buffer::empty(Rect::new(0, 0, 4, 1));
        buffer.set_string(0, 0, "한", Style::new());
        buffer[(1, 0)].set_symbol("x");
        assert_eq!(buffer_to_text(&buffer), "한\n");
    }

    #[test]
    fn escapes_and_controls_are_dropped() {
        assert_eq!(printable("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(
            printable("\u{1b}]8;;https://x.test/\u{1b}\\docs\u{1b}]8;;\u{7}"),
            "docs"
        );
        assert_eq!(printable("a\u{7}b\u{202e}c\u{9b}2Jd\u{1b}(Be"), "abcde");
        let mut buffer = Buffer::empty(Rect::new(0, 0, 3, 1));
        buffer[(0, 0)].set_symbol("\u{7}");
        buffer[(1, 0)].set_symbol("\u{1b}");
        buffer[(2, 0)].set_symbol("z");
        assert_eq!(buffer_to_text(&buffer), "  z\n");
    }

    #[test]
    fn forced_width_and_overflow_keep_the_grid() {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 7, 1));
        buffer[(0, 0)]
            .set_symbol("\u{1b}]8;;u\u{1b}\\ab\u{1b}]8;;\u{1b}\\")
            .set_diff_option(CellDiffOption::ForcedWidth(3.try_into().unwrap()));
        buffer[(3, 0)].set_symbol("z");
        // A wide glyph in the last column does not fit: it becomes a blank.
        buffer[(6, 0)].set_symbol("한");
        assert_eq!(buffer_to_text(&buffer), "ab z\n");
        assert_eq!(fit("한국", 3), "한 ");
        assert_eq!(fit("", 2), "  ");
    }
}
