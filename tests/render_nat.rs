//! The NAT panel (src/ui/nat.rs) drawn alone from fixed plain data: insta snapshots at 60 and 100
//! columns in English and Korean, the empty table's two forms, the two-row fallback of a very
//! narrow panel, and checks that hold at every width (nothing drawn past the edge, each tuple
//! either whole or visibly cut with `~`).

use std::net::SocketAddrV4;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use sockscope::model::Proto;
use sockscope::net::nat::{NatEntryView, NatRuleView, NatView};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::ui::nat::{NatPanel, render_table};
use unicode_width::UnicodeWidthStr;

fn addr(text: &str) -> SocketAddrV4 {
    text.parse().unwrap()
}

#[allow(clippy::too_many_arguments)]
fn entry(
    id: u64,
    proto: Proto,
    remote: &str,
    public: &str,
    private: &str,
    state: &'static str,
    packets: (u64, u64),
    age_ms: u64,
) -> NatEntryView {
    NatEntryView {
        id,
        proto,
        remote: addr(remote),
        public: addr(public),
        private: addr(private),
        state,
        packets_a_to_b: packets.0,
        packets_b_to_a: packets.1,
        bytes_a_to_b: packets.0 * 60,
        bytes_b_to_a: packets.1 * 60,
        age_ms,
        idle_ms: 20,
        expires_in_ms: 7_000_000,
    }
}

fn rules() -> Vec<NatRuleView> {
    vec![
        NatRuleView {
            proto: Proto::Tcp,
            public: addr("198.18.0.254:8080"),
            private: addr("198.19.0.2:80"),
        },
        NatRuleView {
            proto: Proto::Udp,
            public: addr("198.18.0.254:5353"),
            private: addr("198.19.0.2:53"),
        },
    ]
}

/// Three connections through the router: one open, one closing, a UDP flow; one drop so far.
fn busy() -> NatView {
    NatView {
        rules: rules(),
        entries: vec![
            entry(
                1,
                Proto::Tcp,
                "198.18.0.1:40000",
                "198.18.0.254:8080",
                "198.19.0.2:80",
                "open",
                (12, 9),
                4_200,
            ),
            entry(
                2,
                Proto::Tcp,
                "198.18.0.1:40002",
                "198.18.0.254:8080",
                "198.19.0.2:80",
                "closing",
                (5, 4),
                64_000,
            ),
            entry(
                3,
                Proto::Udp,
                "198.18.0.1:51000",
                "198.18.0.254:5353",
                "198.19.0.2:53",
                "udp",
                (1, 1),
                850,
            ),
        ],
        rewritten: 32,
        dropped: 1,
        last_drop: Some("no_connection"),
    }
}

fn text_of(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buffer.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = symbol.width().saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn draw(panel: &NatPanel<'_>, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render_table(frame, Rect::new(0, 0, width, height), panel))
        .unwrap();
    text_of(terminal.backend().buffer())
}

#[test]
fn the_table_at_60_and_100_columns() {
    let view = busy();
    for lang in [Lang::En, Lang::Ko] {
        let mut panel = NatPanel::of(&view, lang, ThemeName::Default);
        panel.focused = true;
        panel.selected = 1;
        for width in [60, 100] {
            let text = draw(&panel, width, 8);
            insta::assert_snapshot!(format!("nat_panel_{}_{width}", lang.code()), text);
            for entry in &view.entries {
                assert!(text.contains(&entry.public.to_string()), "{width}: {text}");
                assert!(text.contains(&entry.private.to_string()), "{width}: {text}");
            }
            // Packets each way and the age are there at both widths.
            assert!(text.contains("4s") && text.contains("1m04s"), "{text}");
        }
        // The remote peer and the state only where there is room.
        let wide = draw(&panel, 100, 8);
        assert!(wide.contains("198.18.0.1:40002"), "{wide}");
        let narrow = draw(&panel, 60, 8);
        assert!(!narrow.contains("198.18.0.1:40002"), "{narrow}");
    }
}

#[test]
fn an_empty_table_says_how_to_add_a_rule_or_lists_the_rules() {
    let none = NatView::default();
    let waiting = NatView {
        rules: rules(),
        ..NatView::default()
    };
    for lang in [Lang::En, Lang::Ko] {
        let panel = NatPanel::of(&none, lang, ThemeName::Default);
        let text = draw(&panel, 60, 6);
        insta::assert_snapshot!(format!("nat_panel_no_rules_{}_60", lang.code()), text);
        assert!(text.contains("wire nat tcp"), "{text}");
        let panel = NatPanel::of(&waiting, lang, ThemeName::Default);
        let text = draw(&panel, 60, 6);
        insta::assert_snapshot!(format!("nat_panel_rules_only_{}_60", lang.code()), text);
        assert!(
            text.contains("udp 198.18.0.254:5353 <-> 198.19.0.2:53"),
            "{text}"
        );
    }
}

#[test]
fn a_very_narrow_panel_shows_each_entry_on_two_rows() {
    let view = busy();
    let panel = NatPanel::of(&view, Lang::En, ThemeName::Default);
    let text = draw(&panel, 30, 9);
    insta::assert_snapshot!("nat_panel_en_30", text);
    assert!(
        text.contains("tcp 198.18.0.254:8080") && text.contains("<-> 198.19.0.2:80"),
        "{text}"
    );
}

#[test]
fn every_width_stays_inside_the_panel() {
    let view = busy();
    for lang in [Lang::En, Lang::Ko] {
        let panel = NatPanel::of(&view, lang, ThemeName::HighContrast);
        for width in 0..=120_u16 {
            for height in [0, 1, 2, 3, 5, 12] {
                let text = draw(&panel, width, height);
                for line in text.lines() {
                    assert!(
                        line.width() <= usize::from(width),
                        "{width}x{height}: {line}"
                    );
                }
                if width >= 40 && height >= 5 {
                    // Every public tuple of the first rows is shown whole.
                    assert!(
                        text.contains("198.18.0.254:8080"),
                        "{width}x{height}: {text}"
                    );
                }
            }
        }
    }
}
