//! Where each panel goes, for drawing and for mapping mouse clicks. Both use the same pure
//! functions of (app, screen size), so a click lands on the row that is drawn there.

use ratatui::layout::Rect;

use super::{connections, fds, ladder, listeners, ports, trace};
use crate::app::{App, LadderPlace, LayoutMode, Panel};

/// Below this size only the "terminal too small" message is drawn.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 18;

/// From this width on the ladder has a column of its own beside the other panels; below it, it
/// takes the place of other panels while it has the focus (or is pinned with `d`).
pub const LADDER_COLUMN_WIDTH: u16 = 150;

/// The screen regions of one frame. A panel that is not shown in this layout is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub fds: Option<Rect>,
    pub listeners: Option<Rect>,
    pub connections: Option<Rect>,
    pub ladder: Option<Rect>,
    pub ports: Option<Rect>,
    /// `--net wire` with a NAT rule: the router's table, in the port map's place.
    pub nat: Option<Rect>,
    pub trace: Option<Rect>,
    pub explain: Option<Rect>,
    pub narration: Option<Rect>,
    pub status: Rect,
}

impl Areas {
    /// Where `panel` is drawn, if it is shown.
    #[must_use]
    pub fn panel(&self, panel: Panel) -> Option<Rect> {
        match panel {
            Panel::Fds => self.fds,
            Panel::Listeners => self.listeners,
            Panel::Connections => self.connections,
            Panel::Ladder => self.ladder,
            Panel::Ports => self.ports,
            Panel::Trace => self.trace,
        }
    }
}

/// Whether `area` is too small for the dashboard.
#[must_use]
pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The regions for `app` on a screen of `area`, or `None` when the screen is too small.
#[must_use]
pub fn areas(app: &App, area: Rect) -> Option<Areas> {
    if too_small(area) {
        return None;
    }
    let status = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    let body = Rect::new(area.x, area.y, area.width, area.height - 1);
    Some(match app.layout {
        LayoutMode::Full => full(app, body, status),
        LayoutMode::Presenter => presenter(app, body, status),
    })
}

/// Splits `area` into rows of the given heights, top to bottom.
fn rows<const N: usize>(area: Rect, heights: [u16; N]) -> [Rect; N] {
    let mut y = area.y;
    heights.map(|height| {
        let height = height.min(area.bottom().saturating_sub(y));
        let rect = Rect::new(area.x, y, area.width, height);
        y += height;
        rect
    })
}

/// Splits `area` into a left part `left` columns wide and the rest.
fn columns(area: Rect, left: u16) -> (Rect, Rect) {
    let left = left.min(area.width);
    (
        Rect::new(area.x, area.y, left, area.height),
        Rect::new(area.x + left, area.y, area.width - left, area.height),
    )
}

/// On a wide screen, the body without the ladder's column, and the column.
fn ladder_column(body: Rect) -> Option<(Rect, Rect)> {
    if body.width < LADDER_COLUMN_WIDTH {
        return None;
    }
    let width = (body.width * 2 / 5).clamp(64, 100);
    let (rest, column) = columns(body, body.width - width);
    Some((rest, column))
}

/// Whether the ladder replaces other panels on a screen too narrow for its own column.
fn ladder_instead(app: &App) -> bool {
    app.focus == Panel::Ladder || app.ladder_place == LadderPlace::Pinned
}

/// Whether the NAT panel is shown: on the wire, once a rule is set (or its table still has
/// entries).
#[must_use]
pub fn shows_nat(app: &App) -> bool {
    app.snapshot
        .nat
        .as_ref()
        .is_some_and(|nat| !nat.rules.is_empty() || !nat.entries.is_empty())
}

fn full(app: &App, body: Rect, status: Rect) -> Areas {
    if let Some((rest, column)) = ladder_column(body) {
        return Areas {
            ladder: Some(column),
            ..full_panels(app, rest, status, false)
        };
    }
    full_panels(app, body, status, ladder_instead(app))
}

