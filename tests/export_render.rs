//! Headless export of a rendered ratatui `Buffer`: plain text and SVG.
//!
//! The SVG is parsed with quick-xml (a failure to parse fails the test), into a small tree the
//! assertions look at: rects with their geometry and fill, texts with the x of every character.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sockscope::export::{SvgOptions, buffer_to_svg, buffer_to_text, color_rgb};
use unicode_width::UnicodeWidthStr;

/// An element of the parsed SVG: name, attributes (unescaped), and its character data with the
/// index of the element (itself or a child) each piece came from.
#[derive(Debug, Clone)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    parent: Option<usize>,
    /// Text pieces directly inside this element, in order.
    text: String,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    fn num(&self, key: &str) -> f64 {
        self.attr(key)
            .unwrap_or_else(|| panic!("{} has no {key}", self.name))
            .parse()
            .unwrap()
    }

    fn xs(&self) -> Vec<f64> {
        self.attr("x")
            .unwrap_or_else(|| panic!("{} has no x", self.name))
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect()
    }
}

fn element(start: &BytesStart<'_>, parent: Option<usize>) -> Element {
    let attrs = start
        .attributes()
        .map(|attr| {
            let attr = attr.expect("well-formed attribute");
            (
                attr.key.as_ref().to_owned(),
                attr.normalized_value(XmlVersion::Implicit1_0)
                    .expect("valid escapes")
                    .into_owned(),
            )
        })
        .collect();
    Element {
        name: start.name().as_ref().to_owned(),
        attrs,
        parent,
        text: String::new(),
    }
}

/// Parses `svg` as XML, panicking on anything that is not well-formed; returns the elements in
/// document order.
fn parse(svg: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(svg);
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut roots = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => {
                if open.is_empty() {
                    roots += 1;
                }
                elements.push(element(&start, open.last().copied()));
                open.push(elements.len() - 1);
            }
            Event::Empty(start) => {
                assert!(!open.is_empty(), "element outside the root");
                elements.push(element(&start, open.last().copied()));
            }
            Event::End(_) => {
                open.pop().expect("balanced tags");
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                match open.last() {
                    Some(&index) => elements[index].text.push_str(&content),
                    None => assert!(content.trim().is_empty(), "text outside the root"),
                }
            }
            Event::GeneralRef(reference) => {
                let ch = if reference.is_char_ref() {
                    reference.resolve_char_ref().unwrap().unwrap()
                } else {
                    match &*reference {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("undeclared entity &{other};"),
                    }
                };
                let index = *open.last().expect("reference inside an element");
                elements[index].text.push(ch);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) => {}
            other => panic!("unexpected XML event {other:?}"),
        }
    }
    assert!(open.is_empty(), "unclosed elements");
    assert_eq!(roots, 1, "one root element");
    assert_eq!(elements[0].name, "svg");
    elements
}

fn hex(color: Color, reset: (u8, u8, u8)) -> String {
    let (r, g, b) = color_rgb(color, reset);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Every drawn character of the picture with its x: a `<text>`'s own characters take its x list
/// in order, a `<tspan>`'s characters take the tspan's. A character past the end of its list
/// (the tail of a cluster drawn from one x) gets `None`.
fn placed_chars(elements: &[Element]) -> Vec<(char, Option<f64>, f64, usize)> {
    let mut out = Vec::new();
    for (index, element) in elements.iter().enumerate() {
        if element.name != "text" && element.name != "tspan" {
            continue;
        }
        let text_index = if element.name == "text" {
            index
        } else {
            element.parent.unwrap()
        };
        let y = elements[text_index].num("y");
        let xs = element.xs();
        for (position, ch) in element.text.chars().enumerate() {
            out.push((ch, xs.get(position).copied(), y, text_index));
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.011
}

#[test]
fn text_export_is_one_trimmed_line_per_row() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 12, 3));
    buffer.set_string(0, 0, "hello", Style::new().fg(Color::Red));
    buffer.set_string(3, 2, "x y", Style::new().bg(Color::Blue));
    assert_eq!(buffer_to_text(&buffer), "hello\n\n   x y\n");
}

