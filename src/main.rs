use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use sockscope::app::{App, LayoutMode, LectureView};
use sockscope::cli::{
    Cli, CommandLine, DemoArgs, DumpArgs, Format, LabArgs, LangArg, ScreenArgs, SnapshotArgs,
    WatchArgs,
};
use sockscope::command::Located;
use sockscope::command::parse_script;
use sockscope::lab::{Lab, LabConfig};
use sockscope::model::Snapshot;
use sockscope::text::Lang;
use sockscope::{dashboard, export, scenario, script, system, text, watch};

/// Exit status for input the user must fix (a malformed script).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the kernel contradicted a scenario's expectations.
const EXIT_CHECKS_FAILED: u8 = 1;

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
        eprintln!("sockscope: {}", error.localized(lang));
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

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    match cli.command {
        Some(CommandLine::Snapshot(args)) => snapshot(&args),
        Some(CommandLine::Lab(args)) => lab(&args),
        Some(CommandLine::Demo(args)) => demo(&args),
        Some(CommandLine::Dump(args)) => dump(&args),
        Some(CommandLine::Watch(args)) => watch(&args),
        None => lab(&cli.lab),
    }
}

fn snapshot(args: &SnapshotArgs) -> Result<ExitCode> {
    if let Some(demo) = &args.demo {
        return snapshot_demo(args, demo);
    }
    let lang = lang_of(args.lang);
    let parsed = match parse_or_report(args.run.as_deref().unwrap_or_default(), lang) {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    let config = lab_config(lang, args.bind, args.allow_external);
    let mut lab = Lab::new(config).wrap_err("starting the lab's event loop")?;
    script::run(&mut lab, &parsed)?;
    lab.run_for(args.wait, script::PROBE_EVERY)?;
    let snapshot = lab.snapshot();
    write_snapshot(args, &snapshot, lang, None)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the snapshot in the asked format; text and SVG are the dashboard itself.
fn write_snapshot(
    args: &SnapshotArgs,
    snapshot: &Snapshot,
    lang: Lang,
    lecture: Option<&(LectureView, Option<String>)>,
) -> Result<()> {
    let theme = args.theme.unwrap_or_default();
    let screen = || {
        let mut app = App::new(lang, theme);
        app.mouse = false;
        app.now_ms = snapshot.at_ms;
        app.apply(snapshot.clone());
        // A still picture has no "just changed": nothing is highlighted.
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
    };
    let rendered = match args.format {
        Format::Json => export::json(snapshot),
        Format::Listing => export::listing(snapshot, lang),
        Format::Text => export::buffer_to_text(&screen()),
        Format::Svg => {
            let title = lecture.map(|(view, _)| view.title.clone());
            export::buffer_to_svg(&screen(), &export::svg_options(theme, title))
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .wrap_err_with(|| format!("writing {}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(())
}

/// `snapshot --demo`: plays a scenario up to a step, writes the snapshot, reports failed checks.
fn snapshot_demo(args: &SnapshotArgs, demo: &str) -> Result<ExitCode> {
    let lang = lang_of(args.lang);
    let scenario = match scenario::load(demo) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("sockscope: {}", error.localized(lang));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let count = scenario.steps.len();
    let step = args.step.unwrap_or(count);
    if step == 0 || step > count {
        let count = count.to_string();
        let message = text::format(
            lang,
            "demo.no_such_step",
            &[("count", &count), ("name", &scenario.name)],
        );
        eprintln!("sockscope: {message}");
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let config = lab_config(lang, args.bind, args.allow_external);
    let played = scenario::play_to(&scenario, step - 1, config)?;
    let current = &scenario.steps[step - 1];
    let view = LectureView {
        title: scenario.title.get(lang).to_owned(),
        step,
        steps: count,
        narration: current.say.get(lang).to_owned(),
        failures: played
            .failures
            .iter()
            .map(|failure| failure.message(lang))
            .collect(),
        autoplay: None,
    };
    write_snapshot(
        args,
        &played.snapshot,
        lang,
        Some(&(view, current.focus.clone())),
    )?;
    for failure in &played.failures {
        eprintln!("sockscope: {}", failure.message(lang));
    }
    Ok(if played.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CHECKS_FAILED)
    })
}

/// `demo --list`, `demo NAME --print`, or the dashboard presenting a scenario.
fn demo(args: &DemoArgs) -> Result<ExitCode> {
    let lang = lang_of(args.screen.lang);
    let Some(name) = &args.scenario else {
        print!("{}", scenario::list(&scenario::builtins(), lang));
        return Ok(ExitCode::SUCCESS);
    };
    let scenario = match scenario::load(name) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("sockscope: {}", error.localized(lang));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    if args.print {
        print!("{}", scenario::describe(&scenario, lang));
        return Ok(ExitCode::SUCCESS);
    }
    let autoplay = args.autoplay.map(Duration::from_secs);
    let lecture = dashboard::Lecture::new(scenario, autoplay);
    run_dashboard(
        &args.screen,
        LabConfig {
            allow_external: args.allow_external,
            ..LabConfig::default()
        },
        Vec::new(),
        Some(lecture),
    )
}

fn lab(args: &LabArgs) -> Result<ExitCode> {
    let lang = lang_of(args.screen.lang);
    let script = match parse_or_report(args.run.as_deref().unwrap_or(""), lang) {
        Ok(parsed) => parsed,
        Err(code) => return Ok(code),
    };
    let config = lab_config(lang, args.bind, args.allow_external);
    run_dashboard(&args.screen, config, script, None)
}

fn run_dashboard(
    screen: &ScreenArgs,
    mut lab: LabConfig,
    script: Vec<Located>,
    lecture: Option<dashboard::Lecture>,
) -> Result<ExitCode> {
    let lang = lang_of(screen.lang);
    lab.lang = lang;
    let options = dashboard::Options {
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
    match dashboard::run(options)? {
        // The conventional status of a process ended by a signal.
        dashboard::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
        dashboard::Ending::Quit | dashboard::Ending::InputClosed => Ok(ExitCode::SUCCESS),
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
        other => other.wrap_err("writing the dump")?,
    }
    for error in &snapshot.errors {
        eprintln!("sockscope: {error}");
    }
    if let Some(note) = system::owners_note(&snapshot, lang) {
        eprintln!("sockscope: {note}");
    }
    if args.stats {
        eprintln!("sockscope: {}", system::stats_line(&snapshot, lang));
    }
    Ok(ExitCode::SUCCESS)
}

/// `sockscope watch`: every socket of the machine, live.
fn watch(args: &WatchArgs) -> Result<ExitCode> {
    let options = watch::Options {
        lang: lang_of(args.lang),
        theme: args.theme.unwrap_or_default(),
        filter: args.filter.filter(),
        owners: !args.no_owners,
        refresh: Duration::from_secs(1) / args.refresh,
    };
    match watch::run(&options)? {
        dashboard::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
        dashboard::Ending::Quit | dashboard::Ending::InputClosed => Ok(ExitCode::SUCCESS),
    }
}
