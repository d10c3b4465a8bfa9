//! The command line (clap definitions only; `main.rs` dispatches).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::model::TcpState;
use crate::settings::ThemeName;
use crate::system::Filter;

#[derive(Debug, Parser)]
#[command(
    name = "sockscope",
    version,
    about = "Makes sockets visible: descriptor table, backlog queues, TCP states and ports, as the kernel reports them"
)]
pub struct Cli {
    /// The config file to read instead of `$XDG_CONFIG_HOME/sockscope/config.toml`.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<CommandLine>,
    #[command(flatten)]
    pub lab: LabArgs,
}

impl Cli {
    /// The lab's flags belong to the lab: before another subcommand they are an error, not
    /// silently ignored (only the global `--config` may stand there). clap's own
    /// `args_conflicts_with_subcommands` would refuse the global flag too.
    pub fn check_flags_before_subcommand(matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        use clap::CommandFactory;
        use clap::parser::ValueSource;
        let Some((name, _)) = matches.subcommand() else {
            return Ok(());
        };
        let mut command = Self::command();
        let misplaced = command
            .get_arguments()
            .filter(|arg| !arg.is_global_set())
            .find(|arg| {
                matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine)
            })
            .map(|arg| {
                arg.get_long()
                    .unwrap_or_else(|| arg.get_id().as_str())
                    .to_owned()
            });
        match misplaced {
            Some(flag) => Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("the subcommand '{name}' cannot be used with '--{flag}' (put it after the subcommand)"),
            )),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CommandLine {
    /// The interactive lab (the default).
    Lab(LabArgs),
    /// Runs commands against real sockets with no terminal and writes the result.
    Snapshot(SnapshotArgs),
    /// Lecture scenarios: list the built-ins, or show one scenario's steps and narration.
    Demo(DemoArgs),
    /// Every socket on the machine, live, with its owning process.
    Watch(WatchArgs),
    /// Your own program as the lab: its descriptors, sockets, queues and syscalls, live.
    Trace(TraceArgs),
    /// Runs a command inside a running lab's private network (`--net private`), like `ip netns exec`.
    Exec(ExecArgs),
    /// One snapshot of every TCP and UDP socket on the machine, like `ss -tuanp`.
    Dump(DumpArgs),
    /// The config file: where it is read from, a commented template, the bindable actions.
    Config(ConfigArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Prints the manual page (roff), for `man -l -` or a man directory.
    Man,
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["template", "keys", "path"])))]
pub struct ConfigArgs {
    /// Print a config file with every option, commented, at its default.
    #[arg(long)]
    pub template: bool,
    /// List every bindable action of every screen with its default key.
    #[arg(long)]
    pub keys: bool,
    /// Print the path of the config file sockscope reads (whether or not it exists).
    #[arg(long)]
    pub path: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Ko,
}

/// Which network the lab's sockets live in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum NetArg {
    /// The machine's loopback (capturing segments needs root).
    #[default]
    Host,
    /// A network namespace of sockscope's own: its own loopback, segments always captured.
    Private,
    /// Two hosts, a and b (namespaces with a TUN device each), joined by sockscope, which relays,
    /// holds, delays and drops their segments (root, where /dev/net/tun is root-only).
    Wire,
}

