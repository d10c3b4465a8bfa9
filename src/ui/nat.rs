//! The NAT table of the wire's router: per connection, the public tuple the remote peer talks to
//! and the private tuple its packets really go to, with the protocol, the remote peer, the
//! table's state, packets each way and age. Pure: it draws from a [`NatPanel`] (plain data from
//! `Nat::view`) and changes nothing.
//!
//! Narrow panels drop the least telling columns first (state, then the remote peer, the age, the
//! packet counts, the protocol); a panel too narrow even for `public <-> private` shows each entry
//! on two rows. An empty table says how to add a rule, or lists the rules waiting for traffic.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw::{self, Col};
use super::scroll::scroll_offset;
use super::theme::Theme;
use crate::net::nat::{NatEntryView, NatRuleView, NatView};
use crate::settings::ThemeName;
use crate::text::{self, Lang};

/// The example under "add a rule with:" (the command language is the same in every language).
const EXAMPLE_RULE: &str = "wire nat tcp 198.18.0.254:8080 -> 198.18.0.2:80";

/// Between the public and the private tuple: ASCII, so no terminal draws it at an ambiguous width.
const MAPS_TO: &str = "<->";

/// What the NAT panel draws.
#[derive(Debug, Clone, Copy)]
pub struct NatPanel<'a> {
    pub rules: &'a [NatRuleView],
    /// Oldest first, as `Nat::view` lists them.
    pub entries: &'a [NatEntryView],
    pub rewritten: u64,
    pub dropped: u64,
    /// The word of the last drop's reason (`no_connection`, ...), as in the JSON.
    pub last_drop: Option<&'a str>,
    pub lang: Lang,
    pub theme: ThemeName,
    /// The panel has the focus: its border is highlighted and `selected` is shown.
    pub focused: bool,
    /// The selected entry.
    pub selected: usize,
}

impl<'a> NatPanel<'a> {
    /// The panel of `view`, unfocused.
    #[must_use]
    pub fn of(view: &'a NatView, lang: Lang, theme: ThemeName) -> Self {
        Self {
            rules: &view.rules,
            entries: &view.entries,
            rewritten: view.rewritten,
            dropped: view.dropped,
            last_drop: view.last_drop,
            lang,
            theme,
            focused: false,
            selected: 0,
        }
    }

    fn t(&self, key: &str) -> &'static str {
        text::get(self.lang, key)
    }
}

/// The columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Proto,
    Remote,
    Public,
    MapsTo,
    Private,
    State,
    AToB,
    BToA,
    Age,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::Proto,
        Column::Remote,
        Column::Public,
        Column::MapsTo,
        Column::Private,
        Column::State,
        Column::AToB,
        Column::BToA,
        Column::Age,
    ];

    /// Dropped first when the panel is narrow (lowest first); `None` = always kept.
    fn drop_rank(self) -> Option<u8> {
        match self {
            Column::State => Some(0),
            Column::Remote => Some(1),
            Column::Age => Some(2),
            Column::AToB | Column::BToA => Some(3),
            Column::Proto => Some(4),
            Column::Public | Column::MapsTo | Column::Private => None,
        }
    }

    fn header(self, panel: &NatPanel<'_>) -> &'static str {
        match self {
            Column::Proto => panel.t("nat.ui.proto"),
            Column::Remote => panel.t("nat.ui.remote"),
            Column::Public => panel.t("nat.ui.public"),
            Column::MapsTo => "",
            Column::Private => panel.t("nat.ui.private"),
            Column::State => panel.t("nat.ui.state"),
            Column::AToB => panel.t("nat.ui.a_to_b"),
            Column::BToA => panel.t("nat.ui.b_to_a"),
            Column::Age => panel.t("nat.ui.age"),
        }
    }

    fn right(self) -> bool {
        matches!(self, Column::AToB | Column::BToA | Column::Age)
    }

    fn cell(self, panel: &NatPanel<'_>, entry: &NatEntryView) -> String {
        match self {
            Column::Proto => entry.proto.name().to_owned(),
            Column::Remote => entry.remote.to_string(),
            Column::Public => entry.public.to_string(),
            Column::MapsTo => MAPS_TO.to_owned(),
            Column::Private => entry.private.to_string(),
            Column::State => panel.t(&format!("nat.state.{}", entry.state)).to_owned(),
            Column::AToB => entry.packets_a_to_b.to_string(),
            Column::BToA => entry.packets_b_to_a.to_string(),
            Column::Age => draw::duration(entry.age_ms),
        }
    }
}

