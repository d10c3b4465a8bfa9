//! The dashboard's state: the latest snapshot and everything about how it is being looked at.
//! `update` turns an [`Action`] into state changes and [`Effect`]s; it never touches a socket —
//! commands for the lab go out as command lines of the lab language.

mod action;
mod changes;
mod item;
pub mod keymap;
mod ladder;
mod lecture;
mod panel;
mod prompt;
mod selection;

pub use self::action::{Action, PromptEdit, QuickVerb};
pub use self::changes::{ChangeKey, Changes, HIGHLIGHT_MS};
pub use self::item::Item;
pub use self::ladder::{Ladder, LadderRow, Lifeline};
pub use self::lecture::{LectureView, WaitView};
pub use self::panel::Panel;
pub use self::prompt::Prompt;
use crate::command::{Command, ShutdownHow, Target};
use crate::model::{Role, Snapshot};
use crate::settings::ThemeName;
use crate::text::{self, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Prompt,
    Help,
}

/// Full dashboard, or the presenter's layout (larger narration, fewer panels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutMode {
    #[default]
    Full,
    Presenter,
}

/// Where the ladder is on a terminal too small for it beside the other panels (`d` switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LadderPlace {
    /// In place of other panels while it has the focus.
    #[default]
    WhenFocused,
    /// In place of other panels all the time.
    Pinned,
}

/// Lists that keep their newest row selected until the user moves in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Follows {
    trace: bool,
    ladder: bool,
}

/// A one-line message for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run a command of the lab language (made by a key).
    Run(Command),
    /// Parse and run a line typed at the prompt.
    Submit(String),
    /// Stop the running `wait` and drop the commands queued behind it.
    CancelWait,
    Quit,
    StepForward,
    StepBack,
    Restart,
}

#[derive(Debug, Clone)]
pub struct App {
    pub snapshot: Snapshot,
    pub lang: Lang,
    pub theme: ThemeName,
    pub focus: Panel,
    selection: [usize; Panel::ALL.len()],
    /// The trace and the ladder follow their newest row until the user moves in them.
    follows: Follows,
    /// The panel the ladder takes its connection from while the ladder itself has the focus.
    ladder_source: Panel,
    pub ladder_place: LadderPlace,
    pub mode: Mode,
    pub prompt: Prompt,
    /// The display is frozen (`p`): new snapshots are not applied; the lab keeps running.
    pub frozen: bool,
    pub status: Option<Status>,
    pub changes: Changes,
    /// The clock highlights are measured against (the lab's milliseconds).
    pub now_ms: u64,
    pub mouse: bool,
    pub layout: LayoutMode,
    /// Set in lecture mode: the scenario, its step and narration.
    pub lecture: Option<LectureView>,
    /// A `wait` is running: what it is, when it ends, and the commands queued behind it.
    pub waiting: Option<WaitView>,
    /// The process id the explanations put in `/proc/PID/fd` and `lsof -p PID` (fixed in tests).
    pub pid: u32,
}

impl App {
    #[must_use]
    pub fn new(lang: Lang, theme: ThemeName) -> Self {
        Self {
            snapshot: Snapshot::default(),
            lang,
            theme,
            focus: Panel::Listeners,
            selection: [0; Panel::ALL.len()],
            follows: Follows {
                trace: true,
                ladder: true,
            },
            ladder_source: Panel::Listeners,
            ladder_place: LadderPlace::WhenFocused,
            mode: Mode::Normal,
            prompt: Prompt::default(),
            frozen: false,
            status: None,
            changes: Changes::default(),
            now_ms: 0,
            mouse: true,
            layout: LayoutMode::Full,
            lecture: None,
            waiting: None,
            pid: std::process::id(),
        }
    }

