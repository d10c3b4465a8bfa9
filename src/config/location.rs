//! Where the config file is: `$XDG_CONFIG_HOME/sockscope/config.toml` (`~/.config/...`), found
//! with the `dirs` crate (the XDG base directory rules on Linux, well kept and small). Run with
//! sudo, sockscope reads the invoking user's file rather than root's: a lecturer who starts it
//! with `sudo` (to capture segments) keeps their own keys and colours.

use std::path::PathBuf;

/// The file sockscope reads when no `--config` is given.
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    let dir = sudo_user_config_dir().or_else(dirs::config_dir)?;
    Some(dir.join("sockscope").join("config.toml"))
}

/// Under `sudo`, the invoking user's config directory: `$XDG_CONFIG_HOME` if sudo kept it,
/// else `~USER/.config` with the home directory from the user database (sudo sets `HOME` to
/// root's).
fn sudo_user_config_dir() -> Option<PathBuf> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let user = std::env::var("SUDO_USER")
        .ok()
        .filter(|user| !user.is_empty() && user != "root")?;
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
    {
        return Some(dir);
    }
    let entry = nix::unistd::User::from_name(&user).ok()??;
    Some(entry.dir.join(".config"))
}
