//! Plays scenario steps on a headless lab: run the commands, let the loop run, ask the kernel,
//! check — through the same [`Lecture`] the dashboard uses, with waits that block.
//!
//! Stepping back is a replay: a fresh lab runs steps `0..=N` again. Scenarios bind port 0, so a
//! replay gets new ports and never meets the old lab's leftovers (`TIME_WAIT`, listeners).

use std::fmt;
use std::io;

use super::eval::CheckFailure;
use super::lecture::Lecture;
use super::{Scenario, ScenarioStep};
use crate::lab::{HeadlessLab, LabConfig};
use crate::model::Snapshot;
use crate::script::{self, Job};

/// Why a step did not come out as its expectations say.
#[derive(Debug)]
pub enum StepError {
    /// The event loop itself failed; the lab cannot go on.
    Io(io::Error),
    /// The kernel contradicted expectations: the snapshot they were checked against, and each
    /// expectation that failed with the value seen.
    Checks {
        snapshot: Box<Snapshot>,
        failures: Vec<CheckFailure>,
    },
}

impl StepError {
    /// The failed expectations (none for an I/O failure).
    #[must_use]
    pub fn failures(&self) -> &[CheckFailure] {
        match self {
            Self::Io(_) => &[],
            Self::Checks { failures, .. } => failures,
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "the event loop failed: {error}"),
            Self::Checks { failures, .. } => {
                let lines: Vec<String> = failures.iter().map(ToString::to_string).collect();
                f.write_str(&lines.join("\n"))
            }
        }
    }
}

impl std::error::Error for StepError {}

impl From<io::Error> for StepError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Runs one step on `lab`: its commands, then the event loop for its `wait`, then a snapshot,
/// then its expectations.
pub fn run_step(lab: &mut HeadlessLab, step: &ScenarioStep) -> Result<Snapshot, StepError> {
    let scenario = Scenario {
        name: String::new(),
        file: String::new(),
        title: super::Localized::default(),
        capture: false,
        wire: false,
        steps: vec![step.clone()],
    };
    let mut lecture = Lecture::new(scenario, None);
    let jobs = lecture.forward_jobs().unwrap_or_default();
    let mut snapshot = Snapshot::default();
    script::run_jobs(lab, &jobs, |lab, index, fresh| {
        snapshot = lab.snapshot();
        lecture.checked(index, fresh, &snapshot);
    })?;
    let failures: Vec<CheckFailure> = lecture
        .failures()
        .iter()
        .cloned()
        .map(|failure| CheckFailure {
            step: step.index,
            ..failure
        })
        .collect();
    if failures.is_empty() {
        Ok(snapshot)
    } else {
        Err(StepError::Checks {
            snapshot: Box::new(snapshot),
            failures,
        })
    }
}

/// A lab brought to a step: alive, so a UI can go on from there.
pub struct Played {
    pub lab: HeadlessLab,
    /// The snapshot after the last step played.
    pub snapshot: Snapshot,
    /// Every expectation that failed on the way, in step order.
    pub failures: Vec<CheckFailure>,
    /// Where the lecture stands (for its view: title, step, narration, failures).
    pub lecture: Lecture,
}

/// Why a scenario could not be played to a step.
#[derive(Debug)]
pub enum PlayError {
    Io(io::Error),
    /// `index` is past the last step (`steps` long).
    NoSuchStep {
        index: usize,
        steps: usize,
    },
}

impl fmt::Display for PlayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "the event loop failed: {error}"),
            Self::NoSuchStep { index, steps } => {
                write!(f, "no step {} (the scenario has {steps})", index + 1)
            }
        }
    }
}

impl std::error::Error for PlayError {}

impl From<io::Error> for PlayError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Builds a fresh lab and plays steps `0..=index` (0-based). Failed expectations do not stop the
/// replay: they are collected in [`Played::failures`].
///
/// Only the steps that have expectations, and the last, are snapshotted. A snapshot reads the
/// whole descriptor table (one `readlink` per descriptor, ~9 µs each), and a step usually adds
/// descriptors, so a snapshot of every step made a replay quadratic in its length.
pub fn play_to(scenario: &Scenario, index: usize, config: LabConfig) -> Result<Played, PlayError> {
    if index >= scenario.steps.len() {
        return Err(PlayError::NoSuchStep {
            index,
            steps: scenario.steps.len(),
        });
    }
    let mut lab = HeadlessLab::new(config)?;
    let mut lecture = Lecture::new(scenario.clone(), None);
    let snapshot = replay(&mut lab, &mut lecture, index)?;
    Ok(Played {
        lab,
        snapshot,
        failures: lecture.failures().to_vec(),
        lecture,
    })
}