#[test]
fn korean_text_is_printed_once_per_wide_cell() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 20, 2));
    buffer.set_string(0, 0, "한국어 abc", Style::new());
    buffer.set_string(1, 1, "가나다라마바사아자차", Style::new());
    // Buffer layout as ratatui stores it: the syllable in the first cell, a blank after it.
    assert_eq!(buffer[(0, 0)].symbol(), "한");
    assert_eq!(buffer[(1, 0)].symbol(), " ");
    assert_eq!(buffer[(2, 0)].symbol(), "국");
    assert_eq!(buffer[(7, 0)].symbol(), "a");

    let text = buffer_to_text(&buffer);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, ["한국어 abc", " 가나다라마바사아자"]);
    assert!(text.ends_with('\n'));
    assert_eq!(lines[0].width(), 10);
    // "차" would need columns 19 and 20 of a 20-wide row: ratatui does not write it.
    assert_eq!(lines[1].width(), 19);
}

#[test]
fn text_lines_are_buffer_wide_before_trimming() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 9, 3));
    buffer.set_string(0, 0, "소켓 상태!", Style::new().bg(Color::Green));
    buffer.set_string(0, 1, "ab한", Style::new());
    buffer.set_string(8, 2, "끝", Style::new()); // does not fit: nothing is written
    for line in buffer_to_text(&buffer).lines() {
        assert!(line.width() <= 9, "{line:?}");
    }
    // Fill every row to the edge so trimming cannot hide a miscount.
    let mut full = Buffer::empty(Rect::new(0, 0, 9, 2));
    full.set_string(0, 0, "가나다라x", Style::new());
    full.set_string(0, 1, "x가나다라", Style::new());
    let text = buffer_to_text(&full);
    assert_eq!(text, "가나다라x\nx가나다라\n");
    assert!(text.lines().all(|line| line.width() == 9));
}

#[test]
fn styled_cells_give_rects_and_text_of_their_colours() {
    let options = SvgOptions::default();
    let mut buffer = Buffer::empty(Rect::new(0, 0, 20, 3));
    buffer.set_line(
        0,
        0,
        &Line::from(vec![
            Span::styled("ok", Style::new().fg(Color::Green).bg(Color::Rgb(1, 2, 3))),
            Span::raw(" "),
            Span::styled("warn", Style::new().fg(Color::Indexed(208)).bold()),
        ]),
        20,
    );
    buffer.set_string(
        2,
        1,
        "sel",
        Style::new()
            .fg(Color::Yellow)
            .bg(Color::Blue)
            .add_modifier(Modifier::REVERSED),
    );
    buffer.set_string(
        0,
        2,
        "it",
        Style::new().add_modifier(Modifier::ITALIC | Modifier::UNDERLINED | Modifier::DIM),
    );

    let svg = buffer_to_svg(&buffer, &options);
    let elements = parse(&svg);
    let rects: Vec<&Element> = elements.iter().filter(|e| e.name == "rect").collect();
    let bg_hex = hex(Color::Reset, options.default_bg);

    // The picture's background, then one rect per non-default background run.
    assert_eq!(rects[0].attr("fill"), Some(bg_hex.as_str()));
    assert!(close(rects[0].num("width"), 20.0 * 8.4));
    assert!(close(rects[0].num("height"), 3.0 * 17.0));
    let runs: Vec<(f64, f64, f64, &str)> = rects[1..]
        .iter()
        .map(|r| {
            (
                r.num("x"),
                r.num("y"),
                r.num("width"),
                r.attr("fill").unwrap(),
            )
        })
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    // "ok" on rgb(1,2,3): columns 0..2 of row 0.
    assert!(close(runs[0].0, 0.0) && close(runs[0].1, 0.0) && close(runs[0].2, 2.0 * 8.4));
    assert_eq!(runs[0].3, "#010203");
    // "sel" reversed: the background is its foreground, yellow.
    assert!(close(runs[1].0, 2.0 * 8.4) && close(runs[1].1, 17.0) && close(runs[1].2, 3.0 * 8.4));
    assert_eq!(runs[1].3, hex(Color::Yellow, (0, 0, 0)));
    assert_eq!(runs[1].3, "#cdcd00");

    let texts: Vec<&Element> = elements.iter().filter(|e| e.name == "text").collect();
    let find = |content: &str| {
        *texts
            .iter()
            .find(|t| t.text == content)
            .unwrap_or_else(|| panic!("no <text> {content:?} in {svg}"))
    };
    let ok = find("ok");
    assert_eq!(ok.attr("fill"), Some("#00cd00"));
    assert_eq!(ok.attr("font-weight"), None);
    let warn = find("warn");
    assert_eq!(warn.attr("fill"), Some("#ff8700")); // xterm 208
    assert_eq!(warn.attr("font-weight"), Some("bold"));
    assert_eq!(warn.xs(), [25.2, 33.6, 42.0, 50.4]);
    let sel = find("sel");
    assert_eq!(sel.attr("fill"), Some("#0000ee")); // reversed: blue text
    let italic = find("it");
    assert_eq!(italic.attr("font-style"), Some("italic"));
    assert_eq!(italic.attr("text-decoration"), Some("underline"));
    assert_eq!(italic.attr("opacity"), Some("0.6"));
    assert_eq!(
        italic.attr("fill"),
        Some(hex(Color::Reset, options.default_fg).as_str())
    );
    // Blank cells draw no text: no <text> holds only spaces.
    assert!(texts.iter().all(|t| !t.text.trim().is_empty()));
    // Rows: baselines fall inside their rows.
    for (text, row) in [(ok, 0.0), (sel, 1.0), (italic, 2.0)] {
        let y = text.num("y");
        assert!(y > row * 17.0 && y < (row + 1.0) * 17.0, "{y}");
    }
}

