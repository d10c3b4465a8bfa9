//! Scenarios as plain text: the list of built-ins, and one scenario's steps with their narration.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::Scenario;
use crate::escape::visible;
use crate::text::{self, Lang};

/// One line per scenario: name, number of steps, title in `lang`.
#[must_use]
pub fn list(scenarios: &[Scenario], lang: Lang) -> String {
    let width = scenarios
        .iter()
        .map(|scenario| scenario.name.width())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for scenario in scenarios {
        let steps = text::format_count(lang, "demo.steps", scenario.steps.len() as u64, &[]);
        let padding = " ".repeat(width - scenario.name.width());
        let steps_padding = " ".repeat(9_usize.saturating_sub(steps.width()));
        let _ = writeln!(
            out,
            "{}{padding}  {steps}{steps_padding} {}",
            scenario.name,
            visible(scenario.title.get(lang))
        );
    }
    out
}

/// The scenario's title, then every step in order: its commands, its narration in `lang`, and what
/// it checks.
#[must_use]
pub fn describe(scenario: &Scenario, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", visible(scenario.title.get(lang)));
    let count = scenario.steps.len().to_string();
    for step in &scenario.steps {
        let number = (step.index + 1).to_string();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "== {}",
            text::format(lang, "demo.step", &[("number", &number), ("count", &count)])
        );
        for located in &step.run {
            let _ = writeln!(out, "  $ {}", visible(&located.source));
        }
        if let Some(wait) = step.wait {
            let _ = writeln!(out, "  $ wait {}ms", wait.as_millis());
        }
        let _ = writeln!(out);
        for line in step.say.get(lang).lines() {
            let _ = writeln!(out, "  {}", visible(line));
        }
        if !step.expect.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "  {}", text::get(lang, "demo.checks"));
            for expectation in &step.expect {
                let _ = writeln!(out, "    {}", visible(&expectation.to_string()));
            }
        }
    }
    out
}
