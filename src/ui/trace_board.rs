//! Drawing the traced program's dashboard from `&TraceBoard` (pure): a header with the program
//! and how it runs, its descriptor table, its sockets (the lab's below them, marked `lab`), its
//! listeners with their queues and waiting peers, the syscall trace (filtered), the program's
//! output, the ladder when the lab's capture saw segments, and the prompt or status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw;
use super::theme::Theme;
use crate::app::App;
use crate::escape::visible;
use crate::model::{FdKind, TcpState};
use crate::text;
use crate::trace::board::{BoardMode, TraceBoard};
use crate::trace::event::Syscall;

/// The smallest screen the board is drawn on.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

fn state_style(theme: &Theme, state: TcpState) -> Style {
    match state {
        TcpState::Listen => theme.state_listen,
        TcpState::Established => theme.state_open,
        TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv => theme.state_opening,
        TcpState::TimeWait => theme.state_time_wait,
        TcpState::Close | TcpState::Unconnected => theme.state_closed,
        _ => theme.state_closing,
    }
}

/// The style of a syscall line, as the lab's trace styles its own.
fn call_style(theme: &Theme, call: &Syscall) -> Style {
    if call.failed {
        theme.error
    } else if call.errno.is_some() {
        theme.warning
    } else {
        Style::new()
    }
}

/// Draws the whole board.
pub fn render(frame: &mut Frame, board: &TraceBoard) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(board.theme);
    frame.buffer_mut().set_style(area, theme.base);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = text::format(
            board.lang,
            "trace_board.too_small",
            &[
                ("need", &format!("{MIN_WIDTH}x{MIN_HEIGHT}")),
                ("have", &format!("{}x{}", area.width, area.height)),
            ],
        );
        let line = Line::from(Span::styled(message, theme.warning));
        draw::put(frame.buffer_mut(), area, area.y, &line);
        return;
    }
    header(
        frame,
        Rect::new(area.x, area.y, area.width, 1),
        board,
        &theme,
    );
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 2);
    let left_width = body.width * 9 / 20;
    let left = Rect::new(body.x, body.y, left_width, body.height);
    let right = Rect::new(
        body.x + left_width,
        body.y,
        body.width - left_width,
        body.height,
    );
    let fds_height = left.height * 7 / 20;
    let sockets_height = left.height * 7 / 20;
    fds(
        frame,
        Rect::new(left.x, left.y, left.width, fds_height),
        board,
        &theme,
    );
    sockets(
        frame,
        Rect::new(left.x, left.y + fds_height, left.width, sockets_height),
        board,
        &theme,
    );
    listeners(
        frame,
        Rect::new(
            left.x,
            left.y + fds_height + sockets_height,
            left.width,
            left.height - fds_height - sockets_height,
        ),
        board,
        &theme,
    );
    let ladder = !board.lab.segments.is_empty() && right.height >= 24;
    let output_height = right.height / 4;
    let ladder_height = if ladder { right.height / 3 } else { 0 };
    let trace_height = right.height - output_height - ladder_height;
    trace(
        frame,
        Rect::new(right.x, right.y, right.width, trace_height),
        board,
        &theme,
    );
    if ladder {
        let mut app = App::new(board.lang, board.theme);
        app.apply(board.lab.clone());
        app.changes.clear();
        super::ladder::render(
            frame,
            Rect::new(right.x, right.y + trace_height, right.width, ladder_height),
            &app,
        );
    }
    output(
        frame,
        Rect::new(
            right.x,
            right.y + trace_height + ladder_height,
            right.width,
            output_height,
        ),
        board,
        &theme,
    );
    status(
        frame,
        Rect::new(area.x, area.bottom() - 1, area.width, 1),
        board,
        &theme,
    );
}

