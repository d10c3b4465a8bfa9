//! sockscope: real sockets on one `mio` loop, and what the kernel says about them.

pub mod command;
pub mod kernel;
pub mod model;
pub mod scenario;
pub mod system;
pub mod text;
pub mod watch;
