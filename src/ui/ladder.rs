//! The ladder: every captured segment of one connection (or one UDP socket's datagrams with one
//! peer) as an arrow between two lifelines, the opener on the left. Each arrow carries the flags,
//! relative seq/ack, payload length, window and an escaped preview; the time since the first
//! segment is on the left; on each lifeline, the state that side entered on that row. Only ASCII and
//! box-drawing characters are drawn (no ambiguous-width arrows), so Korean labels keep the borders
//! aligned.
//!
//! ```text
//!              c1 127.0.0.1:40001                  srv 127.0.0.1:5555
//!      0us    SYN_SENT ├────── SYN seq=0 len=0 win=65495 ───────>│ SYN_RECV
//!      7us ESTABLISHED │<─ SYN-ACK seq=0 ack=1 len=0 win=65483 ──┤
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw;
use super::scroll::{list_row, scroll_offset};
use super::theme::Theme;
use crate::app::{App, Ladder, LadderRow, Lifeline, Panel};
use crate::escape::visible;
use crate::model::{Proto, Segment, TcpState, WireMark};
use crate::net::decode::flags;
use crate::text;

/// The widest state name (`ESTABLISHED`).
const STATE_WIDTH: usize = 11;
/// `999.999ms`.
const TIME_WIDTH: usize = 9;
/// Below this the arrow has no room for a label worth reading.
const MIN_ARROW: usize = 16;

/// Where the columns of the ladder go, for a list `width` columns wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    time: usize,
    state: usize,
    /// Column of the left lifeline.
    left: usize,
    /// Column of the right lifeline.
    right: usize,
    /// Columns right of the right lifeline (after one space).
    right_block: usize,
}

impl Geometry {
    fn new(width: usize) -> Self {
        // Narrow panels lose the time first, then the state columns.
        let (time, state) = if width >= 56 {
            (TIME_WIDTH, STATE_WIDTH)
        } else if width >= 36 {
            (0, STATE_WIDTH)
        } else {
            (0, 0)
        };
        let left = if time > 0 { time + 1 } else { 0 } + if state > 0 { state + 1 } else { 0 };
        // Both lifelines and the space before the right-hand states.
        let room = width.saturating_sub(left + 3 + MIN_ARROW);
        let right_block = state.min(room);
        let right = width.saturating_sub(right_block + 2).max(left + 1);
        Self {
            time,
            state,
            left,
            right,
            right_block,
        }
    }

    /// Columns between the lifelines.
    fn arrow(self) -> usize {
        self.right.saturating_sub(self.left + 1)
    }
}

/// Time since the connection's first segment: `52us`, `12.345ms`, `1.204s`, then `3m04s`.
#[must_use]
pub fn since(us: u64) -> String {
    if us < 1000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{}.{:03}ms", us / 1000, us % 1000)
    } else if us < 100_000_000 {
        format!("{}.{:03}s", us / 1_000_000, us / 1000 % 1000)
    } else {
        draw::duration(us / 1000)
    }
}

/// `c1 127.0.0.1:40001`, or what is known of it.
#[must_use]
pub fn lifeline_label(side: Lifeline<'_>) -> String {
    match (side.name, side.addr) {
        (Some(name), Some(addr)) => format!("{} {addr}", visible(name)),
        (Some(name), None) => visible(name),
        (None, Some(addr)) => addr.to_string(),
        (None, None) => "?".to_owned(),
    }
}

/// The flags as the ladder names them (`UDP` for a datagram).
#[must_use]
pub fn flags_label(segment: &Segment) -> &'static str {
    match segment.proto {
        Proto::Udp => "UDP",
        Proto::Tcp => segment.flags,
    }
}