fn header(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let program = &board.program;
    let how = if let Some(ending) = board.ending_text() {
        ending
    } else if program.untraced_reason.is_some() {
        board.t("trace_board.untraced").to_owned()
    } else if board.attached {
        board.t("trace_board.attached").to_owned()
    } else {
        board.t("trace_board.running").to_owned()
    };
    let waiting = program
        .processes
        .iter()
        .find(|p| p.pid == program.pid)
        .and_then(|p| p.waiting_in.as_ref().map(|call| (call, p.waiting_fd)));
    let how = match waiting {
        Some((call, fd)) if program.exit.is_none() => {
            let call = match fd {
                Some(fd) => format!("{call}({fd})"),
                None => format!("{call}()"),
            };
            let waits = text::format(board.lang, "trace_board.waits_in", &[("call", &call)]);
            format!("{how} · {waits}")
        }
        _ => how,
    };
    let mut spans = vec![
        Span::styled(" sockscope trace ", theme.banner),
        Span::raw(" "),
        Span::styled(visible(&program.command.join(" ")), theme.accent),
        Span::raw(format!("  pid {}  ", program.pid)),
        Span::styled(
            how,
            if program.exit.is_some() {
                theme.warning
            } else {
                Style::new()
            },
        ),
    ];
    let mut filters = Vec::new();
    if let Some(pid) = board.filter.pid {
        filters.push(format!("pid={pid}"));
    }
    if let Some(fd) = board.filter.fd {
        filters.push(format!("fd={fd}"));
    }
    if !filters.is_empty() {
        let text = text::format(
            board.lang,
            "trace_board.filtered",
            &[("filter", &filters.join(" "))],
        );
        spans.push(Span::raw("  "));
        spans.push(Span::styled(text, theme.accent));
    }
    if board.detach {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            board.t("trace_board.detach_on_quit"),
            theme.muted,
        ));
    }
    draw::put(frame.buffer_mut(), area, area.y, &Line::from(spans));
}

fn fds(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let fds = &board.program.fds;
    let title = text::format(
        board.lang,
        "trace_board.fds",
        &[("count", &fds.len().to_string())],
    );
    let inner = draw::panel_block(frame, area, theme, &title, false);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    // Padded by display width: the Korean labels are two columns a character.
    let header = format!(
        "{:>7} {:>3} {} {}",
        "pid",
        "fd",
        draw::fit(board.t("ui.col_kind"), 7),
        board.t("ui.col_target")
    );
    draw::put(
        buf,
        inner,
        inner.y,
        &Line::from(Span::styled(header, theme.header)),
    );
    let list = draw::below_header(inner);
    if fds.is_empty() {
        let why = board
            .program
            .probe_errors
            .first()
            .map_or_else(|| board.t("ui.no_fds").to_owned(), |error| visible(error));
        draw::put(
            buf,
            list,
            list.y,
            &Line::from(Span::styled(why, theme.muted)),
        );
        return;
    }
    for (row, entry) in fds.iter().take(usize::from(list.height)).enumerate() {
        let kind_style = match entry.kind {
            FdKind::Socket => theme.accent,
            FdKind::Epoll | FdKind::Eventfd => theme.muted,
            _ => Style::new(),
        };
        let line = Line::from(vec![
            Span::raw(format!("{:>7} {:>3} ", entry.pid, entry.fd)),
            Span::styled(format!("{:<7} ", entry.kind.name()), kind_style),
            Span::raw(visible(&entry.target)),
        ]);
        draw::put(buf, list, list.y + row as u16, &line);
    }
    more(buf, list, fds.len(), theme, board);
}

/// "... N more" on the last row when a list did not fit.
fn more(
    buf: &mut ratatui::buffer::Buffer,
    list: Rect,
    total: usize,
    theme: &Theme,
    board: &TraceBoard,
) {
    let shown = usize::from(list.height);
    if total > shown && shown > 0 {
        let text = text::format(
            board.lang,
            "trace_board.more",
            &[("count", &(total - shown + 1).to_string())],
        );
        let y = list.bottom() - 1;
        draw::paint_row(buf, list, y, theme.base);
        draw::put(buf, list, y, &Line::from(Span::styled(text, theme.muted)));
    }
}