    /// Takes a new snapshot from the kernel (unless frozen); remembers what changed.
    /// Returns whether anything on screen may differ.
    pub fn apply(&mut self, snapshot: Snapshot) -> bool {
        if self.frozen {
            return false;
        }
        if snapshot.same_facts(&self.snapshot) {
            // Keep the newest clock readings (ages) without calling for a redraw.
            self.snapshot = snapshot;
            return false;
        }
        self.changes
            .record(&self.snapshot, &snapshot, snapshot.at_ms);
        let old_fds: std::collections::HashSet<i32> =
            self.snapshot.fds.iter().map(|fd| fd.fd).collect();
        let old_names: std::collections::HashSet<&str> = self
            .snapshot
            .sockets
            .iter()
            .map(|socket| socket.name.as_str())
            .collect();
        let new_fd = snapshot
            .fds
            .iter()
            .rposition(|fd| !old_fds.contains(&fd.fd));
        let new_connection = snapshot
            .sockets
            .iter()
            .filter(|socket| socket.role != Role::Listener)
            .enumerate()
            .filter(|(_, socket)| !old_names.contains(socket.name.as_str()))
            .map(|(index, _)| index)
            .last();
        let first = self.snapshot.fds.is_empty();
        self.snapshot = snapshot;
        if first {
            return true;
        }
        // Panels the user is not in follow what just appeared, so the audience sees it (but not the
        // panel the ladder follows while the user reads the ladder).
        let in_use = self.ladder_source();
        if let Some(index) = new_fd.filter(|_| in_use != Panel::Fds) {
            self.select(Panel::Fds, index);
        }
        if let Some(index) = new_connection.filter(|_| in_use != Panel::Connections) {
            self.select(Panel::Connections, index);
        }
        true
    }

