//! The wire's state in words (`--net wire`): the full line at the foot of the ladder panel, and
//! the short form in the status line (only what makes the wire other than transparent).

use crate::app::App;
use crate::model::{WireInfo, WireMark};
use crate::text;

fn delay(app: &App, wire: &WireInfo) -> String {
    if wire.delay_a_to_b_ms == wire.delay_b_to_a_ms {
        text::format(
            app.lang,
            "wire.delay",
            &[("delay", &format!("{}ms", wire.delay_a_to_b_ms))],
        )
    } else {
        text::format(
            app.lang,
            "wire.delay_each",
            &[
                ("ab", &format!("{}ms", wire.delay_a_to_b_ms)),
                ("ba", &format!("{}ms", wire.delay_b_to_a_ms)),
            ],
        )
    }
}

fn loss(app: &App, wire: &WireInfo) -> String {
    text::format(
        app.lang,
        "wire.loss",
        &[("rate", &wire.loss), ("seed", &wire.seed.to_string())],
    )
}

fn count(app: &App, key: &str, count: usize) -> String {
    text::format(app.lang, key, &[("count", &count.to_string())])
}

/// `wire: hold on · 2 held · delay 200ms · loss 2% seed 7 · 3 dropped`.
#[must_use]
pub fn full_line(app: &App, wire: &WireInfo) -> String {
    let hold = app.t(if wire.hold {
        "wire.hold_on"
    } else {
        "wire.hold_off"
    });
    let parts = [
        hold.to_owned(),
        count(app, "wire.held", wire.held.len()),
        delay(app, wire),
        loss(app, wire),
        count(app, "wire.dropped", wire.dropped as usize),
    ];
    format!("{}: {}", app.t("wire.title"), parts.join(" · "))
}

/// `wire: hold on, 2 held, 3 dropped` — or `wire: transparent`.
#[must_use]
pub fn short_line(app: &App, wire: &WireInfo) -> String {
    let mut parts = Vec::new();
    if wire.hold {
        parts.push(format!(
            "{} ({})",
            app.t("wire.hold_on"),
            count(app, "wire.held", wire.held.len())
        ));
    } else if !wire.held.is_empty() {
        parts.push(count(app, "wire.held", wire.held.len()));
    }
    if wire.delay_a_to_b_ms > 0 || wire.delay_b_to_a_ms > 0 {
        parts.push(delay(app, wire));
    }
    if wire.loss != "0%" {
        parts.push(loss(app, wire));
    }
    if wire.dropped > 0 {
        parts.push(count(app, "wire.dropped", wire.dropped as usize));
    }
    // A rule makes the wire a router: not transparent any more.
    if let Some(rules) = app.snapshot.nat.as_ref().map(|nat| nat.rules.len())
        && rules > 0
    {
        parts.push(count(app, "wire.nat_rules", rules));
    }
    if parts.is_empty() {
        parts.push(app.t("wire.transparent").to_owned());
    }
    format!("{}: {}", app.t("wire.title"), parts.join(", "))
}

/// What the ladder writes on a segment the wire has not delivered: `#3 held`.
#[must_use]
pub fn mark_label(app: &App, id: Option<u64>, mark: WireMark) -> String {
    let word = app.t(match mark {
        WireMark::Held => "wire.mark_held",
        WireMark::Delayed => "wire.mark_delayed",
        WireMark::Dropped => "wire.mark_dropped",
    });
    match id {
        Some(id) => format!("#{id} {word}"),
        None => word.to_owned(),
    }
}
