//! [`WatchApp`]: everything `sockscope watch` shows, changed only by [`WatchApp::apply`] (a new
//! snapshot) and [`WatchApp::key`] (a key press). Drawing reads it and changes nothing.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::model::Proto;
use crate::settings::ThemeName;
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

/// Everything a user can ask of the watch screen (the keymap makes these from keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    /// Sort by the next column.
    NextSort,
    ReverseSort,
    /// Start typing a filter (`/`).
    OpenFilter,
    FilterInsert(char),
    FilterBackspace,
    /// Enter: apply the typed filter.
    FilterApply,
    /// Esc while typing: clear the filter.
    FilterCancel,
    /// Esc in the table: clear an applied filter.
    ClearFilter,
    ToggleHelp,
    CloseHelp,
    TogglePause,
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Only the screen changed.
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
    /// The ports something listens on (the port map), by port.
    pub listening: Vec<ListeningPort>,
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
    /// The last refresh found nothing changed since the snapshot shown.
    pub unchanged: Option<Unchanged>,
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

    /// How the rows are ordered and filtered now, for the worker to apply to the next snapshot.
    #[must_use]
    pub fn view(&self) -> View {
        View {
            sort: self.sort,
            descending: self.descending,
            search: self.search.clone(),
        }
    }

    /// Takes a snapshot the worker has already filtered and sorted for `view`. If the user changed
    /// the view meanwhile, the order is computed again here. Returns the snapshot it replaces (for
    /// the worker to free).
    pub fn apply_ordered(
        &mut self,
        snapshot: SystemSnapshot,
        ordered: Ordered,
        view: &View,
    ) -> Option<SystemSnapshot> {
        let selected = self.selected_socket().map(identity);
        let replaced = self.snapshot.replace(snapshot);
        self.collections += 1;
        self.unchanged = None;
        if *view == self.view() {
            self.rows = ordered.rows;
            self.listeners = ordered.listeners;
            self.listening = ordered.listening;
            self.keep_selection(selected);
        } else {
            self.rebuild(selected);
        }
        replaced
    }

    /// The worker found nothing changed since the snapshot shown: it stays, and the header says
    /// so.
    pub fn note_unchanged(&mut self, checked_in: Duration, walked: Instant) {
        self.unchanged = Some(Unchanged {
            checked_in,
            since_walk: walked.elapsed(),
        });
    }

    /// Recomputes `rows` and `listeners` from the snapshot, the filter and the sort.
    fn rebuild(&mut self, keep: Option<Identity>) {
        let Some(snapshot) = self.snapshot.as_ref() else {
            self.rows.clear();
            self.listeners.clear();
            self.listening.clear();
            return;
        };
        let ordered = order(snapshot, &self.view());
        self.rows = ordered.rows;
        self.listeners = ordered.listeners;
        self.listening = ordered.listening;
        self.keep_selection(keep);
    }

    fn keep_selection(&mut self, keep: Option<Identity>) {
        if let Some(keep) = keep
            && let Some(snapshot) = self.snapshot.as_ref()
            && let Some(at) = self
                .rows
                .iter()
                .position(|&i| identity(&snapshot.sockets[i as usize]) == keep)
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

    /// Handles one action.
    pub fn update(&mut self, action: Action) -> Effect {
        let last = self.rows.len().saturating_sub(1);
        match action {
            Action::Quit => return Effect::Quit,
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::PageDown => self.selected = (self.selected + self.page).min(last),
            Action::PageUp => self.selected = self.selected.saturating_sub(self.page),
            Action::First => self.selected = 0,
            Action::Last => self.selected = last,
            Action::NextSort => {
                self.sort = self.sort.next();
                self.rebuild_keeping_selection();
            }
            Action::ReverseSort => {
                self.descending = !self.descending;
                self.rebuild_keeping_selection();
            }
            Action::OpenFilter => self.mode = Mode::Filter(self.search.clone()),
            Action::FilterInsert(ch) => {
                if let Mode::Filter(text) = &mut self.mode {
                    text.push(ch);
                }
            }
            Action::FilterBackspace => {
                if let Mode::Filter(text) = &mut self.mode {
                    text.pop();
                }
            }
            Action::FilterApply => {
                if let Mode::Filter(text) = std::mem::take(&mut self.mode) {
                    self.search = text;
                }
                self.rebuild_keeping_selection();
            }
            Action::FilterCancel | Action::ClearFilter => {
                self.mode = Mode::Normal;
                self.search.clear();
                self.rebuild_keeping_selection();
            }
            Action::ToggleHelp => {
                self.mode = if self.mode == Mode::Help {
                    Mode::Normal
                } else {
                    Mode::Help
                };
            }
            Action::CloseHelp => self.mode = Mode::Normal,
            Action::TogglePause => {
                self.paused = !self.paused;
                if !self.paused {
                    return Effect::Resume;
                }
            }
        }
        // Keep the selection on screen.
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + self.page {
            self.offset = self.selected + 1 - self.page;
        }
        Effect::Redraw
    }

    fn rebuild_keeping_selection(&mut self) {
        let keep = self.selected_socket().map(identity);
        self.rebuild(keep);
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

/// A refresh that found nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unchanged {
    /// What reading the counters and descriptor counts cost.
    pub checked_in: Duration,
    /// How long before the check the snapshot shown was walked.
    pub since_walk: Duration,
}

/// The sort and the `/` filter: what turns a snapshot into rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub sort: Column,
    pub descending: bool,
    pub search: String,
}

