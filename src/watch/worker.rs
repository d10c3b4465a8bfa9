//! The collection thread: one [`SystemCollector`] on its own thread. The loop sends a request, the
//! worker collects, sends the snapshot back and wakes the loop. At most one request is in flight.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;

use mio::Waker;

use crate::system::{Filter, SystemCollector, SystemSnapshot};

/// The loop's end of the worker.
pub struct Worker {
    requests: Option<Sender<()>>,
    results: Receiver<SystemSnapshot>,
    busy: bool,
}

impl Worker {
    /// Starts the thread. `owners`: look up owning processes; `filter`: what the collector keeps.
    pub fn spawn(
        mut collector: SystemCollector,
        owners: bool,
        filter: Filter,
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let (request_tx, request_rx) = mpsc::channel::<()>();
        let (result_tx, result_rx) = mpsc::channel();
        thread::Builder::new()
            .name("collect".to_owned())
            .spawn(move || {
                while request_rx.recv().is_ok() {
                    let snapshot = collector.collect(owners, &filter);
                    if result_tx.send(snapshot).is_err() {
                        break;
                    }
                    let _ = waker.wake();
                }
            })?;
        Ok(Self {
            requests: Some(request_tx),
            results: result_rx,
            busy: false,
        })
    }

    /// Asks for a collection, unless one is still running (then this tick is skipped). Returns
    /// whether a request was sent.
    pub fn request(&mut self) -> bool {
        if self.busy {
            return false;
        }
        let sent = self
            .requests
            .as_ref()
            .is_some_and(|requests| requests.send(()).is_ok());
        self.busy = sent;
        sent
    }

    /// A collection is running.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// The snapshot that came back, if one did (never waits).
    pub fn try_take(&mut self) -> Option<SystemSnapshot> {
        match self.results.try_recv() {
            Ok(snapshot) => {
                self.busy = false;
                Some(snapshot)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the request channel ends the thread after its current collection. Not joined:
        // quitting must not wait for a walk of 100k sockets.
        self.requests.take();
    }
}
