//! The config file (`$XDG_CONFIG_HOME/sockscope/config.toml`, or `--config FILE`): defaults for
//! the command line's flags, colour overrides per theme item, and key bindings.
//!
//! Flags given on the command line always win over the file; the file wins over the built-in
//! defaults. A file that is not there is no error (the defaults apply); a file that is there
//! must be right, every key known and every value valid, or nothing runs.

mod apply;
mod error;
pub mod keys;
mod load;
mod location;
pub mod remap;
mod schema;
mod template;

pub use apply::apply_to;
pub use error::ConfigError;
pub use keys::{KeyBindings, actions_listing};
pub use load::{Config, load, parse};
pub use location::default_path;
pub use template::template;
