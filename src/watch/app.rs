//! [`WatchApp`]: everything `sockscope watch` shows, changed only by [`WatchApp::apply`] (a new
//! snapshot) and [`WatchApp::key`] (a key press). Drawing reads it and changes nothing.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::net::SocketAddr;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::ThemeName;
use crate::model::Proto;
use crate::system::{Filter, SystemSnapshot, SystemSocket};
use crate::text::Lang;

/// The socket table's columns, in screen order; each one can be the sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Column {
    Proto,
    State,
    #[default]
    Local,
    Remote,
    RecvQ,
    SendQ,
    Pid,
    Process,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Proto,
        Column::State,
        Column::Local,
        Column::Remote,
        Column::RecvQ,
        Column::SendQ,
        Column::Pid,
        Column::Process,
    ];

    /// The locale key of the column's header.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Column::Proto => "watch.col_proto",
            Column::State => "watch.col_state",
            Column::Local => "watch.col_local",
            Column::Remote => "watch.col_remote",
            Column::RecvQ => "watch.col_recv_q",
            Column::SendQ => "watch.col_send_q",
            Column::Pid => "watch.col_pid",
            Column::Process => "watch.col_process",
        }
    }

    /// The next column (`s`), wrapping around.
    #[must_use]
    pub fn next(self) -> Column {
        let at = Column::ALL.iter().position(|&c| c == self).unwrap_or(0);
        Column::ALL[(at + 1) % Column::ALL.len()]
    }
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// Typing a filter after `/`: the text so far.
    Filter(String),
    Help,
}

/// What a key asks the runtime to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    None,
    /// Something on screen changed.
    Redraw,
    Quit,
    /// Pausing ended: collect now.
    Resume,
}

/// The state of the watch screen.
#[derive(Debug, Clone, Default)]
pub struct WatchApp {
    pub lang: Lang,
    pub theme: ThemeName,
    /// The command-line filter the collector applies (shown in the title).
    pub filter: Filter,
    /// Owners are looked up (`--no-owners` turns it off).
    pub owners: bool,
    /// The last snapshot received; `None` until the first collection is back.
    pub snapshot: Option<SystemSnapshot>,
    /// Indices into `snapshot.sockets` that the UI filter keeps, in sort order.
    pub rows: Vec<u32>,
    /// Listener indices into `snapshot.listeners`, fullest queue first.
    pub listeners: Vec<u32>,
    pub sort: Column,
    pub descending: bool,
    /// The UI filter (`/`): a substring of local, remote, process or state. Empty: everything.
    pub search: String,
    /// Position of the selected row in `rows`.
    pub selected: usize,
    /// First row drawn (kept so the view does not jump); the renderer keeps the selection visible.
    pub offset: usize,
    /// Rows the table shows, as of the last resize (for page up/down).
    pub page: usize,
    pub mode: Mode,
    pub paused: bool,
    /// Collections received.
    pub collections: u64,
    /// The machine's port ranges (read once at start), for the port map.
    pub ports: crate::model::Ports,
}

impl WatchApp {
    #[must_use]
    pub fn new(lang: Lang, theme: ThemeName, filter: Filter, owners: bool) -> Self {
        Self {
            lang,
            theme,
            filter,
            owners,
            page: 20,
            ..Self::default()
        }
    }

    /// Takes a new snapshot: filters, sorts, keeps the selected socket selected if it is still
    /// there.
    pub fn apply(&mut self, snapshot: SystemSnapshot) {
        let selected = self.selected_socket().map(identity);
        self.snapshot = Some(snapshot);
        self.collections += 1;
        self.rebuild(selected);
    }

    /// The socket under the selection.
    #[must_use]
    pub fn selected_socket(&self) -> Option<&SystemSocket> {
        let snapshot = self.snapshot.as_ref()?;
        let &index = self.rows.get(self.selected)?;
        snapshot.sockets.get(index as usize)
    }

    /// Recomputes `rows` and `listeners` from the snapshot, the filter and the sort.
    fn rebuild(&mut self, keep: Option<Identity>) {
        let Some(snapshot) = self.snapshot.as_ref() else {
            self.rows.clear();
            self.listeners.clear();
            return;
        };
        let needle = self.search.trim().to_lowercase();
        let mut scratch = String::new();
        let mut rows: Vec<u32> = (0..snapshot.sockets.len() as u32)
            .filter(|&i| {
                needle.is_empty()
                    || matches_search(&snapshot.sockets[i as usize], &needle, &mut scratch)
            })
            .collect();
        let sockets = &snapshot.sockets;
        let column = self.sort;
        let descending = self.descending;
        rows.sort_by(|&a, &b| {
            let (x, y) = (&sockets[a as usize], &sockets[b as usize]);
            let order = compare(column, x, y).then_with(|| {
                compare(Column::Local, x, y).then_with(|| compare(Column::Remote, x, y))
            });
            let order = if descending { order.reverse() } else { order };
            order.then(a.cmp(&b))
        });
        self.rows = rows;

        let mut listeners: Vec<u32> = (0..snapshot.listeners.len() as u32).collect();
        let fill = |i: u32| {
            let l = &snapshot.listeners[i as usize];
            (u64::from(l.accept_queue) * 1000) / u64::from(l.limit.max(1))
        };
        listeners.sort_by(|&a, &b| {
            fill(b)
                .cmp(&fill(a))
                .then_with(|| {
                    snapshot.listeners[a as usize]
                        .local
                        .port()
                        .cmp(&snapshot.listeners[b as usize].local.port())
                })
                .then(a.cmp(&b))
        });
        self.listeners = listeners;

        if let Some(keep) = keep
            && let Some(at) = self
                .rows
                .iter()
                .position(|&i| identity(&sockets[i as usize]) == keep)
        {
            self.selected = at;
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.offset = self.offset.min(self.selected);
    }

    /// Sets the rows the table has room for (the runtime calls it on resize).
    pub fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
    }

