//! Running a screen's job [`Queue`] on its lab, the same way on every screen that has one (the lab's
//! dashboard and `trace`): a command runs with the reactor pumped inside it, a `wait` (the command
//! or a lecture step's) becomes the queue's timer and holds the rest, and what ran is handed back
//! to the screen to show.

use std::borrow::Cow;
use std::io;
use std::time::Instant;

use super::queue::Queue;
use crate::command::{Command, Located};
use crate::lab::{Lab, LabError, Step};
use crate::runtime::reactor::{Reactor, Ready};
use crate::script::Job;
use crate::text::Lang;

/// A screen that drives a lab through a job queue.
pub(super) trait DrivesLab {
    /// The screen's queue and lab, borrowed together.
    fn queue_and_lab(&mut self) -> (&mut Queue, &mut Lab);

    /// The lab's own sources among what the reactor saw while a command ran (by default all of
    /// them; a screen with sources of its own leaves those out).
    fn lab_sources(ready: &[Ready]) -> Cow<'_, [Ready]> {
        Cow::Borrowed(ready)
    }

    /// A command ran at `now`; `activity`: the lab's sockets had events while it ran.
    fn command_ran(
        &mut self,
        now: Instant,
        located: &Located,
        outcome: &Result<Step, LabError>,
        activity: bool,
    );

    /// A lecture step's jobs are done (only the dashboard has lectures).
    fn check_step(&mut self, _step: usize, _fresh: bool) {}
}

/// Runs queued jobs until one starts a wait or the queue is empty.
pub(super) fn run_jobs<S: DrivesLab>(
    screen: &mut S,
    now: Instant,
    reactor: &mut Reactor,
) -> io::Result<()> {
    loop {
        let (queue, lab) = screen.queue_and_lab();
        let Some(job) = queue.next_job(now) else {
            break;
        };
        match job {
            Job::Command(located) => {
                let mut pumped = Ok(false);
                let outcome = lab.execute(&located.command, |lab| {
                    // Loopback handshakes complete inside the syscall: let the lab see them.
                    pumped = reactor
                        .pump()
                        .map(|ready| lab.on_ready(&S::lab_sources(&ready)));
                });
                let activity = pumped?;
                screen.command_ran(now, &located, &outcome, activity);
                if let Ok(Step::Wait(duration)) = outcome {
                    let (queue, _) = screen.queue_and_lab();
                    queue.wait(now, duration, located.command.to_line());
                    break;
                }
            }
            Job::Wait(duration) => {
                let what = Command::Wait { duration }.to_line();
                queue.wait(now, duration, what);
                break;
            }
            Job::Check { step, fresh } => screen.check_step(step, fresh),
        }
    }
    Ok(())
}

/// What the status line says about a command's outcome, and whether it is an error: the lab's
/// refusal, the wait as written (`source`), or the lab's newest syscall after `prefix` (`None`
/// when there is none to show).
pub(super) fn status_line(
    outcome: &Result<Step, LabError>,
    source: &str,
    lab: &Lab,
    lang: Lang,
    prefix: &str,
) -> Option<(String, bool)> {
    match outcome {
        Err(error) => Some((error.message(lang), true)),
        Ok(Step::Wait(_)) => Some((source.to_owned(), false)),
        Ok(Step::Done) => lab.last_trace().map(|entry| {
            (
                format!("{prefix}{} = {}", entry.call, entry.result),
                entry.failed,
            )
        }),
    }
}
