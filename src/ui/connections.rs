//! Connections: every socket the lab holds except listeners (4-tuple, role, state, queues, bytes,
//! age, state history), then the tuples only the kernel still keeps (`TIME_WAIT` and the like),
//! dimmed because no descriptor of ours points at them any more.

use std::net::SocketAddr;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::draw::{self, Col};
use super::scroll::{list_row, scroll_offset};
use super::theme::Theme;
use crate::app::{App, ChangeKey, Item, Panel};
use crate::escape::visible;
use crate::model::{KernelOnly, KernelOnlyHistory, SocketInfo, StateChange, TcpState};
use crate::text;

/// Written after a state that `TCP_INFO` (or `sock_diag`) and the captured segments tell
/// differently; the explanation says what each source says.
const DISAGREEMENT_MARK: &str = "!";

/// The columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    Name,
    Fd,
    Role,
    Local,
    Arrow,
    Remote,
    State,
    RecvQ,
    SendQ,
    Sent,
    Received,
    Age,
    History,
}

impl Column {
    const ALL: [Column; 13] = [
        Column::Name,
        Column::Fd,
        Column::Role,
        Column::Local,
        Column::Arrow,
        Column::Remote,
        Column::State,
        Column::RecvQ,
        Column::SendQ,
        Column::Sent,
        Column::Received,
        Column::Age,
        Column::History,
    ];

    /// Columns dropped first when the panel is narrow (lowest first); `None` = always kept.
    fn drop_rank(self) -> Option<u8> {
        match self {
            Column::Sent | Column::Received => Some(0),
            Column::Age => Some(1),
            Column::History => Some(2),
            Column::Fd => Some(3),
            Column::Role => Some(4),
            Column::SendQ => Some(5),
            Column::RecvQ => Some(6),
            _ => None,
        }
    }

    fn header(self, app: &App) -> &'static str {
        match self {
            Column::Name => app.t("ui.col_name"),
            Column::Fd => "fd",
            Column::Role => app.t("ui.col_role"),
            Column::Local => app.t("ui.col_local"),
            Column::Arrow => "",
            Column::Remote => app.t("ui.col_remote"),
            Column::State => app.t("ui.col_state"),
            Column::RecvQ => "Recv-Q",
            Column::SendQ => "Send-Q",
            Column::Sent => app.t("ui.col_sent"),
            Column::Received => app.t("ui.col_received"),
            Column::Age => app.t("ui.col_age"),
            Column::History => app.t("ui.col_history"),
        }
    }

    fn right(self) -> bool {
        matches!(
            self,
            Column::Fd
                | Column::RecvQ
                | Column::SendQ
                | Column::Sent
                | Column::Received
                | Column::Age
        )
    }
}

/// One row's cells, by column, before layout.
struct Cells {
    name: String,
    fd: String,
    role: String,
    local: String,
    remote: String,
    state: String,
    state_style: Style,
    recv_q: String,
    send_q: String,
    sent: String,
    received: String,
    age: String,
    history: String,
    /// For kernel-only rows: free text drawn from the Recv-Q column to the right edge.
    tail: Option<String>,
}

impl Cells {
    fn get(&self, column: Column) -> &str {
        match column {
            Column::Name => &self.name,
            Column::Fd => &self.fd,
            Column::Role => &self.role,
            Column::Local => &self.local,
            Column::Arrow => "->",
            Column::Remote => &self.remote,
            Column::State => &self.state,
            Column::RecvQ => &self.recv_q,
            Column::SendQ => &self.send_q,
            Column::Sent => &self.sent,
            Column::Received => &self.received,
            Column::Age => &self.age,
            Column::History => &self.history,
        }
    }
}

fn address(address: Option<SocketAddr>, none: &str) -> String {
    address.map_or_else(|| none.to_owned(), |address| address.to_string())
}

fn history_text(history: &[StateChange]) -> String {
    history
        .iter()
        .map(|change| change.state.name())
        .collect::<Vec<_>>()
        .join(">")
}

/// The state cell: the kernel's state, marked when the segments imply another.
fn state_cell(theme: &Theme, state: TcpState, disagreement: bool) -> (String, Style) {
    if disagreement {
        (
            format!("{}{DISAGREEMENT_MARK}", state.name()),
            theme.warning,
        )
    } else {
        (state.name().to_owned(), theme.state(state))
    }
}

