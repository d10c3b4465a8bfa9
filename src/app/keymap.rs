//! Keys and mouse events to actions. One table per mode; nothing else reads raw input.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::{Action, Mode, PromptEdit, QuickVerb};

/// The action for an input event in `mode`, if it means one. `lecture` turns the arrows and space
/// into step controls.
#[must_use]
pub fn action_for(event: &Event, mode: Mode, lecture: bool) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => match mode {
            Mode::Normal => normal(key, lecture),
            Mode::Prompt => prompt(key).map(Action::Prompt),
            Mode::Help => Some(help(key)),
        },
        Event::Mouse(mouse) => mouse_action(*mouse),
        Event::Paste(text) if mode == Mode::Prompt => {
            // Pasted text is typed into the prompt as one line; control characters are dropped.
            let clean: String = text.chars().filter(|ch| !ch.is_control()).collect();
            Some(Action::Prompt(PromptEdit::InsertText(clean)))
        }
        _ => None,
    }
}

fn normal(key: &KeyEvent, lecture: bool) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('?') | KeyCode::F(1) => Action::ToggleHelp,
        KeyCode::Char(':') => Action::OpenPrompt,
        KeyCode::Right | KeyCode::Char(' ') if lecture => Action::StepForward,
        KeyCode::Left if lecture => Action::StepBack,
        KeyCode::Char('r') if lecture => Action::Restart,
        KeyCode::Char('L') => Action::ToggleLayout,
        KeyCode::Char('d') => Action::ToggleLadder,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => Action::PrevPanel,
        KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => Action::NextPanel,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Char('p') => Action::ToggleFreeze,
        KeyCode::Esc => Action::CloseOverlay,
        KeyCode::Char('n') => Action::Quick(QuickVerb::NewListener),
        KeyCode::Char('c') => Action::Quick(QuickVerb::ConnectClient),
        KeyCode::Char('a') => Action::Quick(QuickVerb::Accept),
        KeyCode::Char('A') => Action::Quick(QuickVerb::AutoAccept),
        KeyCode::Char('s') => Action::Quick(QuickVerb::Send),
        KeyCode::Char('r') => Action::Quick(QuickVerb::Recv),
        KeyCode::Char('x') => Action::Quick(QuickVerb::Close),
        KeyCode::Char('w') => Action::Quick(QuickVerb::Shutdown),
        KeyCode::Char('v') => Action::Quick(QuickVerb::WireDeliver),
        KeyCode::Char('X') => Action::Quick(QuickVerb::WireDrop),
        _ => return None,
    })
}

fn prompt(key: &KeyEvent) -> Option<PromptEdit> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Enter => PromptEdit::Submit,
        KeyCode::Esc => PromptEdit::Cancel,
        KeyCode::Char('c') if ctrl => PromptEdit::Cancel,
        KeyCode::Char('u') if ctrl => PromptEdit::Clear,
        KeyCode::Char('a') if ctrl => PromptEdit::Home,
        KeyCode::Char('e') if ctrl => PromptEdit::End,
        KeyCode::Char(ch) => PromptEdit::Insert(ch),
        KeyCode::Backspace => PromptEdit::Backspace,
        KeyCode::Delete => PromptEdit::Delete,
        KeyCode::Left => PromptEdit::Left,
        KeyCode::Right => PromptEdit::Right,
        KeyCode::Home => PromptEdit::Home,
        KeyCode::End => PromptEdit::End,
        KeyCode::Up => PromptEdit::HistoryUp,
        KeyCode::Down => PromptEdit::HistoryDown,
        _ => return None,
    })
}

/// In the help overlay every key closes it, except the ones that quit.
fn help(key: &KeyEvent) -> Action {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if key.code == KeyCode::Char('q') || ctrl_c {
        Action::Quit
    } else {
        Action::CloseOverlay
    }
}

fn mouse_action(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click {
            column: mouse.column,
            row: mouse.row,
        }),
        MouseEventKind::ScrollUp => Some(Action::ScrollUp),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(ch: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL))
    }

    #[test]
    fn the_normal_table_maps_the_one_key_verbs() {
        let normal = |code| action_for(&key(code), Mode::Normal, false);
        assert_eq!(
            normal(KeyCode::Char('n')),
            Some(Action::Quick(QuickVerb::NewListener))
        );
        assert_eq!(
            normal(KeyCode::Char('c')),
            Some(Action::Quick(QuickVerb::ConnectClient))
        );
        assert_eq!(
            normal(KeyCode::Char('a')),
            Some(Action::Quick(QuickVerb::Accept))
        );
        assert_eq!(normal(KeyCode::Char(':')), Some(Action::OpenPrompt));
        assert_eq!(normal(KeyCode::Char('d')), Some(Action::ToggleLadder));
        assert_eq!(normal(KeyCode::Esc), Some(Action::CloseOverlay));
        assert_eq!(normal(KeyCode::Right), Some(Action::NextPanel));
        assert_eq!(normal(KeyCode::Char('z')), None);
        assert_eq!(
            action_for(&ctrl('c'), Mode::Normal, false),
            Some(Action::Quit)
        );
    }

    #[test]
    fn a_lecture_turns_arrows_space_and_r_into_steps() {
        let lecture = |code| action_for(&key(code), Mode::Normal, true);
        assert_eq!(lecture(KeyCode::Right), Some(Action::StepForward));
        assert_eq!(lecture(KeyCode::Char(' ')), Some(Action::StepForward));
        assert_eq!(lecture(KeyCode::Left), Some(Action::StepBack));
        assert_eq!(lecture(KeyCode::Char('r')), Some(Action::Restart));
    }

    #[test]
    fn the_prompt_types_letters_and_ctrl_c_cancels() {
        let prompt = |event: &Event| action_for(event, Mode::Prompt, false);
        assert_eq!(
            prompt(&key(KeyCode::Char('n'))),
            Some(Action::Prompt(PromptEdit::Insert('n')))
        );
        assert_eq!(
            prompt(&key(KeyCode::Enter)),
            Some(Action::Prompt(PromptEdit::Submit))
        );
        assert_eq!(prompt(&ctrl('c')), Some(Action::Prompt(PromptEdit::Cancel)));
        assert_eq!(
            prompt(&key(KeyCode::Esc)),
            Some(Action::Prompt(PromptEdit::Cancel))
        );
        let paste = Event::Paste("a\u{1b}b\n".to_owned());
        assert_eq!(
            prompt(&paste),
            Some(Action::Prompt(PromptEdit::InsertText("ab".to_owned())))
        );
    }

    #[test]
    fn help_closes_on_any_key_but_q() {
        assert_eq!(
            action_for(&key(KeyCode::Char('x')), Mode::Help, false),
            Some(Action::CloseOverlay)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('q')), Mode::Help, false),
            Some(Action::Quit)
        );
    }
}
