//! `sockscope trace`'s dashboard in process, on the one runtime: a real traced program (a C echo
//! server compiled here, a shell reading its input), scripted keys in, frames out.

mod common;
mod trace_programs;

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use sockscope::export::buffer_to_text;
use sockscope::lab::LabConfig;
use sockscope::runtime::input::ScriptedInput;
use sockscope::runtime::reactor::Reactor;
use sockscope::runtime::{Ending, Runtime};
use sockscope::screens::trace::{Options, Target, TraceScreen};
use sockscope::settings::ThemeName;
use sockscope::text::Lang;
use sockscope::trace::program::Program;
use trace_programs::{SERVER, compiled};

type TestRuntime = Runtime<TestBackend, ScriptedInput>;

fn runtime(columns: u16, rows: u16) -> TestRuntime {
    let terminal = Terminal::new(TestBackend::new(columns, rows)).expect("test backend");
    Runtime::new(
        Reactor::new().expect("reactor"),
        terminal,
        ScriptedInput::new(),
        None,
        None,
    )
    .expect("runtime")
}

fn options(argv: &[&str]) -> Options {
    let argv = argv.iter().map(OsString::from).collect();
    Options {
        target: Target::Start(Program::from_argv(argv).expect("the program is found")),
        lab: LabConfig::default(),
        lang: Lang::En,
        theme: ThemeName::Default,
        refresh: Duration::from_millis(50),
        detach: false,
        script: Vec::new(),
    }
}

fn frame(runtime: &TestRuntime) -> String {
    buffer_to_text(runtime.terminal().backend().buffer())
}

/// Turns the loop until the frame satisfies `done` (bounded); returns the last frame.
fn turn_until(
    runtime: &mut TestRuntime,
    screen: &mut TraceScreen,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ending = runtime
            .turn(screen, Some(Duration::from_millis(20)))
            .expect("turn");
        assert_eq!(ending, None, "the board ended early");
        let text = frame(runtime);
        if done(&text) || Instant::now() >= deadline {
            return text;
        }
    }
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Types `line` at the prompt (opened with `opener`) and presses Enter.
fn enter(runtime: &mut TestRuntime, opener: char, line: &str) {
    runtime.input_mut().push(key(KeyCode::Char(opener)));
    for ch in line.chars() {
        runtime.input_mut().push(key(KeyCode::Char(ch)));
    }
    runtime.input_mut().push(key(KeyCode::Enter));
}

#[test]
fn the_board_shows_the_program_and_the_labs_clients_from_the_prompt() {
    let server = compiled("server", SERVER);
    let mut runtime = runtime(160, 48);
    let mut screen = TraceScreen::new(runtime.reactor(), options(&[server.to_str().unwrap(), "0"]))
        .expect("the board starts");
    runtime.begin(&mut screen).expect("size");
    let pid = screen.pid().expect("a traced program");
    let first = turn_until(&mut runtime, &mut screen, |text| {
        text.contains("listen(3, 3) = 0") && text.contains("port=")
    });
    assert!(first.contains("listen(3, 3) = 0"), "{first}");
    assert!(first.contains(&format!("pid {pid}")), "{first}");
    // Its descriptor table and its listener with the backlog it asked for.
    assert!(first.contains("socket:["), "{first}");
    assert!(first.contains("accept queue 0/3"), "{first}");
    let stdout = &screen.board().program.stdout;
    let port: u16 = stdout
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("port in {stdout:?}"));

    // The lab's clients from the prompt: the server accepts the first and reads from it; the
    // second waits in the accept queue.
    enter(&mut runtime, ':', &format!("clients c 2 127.0.0.1:{port}"));
    let poked = turn_until(&mut runtime, &mut screen, |text| {
        text.contains("accept(3, NULL) = 4") && text.contains("accept queue 1/3")
    });
    assert!(poked.contains("accept(3, NULL) = 4"), "{poked}");
    assert!(
        poked.contains("lab:c1") && poked.contains("lab:c2"),
        "{poked}"
    );
    assert!(poked.contains("accept queue 1/3"), "{poked}");
    // The waiting peer is one of the lab's clients, and ss agrees on the queue.
    let clients: Vec<_> = screen
        .board()
        .lab
        .sockets
        .iter()
        .filter_map(|socket| socket.local)
        .collect();
    let listener = &screen.board().program.listeners[0];
    assert_eq!(listener.waiting.len(), 1);
    assert!(clients.contains(&listener.waiting[0].peer), "{clients:?}");
    let row = common::ss("-Hltn")
        .into_iter()
        .find(|row| row.local.port() == port)
        .expect("ss lists the listener");
    assert_eq!(row.recv_q, listener.accept_queue, "ss agrees on the queue");
    assert_eq!(row.send_q, listener.backlog);

    // The trace filtered by descriptor from the prompt: fd 4's calls only.
    enter(&mut runtime, ':', "/fd 4");
    let filtered = turn_until(&mut runtime, &mut screen, |text| {
        text.contains("filter: fd=4")
    });
    assert!(!filtered.contains("listen(3, 3) = 0"), "{filtered}");
    enter(&mut runtime, ':', "/all");
    let all = turn_until(&mut runtime, &mut screen, |text| !text.contains("filter:"));
    assert!(all.contains("listen(3, 3) = 0"), "{all}");

    // q ends the program: SIGTERM, and it is gone (reaped by the tracer) when the board ends.
    runtime.input_mut().push(key(KeyCode::Char('q')));
    let ending = runtime
        .turn(&mut screen, Some(Duration::ZERO))
        .expect("turn");
    assert_eq!(ending, Some(Ending::Quit));
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the program ended"
    );
}

