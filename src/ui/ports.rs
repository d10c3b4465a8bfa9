//! The port number space 0-65535 on the panel's width: IANA's three bands, the kernel's
//! ephemeral range under them (not the same thing), the privileged boundary, and a marker for
//! every port the lab's sockets occupy.
//!
//! The axis is broken: to scale, the well-known band (0-1023, 1.6% of the space) would get one
//! column of 60 and no label, yet it is the band a lesson on ports starts with. So 0-1023 gets a
//! readable segment of its own on the left, then a `/` break, then 1024-65535 to scale; the
//! legend says the first segment is not to scale.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::draw;
use super::theme::Theme;
use crate::app::{App, Panel};
use crate::escape::visible;
use crate::model::{PortBand, Ports};
use crate::settings::ThemeName;
use crate::text::{self, Lang};

/// What the port map draws: the ports (bands, ranges, ports in use) and how it is looked at.
/// The lab's dashboard and `watch` both fill one.
#[derive(Debug, Clone, Copy)]
pub struct PortMap<'a> {
    pub ports: &'a Ports,
    pub lang: Lang,
    pub theme: ThemeName,
    /// The panel has the focus: its border is highlighted and `selected` is shown.
    pub focused: bool,
    /// The selected row (bands first, then ports in use).
    pub selected: usize,
}

impl<'a> PortMap<'a> {
    /// The lab's port map, as the dashboard shows it.
    #[must_use]
    pub fn of_lab(app: &'a App) -> Self {
        Self {
            ports: &app.snapshot.ports,
            lang: app.lang,
            theme: app.theme,
            focused: app.focus == Panel::Ports,
            selected: app.selected_index(Panel::Ports),
        }
    }

    fn t(&self, key: &str) -> &'static str {
        text::get(self.lang, key)
    }
}

/// The graphic rows, in the order they appear on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Bands,
    Ephemeral,
    Markers,
    Axis,
    Legend,
}

/// Which rows a panel of `height` inner rows shows (the most telling first), in screen order.
fn rows_for(height: u16) -> Vec<Row> {
    let wanted: &[Row] = match height {
        0 => &[],
        1 => &[Row::Bands],
        2 => &[Row::Bands, Row::Markers],
        3 => &[Row::Bands, Row::Ephemeral, Row::Markers],
        4 => &[Row::Bands, Row::Ephemeral, Row::Markers, Row::Axis],
        _ => &[
            Row::Bands,
            Row::Ephemeral,
            Row::Markers,
            Row::Axis,
            Row::Legend,
        ],
    };
    wanted.to_vec()
}

/// The first port of the part of the axis drawn to scale (IANA's registered band starts there).
const SCALED_FROM: u32 = 1024;
/// The ports in the part drawn to scale: 1024-65535.
const SCALED_PORTS: u32 = 65_536 - SCALED_FROM;
/// The column the break is drawn in.
const BREAK: &str = "/";

/// How a line of `width` columns stands for the ports: `well_known` columns for 0-1023 (not to
/// scale), one column for the break, the rest for 1024-65535 (to scale). On a line too narrow
/// for a break, everything is to scale (`well_known == 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scale {
    width: u16,
    well_known: u16,
}

impl Scale {
    /// The widest well-known segment that leaves at least three quarters of the line to scale:
    /// the band's full label if it fits, else its name, else a letter.
    fn new(map: &PortMap<'_>, width: u16) -> Self {
        if width < 8 {
            return Self {
                width,
                well_known: 0,
            };
        }
        let (full, short) = band_label(map, PortBand::WellKnown);
        let room = usize::from(width / 4);
        let wanted = [draw::width(&full), draw::width(short)]
            .into_iter()
            .find(|&wanted| wanted <= room)
            .unwrap_or(1)
            .max(2);
        Self {
            width,
            well_known: wanted as u16,
        }
    }

    fn is_broken(self) -> bool {
        self.well_known > 0
    }

    /// The column of the break, if the axis has one.
    fn break_column(self) -> Option<u16> {
        self.is_broken().then_some(self.well_known)
    }

    /// Columns of the part to scale, and where it starts.
    fn scaled(self) -> (u16, u16) {
        if self.is_broken() {
            (self.well_known + 1, self.width - self.well_known - 1)
        } else {
            (0, self.width)
        }
    }

