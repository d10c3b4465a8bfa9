//! Snapshot -> JSON, a plain-text listing, or the rendered dashboard as text or SVG.

mod listing;
mod screen;
mod screen_text;
mod svg;

pub use listing::listing;
pub use screen::{render_screen, svg_options};
pub use screen_text::buffer_to_text;
pub use svg::{FONT_FAMILY, Rgb, SvgOptions, buffer_to_svg, buffers_to_animated_svg, color_rgb};

use crate::model::Snapshot;

/// The Snapshot JSON of DESIGN.md (pretty-printed, newline-terminated).
#[must_use]
pub fn json(snapshot: &Snapshot) -> String {
    let mut out = serde_json::to_string_pretty(snapshot).expect("snapshot serializes");
    out.push('\n');
    // File paths and names in the snapshot are the user's text: no C1 control reaches a terminal.
    crate::escape::json_controls(out)
}