fn sockets(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let program = &board.program.sockets;
    let lab = &board.lab.sockets;
    let title = text::format(
        board.lang,
        "trace_board.sockets",
        &[
            ("count", &program.len().to_string()),
            ("lab", &lab.len().to_string()),
        ],
    );
    let inner = draw::panel_block(frame, area, theme, &title, false);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    let mut lines = socket_lines(board, theme);
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            board.t("trace_board.no_sockets"),
            theme.muted,
        )));
    }
    let total = lines.len();
    for (row, line) in lines.iter().take(usize::from(inner.height)).enumerate() {
        draw::put(buf, inner, inner.y + row as u16, line);
    }
    more(buf, inner, total, theme, board);
}

/// The program's sockets, its socket descriptors `sock_diag` does not list, then the lab's.
fn socket_lines(board: &TraceBoard, theme: &Theme) -> Vec<Line<'static>> {
    let program = &board.program.sockets;
    let lab = &board.lab.sockets;
    let mut lines: Vec<Line> = Vec::new();
    for socket in program {
        let remote = socket
            .remote
            .map(|r| format!(" -> {r}"))
            .unwrap_or_default();
        let info = socket
            .tcp
            .filter(|_| socket.state != TcpState::Listen)
            .map(|tcp| {
                text::format(
                    board.lang,
                    "trace_board.tcp_info",
                    &[
                        ("rtt", &format!("{:.2}", f64::from(tcp.rtt_us) / 1000.0)),
                        ("out", &tcp.segs_out.to_string()),
                        ("in", &tcp.segs_in.to_string()),
                        ("retx", &tcp.retransmits.to_string()),
                    ],
                )
            });
        let mut spans = vec![
            Span::raw(format!("{}/{} ", socket.pid, socket.fd)),
            Span::raw(format!("{} ", socket.proto.name())),
            Span::styled(
                format!("{} ", socket.state.name()),
                state_style(theme, socket.state),
            ),
            Span::raw(format!("{}{remote}", socket.local)),
            Span::styled(
                format!(" q {}/{}", socket.recv_q, socket.send_q),
                theme.muted,
            ),
        ];
        if let Some(info) = info {
            spans.push(Span::styled(format!(" {info}"), theme.muted));
        }
        lines.push(Line::from(spans));
    }
    // Socket descriptors sock_diag does not list: not yet listening or connected (or not TCP/UDP).
    for fd in board
        .program
        .fds
        .iter()
        .filter(|fd| fd.kind == FdKind::Socket)
    {
        if program.iter().any(|s| s.pid == fd.pid && s.fd == fd.fd) {
            continue;
        }
        lines.push(Line::from(vec![
            Span::raw(format!("{}/{} ", fd.pid, fd.fd)),
            Span::styled(
                text::format(
                    board.lang,
                    "trace_board.unlisted",
                    &[("target", &visible(&fd.target))],
                ),
                theme.muted,
            ),
        ]));
    }
    for socket in lab {
        let local = socket
            .local
            .map_or_else(|| "-".to_owned(), |l| l.to_string());
        let remote = socket
            .remote
            .map(|r| format!(" -> {r}"))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("lab:{} ", visible(&socket.name)), theme.banner),
            Span::raw(format!("{} ", socket.proto.name())),
            Span::styled(
                format!("{} ", socket.state.name()),
                state_style(theme, socket.state),
            ),
            Span::raw(format!("{local}{remote}")),
        ]));
    }
    lines
}

fn listeners(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let listeners = &board.program.listeners;
    let title = text::format(
        board.lang,
        "trace_board.listeners",
        &[("count", &listeners.len().to_string())],
    );
    let inner = draw::panel_block(frame, area, theme, &title, false);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    let mut lines: Vec<Line> = Vec::new();
    for listener in listeners {
        let queue = text::format(
            board.lang,
            "trace_board.queue",
            &[
                ("accept", &listener.accept_queue.to_string()),
                ("backlog", &listener.backlog.to_string()),
                ("syn", &listener.syn_queue.to_string()),
            ],
        );
        let full = listener.accept_queue >= listener.backlog && listener.backlog > 0;
        lines.push(Line::from(vec![
            Span::raw(format!("{}/{} ", listener.pid, listener.fd)),
            Span::styled(format!("{} ", listener.local), theme.state_listen),
            Span::styled(queue, if full { theme.warning } else { Style::new() }),
        ]));
        for waiting in listener.waiting.iter().chain(&listener.half_open) {
            lines.push(Line::from(vec![
                Span::styled("   <- ", theme.muted),
                Span::raw(format!("{} ", waiting.peer)),
                Span::styled(waiting.state.name(), state_style(theme, waiting.state)),
            ]));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            board.t("trace_board.no_listeners"),
            theme.muted,
        )));
    }
    let total = lines.len();
    for (row, line) in lines.iter().take(usize::from(inner.height)).enumerate() {
        draw::put(buf, inner, inner.y + row as u16, line);
    }
    more(buf, inner, total, theme, board);
}