/// The columns that fit in `width`, each as wide as its widest cell or header.
fn layout(panel: &NatPanel<'_>, width: usize) -> Option<Vec<(Column, Col)>> {
    let mut columns: Vec<(Column, Col)> = Column::ALL
        .iter()
        .map(|&column| {
            let widest = panel
                .entries
                .iter()
                .map(|entry| draw::width(&column.cell(panel, entry)))
                .chain(std::iter::once(draw::width(column.header(panel))))
                .max()
                .unwrap_or(0);
            let col = Col {
                width: widest,
                right: column.right(),
            };
            (column, col)
        })
        .collect();
    let total = |columns: &[(Column, Col)]| -> usize {
        columns.iter().map(|(_, col)| col.width).sum::<usize>() + columns.len().saturating_sub(1)
    };
    for rank in 0..=4 {
        if total(&columns) <= width {
            return Some(columns);
        }
        columns.retain(|(column, _)| column.drop_rank() != Some(rank));
    }
    (total(&columns) <= width).then_some(columns)
}

fn state_style(theme: &Theme, state: &str) -> Style {
    match state {
        "syn_seen" => theme.state_opening,
        "open" => theme.state_open,
        "closing" => theme.state_closing,
        "closed" => theme.state_closed,
        _ => Style::new(),
    }
}

/// Draws `panel` into `area`.
pub fn render_table(frame: &mut Frame, area: Rect, panel: &NatPanel<'_>) {
    let area = draw::clamp(frame, area);
    if area.is_empty() {
        return;
    }
    let theme = Theme::of(panel.theme);
    let title = format!("{} ({})", panel.t("nat.ui.title"), panel.entries.len());
    let inner = draw::panel_block(frame, area, &theme, &title, panel.focused);
    if inner.is_empty() {
        return;
    }
    let footer = footer(panel);
    let footer_rows = u16::from(footer.is_some() && inner.height >= 3);
    let body = Rect::new(inner.x, inner.y, inner.width, inner.height - footer_rows);
    let buf = frame.buffer_mut();
    if panel.entries.is_empty() {
        empty(buf, body, panel, &theme);
    } else if let Some(layout) = layout(panel, usize::from(inner.width)) {
        table(buf, body, panel, &theme, &layout);
    } else {
        stacked(buf, body, panel, &theme);
    }
    if let (Some(text), 1) = (footer, footer_rows) {
        let style = if panel.last_drop.is_some() {
            theme.warning
        } else {
            theme.muted
        };
        draw::put(
            buf,
            inner,
            inner.bottom() - 1,
            &Line::from(Span::styled(text, style)),
        );
    }
}

/// `8 rewritten, 2 dropped; last drop: ...` once anything went through.
fn footer(panel: &NatPanel<'_>) -> Option<String> {
    if panel.rewritten == 0 && panel.dropped == 0 {
        return None;
    }
    let totals = text::format(
        panel.lang,
        "nat.ui.totals",
        &[
            ("rewritten", &panel.rewritten.to_string()),
            ("dropped", &panel.dropped.to_string()),
        ],
    );
    Some(match panel.last_drop {
        Some(word) => {
            let reason = panel.t(&format!("nat.drop_short.{word}"));
            let last = text::format(panel.lang, "nat.ui.last_drop", &[("reason", reason)]);
            format!("{totals}; {last}")
        }
        None => totals,
    })
}

