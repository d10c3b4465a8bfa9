//! Recordings: `--record FILE.cast` made in tmux, checked field by field against the asciicast
//! v2 format, and `snapshot --animate`'s animated SVG, checked as XML frame by frame.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::tmux::Tmux;
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const WAIT: Duration = Duration::from_secs(10);

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sockscope-{}-{name}", std::process::id()))
}

/// The events of an asciicast v2 file, after checking its header is `columns` x `rows`: each
/// event `[time, code, data]` with a time after the one before, as (time, code, data).
fn cast_events(cast: &str, columns: u64, rows: u64) -> Vec<(f64, String, String)> {
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header")).expect("JSON");
    assert_eq!(header["version"], 2, "{header}");
    assert_eq!(header["width"].as_u64(), Some(columns), "{header}");
    assert_eq!(header["height"].as_u64(), Some(rows), "{header}");
    assert!(header["timestamp"].is_u64(), "a Unix time: {header}");
    assert!(header["env"].is_object(), "{header}");
    let mut events = Vec::new();
    let mut last = -1.0;
    for line in lines {
        let event: Value = serde_json::from_str(line).expect("each event is JSON");
        let fields = event.as_array().expect("an event is an array");
        assert_eq!(fields.len(), 3, "{line}");
        let time = fields[0].as_f64().expect("time in seconds");
        assert!(
            time >= 0.0 && time > last,
            "times increase: {time} after {last}"
        );
        last = time;
        let code = fields[1].as_str().expect("event code").to_owned();
        assert!(code == "o" || code == "r", "{line}");
        let data = fields[2].as_str().expect("event data").to_owned();
        if code == "r" {
            let (cols, rows) = data.split_once('x').expect("COLSxROWS");
            assert!(
                cols.parse::<u16>().is_ok() && rows.parse::<u16>().is_ok(),
                "{data}"
            );
        }
        events.push((time, code, data));
    }
    events
}

#[test]
fn the_lab_recorded_in_tmux_is_an_asciicast_v2_file_with_output_and_a_resize() {
    let cast = temp_path("lab.cast");
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} --lang en --record {} --run 'server srv 127.0.0.1:0 2'; echo ENDED; sleep 30",
        cast.display()
    );
    let tmux = Tmux::start(100, 30, &command);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("listeners (1)"));
    assert!(screen.contains("listeners (1)"), "{screen}");
    tmux.resize(90, 25);
    let screen = tmux.wait_for(WAIT, |screen| {
        screen
            .lines()
            .next()
            .is_some_and(|line| line.trim_end().chars().count() == 90)
    });
    assert!(screen.contains("listeners (1)"), "{screen}");
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("ENDED"));
    assert!(screen.contains("ENDED"), "sockscope quit: {screen}");
    let text = std::fs::read_to_string(&cast).expect("the recording was written");
    let _ = std::fs::remove_file(&cast);

    let events = cast_events(&text, 100, 30);
    let output: String = events
        .iter()
        .filter(|(_, code, _)| code == "o")
        .map(|(_, _, data)| data.as_str())
        .collect();
    assert!(output.contains("listeners (1)"), "the frames are recorded");
    assert!(
        output.contains('\u{1b}'),
        "with the terminal's escape sequences"
    );
    let resizes: Vec<&str> = events
        .iter()
        .filter(|(_, code, _)| code == "r")
        .map(|(_, _, data)| data.as_str())
        .collect();
    assert_eq!(resizes, ["90x25"], "one resize event");
    // The resize comes before the frame drawn at the new size.
    let resized_at = events
        .iter()
        .position(|(_, code, _)| code == "r")
        .expect("a resize");
    assert!(
        events[resized_at + 1..]
            .iter()
            .any(|(_, code, _)| code == "o")
    );
}

#[test]
fn watch_records_too() {
    let cast = temp_path("watch.cast");
    let command = format!(
        "RUST_BACKTRACE=0 {BINARY} watch --lang en --no-owners --record {}; echo ENDED; sleep 30",
        cast.display()
    );
    let tmux = Tmux::start(100, 30, &command);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("LISTEN"));
    assert!(screen.contains("LISTEN"), "{screen}");
    tmux.keys(&["q"]);
    let screen = tmux.wait_for(WAIT, |screen| screen.contains("ENDED"));
    assert!(screen.contains("ENDED"), "{screen}");
    let text = std::fs::read_to_string(&cast).expect("the recording was written");
    let _ = std::fs::remove_file(&cast);
    let events = cast_events(&text, 100, 30);
    assert!(
        events
            .iter()
            .any(|(_, code, data)| code == "o" && data.contains("LISTEN"))
    );
}

