//! `sockscope snapshot --trace 'PROG ARGS' [--run CMDS] [--wait DUR] --format json`: the lab and a
//! traced program side by side, with no terminal.
//!
//! Order: the program starts first and runs until it waits for the network (its first `accept`,
//! `poll`, `recv`...: a server is listening by then) or ends, at most [`SETTLE_LIMIT`]; then the
//! lab's commands run (so `clients c 6 127.0.0.1:PORT` finds the program's listener), the loop
//! runs for `--wait`, and both are read at the same instant. The program is then ended.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use serde::Serialize;

use crate::cli::{Format, SnapshotArgs};
use crate::command::{Located, parse_script};
use crate::kernel::sock_diag::SockDiag;
use crate::lab::{HeadlessLab, LabConfig};
use crate::model::Snapshot;
use crate::report::{self, EXIT_BAD_INPUT, EXIT_IO_ERROR, write_output};
use crate::script;
use crate::text::{self, Lang};
use crate::trace::board::TraceBoard;
use crate::trace::event::Ending;
use crate::trace::program::Program;
use crate::trace::session::{GRACE, ProgramSnapshot, SETTLE_LIMIT, TracedRun};
use crate::trace::tracer::{Limits, StartError};

/// The snapshot JSON: the lab's fields as `snapshot --run` writes them, and `program`.
#[derive(Serialize)]
struct Combined<'a> {
    #[serde(flatten)]
    lab: &'a Snapshot,
    program: &'a ProgramSnapshot,
}

fn bad_input(message: &str) -> ExitCode {
    report::say(message);
    ExitCode::from(EXIT_BAD_INPUT)
}

/// The lab's commands (`--run`), or the exit status when they cannot run: a listing asked for (a
/// traced program has only JSON, text and SVG) or a mistake in the script.
fn lab_script(args: &SnapshotArgs, lang: Lang) -> Result<Vec<Located>, ExitCode> {
    if args.format == Format::Listing {
        return Err(bad_input(text::get(lang, "trace.json_only")));
    }
    parse_script(args.run.as_deref().unwrap_or_default())
        .map_err(|error| bad_input(&error.localized(lang)))
}

/// The headless lab as `--bind` and `--allow-external` ask, and the `sock_diag` socket that
/// reads the program's sockets.
fn open_lab(args: &SnapshotArgs, lang: Lang) -> Result<(HeadlessLab, SockDiag)> {
    let defaults = LabConfig::default();
    let config = LabConfig {
        lang,
        default_bind: args.bind.unwrap_or(defaults.default_bind),
        allow_external: args.allow_external,
        ..defaults
    };
    let lab = HeadlessLab::new(config).wrap_err("starting the lab's event loop")?;
    let diag = SockDiag::new().wrap_err("opening a NETLINK_SOCK_DIAG socket")?;
    Ok((lab, diag))
}

/// Runs the lab for `wait`, taking in the program's news between turns; `until_finished`: stop
/// early once the program has ended (nothing of it changes any more).
fn run_beside(
    lab: &mut HeadlessLab,
    run: &mut TracedRun,
    wait: Duration,
    until_finished: bool,
) -> std::io::Result<()> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        lab.run_for(left.min(script::PROBE_EVERY), script::PROBE_EVERY)?;
        run.pump();
        if until_finished && run.log().finished {
            return Ok(());
        }
    }
}