    /// The column of `port`.
    fn column_of(self, port: u16) -> u16 {
        let port = u32::from(port);
        if self.is_broken() && port < SCALED_FROM {
            return (port * u32::from(self.well_known) / SCALED_FROM) as u16;
        }
        let (start, columns) = self.scaled();
        let (from, span) = if self.is_broken() {
            (SCALED_FROM, SCALED_PORTS)
        } else {
            (0, 65_536)
        };
        start + ((port - from) * u32::from(columns) / span) as u16
    }

    /// The first port a column stands for (`None` for the break).
    fn port_at(self, column: u16) -> Option<u16> {
        let column = u32::from(column);
        if self.is_broken() && column < u32::from(self.well_known) {
            return Some((column * SCALED_FROM / u32::from(self.well_known)) as u16);
        }
        if self.break_column().map(u32::from) == Some(column) {
            return None;
        }
        let (start, columns) = self.scaled();
        let (from, span) = if self.is_broken() {
            (SCALED_FROM, SCALED_PORTS)
        } else {
            (0, 65_536)
        };
        let offset = column - u32::from(start);
        Some((from + offset * span / u32::from(columns.max(1))).min(65_535) as u16)
    }

    /// The IANA band (well-known, registered, dynamic) a column stands for.
    fn iana_band(self, column: u16) -> Option<PortBand> {
        let port = self.port_at(column)?;
        [PortBand::WellKnown, PortBand::Registered, PortBand::Dynamic]
            .into_iter()
            .find(|band| {
                let (lo, hi) = band.range([0, 0]);
                (lo..=hi).contains(&port)
            })
    }

    /// The columns `[first, last]` of an IANA band.
    fn band_columns(self, band: PortBand) -> Option<(u16, u16)> {
        let columns: Vec<u16> = (0..self.width)
            .filter(|column| self.iana_band(*column) == Some(band))
            .collect();
        Some((*columns.first()?, *columns.last()?))
    }

    /// The columns `[first, last]` of the kernel's ephemeral range.
    fn ephemeral_columns(self, [lo, hi]: [u16; 2]) -> (u16, u16) {
        let first = self.column_of(lo);
        (first, self.column_of(hi).max(first))
    }
}

fn band_label(map: &PortMap<'_>, band: PortBand) -> (String, &'static str) {
    let (lo, hi) = band.range(map.ports.ephemeral);
    let name = map.t(&format!("band.{}", band.key()));
    (format!("{name} {lo}-{hi}"), name)
}

/// One marker per port in use: `(index in ports.in_use, column)`, sorted by column.
fn markers(map: &PortMap<'_>, scale: Scale) -> Vec<(usize, u16)> {
    let mut out: Vec<(usize, u16)> = map
        .ports
        .in_use
        .iter()
        .enumerate()
        .map(|(index, used)| (index, scale.column_of(used.port)))
        .collect();
    out.sort_unstable_by_key(|(index, column)| (*column, *index));
    out
}

/// The labels that fit, one per marker column: `(index, label, label_start)`. A label goes right
/// of its marker, else left of it; ports sharing a column are counted (`c1:40001 +5`).
fn placed_labels(map: &PortMap<'_>, scale: Scale) -> Vec<(usize, String, u16)> {
    let width = scale.width;
    let markers = markers(map, scale);
    let mut occupied = vec![false; usize::from(width)];
    for (_, column) in &markers {
        occupied[usize::from(*column)] = true;
    }
    let mut next_free = 0;
    let mut out = Vec::new();
    let mut at = 0;
    while at < markers.len() {
        let (index, column) = markers[at];
        let sharing = markers[at..]
            .iter()
            .take_while(|(_, other)| *other == column)
            .count();
        at += sharing;
        let used = &map.ports.in_use[index];
        let mut label = format!("{}:{}", visible(&used.name), used.port);
        if sharing > 1 {
            label = format!("{label} +{}", sharing - 1);
        }
        let label_width = draw::width(&label) as u16;
        let fits = |start: u16| {
            let end = start + label_width;
            start >= next_free
                && end <= width
                && !occupied[usize::from(start)..usize::from(end)]
                    .iter()
                    .any(|taken| *taken)
        };
        let right = column + 1;
        let left = column.checked_sub(label_width);
        let start = if fits(right) {
            Some(right)
        } else {
            left.filter(|left| fits(*left))
        };
        if let Some(start) = start {
            next_free = (start + label_width + 1).max(column + 2);
            out.push((index, label, start));
        }
    }
    out
}

