//! The `:` command line: editing and history.

/// The text being typed, the cursor (in chars), and the commands entered before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    /// Cursor position, in chars.
    pub cursor: usize,
    history: Vec<String>,
    /// Which history entry is shown while browsing (`None` = the line being typed).
    browsing: Option<usize>,
    /// The line being typed before browsing started.
    draft: String,
}

/// How many entered commands the prompt remembers.
const HISTORY_LIMIT: usize = 200;

impl Prompt {
    pub fn start(&mut self, text: &str) {
        text.clone_into(&mut self.text);
        self.cursor = self.text.chars().count();
        self.browsing = None;
    }

    fn byte_index(&self, cursor: usize) -> usize {
        self.text
            .char_indices()
            .nth(cursor)
            .map_or(self.text.len(), |(index, _)| index)
    }

    pub fn insert(&mut self, ch: char) {
        let at = self.byte_index(self.cursor);
        self.text.insert(at, ch);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    pub fn history_up(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let index = match self.browsing {
            None => {
                self.draft = self.text.clone();
                self.history.len() - 1
            }
            Some(index) => index.saturating_sub(1),
        };
        self.browsing = Some(index);
        self.text = self.history[index].clone();
        self.end();
    }

    pub fn history_down(&mut self) {
        let Some(index) = self.browsing else {
            return;
        };
        if index + 1 < self.history.len() {
            self.browsing = Some(index + 1);
            self.text = self.history[index + 1].clone();
        } else {
            self.browsing = None;
            self.text = std::mem::take(&mut self.draft);
        }
        self.end();
    }

    /// Takes the typed line, remembering it in the history (not twice in a row).
    pub fn submit(&mut self) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        let trimmed = line.trim();
        if !trimmed.is_empty() && self.history.last().map(String::as_str) != Some(trimmed) {
            self.history.push(trimmed.to_owned());
            if self.history.len() > HISTORY_LIMIT {
                self.history.remove(0);
            }
        }
        line
    }

    #[must_use]
    pub fn history(&self) -> &[String] {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_moves_by_chars_not_bytes() {
        let mut prompt = Prompt::default();
        prompt.start("send c1 ");
        for ch in "안녕".chars() {
            prompt.insert(ch);
        }
        prompt.left();
        prompt.backspace();
        assert_eq!(prompt.text, "send c1 녕");
        prompt.home();
        prompt.delete();
        assert_eq!(prompt.text, "end c1 녕");
    }

    #[test]
    fn history_browses_back_and_returns_to_the_draft() {
        let mut prompt = Prompt::default();
        for line in ["server srv", "client c1 srv", "client c1 srv"] {
            prompt.start(line);
            prompt.submit();
        }
        assert_eq!(prompt.history(), ["server srv", "client c1 srv"]);
        prompt.start("acc");
        prompt.history_up();
        assert_eq!(prompt.text, "client c1 srv");
        prompt.history_up();
        prompt.history_up();
        assert_eq!(prompt.text, "server srv");
        prompt.history_down();
        prompt.history_down();
        assert_eq!(prompt.text, "acc");
    }
}
