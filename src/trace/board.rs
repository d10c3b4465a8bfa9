//! The traced program's dashboard as state: what the kernel and the tracer said last (the
//! program's [`ProgramSnapshot`] and the lab's [`Snapshot`] beside it), the syscalls so far, the
//! trace filter, the prompt and the status line. Keys change it; `crate::ui::trace_board` draws
//! it; `crate::screens::trace` feeds it. No I/O here.

use std::collections::VecDeque;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::event::{Ending, Syscall};
use super::session::ProgramSnapshot;
use crate::app::Prompt;
use crate::model::Snapshot;
use crate::settings::ThemeName;
use crate::text::{self, Lang};

/// Which syscalls the trace panel shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceFilter {
    pub pid: Option<i32>,
    pub fd: Option<i32>,
}

impl TraceFilter {
    #[must_use]
    pub fn shows(&self, call: &Syscall) -> bool {
        self.pid.is_none_or(|pid| call.pid == pid) && self.fd.is_none_or(|fd| call.fd == Some(fd))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardMode {
    Normal,
    /// Typing at the `:` prompt.
    Prompt,
}

/// What a key asks the screen to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardEffect {
    None,
    Quit,
    /// Lab commands typed at the prompt (or `--run`).
    Lab(String),
    /// Bytes for the program's standard input (`> text` at the prompt: the text and a newline).
    Stdin(String),
}

/// How many syscalls the board keeps (as many as the tracer's log).
pub const KEPT_SYSCALLS: usize = super::log::DEFAULT_SYSCALL_LIMIT;

#[derive(Debug, Clone)]
pub struct TraceBoard {
    pub lang: Lang,
    pub theme: ThemeName,
    pub program: ProgramSnapshot,
    pub lab: Snapshot,
    /// The program's syscalls, oldest first (bounded).
    pub syscalls: VecDeque<Syscall>,
    /// Syscalls the board has taken in, in all (to take only the new ones from the log).
    pub syscalls_seen: u64,
    pub filter: TraceFilter,
    /// Rows scrolled back from the newest syscall (0: following the newest).
    pub scroll: usize,
    pub mode: BoardMode,
    pub prompt: Prompt,
    pub status: Option<(String, bool)>,
    /// `--detach`: q leaves the program running.
    pub detach: bool,
    /// Attached with `--pid`.
    pub attached: bool,
}

impl TraceBoard {
    #[must_use]
    pub fn new(lang: Lang, theme: ThemeName, program: ProgramSnapshot) -> Self {
        Self {
            lang,
            theme,
            program,
            lab: Snapshot::default(),
            syscalls: VecDeque::new(),
            syscalls_seen: 0,
            filter: TraceFilter::default(),
            scroll: 0,
            mode: BoardMode::Normal,
            prompt: Prompt::default(),
            status: None,
            detach: false,
            attached: false,
        }
    }

    #[must_use]
    pub fn t(&self, key: &str) -> &'static str {
        text::get(self.lang, key)
    }