#[test]
fn a_recording_that_cannot_be_created_is_an_io_error_before_the_screen_opens() {
    let output = std::process::Command::new(BINARY)
        .args(["--record", "/nonexistent-dir/x.cast", "--lang", "en"])
        .output()
        .expect("sockscope runs");
    assert_eq!(output.status.code(), Some(74));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("/nonexistent-dir/x.cast"), "{message}");
    assert!(output.stdout.is_empty(), "the terminal was never touched");
}

/// The text of every `<g class="step ...">` group of an animated SVG, whitespace removed, by its
/// `data-step`.
fn frames(svg: &str) -> Vec<(usize, String)> {
    let mut reader = Reader::from_str(svg);
    let mut frames: Vec<(usize, String)> = Vec::new();
    let mut depth_in_frame = 0usize;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) if element.name().as_ref() == "g" => {
                if depth_in_frame > 0 {
                    depth_in_frame += 1;
                    continue;
                }
                let class = element
                    .try_get_attribute("class")
                    .expect("attribute")
                    .map(|value| {
                        value
                            .normalized_value(XmlVersion::Implicit1_0)
                            .expect("text")
                            .into_owned()
                    });
                if class.is_some_and(|class| class.split(' ').any(|word| word == "step")) {
                    let step = element
                        .try_get_attribute("data-step")
                        .expect("attribute")
                        .expect("a frame names its step")
                        .normalized_value(XmlVersion::Implicit1_0)
                        .expect("text")
                        .parse()
                        .expect("a number");
                    frames.push((step, String::new()));
                    depth_in_frame = 1;
                }
            }
            Event::End(element) if element.name().as_ref() == "g" && depth_in_frame > 0 => {
                depth_in_frame -= 1;
            }
            Event::Text(text) if depth_in_frame > 0 => {
                let text = text.xml10_content();
                let frame = frames.last_mut().expect("in a frame");
                frame
                    .1
                    .extend(text.chars().filter(|ch| !ch.is_whitespace()));
            }
            Event::GeneralRef(reference) if depth_in_frame > 0 => {
                let ch = match &*reference {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unexpected entity {other}"),
                };
                frames.last_mut().expect("in a frame").1.push(ch);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    frames
}

#[test]
fn the_animated_svg_is_valid_xml_with_one_frame_per_step_showing_its_narration() {
    let scenario = sockscope::scenario::load("backlog").expect("a built-in");
    let output = std::process::Command::new(BINARY)
        .args([
            "snapshot",
            "--demo",
            "backlog",
            "--format",
            "svg",
            "--animate",
            "--lang",
            "en",
            "--size",
            "100x30",
            "--step-time",
            "3s",
        ])
        .output()
        .expect("sockscope runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let svg = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        !svg.contains("href"),
        "self-contained: nothing loaded from elsewhere"
    );
    let frames = frames(&svg);
    let steps = scenario.steps.len();
    assert_eq!(
        frames.iter().map(|(step, _)| *step).collect::<Vec<_>>(),
        (1..=steps).collect::<Vec<_>>()
    );
    for ((step, text), scripted) in frames.iter().zip(&scenario.steps) {
        assert!(text.contains(&format!("step{step}/{steps}")), "step {step}");
        // The narration's opening words (its first line in the lecture panel).
        let opening: String = scripted
            .say
            .get(sockscope::text::Lang::En)
            .split_whitespace()
            .take(3)
            .collect();
        assert!(text.contains(&opening), "step {step} shows '{opening}'");
    }
    // Each step is on screen for 3 s of a 3 s * steps loop.
    assert!(svg.contains(&format!("sockscope-step {}s", 3 * steps)));
    for step in 1..steps {
        assert!(svg.contains(&format!(
            "data-step=\"{}\" style=\"animation-delay: {}s\"",
            step + 1,
            3 * step as i64 - 3 * steps as i64
        )));
    }
}
