//! Lecture mode in the dashboard: plays a scenario's steps on the dashboard's own lab. Stepping
//! back resets the lab and replays the earlier steps, so every step is reached the same way.

use std::io;
use std::time::{Duration, Instant};

use crate::app::LectureView;
use crate::lab::Lab;
use crate::model::Snapshot;
use crate::scenario::{CheckFailure, Scenario, StepError, run_step};
use crate::text::Lang;

pub struct Lecture {
    scenario: Scenario,
    /// The step last played (0-based), `None` before the first.
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

    /// Plays one step; its failed expectations are kept for the banner.
    fn play(&mut self, lab: &mut Lab, index: usize) -> io::Result<Snapshot> {
        let snapshot = match run_step(lab, &self.scenario.steps[index]) {
            Ok(snapshot) => snapshot,
            Err(StepError::Io(error)) => return Err(error),
            Err(StepError::Checks { snapshot, failures }) => {
                self.failures.extend(failures);
                *snapshot
            }
        };
        self.current = Some(index);
        self.schedule_autoplay();
        Ok(snapshot)
    }

    fn schedule_autoplay(&mut self) {
        let more = self
            .current
            .is_none_or(|index| index + 1 < self.scenario.steps.len());
        self.next_autoplay = self
            .autoplay
            .filter(|_| more)
            .map(|every| Instant::now() + every);
    }

    /// Plays the next step, if there is one.
    pub fn forward(&mut self, lab: &mut Lab) -> io::Result<Option<Snapshot>> {
        let next = self.current.map_or(0, |index| index + 1);
        if next >= self.scenario.steps.len() {
            return Ok(None);
        }
        self.failures.clear();
        self.play(lab, next).map(Some)
    }

    /// Rebuilds the state of step `index` from scratch: close everything, replay `0..=index`.
    pub fn seek(&mut self, lab: &mut Lab, index: usize) -> io::Result<Snapshot> {
        lab.reset();
        self.failures.clear();
        self.current = None;
        let mut snapshot = Snapshot::default();
        for step in 0..=index.min(self.scenario.steps.len().saturating_sub(1)) {
            snapshot = self.play(lab, step)?;
        }
        Ok(snapshot)
    }

    /// The previous step, rebuilt; `None` at the first.
    pub fn back(&mut self, lab: &mut Lab) -> io::Result<Option<Snapshot>> {
        match self.current {
            Some(index) if index > 0 => self.seek(lab, index - 1).map(Some),
            _ => Ok(None),
        }
    }

    pub fn restart(&mut self, lab: &mut Lab) -> io::Result<Snapshot> {
        self.seek(lab, 0)
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