    /// Takes in the syscalls of a log that has recorded `total` in all, `newest` being its
    /// latest ones (oldest first).
    pub fn take_syscalls<'a>(
        &mut self,
        total: u64,
        newest: impl DoubleEndedIterator<Item = &'a Syscall>,
    ) {
        let new = total.saturating_sub(self.syscalls_seen);
        if new == 0 {
            return;
        }
        let mut fresh: Vec<&Syscall> = newest.rev().take(new as usize).collect();
        fresh.reverse();
        for call in fresh {
            if self.syscalls.len() == KEPT_SYSCALLS {
                self.syscalls.pop_front();
            }
            self.syscalls.push_back(call.clone());
        }
        self.syscalls_seen = total;
    }

    /// The syscalls the filter lets through, oldest first.
    #[must_use]
    pub fn shown_syscalls(&self) -> impl DoubleEndedIterator<Item = &Syscall> {
        self.syscalls.iter().filter(|call| self.filter.shows(call))
    }

    /// The program's processes (not threads), for cycling the process filter.
    fn pids(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .program
            .processes
            .iter()
            .filter(|p| !p.thread)
            .map(|p| p.pid)
            .collect();
        if pids.is_empty() {
            pids.push(self.program.pid);
        }
        pids
    }

    /// The descriptors syscalls were made on (within the process filter), for cycling.
    fn fds(&self) -> Vec<i32> {
        let mut fds: Vec<i32> = self
            .syscalls
            .iter()
            .filter(|call| self.filter.pid.is_none_or(|pid| call.pid == pid))
            .filter_map(|call| call.fd)
            .collect();
        fds.sort_unstable();
        fds.dedup();
        fds
    }

    /// The next value after `current` in `values`, then none again.
    fn cycle(values: &[i32], current: Option<i32>) -> Option<i32> {
        match current {
            None => values.first().copied(),
            Some(value) => values.iter().copied().find(|&v| v > value),
        }
    }

    pub fn cycle_pid(&mut self) {
        self.filter.pid = Self::cycle(&self.pids(), self.filter.pid);
        self.scroll = 0;
    }

    pub fn cycle_fd(&mut self) {
        self.filter.fd = Self::cycle(&self.fds(), self.filter.fd);
        self.scroll = 0;
    }

    /// `pid N`, `fd N`, `all`: the filter from the prompt (after its `/`).
    pub fn set_filter(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |word: Option<&&str>| word.and_then(|w| w.parse::<i32>().ok());
        match words.as_slice() {
            [] | ["all"] => self.filter = TraceFilter::default(),
            ["pid", ..] => match number(words.get(1)) {
                Some(pid) => self.filter.pid = Some(pid),
                None if words.len() == 1 => self.filter.pid = None,
                None => return Err(self.filter_usage()),
            },
            ["fd", ..] => match number(words.get(1)) {
                Some(fd) => self.filter.fd = Some(fd),
                None if words.len() == 1 => self.filter.fd = None,
                None => return Err(self.filter_usage()),
            },
            _ => return Err(self.filter_usage()),
        }
        self.scroll = 0;
        Ok(())
    }

    fn filter_usage(&self) -> String {
        self.t("trace_board.filter_usage").to_owned()
    }

    pub fn set_status(&mut self, text: String, error: bool) {
        self.status = Some((text, error));
    }

    /// How the program's first process ended, in words.
    #[must_use]
    pub fn ending_text(&self) -> Option<String> {
        let ending = self.program.exit?;
        Some(match ending {
            Ending::Exited(status) => text::format(
                self.lang,
                "trace_board.exited",
                &[("status", &status.to_string())],
            ),
            Ending::Signaled(signal) => text::format(
                self.lang,
                "trace_board.killed",
                &[("signal", &signal.to_string())],
            ),
        })
    }

    /// Handles one input event.
    pub fn input(&mut self, event: &Event) -> BoardEffect {
        let Event::Key(key) = event else {
            if let (Event::Paste(text), BoardMode::Prompt) = (event, &self.mode) {
                for ch in text.chars().filter(|c| !c.is_control()) {
                    self.prompt.insert(ch);
                }
            }
            return BoardEffect::None;
        };
        if key.kind == KeyEventKind::Release {
            return BoardEffect::None;
        }
        match self.mode {
            BoardMode::Normal => self.normal_key(key),
            BoardMode::Prompt => self.prompt_key(key),
        }
    }

    fn normal_key(&mut self, key: &KeyEvent) -> BoardEffect {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            return match key.code {
                KeyCode::Char('c') => BoardEffect::Quit,
                _ => BoardEffect::None,
            };
        }
        match key.code {
            KeyCode::Char('q') => return BoardEffect::Quit,
            KeyCode::Char(':') => {
                self.mode = BoardMode::Prompt;
                self.prompt.start("");
            }
            KeyCode::Char('>') => {
                self.mode = BoardMode::Prompt;
                self.prompt.start("> ");
            }
            KeyCode::Char('p') => self.cycle_pid(),
            KeyCode::Char('f') => self.cycle_fd(),
            KeyCode::Char('a') | KeyCode::Esc => {
                self.filter = TraceFilter::default();
                self.scroll = 0;
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::End | KeyCode::Char('G') => self.scroll = 0,
            _ => {}
        }
        BoardEffect::None
    }

    fn prompt_key(&mut self, key: &KeyEvent) -> BoardEffect {
        match key.code {
            KeyCode::Esc => self.mode = BoardMode::Normal,
            KeyCode::Enter => {
                self.mode = BoardMode::Normal;
                let line = self.prompt.text.trim().to_owned();
                self.prompt.start("");
                return self.submit(&line);
            }
            KeyCode::Backspace => self.prompt.backspace(),
            KeyCode::Delete => self.prompt.delete(),
            KeyCode::Left => self.prompt.left(),
            KeyCode::Right => self.prompt.right(),
            KeyCode::Char(ch) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.prompt.insert(ch);
            }
            _ => {}
        }
        BoardEffect::None
    }

    /// A line entered at the prompt: `> text` for the program's input, `/pid N`, `/fd N`, `/all`
    /// for the filter, anything else for the lab.
    pub fn submit(&mut self, line: &str) -> BoardEffect {
        if let Some(text) = line.strip_prefix('>') {
            let text = text.strip_prefix(' ').unwrap_or(text);
            return BoardEffect::Stdin(format!("{text}\n"));
        }
        if let Some(filter) = line.strip_prefix('/') {
            if let Err(message) = self.set_filter(filter) {
                self.set_status(message, true);
            }
            return BoardEffect::None;
        }
        if line.is_empty() {
            return BoardEffect::None;
        }
        BoardEffect::Lab(line.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(pid: i32, fd: i32) -> Syscall {
        Syscall {
            pid,
            syscall: "read",
            fd: Some(fd),
            args: Vec::new(),
            call: format!("read({fd})"),
            result: "0".into(),
            errno: None,
            failed: false,
            at_ms: 0,
        }
    }

    fn empty_program() -> ProgramSnapshot {
        ProgramSnapshot {
            pid: 10,
            ..ProgramSnapshot::default()
        }
    }

    #[test]
    fn syscalls_are_taken_once_and_filtered_by_process_and_fd() {
        let mut board = TraceBoard::new(Lang::En, ThemeName::Default, empty_program());
        let log = [call(10, 3), call(11, 4), call(10, 4)];
        board.take_syscalls(2, log[..2].iter());
        board.take_syscalls(3, log.iter());
        assert_eq!(board.syscalls.len(), 3, "no syscall twice");
        assert_eq!(board.submit("/pid 10"), BoardEffect::None);
        assert_eq!(board.shown_syscalls().count(), 2);
        board.submit("/fd 4");
        let shown: Vec<_> = board.shown_syscalls().map(|c| (c.pid, c.fd)).collect();
        assert_eq!(shown, [(10, Some(4))]);
        board.submit("/fd x");
        assert!(board.status.as_ref().is_some_and(|(_, error)| *error));
        board.submit("/all");
        assert_eq!(board.shown_syscalls().count(), 3);
        board.cycle_fd();
        assert_eq!(board.filter.fd, Some(3));
        board.cycle_fd();
        assert_eq!(board.filter.fd, Some(4));
        board.cycle_fd();
        assert_eq!(board.filter.fd, None);
        assert_eq!(
            board.submit("> hello"),
            BoardEffect::Stdin("hello\n".into())
        );
        assert_eq!(
            board.submit("clients c 5 127.0.0.1:8080"),
            BoardEffect::Lab("clients c 5 127.0.0.1:8080".into())
        );
    }
}
