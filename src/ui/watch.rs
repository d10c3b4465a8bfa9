//! Drawing `sockscope watch` from `&WatchApp`: a title line, the summary (counts by state, the
//! owners note), the socket table, the listeners with their accept queues, the status line and the
//! help overlay. Only the rows on screen are formatted, so 100k sockets cost no more than 50.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Clear;

use super::draw;
use super::theme::Theme;
use crate::escape::visible;
use crate::model::{PortUse, TcpState};
use crate::system::{self, SystemSnapshot, SystemSocket};
use crate::text;
use crate::watch::{Column, Mode, WatchApp};

/// Listeners sit to the right of the table from this width on; above it, narrower.
const SIDE_BY_SIDE: u16 = 110;
const LISTENERS_WIDTH: u16 = 44;

/// Where everything goes.
#[derive(Debug, Clone, Copy)]
struct Areas {
    title: Rect,
    summary: Rect,
    table: Rect,
    listeners: Rect,
    ports: Rect,
    status: Rect,
}

/// Rows the port map takes when the screen is tall enough for it.
const PORT_MAP_HEIGHT: u16 = 4;
/// The port map is shown only when the body keeps at least this many rows for the rest.
const PORT_MAP_MIN_BODY: u16 = 16;

/// Lines the summary needs: the counts, plus the owners note and collection errors when there
/// are any.
fn summary_lines(app: &WatchApp) -> u16 {
    let Some(snapshot) = &app.snapshot else {
        return 1;
    };
    1 + u16::from(system::owners_note(snapshot, app.lang).is_some())
        + u16::from(!snapshot.errors.is_empty())
}

fn areas(area: Rect, app: &WatchApp) -> Areas {
    let row = |y: u16, height: u16| Rect::new(area.x, y, area.width, height);
    let title = row(area.y, 1.min(area.height));
    let summary_height = summary_lines(app).min(area.height.saturating_sub(2));
    let summary = row(area.y + title.height, summary_height);
    let body_top = summary.bottom();
    let status = row(area.bottom().saturating_sub(1).max(body_top), 1);
    let full_body = status.y.saturating_sub(body_top);
    let map_height = if full_body >= PORT_MAP_MIN_BODY {
        PORT_MAP_HEIGHT
    } else {
        0
    };
    let body = Rect::new(area.x, body_top, area.width, full_body - map_height);
    let ports = Rect::new(area.x, body.bottom(), area.width, map_height);
    let (table, listeners) = if area.width >= SIDE_BY_SIDE {
        let table = Rect::new(body.x, body.y, body.width - LISTENERS_WIDTH, body.height);
        let listeners = Rect::new(table.right(), body.y, LISTENERS_WIDTH, body.height);
        (table, listeners)
    } else {
        let wanted = app.listeners.len() as u16 + 2;
        let height = wanted.clamp(3, (body.height / 3).max(3)).min(body.height);
        let listeners = Rect::new(body.x, body.y, body.width, height);
        let table = Rect::new(body.x, body.y + height, body.width, body.height - height);
        (table, listeners)
    };
    Areas {
        title,
        summary,
        table,
        listeners,
        ports,
        status,
    }
}

/// How many socket rows the table shows on a `width`x`height` screen.
#[must_use]
pub fn table_rows(width: u16, height: u16, app: &WatchApp) -> usize {
    let areas = areas(Rect::new(0, 0, width, height), app);
    usize::from(areas.table.height.saturating_sub(3))
}

/// Draws the whole watch screen.
pub fn render(frame: &mut Frame, app: &WatchApp) {
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        return;
    }
    let theme = Theme::of(app.theme);
    frame.buffer_mut().set_style(area, theme.base);
    let areas = areas(area, app);
    title(frame.buffer_mut(), areas.title, app, &theme);
    summary(frame.buffer_mut(), areas.summary, app, &theme);
    table(frame, areas.table, app, &theme);
    listeners(frame, areas.listeners, app, &theme);
    if areas.ports.height > 0 {
        port_map(frame, areas.ports, app);
    }
    status(frame.buffer_mut(), areas.status, app, &theme);
    if app.mode == Mode::Help {
        help(frame, area, app, &theme);
    }
}

/// The machine's listening ports on the lab's port map (IANA bands, the kernel's ephemeral range,
/// the privileged boundary): the same panel, fed with the machine's listeners.
fn port_map(frame: &mut Frame, area: Rect, app: &WatchApp) {
    let ports = crate::model::Ports {
        in_use: listening_ports(app),
        ..app.ports.clone()
    };
    let map = super::ports::PortMap {
        ports: &ports,
        lang: app.lang,
        theme: app.theme,
        focused: false,
        selected: 0,
    };
    super::ports::render_map(frame, area, &map);
}