/// Plays `lecture`'s steps `0..=index` on `lab` (fresh or just reset).
fn replay(lab: &mut HeadlessLab, lecture: &mut Lecture, index: usize) -> io::Result<Snapshot> {
    lecture.rewind();
    let jobs = lecture.replay_jobs(index);
    run(lab, lecture, &jobs)
}

/// Runs `jobs` blocking and checks each step; returns the snapshot after the last step.
///
/// A snapshot reads every descriptor of the lab: taking one after every step of a long replay
/// made it quadratic. Only steps with expectations, and the last one, are snapshotted (the
/// wait's probes still feed the state histories).
fn run(lab: &mut HeadlessLab, lecture: &mut Lecture, jobs: &[Job]) -> io::Result<Snapshot> {
    let last = jobs.iter().rev().find_map(|job| match job {
        Job::Check { step, .. } => Some(*step),
        _ => None,
    });
    let mut snapshot = Snapshot::default();
    script::run_jobs(lab, jobs, |lab, step, fresh| {
        if Some(step) == last || lecture.has_expectations(step) {
            snapshot = lab.snapshot();
        }
        lecture.checked(step, fresh, &snapshot);
    })?;
    Ok(snapshot)
}

/// A scenario being presented headless: the lab at the current step, kept alive between steps.
pub struct Player {
    lecture: Lecture,
    config: LabConfig,
    /// The lab and the snapshot after the current step (`None` before the first step).
    played: Option<Played>,
}

impl Player {
    /// A player before the first step (no lab yet).
    #[must_use]
    pub fn new(scenario: Scenario, config: LabConfig) -> Self {
        Self {
            lecture: Lecture::new(scenario, None),
            config,
            played: None,
        }
    }

    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        self.lecture.scenario()
    }

    /// The index of the step last played, `None` before the first.
    #[must_use]
    pub fn current(&self) -> Option<usize> {
        self.lecture.current()
    }

    /// The step last played.
    #[must_use]
    pub fn current_step(&self) -> Option<&ScenarioStep> {
        self.current().map(|index| &self.scenario().steps[index])
    }

    /// The lab, the snapshot after the current step and its failures.
    #[must_use]
    pub fn played(&self) -> Option<&Played> {
        self.played.as_ref()
    }

    /// The lab, for a UI that lets the user act between steps.
    pub fn lab_mut(&mut self) -> Option<&mut HeadlessLab> {
        self.played.as_mut().map(|played| &mut played.lab)
    }

    /// Plays the next step on the live lab (the first step on a fresh one). `Ok(false)` when the
    /// last step was already played.
    pub fn forward(&mut self) -> Result<bool, PlayError> {
        let Some(jobs) = self.lecture.forward_jobs() else {
            return Ok(false);
        };
        if self.played.is_none() {
            self.played = Some(Played {
                lab: HeadlessLab::new(self.config.clone())?,
                snapshot: Snapshot::default(),
                failures: Vec::new(),
                lecture: self.lecture.clone(),
            });
        }
        let played = self.played.as_mut().expect("made above");
        played.snapshot = run(&mut played.lab, &mut self.lecture, &jobs)?;
        played.failures = self.lecture.failures().to_vec();
        played.lecture = self.lecture.clone();
        Ok(true)
    }

    /// Goes back one step by replaying from scratch. `Ok(false)` at the first step.
    pub fn back(&mut self) -> Result<bool, PlayError> {
        match self.lecture.previous() {
            Some(index) => {
                self.seek(index)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Rebuilds the lab and replays up to step `index`. The old lab is closed first, so its
    /// sockets are gone before the replay binds anything. Failures are those of all steps replayed.
    pub fn seek(&mut self, index: usize) -> Result<(), PlayError> {
        if index >= self.scenario().steps.len() {
            return Err(PlayError::NoSuchStep {
                index,
                steps: self.scenario().steps.len(),
            });
        }
        self.played = None;
        let mut lab = HeadlessLab::new(self.config.clone())?;
        let snapshot = replay(&mut lab, &mut self.lecture, index)?;
        self.played = Some(Played {
            lab,
            snapshot,
            failures: self.lecture.failures().to_vec(),
            lecture: self.lecture.clone(),
        });
        Ok(())
    }
}
