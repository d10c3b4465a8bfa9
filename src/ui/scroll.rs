//! Which rows of a list are shown: the scroll offset that keeps the selection visible, and the
//! item under a screen row. Shared by the panels and the layout's hit testing.

use ratatui::layout::Rect;

/// The first row shown of a list whose row `selected` must be visible in `visible` rows. Render
/// and [`super::layout::hit`] both use it, so what is clicked is what is drawn. It keeps no state: the view
/// scrolls just enough to keep the selection on screen, at the bottom when scrolling down.
#[must_use]
pub fn scroll_offset(selected: usize, visible: usize) -> usize {
    if visible == 0 {
        return selected;
    }
    (selected + 1).saturating_sub(visible)
}

/// The item row of a list drawn in `list` (one item per row) under screen row `row`.
#[must_use]
pub fn list_row(list: Rect, row: u16, selected: usize, total: usize) -> Option<usize> {
    if row < list.y || row >= list.bottom() {
        return None;
    }
    let index = scroll_offset(selected, usize::from(list.height)) + usize::from(row - list.y);
    (index < total).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        assert_eq!(scroll_offset(0, 5), 0);
        assert_eq!(scroll_offset(4, 5), 0);
        assert_eq!(scroll_offset(5, 5), 1);
        assert_eq!(scroll_offset(99, 5), 95);
        assert_eq!(list_row(Rect::new(0, 3, 10, 5), 3, 9, 10), Some(5));
        assert_eq!(list_row(Rect::new(0, 3, 10, 5), 8, 9, 10), None);
    }
}
