//! What `--port`, `--pid` and `--state` select.

use crate::kernel::sock_diag::{ALL_STATES, state_bit};
use crate::model::TcpState;

use super::SystemSocket;

/// Which sockets a collection keeps. Every field that is set must match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// The local or the remote port.
    pub port: Option<u16>,
    /// The owning process. Owners of this process are looked up even with `owners` off, and only
    /// its descriptor table is read.
    pub pid: Option<u32>,
    /// The state (the kernel is asked only for sockets in it).
    pub state: Option<TcpState>,
}

impl Filter {
    /// Whether nothing is filtered out.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The `sock_diag` state bits to ask for.
    #[must_use]
    pub fn state_bits(&self) -> u32 {
        self.state.map_or(ALL_STATES, state_bit)
    }

    /// The part of the filter that needs no owner: port and state.
    #[must_use]
    pub fn matches_socket(&self, socket: &SystemSocket) -> bool {
        self.port.is_none_or(|port| {
            socket.local.port() == port || socket.remote.is_some_and(|r| r.port() == port)
        }) && self
            .state
            .is_none_or(|state| same_state(state, socket.state))
    }
}

/// `SYN_RECV` also covers the kernel's `NEW_SYN_RECV` request sockets.
fn same_state(wanted: TcpState, state: TcpState) -> bool {
    wanted == state || (wanted.name() == state.name() && wanted != TcpState::Unknown(0))
}

/// Parses a state as DESIGN.md names it (`ESTABLISHED`, `TIME_WAIT`, `UNCONN`), case-insensitively,
/// also in `ss`'s spelling (`estab`, `time-wait`, `fin-wait-1`, `syn-recv`).
#[must_use]
pub fn parse_state(text: &str) -> Option<TcpState> {
    let wanted = text.trim().to_ascii_uppercase().replace('-', "_");
    let wanted = match wanted.as_str() {
        "ESTAB" => "ESTABLISHED",
        "FIN_WAIT_1" => "FIN_WAIT1",
        "FIN_WAIT_2" => "FIN_WAIT2",
        "UNCONNECTED" => "UNCONN",
        "CLOSED" => "CLOSE",
        other => other,
    };
    TcpState::from_name(wanted).filter(|state| !matches!(state, TcpState::Unknown(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    fn socket(local: &str, remote: Option<&str>, state: TcpState) -> SystemSocket {
        SystemSocket {
            proto: Proto::Tcp,
            state,
            local: local.parse().unwrap(),
            remote: remote.map(|r| r.parse().unwrap()),
            recv_q: 0,
            send_q: 0,
            inode: 1,
            uid: 0,
            timer_ms: None,
            pid: None,
            fd: None,
            process: None,
        }
    }

    #[test]
    fn states_parse_in_kernel_and_ss_spellings() {
        assert_eq!(parse_state("estab"), Some(TcpState::Established));
        assert_eq!(parse_state("TIME-WAIT"), Some(TcpState::TimeWait));
        assert_eq!(parse_state("fin-wait-1"), Some(TcpState::FinWait1));
        assert_eq!(parse_state("FIN_WAIT2"), Some(TcpState::FinWait2));
        assert_eq!(parse_state("syn-recv"), Some(TcpState::SynRecv));
        assert_eq!(parse_state("unconn"), Some(TcpState::Unconnected));
        assert_eq!(parse_state("listen"), Some(TcpState::Listen));
        assert_eq!(parse_state("unknown"), None);
        assert_eq!(parse_state("listening"), None);
    }

    #[test]
    fn port_matches_either_end_and_state_matches_new_syn_recv() {
        let filter = Filter {
            port: Some(80),
            ..Filter::default()
        };
        assert!(filter.matches_socket(&socket("10.0.0.1:80", None, TcpState::Listen)));
        assert!(filter.matches_socket(&socket(
            "10.0.0.1:4000",
            Some("10.0.0.2:80"),
            TcpState::Established
        )));
        assert!(!filter.matches_socket(&socket("10.0.0.1:8080", None, TcpState::Listen)));

        let syn = Filter {
            state: Some(TcpState::SynRecv),
            ..Filter::default()
        };
        assert!(syn.matches_socket(&socket("1.1.1.1:1", None, TcpState::NewSynRecv)));
        assert!(!syn.matches_socket(&socket("1.1.1.1:1", None, TcpState::Listen)));
        assert_eq!(syn.state_bits(), state_bit(TcpState::SynRecv));
        assert!(Filter::default().is_empty());
        assert_eq!(Filter::default().state_bits(), ALL_STATES);
    }
}