/// The arrow's label, fitted into `max` columns: the flags always, then what fits of seq, ack,
/// length, preview and window, in that order (the explanation pane shows them all).
fn label(app: &App, segment: &Segment, max: usize) -> String {
    let mut out = draw::clip(flags_label(segment), max);
    // Where the wire has it comes first: what a presenter delivers or drops next.
    let wire_mark = segment
        .wire
        .map(|mark| super::wire::mark_label(app, segment.wire_id, mark));
    let add = |part: &str, out: &mut String| {
        if draw::width(out) + 1 + draw::width(part) <= max {
            out.push(' ');
            out.push_str(part);
            true
        } else {
            false
        }
    };
    if let Some(mark) = &wire_mark {
        add(mark, &mut out);
    }
    if segment.retransmission {
        add(app.t("ladder.retx"), &mut out);
    }
    if segment.nat == Some(crate::model::NatSide::Rewritten) {
        add(app.t("ladder.nat_rewritten"), &mut out);
    }
    let tcp = segment.proto == Proto::Tcp;
    if tcp {
        add(&format!("seq={}", segment.rel_seq), &mut out);
        if segment.has_flag(flags::ACK) {
            add(&format!("ack={}", segment.rel_ack), &mut out);
        }
    }
    add(&format!("len={}", segment.len), &mut out);
    if let Some(preview) = &segment.preview {
        // A long preview is cut rather than left out, when a few characters fit.
        let room = max.saturating_sub(draw::width(&out) + 1);
        if !add(preview, &mut out) && room >= 6 {
            add(&draw::clip(preview, room), &mut out);
        }
    }
    if tcp {
        add(&format!("win={}", segment.win), &mut out);
    }
    out
}

/// The colour of a segment's arrow: the handshake, the close, a reset, a retransmission.
fn segment_style(theme: &Theme, segment: &Segment) -> Style {
    if segment.wire == Some(WireMark::Dropped) {
        theme.error
    } else if segment.wire.is_some() {
        theme.accent
    } else if segment.retransmission {
        theme.warning
    } else if segment.has_flag(flags::RST) {
        theme.error
    } else if segment.has_flag(flags::SYN) {
        theme.state_opening
    } else if segment.has_flag(flags::FIN) {
        theme.state_closing
    } else {
        Style::new()
    }
}

/// An arrow `width` columns wide with `text` in its middle: `──── text ───>` or `<─── text ────`.
fn arrow(text: &str, width: usize, rightward: bool, body: char) -> [String; 3] {
    let text_width = draw::width(text);
    if width == 0 {
        return [String::new(), String::new(), String::new()];
    }
    let (middle, free) = if text_width > 0 && width >= text_width + 5 {
        (format!(" {text} "), width - 1 - text_width - 2)
    } else {
        (String::new(), width - 1)
    };
    let before_pad = free / 2;
    let after_pad = free - before_pad;
    let run = |count: usize| std::iter::repeat_n(body, count).collect::<String>();
    if rightward {
        [run(before_pad), middle, format!("{}>", run(after_pad))]
    } else {
        [format!("<{}", run(before_pad)), middle, run(after_pad)]
    }
}

/// The state `side` entered on segment `index`, the last one if it entered two.
fn entered(ladder: &Ladder<'_>, index: usize, side: Lifeline<'_>) -> Option<TcpState> {
    ladder
        .transitions_at(index)
        .filter(|transition| Some(transition.side) == side.addr)
        .last()
        .map(|transition| transition.state)
}

fn state_span(theme: &Theme, state: Option<TcpState>, width: usize, right: bool) -> Span<'static> {
    let name = state.map_or("", TcpState::name);
    let style = state.map_or(Style::new(), |state| theme.state(state));
    let text = if right {
        draw::fit_right(name, width)
    } else {
        draw::fit(name, width)
    };
    Span::styled(text, style)
}

