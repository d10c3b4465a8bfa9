//! Listeners and their queues: the accept queue drawn as slots (a backlog of N lets N+1
//! connections wait), the peers waiting in it, the SYN queue, and the namespace's overflow
//! counters.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::draw;
use super::scroll::scroll_offset;
use super::theme::Theme;
use crate::app::{App, ChangeKey, Panel};
use crate::model::{ListenerInfo, Waiting};
use crate::text;

/// At most this many peer lines per listener in the detailed view.
const MAX_PEER_LINES: usize = 8;

/// How the listeners are laid out in a panel: rows per listener, and whether the waiting peers
/// get a line each (detailed) or are listed by port on the queue line (compact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    per: u16,
    peer_lines: u16,
}

fn geometry(app: &App, inner: Rect) -> Geometry {
    let listeners = &app.snapshot.listeners;
    let peers = listeners
        .iter()
        .map(|listener| listener.waiting.len() + listener.half_open.len())
        .max()
        .unwrap_or(0)
        .min(MAX_PEER_LINES) as u16;
    let count = listeners.len().max(1) as u16;
    if peers > 0 && count.saturating_mul(2 + peers) <= inner.height {
        Geometry {
            per: 2 + peers,
            peer_lines: peers,
        }
    } else {
        Geometry {
            per: inner.height.clamp(1, 2),
            peer_lines: 0,
        }
    }
}

/// Draws the listeners into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(app.theme);
    let inner = draw::focus_block(frame, area, app, &theme, Panel::Listeners);
    let buf = frame.buffer_mut();
    counters(buf, area, app, &theme);
    if inner.is_empty() {
        return;
    }
    let listeners = &app.snapshot.listeners;
    if listeners.is_empty() {
        let empty = Line::from(Span::styled(app.t("ui.no_listeners"), theme.muted));
        draw::put(buf, inner, inner.y, &empty);
        return;
    }
    let geometry = geometry(app, inner);
    let visible = usize::from(inner.height / geometry.per);
    let selected = app.selected_index(Panel::Listeners);
    let offset = scroll_offset(selected, visible);
    for (index, listener) in listeners.iter().enumerate().skip(offset).take(visible) {
        let y = inner.y + (index - offset) as u16 * geometry.per;
        draw::put_list_row(
            buf,
            inner,
            y,
            header(app, &theme, listener),
            &theme,
            app.focus == Panel::Listeners && index == selected,
            || {
                app.changes
                    .is_fresh(&ChangeKey::Listener(listener.name.clone()), app.now_ms)
            },
        );
        if geometry.per >= 2 {
            let compact = geometry.peer_lines == 0;
            let queue = queue_line(app, &theme, listener, usize::from(inner.width), compact);
            draw::put(buf, inner, y + 1, &queue);
        }
        let peers = peer_lines(app, &theme, listener, usize::from(geometry.peer_lines));
        for (offset, line) in peers.iter().enumerate() {
            draw::put(buf, inner, y + 2 + offset as u16, line);
        }
    }
}

/// `srv 127.0.0.1:5555 backlog 2 (asked 2) syn 0 auto-accept`
fn header<'a>(app: &App, theme: &Theme, listener: &ListenerInfo) -> Line<'a> {
    let local = listener
        .local
        .map_or_else(|| "-".to_owned(), |local| local.to_string());
    let backlog = text::format(
        app.lang,
        "ui.backlog",
        &[
            ("backlog", &listener.backlog.to_string()),
            ("asked", &listener.backlog_requested.to_string()),
        ],
    );
    let syn = text::format(
        app.lang,
        "ui.syn_queue",
        &[("count", &listener.syn_queue.to_string())],
    );
    let syn_style = if listener.syn_queue > 0 {
        theme.state_opening
    } else {
        theme.muted
    };
    let mut spans = vec![
        Span::styled(
            crate::escape::visible(&listener.name),
            theme.accent.add_modifier(Modifier::BOLD),
        ),
        Span::raw(" "),
        Span::raw(local),
        Span::raw(" "),
        Span::raw(backlog),
        Span::raw(" "),
        Span::styled(syn, syn_style),
    ];
    if listener.auto_accept {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(app.t("ui.auto_accept"), theme.warning));
    }
    Line::from(spans)
}

/// The accept queue as slots: `[#][#][ ] 2/3`, a backlog of N giving N+1 slots.
fn queue_line<'a>(
    app: &App,
    theme: &Theme,
    listener: &ListenerInfo,
    width: usize,
    compact: bool,
) -> Line<'a> {
    let slots = listener.backlog as usize + 1;
    let filled = listener.accept_queue as usize;
    let count = format!(" {filled}/{slots}");
    let count_style = match filled.cmp(&slots) {
        std::cmp::Ordering::Greater => theme.error,
        std::cmp::Ordering::Equal => theme.warning.add_modifier(Modifier::BOLD),
        std::cmp::Ordering::Less => Style::new(),
    };
    let room = width.saturating_sub(2 + count.len()).max(5);
    let mut spans = vec![Span::raw("  ")];
    spans.extend(slot_spans(theme, slots, filled, room));
    spans.push(Span::styled(count, count_style));
    let used: usize = spans.iter().map(|span| draw::width(&span.content)).sum();
    let mut tail = Vec::new();
    if compact {
        let peers = listener.waiting.iter().map(|peer| (peer, " "));
        let half_open = listener.half_open.iter().map(|peer| (peer, " ~"));
        let mut first = true;
        for (peer, mark) in peers.chain(half_open) {
            if first {
                tail.push(Span::styled(" <-", theme.muted));
                first = false;
            }
            tail.push(Span::styled(
                format!("{mark}:{}", peer.peer.port()),
                theme.state(peer.state),
            ));
        }
    }
    let note = format!(" ({})", app.t("ui.slots_note"));
    let tail_width: usize = tail.iter().map(|span| draw::width(&span.content)).sum();
    if used + draw::width(&note) + tail_width <= width {
        spans.push(Span::styled(note, theme.muted));
    }
    spans.extend(tail);
    Line::from(spans)
}