/// One entry per listening port (TCP LISTEN and bound UDP), named by its process when known.
fn listening_ports(app: &WatchApp) -> Vec<PortUse> {
    app.listening
        .iter()
        .map(|listening| PortUse {
            port: listening.port,
            proto: listening.proto,
            name: visible(
                listening
                    .process
                    .as_deref()
                    .unwrap_or(listening.proto.name()),
            ),
        })
        .collect()
}

fn t(app: &WatchApp, key: &str) -> &'static str {
    text::get(app.lang, key)
}

fn title(buf: &mut Buffer, area: Rect, app: &WatchApp, theme: &Theme) {
    let mut line = t(app, "watch.title").to_owned();
    let filter = &app.filter;
    if let Some(port) = filter.port {
        let _ = write!(line, " · --port {port}");
    }
    if let Some(pid) = filter.pid {
        let _ = write!(line, " · --pid {pid}");
    }
    if let Some(state) = filter.state {
        let _ = write!(line, " · --state {}", state.name());
    }
    if !app.search.is_empty() {
        let total = app.snapshot.as_ref().map_or(0, |s| s.sockets.len());
        line.push_str(" · ");
        line.push_str(&text::format(
            app.lang,
            "watch.search",
            &[
                ("text", &visible(&app.search)),
                ("shown", &app.rows.len().to_string()),
                ("total", &total.to_string()),
            ],
        ));
    }
    let sort = text::format(
        app.lang,
        "watch.sorted_by",
        &[
            ("column", t(app, app.sort.key())),
            ("direction", direction(app)),
        ],
    );
    let _ = write!(line, " · {sort}");
    if app.paused {
        let _ = write!(line, " · {}", t(app, "watch.paused"));
    }
    draw::put_str(
        buf,
        area,
        area.x,
        area.y,
        &line,
        theme.title_focused.add_modifier(Modifier::BOLD),
    );
}

fn direction(app: &WatchApp) -> &'static str {
    if app.descending {
        t(app, "watch.descending")
    } else {
        t(app, "watch.ascending")
    }
}

/// `TCP ESTABLISHED 12 · LISTEN 3 · TIME_WAIT 2 │ UDP 4 │ total 21 · 3.2 ms`, then the notes.
fn summary(buf: &mut Buffer, area: Rect, app: &WatchApp, theme: &Theme) {
    let Some(snapshot) = &app.snapshot else {
        draw::put_str(
            buf,
            area,
            area.x,
            area.y,
            t(app, "watch.collecting"),
            theme.muted,
        );
        return;
    };
    draw::put_str(
        buf,
        area,
        area.x,
        area.y,
        &counts_line(snapshot, app),
        theme.base,
    );
    let mut y = area.y + 1;
    if let Some(note) = system::owners_note(snapshot, app.lang) {
        draw::put_str(buf, area, area.x, y, &note, theme.warning);
        y += 1;
    }
    if !snapshot.errors.is_empty() {
        draw::put_str(
            buf,
            area,
            area.x,
            y,
            &snapshot.errors.join("; "),
            theme.error,
        );
    }
}

/// The counts line of the summary.
#[must_use]
pub fn counts_line(snapshot: &SystemSnapshot, app: &WatchApp) -> String {
    let mut line = String::from("TCP");
    // The most common states first.
    let mut tcp: Vec<(&TcpState, &usize)> = snapshot.tcp_states.iter().collect();
    tcp.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (index, (state, count)) in tcp.iter().enumerate() {
        let gap = if index == 0 { " " } else { " · " };
        let _ = write!(line, "{gap}{} {count}", state.name());
    }
    let udp: usize = snapshot.udp_states.values().sum();
    let ms = format!("{:.1}", snapshot.timings.total.as_secs_f64() * 1e3);
    line.push_str(" │ ");
    line.push_str(&text::format(
        app.lang,
        "watch.totals",
        &[
            // TIME_WAIT is a TCP state: it is counted with the TCP states above, not here.
            ("udp", &udp.to_string()),
            ("total", &snapshot.sockets.len().to_string()),
            ("ms", &ms),
        ],
    ));
    if let Some(unchanged) = app.unchanged {
        line.push_str(" · ");
        line.push_str(&text::format(
            app.lang,
            "watch.unchanged",
            &[
                ("ago", &unchanged.since_walk.as_secs().to_string()),
                (
                    "ms",
                    &format!("{:.1}", unchanged.checked_in.as_secs_f64() * 1e3),
                ),
            ],
        ));
    }
    line
}