fn segment_line(
    app: &App,
    theme: &Theme,
    geo: Geometry,
    ladder: &Ladder<'_>,
    index: usize,
) -> Line<'static> {
    let segment = ladder.segments[index];
    let first = ladder.segments.first().map_or(0, |first| first.t_us);
    let rightward = Some(segment.from) != ladder.right.addr;
    let style = segment_style(theme, segment);
    let mut spans = Vec::with_capacity(12);
    if geo.time > 0 {
        let time = since(segment.t_us.saturating_sub(first));
        spans.push(Span::styled(draw::fit_right(&time, geo.time), theme.muted));
        spans.push(Span::raw(" "));
    }
    if geo.state > 0 {
        let state = entered(ladder, index, ladder.left);
        spans.push(state_span(theme, state, geo.state, true));
        spans.push(Span::raw(" "));
    }
    let (left_post, right_post) = if rightward {
        ('├', '│')
    } else {
        ('│', '┤')
    };
    spans.push(Span::styled(left_post.to_string(), theme.muted));
    let width = geo.arrow();
    let body = if segment.retransmission { '-' } else { '─' };
    // A segment the wire holds, delays or dropped has not arrived: its arrow stops midway (at
    // an `X` when it never will), from the sender's side.
    let (drawn, gap) = match segment.wire {
        Some(_) => {
            let drawn = (width * 4 / 5).max(width.min(MIN_ARROW));
            (drawn, width - drawn)
        }
        None => (width, 0),
    };
    let label = label(app, segment, drawn.saturating_sub(5));
    let mut parts = arrow(&label, drawn, rightward, body);
    if segment.wire == Some(WireMark::Dropped) {
        let head = if rightward {
            &mut parts[2]
        } else {
            &mut parts[0]
        };
        if rightward {
            head.pop();
            head.push('X');
        } else if !head.is_empty() {
            head.replace_range(..1, "X");
        }
    }
    if !rightward && gap > 0 {
        spans.push(Span::raw(" ".repeat(gap)));
    }
    for part in parts {
        spans.push(Span::styled(part, style));
    }
    if rightward && gap > 0 {
        spans.push(Span::raw(" ".repeat(gap)));
    }
    spans.push(Span::styled(right_post.to_string(), theme.muted));
    if geo.right_block > 0 {
        spans.push(Span::raw(" "));
        let state = entered(ladder, index, ladder.right);
        spans.push(state_span(theme, state, geo.right_block, false));
    }
    Line::from(spans)
}

/// The "... N segments dropped" line between the lifelines.
fn gap_line(app: &App, theme: &Theme, geo: Geometry, count: u64) -> Line<'static> {
    let text = text::format(app.lang, "ladder.gap", &[("count", &count.to_string())]);
    let width = geo.arrow();
    let text = draw::clip(&text, width.saturating_sub(2));
    let pad = width.saturating_sub(draw::width(&text));
    let before = pad / 2;
    Line::from(vec![
        Span::raw(" ".repeat(geo.left)),
        Span::styled(":", theme.muted),
        Span::styled(
            format!("{}{text}{}", " ".repeat(before), " ".repeat(pad - before)),
            theme.warning,
        ),
        Span::styled(":", theme.muted),
    ])
}

/// Lifelines with nothing between them (below the last segment).
fn empty_line(geo: Geometry, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::raw(" ".repeat(geo.left)),
        Span::styled("│", theme.muted),
        Span::raw(" ".repeat(geo.arrow())),
        Span::styled("│", theme.muted),
    ])
}