/// Draws the port map into `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    render_map(frame, area, &PortMap::of_lab(app));
}

/// Draws `map` into `area`.
pub fn render_map(frame: &mut Frame, area: Rect, map: &PortMap<'_>) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(map.theme);
    let rows = rows_for(draw::inner(area).height);
    let mut title = map.t(Panel::Ports.title_key()).to_owned();
    if !rows.contains(&Row::Ephemeral) {
        // No row for the ephemeral range: name it in the title, colour it under the markers.
        let (label, _) = band_label(map, PortBand::Ephemeral);
        title = format!("{title} ({label})");
    }
    let inner = draw::panel_block(frame, area, &theme, &title, map.focused);
    if inner.is_empty() {
        return;
    }
    let selected = map.focused.then_some(map.selected);
    let scale = Scale::new(map, inner.width);
    let buf = frame.buffer_mut();
    let separate_ephemeral = rows.contains(&Row::Ephemeral);
    for (offset, row) in rows.into_iter().enumerate() {
        let line = Rect::new(inner.x, inner.y + offset as u16, inner.width, 1);
        match row {
            Row::Bands => bands(buf, line, map, scale, &theme, selected),
            Row::Ephemeral => ephemeral(buf, line, map, scale, &theme, selected),
            Row::Markers => {
                if !separate_ephemeral {
                    let (first, last) = scale.ephemeral_columns(map.ports.ephemeral);
                    let region = Rect::new(line.x + first, line.y, last - first + 1, 1);
                    buf.set_style(region, theme.band_ephemeral);
                }
                ports_in_use(buf, line, map, scale, &theme, selected);
            }
            Row::Axis => axis(buf, line, map, scale, &theme),
            Row::Legend => {
                let key = if scale.is_broken() {
                    "ports.legend_broken"
                } else {
                    "ports.legend"
                };
                let legend = text::format(
                    map.lang,
                    key,
                    &[("port", &map.ports.unprivileged_start.to_string())],
                );
                draw::put_str(buf, line, line.x, line.y, &legend, theme.muted);
            }
        }
    }
}

fn bands(
    buf: &mut Buffer,
    line: Rect,
    map: &PortMap<'_>,
    scale: Scale,
    theme: &Theme,
    selected: Option<usize>,
) {
    let width = line.width;
    // The privileged boundary: binding below it needs CAP_NET_BIND_SERVICE. Its `|` gets a column
    // of its own, which no label covers (at 1024, the column right after the break).
    let boundary = map.ports.unprivileged_start;
    let boundary =
        (boundary > 0 && width >= 2).then(|| scale.column_of(boundary).clamp(1, width - 1));
    for (index, band) in [PortBand::WellKnown, PortBand::Registered, PortBand::Dynamic]
        .into_iter()
        .enumerate()
    {
        let Some((first, last)) = scale.band_columns(band) else {
            continue;
        };
        let style = if selected == Some(index) {
            theme.selection
        } else {
            theme.band(band)
        };
        let region = Rect::new(line.x + first, line.y, last - first + 1, 1);
        buf.set_style(region, style);
        let (from, to) = match boundary {
            Some(column) if column == first => (first + 1, last),
            Some(column) if column > first && column <= last => (first, column - 1),
            _ => (first, last),
        };
        if from > to {
            continue;
        }
        let span = to - from + 1;
        let (full, short) = band_label(map, band);
        let code = short.chars().next().filter(char::is_ascii).map_or_else(
            || band.key()[..1].to_ascii_uppercase(),
            |ch| ch.to_ascii_uppercase().to_string(),
        );
        let label = [full, short.to_owned(), code]
            .into_iter()
            .find(|label| draw::width(label) <= usize::from(span))
            .unwrap_or_default();
        let filled = draw::fit(&label, usize::from(span));
        draw::put_str(buf, region, line.x + from, line.y, &filled, style);
    }
    if let Some(column) = boundary {
        draw::put_str(buf, line, line.x + column, line.y, "|", theme.warning);
    }
    if let Some(column) = scale.break_column() {
        draw::put_str(buf, line, line.x + column, line.y, BREAK, theme.muted);
    }
}