/// The hosts' addresses under `--net wire`.
#[derive(Debug, Clone, Copy, Args)]
pub struct WireArgs {
    /// With --net wire: host a's address and prefix, inside 198.18.0.0/15.
    #[arg(long, value_name = "ADDR/PREFIX", default_value = "198.18.0.1/24", value_parser = crate::net::wire::address::HostAddress::parse)]
    pub wire_a: crate::net::wire::address::HostAddress,
    /// With --net wire: host b's address and prefix (the same network as host a's).
    #[arg(long, value_name = "ADDR/PREFIX", default_value = "198.18.0.2/24", value_parser = crate::net::wire::address::HostAddress::parse)]
    pub wire_b: crate::net::wire::address::HostAddress,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The lab's process id (default: the only private lab running).
    #[arg(long, value_name = "PID")]
    pub lab: Option<u32>,
    /// In a wire lab: the host to run the command on (default: a).
    #[arg(long, value_name = "a|b", value_parser = parse_host)]
    pub host: Option<crate::model::WireHost>,
    /// Language of the error messages.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Lab commands to run at start (e.g. "server srv 127.0.0.1:0 2; clients c 3 srv").
    #[arg(long, value_name = "CMDS")]
    pub run: Option<String>,
    /// The lab's network: the machine's loopback, or a private one of its own.
    #[arg(long, value_enum, default_value_t = NetArg::Host)]
    pub net: NetArg,
    /// Address `server` binds when none is given.
    #[arg(long, value_name = "ADDR", value_parser = parse_bind)]
    pub bind: Option<SocketAddr>,
    /// Allow what is refused by default: wildcard or non-loopback addresses, the kernel's
    /// autobind to 0.0.0.0 (listen/sendto on an unbound socket), targets off loopback.
    #[arg(long)]
    pub allow_external: bool,
    #[command(flatten)]
    pub wire: WireArgs,
    #[command(flatten)]
    pub screen: ScreenArgs,
}

fn parse_host(text: &str) -> Result<crate::model::WireHost, String> {
    crate::model::WireHost::parse(text)
        .ok_or_else(|| format!("'{text}' is no host of the wire (a or b)"))
}

/// How the dashboard looks and behaves (shared by `lab` and `demo`).
#[derive(Debug, Clone, Args)]
pub struct ScreenArgs {
    /// Language of every label and explanation (default: from the locale).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Colour theme: default, light, high-contrast (for projectors).
    #[arg(long, value_name = "NAME", value_parser = parse_theme)]
    pub theme: Option<ThemeName>,
    /// Kernel probes per second.
    #[arg(long, value_name = "HZ", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub refresh: u32,
    /// Do not capture the mouse (keeps the terminal's own text selection).
    #[arg(long)]
    pub no_mouse: bool,
    /// Start in the presenter layout: larger narration, fewer panels (toggle with L).
    #[arg(long)]
    pub presenter: bool,
    /// Panics after this many milliseconds (for testing that the terminal is restored).
    /// Bounded (a day) so that the deadline it sets can always be computed.
    #[arg(long, hide = true, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=86_400_000))]
    pub panic_after: Option<u64>,
    /// Record the session as an asciicast v2 file (`asciinema play FILE.cast` replays it).
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
}