fn disagrees(socket: &SocketInfo) -> bool {
    socket.tcp.as_ref().is_some_and(|tcp| tcp.disagreement)
}

/// The segment-derived history of a tuple only the kernel still holds, if the capture saw it.
fn kernel_history<'a>(app: &'a App, held: &KernelOnly) -> Option<&'a KernelOnlyHistory> {
    app.snapshot
        .kernel_only_history
        .iter()
        .find(|history| history.local == held.local && history.remote == held.remote)
}

fn socket_cells(theme: &Theme, socket: &SocketInfo) -> Cells {
    let history = history_text(&socket.history);
    let (state, state_style) = state_cell(theme, socket.state, disagrees(socket));
    Cells {
        name: visible(&socket.name),
        fd: socket.fd.to_string(),
        role: socket.role.name().to_owned(),
        local: address(socket.local, "-"),
        remote: address(socket.remote, "*"),
        state,
        state_style,
        recv_q: socket.recv_q.to_string(),
        send_q: socket.send_q.to_string(),
        sent: draw::bytes(socket.bytes_sent),
        received: draw::bytes(socket.bytes_received),
        age: draw::duration(socket.age_ms),
        history,
        tail: None,
    }
}

fn kernel_cells(app: &App, theme: &Theme, held: &KernelOnly) -> Cells {
    let was = held.was.as_deref().map(visible);
    let timer = held.timer_ms.map(draw::duration);
    let tail = match (&was, &timer) {
        (Some(was), Some(timer)) => text::format(
            app.lang,
            "ui.kernel_was_timer",
            &[("was", was), ("timer", timer)],
        ),
        (Some(was), None) => text::format(app.lang, "ui.kernel_was", &[("was", was)]),
        (None, Some(timer)) => text::format(app.lang, "ui.kernel_timer", &[("timer", timer)]),
        (None, None) => String::new(),
    };
    let from_segments = kernel_history(app, held);
    let tail = match from_segments {
        Some(history) if !history.history.is_empty() => {
            format!("{tail}  {}", history_text(&history.history))
        }
        _ => tail,
    };
    let (state, state_style) = state_cell(
        theme,
        held.state,
        from_segments.is_some_and(|history| history.disagreement),
    );
    Cells {
        name: was.map_or_else(|| "-".to_owned(), |was| format!("({was})")),
        fd: "-".to_owned(),
        role: app.t("ui.kernel_role").to_owned(),
        local: held.local.to_string(),
        remote: held.remote.to_string(),
        state,
        state_style,
        recv_q: String::new(),
        send_q: String::new(),
        sent: String::new(),
        received: String::new(),
        age: String::new(),
        history: String::new(),
        tail: Some(tail),
    }
}

/// The cells of row `index` (live sockets first, then the kernel-only tuples).
fn cells_at(app: &App, theme: &Theme, index: usize) -> Option<Cells> {
    match app.item_at(Panel::Connections, index)? {
        Item::Socket(socket) => Some(socket_cells(theme, socket)),
        Item::KernelOnly(held) => Some(kernel_cells(app, theme, held)),
        _ => None,
    }
}

