//! Counters that are not the lab's say so: ListenOverflows/ListenDrops count a whole network
//! namespace. On the host network the panel, its explanation and the JSON call them the whole
//! machine's; in the private network (the lab's own namespace) they are labelled the lab's own.

mod common;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use sockscope::app::{App, Panel};
use sockscope::model::{CounterScope, Snapshot};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::ui;

fn drawn(
    snapshot: &Snapshot,
    lang: Lang,
    draw_panel: fn(&mut ratatui::Frame, Rect, &App),
) -> String {
    let mut app = App::new(lang, ThemeName::Default);
    app.apply(snapshot.clone());
    app.focus = Panel::Listeners;
    app.select(Panel::Listeners, 0);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal
        .draw(|frame| draw_panel(frame, Rect::new(0, 0, 100, 30), &app))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn on_the_host_network_the_counters_are_the_whole_machines() {
    let mut lab = common::lab_running("server s 127.0.0.1:0 2");
    let snapshot = lab.snapshot();
    assert_eq!(snapshot.counters.scope, CounterScope::Machine);
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(json["counters"]["scope"], "machine");

    let panel = drawn(&snapshot, Lang::En, ui::listeners::render);
    assert!(panel.contains("whole machine: ListenOverflows"), "{panel}");
    let explain = squeezed(&drawn(&snapshot, Lang::En, ui::explain::render));
    assert!(
        explain.contains("the whole machine's namespace"),
        "{explain}"
    );
    assert!(!explain.contains("exactly the lab's"), "{explain}");

    let panel = drawn(&snapshot, Lang::Ko, ui::listeners::render);
    assert!(panel.contains("ListenOverflows"), "{panel}");
    assert!(
        squeezed(&panel).replace(' ', "").contains("컴퓨터전체:"),
        "{panel}"
    );
}

#[test]
fn in_the_private_network_they_are_the_labs_own() {
    let mut lab = common::lab_running("server s 127.0.0.1:0 2");
    let mut snapshot = lab.snapshot();
    // The label follows the scope the snapshot states (the CLI test below gets it from a real
    // private network).
    snapshot.counters.scope = CounterScope::Lab;
    let panel = drawn(&snapshot, Lang::En, ui::listeners::render);
    assert!(panel.contains("this lab's own: ListenOverflows"), "{panel}");
    assert!(!panel.contains("whole machine"), "{panel}");
    let explain = squeezed(&drawn(&snapshot, Lang::En, ui::explain::render));
    assert!(explain.contains("exactly the lab's"), "{explain}");
    let panel = drawn(&snapshot, Lang::Ko, ui::listeners::render);
    assert!(
        squeezed(&panel).replace(' ', "").contains("이실습만:"),
        "{panel}"
    );

    let output = common::sockscope(&[
        "snapshot",
        "--net",
        "private",
        "--run",
        "server s 127.0.0.1:0 2",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("not available") {
        eprintln!("NOTE: no private network here ({stderr}); the label test above still ran");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["counters"]["scope"], "lab", "{}", json["counters"]);
    let host = common::sockscope(&[
        "snapshot",
        "--net",
        "host",
        "--run",
        "server s 127.0.0.1:0 2",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&host.stdout).expect("json");
    assert_eq!(json["counters"]["scope"], "machine");
}

#[test]
fn a_narrow_panel_keeps_the_scope_and_the_deltas() {
    let mut lab = common::lab_running("server s 127.0.0.1:0 2");
    let snapshot = lab.snapshot();
    let mut app = App::new(Lang::En, ThemeName::Default);
    app.apply(snapshot);
    let mut terminal = Terminal::new(TestBackend::new(52, 8)).unwrap();
    terminal
        .draw(|frame| ui::listeners::render(frame, Rect::new(0, 0, 52, 8), &app))
        .unwrap();
    let buffer = terminal.backend().buffer();
    let bottom: String = (0..52)
        .map(|x| buffer[(x, 7)].symbol().to_owned())
        .collect();
    assert!(bottom.contains("machine: ListenOverflows (+"), "{bottom}");
    assert!(bottom.contains("ListenDrops (+"), "{bottom}");
}
