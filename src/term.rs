//! The terminal: raw mode and the alternate screen in, everything back out — on quit, on error,
//! on panic and on signals — plus the thread that reads input events.

use std::io::{self, Stdout, stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use mio::Waker;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// How long the input thread waits for an event before checking whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Restores the terminal when dropped, so every way out of the dashboard leaves it usable.
pub struct TerminalGuard {
    _private: (),
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Whether the terminal is in the dashboard's modes, so restoring happens once: leaving the
/// alternate screen twice would move the cursor back over what was printed since.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The terminal modes the dashboard puts the terminal in, so they can be left and entered again
/// (Ctrl-Z / SIGTSTP leaves them before the process stops; SIGCONT enters them again).
#[derive(Debug, Clone, Copy)]
pub struct Console {
    pub mouse: bool,
}

impl Console {
    /// Raw mode, the alternate screen, a hidden cursor, bracketed paste and (if asked) the mouse.
    pub fn enter(self) -> io::Result<()> {
        ACTIVE.store(true, Ordering::SeqCst);
        enable_raw_mode()?;
        let mut out = stdout();
        execute!(out, EnterAlternateScreen, Hide, EnableBracketedPaste)?;
        if self.mouse {
            execute!(out, EnableMouseCapture)?;
        }
        Ok(())
    }

    /// Back to the terminal as the shell left it.
    pub fn leave(self) {
        restore();
    }
}

/// Enters raw mode and the alternate screen; the guard undoes both.
pub fn enter(mouse: bool) -> io::Result<(Tui, TerminalGuard)> {
    install_panic_hook();
    let guard = TerminalGuard { _private: () };
    Console { mouse }.enter()?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}

/// Leaves the alternate screen, shows the cursor and turns raw mode off. Safe to call twice.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = stdout();
    // Each step is tried even if an earlier one fails: a half-restored terminal is worse.
    let _ = execute!(out, DisableMouseCapture, DisableBracketedPaste);
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Reads crossterm events on its own thread and hands them to the loop: send, then wake.
pub struct InputThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl InputThread {
    /// Starts reading. crossterm's event reader is set up here, on the caller's thread, so a
    /// failure (out of descriptors: it needs an epoll, a pipe and a signal pipe) is an error the
    /// caller reports, not a silent end of input.
    pub fn spawn(sender: Sender<io::Result<Event>>, waker: Arc<Waker>) -> io::Result<Self> {
        event::poll(Duration::ZERO)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("input".to_owned())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    let event = match event::poll(INPUT_POLL) {
                        Ok(false) => continue,
                        Ok(true) => event::read(),
                        Err(error) => Err(error),
                    };
                    let failed = event.is_err();
                    if sender.send(event).is_err() || failed {
                        break;
                    }
                    let _ = waker.wake();
                }
                // Dropping the sender tells the loop that input has ended.
                drop(sender);
                let _ = waker.wake();
            })?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for InputThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Not joined: after a hangup crossterm's read can spin on end-of-file and never return,
        // and the process must still be able to exit. The thread ends with the process.
        drop(self.handle.take());
    }
}
