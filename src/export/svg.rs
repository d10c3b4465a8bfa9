//! A rendered ratatui [`Buffer`] as a standalone SVG picture of the terminal grid.
//!
//! Every glyph is placed on the cell grid explicitly: each `<text>` element (one per run of
//! cells of equal style in a row) lists the x position of every character it holds, so a wide
//! (Korean, CJK) glyph starts at its column and the glyph after it at the column two cells
//! further, whatever advance widths the font that ends up drawing it has. A grapheme cluster of
//! several characters (an accented letter, an emoji sequence) or a character outside the BMP
//! gets a `<tspan>` with a single x, since renderers disagree on how they split those.

use std::fmt::Write as _;
use std::time::Duration;

use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::style::{Color, Modifier};

use super::screen_text::{Glyph, printable, row_glyphs};

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// The fonts asked for, Korean-capable monospace fonts included.
pub const FONT_FAMILY: &str = "DejaVu Sans Mono, D2Coding, Noto Sans Mono CJK KR, monospace";

/// How [`buffer_to_svg`] draws the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// Font size in px (default 14).
    pub font_size: f32,
    /// Width of one terminal cell in px (default 8.4, the advance of `DejaVu Sans Mono` at 14 px).
    pub cell_width: f32,
    /// Height of one terminal row in px (default 17).
    pub line_height: f32,
    /// The colour of `Color::Reset` text.
    pub default_fg: Rgb,
    /// The colour of `Color::Reset` background, and of the whole picture's background.
    pub default_bg: Rgb,
    /// An optional `<title>` (escaped).
    pub title: Option<String>,
}

impl Default for SvgOptions {
    fn default() -> Self {
        Self {
            font_size: 14.0,
            cell_width: 8.4,
            line_height: 17.0,
            default_fg: (0xd0, 0xd0, 0xd0),
            default_bg: (0x1c, 0x1c, 0x1c),
            title: None,
        }
    }
}

/// The xterm palette of the 16 named colours (indexes 0-15).
const ANSI16: [Rgb; 16] = [
    (0x00, 0x00, 0x00),
    (0xcd, 0x00, 0x00),
    (0x00, 0xcd, 0x00),
    (0xcd, 0xcd, 0x00),
    (0x00, 0x00, 0xee),
    (0xcd, 0x00, 0xcd),
    (0x00, 0xcd, 0xcd),
    (0xe5, 0xe5, 0xe5),
    (0x7f, 0x7f, 0x7f),
    (0xff, 0x00, 0x00),
    (0x00, 0xff, 0x00),
    (0xff, 0xff, 0x00),
    (0x5c, 0x5c, 0xff),
    (0xff, 0x00, 0xff),
    (0x00, 0xff, 0xff),
    (0xff, 0xff, 0xff),
];

/// `color` as RGB: the xterm palette for named and indexed colours, `reset` for `Color::Reset`.
#[must_use]
pub fn color_rgb(color: Color, reset: Rgb) -> Rgb {
    match color {
        Color::Reset => reset,
        Color::Black => ANSI16[0],
        Color::Red => ANSI16[1],
        Color::Green => ANSI16[2],
        Color::Yellow => ANSI16[3],
        Color::Blue => ANSI16[4],
        Color::Magenta => ANSI16[5],
        Color::Cyan => ANSI16[6],
        Color::Gray => ANSI16[7],
        Color::DarkGray => ANSI16[8],
        Color::LightRed => ANSI16[9],
        Color::LightGreen => ANSI16[10],
        Color::LightYellow => ANSI16[11],
        Color::LightBlue => ANSI16[12],
        Color::LightMagenta => ANSI16[13],
        Color::LightCyan => ANSI16[14],
        Color::White => ANSI16[15],
        Color::Indexed(index) => indexed_rgb(index),
        Color::Rgb(r, g, b) => (r, g, b),
    }
}

