use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use sockscope::cli::{Cli, CommandLine, Format, LabArgs, LangArg, SnapshotArgs};
use sockscope::command::parse_script;
use sockscope::lab::{Lab, LabConfig};
use sockscope::text::Lang;
use sockscope::{dashboard, export, script};

/// Exit status for input the user must fix (a malformed script).
const EXIT_BAD_INPUT: u8 = 2;

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
        None => lab(&cli.lab),
    }
}

fn snapshot(args: &SnapshotArgs) -> Result<ExitCode> {
    let lang = lang_of(args.lang);
    let parsed = match parse_script(&args.run) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("sockscope: {}", error.localized(lang));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let mut config = LabConfig {
        lang,
        ..LabConfig::default()
    };
    if let Some(bind) = args.bind {
        config.default_bind = bind;
    }
    let mut lab = Lab::new(config).wrap_err("starting the lab's event loop")?;
    script::run(&mut lab, &parsed)?;
    lab.run_for(args.wait, script::PROBE_EVERY)?;
    let snapshot = lab.snapshot();
    let rendered = match args.format {
        Format::Json => export::json(&snapshot),
        Format::Text => export::listing(&snapshot, lang),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .wrap_err_with(|| format!("writing {}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn lab(args: &LabArgs) -> Result<ExitCode> {
    let lang = lang_of(args.lang);
    let script = match parse_script(args.run.as_deref().unwrap_or("")) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("sockscope: {}", error.localized(lang));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let mut lab = LabConfig {
        lang,
        ..LabConfig::default()
    };
    if let Some(bind) = args.bind {
        lab.default_bind = bind;
    }
    let options = dashboard::Options {
        lab,
        lang,
        theme: args.theme.unwrap_or_default(),
        refresh: Duration::from_secs(1) / args.refresh,
        mouse: !args.no_mouse,
        script,
        panic_after: args.panic_after.map(Duration::from_millis),
    };
    match dashboard::run(options)? {
        // The conventional status of a process ended by a signal.
        dashboard::Ending::Signal(signal) => Ok(ExitCode::from(128 + signal as u8)),
        dashboard::Ending::Quit | dashboard::Ending::InputClosed => Ok(ExitCode::SUCCESS),
    }
}