/// The widest cell of every column over all rows (not only the visible ones, so columns do not
/// shift while scrolling), measured without building the cells' text.
fn natural_widths(app: &App) -> [usize; Column::ALL.len()] {
    let mut widths = [0; Column::ALL.len()];
    let mut widen = |column: Column, width: usize| {
        let slot = &mut widths[column as usize];
        *slot = (*slot).max(width);
    };
    let address = |address: Option<SocketAddr>| address.map_or(1, draw::display_width);
    for socket in app.connections() {
        widen(Column::Name, draw::escaped_width(&socket.name));
        widen(Column::Fd, draw::display_width(socket.fd));
        widen(Column::Role, socket.role.name().len());
        widen(Column::Local, address(socket.local));
        widen(Column::Remote, address(socket.remote));
        widen(
            Column::State,
            socket.state.name().len() + usize::from(disagrees(socket)) * DISAGREEMENT_MARK.len(),
        );
        widen(Column::RecvQ, draw::display_width(socket.recv_q));
        widen(Column::SendQ, draw::display_width(socket.send_q));
        widen(
            Column::Sent,
            draw::display_width(draw::Bytes(socket.bytes_sent)),
        );
        widen(
            Column::Received,
            draw::display_width(draw::Bytes(socket.bytes_received)),
        );
        widen(Column::Age, age_width(socket.age_ms));
    }
    let kernel_role = draw::width(app.t("ui.kernel_role"));
    for held in &app.snapshot.kernel_only {
        let name = held
            .was
            .as_deref()
            .map_or(1, |was| draw::escaped_width(was) + 2);
        widen(Column::Name, name);
        widen(Column::Fd, 1);
        widen(Column::Role, kernel_role);
        widen(Column::Local, draw::display_width(held.local));
        widen(Column::Remote, draw::display_width(held.remote));
        let marked = kernel_history(app, held).is_some_and(|history| history.disagreement);
        widen(
            Column::State,
            held.state.name().len() + usize::from(marked) * DISAGREEMENT_MARK.len(),
        );
    }
    widen(Column::Arrow, 2);
    widths
}

/// The widest an age of the same unit can get (`999ms`, `59s`, `59m59s`): an age ticking from
/// `95ms` to `120ms` does not move the columns to its right (the history) from one frame to the
/// next.
fn age_width(age_ms: u64) -> usize {
    let widest = match age_ms {
        0..1_000 => 999,
        1_000..60_000 => 59_999,
        ms => ms,
    };
    draw::display_width(draw::Elapsed(widest))
}

/// Picks the columns that fit `width` and their widths. History takes what is left.
fn layout(app: &App, width: usize) -> Vec<(Column, Col)> {
    let widths = natural_widths(app);
    let natural = |column: Column| -> usize {
        let widest = widths[column as usize].max(draw::width(column.header(app)));
        match column {
            Column::Name => widest.min(12),
            Column::History => 12,
            Column::State => widest.max(11),
            _ => widest,
        }
    };
    let mut chosen: Vec<(Column, usize)> = Column::ALL
        .iter()
        .map(|column| (*column, natural(*column)))
        .collect();
    let total = |chosen: &[(Column, usize)]| -> usize {
        chosen.iter().map(|(_, w)| *w).sum::<usize>() + chosen.len().saturating_sub(1)
    };
    while total(&chosen) > width {
        let lowest = chosen
            .iter()
            .enumerate()
            .filter_map(|(index, (column, _))| column.drop_rank().map(|rank| (rank, index)))
            .min();
        match lowest {
            Some((_, index)) => {
                chosen.remove(index);
            }
            None => break,
        }
    }
    // Still too wide (long IPv6 addresses): narrow the addresses, then clip at the edge.
    let excess = total(&chosen).saturating_sub(width);
    if excess > 0 {
        for (column, w) in &mut chosen {
            if matches!(column, Column::Local | Column::Remote) {
                *w = w.saturating_sub(excess.div_ceil(2)).max(9);
            }
        }
    }
    let spare = width.saturating_sub(total(&chosen));
    if let Some((_, w)) = chosen
        .iter_mut()
        .find(|(column, _)| *column == Column::History)
    {
        *w += spare;
    }
    chosen
        .into_iter()
        .map(|(column, width)| {
            (
                column,
                Col {
                    width,
                    right: column.right(),
                },
            )
        })
        .collect()
}

/// `text` cut from the left (the newest states of a history are at its end).
fn clip_left(text: &str, max: usize) -> String {
    if draw::width(text) <= max {
        return text.to_owned();
    }
    let reversed: String = text.chars().rev().collect();
    let clipped: String = draw::clip(&reversed, max).chars().rev().collect();
    clipped
}

/// A history cut from the left at whole states, `~` standing for the older ones: the newest
/// states stay readable, and a column a character wider or narrower (ages ticking from `95ms` to
/// `120ms`) shows the same states.
fn clip_history(text: &str, max: usize) -> String {
    if draw::width(text) <= max {
        return text.to_owned();
    }
    let mut kept = "";
    for (index, _) in text.match_indices('>') {
        let newer = &text[index + 1..];
        if draw::width(newer) < max {
            kept = newer;
            break;
        }
    }
    if kept.is_empty() {
        // Not even the newest state fits whole.
        return clip_left(text, max);
    }
    format!("~{kept}")
}