/// Widths of the eight columns for an inner width: the fixed ones at least as wide as their
/// header (Korean headers are two columns a character).
fn column_widths(width: usize, app: &WatchApp) -> [usize; 8] {
    // proto, state, local, remote, recv_q, send_q, pid, process; one space between columns.
    let at_least = |column: Column, min: usize| min.max(draw::width(t(app, column.key())) + 1);
    let proto = at_least(Column::Proto, 5);
    let state = at_least(Column::State, 11);
    let recv_q = at_least(Column::RecvQ, 7);
    let send_q = at_least(Column::SendQ, 7);
    let pid = at_least(Column::Pid, 7);
    let fixed = proto + state + recv_q + send_q + pid + 7;
    let rest = width.saturating_sub(fixed);
    let process = (rest / 5).clamp(8, 20).min(rest);
    let address = ((rest - process) / 2).min(47);
    let process = rest - 2 * address;
    [proto, state, address, address, recv_q, send_q, pid, process]
}

fn right_aligned(column: Column) -> bool {
    matches!(column, Column::RecvQ | Column::SendQ | Column::Pid)
}

fn table(frame: &mut Frame, area: Rect, app: &WatchApp, theme: &Theme) {
    if area.height < 3 {
        return;
    }
    let shown = app.rows.len();
    let total = app.snapshot.as_ref().map_or(0, |s| s.sockets.len());
    let title = if shown == total {
        format!("{} ({total})", t(app, "watch.sockets"))
    } else {
        format!("{} ({shown}/{total})", t(app, "watch.sockets"))
    };
    let inner = draw::panel_block(frame, area, theme, &title, true);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let widths = column_widths(usize::from(inner.width), app);
    let buf = frame.buffer_mut();

    // Header: the sorted column carries an arrow.
    let mut x = inner.x;
    for (column, &width) in Column::ALL.iter().zip(&widths) {
        let mut label = t(app, column.key()).to_owned();
        if *column == app.sort {
            label.push(if app.descending { '▼' } else { '▲' });
        }
        let cell = if right_aligned(*column) {
            draw::fit_right(&label, width)
        } else {
            draw::fit(&label, width)
        };
        let style = if *column == app.sort {
            theme.header.add_modifier(Modifier::BOLD)
        } else {
            theme.header
        };
        draw::put_str(buf, inner, x, inner.y, &cell, style);
        x = x.saturating_add(width as u16 + 1);
    }

    let Some(snapshot) = &app.snapshot else {
        return;
    };
    let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
    if app.rows.is_empty() {
        let key = if app.search.is_empty() {
            "watch.no_sockets"
        } else {
            "watch.no_match"
        };
        draw::put_str(buf, body, body.x, body.y, t(app, key), theme.muted);
        return;
    }
    let height = usize::from(body.height);
    let first = app.first_row(height);
    let mut cell = String::new();
    for (line, &index) in app.rows.iter().skip(first).take(height).enumerate() {
        let y = body.y + line as u16;
        let socket = &snapshot.sockets[index as usize];
        let selected = first + line == app.selected;
        draw_row(buf, body, y, socket, &widths, theme, &mut cell);
        if selected {
            draw::paint_row(buf, body, y, theme.selection);
        }
    }
}

/// One socket row, written cell by cell (no `Line` per row).
fn draw_row(
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    socket: &SystemSocket,
    widths: &[usize; 8],
    theme: &Theme,
    cell: &mut String,
) {
    let mut x = area.x;
    for (column, &width) in Column::ALL.iter().zip(widths) {
        cell.clear();
        let mut style = theme.base;
        match column {
            Column::Proto => cell.push_str(socket.proto.name()),
            Column::State => {
                cell.push_str(socket.state.name());
                style = theme.state(socket.state);
            }
            Column::Local => {
                let _ = write!(cell, "{}", socket.local);
            }
            Column::Remote => {
                if !write_known(cell, socket.remote, '*') {
                    style = theme.muted;
                }
            }
            Column::RecvQ => {
                let _ = write!(cell, "{}", socket.recv_q);
                if socket.recv_q > 0 {
                    style = theme.accent;
                }
            }
            Column::SendQ => {
                let _ = write!(cell, "{}", socket.send_q);
            }
            Column::Pid => {
                if !write_known(cell, socket.pid, '-') {
                    style = theme.muted;
                }
            }
            Column::Process => {
                if let Some(name) = &socket.process {
                    cell.push_str(&visible(name));
                } else {
                    cell.push('-');
                    style = theme.muted;
                }
            }
        }
        let text = if right_aligned(*column) {
            draw::fit_right(cell, width)
        } else {
            draw::fit(cell, width)
        };
        draw::put_str(buf, area, x, y, &text, style);
        x = x.saturating_add(width as u16 + 1);
    }
}

