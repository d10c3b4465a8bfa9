//! The lab's networks and the segments in them (DESIGN.md, "Sources and networks").
//!
//! - [`private`] — `--net private`: a network namespace of sockscope's own (in a new user namespace
//!   for an ordinary user), entered at the very start of `main`; [`lab_file`] lets
//!   [`exec`] (`sockscope exec -- CMD`) find it from another terminal.
//! - [`capture`] — an `AF_PACKET` socket on `lo` with a kernel-side [`filter`]; [`decode`] turns
//!   packets into segments and [`flows`] orders them per connection; [`lab_capture`] is the lab's
//!   view of it (names, ports, snapshot); [`ladder`] derives each side's states from the segments.

pub mod capture;
pub mod decode;
pub mod exec;
pub mod filter;
pub mod flows;
pub mod lab_capture;
pub mod lab_file;
pub mod ladder;
pub mod nat;
pub mod private;
pub mod wire;

use std::process::ExitCode;
use std::sync::OnceLock;

use crate::cli::{Cli, CommandLine, LangArg, NetArg, WireArgs};
use crate::model::Network;
use crate::text::{self, Lang};

/// Exit status when `--net private` cannot be had.
const EXIT_NO_PRIVATE_NETWORK: u8 = 1;

/// The network a run entered; it must live until the program ends (it holds the file `sockscope
/// exec` finds the lab by).
#[derive(Debug)]
pub enum Entered {
    Private(private::PrivateNetwork),
    Wire(wire::WireNetwork),
}

static NETWORK: OnceLock<Network> = OnceLock::new();

/// The network this process's lab runs in: `Private` once [`private::enter`] succeeded.
#[must_use]
pub fn network() -> Network {
    NETWORK.get().copied().unwrap_or_default()
}

fn set_network(network: Network) {
    let _ = NETWORK.set(network);
}

/// For `main`, before anything else (no thread may exist yet): enters the private network when the
/// subcommand asks for `--net private`, or when it plays a scenario that needs the capture
/// (`scenario_wants_capture`) and no `--net` was given. The returned value must live until the
/// program ends (it holds the file `sockscope exec` finds the lab by). On failure of an explicit
/// `--net private` the message is printed and the exit status returned; a private network the
/// scenario only wished for falls back to the host network, with a note.
pub fn enter_for(
    cli: &Cli,
    scenario_wants_capture: bool,
    scenario_wants_wire: bool,
) -> Result<Option<Entered>, ExitCode> {
    let (net, lang, wire) = match &cli.command {
        None => (Some(cli.lab.net), cli.lab.screen.lang, cli.lab.wire),
        Some(CommandLine::Lab(args)) => (Some(args.net), args.screen.lang, args.wire),
        Some(CommandLine::Demo(args)) => (args.net, args.screen.lang, args.wire),
        Some(CommandLine::Snapshot(args)) => (args.net, args.lang, args.wire),
        Some(_) => return Ok(None),
    };
    // A lecture that needs the wire selects it; no other network can play it.
    if scenario_wants_wire && net.is_some_and(|net| net != NetArg::Wire) {
        crate::report::say(text::get(lang_of(lang), "wire.lecture_needs_wire"));
        return Err(ExitCode::from(crate::report::EXIT_BAD_INPUT));
    }
    let net = net.or(scenario_wants_wire.then_some(NetArg::Wire));
    if net == Some(NetArg::Wire) {
        let lang = lang_of(lang);
        return enter_wire(wire, lang, scenario_wants_wire)
            .map(|entered| entered.map(Entered::Wire));
    }
    let wished = net.is_none() && scenario_wants_capture;
    if net.unwrap_or(NetArg::Host) == NetArg::Host && !wished {
        return Ok(None);
    }
    let lang = lang_of(lang);
    let fall_back = |why: String| {
        crate::report::say(&text::format(
            lang,
            "lecture_segments.private_unavailable",
            &[("why", &why)],
        ));
        Ok(None)
    };
    // A wish is not tried where it is known to fail: a failure after the unshare would leave the
    // process in a namespace it cannot leave.
    if wished && let Some(restriction) = private::userns_restriction() {
        return fall_back(restriction.message(lang));
    }
    match private::enter() {
        Ok(network) => Ok(Some(Entered::Private(network))),
        // Nothing was changed yet: the host network is still this process's.
        Err(
            error @ (private::EnterError::Threads(_) | private::EnterError::Failed("unshare", _)),
        ) if wished => fall_back(error.message(lang)),
        Err(error) => {
            eprintln!("sockscope: {}", error.message(lang));
            Err(ExitCode::from(EXIT_NO_PRIVATE_NETWORK))
        }
    }
}

fn lang_of(lang: Option<LangArg>) -> Lang {
    match lang {
        Some(LangArg::En) => Lang::En,
        Some(LangArg::Ko) => Lang::Ko,
        None => Lang::from_env(),
    }
}

/// `--net wire`: the hosts are made, or one line says why not (status 74: the system cannot; 2:
/// the addresses given do not fit together).
fn enter_wire(
    args: WireArgs,
    lang: Lang,
    for_lecture: bool,
) -> Result<Option<wire::WireNetwork>, ExitCode> {
    if let Err(why) = wire::address::HostAddress::check_pair(args.wire_a, args.wire_b) {
        crate::report::say(&text::format(lang, "wire.bad_addresses", &[("why", &why)]));
        return Err(ExitCode::from(crate::report::EXIT_BAD_INPUT));
    }
    match wire::enter(args.wire_a, args.wire_b) {
        Ok(network) => Ok(Some(network)),
        Err(error) => {
            let message = wire::failure_message(&error, lang);
            let message = if for_lecture {
                text::format(lang, "wire.lecture_no_wire", &[("why", &message)])
            } else {
                message
            };
            crate::report::say(&message);
            Err(ExitCode::from(crate::report::EXIT_IO_ERROR))
        }
    }
}