fn parse_theme(text: &str) -> Result<ThemeName, String> {
    ThemeName::parse(text)
        .ok_or_else(|| format!("unknown theme '{text}' (try default, light, high-contrast)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The dashboard, rendered as text.
    Text,
    /// The dashboard, rendered as an SVG image.
    Svg,
    /// The Snapshot JSON (the model, not the picture).
    Json,
    /// Every fact of the snapshot as a plain list, one line each.
    Listing,
}

/// A screen size, `COLSxROWS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub columns: u16,
    pub rows: u16,
}

/// The largest COLS and ROWS `--size` accepts.
pub const SIZE_MAX: u16 = 1000;

fn parse_size(text: &str) -> Result<Size, String> {
    let invalid = || format!("'{text}' is not a size: write COLSxROWS, like 120x40");
    let (columns, rows) = text.split_once(['x', 'X']).ok_or_else(invalid)?;
    // Any run of digits is a number, however long: a too-large one is out of range, not "not a size".
    let number = |part: &str| -> Option<u64> {
        let part = part.trim();
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().unwrap_or(u64::MAX))
    };
    let (columns, rows) = number(columns).zip(number(rows)).ok_or_else(invalid)?;
    let in_range = |n: u64| (1..=u64::from(SIZE_MAX)).contains(&n);
    if !in_range(columns) || !in_range(rows) {
        return Err(format!(
            "'{text}' is out of range: columns and rows must each be 1 to {SIZE_MAX}"
        ));
    }
    Ok(Size {
        columns: columns as u16,
        rows: rows as u16,
    })
}

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("source").required(true).multiple(true).args(["run", "demo", "trace", "trace_pid"])))]
pub struct SnapshotArgs {
    /// Lab commands to run (the same language as the `:` prompt).
    #[arg(long, value_name = "CMDS")]
    pub run: Option<String>,
    /// A scenario (built-in name or TOML file) to play instead of --run; its checks apply.
    #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["run", "trace"])]
    pub demo: Option<String>,
    /// A program to start under trace, with its arguments as one shell-quoted line; --run's
    /// commands run once it waits for the network (JSON only).
    #[arg(long, value_name = "'PROG ARGS'")]
    pub trace: Option<String>,
    /// A running process to attach to (or, where ptrace is not permitted, to show from /proc and
    /// `sock_diag` with the reason).
    #[arg(long, value_name = "PID", conflicts_with_all = ["trace", "demo"])]
    pub trace_pid: Option<i32>,
    /// With --demo: play up to this step (1-based; default: the last).
    #[arg(long, value_name = "N", requires = "demo")]
    pub step: Option<usize>,
    /// The lab's network: the machine's loopback, or a private one of its own (default: host; for
    /// a --demo scenario that says `capture = true`, private).
    #[arg(long, value_enum)]
    pub net: Option<NetArg>,
    /// With --run: how long the event loop runs after the commands, before the kernel is asked
    /// (at most 24h).
    #[arg(long, value_name = "DUR", default_value = "100ms", value_parser = parse_wait)]
    pub wait: Duration,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The screen size the dashboard is rendered at (text and svg).
    #[arg(long, value_name = "COLSxROWS", default_value = "120x40", value_parser = parse_size)]
    pub size: Size,
    /// Where to write (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Address `server` binds when none is given.
    #[arg(long, value_name = "ADDR", value_parser = parse_bind)]
    pub bind: Option<SocketAddr>,
    /// Allow what is refused by default: wildcard or non-loopback addresses, the kernel's
    /// autobind to 0.0.0.0 (listen/sendto on an unbound socket), targets off loopback.
    #[arg(long)]
    pub allow_external: bool,
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Colour theme: default, light, high-contrast.
    #[arg(long, value_name = "NAME", value_parser = parse_theme)]
    pub theme: Option<ThemeName>,
    /// Render the presenter layout.
    #[arg(long)]
    pub presenter: bool,
    /// With --demo and --format svg: one animated SVG stepping through every step (up to --step).
    #[arg(long, requires = "demo")]
    pub animate: bool,
    /// With --animate: how long each step is shown.
    #[arg(long, value_name = "DUR", default_value = "4s", value_parser = parse_wait, requires = "animate")]
    pub step_time: Duration,
    #[command(flatten)]
    pub wire: WireArgs,
}

