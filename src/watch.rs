//! `sockscope watch`'s state: every socket of the machine as the collection worker last saw it,
//! sorted and filtered for the table ([`WatchApp`]), the keymap that turns keys into its
//! [`Action`]s, and the worker. The screen that joins them to the runtime is
//! [`crate::screens::watch`].

pub mod app;
pub mod keymap;
pub mod worker;

pub use self::app::{Action, Column, Effect, Mode, WatchApp};
pub use self::worker::{Collected, Worker};