    /// The string for `key` in the app's language.
    #[must_use]
    pub fn t(&self, key: &str) -> &'static str {
        text::get(self.lang, key)
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status {
            text: text.into(),
            error,
        });
    }

    /// The selected row of `panel`, kept within its rows.
    #[must_use]
    pub fn selected_index(&self, panel: Panel) -> usize {
        self.selected_within(panel, self.rows(panel))
    }

    /// The selected row of `panel` when it has `rows` rows (for a caller that has counted them,
    /// like the ladder, which is built from the whole capture).
    #[must_use]
    pub fn selected_within(&self, panel: Panel, rows: usize) -> usize {
        if rows == 0 {
            return 0;
        }
        let follows = match panel {
            Panel::Trace => self.follows.trace,
            Panel::Ladder => self.follows.ladder,
            _ => false,
        };
        if follows {
            return rows - 1;
        }
        self.selection[panel.index()].min(rows - 1)
    }

    pub fn select(&mut self, panel: Panel, index: usize) {
        match panel {
            Panel::Trace => self.follows.trace = index + 1 >= self.rows(panel),
            Panel::Ladder => self.follows.ladder = index + 1 >= self.rows(panel),
            _ => {}
        }
        self.selection[panel.index()] = index;
    }

    fn move_selection(&mut self, delta: isize) {
        let rows = self.rows(self.focus);
        if rows == 0 {
            return;
        }
        let current = self.selected_index(self.focus) as isize;
        let next = (current + delta).clamp(0, rows as isize - 1) as usize;
        self.select(self.focus, next);
    }

    fn cycle_focus(&mut self, forward: bool) {
        let count = Panel::ALL.len();
        let index = self.focus.index();
        let next = if forward {
            (index + 1) % count
        } else {
            (index + count - 1) % count
        };
        self.focus_panel(Panel::ALL[next]);
    }

    /// Moves the focus to `panel`, remembering which panel the ladder follows.
    fn focus_panel(&mut self, panel: Panel) {
        if self.focus != Panel::Ladder {
            self.ladder_source = self.focus;
        }
        self.focus = panel;
    }

    /// Handles one action; returns what the runtime must do.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => return vec![Effect::Quit],
            Action::NextPanel => self.cycle_focus(true),
            Action::PrevPanel => self.cycle_focus(false),
            Action::Up | Action::ScrollUp => self.move_selection(-1),
            Action::Down | Action::ScrollDown => self.move_selection(1),
            Action::PageUp => self.move_selection(-10),
            Action::PageDown => self.move_selection(10),
            Action::First => self.select(self.focus, 0),
            Action::Last => {
                let rows = self.rows(self.focus);
                self.select(self.focus, rows.saturating_sub(1));
            }
            Action::ToggleHelp => {
                self.mode = if self.mode == Mode::Help {
                    Mode::Normal
                } else {
                    Mode::Help
                };
            }
            Action::CloseOverlay => {
                if self.mode == Mode::Normal && self.waiting.is_some() {
                    return vec![Effect::CancelWait];
                }
                self.mode = Mode::Normal;
            }
            Action::ToggleFreeze => {
                self.frozen = !self.frozen;
                let key = if self.frozen {
                    "status.frozen"
                } else {
                    "status.live"
                };
                self.set_status(self.t(key), false);
            }
            Action::OpenPrompt => self.open_prompt(""),
            Action::PromptWith(text) => self.open_prompt(&text),
            Action::Prompt(edit) => return self.edit_prompt(edit),
            Action::Quick(verb) => return self.quick(verb),
            // The runtime turns a click into `Select` (it knows the layout); clicks that reach
            // here landed on nothing.
            Action::Click { .. } => {}
            Action::Select { panel, index } => self.click_select(panel, index),
            Action::StepForward => return vec![Effect::StepForward],
            Action::StepBack => return vec![Effect::StepBack],
            Action::Restart => return vec![Effect::Restart],
            Action::ToggleLadder => {
                let (place, key) = match self.ladder_place {
                    LadderPlace::WhenFocused => (LadderPlace::Pinned, "ladder.pinned"),
                    LadderPlace::Pinned => (LadderPlace::WhenFocused, "ladder.unpinned"),
                };
                self.ladder_place = place;
                self.set_status(self.t(key), false);
            }
            Action::ToggleLayout => {
                self.layout = match self.layout {
                    LayoutMode::Full => LayoutMode::Presenter,
                    LayoutMode::Presenter => LayoutMode::Full,
                };
            }
        }
        Vec::new()
    }

    fn open_prompt(&mut self, text: &str) {
        self.mode = Mode::Prompt;
        self.prompt.start(text);
    }

    fn edit_prompt(&mut self, edit: PromptEdit) -> Vec<Effect> {
        match edit {
            PromptEdit::Insert(ch) => self.prompt.insert(ch),
            PromptEdit::InsertText(text) => text.chars().for_each(|ch| self.prompt.insert(ch)),
            PromptEdit::Backspace => self.prompt.backspace(),
            PromptEdit::Delete => self.prompt.delete(),
            PromptEdit::Left => self.prompt.left(),
            PromptEdit::Right => self.prompt.right(),
            PromptEdit::Home => self.prompt.home(),
            PromptEdit::End => self.prompt.end(),
            PromptEdit::Clear => self.prompt.clear(),
            PromptEdit::HistoryUp => self.prompt.history_up(),
            PromptEdit::HistoryDown => self.prompt.history_down(),
            PromptEdit::Cancel => {
                self.prompt.clear();
                self.mode = Mode::Normal;
                // Esc or Ctrl-C at the prompt also stops a running wait.
                if self.waiting.is_some() {
                    return vec![Effect::CancelWait];
                }
            }
            PromptEdit::Submit => {
                self.mode = Mode::Normal;
                let line = self.prompt.submit();
                if !line.trim().is_empty() {
                    return vec![Effect::Submit(line)];
                }
            }
        }
        Vec::new()
    }

    fn click_select(&mut self, panel: Panel, index: Option<usize>) {
        if !self.mouse || self.mode != Mode::Normal {
            return;
        }
        self.focus_panel(panel);
        if let Some(index) = index {
            self.select(panel, index);
        }
    }

    /// A name not yet used in the lab: `srv1`, `srv2`, ...
    #[must_use]
    pub fn free_name(&self, stem: &str) -> String {
        (1..=u32::MAX)
            .map(|index| format!("{stem}{index}"))
            .find(|name| {
                self.snapshot.socket(name).is_none()
                    && !self
                        .snapshot
                        .fds
                        .iter()
                        .any(|fd| fd.name.as_deref() == Some(name.as_str()))
            })
            .expect("fewer than u32::MAX names are in use")
    }

    /// The listener a verb aimed at the selection means: the selected listener, the listener a
    /// selected accepted socket came from, or the only listener.
    fn target_listener(&self) -> Option<String> {
        match self.selected_item() {
            Some(Item::Listener(listener)) => return Some(listener.name.clone()),
            Some(Item::Socket(socket)) if socket.role == Role::Listener => {
                return Some(socket.name.clone());
            }
            Some(Item::Socket(socket)) if socket.role == Role::Accepted => {
                let port = socket.local.map(|local| local.port());
                if let Some(listener) = self
                    .snapshot
                    .listeners
                    .iter()
                    .find(|listener| listener.local.map(|local| local.port()) == port)
                {
                    return Some(listener.name.clone());
                }
            }
            _ => {}
        }
        match self.snapshot.listeners.as_slice() {
            [only] => Some(only.name.clone()),
            _ => None,
        }
    }

    fn selected_socket_name(&self) -> Option<String> {
        match self.selected_item()? {
            Item::Socket(socket) => Some(socket.name.clone()),
            Item::Listener(listener) => Some(listener.name.clone()),
            Item::Fd(fd) => fd
                .name
                .clone()
                .filter(|name| self.snapshot.socket(name).is_some() || fd.kind.name() == "file"),
            _ => None,
        }
    }

    /// The wire number of the held segment selected on the ladder, if the ladder has the focus
    /// and its selected row is one.
    fn selected_held(&self) -> Option<u64> {
        if self.focus != Panel::Ladder {
            return None;
        }
        let ladder = self.ladder();
        let index = self.selected_within(Panel::Ladder, ladder.rows.len());
        match ladder.rows.get(index) {
            Some(crate::app::LadderRow::Segment(at)) => {
                let segment = ladder.segments[*at];
                (segment.wire == Some(crate::model::WireMark::Held))
                    .then_some(segment.wire_id)
                    .flatten()
            }
            _ => None,
        }
    }

    fn quick(&mut self, verb: QuickVerb) -> Vec<Effect> {
        let command = match verb {
            QuickVerb::NewListener => Some(Command::Server {
                name: self.free_name("srv"),
                addr: None,
                backlog: None,
            }),
            QuickVerb::ConnectClient => self.target_listener().map(|listener| Command::Client {
                name: self.free_name("c"),
                target: Target::Name(listener),
            }),
            QuickVerb::Accept => self.target_listener().map(|name| Command::Accept {
                name,
                as_name: None,
            }),
            QuickVerb::AutoAccept => self.target_listener().map(|name| {
                let on = self
                    .snapshot
                    .listener(&name)
                    .is_some_and(|info| info.auto_accept);
                Command::AutoAccept { name, on: !on }
            }),
            QuickVerb::Send => {
                if let Some(name) = self.selected_socket_name() {
                    self.open_prompt(&format!("send {name} "));
                    return Vec::new();
                }
                None
            }
            QuickVerb::Recv => self.selected_socket_name().map(|name| {
                let datagram = self
                    .snapshot
                    .socket(&name)
                    .is_some_and(|socket| socket.role == Role::Datagram);
                if datagram {
                    Command::RecvFrom { name }
                } else {
                    Command::Recv {
                        name,
                        max: crate::command::RECV_DEFAULT,
                    }
                }
            }),
            QuickVerb::Close => self
                .selected_socket_name()
                .map(|name| Command::Close { name }),
            QuickVerb::Shutdown => self.selected_socket_name().map(|name| Command::Shutdown {
                name,
                how: ShutdownHow::Write,
            }),
            QuickVerb::WireDeliver => Some(Command::Wire(crate::command::WireCommand::Deliver(
                self.selected_held(),
            ))),
            QuickVerb::WireDrop => Some(Command::Wire(crate::command::WireCommand::Drop(
                self.selected_held(),
            ))),
        };
        if let Some(command) = command {
            vec![Effect::Run(command)]
        } else {
            let key = match verb {
                QuickVerb::ConnectClient | QuickVerb::Accept | QuickVerb::AutoAccept => {
                    "status.select_listener"
                }
                _ => "status.select_socket",
            };
            self.set_status(self.t(key), true);
            Vec::new()
        }
    }

    /// Moves the focus and selection to the item named `name` (a scenario's `focus`).
    pub fn focus_name(&mut self, name: &str) {
        for panel in [Panel::Listeners, Panel::Connections, Panel::Fds] {
            let found = (0..self.rows(panel)).find(|index| {
                self.item_at(panel, *index)
                    .is_some_and(|item| item.name() == Some(name))
            });
            if let Some(index) = found {
                self.focus_panel(panel);
                self.select(panel, index);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_make_typed_commands_and_esc_cancels_a_running_wait() {
        let mut app = App::new(Lang::En, ThemeName::Default);
        assert_eq!(
            app.update(Action::Quick(QuickVerb::NewListener)),
            vec![Effect::Run(Command::Server {
                name: "srv1".to_owned(),
                addr: None,
                backlog: None,
            })]
        );
        // Without a listener, `c` says what to do instead of guessing.
        assert!(
            app.update(Action::Quick(QuickVerb::ConnectClient))
                .is_empty()
        );
        assert!(app.status.as_ref().is_some_and(|status| status.error));
        assert!(app.update(Action::CloseOverlay).is_empty());
        app.waiting = Some(WaitView::default());
        assert_eq!(app.update(Action::CloseOverlay), vec![Effect::CancelWait]);
        app.update(Action::OpenPrompt);
        assert_eq!(
            app.update(Action::Prompt(PromptEdit::Cancel)),
            vec![Effect::CancelWait]
        );
        app.update(Action::OpenPrompt);
        for ch in "wait 1s".chars() {
            app.update(Action::Prompt(PromptEdit::Insert(ch)));
        }
        assert_eq!(
            app.update(Action::Prompt(PromptEdit::Submit)),
            vec![Effect::Submit("wait 1s".to_owned())]
        );
    }
}
