//! An asciicast v2 recording of what the dashboard writes to the terminal (`--record
//! FILE.cast`): a header line with the terminal's size, then one `[time, "o", text]` event per
//! flushed frame and a `[time, "r", "COLSxROWS"]` event whenever the size changed. `asciinema
//! play` replays it.
//!
//! The recording is a tee of the terminal's writer, so it holds exactly the bytes the terminal
//! got; a failure to write it never disturbs the dashboard: it stops the recording and is
//! reported when the screen ends.

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// The terminal's writer, teeing into a recording when there is one.
pub struct TeeOutput {
    terminal: Stdout,
    recording: Shared,
}

/// The recording, shared by the writer (inside the ratatui backend) and whoever finishes it.
type Shared = Arc<Mutex<Option<Recording>>>;

/// Finishes the recording once the screen has ended.
pub struct RecordingHandle(Shared);

impl RecordingHandle {
    /// Writes what is left and closes the file; the recording's first error, if writing it
    /// failed (it stopped then).
    #[must_use]
    pub fn finish(self) -> Option<(PathBuf, io::Error)> {
        let mut recording = self.0.lock().ok()?.take()?;
        if recording.error.is_none()
            && let Err(error) = recording
                .emit_pending()
                .and_then(|()| recording.file.flush())
        {
            recording.error = Some(error);
        }
        recording.error.map(|error| (recording.path, error))
    }
}

impl TeeOutput {
    #[must_use]
    pub fn new(terminal: Stdout, recording: Option<Recording>) -> (Self, RecordingHandle) {
        let shared = Arc::new(Mutex::new(recording));
        (
            Self {
                terminal,
                recording: Arc::clone(&shared),
            },
            RecordingHandle(shared),
        )
    }
}

impl Write for TeeOutput {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.terminal.write(bytes)?;
        if let Ok(mut guard) = self.recording.lock()
            && let Some(recording) = guard.as_mut()
        {
            recording.pending.extend_from_slice(&bytes[..written]);
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.terminal.flush()?;
        if let Ok(mut guard) = self.recording.lock()
            && let Some(recording) = guard.as_mut()
            && recording.error.is_none()
        {
            let size = crossterm::terminal::size().ok();
            if let Err(error) = recording.frame(size) {
                recording.error = Some(error);
            }
        }
        Ok(())
    }
}

/// An open recording.
pub struct Recording {
    path: PathBuf,
    file: BufWriter<File>,
    started: Instant,
    /// The time of the last event, in µs: every event gets a later one.
    last_us: Option<u64>,
    size: (u16, u16),
    /// Bytes written since the last event (a frame ends with a flush).
    pending: Vec<u8>,
    error: Option<io::Error>,
}

impl Recording {
    /// Creates `path` and writes the header for a `columns` x `rows` terminal.
    pub fn create(path: &Path, columns: u16, rows: u16) -> io::Result<Self> {
        let mut file = BufWriter::new(File::create(path)?);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let mut env = serde_json::Map::new();
        for name in ["TERM", "SHELL"] {
            if let Ok(value) = std::env::var(name) {
                env.insert(name.to_owned(), value.into());
            }
        }
        let header = json!({
            "version": 2,
            "width": columns,
            "height": rows,
            "timestamp": timestamp,
            "env": env,
        });
        writeln!(file, "{header}")?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            started: Instant::now(),
            last_us: None,
            size: (columns, rows),
            pending: Vec::new(),
            error: None,
        })
    }

    /// A frame was flushed: a resize event if the size changed, then the output.
    fn frame(&mut self, size: Option<(u16, u16)>) -> io::Result<()> {
        if let Some(size) = size
            && size != self.size
        {
            self.size = size;
            let text = format!("{}x{}", size.0, size.1);
            self.event("r", &text)?;
        }
        self.emit_pending()?;
        self.file.flush()
    }

    /// The output since the last event, up to its last whole UTF-8 character (a character cut
    /// by a partial write waits for its remaining bytes).
    fn emit_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let whole = match std::str::from_utf8(&self.pending) {
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            // Whole, or not UTF-8 at all (the dashboard never writes that: shown as U+FFFD).
            _ => self.pending.len(),
        };
        if whole == 0 {
            return Ok(());
        }
        let rest = self.pending.split_off(whole);
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending = rest;
        self.event("o", &text)
    }

    fn event(&mut self, code: &str, data: &str) -> io::Result<()> {
        let mut us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Some(last) = self.last_us {
            us = us.max(last + 1);
        }
        self.last_us = Some(us);
        let seconds = us as f64 / 1e6;
        let line = serde_json::to_string(&(seconds, code, data)).map_err(io::Error::other)?;
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")
    }
}
