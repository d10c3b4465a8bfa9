//! The collection thread: one [`SystemCollector`] on its own thread. The loop sends a request with
//! the current [`View`], the worker collects, filters and sorts (100k rows: tens of milliseconds
//! the key-handling thread does not spend), sends the result back and wakes the loop. At most one
//! request is in flight.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;

use mio::Waker;

use crate::system::{Filter, SystemCollector, SystemSnapshot};
use crate::watch::app::{Ordered, View, order};

/// One collection, ordered for the view it was asked with.
pub struct Collected {
    pub snapshot: SystemSnapshot,
    pub ordered: Ordered,
    pub view: View,
}

/// The loop's end of the worker.
pub struct Worker {
    requests: Option<Sender<View>>,
    results: Receiver<Collected>,
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
        let (request_tx, request_rx) = mpsc::channel::<View>();
        let (result_tx, result_rx) = mpsc::channel();
        thread::Builder::new()
            .name("collect".to_owned())
            .spawn(move || {
                while let Ok(view) = request_rx.recv() {
                    let snapshot = collector.collect(owners, &filter);
                    let ordered = order(&snapshot, &view);
                    let collected = Collected {
                        snapshot,
                        ordered,
                        view,
                    };
                    if result_tx.send(collected).is_err() {
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
    pub fn request(&mut self, view: View) -> bool {
        if self.busy {
            return false;
        }
        let sent = self
            .requests
            .as_ref()
            .is_some_and(|requests| requests.send(view).is_ok());
        self.busy = sent;
        sent
    }

    /// A collection is running.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// The collection that came back, if one did (never waits).
    pub fn try_take(&mut self) -> Option<Collected> {
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