fn trace(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let shown: Vec<&Syscall> = board.shown_syscalls().collect();
    let mut title = text::format(
        board.lang,
        "trace_board.syscalls",
        &[("count", &shown.len().to_string())],
    );
    let dropped = board.program.syscalls_dropped + board.program.events_dropped;
    if dropped > 0 {
        title.push(' ');
        title.push_str(&text::format(
            board.lang,
            "ui.trace_dropped",
            &[("count", &dropped.to_string())],
        ));
    }
    let inner = draw::panel_block(frame, area, theme, &title, false);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    if let Some(reason) = &board.program.untraced_reason {
        for (row, line) in draw::wrap(&visible(reason), usize::from(inner.width))
            .iter()
            .take(usize::from(inner.height))
            .enumerate()
        {
            draw::put(
                buf,
                inner,
                inner.y + row as u16,
                &Line::from(Span::styled(line.clone(), theme.warning)),
            );
        }
        return;
    }
    if shown.is_empty() {
        draw::put(
            buf,
            inner,
            inner.y,
            &Line::from(Span::styled(
                board.t("trace_board.no_syscalls"),
                theme.muted,
            )),
        );
        return;
    }
    let height = usize::from(inner.height);
    let scroll = board.scroll.min(shown.len().saturating_sub(height));
    let end = shown.len() - scroll;
    let start = end.saturating_sub(height);
    for (row, call) in shown[start..end].iter().enumerate() {
        let line = Line::from(vec![
            Span::styled(format!("{:>7} ", call.pid), theme.muted),
            Span::styled(
                format!("{} = {}", visible(&call.call), visible(&call.result)),
                call_style(theme, call),
            ),
        ]);
        draw::put(buf, inner, inner.y + row as u16, &line);
    }
}

fn output(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let title = board.t("trace_board.output");
    let inner = draw::panel_block(frame, area, theme, title, false);
    if inner.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    let program = &board.program;
    // Each line escaped: the program's bytes never reach the terminal raw.
    let mut lines: Vec<Line> = Vec::new();
    for (text, style) in [
        (&program.stdout, Style::new()),
        (&program.stderr, theme.warning),
    ] {
        for line in text.lines() {
            lines.push(Line::from(Span::styled(visible(line), style)));
        }
    }
    if lines.is_empty() {
        let empty = if board.attached {
            board.t("trace_board.no_output_attached")
        } else {
            board.t("trace_board.no_output")
        };
        lines.push(Line::from(Span::styled(empty, theme.muted)));
    }
    let height = usize::from(inner.height);
    let start = lines.len().saturating_sub(height);
    for (row, line) in lines[start..].iter().enumerate() {
        draw::put(buf, inner, inner.y + row as u16, line);
    }
}

fn status(frame: &mut Frame, area: Rect, board: &TraceBoard, theme: &Theme) {
    let buf = frame.buffer_mut();
    let line = match (&board.mode, &board.status) {
        (BoardMode::Prompt, _) => Line::from(vec![
            Span::styled(":", theme.accent),
            Span::raw(visible(&board.prompt.text)),
            Span::styled("_", theme.muted),
        ]),
        (BoardMode::Normal, Some((text, error))) => Line::from(Span::styled(
            visible(text),
            if *error { theme.error } else { Style::new() },
        )),
        (BoardMode::Normal, None) => {
            Line::from(Span::styled(board.t("trace_board.keys"), theme.muted))
        }
    };
    draw::put(buf, area, area.y, &line);
}
