//! How sockscope ends: its exit statuses, the lines it says on standard error, and output written
//! without ever panicking.
//!
//! Every message for the user's terminal goes through [`say`] (or [`say_lines`]): file names,
//! scenario text, peer bytes, process names and command-line arguments all end up in messages, and
//! none of their control characters (`ESC ] 0 ; title BEL`, OSC 52, a newline that forges a second
//! message) may reach the terminal raw.

use std::io::{self, IsTerminal as _, Write as _};
use std::path::Path;

use crate::escape;
use crate::text::{self, Lang};

/// Everything went as asked.
pub const EXIT_OK: u8 = 0;
/// A scenario's expectation was contradicted by the kernel (the output was still written).
pub const EXIT_CHECKS_FAILED: u8 = 1;
/// Input the user must fix: a malformed script, scenario file or argument (clap uses 2 too).
pub const EXIT_BAD_INPUT: u8 = 2;
/// The system failed: writing the output, the event loop, the kernel's interfaces. 74 is
/// `EX_IOERR` of `sysexits.h`.
pub const EXIT_IO_ERROR: u8 = 74;

/// `sockscope: MESSAGE` as one line: every control character of the message escaped (`\x1b`),
/// newlines included, so one message is always one line.
#[must_use]
pub fn line(message: &str) -> String {
    format!("sockscope: {}\n", escape::visible(message))
}

/// Says one message on standard error (see [`line`]). A standard error that cannot be written is
/// ignored: there is nowhere left to say so.
pub fn say(message: &str) {
    let _ = io::stderr().lock().write_all(line(message).as_bytes());
}

/// Says a text of several lines on standard error (clap's usage errors), each line escaped.
pub fn say_lines(message: &str) {
    let escaped: Vec<String> = message.lines().map(escape::visible).collect();
    let mut text = escaped.join("\n");
    text.push('\n');
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// Whether standard error is a terminal (then a panic report may use colours).
#[must_use]
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Output that could not be written: where to, and the system's reason.
#[derive(Debug)]
pub struct OutputError {
    /// The file as given, or `None` for standard output.
    pub path: Option<String>,
    pub error: io::Error,
}

impl OutputError {
    /// One line in `lang`: `cannot write out.svg: No space left on device (os error 28)`.
    #[must_use]
    pub fn message(&self, lang: Lang) -> String {
        let detail = self.error.to_string();
        match &self.path {
            Some(path) => text::format(
                lang,
                "output.write_file",
                &[("detail", &detail), ("file", path)],
            ),
            None => text::format(lang, "output.write_stdout", &[("detail", &detail)]),
        }
    }
}

/// Writes `bytes` to the file `path`, or to standard output when `path` is `None`.
///
/// A reader that went away (`sockscope snapshot ... | head -1`: `EPIPE`) ends the output quietly,
/// as `ss | head` does: `Ok`. Any other failure (a full disk, a missing directory) is an
/// [`OutputError`]; a file that did not exist before is removed again, so a failed write leaves
/// nothing half-written behind.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), OutputError> {
    match path {
        None => {
            let mut out = io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                Err(error) => Err(OutputError { path: None, error }),
                Ok(()) => Ok(()),
            }
        }
        Some(path) => {
            let existed = path.symlink_metadata().is_ok();
            std::fs::write(path, bytes).map_err(|error| {
                if !existed {
                    let _ = std::fs::remove_file(path);
                }
                OutputError {
                    path: Some(path.display().to_string()),
                    error,
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_line_with_no_control_characters() {
        let said = line("bad key 'x\x1b]0;pwned\x07'\nsockscope: forged");
        assert_eq!(said.matches('\n').count(), 1, "{said}");
        assert!(said.ends_with('\n'));
        assert!(
            !said[..said.len() - 1].chars().any(char::is_control),
            "{said}"
        );
        assert!(said.contains("\\x1b]0;pwned\\x07"), "{said}");
    }

    #[test]
    fn statuses_are_distinct() {
        let all = [EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT, EXIT_IO_ERROR];
        for (index, status) in all.iter().enumerate() {
            assert!(!all[index + 1..].contains(status), "{status}");
        }
    }
}
