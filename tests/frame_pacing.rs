//! The runtime's frame pacing: at most ~30 frames a second, but a key is answered at once even
//! when a background frame (a collection, a timer) was just drawn — only frames drawn for keys
//! hold the next key's frame back.

use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::Paragraph;

use sockscope::runtime::input::ScriptedInput;
use sockscope::runtime::reactor::Reactor;
use sockscope::runtime::{FRAME, Flow, Happening, Runtime, Screen};

/// Counts keys and frames; `background` makes it dirty as a collection arriving would.
#[derive(Default)]
struct Counter {
    dirty: bool,
    keys: u32,
    frames: u32,
    /// When each frame drawn for a key began.
    key_frames: Vec<Instant>,
    keys_at_last_frame: u32,
}

impl Screen for Counter {
    fn handle(&mut self, happening: Happening<'_>, _reactor: &mut Reactor) -> Flow {
        if let Happening::Input(_) = happening {
            self.keys += 1;
            self.dirty = true;
        }
        Flow::Continue
    }

    fn next_due(&self) -> Option<Instant> {
        None
    }

    fn dirty(&self) -> bool {
        self.dirty
    }

    fn before_draw(&mut self) {
        if self.keys != self.keys_at_last_frame {
            self.key_frames.push(Instant::now());
        }
    }

    fn draw(&self, frame: &mut Frame) {
        frame.render_widget(
            Paragraph::new(format!("keys {} frames {}", self.keys, self.frames)),
            frame.area(),
        );
    }

    fn drawn(&mut self) {
        self.frames += 1;
        self.keys_at_last_frame = self.keys;
        self.dirty = false;
    }
}

fn runtime() -> Runtime<TestBackend, ScriptedInput> {
    Runtime::new(
        Reactor::new().expect("reactor"),
        Terminal::new(TestBackend::new(40, 3)).expect("test backend"),
        ScriptedInput::new(),
        None,
        None,
    )
    .expect("runtime")
}

fn key() -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE))
}

#[test]
fn a_key_right_after_a_background_frame_is_drawn_in_the_same_turn() {
    let mut runtime = runtime();
    let mut screen = Counter::default();
    runtime.begin(&mut screen).expect("begin");
    runtime
        .turn(&mut screen, Some(Duration::ZERO))
        .expect("turn");
    assert_eq!(screen.frames, 1, "the first frame");

    // A collection arrives: a background frame (drawn a frame's time after the first; bounded).
    screen.dirty = true;
    for _ in 0..100 {
        if screen.frames == 2 {
            break;
        }
        runtime
            .turn(&mut screen, Some(Duration::from_millis(10)))
            .expect("turn");
    }
    assert_eq!(screen.frames, 2);

    // A key at once after it: answered in this very turn (before, it waited for the frame limit
    // counted from the background frame, up to 33 ms).
    runtime.input_mut().push(key());
    runtime
        .turn(&mut screen, Some(Duration::ZERO))
        .expect("turn");
    assert_eq!(screen.keys, 1);
    assert_eq!(screen.frames, 3, "the key's frame is drawn without waiting");
}

#[test]
fn held_keys_still_draw_at_most_one_frame_per_frame_time() {
    let mut runtime = runtime();
    let mut screen = Counter::default();
    runtime.begin(&mut screen).expect("begin");
    // Keys as fast as the loop turns, for a bounded number of turns.
    for _ in 0..200 {
        runtime.input_mut().push(key());
        runtime
            .turn(&mut screen, Some(Duration::from_millis(1)))
            .expect("turn");
    }
    assert_eq!(screen.keys, 200);
    assert!(screen.key_frames.len() >= 2, "keys drew frames");
    // The limit is enforced by the loop itself: no two key frames closer than FRAME (less a
    // millisecond for the clock reads around the check).
    for pair in screen.key_frames.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap + Duration::from_millis(1) >= FRAME,
            "two key frames {gap:?} apart"
        );
    }
}