#[test]
fn svg_escapes_xml_and_drops_control_characters() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 16, 2));
    buffer.set_string(0, 0, "<a href=\"x\">&'", Style::new());
    // Cells filled behind set_string's back, as a careless widget could: raw peer bytes.
    buffer[(0, 1)].set_symbol("\u{1b}");
    buffer[(1, 1)].set_symbol("\u{7}");
    buffer[(2, 1)].set_symbol("\u{0}");
    buffer[(3, 1)].set_symbol("z");
    buffer[(4, 1)].set_symbol("\u{9b}");
    // ratatui counts this cell as wide as unicode-width says (4 columns) and its diff skips the
    // 3 cells after it; the export keeps that grid but prints none of the escape.
    buffer[(5, 1)].set_symbol("\u{1b}[2J");
    buffer[(9, 1)].set_symbol("]]>");
    let options = SvgOptions {
        title: Some("peer <b>&\u{1b}]0;pwned\u{7}".to_owned()),
        ..SvgOptions::default()
    };
    let svg = buffer_to_svg(&buffer, &options);

    for ch in svg.chars() {
        assert!(ch == '\n' || !ch.is_control(), "raw {ch:?} in {svg}");
    }
    assert!(!svg.contains("<a"));
    assert!(!svg.contains("<b>"));
    assert!(svg.contains("&lt;a href=&quot;x&quot;&gt;&amp;&apos;"));

    let elements = parse(&svg);
    let title = elements.iter().find(|e| e.name == "title").unwrap();
    assert_eq!(title.text, "peer <b>&");
    let texts: Vec<&Element> = elements.iter().filter(|e| e.name == "text").collect();
    assert_eq!(texts[0].text, "<a href=\"x\">&'");
    assert_eq!(texts[0].xs().len(), 14);
    // The escape sequence's cell stays one column: "z" keeps column 3.
    let z = placed_chars(&elements)
        .into_iter()
        .find(|(ch, ..)| *ch == 'z')
        .unwrap();
    assert!(close(z.1.unwrap(), 3.0 * 8.4));
    let bracket = placed_chars(&elements)
        .into_iter()
        .find(|(ch, ..)| *ch == ']')
        .unwrap();
    assert!(close(bracket.1.unwrap(), 9.0 * 8.4));
    assert_eq!(buffer_to_text(&buffer), "<a href=\"x\">&'\n   z     ]]>\n");
}

