//! A config file's mistake, said as `FILE:LINE:COLUMN: message` (exit status 2).

use std::fmt;

/// Where in the file a mistake is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as the user would type it.
    pub file: String,
    /// 1-based line and column (columns count characters); 0 when the file could not be read.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ConfigError {
    /// A mistake at byte `offset` of `source`.
    #[must_use]
    pub fn at(file: &str, source: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(source, offset);
        Self {
            file: file.to_owned(),
            line,
            column,
            message,
        }
    }

    /// A file that could not be read at all (no position in it).
    #[must_use]
    pub fn unreadable(file: &str, message: String) -> Self {
        Self {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// The 1-based line and character column of byte `offset` (clamped to the text).
#[must_use]
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn positions_count_lines_and_characters() {
        let source = "a = 1\n한글 = 2\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        // After "한글 " (two 3-byte characters and a space): column 4.
        assert_eq!(line_column(source, 13), (2, 4));
        assert_eq!(line_column(source, 1000), (3, 1));
    }
}
