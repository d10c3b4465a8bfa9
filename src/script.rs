//! Runs a parsed script against a lab: commands in order, `wait` lets the event loop run.

use std::io;
use std::time::Duration;

use crate::command::Located;
use crate::lab::{Lab, Step};

/// How often the kernel is asked for states while a script waits, so histories see transitions.
pub const PROBE_EVERY: Duration = Duration::from_millis(20);

/// Runs every command; refused commands are recorded in the lab (and the snapshot), not fatal.
pub fn run(lab: &mut Lab, script: &[Located]) -> io::Result<()> {
    for located in script {
        if let Ok(Step::Wait(duration)) = lab.execute(&located.command) {
            lab.run_for(duration, PROBE_EVERY)?;
        }
    }
    Ok(())
}
