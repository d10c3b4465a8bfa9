//! Key bindings: a translation layer in front of the screens' own keymaps.
//!
//! Every bindable action has a default key (the first key the screen's keymap gives it). A
//! binding `accept = "y"` makes `y` act as that default key (`a`) in the screen's normal mode,
//! so the keymap tables themselves never change; the default key keeps working unless another
//! action was bound to it. Text entry (the `:` prompt, watch's `/` filter) is never remapped.

use std::collections::HashMap;
use std::fmt::Write as _;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::text::{self, Lang};

/// A key and the modifiers that matter for matching it (Ctrl and Alt; Shift only for keys that
/// are not characters, since `A` already says Shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Chord {
    #[must_use]
    pub fn of(key: &KeyEvent) -> Self {
        let mut mask = KeyModifiers::CONTROL | KeyModifiers::ALT;
        if !matches!(key.code, KeyCode::Char(_)) {
            mask |= KeyModifiers::SHIFT;
        }
        Self {
            code: key.code,
            modifiers: key.modifiers & mask,
        }
    }

    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// How the config file writes it (`a`, `ctrl-x`, `PageDown`, `F2`).
    #[must_use]
    pub fn name(self) -> String {
        let mut out = String::new();
        for (modifier, name) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.modifiers.contains(modifier) {
                out.push_str(name);
            }
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("Space"),
            KeyCode::Char(ch) => out.push(ch),
            KeyCode::F(n) => {
                let _ = write!(out, "F{n}");
            }
            code => {
                let name = NAMED
                    .iter()
                    .find(|(_, named)| *named == code)
                    .map_or("?", |(name, _)| name);
                out.push_str(name);
            }
        }
        out
    }
}

/// Keys with names (matched without regard to case).
const NAMED: [(&str, KeyCode); 15] = [
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
];

/// Parses `y`, `Y`, `ctrl-x`, `alt-Left`, `Space`, `PageDown`, `F5`, `-`.
#[must_use]
pub fn parse_chord(text: &str) -> Option<Chord> {
    let mut modifiers = KeyModifiers::NONE;
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let (modifier, len) = if lower.starts_with("ctrl-") && rest.len() > 5 {
            (KeyModifiers::CONTROL, 5)
        } else if lower.starts_with("alt-") && rest.len() > 4 {
            (KeyModifiers::ALT, 4)
        } else if lower.starts_with("shift-") && rest.len() > 6 {
            (KeyModifiers::SHIFT, 6)
        } else {
            break;
        };
        modifiers |= modifier;
        rest = &rest[len..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(ch), None) if !ch.is_control() && ch != ' ' => {
            if modifiers.contains(KeyModifiers::SHIFT) {
                // `shift-a` is `A`: what the terminal sends.
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(ch.to_uppercase().next().unwrap_or(ch))
            } else {
                KeyCode::Char(ch)
            }
        }
        _ if rest.eq_ignore_ascii_case("space") => KeyCode::Char(' '),
        _ => {
            if let Some(number) = rest
                .strip_prefix(['F', 'f'])
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| (1..=12).contains(n))
            {
                KeyCode::F(number)
            } else {
                NAMED
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(rest))
                    .map(|(_, code)| *code)?
            }
        }
    };
    Some(Chord { code, modifiers })
}

/// A screen whose actions can be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindableScreen {
    /// The lab dashboard and lectures (`sockscope`, `lab`, `demo`).
    Lab,
    /// `sockscope watch`.
    Watch,
}

impl BindableScreen {
    pub const ALL: [BindableScreen; 2] = [BindableScreen::Lab, BindableScreen::Watch];

    /// The table's name in the file (`[keys.lab]`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BindableScreen::Lab => "lab",
            BindableScreen::Watch => "watch",
        }
    }

    /// Every bindable action and its default key, in the order the keymap reads them.
    #[must_use]
    pub fn actions(self) -> &'static [(&'static str, Chord)] {
        match self {
            BindableScreen::Lab => LAB_ACTIONS,
            BindableScreen::Watch => WATCH_ACTIONS,
        }
    }
}

const fn ch(c: char) -> Chord {
    Chord::plain(KeyCode::Char(c))
}

/// The lab dashboard's normal-mode actions (src/app/keymap.rs), `restart` and the steps only
/// in a lecture.
const LAB_ACTIONS: &[(&str, Chord)] = &[
    ("quit", ch('q')),
    ("help", ch('?')),
    ("prompt", ch(':')),
    ("step-forward", Chord::plain(KeyCode::Right)),
    ("step-back", Chord::plain(KeyCode::Left)),
    ("restart", ch('r')),
    ("layout", ch('L')),
    ("up", Chord::plain(KeyCode::Up)),
    ("down", Chord::plain(KeyCode::Down)),
    ("prev-panel", Chord::plain(KeyCode::BackTab)),
    ("next-panel", Chord::plain(KeyCode::Tab)),
    ("page-up", Chord::plain(KeyCode::PageUp)),
    ("page-down", Chord::plain(KeyCode::PageDown)),
    ("first", Chord::plain(KeyCode::Home)),
    ("last", Chord::plain(KeyCode::End)),
    ("freeze", ch('p')),
    ("cancel", Chord::plain(KeyCode::Esc)),
    ("new-listener", ch('n')),
    ("connect", ch('c')),
    ("accept", ch('a')),
    ("auto-accept", ch('A')),
    ("send", ch('s')),
    ("recv", ch('r')),
    ("close", ch('x')),
    ("shutdown", ch('w')),
    ("wire-deliver", ch('v')),
    ("wire-drop", ch('X')),
];

