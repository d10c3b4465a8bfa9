//! Plays scenario steps on a lab: run the commands, let the loop run, ask the kernel, check.
//!
//! Stepping back is a replay: a fresh lab runs steps `0..=N` again. Scenarios bind port 0, so a
//! replay gets new ports and never meets the old lab's leftovers (`TIME_WAIT`, listeners).

use std::fmt;
use std::io;
use std::time::Duration;

use super::eval::{CheckFailure, check_all};
use super::{Scenario, ScenarioStep};
use crate::lab::{Lab, LabConfig};
use crate::model::Snapshot;
use crate::script;

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

/// Runs one step on `lab`: its commands (via [`script::run`]), then the event loop for its
/// `wait`, then a snapshot, then its expectations.
pub fn run_step(lab: &mut Lab, step: &ScenarioStep) -> Result<Snapshot, StepError> {
    act(lab, step)?;
    let snapshot = lab.snapshot();
    let failures = check_all(step.index, &step.expect, &snapshot);
    if failures.is_empty() {
        Ok(snapshot)
    } else {
        Err(StepError::Checks {
            snapshot: Box::new(snapshot),
            failures,
        })
    }
}

/// A step's commands and its `wait`, without the snapshot. The event loop's probe at the start of
/// the wait still extends the state histories, as a snapshot would.
fn act(lab: &mut Lab, step: &ScenarioStep) -> io::Result<()> {
    script::run(lab, &step.run)?;
    lab.run_for(step.wait.unwrap_or(Duration::ZERO), script::PROBE_EVERY)
}

/// A lab brought to a step: alive, so a UI can go on from there.
pub struct Played {
    pub lab: Lab,
    /// The snapshot after the last step played.
    pub snapshot: Snapshot,
    /// Every expectation that failed on the way, in step order.
    pub failures: Vec<CheckFailure>,
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
    let mut lab = Lab::new(config)?;
    let mut failures = Vec::new();
    let mut snapshot = Snapshot::default();
    for step in &scenario.steps[..=index] {
        if step.index != index && step.expect.is_empty() {
            act(&mut lab, step)?;
            continue;
        }
        snapshot = match run_step(&mut lab, step) {
            Ok(snapshot) => snapshot,
            Err(StepError::Io(error)) => return Err(PlayError::Io(error)),
            Err(StepError::Checks {
                snapshot,
                failures: failed,
            }) => {
                failures.extend(failed);
                *snapshot
            }
        };
    }
    Ok(Played {
        lab,
        snapshot,
        failures,
    })
}

/// A scenario being presented: the lab at the current step, kept alive between steps.
pub struct Player {
    scenario: Scenario,
    config: LabConfig,
    /// The lab and the index of the last step played on it.
    played: Option<(Played, usize)>,
}

impl Player {
    /// A player before the first step (no lab yet).
    #[must_use]
    pub fn new(scenario: Scenario, config: LabConfig) -> Self {
        Self {
            scenario,
            config,
            played: None,
        }
    }

    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The index of the step last played, `None` before the first.
    #[must_use]
    pub fn current(&self) -> Option<usize> {
        self.played.as_ref().map(|(_, index)| *index)
    }

    /// The step last played.
    #[must_use]
    pub fn current_step(&self) -> Option<&ScenarioStep> {
        self.current().map(|index| &self.scenario.steps[index])
    }

    /// The lab, the snapshot after the current step and its failures.
    #[must_use]
    pub fn played(&self) -> Option<&Played> {
        self.played.as_ref().map(|(played, _)| played)
    }

    /// The lab, for a UI that lets the user act between steps.
    pub fn lab_mut(&mut self) -> Option<&mut Lab> {
        self.played.as_mut().map(|(played, _)| &mut played.lab)
    }

    /// Plays the next step on the live lab (the first step on a fresh one). `Ok(false)` when the
    /// last step was already played.
    pub fn forward(&mut self) -> Result<bool, PlayError> {
        let next = self.current().map_or(0, |index| index + 1);
        if next >= self.scenario.steps.len() {
            return Ok(false);
        }
        let Some((played, index)) = self.played.as_mut() else {
            self.seek(0)?;
            return Ok(true);
        };
        let step = &self.scenario.steps[next];
        match run_step(&mut played.lab, step) {
            Ok(snapshot) => {
                played.snapshot = snapshot;
                played.failures.clear();
            }
            Err(StepError::Io(error)) => return Err(PlayError::Io(error)),
            Err(StepError::Checks { snapshot, failures }) => {
                played.snapshot = *snapshot;
                played.failures = failures;
            }
        }
        *index = next;
        Ok(true)
    }

    /// Goes back one step by replaying from scratch. `Ok(false)` at the first step.
    pub fn back(&mut self) -> Result<bool, PlayError> {
        match self.current() {
            Some(index) if index > 0 => {
                self.seek(index - 1)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Rebuilds the lab and replays up to step `index`. The old lab is closed first, so its
    /// sockets are gone before the replay binds anything. Failures are those of all steps replayed.
    pub fn seek(&mut self, index: usize) -> Result<(), PlayError> {
        self.played = None;
        let played = play_to(&self.scenario, index, self.config.clone())?;
        self.played = Some((played, index));
        Ok(())
    }
}