#[test]
fn stdin_from_the_prompt_output_escaped_and_the_programs_own_exit_stays_on_screen() {
    let script = r#"read line; printf 'got %s\033[2J\n' "$line"; echo oops >&2; exit 7"#;
    let mut runtime = runtime(140, 40);
    let mut screen = TraceScreen::new(runtime.reactor(), options(&["sh", "-c", script]))
        .expect("the board starts");
    runtime.begin(&mut screen).expect("size");
    // `>` opens the prompt with "> ": the rest of the line goes to the program's input.
    enter(&mut runtime, '>', "hello");
    let ended = turn_until(&mut runtime, &mut screen, |text| {
        text.contains("exited with status 7") && text.contains("oops")
    });
    assert!(ended.contains("got hello"), "{ended}");
    assert!(ended.contains("exited with status 7"), "{ended}");
    // The program's escape sequence is shown as text, never sent to the terminal.
    let buffer = runtime.terminal().backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|cell| !cell.symbol().contains('\u{1b}')),
        "no raw ESC on screen"
    );
    // The board stays after the program's exit until q.
    for _ in 0..5 {
        assert_eq!(
            runtime
                .turn(&mut screen, Some(Duration::from_millis(10)))
                .expect("turn"),
            None
        );
    }
    runtime.input_mut().push(key(KeyCode::Char('q')));
    assert_eq!(
        runtime
            .turn(&mut screen, Some(Duration::ZERO))
            .expect("turn"),
        Some(Ending::Quit)
    );
}

#[test]
fn detach_leaves_a_started_program_running_untraced() {
    let server = compiled("server", SERVER);
    let mut runtime = runtime(140, 40);
    let mut options = options(&[server.to_str().unwrap(), "0"]);
    options.detach = true;
    let mut screen = TraceScreen::new(runtime.reactor(), options).expect("the board starts");
    runtime.begin(&mut screen).expect("size");
    let pid = screen.pid().expect("a traced program");
    // Without the seccomp filter every syscall stops, and the same calls are shown.
    let shown = turn_until(&mut runtime, &mut screen, |text| {
        text.contains("listen(3, 3) = 0") && text.contains("--detach")
    });
    assert!(shown.contains("listen(3, 3) = 0"), "{shown}");
    assert!(shown.contains("q leaves it running (--detach)"), "{shown}");
    runtime.input_mut().push(key(KeyCode::Char('q')));
    assert_eq!(
        runtime
            .turn(&mut screen, Some(Duration::ZERO))
            .expect("turn"),
        Some(Ending::Quit)
    );
    drop(screen);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("still running");
    assert!(status.contains("TracerPid:\t0\n"), "{status}");
    assert!(!status.contains("State:\tZ"), "{status}");
    // Still a child of this process (the tracer thread forked it): end it and reap it.
    let _ = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status();
    let _ = rustix::process::waitpid(
        rustix::process::Pid::from_raw(pid),
        rustix::process::WaitOptions::empty(),
    );
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}
