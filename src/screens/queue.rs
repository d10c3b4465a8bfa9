//! The lab dashboard's queue of jobs: commands typed or scripted, lecture steps. A `wait` is a
//! timer on the loop, never a sleep: the screen keeps drawing and answering keys, and the wait
//! can be cancelled (with everything queued behind it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::script::Job;

/// A wait that is running.
#[derive(Debug, Clone)]
struct Waiting {
    until: Instant,
    /// The wait as written, for the status line.
    what: String,
    length: Duration,
}

#[derive(Debug, Default)]
pub struct Queue {
    jobs: VecDeque<Job>,
    waiting: Option<Waiting>,
}

/// What cancelling dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub wait: Option<String>,
    pub dropped: Vec<String>,
}

impl Queue {
    pub fn extend(&mut self, jobs: impl IntoIterator<Item = Job>) {
        self.jobs.extend(jobs);
    }

    /// The next job to run now: `None` while a wait runs or when the queue is empty.
    pub fn next_job(&mut self, now: Instant) -> Option<Job> {
        if let Some(waiting) = &self.waiting {
            if now < waiting.until {
                return None;
            }
            self.waiting = None;
        }
        self.jobs.pop_front()
    }

    /// Starts a wait of `length` (the job that asked for it has just run).
    pub fn wait(&mut self, now: Instant, length: Duration, what: String) {
        // Durations are bounded when parsed; a wait past what the clock can hold still ends.
        let until = now
            .checked_add(length)
            .unwrap_or_else(|| now + Duration::from_hours(24 * 365));
        self.waiting = Some(Waiting {
            until,
            what,
            length,
        });
    }

    /// When the running wait ends.
    #[must_use]
    pub fn due(&self) -> Option<Instant> {
        self.waiting.as_ref().map(|waiting| waiting.until)
    }

    /// Whether jobs are running or waiting to run.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.waiting.is_some() || !self.jobs.is_empty()
    }

    /// The running wait (as written, its length and when it ends) and the jobs behind it.
    #[must_use]
    pub fn running_wait(&self) -> Option<(&str, Duration, Instant)> {
        self.waiting
            .as_ref()
            .map(|waiting| (waiting.what.as_str(), waiting.length, waiting.until))
    }

    /// The queued jobs, as the status line lists them.
    #[must_use]
    pub fn queued(&self) -> Vec<String> {
        self.jobs
            .iter()
            .filter(|job| !matches!(job, Job::Check { .. }))
            .map(Job::describe)
            .collect()
    }

    /// Stops the running wait and drops every queued job.
    pub fn cancel(&mut self) -> Cancelled {
        let dropped = self.queued();
        self.jobs.clear();
        Cancelled {
            wait: self.waiting.take().map(|waiting| waiting.what),
            dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::parse_script;

    fn jobs(script: &str) -> Vec<Job> {
        parse_script(script)
            .expect("parses")
            .into_iter()
            .map(Job::Command)
            .collect()
    }

    #[test]
    fn a_wait_holds_the_jobs_behind_it_until_it_ends() {
        let mut queue = Queue::default();
        queue.extend(jobs("socket a tcp; socket b tcp"));
        let now = Instant::now();
        assert!(queue.next_job(now).is_some());
        queue.wait(now, Duration::from_secs(10), "wait 10s".into());
        assert_eq!(queue.next_job(now + Duration::from_secs(9)), None);
        assert_eq!(queue.queued(), vec!["socket b tcp".to_owned()]);
        assert!(queue.next_job(now + Duration::from_secs(10)).is_some());
        assert!(!queue.is_busy());
    }

    #[test]
    fn cancelling_drops_the_wait_and_everything_queued() {
        let mut queue = Queue::default();
        queue.extend(jobs("socket b tcp; close b"));
        let now = Instant::now();
        queue.wait(now, Duration::from_hours(1), "wait 1h".into());
        let cancelled = queue.cancel();
        assert_eq!(cancelled.wait.as_deref(), Some("wait 1h"));
        assert_eq!(cancelled.dropped, vec!["socket b tcp", "close b"]);
        assert!(!queue.is_busy());
        assert_eq!(queue.due(), None);
    }

    #[test]
    fn a_wait_too_long_for_the_clock_does_not_panic() {
        let mut queue = Queue::default();
        let now = Instant::now();
        queue.wait(now, Duration::MAX, "wait forever".into());
        assert!(queue.due().is_some_and(|due| due > now));
    }
}
