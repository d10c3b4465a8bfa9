//! The descriptor table: every fd of the process, sockets and files and the poll's own
//! descriptors in one list, as `/proc/self/fd` shows them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw::{self, Col};
use super::scroll::{list_row, scroll_offset};
use crate::app::{App, ChangeKey, Panel};
use crate::escape::visible;
use crate::model::FdKind;

const KIND_WIDTH: usize = 7;
/// `unix seqpacket`, the longest kind label.
const KIND_MAX: usize = 14;
const NAME_MAX: usize = 10;

/// Draws the descriptor table into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some((inner, theme)) = draw::open_focus_panel(frame, area, app, Panel::Fds) else {
        return;
    };
    let cols = columns(app, usize::from(inner.width));
    let headers = [
        "fd",
        app.t("ui.col_kind"),
        app.t("ui.col_target"),
        app.t("ui.col_name"),
    ];
    let header = draw::row(
        &cols,
        headers
            .iter()
            .map(|text| ((*text).to_owned(), theme.header))
            .collect(),
    );
    let buf = frame.buffer_mut();
    draw::put(buf, inner, inner.y, &header);
    let list = draw::below_header(inner);
    let fds = &app.snapshot.fds;
    if fds.is_empty() {
        let empty = Line::from(Span::styled(app.t("ui.no_fds"), theme.muted));
        draw::put(buf, list, list.y, &empty);
        return;
    }
    let selected = app.selected_index(Panel::Fds);
    let offset = scroll_offset(selected, usize::from(list.height));
    for (index, entry) in fds
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(list.height))
    {
        let y = list.y + (index - offset) as u16;
        let kind_style = match entry.kind {
            FdKind::Socket => theme.accent,
            FdKind::Epoll | FdKind::Eventfd => theme.muted,
            _ => Style::new(),
        };
        let line = draw::row(
            &cols,
            vec![
                (entry.fd.to_string(), Style::new()),
                (kind_label(entry).to_owned(), kind_style),
                (target_text(entry), Style::new()),
                (
                    entry.name.as_deref().map(visible).unwrap_or_default(),
                    theme.accent,
                ),
            ],
        );
        draw::put_list_row(
            buf,
            list,
            y,
            line,
            &theme,
            app.focus == Panel::Fds && index == selected,
            || app.changes.is_fresh(&ChangeKey::Fd(entry.fd), app.now_ms),
        );
    }
}

/// The kind as lsof would say it (`IPv4/TCP`, `unix stream`, `FIFO`), else the coarse kind.
fn kind_label(entry: &crate::model::FdEntry) -> &str {
    if entry.label.is_empty() {
        entry.kind.name()
    } else {
        &entry.label
    }
}

/// The target, and the other end (`pipe:[12] -> fd 4`) or the bound address (`@ @srv`).
fn target_text(entry: &crate::model::FdEntry) -> String {
    let target = visible(&entry.target);
    match (&entry.peer, &entry.address) {
        (Some(peer), _) => format!("{target} -> {}", visible(peer)),
        (None, Some(address)) => format!("{target} @ {}", visible(address)),
        (None, None) => target,
    }
}

/// fd, kind, target (takes what is left), name.
fn columns(app: &App, width: usize) -> [Col; 4] {
    let fds = &app.snapshot.fds;
    let fd_width = fds
        .iter()
        .map(|entry| draw::display_width(entry.fd))
        .max()
        .unwrap_or(2)
        .max(2);
    let kind_width = fds
        .iter()
        .map(|entry| draw::width(kind_label(entry)))
        .max()
        .unwrap_or(0)
        .clamp(KIND_WIDTH, KIND_MAX)
        .max(draw::width(app.t("ui.col_kind")));
    let name_width = fds
        .iter()
        .filter_map(|entry| entry.name.as_deref())
        .map(draw::escaped_width)
        .max()
        .unwrap_or(0)
        .max(draw::width(app.t("ui.col_name")))
        .min(NAME_MAX);
    let target_width = width.saturating_sub(fd_width + kind_width + name_width + 3);
    [
        Col {
            width: fd_width,
            right: true,
        },
        Col {
            width: kind_width,
            right: false,
        },
        Col {
            width: target_width,
            right: false,
        },
        Col {
            width: name_width,
            right: false,
        },
    ]
}

/// The descriptor row under screen row `row` of a panel drawn in `area`.
#[must_use]
pub(crate) fn hit(app: &App, area: Rect, row: u16) -> Option<usize> {
    let list = draw::below_header(draw::inner(area));
    list_row(
        list,
        row,
        app.selected_index(Panel::Fds),
        app.rows(Panel::Fds),
    )
}