/// Runs `snapshot --trace LINE`.
pub fn snapshot(args: &SnapshotArgs, line: &str, lang: Lang) -> Result<ExitCode> {
    let parsed = match lab_script(args, lang) {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    let program = match Program::parse(line) {
        Ok(program) => program,
        Err(error) => {
            let (key, name) = error.key_and_name();
            return Ok(bad_input(&text::format(lang, key, &[("name", name)])));
        }
    };
    let (mut lab, mut diag) = open_lab(args, lang)?;
    let shown = program.shown();
    let mut run = match TracedRun::start(program, Limits::default(), None) {
        Ok(run) => run,
        Err(error) => {
            report::say(&super::trace::start_message(lang, &shown, &error));
            // The program's fault (not found by execve, not a program) is bad input.
            let code = if matches!(error, StartError::Child { .. }) {
                EXIT_BAD_INPUT
            } else {
                EXIT_IO_ERROR
            };
            return Ok(ExitCode::from(code));
        }
    };
    run.settle(SETTLE_LIMIT);
    script::run(&mut lab, &parsed)?;
    run_beside(&mut lab, &mut run, args.wait, true)?;
    lab.invalidate_kernel_view();
    let lab_snapshot = lab.snapshot();
    let program_snapshot = run.snapshot(&mut diag);
    run.end(GRACE);
    if let Some(ending) = program_snapshot.exit {
        let message = match ending {
            Ending::Exited(status) => text::format(
                lang,
                "trace.exited",
                &[("name", &shown), ("status", &status.to_string())],
            ),
            Ending::Signaled(signal) => text::format(
                lang,
                "trace.killed",
                &[("name", &shown), ("signal", &signal.to_string())],
            ),
        };
        report::say(&message);
    }
    Ok(write(args, lang, &lab_snapshot, &program_snapshot, false))
}

/// Writes the lab and the program: JSON, or the trace dashboard as text or SVG.
fn write(
    args: &SnapshotArgs,
    lang: Lang,
    lab: &Snapshot,
    program: &ProgramSnapshot,
    attached: bool,
) -> ExitCode {
    let rendered = match args.format {
        Format::Json => {
            let combined = Combined { lab, program };
            let mut json =
                serde_json::to_string_pretty(&combined).expect("the snapshot serializes");
            json.push('\n');
            crate::escape::json_controls(json)
        }
        Format::Text | Format::Svg | Format::Listing => {
            let theme = args.theme.unwrap_or_default();
            let mut board = TraceBoard::new(lang, theme, program.clone());
            board.attached = attached;
            board.take_syscalls(
                program.syscalls_dropped + program.syscalls.len() as u64,
                program.syscalls.iter(),
            );
            board.lab = lab.clone();
            let screen = render_board(&board, args.size.columns, args.size.rows);
            if args.format == Format::Svg {
                let title = Some(format!("sockscope trace {}", program.command.join(" ")));
                crate::export::buffer_to_svg(&screen, &crate::export::svg_options(theme, title))
            } else {
                crate::export::buffer_to_text(&screen)
            }
        }
    };
    if let Err(error) = write_output(args.output.as_deref(), rendered.as_bytes()) {
        report::say(&error.message(lang));
        return ExitCode::from(EXIT_IO_ERROR);
    }
    ExitCode::SUCCESS
}

/// The trace dashboard drawn at `columns` x `rows`, as the terminal would show it.
#[must_use]
pub fn render_board(board: &TraceBoard, columns: u16, rows: u16) -> ratatui::buffer::Buffer {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(columns, rows))
        .expect("a test backend never fails");
    terminal
        .draw(|frame| crate::ui::trace_board::render(frame, board))
        .expect("drawing into memory never fails");
    terminal.backend().buffer().clone()
}

/// `snapshot --trace-pid PID`: attach to a running process (where ptrace permits), run the lab's
/// commands, wait, and write both; the process is detached and left running. Where ptrace is not
/// permitted, the descriptors and sockets `/proc` and `sock_diag` allow, and why no syscalls.
pub fn snapshot_pid(args: &SnapshotArgs, pid: i32, lang: Lang) -> Result<ExitCode> {
    let parsed = match lab_script(args, lang) {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    if pid <= 0 || !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Ok(bad_input(&text::format(
            lang,
            "trace_board.no_such_pid",
            &[("pid", &pid.to_string())],
        )));
    }
    let (mut lab, mut diag) = open_lab(args, lang)?;
    let mut run = match TracedRun::attach(pid, Limits::default(), None) {
        Ok(run) => run,
        Err(StartError::Attach(error)) => {
            let reason = crate::trace::attach::why_not(pid, &error, lang);
            report::say(&reason);
            let program = ProgramSnapshot::untraced(pid, &mut diag, reason);
            script::run(&mut lab, &parsed)?;
            lab.run_for(args.wait, script::PROBE_EVERY)?;
            lab.invalidate_kernel_view();
            let lab_snapshot = lab.snapshot();
            return Ok(write(args, lang, &lab_snapshot, &program, true));
        }
        Err(error) => {
            report::say(&error.to_string());
            return Ok(ExitCode::from(EXIT_IO_ERROR));
        }
    };
    script::run(&mut lab, &parsed)?;
    // An attached process is watched for the whole `--wait`, whatever it does.
    run_beside(&mut lab, &mut run, args.wait, false)?;
    lab.invalidate_kernel_view();
    let lab_snapshot = lab.snapshot();
    let program = run.snapshot(&mut diag);
    run.detach();
    Ok(write(args, lang, &lab_snapshot, &program, true))
}
