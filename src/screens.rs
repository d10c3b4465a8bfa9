//! The interactive screens, each a [`crate::runtime::Screen`]: the lab's dashboard (with lecture
//! mode), `trace` and `watch`. They join state (`app`, `watch`), drawing (`ui`) and sources (`lab`, the
//! collection worker); `main` starts one on the runtime.

mod jobs;
pub mod lab;
mod queue;
pub mod trace;
pub mod trace_snapshot;
pub mod watch;

pub use self::lab::LabScreen;
pub use self::trace::TraceScreen;
pub use self::watch::WatchScreen;
