//! Everything a user can ask of the dashboard, whatever the input device.

use super::panel::Panel;

/// One user intent. Keys, mouse and signals are mapped to these; `App::update` handles them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextPanel,
    PrevPanel,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    ToggleHelp,
    CloseOverlay,
    ToggleFreeze,
    OpenPrompt,
    /// Opens the prompt with this text already typed (e.g. `send c1 `).
    PromptWith(String),
    Prompt(PromptEdit),
    /// A one-key verb on the selected item.
    Quick(QuickVerb),
    /// A click at a screen position (column, row).
    Click {
        column: u16,
        row: u16,
    },
    /// A click resolved to a panel and maybe a row of it (by the screen, which knows the layout).
    Select {
        panel: Panel,
        index: Option<usize>,
    },
    ScrollUp,
    ScrollDown,
    /// Lecture mode: next / previous step, restart.
    StepForward,
    StepBack,
    Restart,
    ToggleLayout,
    /// Keep the segment ladder on screen (small terminals), or show it only while focused.
    ToggleLadder,
}

/// Editing the `:` prompt line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptEdit {
    Insert(char),
    /// Pasted text, typed at the cursor.
    InsertText(String),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Clear,
    HistoryUp,
    HistoryDown,
    Submit,
    Cancel,
}

/// Single-key verbs for the common syscalls, applied to the selected item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuickVerb {
    NewListener,
    ConnectClient,
    Accept,
    Send,
    Recv,
    Close,
    Shutdown,
    AutoAccept,
    /// `wire deliver`: the held segment selected on the ladder, else the oldest held.
    WireDeliver,
    /// `wire drop`: the same choice.
    WireDrop,
}
