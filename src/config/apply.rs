//! The config file under the command line: each option the file sets fills in the flag that was
//! not given. Whether a flag with a default (`--net`, `--refresh`) was given is asked of clap's
//! matches, so `--refresh 10` still wins over `refresh = 5`.

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::load::Config;
use crate::cli::{Cli, CommandLine, LabArgs, LangArg, NetArg, ScreenArgs};
use crate::text::Lang;

/// Fills in `cli` from `config` where the command line (`matches`) said nothing.
pub fn apply_to(cli: &mut Cli, matches: &ArgMatches, config: &Config) {
    let lang = config.lang.map(|lang| match lang {
        Lang::En => LangArg::En,
        Lang::Ko => LangArg::Ko,
    });
    // The subcommand's own matches (the lab's flags are the top level's when there is none).
    let sub = matches.subcommand().map_or(matches, |(_, sub)| sub);
    let given = |id: &str| sub.value_source(id) == Some(ValueSource::CommandLine);
    match &mut cli.command {
        None => lab(&mut cli.lab, config, lang, &given),
        Some(CommandLine::Lab(args)) => lab(args, config, lang, &given),
        Some(CommandLine::Demo(args)) => {
            screen(&mut args.screen, config, lang, &given);
            net_unless_given(&mut args.net, config, &given);
        }
        Some(CommandLine::Snapshot(args)) => {
            args.lang = args.lang.or(lang);
            args.theme = args.theme.or(config.theme);
            args.bind = args.bind.or(config.bind);
            net_unless_given(&mut args.net, config, &given);
        }
        Some(CommandLine::Watch(args)) => {
            args.lang = args.lang.or(lang);
            args.theme = args.theme.or(config.theme);
        }
        Some(CommandLine::Trace(args)) => {
            screen(&mut args.screen, config, lang, &given);
            args.bind = args.bind.or(config.bind);
        }
        Some(CommandLine::Dump(args)) => args.lang = args.lang.or(lang),
        Some(CommandLine::Exec(args)) => args.lang = args.lang.or(lang),
        Some(CommandLine::Config(_) | CommandLine::Completions(_) | CommandLine::Man) => {}
    }
}

fn lab(args: &mut LabArgs, config: &Config, lang: Option<LangArg>, given: &dyn Fn(&str) -> bool) {
    screen(&mut args.screen, config, lang, given);
    net(&mut args.net, config, given);
    args.bind = args.bind.or(config.bind);
}

fn screen(
    args: &mut ScreenArgs,
    config: &Config,
    lang: Option<LangArg>,
    given: &dyn Fn(&str) -> bool,
) {
    args.lang = args.lang.or(lang);
    args.theme = args.theme.or(config.theme);
    if let Some(refresh) = config.refresh
        && !given("refresh")
    {
        args.refresh = refresh;
    }
    if config.mouse == Some(false) {
        args.no_mouse = true;
    }
}

/// For `demo` and `snapshot`, where no `--net` lets a scenario that wants the capture choose
/// the private network: the config's network, when it names one, is a choice like the flag.
fn net_unless_given(arg: &mut Option<NetArg>, config: &Config, given: &dyn Fn(&str) -> bool) {
    if let Some(net) = config.net
        && !given("net")
    {
        *arg = Some(net);
    }
}

fn net(arg: &mut NetArg, config: &Config, given: &dyn Fn(&str) -> bool) {
    if let Some(net) = config.net
        && !given("net")
    {
        *arg = net;
    }
}