#[test]
fn korean_glyphs_stay_on_the_grid() {
    let options = SvgOptions::default();
    let cell = f64::from(options.cell_width);
    let mut buffer = Buffer::empty(Rect::new(0, 0, 20, 1));
    buffer.set_string(0, 0, "한국어 abc", Style::new().fg(Color::Cyan));

    let svg = buffer_to_svg(&buffer, &options);
    let elements = parse(&svg);
    let placed = placed_chars(&elements);
    let x_of = |wanted: char| {
        placed
            .iter()
            .find(|(ch, ..)| *ch == wanted)
            .and_then(|(_, x, ..)| *x)
            .unwrap_or_else(|| panic!("{wanted} not placed in {svg}"))
    };
    // Each syllable takes two cells; the space is column 6, "a" column 7.
    assert!(close(x_of('한'), 0.0));
    assert!(close(x_of('국'), 2.0 * cell));
    assert!(close(x_of('어'), 4.0 * cell));
    assert!(close(x_of('a'), 7.0 * cell), "{}", x_of('a'));
    assert!(close(x_of('b'), 8.0 * cell));
    assert!(close(x_of('c'), 9.0 * cell));
    // Nothing is drawn twice: the continuation cells add no glyph.
    let drawn: String = placed.iter().map(|(ch, ..)| *ch).collect();
    assert_eq!(drawn, "한국어 abc");
    assert_eq!(buffer_to_text(&buffer), "한국어 abc\n");
}

#[test]
fn picture_size_matches_the_buffer() {
    let options = SvgOptions {
        cell_width: 10.0,
        line_height: 20.0,
        ..SvgOptions::default()
    };
    let mut buffer = Buffer::empty(Rect::new(5, 3, 13, 4));
    for row in 0..4 {
        buffer.set_string(5, 3 + row, format!("row {row}"), Style::new());
    }
    let svg = buffer_to_svg(&buffer, &options);
    let elements = parse(&svg);
    let root = &elements[0];
    assert_eq!(root.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attr("viewBox"), Some("0 0 130 80"));
    assert_eq!(root.attr("width"), Some("130"));
    assert_eq!(root.attr("height"), Some("80"));
    assert_eq!(root.attr("xml:space"), Some("preserve"));
    let font = elements.iter().find_map(|e| e.attr("font-family")).unwrap();
    assert_eq!(
        font,
        "DejaVu Sans Mono, D2Coding, Noto Sans Mono CJK KR, monospace"
    );

    let texts: Vec<&Element> = elements.iter().filter(|e| e.name == "text").collect();
    assert_eq!(texts.len(), 4);
    let mut baselines: Vec<f64> = texts.iter().map(|t| t.num("y")).collect();
    baselines.dedup();
    assert_eq!(baselines.len(), 4, "one row of text per buffer row");
    for (row, text) in texts.iter().enumerate() {
        assert_eq!(text.text, format!("row {row}"));
        // Positions are relative to the buffer's area, not the screen.
        assert!(close(text.xs()[0], 0.0));
        let y = text.num("y");
        assert!(y > row as f64 * 20.0 && y < (row + 1) as f64 * 20.0);
    }
    assert_eq!(buffer_to_text(&buffer).lines().count(), 4);

    let empty = Buffer::empty(Rect::new(0, 0, 0, 0));
    assert_eq!(buffer_to_text(&empty), "");
    let elements = parse(&buffer_to_svg(&empty, &SvgOptions::default()));
    assert_eq!(elements[0].attr("viewBox"), Some("0 0 0 0"));
}

#[test]
fn wide_cell_background_covers_both_columns() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 6, 1));
    buffer.set_string(1, 0, "한", Style::new().bg(Color::Red));
    let elements = parse(&buffer_to_svg(&buffer, &SvgOptions::default()));
    let rects: Vec<&Element> = elements.iter().filter(|e| e.name == "rect").collect();
    assert_eq!(rects.len(), 2);
    // ratatui resets the continuation cell to the default style; the terminal paints the
    // wide glyph's background over both columns, and so does the picture.
    assert!(close(rects[1].num("x"), 8.4));
    assert!(close(rects[1].num("width"), 16.8));
    assert_eq!(rects[1].attr("fill"), Some("#cd0000"));
}