fn ephemeral(
    buf: &mut Buffer,
    line: Rect,
    map: &PortMap<'_>,
    scale: Scale,
    theme: &Theme,
    selected: Option<usize>,
) {
    let (first, last) = scale.ephemeral_columns(map.ports.ephemeral);
    let span = last - first + 1;
    let style = if selected == Some(3) {
        theme.selection
    } else {
        theme.band_ephemeral
    };
    let region = Rect::new(line.x + first, line.y, span, 1);
    let (full, short) = band_label(map, PortBand::Ephemeral);
    let inside = usize::from(span.saturating_sub(2));
    let label = [full, short.to_owned()]
        .into_iter()
        .find(|label| draw::width(label) + 2 <= inside)
        .map_or_else(String::new, |label| format!(" {label} "));
    let mut bar = String::from("[");
    bar.push_str(&label);
    let pad = inside.saturating_sub(draw::width(&label));
    bar.push_str(&"=".repeat(pad));
    if span >= 2 {
        bar.push(']');
    }
    draw::put_str(buf, region, region.x, region.y, &bar, style);
}

fn ports_in_use(
    buf: &mut Buffer,
    line: Rect,
    map: &PortMap<'_>,
    scale: Scale,
    theme: &Theme,
    selected: Option<usize>,
) {
    let chosen = selected.and_then(|index| index.checked_sub(PortBand::ALL.len()));
    let markers = markers(map, scale);
    if markers.is_empty() {
        draw::put_str(buf, line, line.x, line.y, map.t("ui.no_ports"), theme.muted);
        return;
    }
    for (index, column) in &markers {
        let style = if chosen == Some(*index) {
            theme.selection
        } else {
            theme.accent
        };
        draw::put_str(buf, line, line.x + column, line.y, "^", style);
    }
    for (index, label, start) in placed_labels(map, scale) {
        let style = if chosen == Some(index) {
            theme.selection
        } else {
            Style::new()
        };
        draw::put_str(buf, line, line.x + start, line.y, &label, style);
    }
}

fn axis(buf: &mut Buffer, line: Rect, map: &PortMap<'_>, scale: Scale, theme: &Theme) {
    let width = line.width;
    let [lo, hi] = map.ports.ephemeral;
    // In order of importance: the ends first, then the band boundaries.
    let ticks = [0, 65_535, 1024, 49_152, lo, hi];
    let mut taken: Vec<(u16, u16)> = Vec::new();
    if let Some(column) = scale.break_column() {
        // The break goes through the axis too, and no number covers it.
        draw::put_str(buf, line, line.x + column, line.y, BREAK, theme.muted);
        taken.push((column, column));
    }
    for port in ticks {
        let label = port.to_string();
        let label_width = label.len() as u16;
        if label_width > width {
            continue;
        }
        let start = if port == 65_535 {
            width - label_width
        } else {
            scale.column_of(port).min(width - label_width)
        };
        let end = start + label_width;
        let collides = taken
            .iter()
            .any(|(from, to)| start < to + 1 && *from < end + 1);
        if !collides {
            taken.push((start, end));
            draw::put_str(buf, line, line.x + start, line.y, &label, theme.muted);
        }
    }
}

/// The row of [`App::rows`] (bands, then ports in use) under a screen position of a panel drawn
/// in `area`.
#[must_use]
pub(crate) fn hit(map: &PortMap<'_>, area: Rect, column: u16, row: u16) -> Option<usize> {
    let inner = draw::inner(area);
    if row < inner.y || row >= inner.bottom() || column < inner.x || column >= inner.right() {
        return None;
    }
    let scale = Scale::new(map, inner.width);
    let x = column - inner.x;
    match rows_for(inner.height).get(usize::from(row - inner.y))? {
        Row::Bands => {
            let band = scale.iana_band(x)?;
            PortBand::ALL.iter().position(|each| *each == band)
        }
        Row::Ephemeral => {
            let (first, last) = scale.ephemeral_columns(map.ports.ephemeral);
            (first..=last).contains(&x).then_some(3)
        }
        Row::Markers => {
            let labels = placed_labels(map, scale);
            let on_label = labels.iter().find(|(_, label, start)| {
                (*start..*start + draw::width(label) as u16).contains(&x)
            });
            let on_marker = || {
                markers(map, scale)
                    .into_iter()
                    .find(|(_, marker)| *marker == x)
                    .map(|(index, _)| index)
            };
            on_label
                .map(|(index, ..)| *index)
                .or_else(on_marker)
                .map(|index| index + PortBand::ALL.len())
        }
        Row::Axis | Row::Legend => None,
    }
}
