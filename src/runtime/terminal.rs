//! Starting a screen on the real terminal: check the descriptor limit, make the reactor and the
//! screen, enter the terminal's modes, start the input thread, run, restore.

use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::asciicast::{Recording, TeeOutput};
use super::input::TerminalInput;
use super::reactor::Reactor;
use super::{Runtime, Screen};
use crate::term::{self, Console, InputThread};
use crate::text::{self, Lang};

/// The descriptors sockscope needs before the lab opens anything: stdio, the poll and its
/// clone, the waker, the signal pipe, `sock_diag`, crossterm's own poll, waker and signal pipe,
/// /proc reads, and room for a few sockets.
pub const MIN_DESCRIPTORS: u64 = 32;

/// A failure to start, said in the user's language.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The soft limit on open descriptors (`ulimit -n`).
#[must_use]
pub fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Refuses to start with fewer descriptors than sockscope needs, naming the limit.
pub fn check_descriptor_limit(lang: Lang) -> Result<(), StartError> {
    match descriptor_limit() {
        Some(limit) if limit < MIN_DESCRIPTORS => Err(StartError(text::format(
            lang,
            "status.fd_limit",
            &[
                ("need", &MIN_DESCRIPTORS.to_string()),
                ("limit", &limit.to_string()),
            ],
        ))),
        _ => Ok(()),
    }
}

/// An I/O error while starting, with EMFILE explained (it names the limit).
#[must_use]
pub fn start_error(lang: Lang, doing: &str, error: &io::Error) -> StartError {
    if error.raw_os_error() == Some(libc::EMFILE) {
        let limit = descriptor_limit().map_or_else(|| "?".to_owned(), |limit| limit.to_string());
        return StartError(text::format(
            lang,
            "status.out_of_fds",
            &[("doing", doing), ("limit", &limit)],
        ));
    }
    StartError(format!("{doing}: {error}"))
}

/// Runs the screen `make` builds on the terminal until it ends; the terminal is restored on every
/// way out (and by the panic hook). With `record`, what is written to the terminal is also
/// recorded there (asciicast v2).
pub fn run_in_terminal<S: Screen>(
    lang: Lang,
    mouse: bool,
    record: Option<&Path>,
    make: impl FnOnce(&Reactor) -> io::Result<S>,
) -> Result<ExitCode, StartError> {
    check_descriptor_limit(lang)?;
    let reactor = Reactor::new().map_err(|e| start_error(lang, "creating the event loop", &e))?;
    let signals =
        super::terminal_signals(&reactor).map_err(|e| start_error(lang, "handling signals", &e))?;
    let mut screen = make(&reactor).map_err(|e| start_error(lang, "starting the screen", &e))?;
    // Created before the terminal changes modes, so a bad path is said on a normal terminal.
    let recording = record
        .map(|path| {
            let (columns, rows) = crossterm::terminal::size().unwrap_or((80, 24));
            let (created, _) = crate::kernel::internal_fds::track("recording", || {
                Recording::create(path, columns, rows)
            });
            created.map_err(|e| {
                start_error(
                    lang,
                    &format!(
                        "creating {}",
                        crate::escape::visible(&path.display().to_string())
                    ),
                    &e,
                )
            })
        })
        .transpose()?;
    let (entered, _) = crate::kernel::internal_fds::track("terminal", || term::enter(mouse));
    let (plain, _guard) = entered.map_err(|e| start_error(lang, "opening the terminal", &e))?;
    drop(plain);
    let (output, recorded) = TeeOutput::new(io::stdout(), recording);
    let terminal = Terminal::new(CrosstermBackend::new(output))
        .map_err(|e| start_error(lang, "opening the terminal", &e))?;
    let (sender, receiver) = mpsc::channel();
    // crossterm's reader (its own poll, waker and SIGWINCH pipe) is made inside `spawn`.
    let (thread, _) =
        crate::kernel::internal_fds::track("input", || InputThread::spawn(sender, reactor.waker()));
    let thread = thread.map_err(|e| start_error(lang, "reading the keyboard", &e))?;
    let input = TerminalInput::new(receiver, thread);
    let mut runtime: Runtime<CrosstermBackend<TeeOutput>, TerminalInput> = Runtime::new(
        reactor,
        terminal,
        input,
        Some(signals),
        Some(Console { mouse }),
    )
    .map_err(|e| start_error(lang, "starting the loop", &e))?;
    let ending = runtime
        .run(&mut screen)
        .map_err(|e| start_error(lang, "running the dashboard", &e))?;
    if let Some((path, error)) = recorded.finish() {
        let doing = format!(
            "writing {}",
            crate::escape::visible(&path.display().to_string())
        );
        return Err(start_error(lang, &doing, &error));
    }
    Ok(ending.exit_code())
}