/// The watch screen's normal-mode actions (src/watch/keymap.rs).
const WATCH_ACTIONS: &[(&str, Chord)] = &[
    ("quit", ch('q')),
    ("down", Chord::plain(KeyCode::Down)),
    ("up", Chord::plain(KeyCode::Up)),
    ("page-down", Chord::plain(KeyCode::PageDown)),
    ("page-up", Chord::plain(KeyCode::PageUp)),
    ("first", Chord::plain(KeyCode::Home)),
    ("last", Chord::plain(KeyCode::End)),
    ("sort", ch('s')),
    ("reverse-sort", ch('S')),
    ("filter", ch('/')),
    ("clear-filter", Chord::plain(KeyCode::Esc)),
    ("help", ch('?')),
    ("pause", ch('p')),
];

/// One screen's translation table: a bound key -> the default key of its action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remap {
    table: HashMap<Chord, Chord>,
}

impl Remap {
    /// Binds `key` to `action`'s default key. Errors name what is wrong (the caller adds the
    /// position): an unknown action, or a key already bound to another action.
    pub fn bind(
        &mut self,
        screen: BindableScreen,
        action: &str,
        key: Chord,
        lang: Lang,
    ) -> Result<(), String> {
        let Some((_, default)) = screen.actions().iter().find(|(name, _)| *name == action) else {
            return Err(text::format(
                lang,
                "config.unknown_action",
                &[("action", action), ("screen", screen.name())],
            ));
        };
        if let Some(taken) = self.table.get(&key).filter(|taken| *taken != default) {
            let other = screen
                .actions()
                .iter()
                .find(|(_, chord)| chord == taken)
                .map_or("?", |(name, _)| name);
            return Err(text::format(
                lang,
                "config.key_taken",
                &[("key", &key.name()), ("other", other)],
            ));
        }
        self.table.insert(key, *default);
        Ok(())
    }

    /// The event with a bound key replaced by its action's default key; any other event as it is.
    #[must_use]
    pub fn translate(&self, event: &Event) -> Event {
        if let Event::Key(key) = event
            && let Some(default) = self.table.get(&Chord::of(key))
        {
            return Event::Key(KeyEvent {
                code: default.code,
                modifiers: default.modifiers,
                ..*key
            });
        }
        event.clone()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// The bindings of every screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyBindings {
    pub lab: Remap,
    pub watch: Remap,
}

impl KeyBindings {
    pub fn screen_mut(&mut self, screen: BindableScreen) -> &mut Remap {
        match screen {
            BindableScreen::Lab => &mut self.lab,
            BindableScreen::Watch => &mut self.watch,
        }
    }
}

/// `sockscope config --keys`: every bindable action of every screen, its default key and what
/// it does.
#[must_use]
pub fn actions_listing(lang: Lang) -> String {
    let mut out = String::new();
    for screen in BindableScreen::ALL {
        let _ = writeln!(out, "[keys.{}]", screen.name());
        for (action, chord) in screen.actions() {
            let what = text::get(lang, &format!("config.action.{}.{action}", screen.name()));
            let _ = writeln!(out, "  {action:<14} {:<10} {what}", chord.name());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print_back() {
        for text in [
            "y", "A", "ctrl-x", "alt-Left", "Space", "PageDown", "F5", "-", "?",
        ] {
            let chord = parse_chord(text).unwrap_or_else(|| panic!("{text} parses"));
            assert_eq!(parse_chord(&chord.name()), Some(chord), "{text}");
        }
        assert_eq!(parse_chord("shift-a"), Some(ch('A')));
        assert_eq!(parse_chord("ctrl-"), None);
        assert_eq!(parse_chord("F13"), None);
        assert_eq!(parse_chord("yy"), None);
        assert_eq!(parse_chord(""), None);
    }

    #[test]
    fn default_keys_are_unique_per_screen_except_lecture_restart() {
        for screen in BindableScreen::ALL {
            let mut seen = HashMap::new();
            for (action, chord) in screen.actions() {
                if let Some(other) = seen.insert(*chord, *action) {
                    // `r` restarts a lecture and receives otherwise: the keymap decides.
                    assert_eq!((other, *action), ("restart", "recv"));
                }
            }
        }
    }

    #[test]
    fn a_bound_key_acts_as_the_default_key() {
        let mut remap = Remap::default();
        remap
            .bind(BindableScreen::Lab, "accept", ch('y'), Lang::En)
            .expect("binds");
        let pressed = Event::Key(KeyEvent::from(KeyCode::Char('y')));
        assert_eq!(
            remap.translate(&pressed),
            Event::Key(KeyEvent::from(KeyCode::Char('a')))
        );
        let other = Event::Key(KeyEvent::from(KeyCode::Char('z')));
        assert_eq!(remap.translate(&other), other);
        assert!(
            remap
                .bind(BindableScreen::Lab, "connect", ch('y'), Lang::En)
                .is_err()
        );
        assert!(
            remap
                .bind(BindableScreen::Lab, "no-such", ch('z'), Lang::En)
                .is_err()
        );
    }
}