/// The endpoints' names and addresses, each centred over its lifeline (moved inwards where the
/// edge or the other label is in the way).
fn header_line(theme: &Theme, geo: Geometry, width: usize, ladder: &Ladder<'_>) -> Line<'static> {
    let left = draw::clip(&lifeline_label(ladder.left), width / 2);
    let left_width = draw::width(&left);
    let left_start = geo.left.saturating_sub(left_width / 2);
    let after_left = left_start + left_width + 1;
    let right = lifeline_label(ladder.right);
    let right = draw::clip(&right, width.saturating_sub(after_left));
    let right_width = draw::width(&right);
    let right_start = geo
        .right
        .saturating_sub(right_width / 2)
        .min(width.saturating_sub(right_width))
        .max(after_left);
    Line::from(vec![
        Span::raw(" ".repeat(left_start)),
        Span::styled(left, theme.accent),
        Span::raw(" ".repeat(right_start - left_start - left_width)),
        Span::styled(right, theme.accent),
    ])
}

/// The panel's title: `segments c1 (7)`, with the drops when there are any.
fn title(app: &App, ladder: &Ladder<'_>) -> String {
    let base = match ladder.connection {
        Some(connection) => text::format(
            app.lang,
            "ladder.title_conn",
            &[
                ("conn", &visible(&connection.conn)),
                ("count", &ladder.segments.len().to_string()),
            ],
        ),
        None => app.t("ladder.title").to_owned(),
    };
    let base = match nat_side(app, ladder) {
        Some(side) => format!("{base} {side}"),
        None => base,
    };
    let drops = app.snapshot.capture.kernel_drops;
    if drops == 0 {
        base
    } else {
        let more = text::format(
            app.lang,
            "ladder.kernel_drops",
            &[("count", &drops.to_string())],
        );
        format!("{base} {more}")
    }
}

/// Which host's view of a NAT-rewritten connection the ladder shows. The wire files each packet
/// the NAT rewrote twice (as sent, as delivered), so the same connection is two ladders: host a's,
/// with the public tuple, and host b's, with the private one; the title says which, and names the
/// tuple the other side sees.
fn nat_side(app: &App, ladder: &Ladder<'_>) -> Option<String> {
    let nat = app.snapshot.nat.as_ref()?;
    let touches = |addr: std::net::SocketAddr| {
        ladder
            .segments
            .iter()
            .any(|segment| segment.nat.is_some() && (segment.from == addr || segment.to == addr))
    };
    nat.entries.iter().find_map(|entry| {
        let public = std::net::SocketAddr::V4(entry.public);
        let private = std::net::SocketAddr::V4(entry.private);
        if touches(public) {
            Some(text::format(
                app.lang,
                "ladder.nat_side_a",
                &[("other", &private.to_string())],
            ))
        } else if touches(private) {
            Some(text::format(
                app.lang,
                "ladder.nat_side_b",
                &[("other", &public.to_string())],
            ))
        } else {
            None
        }
    })
}

/// Why there is nothing to draw: no capture (and what to do), or nothing captured yet.
fn empty_text(app: &App, ladder: &Ladder<'_>) -> Vec<(String, bool)> {
    let capture = &app.snapshot.capture;
    if !capture.active {
        let reason = capture
            .reason
            .clone()
            .unwrap_or_else(|| app.t("ladder.no_capture").to_owned());
        let remedy = capture
            .remedy
            .clone()
            .unwrap_or_else(|| app.t("capture.remedy_root_or_private").to_owned());
        return vec![(reason, true), (remedy, false)];
    }
    let text = match ladder.subject {
        Some(name) => text::format(app.lang, "ladder.none_for", &[("name", &visible(name))]),
        None => app.t("ladder.none_yet").to_owned(),
    };
    vec![(text, false)]
}

/// Draws the ladder into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(app.theme);
    let ladder = app.ladder();
    let focused = app.focus == Panel::Ladder;
    let inner = draw::panel_block(frame, area, &theme, &title(app, &ladder), focused);
    if inner.is_empty() {
        return;
    }
    let width = usize::from(inner.width);
    let geo = Geometry::new(width);
    let buf = frame.buffer_mut();
    let known = ladder.left.addr.is_some() || ladder.right.addr.is_some();
    let list = draw::below_header(inner);
    if ladder.rows.is_empty() {
        let area = if known && app.snapshot.capture.active {
            draw::put(
                buf,
                inner,
                inner.y,
                &header_line(&theme, geo, width, &ladder),
            );
            list
        } else {
            inner
        };
        let mut y = area.y;
        for (text, warning) in empty_text(app, &ladder) {
            let style = if warning { theme.warning } else { theme.muted };
            for line in draw::wrap(&text, width) {
                draw::put(buf, area, y, &Line::from(Span::styled(line, style)));
                y += 1;
            }
        }
        return;
    }
    draw::put(
        buf,
        inner,
        inner.y,
        &header_line(&theme, geo, width, &ladder),
    );
    let selected = app.selected_within(Panel::Ladder, ladder.rows.len());
    // On the wire, its last row says what the wire does.
    let list = match &app.snapshot.wire {
        Some(wire) if list.height > 2 => {
            let foot = Rect::new(list.x, list.bottom() - 1, list.width, 1);
            let line = draw::clip(&super::wire::full_line(app, wire), width);
            draw::put(
                buf,
                foot,
                foot.y,
                &Line::from(Span::styled(line, theme.accent)),
            );
            Rect::new(list.x, list.y, list.width, list.height - 1)
        }
        _ => list,
    };
    let visible_rows = usize::from(list.height);
    let offset = scroll_offset(selected, visible_rows);
    for slot in 0..visible_rows {
        let y = list.y + slot as u16;
        let index = offset + slot;
        let line = match ladder.rows.get(index) {
            Some(LadderRow::Segment(at)) => segment_line(app, &theme, geo, &ladder, *at),
            Some(LadderRow::Gap(count)) => gap_line(app, &theme, geo, *count),
            None => empty_line(geo, &theme),
        };
        if focused && index == selected && index < ladder.rows.len() {
            draw::paint_row(buf, list, y, theme.selection);
            draw::put(buf, list, y, &draw::restyle(line, theme.selection));
        } else {
            draw::put(buf, list, y, &line);
        }
    }
}

