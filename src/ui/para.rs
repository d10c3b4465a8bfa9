//! The pieces an explanation is made of, and the form its shell commands take in the lab's
//! network.

use crate::app::App;
use crate::model::Network;

/// One piece of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Para {
    /// What the item is, in one line.
    Heading(String),
    Text(String),
    /// A command to type in a shell.
    Command(String),
    /// A remark on reading the command's output.
    Note(String),
}

/// The prefix that runs a command inside the lab's private network from another terminal.
pub const EXEC_PREFIX: &str = "sockscope exec -- ";

/// A command that reads the lab's network namespace (`ss`, `nstat`, `/proc/sys/net`, `lsof`'s
/// socket details, `tcpdump`). In the private network another terminal sees none of it unless the
/// command runs inside, so it gets the `sockscope exec --` prefix there. Commands that read the
/// process rather than the network (`/proc/PID/fd`, `strace -p`, `man`) stay as they are: they
/// work the same from outside.
#[must_use]
pub fn in_lab_network(app: &App, command: impl Into<String>) -> Para {
    let command = command.into();
    match app.snapshot.capture.network {
        Network::Private => Para::Command(format!("{EXEC_PREFIX}{command}")),
        // The selected item's host (the lab itself runs on a).
        Network::Wire => {
            let host = app
                .selected_item()
                .and_then(|item| item.name().and_then(|name| app.snapshot.socket(name)))
                .and_then(|socket| socket.host)
                .unwrap_or(crate::model::WireHost::A);
            Para::Command(format!(
                "sockscope exec --host {} -- {command}",
                host.name()
            ))
        }
        Network::Host => Para::Command(command),
    }
}