/// The xterm 256-colour palette: 16 named colours, a 6x6x6 cube, a 24-step grey ramp.
fn indexed_rgb(index: u8) -> Rgb {
    match index {
        0..=15 => ANSI16[usize::from(index)],
        16..=231 => {
            let cube = index - 16;
            let level = |step: u8| if step == 0 { 0 } else { 55 + 40 * step };
            (level(cube / 36), level(cube / 6 % 6), level(cube % 6))
        }
        232..=255 => {
            let grey = 8 + 10 * (index - 232);
            (grey, grey, grey)
        }
    }
}

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// What a cell looks like once `REVERSED` and `Color::Reset` are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    fg: Rgb,
    bg: Rgb,
    /// The modifiers the SVG shows: bold, italic, underlined, crossed out, dim.
    modifier: Modifier,
    hidden: bool,
}

const SHOWN: Modifier = Modifier::BOLD
    .union(Modifier::ITALIC)
    .union(Modifier::UNDERLINED)
    .union(Modifier::CROSSED_OUT)
    .union(Modifier::DIM);

fn look(cell: &Cell, options: &SvgOptions) -> Look {
    let mut fg = color_rgb(cell.fg, options.default_fg);
    let mut bg = color_rgb(cell.bg, options.default_bg);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    Look {
        fg,
        bg,
        modifier: cell.modifier & SHOWN,
        hidden: cell.modifier.contains(Modifier::HIDDEN),
    }
}

/// Geometry in px, from the options (a non-finite or non-positive size falls back to default).
struct Grid {
    cell_width: f64,
    line_height: f64,
    font_size: f64,
}

impl Grid {
    fn new(options: &SvgOptions) -> Self {
        let defaults = SvgOptions::default();
        let pick = |value: f32, default: f32| {
            if value.is_finite() && value > 0.0 {
                f64::from(value)
            } else {
                f64::from(default)
            }
        };
        Self {
            cell_width: pick(options.cell_width, defaults.cell_width),
            line_height: pick(options.line_height, defaults.line_height),
            font_size: pick(options.font_size, defaults.font_size),
        }
    }

    fn x(&self, col: u16) -> String {
        num(f64::from(col) * self.cell_width)
    }

    fn top(&self, row: u16) -> String {
        num(f64::from(row) * self.line_height)
    }

    /// The baseline of row `row`: the text's visual middle (about 0.3em above the baseline for
    /// a monospace font) on the row's middle.
    fn baseline(&self, row: u16) -> String {
        num(f64::from(row) * self.line_height + self.line_height / 2.0 + 0.3 * self.font_size)
    }
}

/// A coordinate rounded to 1/100 px, without trailing zeros (`58.8`, `0`, `16.8`).
fn num(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    // `-0` prints as "-0".
    format!("{}", rounded + 0.0)
}

/// `text` escaped for XML character data and attribute values; control characters (and
/// anything else [`printable`] rejects) are dropped.
fn xml_escape(text: &str) -> String {
    let text = printable(text);
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            ch => out.push(ch),
        }
    }
    out
}

/// The picture of `buffer`: a standalone SVG document (`xmlns`, `viewBox` of
/// `cols * cell_width` by `rows * line_height`), with a background rect, one rect per run of
/// equal non-default background colour per row, and one `<text>` per run of equal style per row
/// with every character placed on the cell grid.
///
/// Colours: `Color::Reset` is `default_fg`/`default_bg`, named and indexed colours use the xterm
/// palette. `BOLD`, `ITALIC`, `UNDERLINED`, `CROSSED_OUT` become font-weight, font-style and
/// text-decoration, `DIM` opacity 0.6, `REVERSED` swaps the colours, `HIDDEN` draws no text.
/// Text is XML-escaped; escape sequences and control characters in cells never reach the output.
#[must_use]
pub fn buffer_to_svg(buffer: &Buffer, options: &SvgOptions) -> String {
    let grid = Grid::new(options);
    let mut out = svg_open(buffer, &grid, options);
    write_picture(&mut out, buffer, &grid, options);
    out.push_str("</svg>\n");
    out
}

