//! The presenter layout draws the step counter big for a projector, where the font covers the
//! text; Korean stays normal text rather than blanks.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

/// The presenter layout's text at 120x40, lecture `backlog` at step 2, and the lines of its
/// narration pane (from the pane's top border down).
fn narration_pane(lang: &str, size: &str) -> Vec<String> {
    let output = Command::new(BINARY)
        .args([
            "snapshot",
            "--config",
            "/dev/null",
            "--demo",
            "backlog",
            "--step",
            "2",
            "--presenter",
            "--format",
            "text",
            "--lang",
            lang,
            "--size",
            size,
        ])
        .output()
        .expect("sockscope runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let title = if lang == "ko" {
        "┌ 백로그"
    } else {
        "┌ The backlog"
    };
    let top = lines
        .iter()
        .position(|line| line.starts_with(title))
        .expect("the narration pane");
    lines[top..].to_vec()
}

#[test]
fn the_step_counter_is_big_in_english_and_plain_in_korean() {
    let english = narration_pane("en", "120x40");
    let big_rows = &english[1..5];
    assert!(
        big_rows
            .iter()
            .all(|line| line.contains('▀') || line.contains('▄')),
        "four rows of big glyphs:\n{}",
        english.join("\n")
    );
    assert!(!english[1].contains("step 2/4"), "drawn big, not as text");
    assert!(
        english[6].contains("Three clients"),
        "the narration follows"
    );

    let korean = narration_pane("ko", "120x40");
    assert!(korean[1].contains("단계 2/4"), "{}", korean.join("\n"));
    assert!(
        !korean
            .iter()
            .any(|line| line.contains('▀') || line.contains('▄')),
        "no blank big glyphs for Hangul"
    );

    // A small pane keeps the one-line counter: the narration needs the rows.
    let small = narration_pane("en", "80x24");
    assert!(small[1].contains("step 2/4"), "{}", small.join("\n"));
}