/// The full layout in `body`; with `ladder`, the ladder takes the rows of the descriptor table,
/// the listeners and the port map, above the connections it belongs to.
fn full_panels(app: &App, body: Rect, status: Rect, ladder: bool) -> Areas {
    let lecture = app.lecture.is_some();
    // The narration gets a row of its own when there is height to spare; otherwise it takes the
    // explanation's place.
    let narration_row = lecture && body.height >= 30;
    let narration_height = match (narration_row, body.height >= 39) {
        (false, _) => 0,
        (true, false) => 6,
        (true, true) => 8,
    };
    let rest = body.height - narration_height;
    let ports_height = if rest >= 30 { 6 } else { 4 };
    let avail = rest - ports_height;
    // 19 rows (80x24) split 7/6/6; extra height goes mostly to connections and the bottom row.
    let (top, middle) = if avail >= 19 {
        let extra = avail - 19;
        (7 + extra * 15 / 100, 6 + extra * 40 / 100)
    } else {
        // Down to 13 rows at the minimum size: 5/4/4.
        let short = 19 - avail;
        (7 - short.div_ceil(3), 6 - (short * 2 / 3).min(2))
    };
    let bottom = avail - top - middle;
    let (narration, top_row, connections, ports, bottom_row, ladder_rows) = if ladder {
        let [narration, ladder_rows, connections, bottom_row] =
            rows(body, [narration_height, top + ports_height, middle, bottom]);
        (
            narration,
            None,
            connections,
            None,
            bottom_row,
            Some(ladder_rows),
        )
    } else {
        let [narration, top_row, connections, ports, bottom_row] =
            rows(body, [narration_height, top, middle, ports_height, bottom]);
        (
            narration,
            Some(top_row),
            connections,
            Some(ports),
            bottom_row,
            None,
        )
    };
    let fds_width = (body.width * 2 / 5).clamp(28, 60);
    let (fds, listeners) = top_row.map(|top_row| columns(top_row, fds_width)).unzip();
    let trace_width = if body.width >= 120 {
        body.width * 9 / 20
    } else {
        body.width / 2
    };
    let (trace, explain) = if ladder && app.focus == Panel::Ladder && !lecture {
        // Reading segments: the explanation of the selected one gets the whole row.
        (None, bottom_row)
    } else {
        let (trace, explain) = columns(bottom_row, trace_width);
        (Some(trace), explain)
    };
    let (explain, narration) = if narration_row {
        (Some(explain), Some(narration))
    } else if lecture {
        (None, Some(explain))
    } else {
        (Some(explain), None)
    };
    // The router's table says more than the port map on a wire with a rule: the hosts' ports are
    // few, and which of them the NAT forwards to is the point.
    let (ports, nat) = if shows_nat(app) {
        (None, ports)
    } else {
        (ports, None)
    };
    Areas {
        fds,
        listeners,
        connections: Some(connections),
        ladder: ladder_rows,
        ports,
        nat,
        trace,
        explain,
        narration,
        status,
    }
}

/// Fewer panels and a large narration (or, outside a lecture, a large explanation).
/// On a wide screen the ladder is a column beside the listeners and connections; below that it
/// takes the listeners' place while focused or pinned.
fn presenter(app: &App, body: Rect, status: Rect) -> Areas {
    let pane_height = (body.height * 2 / 5).max(7);
    let [top, pane] = rows(body, [body.height - pane_height, pane_height]);
    let (top, column) = match ladder_column(top) {
        Some((rest, column)) => (rest, Some(column)),
        None => (top, None),
    };
    let (listeners, connections) = if top.width >= 120 {
        columns(top, top.width * 2 / 5)
    } else {
        let [listeners, connections] = rows(top, [top.height * 7 / 15, top.height]);
        (listeners, connections)
    };
    let (listeners, ladder) = match column {
        Some(column) => (Some(listeners), Some(column)),
        None if ladder_instead(app) => (None, Some(listeners)),
        None => (Some(listeners), None),
    };
    let (explain, narration) = if app.lecture.is_some() {
        (None, Some(pane))
    } else {
        (Some(pane), None)
    };
    Areas {
        listeners,
        connections: Some(connections),
        ladder,
        explain,
        narration,
        status,
        ..Areas::default()
    }
}

/// The panel under a screen position, and the item row index there (if the position is on a
/// row), for a screen of `area`.
#[must_use]
pub fn hit(app: &App, area: Rect, column: u16, row: u16) -> Option<(Panel, Option<usize>)> {
    let areas = areas(app, area)?;
    let position = ratatui::layout::Position::new(column, row);
    Panel::ALL.into_iter().find_map(|panel| {
        let rect = areas.panel(panel)?;
        if !rect.contains(position) {
            return None;
        }
        let index = match panel {
            Panel::Fds => fds::hit(app, rect, row),
            Panel::Listeners => listeners::hit(app, rect, row),
            Panel::Connections => connections::hit(app, rect, row),
            Panel::Ladder => ladder::hit(app, rect, row),
            Panel::Ports => ports::hit(&ports::PortMap::of_lab(app), rect, column, row),
            Panel::Trace => trace::hit(app, rect, row),
        };
        Some((panel, index))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ThemeName;
    use crate::text::Lang;

    fn total(areas: &Areas) -> u16 {
        [
            areas.fds,
            areas.connections,
            areas.ports,
            areas.trace,
            areas.narration.filter(|n| n.width == areas.status.width),
        ]
        .iter()
        .flatten()
        .map(|rect| rect.height)
        .sum::<u16>()
            + areas.status.height
    }

    #[test]
    fn full_layout_fills_the_screen_at_every_height() {
        let app = App::new(Lang::En, ThemeName::Default);
        for height in MIN_HEIGHT..120 {
            let area = Rect::new(0, 0, 80, height);
            let areas = areas(&app, area).unwrap();
            assert_eq!(total(&areas), height, "height {height}");
            for rect in [areas.fds, areas.listeners, areas.trace, areas.explain]
                .iter()
                .flatten()
            {
                assert!(rect.height >= 4, "height {height}: {rect:?}");
            }
        }
    }
}