/// One self-contained SVG that shows `frames` in turn, each for `step`, and starts over: every
/// frame is a group drawn as [`buffer_to_svg`] draws a picture, shown by a CSS animation.
/// Each group's animation is started back by a negative delay so that every group is running
/// from the first moment; a renderer without CSS animations shows the first frame.
/// The canvas is the first frame's size.
#[must_use]
pub fn buffers_to_animated_svg(frames: &[Buffer], options: &SvgOptions, step: Duration) -> String {
    let Some(first) = frames.first() else {
        return buffer_to_svg(
            &Buffer::empty(ratatui::layout::Rect::new(0, 0, 1, 1)),
            options,
        );
    };
    let grid = Grid::new(options);
    let mut out = svg_open(first, &grid, options);
    let step = step.as_secs_f64().max(0.1);
    let total = step * frames.len() as f64;
    let shown = 100.0 / frames.len() as f64;
    let _ = writeln!(
        out,
        "<style>\n.step {{ visibility: hidden; animation: sockscope-step {}s step-end infinite; }}\n\
         .step.first {{ visibility: visible; }}\n\
         @keyframes sockscope-step {{ 0% {{ visibility: visible; }} {}% {{ visibility: hidden; }} 100% {{ visibility: hidden; }} }}\n</style>",
        num(total),
        num(shown)
    );
    for (index, frame) in frames.iter().enumerate() {
        let delay = step * index as f64 - total;
        let class = if index == 0 { "step first" } else { "step" };
        let _ = writeln!(
            out,
            r#"<g class="{class}" data-step="{}" style="animation-delay: {}s">"#,
            index + 1,
            num(delay)
        );
        write_picture(&mut out, frame, &grid, options);
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// The `<svg>` element's opening and the title.
fn svg_open(buffer: &Buffer, grid: &Grid, options: &SvgOptions) -> String {
    let width = grid.x(buffer.area.width);
    let height = grid.top(buffer.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xml:space="preserve">"#
    );
    if let Some(title) = &options.title {
        let _ = writeln!(out, "<title>{}</title>", xml_escape(title));
    }
    out
}

/// The background, the coloured runs and the text of one picture.
fn write_picture(out: &mut String, buffer: &Buffer, grid: &Grid, options: &SvgOptions) {
    let cols = buffer.area.width;
    let rows = buffer.area.height;
    let _ = writeln!(
        out,
        r#"<rect x="0" y="0" width="{}" height="{}" fill="{}"/>"#,
        grid.x(cols),
        grid.top(rows),
        hex(options.default_bg)
    );
    let glyph_rows: Vec<Vec<Glyph<'_>>> = (0..rows).map(|row| row_glyphs(buffer, row)).collect();

    out.push_str("<g shape-rendering=\"crispEdges\">\n");
    for (row, glyphs) in (0..rows).zip(&glyph_rows) {
        write_backgrounds(out, grid, options, row, glyphs);
    }
    out.push_str("</g>\n");

    let _ = writeln!(
        out,
        r#"<g font-family="{FONT_FAMILY}" font-size="{}">"#,
        num(grid.font_size)
    );
    for (row, glyphs) in (0..rows).zip(&glyph_rows) {
        write_texts(out, grid, options, row, glyphs);
    }
    out.push_str("</g>\n");
}

/// One rect per run of equal background colour in the row, except the default background.
fn write_backgrounds(
    out: &mut String,
    grid: &Grid,
    options: &SvgOptions,
    row: u16,
    glyphs: &[Glyph<'_>],
) {
    let mut index = 0;
    while index < glyphs.len() {
        let bg = look(glyphs[index].cell, options).bg;
        let start = glyphs[index].col;
        let mut end = start;
        while index < glyphs.len() && look(glyphs[index].cell, options).bg == bg {
            end = glyphs[index].col + glyphs[index].width;
            index += 1;
        }
        if bg != options.default_bg {
            let _ = writeln!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
                grid.x(start),
                grid.top(row),
                num(f64::from(end - start) * grid.cell_width),
                num(grid.line_height),
                hex(bg)
            );
        }
    }
}

/// A piece of a text run: characters that each take one x position, or one cluster drawn from a
/// single x.
enum Piece {
    /// Single BMP characters, each at its own column.
    Chars { cols: Vec<u16>, text: String },
    /// A multi-character grapheme or a non-BMP character, at one column.
    Cluster { col: u16, text: String },
}

fn is_blank(glyph: &Glyph<'_>) -> bool {
    glyph.text.chars().all(|ch| ch == ' ')
}

/// One `<text>` per run of equal style (colour and shown modifiers) in the row. Runs of blanks
/// are left out, and so are blanks at the ends of a run, unless underlined or crossed out.
fn write_texts(
    out: &mut String,
    grid: &Grid,
    options: &SvgOptions,
    row: u16,
    glyphs: &[Glyph<'_>],
) {
    let mut index = 0;
    while index < glyphs.len() {
        let first = look(glyphs[index].cell, options);
        let key = (first.fg, first.modifier, first.hidden);
        let start = index;
        while index < glyphs.len() && {
            let next = look(glyphs[index].cell, options);
            (next.fg, next.modifier, next.hidden) == key
        } {
            index += 1;
        }
        if first.hidden {
            continue;
        }
        let mut run = &glyphs[start..index];
        if !first
            .modifier
            .intersects(Modifier::UNDERLINED | Modifier::CROSSED_OUT)
        {
            while let [head, rest @ ..] = run
                && is_blank(head)
            {
                run = rest;
            }
            while let [rest @ .., tail] = run
                && is_blank(tail)
            {
                run = rest;
            }
        }
        if !run.is_empty() {
            write_text(out, grid, row, first, &pieces(run));
        }
    }
}

fn pieces(run: &[Glyph<'_>]) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for glyph in run {
        let mut chars = glyph.text.chars();
        let single =
            matches!((chars.next(), chars.next()), (Some(ch), None) if u32::from(ch) <= 0xffff);
        // Text as wide as its character count: one character per column (padding, forced-width
        // text such as a hyperlink's label).
        let per_column = glyph.text.chars().count() == usize::from(glyph.width)
            && glyph
                .text
                .chars()
                .all(|ch| u32::from(ch) <= 0xffff && ch.encode_utf8(&mut [0; 4]).cell_width() == 1);
        if single || per_column {
            if !matches!(pieces.last(), Some(Piece::Chars { .. })) {
                pieces.push(Piece::Chars {
                    cols: Vec::new(),
                    text: String::new(),
                });
            }
            if let Some(Piece::Chars { cols, text }) = pieces.last_mut() {
                for (offset, ch) in (0u16..).zip(glyph.text.chars()) {
                    cols.push(glyph.col + offset);
                    text.push(ch);
                }
            }
        } else {
            pieces.push(Piece::Cluster {
                col: glyph.col,
                text: glyph.text.clone(),
            });
        }
    }
    pieces
}

fn write_text(out: &mut String, grid: &Grid, row: u16, look: Look, pieces: &[Piece]) {
    let _ = write!(
        out,
        r#"<text y="{}" fill="{}""#,
        grid.baseline(row),
        hex(look.fg)
    );
    if look.modifier.contains(Modifier::BOLD) {
        out.push_str(r#" font-weight="bold""#);
    }
    if look.modifier.contains(Modifier::ITALIC) {
        out.push_str(r#" font-style="italic""#);
    }
    let decorations: Vec<&str> = [
        (Modifier::UNDERLINED, "underline"),
        (Modifier::CROSSED_OUT, "line-through"),
    ]
    .into_iter()
    .filter(|(modifier, _)| look.modifier.contains(*modifier))
    .map(|(_, name)| name)
    .collect();
    if !decorations.is_empty() {
        let _ = write!(out, r#" text-decoration="{}""#, decorations.join(" "));
    }
    if look.modifier.contains(Modifier::DIM) {
        out.push_str(r#" opacity="0.6""#);
    }
    for (number, piece) in pieces.iter().enumerate() {
        let (xs, text) = match piece {
            Piece::Chars { cols, text } => (
                cols.iter()
                    .map(|&col| grid.x(col))
                    .collect::<Vec<_>>()
                    .join(" "),
                text,
            ),
            Piece::Cluster { col, text } => (grid.x(*col), text),
        };
        if number == 0 {
            let _ = write!(out, r#" x="{xs}">{}"#, xml_escape(text));
        } else {
            let _ = write!(out, r#"<tspan x="{xs}">{}</tspan>"#, xml_escape(text));
        }
    }
    out.push_str("</text>\n");
}