/// `[#][#][ ]` when every slot fits in `room` columns, else a proportional bar `[##....]`.
fn slot_spans<'a>(theme: &Theme, slots: usize, filled: usize, room: usize) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    if slots * 3 <= room {
        for slot in 0..slots {
            spans.push(Span::raw("["));
            if slot < filled {
                spans.push(Span::styled("#", theme.slot_filled));
            } else {
                spans.push(Span::styled(" ", theme.slot_empty));
            }
            spans.push(Span::raw("]"));
        }
    } else {
        let bar = room.saturating_sub(2).max(1);
        let marks = if filled == 0 {
            0
        } else {
            (filled * bar).div_ceil(slots).clamp(1, bar)
        };
        spans.push(Span::raw("["));
        spans.push(Span::styled("#".repeat(marks), theme.slot_filled));
        spans.push(Span::styled(".".repeat(bar - marks), theme.slot_empty));
        spans.push(Span::raw("]"));
    }
    spans
}

/// One line per waiting peer (`<-` in the accept queue, `<~` half-open), at most `lines`.
fn peer_lines<'a>(
    app: &App,
    theme: &Theme,
    listener: &ListenerInfo,
    lines: usize,
) -> Vec<Line<'a>> {
    let peers: Vec<(&Waiting, &str)> = listener
        .waiting
        .iter()
        .map(|peer| (peer, "<-"))
        .chain(listener.half_open.iter().map(|peer| (peer, "<~")))
        .collect();
    let mut out = Vec::new();
    for (index, (peer, arrow)) in peers.iter().enumerate() {
        if out.len() == lines {
            break;
        }
        if out.len() + 1 == lines && index + 1 < peers.len() {
            let more = text::format(
                app.lang,
                "ui.more",
                &[("count", &(peers.len() - index).to_string())],
            );
            out.push(Line::from(Span::styled(format!("    {more}"), theme.muted)));
            break;
        }
        out.push(Line::from(vec![
            Span::styled(format!("    {arrow} "), theme.muted),
            Span::raw(format!("{} ", peer.peer)),
            Span::styled(peer.state.name(), theme.state(peer.state)),
        ]));
    }
    out
}

/// The namespace's overflow counters, on the panel's bottom border.
fn counters(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    if area.height < 2 || area.width < 4 {
        return;
    }
    let counters = &app.snapshot.counters;
    let overflows = counters
        .listen_overflows
        .saturating_sub(counters.listen_overflows_at_start);
    let drops = counters
        .listen_drops
        .saturating_sub(counters.listen_drops_at_start);
    let delta_style = |delta: u64| {
        if delta > 0 {
            theme.warning.add_modifier(Modifier::BOLD)
        } else {
            theme.title
        }
    };
    // Whose counts these are comes first: on the host network they are the whole machine's,
    // and a delta is not necessarily the lab's. The totals go first when room is short.
    let key = counters.scope.key();
    let room = usize::from(area.width - 2);
    let long = app.t(&format!("counters.{key}"));
    let short = app.t(&format!("counters.{key}_short"));
    // (scope, with totals, the kernel's full names): from the most to the least said.
    let candidates = [
        (long, true, true),
        (long, false, true),
        (short, false, true),
        (short, false, false),
    ];
    let build = |scope: &str, totals: bool, full_names: bool| {
        let total = |value: u64| {
            if totals {
                format!(" {value} ")
            } else {
                " ".to_owned()
            }
        };
        let (overflows_name, drops_name) = if full_names {
            ("ListenOverflows", "ListenDrops")
        } else {
            ("Overflows", "Drops")
        };
        Line::from(vec![
            Span::styled(format!(" {scope}:"), theme.title),
            Span::styled(
                format!(" {overflows_name}{}", total(counters.listen_overflows)),
                theme.title,
            ),
            Span::styled(format!("(+{overflows})"), delta_style(overflows)),
            Span::styled(
                format!(" {drops_name}{}", total(counters.listen_drops)),
                theme.title,
            ),
            Span::styled(format!("(+{drops})"), delta_style(drops)),
            Span::styled(" ", theme.title),
        ])
    };
    let line = candidates
        .iter()
        .map(|&(scope, totals, full_names)| build(scope, totals, full_names))
        .find(|line| line.width() <= room)
        .unwrap_or_else(|| build(short, false, false));
    let row = Rect::new(area.x + 1, area.bottom() - 1, area.width - 2, 1);
    draw::put(buf, row, row.y, &line);
}

/// The listener under screen row `row` of a panel drawn in `area`.
#[must_use]
pub(crate) fn hit(app: &App, area: Rect, row: u16) -> Option<usize> {
    let inner = draw::inner(area);
    if row < inner.y || row >= inner.bottom() {
        return None;
    }
    let geometry = geometry(app, inner);
    let visible = usize::from(inner.height / geometry.per);
    let line = row - inner.y;
    if usize::from(line / geometry.per) >= visible {
        return None;
    }
    let offset = scroll_offset(app.selected_index(Panel::Listeners), visible);
    let index = offset + usize::from(line / geometry.per);
    (index < app.rows(Panel::Listeners)).then_some(index)
}
