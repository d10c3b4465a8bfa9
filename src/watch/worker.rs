//! The collection thread: one [`SystemCollector`] on its own thread. The loop sends a request with
//! the current [`View`], the worker collects, filters and sorts (100k rows: tens of milliseconds
//! the key-handling thread does not spend), sends the result back and wakes the loop. At most one
//! request is in flight. When the kernel's counters and the owners show that nothing changed, the
//! worker says so instead of walking every socket again ([`SystemCollector::refresh`]); it walks
//! at least every `walk_every` (`--walk-every`, 5 s). The snapshot a new one replaces is dropped here too
//! (100k rows take milliseconds to free).

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use mio::Waker;

use crate::system::{Filter, Refresh, SystemCollector, SystemSnapshot};
use crate::watch::app::{Ordered, View, order};

/// One collection.
pub enum Collected {
    /// A new snapshot, ordered for the view it was asked with.
    New {
        snapshot: Box<SystemSnapshot>,
        ordered: Ordered,
        view: View,
    },
    /// Nothing changed since the last snapshot.
    Unchanged {
        checked_in: Duration,
        walked: Instant,
    },
}

/// What the loop sends: a view to collect for, or a snapshot to drop.
enum Request {
    Collect(View),
    Drop(Box<SystemSnapshot>),
}

/// The loop's end of the worker.
pub struct Worker {
    requests: Option<Sender<Request>>,
    results: Receiver<Collected>,
    busy: bool,
}

impl Worker {
    /// Starts the thread. `owners`: look up owning processes; `filter`: what the collector keeps;
    /// `walk_every`: walk every socket at least this often, whatever the counters say.
    pub fn spawn(
        mut collector: SystemCollector,
        owners: bool,
        filter: Filter,
        waker: Arc<Waker>,
        walk_every: Duration,
    ) -> std::io::Result<Self> {
        let (request_tx, request_rx) = mpsc::channel::<Request>();
        let (result_tx, result_rx) = mpsc::channel();
        thread::Builder::new()
            .name("collect".to_owned())
            .spawn(move || {
                // Ten steps nicer for this thread (Linux's nice is per thread; the scan threads it starts
                // inherit it): a walk of 100k sockets must not take the core that answers keys
                // and draws. Best effort: an unchanged priority only costs responsiveness.
                let nice = rustix::process::getpriority_process(None).unwrap_or(0);
                let _ = rustix::process::setpriority_process(None, (nice + 10).min(19));
                while let Ok(request) = request_rx.recv() {
                    let view = match request {
                        Request::Collect(view) => view,
                        Request::Drop(snapshot) => {
                            drop(snapshot);
                            continue;
                        }
                    };
                    let collected = match collector.refresh(owners, &filter, walk_every) {
                        Refresh::New(snapshot) => {
                            let ordered = order(&snapshot, &view);
                            Collected::New {
                                snapshot: Box::new(snapshot),
                                ordered,
                                view,
                            }
                        }
                        Refresh::Unchanged { checked_in, walked } => {
                            Collected::Unchanged { checked_in, walked }
                        }
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
            .is_some_and(|requests| requests.send(Request::Collect(view)).is_ok());
        self.busy = sent;
        sent
    }

    /// Hands a snapshot that was replaced to the worker to free.
    pub fn drop_later(&self, snapshot: SystemSnapshot) {
        if let Some(requests) = &self.requests {
            // After quitting there is no worker: then it is freed here.
            let _ = requests.send(Request::Drop(Box::new(snapshot)));
        }
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
