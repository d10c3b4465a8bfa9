//! Keys to actions for the watch screen: one table per mode; nothing else reads raw input.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{Action, Mode};

/// The action for an input event in `mode`, if it means one.
#[must_use]
pub fn action_for(event: &Event, mode: &Mode) -> Option<Action> {
    let Event::Key(key) = event else {
        return None;
    };
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Normal => normal(key),
        Mode::Filter(_) => filter(key),
        Mode::Help => Some(help(key)),
    }
}

fn normal(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::PageDown | KeyCode::Char(' ') => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::First,
        KeyCode::Char('G') | KeyCode::End => Action::Last,
        KeyCode::Char('s') => Action::NextSort,
        KeyCode::Char('S') => Action::ReverseSort,
        KeyCode::Char('/') => Action::OpenFilter,
        KeyCode::Esc => Action::ClearFilter,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('p') => Action::TogglePause,
        _ => return None,
    })
}

fn filter(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Enter => Action::FilterApply,
        KeyCode::Esc => Action::FilterCancel,
        KeyCode::Backspace => Action::FilterBackspace,
        KeyCode::Char(ch) => Action::FilterInsert(ch),
        _ => return None,
    })
}

/// In the help overlay every key closes it, except `q`, which quits.
fn help(key: &KeyEvent) -> Action {
    if key.code == KeyCode::Char('q') {
        Action::Quit
    } else {
        Action::CloseHelp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn every_mode_has_its_own_table() {
        let normal = Mode::Normal;
        assert_eq!(
            action_for(&key(KeyCode::Char('s')), &normal),
            Some(Action::NextSort)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('S')), &normal),
            Some(Action::ReverseSort)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('j')), &normal),
            Some(Action::Down)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('/')), &normal),
            Some(Action::OpenFilter)
        );
        assert_eq!(action_for(&key(KeyCode::Char('x')), &normal), None);
        // While typing a filter, letters are text, not commands.
        let typing = Mode::Filter(String::new());
        assert_eq!(
            action_for(&key(KeyCode::Char('s')), &typing),
            Some(Action::FilterInsert('s'))
        );
        assert_eq!(
            action_for(&key(KeyCode::Esc), &typing),
            Some(Action::FilterCancel)
        );
        assert_eq!(
            action_for(&key(KeyCode::Enter), &typing),
            Some(Action::FilterApply)
        );
        // Help closes on any key but q.
        assert_eq!(
            action_for(&key(KeyCode::Char('j')), &Mode::Help),
            Some(Action::CloseHelp)
        );
        assert_eq!(
            action_for(&key(KeyCode::Char('q')), &Mode::Help),
            Some(Action::Quit)
        );
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(action_for(&ctrl_c, &typing), Some(Action::Quit));
    }

    #[test]
    fn releases_and_mouse_events_mean_nothing() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&Event::Key(release), &Mode::Normal), None);
        assert_eq!(action_for(&Event::FocusGained, &Mode::Normal), None);
    }
}
