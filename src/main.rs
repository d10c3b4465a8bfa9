use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use color_eyre::eyre::{Report, Result, WrapErr};

use sockscope::app::{App, LayoutMode, LectureView};
use sockscope::cli::{
    Cli, CommandLine, ConfigArgs, DemoArgs, DumpArgs, Format, LabArgs, LangArg, ScreenArgs,
    SnapshotArgs, TraceArgs, WatchArgs,
};
use sockscope::command::Located;
use sockscope::command::parse_script;
use sockscope::config::remap::Remapped;
use sockscope::config::{self, KeyBindings};
use sockscope::lab::{HeadlessLab, LabConfig};
use sockscope::model::Snapshot;
use sockscope::report::{
    self, EXIT_BAD_INPUT, EXIT_CHECKS_FAILED, EXIT_IO_ERROR, OutputError, write_output,
};
use sockscope::runtime::terminal::{StartError, run_in_terminal};
use sockscope::scenario::{Lecture, Scenario};
use sockscope::screens::{self, LabScreen, WatchScreen};
use sockscope::text::Lang;
use sockscope::{escape, export, scenario, script, system, text};

/// The lab's settings from the command line: its language and the address `server` binds.
fn lab_config(lang: Lang, bind: Option<std::net::SocketAddr>, allow_external: bool) -> LabConfig {
    let defaults = LabConfig::default();
    LabConfig {
        lang,
        default_bind: bind.unwrap_or(defaults.default_bind),
        allow_external,
        ..defaults
    }
}