fn line_of<'a>(theme: &Theme, layout: &[(Column, Col)], cells: &Cells, width: usize) -> Line<'a> {
    let kernel = cells.tail.is_some();
    let base = if kernel { theme.muted } else { Style::new() };
    let mut spans = Vec::new();
    let mut used = 0;
    for (index, (column, col)) in layout.iter().enumerate() {
        if kernel && *column > Column::State {
            let room = width.saturating_sub(used + 1);
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                draw::clip(cells.tail.as_deref().unwrap_or_default(), room),
                base.add_modifier(Modifier::ITALIC),
            ));
            break;
        }
        if index > 0 {
            spans.push(Span::raw(" "));
            used += 1;
        }
        used += col.width;
        let text = cells.get(*column);
        let text = if *column == Column::History {
            clip_history(text, col.width)
        } else {
            text.to_owned()
        };
        let shown = if col.right {
            draw::fit_right(&text, col.width)
        } else {
            draw::fit(&text, col.width)
        };
        let style = match column {
            Column::State => cells.state_style,
            Column::Name if !kernel => theme.accent,
            Column::Arrow | Column::History => theme.muted,
            _ => base,
        };
        spans.push(Span::styled(shown, style));
    }
    Line::from(spans)
}

/// Draws the connections into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some((inner, theme)) = draw::open_focus_panel(frame, area, app, Panel::Connections) else {
        return;
    };
    let layout = layout(app, usize::from(inner.width));
    let cols: Vec<Col> = layout.iter().map(|(_, col)| *col).collect();
    let header = draw::row(
        &cols,
        layout
            .iter()
            .map(|(column, _)| (column.header(app).to_owned(), theme.header))
            .collect(),
    );
    let buf = frame.buffer_mut();
    draw::put(buf, inner, inner.y, &header);
    let list = draw::below_header(inner);
    let total = app.rows(Panel::Connections);
    if total == 0 {
        let empty = Line::from(Span::styled(app.t("ui.no_connections"), theme.muted));
        draw::put(buf, list, list.y, &empty);
        return;
    }
    let selected = app.selected_index(Panel::Connections);
    let offset = scroll_offset(selected, usize::from(list.height));
    for index in offset..total.min(offset + usize::from(list.height)) {
        let Some(cells) = cells_at(app, &theme, index) else {
            continue;
        };
        let y = list.y + (index - offset) as u16;
        let line = line_of(&theme, &layout, &cells, usize::from(list.width));
        draw::put_list_row(
            buf,
            list,
            y,
            line,
            &theme,
            app.focus == Panel::Connections && index == selected,
            || is_fresh(app, index),
        );
    }
}

fn is_fresh(app: &App, index: usize) -> bool {
    let key = match app.item_at(Panel::Connections, index) {
        Some(Item::Socket(socket)) => ChangeKey::Socket(socket.name.clone()),
        Some(Item::KernelOnly(held)) => ChangeKey::KernelOnly(held.local, held.remote),
        _ => return false,
    };
    app.changes.is_fresh(&key, app.now_ms)
}

/// The connection row under screen row `row` of a panel drawn in `area`.
#[must_use]
pub(crate) fn hit(app: &App, area: Rect, row: u16) -> Option<usize> {
    list_row(
        draw::below_header(draw::inner(area)),
        row,
        app.selected_index(Panel::Connections),
        app.rows(Panel::Connections),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_history_is_cut_at_whole_states_from_the_left() {
        let history = "CLOSE>SYN_SENT>ESTABLISHED";
        assert_eq!(clip_history(history, 26), history);
        // One column more or less shows the same states.
        assert_eq!(clip_history(history, 25), "~SYN_SENT>ESTABLISHED");
        assert_eq!(clip_history(history, 21), "~SYN_SENT>ESTABLISHED");
        assert_eq!(clip_history(history, 20), "~ESTABLISHED");
        assert_eq!(clip_history(history, 6), "~ISHED");
    }

    #[test]
    fn ages_of_one_unit_take_one_width() {
        assert_eq!(age_width(95), age_width(120));
        assert_eq!(age_width(1_500), age_width(59_000));
        assert_eq!(age_width(1_500), 3);
    }
}
