//! Where a lecture stands: the step last played, the expectations it failed, autoplay. It owns
//! no lab: it says which [`Job`]s play a step, and is told the snapshot when a step's jobs are
//! done. The dashboard runs the jobs on its loop (waits are timers there); headless players run
//! them blocking. Both go through this one type, so they play a scenario the same way.

use std::time::{Duration, Instant};

use super::Scenario;
use super::eval::{CheckFailure, check_all};
use crate::app::LectureView;
use crate::model::Snapshot;
use crate::script::Job;
use crate::text::Lang;

#[derive(Debug, Clone)]
pub struct Lecture {
    scenario: Scenario,
    /// The step last checked (0-based), `None` before the first.
    current: Option<usize>,
    failures: Vec<CheckFailure>,
    autoplay: Option<Duration>,
    next_autoplay: Option<Instant>,
}

impl Lecture {
    #[must_use]
    pub fn new(scenario: Scenario, autoplay: Option<Duration>) -> Self {
        Self {
            scenario,
            current: None,
            failures: Vec::new(),
            autoplay,
            next_autoplay: None,
        }
    }

    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The step last played (0-based).
    #[must_use]
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    #[must_use]
    pub fn failures(&self) -> &[CheckFailure] {
        &self.failures
    }

    /// The jobs that play step `index`: its commands, its wait, then the check.
    fn step_jobs(&self, index: usize, fresh: bool, jobs: &mut Vec<Job>) {
        let step = &self.scenario.steps[index];
        jobs.extend(step.run.iter().cloned().map(Job::Command));
        if let Some(wait) = step.wait.filter(|wait| !wait.is_zero()) {
            jobs.push(Job::Wait(wait));
        }
        jobs.push(Job::Check { step: index, fresh });
    }

    /// The jobs for the next step on the lab as it is; `None` after the last step.
    #[must_use]
    pub fn forward_jobs(&self) -> Option<Vec<Job>> {
        let next = self.current.map_or(0, |index| index + 1);
        if next >= self.scenario.steps.len() {
            return None;
        }
        let mut jobs = Vec::new();
        self.step_jobs(next, true, &mut jobs);
        Some(jobs)
    }

    /// The jobs that rebuild step `index` on a lab that was just reset: steps `0..=index`.
    #[must_use]
    pub fn replay_jobs(&self, index: usize) -> Vec<Job> {
        let last = index.min(self.scenario.steps.len().saturating_sub(1));
        let mut jobs = Vec::new();
        for step in 0..=last {
            self.step_jobs(step, step == 0, &mut jobs);
        }
        jobs
    }

    /// The step to go back to (`None` at the first step).
    #[must_use]
    pub fn previous(&self) -> Option<usize> {
        self.current
            .filter(|index| *index > 0)
            .map(|index| index - 1)
    }

    /// Whether step `step` checks anything (a step without expectations needs no snapshot).
    #[must_use]
    pub fn has_expectations(&self, step: usize) -> bool {
        !self.scenario.steps[step].expect.is_empty()
    }

    /// Step `step`'s jobs are done and the kernel says `snapshot`: check its expectations.
    /// Returns the failures of this step.
    pub fn checked(&mut self, step: usize, fresh: bool, snapshot: &Snapshot) -> &[CheckFailure] {
        if fresh {
            self.failures.clear();
        }
        let before = self.failures.len();
        let expectations = &self.scenario.steps[step].expect;
        self.failures
            .extend(check_all(step, expectations, snapshot));
        self.current = Some(step);
        let more = step + 1 < self.scenario.steps.len();
        self.next_autoplay = self
            .autoplay
            .filter(|_| more)
            .and_then(|every| Instant::now().checked_add(every));
        &self.failures[before..]
    }

    /// Forgets where it was (the lab is about to be reset).
    pub fn rewind(&mut self) {
        self.current = None;
        self.failures.clear();
        self.next_autoplay = None;
    }

    /// When autoplay wants the next step.
    #[must_use]
    pub fn autoplay_due(&self) -> Option<Instant> {
        self.next_autoplay
    }

    /// The item the current step puts in focus.
    #[must_use]
    pub fn focus(&self) -> Option<&str> {
        self.current
            .and_then(|index| self.scenario.steps[index].focus.as_deref())
    }

    /// What the narration pane shows.
    #[must_use]
    pub fn view(&self, lang: Lang) -> LectureView {
        LectureView {
            title: self.scenario.title.get(lang).to_owned(),
            step: self.current.map_or(0, |index| index + 1),
            steps: self.scenario.steps.len(),
            narration: self
                .current
                .map(|index| self.scenario.steps[index].say.get(lang).to_owned())
                .unwrap_or_default(),
            failures: self
                .failures
                .iter()
                .map(|failure| failure.message(lang))
                .collect(),
            autoplay: self.autoplay.map(|every| every.as_secs()),
        }
    }
}