/// Parses a whole script, or says where it is wrong (exit status 2, nothing runs).
fn parse_or_report(script: &str, lang: Lang) -> Result<Vec<Located>, ExitCode> {
    parse_script(script).map_err(|error| {
        report::say(&error.localized(lang));
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn lang_of(arg: Option<LangArg>) -> Lang {
    match arg {
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Ko) => Lang::Ko,
        None => Lang::from_env(),
    }
}

fn main() -> ExitCode {
    install_panic_report();
    let (mut cli, matches) = match parse_command_line() {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    // What needs no config file (and must work when it is broken).
    if let Some(code) = without_config(&cli) {
        return code;
    }
    let keys = match apply_config(&mut cli, &matches) {
        Ok(keys) => keys,
        Err(code) => return code,
    };
    let scenario = match scenario_to_play(&cli) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    // Namespaces first: no thread may exist yet (`--net private`, or a scenario's `capture`).
    let wants_capture = scenario.as_ref().is_some_and(|scenario| scenario.capture);
    let wants_wire = scenario.as_ref().is_some_and(|scenario| scenario.wire);
    let _network = match sockscope::net::enter_for(&cli, wants_capture, wants_wire) {
        Ok(network) => network,
        Err(code) => return code,
    };
    finish(dispatch(cli, scenario, &keys))
}

/// The scenario `demo NAME` or `snapshot --demo` will play, loaded before the network is chosen
/// (one that checks segments asks for the private network), and only once. A malformed one ends
/// the run here, with nothing started.
fn scenario_to_play(cli: &Cli) -> Result<Option<Scenario>, ExitCode> {
    let (name, lang) = match &cli.command {
        Some(CommandLine::Snapshot(args)) => (args.demo.as_deref(), args.lang),
        Some(CommandLine::Demo(args)) if !args.print => {
            (args.scenario.as_deref(), args.screen.lang)
        }
        _ => return Ok(None),
    };
    let Some(name) = name else {
        return Ok(None);
    };
    scenario::load(name).map(Some).map_err(|error| {
        report::say(&error.localized(lang_of(lang)));
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// Reads the config file and fills in what the command line left out; the key bindings are
/// returned for the screens. A bad file is said as `FILE:LINE:COLUMN: ...`, status 2.
fn apply_config(cli: &mut Cli, matches: &ArgMatches) -> Result<KeyBindings, ExitCode> {
    let config = config::load(cli.config.as_deref(), Lang::from_env()).map_err(|error| {
        report::say(&error.to_string());
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    config::apply_to(cli, matches, &config);
    sockscope::ui::theme::set_user_colors(config.colors.clone());
    Ok(config.keys)
}

/// `completions`, `man` and `config`: answered from the clap definitions and the built-in
/// tables, without reading the config file.
fn without_config(cli: &Cli) -> Option<ExitCode> {
    let lang = Lang::from_env();
    let text = match &cli.command {
        Some(CommandLine::Completions(args)) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "sockscope", &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
        Some(CommandLine::Man) => {
            let mut out = Vec::new();
            if let Err(error) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
                return Some(output_failed(&OutputError { path: None, error }, lang));
            }
            String::from_utf8_lossy(&out).into_owned()
        }
        Some(CommandLine::Config(args)) => config_command(args, cli, lang),
        _ => return None,
    };
    Some(match write_output(None, text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => output_failed(&error, lang),
    })
}

/// `sockscope config --template | --keys | --path`.
fn config_command(args: &ConfigArgs, cli: &Cli, lang: Lang) -> String {
    if args.template {
        return config::template();
    }
    if args.keys {
        return config::actions_listing(lang);
    }
    let path = cli.config.clone().or_else(config::default_path);
    path.map_or_else(String::new, |path| format!("{}\n", path.display()))
}

/// The report a panic prints (there should be none): coloured only on a terminal.
fn install_panic_report() {
    use color_eyre::config::{HookBuilder, Theme};
    let theme = if report::stderr_is_terminal() {
        Theme::dark()
    } else {
        Theme::new()
    };
    // Installing fails only if a hook was installed before; then that one stays.
    let _ = HookBuilder::default().theme(theme).install();
}

/// The command line, or clap's message (escaped: it quotes the arguments) and its status: 0 for
/// `--help` and `--version`, 2 for a bad argument.
fn parse_command_line() -> Result<(Cli, ArgMatches), ExitCode> {
    let parsed = Cli::command().try_get_matches().and_then(|matches| {
        Cli::check_flags_before_subcommand(&matches)?;
        Cli::from_arg_matches(&matches).map(|cli| (cli, matches))
    });
    let error = match parsed {
        Ok(parsed) => return Ok(parsed),
        Err(error) => error,
    };
    let status = ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_BAD_INPUT));
    if !error.use_stderr() {
        // Help and version on standard output; `--help | head` is no error.
        let _ = write_output(None, error.render().to_string().as_bytes());
        return Err(status);
    }
    // clap quotes the arguments in its message, and its message has lines of its own: the same
    // error from escaped arguments shows them without a control character (a newline in an
    // argument cannot forge a line), and keeps clap's layout.
    let escaped = std::env::args_os().map(|arg| escape::visible(&arg.to_string_lossy()));
    let shown = Cli::try_parse_from(escaped)
        .err()
        .filter(|again| again.kind() == error.kind())
        .unwrap_or(error);
    report::say_lines(&shown.render().to_string());
    Err(status)
}

/// The exit status of a run; an error that ended it is said as one plain line (its causes joined
/// by `: `), with the status for I/O errors, never 1, which means "an expectation failed".
fn finish(result: Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|error: Report| {
        let causes: Vec<String> = error.chain().map(ToString::to_string).collect();
        report::say(&causes.join(": "));
        ExitCode::from(EXIT_IO_ERROR)
    })
}

/// Output that could not be written: said as one line, the I/O status.
fn output_failed(error: &OutputError, lang: Lang) -> ExitCode {
    report::say(&error.message(lang));
    ExitCode::from(EXIT_IO_ERROR)
}

fn dispatch(cli: Cli, scenario: Option<Scenario>, keys: &KeyBindings) -> Result<ExitCode> {
    match cli.command {
        Some(CommandLine::Exec(args)) => Ok(sockscope::net::exec::run(
            args.lab,
            args.host,
            &args.command,
            lang_of(args.lang),
        )),
        Some(CommandLine::Snapshot(args)) => match scenario {
            Some(scenario) => snapshot_demo(&args, &scenario),
            None => snapshot(&args),
        },
        Some(CommandLine::Lab(args)) => Ok(lab(&args, keys)),
        Some(CommandLine::Demo(args)) => Ok(demo(&args, scenario, keys)),
        Some(CommandLine::Dump(args)) => dump(&args),
        Some(CommandLine::Watch(args)) => Ok(watch(&args, keys)),
        Some(CommandLine::Trace(args)) => Ok(trace(&args)),
        // Answered before the config was read.
        Some(CommandLine::Config(_) | CommandLine::Completions(_) | CommandLine::Man) => {
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(lab(&cli.lab, keys)),
    }
}

fn snapshot(args: &SnapshotArgs) -> Result<ExitCode> {
    let lang = lang_of(args.lang);
    if let Some(program) = &args.trace {
        return sockscope::screens::trace_snapshot::snapshot(args, program, lang);
    }
    if let Some(pid) = args.trace_pid {
        return sockscope::screens::trace_snapshot::snapshot_pid(args, pid, lang);
    }
    let parsed = match parse_or_report(args.run.as_deref().unwrap_or_default(), lang) {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    let config = lab_config(lang, args.bind, args.allow_external);
    let mut lab = HeadlessLab::new(config).wrap_err("starting the lab's event loop")?;
    script::run(&mut lab, &parsed)?;
    lab.run_for(args.wait, script::PROBE_EVERY)?;
    let snapshot = lab.snapshot();
    if let Err(error) = write_snapshot(args, &snapshot, lang, None) {
        return Ok(output_failed(&error, lang));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the snapshot in the asked format; text and SVG are the dashboard itself.
fn write_snapshot(
    args: &SnapshotArgs,
    snapshot: &Snapshot,
    lang: Lang,
    lecture: Option<&(LectureView, Option<String>)>,
) -> Result<(), OutputError> {
    let theme = args.theme.unwrap_or_default();
    let screen = || dashboard(args, snapshot, lang, lecture);
    let rendered = match args.format {
        Format::Json => export::json(snapshot),
        Format::Listing => export::listing(snapshot, lang),
        Format::Text => export::buffer_to_text(&screen()),
        Format::Svg => {
            let title = lecture.map(|(view, _)| view.title.clone());
            export::buffer_to_svg(&screen(), &export::svg_options(theme, title))
        }
    };
    write_output(args.output.as_deref(), rendered.as_bytes())
}

/// The dashboard as `snapshot` renders it: a still picture (nothing highlighted as just changed).
fn dashboard(
    args: &SnapshotArgs,
    snapshot: &Snapshot,
    lang: Lang,
    lecture: Option<&(LectureView, Option<String>)>,
) -> ratatui::buffer::Buffer {
    let mut app = App::new(lang, args.theme.unwrap_or_default());
    app.mouse = false;
    app.now_ms = snapshot.at_ms;
    app.apply(snapshot.clone());
    app.changes.clear();
    if args.presenter {
        app.layout = LayoutMode::Presenter;
    }
    if let Some((view, focus)) = lecture {
        app.lecture = Some(view.clone());
        if let Some(name) = focus {
            app.focus_name(name);
        }
    }
    export::render_screen(&app, args.size.columns, args.size.rows)
}

/// `snapshot --demo NAME --format svg --animate`: every step up to `last` (0-based) played on one
/// live lab, each step's dashboard a frame of one animated SVG.
fn snapshot_animated(
    args: &SnapshotArgs,
    scenario: scenario::Scenario,
    last: usize,
    lang: Lang,
) -> Result<ExitCode> {
    let config = lab_config(lang, args.bind, args.allow_external);
    let mut player = scenario::Player::new(scenario, config);
    let mut frames = Vec::new();
    for _ in 0..=last {
        if !player.forward()? {
            break;
        }
        let step = player.played().expect("a step was played");
        let view = step.lecture.view(lang);
        let focus = step.lecture.focus().map(str::to_owned);
        frames.push(dashboard(args, &step.snapshot, lang, Some(&(view, focus))));
    }
    let failures = player
        .played()
        .map(|played| played.failures.clone())
        .unwrap_or_default();
    let theme = args.theme.unwrap_or_default();
    let title = player.scenario().title.get(lang).to_owned();
    let svg = export::buffers_to_animated_svg(
        &frames,
        &export::svg_options(theme, Some(title)),
        args.step_time,
    );
    let written = write_output(args.output.as_deref(), svg.as_bytes());
    for failure in &failures {
        report::say(&failure.message(lang));
    }
    if let Err(error) = written {
        return Ok(output_failed(&error, lang));
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CHECKS_FAILED)
    })
}

/// `snapshot --demo`: plays a scenario up to a step, writes the snapshot, reports failed checks.
fn snapshot_demo(args: &SnapshotArgs, scenario: &Scenario) -> Result<ExitCode> {
    let lang = lang_of(args.lang);
    let count = scenario.steps.len();
    let step = args.step.unwrap_or(count);
    if step == 0 || step > count {
        let message = text::format_count(
            lang,
            "demo.no_such_step",
            count as u64,
            &[("name", &scenario.name)],
        );
        report::say(&message);
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    if args.animate {
        if args.format != Format::Svg {
            report::say(text::get(lang, "config.animate_needs_svg"));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        return snapshot_animated(args, scenario.clone(), step - 1, lang);
    }
    let config = lab_config(lang, args.bind, args.allow_external);
    let played = scenario::play_to(scenario, step - 1, config)?;
    let view = played.lecture.view(lang);
    let focus = played.lecture.focus().map(str::to_owned);
    let written = write_snapshot(args, &played.snapshot, lang, Some(&(view, focus)));
    for failure in &played.failures {
        report::say(&failure.message(lang));
    }
    if let Err(error) = written {
        return Ok(output_failed(&error, lang));
    }
    Ok(if played.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CHECKS_FAILED)
    })
}

/// `demo --list`, `demo NAME --print`, or the dashboard presenting a scenario.
fn demo(args: &DemoArgs, preloaded: Option<Scenario>, keys: &KeyBindings) -> ExitCode {
    let lang = lang_of(args.screen.lang);
    let Some(name) = &args.scenario else {
        let listed = scenario::list(&scenario::builtins(), lang);
        return match write_output(None, listed.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => output_failed(&error, lang),
        };
    };
    let scenario = match preloaded.map_or_else(|| scenario::load(name), Ok) {
        Ok(scenario) => scenario,
        Err(error) => {
            report::say(&error.localized(lang));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if args.print {
        let described = scenario::describe(&scenario, lang);
        return match write_output(None, described.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => output_failed(&error, lang),
        };
    }
    let autoplay = args.autoplay.map(Duration::from_secs);
    let lecture = Lecture::new(scenario, autoplay);
    run_dashboard(
        &args.screen,
        LabConfig {
            allow_external: args.allow_external,
            ..LabConfig::default()
        },
        Vec::new(),
        Some(lecture),
        keys,
    )
}

fn lab(args: &LabArgs, keys: &KeyBindings) -> ExitCode {
    let lang = lang_of(args.screen.lang);
    let script = match parse_or_report(args.run.as_deref().unwrap_or(""), lang) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let config = lab_config(lang, args.bind, args.allow_external);
    run_dashboard(&args.screen, config, script, None, keys)
}

fn run_dashboard(
    screen: &ScreenArgs,
    mut lab: LabConfig,
    script: Vec<Located>,
    lecture: Option<Lecture>,
    keys: &KeyBindings,
) -> ExitCode {
    let lang = lang_of(screen.lang);
    lab.lang = lang;
    let options = screens::lab::Options {
        lab,
        lang,
        theme: screen.theme.unwrap_or_default(),
        refresh: Duration::from_secs(1) / screen.refresh,
        mouse: !screen.no_mouse,
        presenter: screen.presenter,
        script,
        panic_after: screen.panic_after.map(Duration::from_millis),
        lecture,
    };
    let mouse = options.mouse;
    let keys = keys.lab.clone();
    report_start(run_in_terminal(
        lang,
        mouse,
        screen.record.as_deref(),
        |reactor| LabScreen::new(reactor, options).map(|screen| Remapped::new(screen, keys)),
    ))
}

/// The exit status of a screen, or its start failure printed as one line.
fn report_start(outcome: Result<ExitCode, StartError>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(error) => {
            report::say(&error.to_string());
            ExitCode::from(EXIT_IO_ERROR)
        }
    }
}

/// `sockscope dump`: one collection, written through one buffer; notes go to standard error.
fn dump(args: &DumpArgs) -> Result<ExitCode> {
    use std::io::{self, Write};
    let lang = lang_of(args.lang);
    let mut collector =
        system::SystemCollector::new().wrap_err("opening a NETLINK_SOCK_DIAG socket")?;
    let snapshot = collector.collect(!args.no_owners, &args.filter.filter());
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = if args.json {
        system::write_json(&mut out, &snapshot)
    } else {
        system::write_table(&mut out, &snapshot)
    }
    .and_then(|()| out.flush());
    match written {
        // `sockscope dump | head` is not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(error) => return Ok(output_failed(&OutputError { path: None, error }, lang)),
        Ok(()) => {}
    }
    for error in &snapshot.errors {
        report::say(error);
    }
    if let Some(note) = system::owners_note(&snapshot, lang) {
        report::say(&note);
    }
    if args.stats {
        report::say(&system::stats_line(&snapshot, lang));
    }
    Ok(ExitCode::SUCCESS)
}

/// `sockscope watch`: every socket of the machine, live.
fn watch(args: &WatchArgs, keys: &KeyBindings) -> ExitCode {
    let lang = lang_of(args.lang);
    let options = screens::watch::Options {
        lang,
        theme: args.theme.unwrap_or_default(),
        filter: args.filter.filter(),
        owners: !args.no_owners,
        refresh: Duration::from_secs(1) / args.refresh,
        walk_every: args.walk_every,
    };
    let keys = keys.watch.clone();
    report_start(run_in_terminal(
        lang,
        false,
        args.record.as_deref(),
        |reactor| WatchScreen::new(reactor, &options).map(|screen| Remapped::new(screen, keys)),
    ))
}

/// `sockscope trace [--pid PID] -- PROG ARGS`: the traced program's dashboard.
fn trace(args: &TraceArgs) -> ExitCode {
    use sockscope::screens::trace::{Options, Target, TraceScreen};
    use sockscope::trace::program::Program;
    let lang = lang_of(args.screen.lang);
    let script = match parse_or_report(args.run.as_deref().unwrap_or(""), lang) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let target = if let Some(pid) = args.pid {
        Target::Attach(pid)
    } else {
        let words = args.program.iter().map(std::ffi::OsString::from).collect();
        match Program::from_argv(words) {
            Ok(program) => Target::Start(program),
            Err(error) => {
                // The same messages as `snapshot --trace`, naming this command's form.
                let (key, name) = error.key_and_name();
                let key = key.replace("trace.", "trace_board.");
                report::say(&text::format(lang, &key, &[("name", name)]));
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    };
    let options = Options {
        target,
        lab: lab_config(lang, args.bind, args.allow_external),
        lang,
        theme: args.screen.theme.unwrap_or_default(),
        refresh: Duration::from_secs(1) / args.screen.refresh,
        detach: args.detach,
        script,
    };
    report_start(run_in_terminal(
        lang,
        false,
        args.screen.record.as_deref(),
        |reactor| TraceScreen::new(reactor, options),
    ))
}
