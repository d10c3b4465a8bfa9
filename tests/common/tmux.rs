//! Drives the real binary in a tmux pane: type keys, read the screen, ask tmux about the terminal.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A tmux server of its own (so tests never touch the user's) with one session.
pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Starts `shell_command` in a detached `columns`x`rows` pane.
    pub fn start(columns: u16, rows: u16, shell_command: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let socket = format!(
            "sockscope-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let tmux = Self {
            socket,
            session: "t".to_owned(),
        };
        let status = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
            ])
            .arg(&tmux.session)
            .args(["-x", &columns.to_string(), "-y", &rows.to_string()])
            .arg(shell_command)
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .status()
            .expect("tmux runs (install the tmux package)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.session])
    }

    /// Sends keys as `tmux send-keys` names them (`Enter`, `Tab`, `q`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Sends text literally (no key-name lookup).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", "-t", &self.session, text]);
    }

    /// A tmux format variable of the pane (`#{alternate_on}`, `#{cursor_flag}`, `#{pane_pid}`).
    pub fn format(&self, variable: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", &self.session, variable])
            .trim()
            .to_owned()
    }

    pub fn resize(&self, columns: u16, rows: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            &self.session,
            "-x",
            &columns.to_string(),
            "-y",
            &rows.to_string(),
        ]);
    }

    /// Waits until the screen satisfies `done`; returns the last screen either way.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if done(&screen) || Instant::now() >= deadline {
                return screen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Kill what the pane started first, so no test leaves a process behind.
        let shell = self.format("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        for pid in children
            .split_whitespace()
            .chain(std::iter::once(shell.as_str()))
        {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        self.tmux(&["kill-server"]);
        // tmux leaves its socket file behind; a test suite should not.
        let dir = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".to_owned());
        let uid = rustix::process::getuid().as_raw();
        let _ = std::fs::remove_file(format!("{dir}/tmux-{uid}/{}", self.socket));
    }
}

/// The pid of the first child of `parent` (the binary started by the pane's shell).
pub fn child_of(parent: &str, limit: Duration) -> Option<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.parse().ok();
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