#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Attach to this running process instead of starting a program.
    #[arg(long, value_name = "PID", conflicts_with = "program")]
    pub pid: Option<i32>,
    /// q leaves the program running instead of ending it (a program started so runs without the
    /// seccomp filter: every syscall stops, which is slower).
    #[arg(long)]
    pub detach: bool,
    /// Lab commands to run once the program waits for the network.
    #[arg(long, value_name = "CMDS")]
    pub run: Option<String>,
    /// Address `server` binds when none is given.
    #[arg(long, value_name = "ADDR", value_parser = parse_bind)]
    pub bind: Option<SocketAddr>,
    /// Allow what is refused by default (see the lab's --allow-external).
    #[arg(long)]
    pub allow_external: bool,
    #[command(flatten)]
    pub screen: ScreenArgs,
    /// The program and its arguments, after `--`.
    #[arg(last = true, value_name = "PROG", required_unless_present = "pid")]
    pub program: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// List the built-in scenarios: name, number of steps, title.
    #[arg(long, conflicts_with = "scenario")]
    pub list: bool,
    /// A built-in scenario's name, or a scenario file (TOML).
    #[arg(value_name = "NAME|FILE", required_unless_present = "list")]
    pub scenario: Option<String>,
    /// Print the steps and their narration instead of opening the dashboard.
    #[arg(long)]
    pub print: bool,
    /// Go to the next step by itself every SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub autoplay: Option<u64>,
    /// The lab's network: the machine's loopback, or a private one of its own (default: host; for
    /// a scenario that says `capture = true`, private).
    #[arg(long, value_enum)]
    pub net: Option<NetArg>,
    /// Allow what is refused by default: wildcard or non-loopback addresses, the kernel's
    /// autobind to 0.0.0.0 (listen/sendto on an unbound socket), targets off loopback.
    #[arg(long)]
    pub allow_external: bool,
    #[command(flatten)]
    pub wire: WireArgs,
    #[command(flatten)]
    pub screen: ScreenArgs,
}

fn parse_wait(text: &str) -> Result<Duration, String> {
    use crate::command::{DURATION_MAX_TEXT, DurationError, parse_duration};
    parse_duration(text).map_err(|error| match error {
        DurationError::Malformed => format!("'{text}' is not a duration (try 300ms, 1s, 1.5s)"),
        DurationError::TooLong => {
            format!("'{text}' is too long: a wait is at most {DURATION_MAX_TEXT}")
        }
    })
}

/// The lab language's addresses (`127.0.0.1:0`, `[::1]:0`, `localhost:0`, `:8080`).
fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    crate::command::parse_address(text).ok_or_else(|| {
        format!("'{text}' is not an address with a port (try 127.0.0.1:0, [::1]:0 or localhost:0)")
    })
}

/// Which sockets of the machine to show (`watch`, `dump`).
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct FilterArgs {
    /// Only sockets with this local or remote port.
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// Only sockets held by this process.
    #[arg(long, value_name = "P")]
    pub pid: Option<u32>,
    /// Only sockets in this state (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`, `UNCONN`, ...; ss spellings work).
    #[arg(long, value_name = "S", value_parser = parse_state)]
    pub state: Option<TcpState>,
}

impl FilterArgs {
    #[must_use]
    pub fn filter(&self) -> Filter {
        Filter {
            port: self.port,
            pid: self.pid,
            state: self.state,
        }
    }
}

fn parse_state(text: &str) -> Result<TcpState, String> {
    crate::system::parse_state(text).ok_or_else(|| {
        format!("'{text}' is not a socket state (try LISTEN, ESTABLISHED, TIME_WAIT, UNCONN)")
    })
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Language of every label (default: from the locale).
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Colour theme: default, light, high-contrast.
    #[arg(long, value_name = "NAME", value_parser = parse_theme)]
    pub theme: Option<ThemeName>,
    /// Collections per second (a walk of 100k sockets takes 0.1-0.5 s).
    #[arg(long, value_name = "HZ", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub refresh: u32,
    /// A collection walks every socket only when the kernel's TCP/UDP counters or the owners
    /// moved, and at least this often: what changes without moving a counter (bytes read from a
    /// queue without a window update, a bound UDP socket's connect) is at most this old.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_wait)]
    pub walk_every: Duration,
    /// Do not look up the owning processes (no /proc scan).
    #[arg(long)]
    pub no_owners: bool,
    /// Record the session as an asciicast v2 file (`asciinema play FILE.cast` replays it).
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DumpArgs {
    /// Print `{"sockets": [...]}` instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Do not look up the owning processes (no /proc scan: faster).
    #[arg(long)]
    pub no_owners: bool,
    /// Also print, on standard error, how long the collection took and what it read.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Language of the notes on standard error.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
}
