//! The config file: found in `$XDG_CONFIG_HOME/sockscope/` (or `--config FILE`), under the
//! command line's flags, every mistake a `FILE:LINE:COLUMN` error with status 2, and key bindings
//! that work on the real dashboard.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::tmux::Tmux;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

/// A directory of its own for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sockscope-config-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    /// Writes `$XDG_CONFIG_HOME/sockscope/config.toml` with this directory as `XDG_CONFIG_HOME`.
    fn write_default_config(&self, text: &str) -> PathBuf {
        let dir = self.0.join("sockscope");
        std::fs::create_dir_all(&dir).expect("config dir");
        let path = dir.join("config.toml");
        std::fs::write(&path, text).expect("config written");
        path
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("file written");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// sockscope with `xdg` as its config home (and home), in an English locale, no sudo.
fn sockscope(xdg: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("XDG_CONFIG_HOME", xdg)
        .env("HOME", xdg)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("SUDO_USER")
        .output()
        .expect("sockscope runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const SCRIPT: &str = "server srv 127.0.0.1:0 2";

/// The first `<rect>`'s fill: the picture's background.
fn background(svg: &str) -> &str {
    let rect = &svg[svg.find("<rect").expect("a rect")..];
    let fill = &rect[rect.find("fill=\"").expect("a fill") + 6..];
    &fill[..fill.find('"').expect("closing quote")]
}

#[test]
fn the_default_config_file_makes_snapshots_korean_in_its_theme_without_flags() {
    let home = TempDir::new("ko");
    home.write_default_config(
        "lang = \"ko\"\ntheme = \"high-contrast\"\n\n[colors.high-contrast]\nborder = { fg = \"#123456\" }\n",
    );
    let text = sockscope(&home.0, &["snapshot", "--run", SCRIPT, "--format", "text"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let shown = stdout(&text);
    assert!(shown.contains("리스너 (1)"), "Korean labels: {shown}");
    assert!(!shown.contains("listeners"), "no English labels: {shown}");

    let svg = sockscope(&home.0, &["snapshot", "--run", SCRIPT, "--format", "svg"]);
    assert!(svg.status.success(), "{}", stderr(&svg));
    let svg = stdout(&svg);
    // The high-contrast theme paints the screen black; the default theme's paper is #1c1c1c.
    assert_eq!(background(&svg), "#000000");
    // The colour override of the theme's borders.
    assert!(svg.contains("fill=\"#123456\""), "border colour override");

    // Flags win over the file.
    let english = sockscope(
        &home.0,
        &[
            "snapshot", "--run", SCRIPT, "--format", "svg", "--lang", "en", "--theme", "light",
        ],
    );
    let english = stdout(&english);
    assert!(english.contains("listeners (1)"), "English with --lang en");
    assert!(!english.contains("리스너"), "no Korean with --lang en");
    assert_eq!(background(&english), "#fafafa", "the light theme's paper");
    assert!(
        !english.contains("#123456"),
        "the override belongs to high-contrast"
    );
}

#[test]
fn without_a_config_file_the_defaults_apply() {
    let home = TempDir::new("none");
    let output = sockscope(&home.0, &["snapshot", "--run", SCRIPT, "--format", "svg"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(background(&stdout(&output)), "#1c1c1c");
    let path = sockscope(&home.0, &["config", "--path"]);
    assert_eq!(
        stdout(&path).trim(),
        home.0.join("sockscope/config.toml").display().to_string()
    );
}

#[test]
fn a_bad_value_is_file_line_column_with_status_2_and_nothing_runs() {
    let home = TempDir::new("bad");
    let path = home.write("bad.toml", "lang = \"en\"\n\ntheme = \"neon\"\n");
    let shown = path.display().to_string();
    let output = sockscope(
        &home.0,
        &[
            "--config", &shown, "snapshot", "--run", SCRIPT, "--format", "json",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "nothing ran");
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!("sockscope: {shown}:3:9: `theme` = 'neon'")),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "one line: {message}");
}

#[test]
fn an_unknown_key_is_an_error_that_names_it() {
    let home = TempDir::new("unknown");
    home.write_default_config(
        "lang = \"en\"\n[keys.lab]\naccept = \"y\"\n[keys.lecture]\nnext = \"n\"\n",
    );
    let output = sockscope(&home.0, &["snapshot", "--run", SCRIPT]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("config.toml:4:"), "{message}");
    assert!(message.contains("unknown field `lecture`"), "{message}");

    home.write_default_config("[keys.lab]\naccept = \"y\"\nfly = \"f\"\n");
    let output = sockscope(&home.0, &["snapshot", "--run", SCRIPT]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("config.toml:3:1: `fly`"), "{message}");
}

#[test]
fn two_actions_on_one_key_and_a_bad_key_are_errors_at_their_place() {
    let home = TempDir::new("keys");
    home.write_default_config("[keys.watch]\nsort = \"o\"\npause = \"o\"\n");
    let output = sockscope(&home.0, &["snapshot", "--run", SCRIPT]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("config.toml:3:1:"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("`sort`"), "{}", stderr(&output));

    home.write_default_config("[keys.lab]\naccept = \"hyper-y\"\n");
    let output = sockscope(&home.0, &["snapshot", "--run", SCRIPT]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("config.toml:2:10:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_explicit_config_file_must_exist() {
    let home = TempDir::new("missing");
    let missing = home.0.join("nothing.toml");
    let output = sockscope(
        &home.0,
        &[
            "snapshot",
            "--config",
            &missing.display().to_string(),
            "--run",
            SCRIPT,
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("nothing.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_template_lists_every_option_and_every_action_and_is_valid_uncommented() {
    let home = TempDir::new("template");
    let template = stdout(&sockscope(&home.0, &["config", "--template"]));
    for option in ["lang", "theme", "refresh", "mouse", "net", "bind"] {
        assert!(template.contains(&format!("\n# {option} = ")), "{option}");
    }
    let keys = stdout(&sockscope(&home.0, &["config", "--keys"]));
    let actions: Vec<(&str, &str)> = keys
        .lines()
        .filter(|line| line.starts_with("  "))
        .map(|line| {
            let mut words = line.split_whitespace();
            (words.next().expect("action"), words.next().expect("key"))
        })
        .collect();
    assert!(actions.len() > 30, "lab and watch actions: {keys}");
    for (action, key) in &actions {
        assert!(
            template.contains(&format!("# {action} = \"{key}\"")),
            "{action} = {key} in the template"
        );
    }
    // Uncommenting the options, the example colours and every binding gives a valid file.
    let mut uncommented = String::new();
    for line in template.lines() {
        let line = match line.strip_prefix("# ") {
            Some(rest) if is_option(rest) => rest,
            _ => line,
        };
        uncommented.push_str(line);
        uncommented.push('\n');
    }
    let path = home.write("all.toml", &uncommented);
    let output = sockscope(
        &home.0,
        &[
            "--config",
            &path.display().to_string(),
            "snapshot",
            "--run",
            SCRIPT,
        ],
    );
    assert!(
        output.status.success(),
        "{}\n{uncommented}",
        stderr(&output)
    );
}

/// `name = value` or `[table]`, as the template writes its commented-out options.
fn is_option(line: &str) -> bool {
    let word = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '-' || ch == '_' || ch == '.')
    };
    match line.split_once(" = ") {
        Some((name, _)) => word(name),
        None => line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(word),
    }
}

#[test]
fn run_with_sudo_the_invoking_users_config_is_read() {
    if !rustix::process::geteuid().is_root() {
        return; // Only root can be "run with sudo".
    }
    // `nobody`'s home directory, from the user database as sockscope reads it.
    let passwd = std::fs::read_to_string("/etc/passwd").expect("passwd");
    let Some(home) = passwd
        .lines()
        .find(|line| line.starts_with("nobody:"))
        .and_then(|line| line.split(':').nth(5))
    else {
        return;
    };
    let output = Command::new(BINARY)
        .args(["config", "--path"])
        .env("SUDO_USER", "nobody")
        .env("HOME", "/root")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("sockscope runs");
    assert_eq!(
        stdout(&output).trim(),
        format!("{home}/.config/sockscope/config.toml")
    );
}

#[test]
fn a_remapped_key_works_on_the_dashboard_in_tmux() {
    let home = TempDir::new("tmux");
    // `y` is no key of the lab's; bound to new-listener it acts as `n`.
    home.write_default_config("[keys.lab]\nnew-listener = \"y\"\n");
    let command = format!(
        "XDG_CONFIG_HOME={} RUST_BACKTRACE=0 {BINARY} --lang en; sleep 30",
        home.0.display()
    );
    let tmux = Tmux::start(120, 40, &command);
    let limit = Duration::from_secs(10);
    let screen = tmux.wait_for(limit, |screen| screen.contains("listeners (0)"));
    assert!(screen.contains("listeners (0)"), "{screen}");
    tmux.keys(&["y"]);
    let screen = tmux.wait_for(limit, |screen| screen.contains("listeners (1)"));
    assert!(
        screen.contains("listeners (1)"),
        "y made a listener: {screen}"
    );
    assert!(screen.contains("srv1"), "{screen}");
    // The default key still works.
    tmux.keys(&["n"]);
    let screen = tmux.wait_for(limit, |screen| screen.contains("listeners (2)"));
    assert!(screen.contains("listeners (2)"), "{screen}");
    // In the prompt, `y` is text, not a binding.
    tmux.keys(&[":"]);
    tmux.type_text("y");
    let screen = tmux.wait_for(limit, |screen| screen.contains(":y"));
    assert!(screen.contains(":y"), "{screen}");
    assert!(screen.contains("listeners (2)"), "{screen}");
    tmux.keys(&["Escape", "q"]);
}

#[test]
fn a_config_directory_the_user_cannot_search_is_no_config_but_an_unreadable_file_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    if !rustix::process::geteuid().is_root() {
        return; // Needs a second user: root runs sockscope as nobody.
    }
    let home = TempDir::new("perm");
    std::fs::set_permissions(&home.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = home.write_default_config("lang = \"ko\"\n");
    let as_nobody = |xdg: &Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(BINARY)
            .args(["snapshot", "--run", SCRIPT, "--format", "text"])
            .env("XDG_CONFIG_HOME", xdg)
            .env("LANG", "C.UTF-8")
            .env_remove("SUDO_USER")
            .output()
            .expect("setpriv runs")
    };
    // The file is there but not readable by nobody: said, with its name, status 2.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = as_nobody(&home.0);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("config.toml"),
        "{}",
        stderr(&output)
    );
    // The directory cannot even be searched: there is no config to be seen, the defaults apply.
    std::fs::set_permissions(&home.0, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let output = as_nobody(&home.0);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("listeners (1)"),
        "English defaults"
    );
}
