//! Where each panel goes, for drawing and for mapping mouse clicks.

use ratatui::layout::Rect;

use crate::app::{App, Panel};

/// The panel under a screen position, and the list row there (if the position is on a row).
#[must_use]
pub fn hit(_app: &App, _area: Rect, _column: u16, _row: u16) -> Option<(Panel, Option<usize>)> {
    None
}
