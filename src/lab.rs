//! The socket lab: real sockets on one `mio::Poll`, driven by commands of the lab language.
//!
//! The lab never assumes what the kernel did: every verb makes the real syscall, records it in
//! the trace, and the snapshot asks the kernel what came of it.

mod config;
mod engine;
mod entry;
pub mod errno;
mod error;
mod events;
pub mod exposure;
mod fd_rows;
mod forwarding;
mod headless;
mod ipc;
mod ipc_dir;
mod ipc_handle;
mod probe;
mod relay;
mod snapshot;
mod table;
pub mod trace;
mod transfer;
mod verbs;
mod web_session;
mod websocket;
mod ws_wire;

pub use self::config::{CAPTURE_TOKEN, FIRST_SOCKET_TOKEN, LabConfig, Step};
pub use self::engine::Lab;
pub use self::error::LabError;
pub use self::headless::HeadlessLab;
pub use self::relay::RELAYS_PER_FORWARDER;
