//! The port map keeps IANA's three bands legible at any width: 0-1023 gets a segment of its own
//! before a `/` break (not to scale, and the legend says so), 1024-65535 is drawn to scale, and
//! the kernel's ephemeral range and the unprivileged-port boundary are labelled. Insta snapshots
//! at 60, 80, 120 and 200 columns, in English and Korean.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use sockscope::model::{PortUse, Ports, Proto};
use sockscope::settings::ThemeName;
use sockscope::text::{self, Lang};
use sockscope::ui::ports::{PortMap, render_map};
use unicode_width::UnicodeWidthStr;

fn ports() -> Ports {
    let used = |port, proto, name: &str| PortUse {
        port,
        proto,
        name: name.to_owned(),
    };
    Ports {
        ephemeral: [32768, 60999],
        unprivileged_start: 1024,
        somaxconn: 4096,
        in_use: vec![
            used(22, Proto::Tcp, "sshd"),
            used(8080, Proto::Tcp, "web"),
            used(40001, Proto::Tcp, "c1"),
            used(52000, Proto::Udp, "u1"),
        ],
    }
}

/// The text a terminal would show: wide characters once.
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

fn drawn(ports: &Ports, lang: Lang, width: u16) -> String {
    let map = PortMap {
        ports,
        lang,
        theme: ThemeName::Default,
        focused: false,
        selected: 0,
    };
    let mut terminal = Terminal::new(TestBackend::new(width, 7)).unwrap();
    terminal
        .draw(|frame| render_map(frame, Rect::new(0, 0, width, 7), &map))
        .unwrap();
    text_of(terminal.backend().buffer())
}

#[test]
fn all_three_bands_are_labelled_at_every_width() {
    let ports = ports();
    for lang in [Lang::En, Lang::Ko] {
        for width in [60, 80, 120, 200] {
            let text = drawn(&ports, lang, width);
            let bands_row = text.lines().nth(1).expect("bands row");
            for band in ["well_known", "registered", "dynamic"] {
                let name = text::get(lang, &format!("band.{band}"));
                assert!(
                    bands_row.contains(name),
                    "{lang:?} {width}: no {name:?} in {bands_row:?}"
                );
            }
            // The break, the privileged boundary and the ephemeral range are there and named.
            assert!(bands_row.contains("/|"), "{bands_row}");
            let ephemeral_row = text.lines().nth(2).expect("ephemeral row");
            let ephemeral = text::get(lang, "band.ephemeral");
            assert!(ephemeral_row.contains(ephemeral), "{ephemeral_row}");
            let axis = text.lines().nth(4).expect("axis row");
            for tick in ["0", "1024", "65535"] {
                assert!(
                    axis.split([' ', '/', '│']).any(|word| word == tick),
                    "{axis}"
                );
            }
            let legend = text.lines().nth(5).expect("legend row");
            assert!(legend.contains("0-1023"), "{legend}");
            insta::assert_snapshot!(format!("port_map_{}_{width}", lang.code()), text);
        }
    }
}

#[test]
fn a_well_known_port_lands_in_the_well_known_segment() {
    let ports = ports();
    let text = drawn(&ports, Lang::En, 80);
    let lines: Vec<&str> = text.lines().collect();
    let break_at = lines[1].find('/').expect("a break");
    let marker = lines[3].find('^').expect("a marker");
    // sshd:22 is left of the break: the well-known segment is where port 22 is drawn.
    assert!(marker < break_at, "{text}");
    assert!(lines[3].contains("sshd:22"), "{text}");
    // The registered and dynamic ports are right of it, in order.
    let web = lines[3].find("web:8080").expect("web");
    let c1 = lines[3].find("c1:40001").expect("c1");
    assert!(break_at < web && web < c1, "{text}");
}

#[test]
fn the_part_right_of_the_break_is_to_scale() {
    let ports = ports();
    for width in [60u16, 80, 120, 200] {
        let text = drawn(&ports, Lang::En, width);
        let axis: Vec<char> = text.lines().nth(4).unwrap().chars().collect();
        let break_at = axis.iter().position(|&c| c == '/').expect("break");
        let end = axis.len() - 1;
        let tick = |label: &str| {
            let row: String = axis.iter().collect();
            row.find(label).map(|at| row[..at].chars().count())
        };
        if let Some(dynamic) = tick("49152") {
            // 49152 sits where (49152-1024)/(65536-1024) of the scaled columns are.
            let scaled = (end - break_at) as f64;
            let expected = break_at as f64 + 1.0 + scaled * (48_128.0 / 64_512.0);
            assert!(
                (dynamic as f64 - expected).abs() <= 2.0,
                "{width}: 49152 at {dynamic}, expected about {expected}"
            );
        }
    }
}

#[test]
fn a_narrow_map_has_no_break_and_says_nothing_of_one() {
    let ports = ports();
    let text = drawn(&ports, Lang::En, 9);
    assert!(!text.lines().nth(1).unwrap().contains('/'), "{text}");
}