/// A snapshot's rows in a [`View`]: indices into `sockets` and `listeners`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ordered {
    /// The sockets the filter keeps, in sort order.
    pub rows: Vec<u32>,
    /// Listeners, fullest queue first.
    pub listeners: Vec<u32>,
    /// The listening ports, by port.
    pub listening: Vec<ListeningPort>,
}

/// A port something listens on, for the port map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListeningPort {
    pub port: u16,
    pub proto: Proto,
    /// The first owner seen (escape it before printing).
    pub process: Option<std::sync::Arc<str>>,
}

/// Filters and sorts `snapshot` for `view`: 100k rows take tens of milliseconds, so the worker
/// does it beside the collection, off the thread that answers keys.
#[must_use]
pub fn order(snapshot: &SystemSnapshot, view: &View) -> Ordered {
    let needle = view.search.trim().to_lowercase();
    let mut scratch = String::new();
    let mut rows: Vec<u32> = (0..snapshot.sockets.len() as u32)
        .filter(|&i| {
            needle.is_empty()
                || matches_search(&snapshot.sockets[i as usize], &needle, &mut scratch)
        })
        .collect();
    sort_rows(&mut rows, &snapshot.sockets, view.sort, view.descending);

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
    Ordered {
        rows,
        listeners,
        listening: listening_ports(snapshot),
    }
}

/// One entry per listening port (TCP `LISTEN` and unconnected UDP), with the first owner seen,
/// by port: the port map's marks. Made with the order, so a frame does not read every socket.
fn listening_ports(snapshot: &SystemSnapshot) -> Vec<ListeningPort> {
    let mut seen = std::collections::BTreeMap::new();
    for socket in &snapshot.sockets {
        let listening = socket.state == crate::model::TcpState::Listen
            || (socket.state == crate::model::TcpState::Unconnected && socket.remote.is_none());
        if listening {
            seen.entry((socket.local.port(), proto_rank(socket.proto)))
                .or_insert_with(|| (socket.proto, socket.process.clone()));
        }
    }
    seen.into_iter()
        .map(|((port, _), (proto, process))| ListeningPort {
            port,
            proto,
            process,
        })
        .collect()
}

