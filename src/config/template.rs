//! `sockscope config --template`: a config file with every option, each commented out at its
//! default, so a user uncomments what they want to change.

use std::fmt::Write as _;

use super::keys::BindableScreen;
use crate::ui::theme::ITEMS;

/// The template (English comments: the file's language is TOML's).
#[must_use]
pub fn template() -> String {
    let mut out = String::from(
        "# sockscope's config file: $XDG_CONFIG_HOME/sockscope/config.toml (~/.config/...),
# or any file given with --config FILE. Flags on the command line win over this file.
# Every option is shown at its default, commented out. Unknown keys are an error.

# Language of every label and explanation: \"en\" or \"ko\" (default: from the locale).
# lang = \"en\"

# Colour theme: \"default\", \"light\" or \"high-contrast\" (for projectors).
# theme = \"default\"

# The lab's kernel probes per second, 1 to 60.
# refresh = 10

# Capture the mouse (false keeps the terminal's own text selection, like --no-mouse).
# mouse = true

# The lab's network: \"host\" (the machine's loopback), \"private\" (a namespace of its own) or
# \"wire\" (two hosts, a and b, joined by sockscope).
# net = \"host\"

# The address `server` binds when none is given.
# bind = \"127.0.0.1:0\"

# Colours per theme item: [colors.THEME] ITEM = { fg = \"COLOUR\", bg = \"COLOUR\" }, where
# COLOUR is a name (red, lightblue, darkgray, ...), an index (0-255) or #rrggbb.
",
    );
    let _ = writeln!(out, "# Items: {}.", ITEMS.join(", "));
    out.push_str(
        "# [colors.high-contrast]
# accent = { fg = \"#ffff00\" }
# selection = { fg = \"black\", bg = \"yellow\" }

# Key bindings: ACTION = \"KEY\" makes KEY act as the action's default key (which keeps working
# unless another action takes it). KEY: y, Y, ctrl-x, alt-Left, Space, Tab, BackTab, Enter, Esc,
# Up, Down, Left, Right, Home, End, PageUp, PageDown, F1-F12. `sockscope config --keys` lists the
# actions and what they do. The : prompt and watch's / filter always type text.
",
    );
    for screen in BindableScreen::ALL {
        let _ = writeln!(out, "\n[keys.{}]", screen.name());
        for (action, chord) in screen.actions() {
            let _ = writeln!(out, "# {action} = \"{}\"", chord.name());
        }
    }
    out
}