    /// Handles one input event.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match std::mem::take(&mut self.mode) {
            Mode::Filter(text) => self.filter_key(text, key),
            Mode::Help => {
                if key.code == KeyCode::Char('q') {
                    return Action::Quit;
                }
                Action::Redraw
            }
            Mode::Normal => self.normal_key(key),
        }
    }

    fn filter_key(&mut self, mut text: String, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Enter => {
                self.search = text;
                let keep = self.selected_socket().map(identity);
                self.rebuild(keep);
            }
            KeyCode::Esc => {
                self.search.clear();
                let keep = self.selected_socket().map(identity);
                self.rebuild(keep);
            }
            KeyCode::Backspace => {
                text.pop();
                self.mode = Mode::Filter(text);
            }
            KeyCode::Char(ch) => {
                text.push(ch);
                self.mode = Mode::Filter(text);
            }
            _ => self.mode = Mode::Filter(text),
        }
        Action::Redraw
    }

    fn normal_key(&mut self, key: KeyEvent) -> Action {
        let last = self.rows.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('j') | KeyCode::Down => self.selected = (self.selected + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.selected = (self.selected + self.page).min(last);
            }
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(self.page),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = last,
            KeyCode::Char('s') => {
                self.sort = self.sort.next();
                let keep = self.selected_socket().map(identity);
                self.rebuild(keep);
            }
            KeyCode::Char('S') => {
                self.descending = !self.descending;
                let keep = self.selected_socket().map(identity);
                self.rebuild(keep);
            }
            KeyCode::Char('/') => self.mode = Mode::Filter(self.search.clone()),
            KeyCode::Esc if !self.search.is_empty() => {
                self.search.clear();
                let keep = self.selected_socket().map(identity);
                self.rebuild(keep);
            }
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Char('p') => {
                self.paused = !self.paused;
                if !self.paused {
                    return Action::Resume;
                }
            }
            _ => return Action::None,
        }
        // Keep the selection on screen.
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + self.page {
            self.offset = self.selected + 1 - self.page;
        }
        Action::Redraw
    }

    /// The first row to draw in a table `height` rows tall so that the selection is visible.
    #[must_use]
    pub fn first_row(&self, height: usize) -> usize {
        if height == 0 {
            return 0;
        }
        let mut offset = self.offset;
        if self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        offset.min(self.rows.len().saturating_sub(height))
    }
}

/// What identifies a socket from one snapshot to the next.
type Identity = (u64, SocketAddr, Option<SocketAddr>);

fn identity(socket: &SystemSocket) -> Identity {
    (socket.inode, socket.local, socket.remote)
}

/// Whether `needle` (lowercase) is in the socket's local or remote address, process or state.
fn matches_search(socket: &SystemSocket, needle: &str, scratch: &mut String) -> bool {
    if socket.state.name().to_lowercase().contains(needle) {
        return true;
    }
    if let Some(process) = &socket.process
        && process.to_lowercase().contains(needle)
    {
        return true;
    }
    scratch.clear();
    let _ = write!(scratch, "{}", socket.local);
    if let Some(remote) = socket.remote {
        let _ = write!(scratch, " {remote}");
    }
    scratch.contains(needle)
}

fn proto_rank(proto: Proto) -> u8 {
    match proto {
        Proto::Tcp => 0,
        Proto::Udp => 1,
    }
}

fn compare(column: Column, a: &SystemSocket, b: &SystemSocket) -> Ordering {
    match column {
        Column::Proto => proto_rank(a.proto).cmp(&proto_rank(b.proto)),
        Column::State => a.state.name().cmp(b.state.name()),
        Column::Local => address_order(a.local, b.local),
        Column::Remote => match (a.remote, b.remote) {
            (Some(x), Some(y)) => address_order(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
        Column::RecvQ => a.recv_q.cmp(&b.recv_q),
        Column::SendQ => a.send_q.cmp(&b.send_q),
        // Unknown owners last.
        Column::Pid => match (a.pid, b.pid) {
            (Some(x), Some(y)) => x.cmp(&y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        },
        Column::Process => match (&a.process, &b.process) {
            (Some(x), Some(y)) => x.cmp(y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        },
    }
}

/// Port first (what people look for), then the address.
fn address_order(a: SocketAddr, b: SocketAddr) -> Ordering {
    a.port()
        .cmp(&b.port())
        .then_with(|| a.is_ipv6().cmp(&b.is_ipv6()))
        .then_with(|| a.ip().cmp(&b.ip()))
}