/// Sorts `rows` (indices into `sockets`) by `column`, then by the local and the remote address,
/// then by index, as [`compare`] orders them. Each row's key is made once (100k rows: the
/// comparisons read two small integers and two addresses packed into integers, not sockets), and
/// a name column is sorted by each distinct name's rank.
fn sort_rows(rows: &mut [u32], sockets: &[SystemSocket], column: Column, descending: bool) {
    // The column's value as a number whose order is the column's order.
    let rank = ranks(rows, sockets, column);
    let primary = |socket: &SystemSocket| -> u64 {
        match column {
            Column::Proto => u64::from(proto_rank(socket.proto)),
            Column::RecvQ => u64::from(socket.recv_q),
            Column::SendQ => u64::from(socket.send_q),
            // Unknown owners last.
            Column::Pid => socket.pid.map_or(u64::MAX, u64::from),
            Column::State | Column::Process => rank(socket),
            Column::Local | Column::Remote => 0,
        }
    };
    let mut keyed: Vec<(u64, AddressKey, AddressKey, u32)> = rows
        .iter()
        .map(|&index| {
            let socket = &sockets[index as usize];
            let local = address_key(Some(socket.local));
            let remote = address_key(socket.remote);
            let (first, second) = if column == Column::Remote {
                (remote, local)
            } else {
                (local, remote)
            };
            (primary(socket), first, second, index)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| {
        let order = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
        let order = if descending { order.reverse() } else { order };
        order.then(a.3.cmp(&b.3))
    });
    for (row, key) in rows.iter_mut().zip(keyed) {
        *row = key.3;
    }
}

/// An address in [`address_order`]'s order: none first, then port, family, address.
type AddressKey = Option<(u16, bool, u128)>;

fn address_key(address: Option<SocketAddr>) -> AddressKey {
    address.map(|address| {
        let ip = match address.ip() {
            std::net::IpAddr::V4(ip) => u128::from(u32::from(ip)),
            std::net::IpAddr::V6(ip) => u128::from(ip),
        };
        (address.port(), address.is_ipv6(), ip)
    })
}

/// For the name columns (state, process): each socket's name as its rank among the distinct
/// names of `rows`, in [`compare`]'s order (no process last). Other columns: always 0.
fn ranks<'a>(
    rows: &[u32],
    sockets: &'a [SystemSocket],
    column: Column,
) -> impl Fn(&SystemSocket) -> u64 + 'a {
    let name = move |socket: &'a SystemSocket| -> Option<&'a str> {
        match column {
            Column::State => Some(socket.state.name()),
            Column::Process => socket.process.as_deref(),
            _ => None,
        }
    };
    let mut names: Vec<&str> = Vec::new();
    if matches!(column, Column::State | Column::Process) {
        let distinct: foldhash::HashSet<&str> = rows
            .iter()
            .filter_map(|&index| name(&sockets[index as usize]))
            .collect();
        names = distinct.into_iter().collect();
        names.sort_unstable();
    }
    let rank: foldhash::HashMap<&str, u64> = names
        .into_iter()
        .enumerate()
        .map(|(at, name)| (name, at as u64))
        .collect();
    move |socket: &SystemSocket| match column {
        Column::State => rank.get(socket.state.name()).copied().unwrap_or(0),
        Column::Process => socket
            .process
            .as_deref()
            .and_then(|process| rank.get(process).copied())
            .unwrap_or(u64::MAX),
        _ => 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;
    use std::cmp::Ordering;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    /// The order the table promises, comparison by comparison: the reference [`sort_rows`] must
    /// equal.
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

    /// A mixed population: both families, shared ports, no peer, no owner, equal keys.
    fn population(count: usize, seed: u64) -> Vec<SystemSocket> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let states = [
            TcpState::Established,
            TcpState::Listen,
            TcpState::TimeWait,
            TcpState::FinWait1,
            TcpState::FinWait2,
            TcpState::SynSent,
            TcpState::SynRecv,
            TcpState::CloseWait,
        ];
        let names: [Arc<str>; 3] = [Arc::from("nginx"), Arc::from("curl"), Arc::from("a")];
        let address = |rng: &mut fastrand::Rng| {
            let ip = if rng.bool() {
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, rng.u8(1..4)))
            } else {
                IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, u16::from(rng.u8(1..4))))
            };
            SocketAddr::new(ip, rng.u16(78..82))
        };
        (0..count)
            .map(|_| {
                let owned = rng.u8(0..4) > 0;
                SystemSocket {
                    proto: if rng.u8(0..5) == 0 {
                        Proto::Udp
                    } else {
                        Proto::Tcp
                    },
                    state: states[rng.usize(0..states.len())],
                    local: address(&mut rng),
                    remote: rng.bool().then(|| address(&mut rng)),
                    recv_q: rng.u32(0..3),
                    send_q: rng.u32(0..3),
                    inode: rng.u64(0..1000),
                    uid: 0,
                    timer_ms: None,
                    pid: owned.then(|| rng.u32(1..5)),
                    fd: owned.then_some(3),
                    process: (owned && rng.u8(0..5) > 0)
                        .then(|| names[rng.usize(0..names.len())].clone()),
                }
            })
            .collect()
    }

    #[test]
    fn the_keyed_sort_orders_every_column_as_the_comparisons_do() {
        for seed in 0..4 {
            let sockets = population(600, seed);
            for column in Column::ALL {
                for descending in [false, true] {
                    let mut fast: Vec<u32> = (0..sockets.len() as u32).collect();
                    sort_rows(&mut fast, &sockets, column, descending);
                    let mut reference: Vec<u32> = (0..sockets.len() as u32).collect();
                    reference.sort_by(|&a, &b| {
                        let (x, y) = (&sockets[a as usize], &sockets[b as usize]);
                        let order = compare(column, x, y).then_with(|| {
                            compare(Column::Local, x, y).then_with(|| compare(Column::Remote, x, y))
                        });
                        let order = if descending { order.reverse() } else { order };
                        order.then(a.cmp(&b))
                    });
                    assert_eq!(fast, reference, "{column:?}, descending {descending}");
                }
            }
        }
    }
}