/// No entry: how to add a rule, or the rules that wait for traffic.
fn empty(buf: &mut ratatui::buffer::Buffer, body: Rect, panel: &NatPanel<'_>, theme: &Theme) {
    let mut lines: Vec<(String, Style)> = Vec::new();
    let width = usize::from(body.width);
    let mut wrapped = |key: &str, style: Style| {
        for line in draw::wrap(panel.t(key), width) {
            lines.push((line, style));
        }
    };
    if panel.rules.is_empty() {
        wrapped("nat.ui.no_rules", theme.muted);
        wrapped("nat.ui.how_to_add", theme.muted);
        lines.push((format!("  {EXAMPLE_RULE}"), theme.accent));
    } else {
        wrapped("nat.ui.no_entries", theme.muted);
        for rule in panel.rules {
            let text = format!(
                "  {} {} {MAPS_TO} {}",
                rule.proto.name(),
                rule.public,
                rule.private
            );
            lines.push((text, Style::new()));
        }
    }
    for (offset, (text, style)) in lines.into_iter().take(usize::from(body.height)).enumerate() {
        let y = body.y + offset as u16;
        draw::put(buf, body, y, &Line::from(Span::styled(text, style)));
    }
}

/// One entry a row, under a header.
fn table(
    buf: &mut ratatui::buffer::Buffer,
    body: Rect,
    panel: &NatPanel<'_>,
    theme: &Theme,
    layout: &[(Column, Col)],
) {
    let cols: Vec<Col> = layout.iter().map(|(_, col)| *col).collect();
    let header = draw::row(
        &cols,
        layout
            .iter()
            .map(|(column, _)| (column.header(panel).to_owned(), theme.header))
            .collect(),
    );
    draw::put(buf, body, body.y, &header);
    let list = draw::below_header(body);
    let rows = usize::from(list.height);
    let offset = scroll_offset(panel.selected, rows);
    for (index, entry) in panel.entries.iter().enumerate().skip(offset).take(rows) {
        let y = list.y + (index - offset) as u16;
        let cells = layout
            .iter()
            .map(|(column, _)| {
                let style = match column {
                    Column::State => state_style(theme, entry.state),
                    Column::MapsTo => theme.muted,
                    Column::Public => theme.accent,
                    _ => Style::new(),
                };
                (column.cell(panel, entry), style)
            })
            .collect();
        let mut line = draw::row(&cols, cells);
        if panel.focused && index == panel.selected {
            line = draw::restyle(line, theme.selection);
            draw::paint_row(buf, list, y, theme.selection);
        }
        draw::put(buf, list, y, &line);
    }
}

/// Too narrow for one row an entry: `proto public` over `<-> private a>b/b>a`.
fn stacked(buf: &mut ratatui::buffer::Buffer, body: Rect, panel: &NatPanel<'_>, theme: &Theme) {
    let entries_shown = usize::from(body.height / 2);
    let offset = scroll_offset(panel.selected, entries_shown);
    for (index, entry) in panel
        .entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(entries_shown)
    {
        let y = body.y + 2 * (index - offset) as u16;
        let selected = panel.focused && index == panel.selected;
        let first = Line::from(vec![
            Span::raw(format!("{} ", entry.proto.name())),
            Span::styled(entry.public.to_string(), theme.accent),
        ]);
        let second = Line::from(vec![
            Span::styled(format!(" {MAPS_TO} "), theme.muted),
            Span::raw(format!(
                "{} {}/{}",
                entry.private, entry.packets_a_to_b, entry.packets_b_to_a
            )),
        ]);
        for (row, line) in [(y, first), (y + 1, second)] {
            let line = if selected {
                draw::paint_row(buf, body, row, theme.selection);
                draw::restyle(line, theme.selection)
            } else {
                line
            };
            draw::put(buf, body, row, &line);
        }
    }
}
