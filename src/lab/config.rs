//! How a lab is set up, what a command asks of its driver, and the tokens of its sources.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use mio::Token;

use super::trace::DEFAULT_TRACE_LIMIT;
use crate::runtime::reactor::FIRST_SOURCE_TOKEN;
use crate::text::Lang;

/// The token of the segment capture's packet socket (readable: segments to read): the first of
/// the runtime's source tokens; the lab's sockets take the rest.
pub const CAPTURE_TOKEN: Token = Token(FIRST_SOURCE_TOKEN);
/// The tokens of the wire's two TUN devices (`--net wire`): hosts `a` and `b`.
pub const WIRE_TOKENS: [Token; 2] = [Token(FIRST_SOURCE_TOKEN + 1), Token(FIRST_SOURCE_TOKEN + 2)];
/// The first token of a lab socket.
pub const FIRST_SOCKET_TOKEN: usize = FIRST_SOURCE_TOKEN + 3;

/// How the lab is set up.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// The address `server` binds when none is given (port 0 = the kernel picks).
    pub default_bind: SocketAddr,
    pub trace_limit: usize,
    pub lang: Lang,
    /// The user allowed actions that make a socket reachable from other machines (wildcard or
    /// non-loopback addresses, autobind, targets off loopback): `--allow-external`.
    pub allow_external: bool,
}

impl LabConfig {
    /// Whether the lab may do what [`super::exposure`] classifies as reaching beyond loopback. Only the
    /// user's flag today; a private network of sockscope's own (where nothing is reachable from
    /// another machine) will allow it too.
    #[must_use]
    pub fn may_reach_beyond_loopback(&self) -> bool {
        // On the wire nothing leads out of 198.18.0.0/15: the hosts' addresses are fair game.
        self.allow_external || crate::net::network() == crate::model::Network::Wire
    }
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            default_bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            trace_limit: DEFAULT_TRACE_LIMIT,
            lang: Lang::En,
            allow_external: false,
        }
    }
}

/// What the driver must do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Done,
    /// Let the event loop run for this long before the next command.
    Wait(Duration),
}
