//! Runs parsed scripts against a lab. A script (a `--run` line, a prompt line, a lecture step) is
//! a list of [`Job`]s; headless runs block on waits, the dashboard turns them into timers.

use std::io;
use std::time::Duration;

use crate::command::{Command, Located};
use crate::lab::{HeadlessLab, Step};

/// How often the kernel is asked for states while a script waits, so histories see transitions.
pub const PROBE_EVERY: Duration = Duration::from_millis(20);

/// One thing to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A command of the lab language (`wait` among them).
    Command(Located),
    /// Let the loop run this long (a lecture step's `wait`).
    Wait(Duration),
    /// A lecture step's commands and wait are done: take a snapshot and check its expectations.
    /// `fresh`: forget the failures of earlier steps first.
    Check { step: usize, fresh: bool },
}

impl Job {
    /// How the job reads in the status line's queue (the canonical command line).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Job::Command(located) => located.command.to_line(),
            Job::Wait(duration) => Command::Wait {
                duration: *duration,
            }
            .to_line(),
            Job::Check { step, .. } => format!("check step {}", step + 1),
        }
    }
}

/// Runs every command; refused commands are recorded in the lab (and the snapshot), not fatal.
pub fn run(lab: &mut HeadlessLab, script: &[Located]) -> io::Result<()> {
    let jobs: Vec<Job> = script.iter().cloned().map(Job::Command).collect();
    run_jobs(lab, &jobs, |_, _, _| {})
}

/// Runs jobs in order, blocking on waits (nothing else waits for a headless lab); `check` is
/// called for every [`Job::Check`].
pub fn run_jobs(
    lab: &mut HeadlessLab,
    jobs: &[Job],
    mut check: impl FnMut(&mut HeadlessLab, usize, bool),
) -> io::Result<()> {
    for job in jobs {
        match job {
            Job::Command(located) => {
                if let Ok(Step::Wait(duration)) = lab.execute(&located.command) {
                    lab.run_for(duration, PROBE_EVERY)?;
                }
            }
            Job::Wait(duration) => lab.run_for(*duration, PROBE_EVERY)?,
            Job::Check { step, fresh } => check(lab, *step, *fresh),
        }
    }
    Ok(())
}