/// The ladder row under screen row `row` of a panel drawn in `area`.
#[must_use]
pub(crate) fn hit(app: &App, area: Rect, row: u16) -> Option<usize> {
    list_row(
        draw::below_header(draw::inner(area)),
        row,
        app.selected_index(Panel::Ladder),
        app.rows(Panel::Ladder),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_stay_within_their_column() {
        assert_eq!(since(52), "52us");
        assert_eq!(since(12_345), "12.345ms");
        assert_eq!(since(999_999), "999.999ms");
        assert_eq!(since(1_204_000), "1.204s");
        assert_eq!(since(250_000_000), "4m10s");
        // Up to a lab that ran for 40 days.
        for us in [
            0,
            999,
            1000,
            999_999,
            1_000_000,
            99_999_999,
            40 * 86_400_000_000,
        ] {
            assert!(since(us).len() <= TIME_WIDTH, "{us}: {}", since(us));
        }
    }

    #[test]
    fn arrows_point_the_way_the_segment_went_and_fill_their_width() {
        let [before, middle, after] = arrow("SYN", 20, true, '─');
        let whole = format!("{before}{middle}{after}");
        assert!(whole.ends_with("─>"), "{whole}");
        assert!(whole.contains(" SYN "));
        assert_eq!(draw::width(&whole), 20);
        let [before, middle, after] = arrow("재전송", 20, false, '-');
        let whole = format!("{before}{middle}{after}");
        assert!(whole.starts_with("<-"), "{whole}");
        assert_eq!(draw::width(&whole), 20);
        // Too narrow for the label: the arrow alone.
        assert_eq!(arrow("SYN-ACK", 6, true, '─').concat(), "─────>");
    }

    #[test]
    fn the_geometry_keeps_room_for_an_arrow() {
        let wide = Geometry::new(78);
        assert_eq!((wide.time, wide.state, wide.left), (9, 11, 22));
        assert_eq!(wide.right + 2 + wide.right_block, 78);
        assert_eq!(wide.arrow(), 42);
        let narrow = Geometry::new(40);
        assert_eq!(narrow.time, 0);
        assert!(
            narrow.right < 40 && narrow.arrow() >= MIN_ARROW,
            "{narrow:?}"
        );
        for width in 0..120 {
            let geo = Geometry::new(width);
            assert!(geo.right >= geo.left, "{width}: {geo:?}");
        }
    }
}