/// Writes a fact that may be unknown into `cell`: the value, or `missing`. Returns whether it
/// was known (an unknown one is drawn muted).
fn write_known(cell: &mut String, value: Option<impl std::fmt::Display>, missing: char) -> bool {
    if let Some(value) = value {
        let _ = write!(cell, "{value}");
        true
    } else {
        cell.push(missing);
        false
    }
}

/// Each listener: address, process, a bar of its accept queue against the limit, `queued/limit`.
fn listeners(frame: &mut Frame, area: Rect, app: &WatchApp, theme: &Theme) {
    if area.height < 3 || area.width < 10 {
        return;
    }
    let title = format!("{} ({})", t(app, "watch.listeners"), app.listeners.len());
    let inner = draw::panel_block(frame, area, theme, &title, false);
    let Some(snapshot) = &app.snapshot else {
        return;
    };
    let buf = frame.buffer_mut();
    if app.listeners.is_empty() {
        draw::put_str(
            buf,
            inner,
            inner.x,
            inner.y,
            t(app, "watch.no_listeners"),
            theme.muted,
        );
        return;
    }
    let width = usize::from(inner.width);
    for (line, &index) in app
        .listeners
        .iter()
        .take(usize::from(inner.height))
        .enumerate()
    {
        let y = inner.y + line as u16;
        let listener = &snapshot.listeners[index as usize];
        let counts = format!("{}/{}", listener.accept_queue, listener.limit);
        let name = listener
            .process
            .as_deref()
            .map_or_else(|| "-".to_owned(), visible);
        let address = listener.local.to_string();
        // address, name, bar, counts, one space between.
        let counts_width = counts.len().max(7);
        let bar_width = (width / 4).clamp(4, 12);
        let text_width = width.saturating_sub(counts_width + bar_width + 2);
        let address_width = draw::width(&address).min(text_width.saturating_sub(6).max(1));
        let name_width = text_width.saturating_sub(address_width + 1);
        let mut x = inner.x;
        draw::put_str(
            buf,
            inner,
            x,
            y,
            &draw::fit(&address, address_width),
            theme.base,
        );
        x += address_width as u16 + 1;
        if name_width > 0 {
            draw::put_str(buf, inner, x, y, &draw::fit(&name, name_width), theme.muted);
            x += name_width as u16;
        }
        x += 1;
        let filled = if listener.limit == 0 {
            usize::from(listener.accept_queue > 0) * bar_width
        } else {
            ((listener.accept_queue as usize * bar_width).div_ceil(listener.limit as usize))
                .min(bar_width)
        };
        let full = listener.limit > 0 && listener.accept_queue >= listener.limit;
        let filled_style = if full { theme.error } else { theme.slot_filled };
        draw::put_str(buf, inner, x, y, &"█".repeat(filled), filled_style);
        draw::put_str(
            buf,
            inner,
            x + filled as u16,
            y,
            &"░".repeat(bar_width - filled),
            theme.slot_empty,
        );
        x += bar_width as u16 + 1;
        let style = if listener.accept_queue > 0 {
            theme.accent
        } else {
            theme.base
        };
        draw::put_str(
            buf,
            inner,
            x,
            y,
            &draw::fit_right(&counts, counts_width),
            style,
        );
    }
}

fn status(buf: &mut Buffer, area: Rect, app: &WatchApp, theme: &Theme) {
    if let Mode::Filter(typed) = &app.mode {
        let prompt = format!("/{}█  {}", visible(typed), t(app, "watch.filter_hint"));
        draw::put_str(buf, area, area.x, area.y, &prompt, theme.accent);
        return;
    }
    draw::put_str(
        buf,
        area,
        area.x,
        area.y,
        t(app, "watch.hints"),
        theme.muted,
    );
}

fn help(frame: &mut Frame, area: Rect, app: &WatchApp, theme: &Theme) {
    let lines: Vec<&str> = t(app, "watch.help").lines().collect();
    let width = lines
        .iter()
        .map(|line| draw::width(line))
        .max()
        .unwrap_or(0) as u16
        + 4;
    let height = lines.len() as u16 + 2;
    let width = width.min(area.width);
    let height = height.min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, rect);
    let inner = draw::panel_block(frame, rect, theme, t(app, "watch.help_title"), true);
    let buf = frame.buffer_mut();
    for (offset, line) in lines.iter().enumerate() {
        let y = inner.y + offset as u16;
        draw::put_str(
            buf,
            inner,
            inner.x + 1,
            y,
            line,
            Style::default().patch(theme.base),
        );
    }
}
