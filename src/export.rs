//! Snapshot -> JSON or a plain-text listing.

mod listing;

pub use listing::listing;

use crate::model::Snapshot;

/// The Snapshot JSON of DESIGN.md (pretty-printed, newline-terminated).
#[must_use]
pub fn json(snapshot: &Snapshot) -> String {
    let mut out = serde_json::to_string_pretty(snapshot).expect("snapshot serializes");
    out.push('\n');
    out
}
