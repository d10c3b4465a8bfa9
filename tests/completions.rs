//! Shell completions and the man page, generated from the clap definitions.

use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");

fn sockscope(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("sockscope runs")
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sockscope-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("written");
    path
}

#[test]
fn every_shell_gets_a_script_that_knows_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = sockscope(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).expect("UTF-8");
        for word in [
            "snapshot",
            "watch",
            "demo",
            "completions",
            "record",
            "config",
        ] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let output = sockscope(&["completions", "tcsh"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown shell is bad input"
    );
}

#[test]
fn the_bash_completions_pass_bash_n() {
    let output = sockscope(&["completions", "bash"]);
    assert!(output.status.success());
    let path = temp_file("completions.bash", &output.stdout);
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Sourced, it registers a completion function for sockscope.
    let output = sockscope(&["completions", "bash"]);
    let path = temp_file("completions-source.bash", &output.stdout);
    let registered = Command::new("bash")
        .arg("-c")
        .arg(format!("source {}; complete -p sockscope", path.display()))
        .output()
        .expect("bash runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        String::from_utf8_lossy(&registered.stdout).contains("sockscope"),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
}

#[test]
fn the_man_page_renders_with_man_l() {
    let output = sockscope(&["man"]);
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(page.contains(".TH sockscope 1"), "a roff page, section 1");
    let path = temp_file("sockscope.1", page.as_bytes());
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("man runs (install the man-db package)");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    // Headings and the subcommands as man shows them (roff escapes resolved).
    for shown in [
        "NAME",
        "SYNOPSIS",
        "sockscope",
        "snapshot",
        "watch",
        "--config",
    ] {
        assert!(text.contains(shown), "{shown} in:\n{text}");
    }
    assert!(!text.contains(".TH"), "roff was rendered, not shown");
}
