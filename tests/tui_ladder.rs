//! The ladder in the real binary: in tmux at 80x24 and 200x60, in English and Korean, started with
//! `--net private` as an ordinary user (nobody, when the tests run as root), and in a text
//! snapshot of the private network.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;
use unicode_width::UnicodeWidthStr;

const BINARY: &str = env!("CARGO_BIN_EXE_sockscope");
const SCRIPT: &str = "server s 127.0.0.1:0 2; client c1 s";
const WAIT: Duration = Duration::from_secs(15);
const NOBODY: u32 = 65534;
const AS_NOBODY: [&str; 4] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A runtime directory of one test (where the private lab leaves the file `sockscope exec`
/// finds it by), owned by the user the lab runs as; removed when the test ends.
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sockscope-ladder-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("runtime dir");
        if is_root() {
            rustix::fs::chown(
                &dir,
                Some(rustix::fs::Uid::from_raw(NOBODY)),
                Some(rustix::fs::Gid::from_raw(NOBODY)),
            )
            .expect("chown");
        }
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The words that run a command as an ordinary user: nobody when we are root, else ourselves.
fn ordinary_user() -> Vec<&'static str> {
    if is_root() {
        // The binary must be reachable for nobody, or every test here would fail obscurely.
        let check = Command::new(AS_NOBODY[0])
            .args(&AS_NOBODY[1..])
            .args(["test", "-x", BINARY])
            .status()
            .expect("setpriv runs");
        assert!(
            check.success(),
            "{BINARY} is not executable by nobody: build in a directory every user may read"
        );
        AS_NOBODY.to_vec()
    } else {
        Vec::new()
    }
}

/// The lab in the private network, in a tmux pane of `columns`x`rows`.
fn start_lab(runtime: &RuntimeDir, columns: u16, rows: u16, lang: &str) -> Tmux {
    let user = ordinary_user().join(" ");
    Tmux::start(
        columns,
        rows,
        &format!(
            "XDG_RUNTIME_DIR={} RUST_BACKTRACE=0 {user} {BINARY} --net private --lang {lang} \
             --no-mouse --run '{SCRIPT}'; sleep 30",
            runtime.path().display()
        ),
    )
}

/// The rows of `screen` holding each needle, in the needles' order.
fn rows_of(screen: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|needle| {
            screen
                .lines()
                .position(|line| line.contains(needle))
                .unwrap_or_else(|| panic!("no row with {needle:?}:\n{screen}"))
        })
        .collect()
}

fn handshake_in_order(screen: &str) {
    let rows = rows_of(
        screen,
        &[" SYN seq=0 ", " SYN-ACK seq=0 ack=1 ", " ACK seq=1 ack=1 "],
    );
    assert!(rows[0] < rows[1] && rows[1] < rows[2], "{screen}");
    for state in ["SYN_SENT", "SYN_RECV"] {
        assert!(screen.contains(state), "{state}:\n{screen}");
    }
}

fn title(lang: &str) -> &'static str {
    if lang == "ko" {
        "세그먼트 c1 (3)"
    } else {
        "segments c1 (3)"
    }
}

/// Every row of the screen is exactly as wide as the terminal where a border ends it: wide
/// Korean characters did not push the borders out of line.
fn borders_aligned(screen: &str, columns: usize) {
    for (row, line) in screen.lines().enumerate() {
        if line.ends_with(['│', '┐', '┘']) {
            assert_eq!(line.width(), columns, "row {row}: {line}\n{screen}");
        }
    }
}

#[test]
fn at_80x24_tab_brings_the_ladder_in_place_of_the_top_panels() {
    for lang in ["en", "ko"] {
        let runtime = RuntimeDir::new(&format!("small-{lang}"));
        let tmux = start_lab(&runtime, 80, 24, lang);
        let started = tmux.wait_for(WAIT, |screen| screen.contains("ESTABLISHED"));
        assert!(started.contains("c1"), "the lab runs:\n{started}");
        assert!(
            !started.contains(title(lang)),
            "too small for the ladder beside the other panels:\n{started}"
        );
        // Listeners -> connections (c1 selected there) -> the ladder.
        tmux.keys(&["Tab", "Tab"]);
        let screen = tmux.wait_for(WAIT, |screen| {
            screen.contains(title(lang)) && screen.contains(" ACK seq=1 ack=1 ")
        });
        handshake_in_order(&screen);
        borders_aligned(&screen, 80);
        // k moves up to the SYN-ACK; the explanation names it.
        tmux.keys(&["k"]);
        let explained = tmux.wait_for(WAIT, |screen| screen.contains("SYN-ACK: s"));
        assert!(explained.contains("SYN-ACK: s"), "{explained}");
        // Away from the ladder it goes, unless `d` pins it.
        tmux.keys(&["Tab"]);
        let away = tmux.wait_for(WAIT, |screen| !screen.contains(title(lang)));
        assert!(!away.contains(title(lang)), "{away}");
        tmux.keys(&["d"]);
        let pinned = tmux.wait_for(WAIT, |screen| screen.contains(title(lang)));
        assert!(pinned.contains(title(lang)), "pinned:\n{pinned}");
        tmux.keys(&["d"]);
        let unpinned = tmux.wait_for(WAIT, |screen| !screen.contains(title(lang)));
        assert!(!unpinned.contains(title(lang)), "unpinned:\n{unpinned}");
        tmux.keys(&["q"]);
    }
}

#[test]
fn at_200x60_the_ladder_has_a_column_and_its_commands_enter_the_private_network() {
    for lang in ["en", "ko"] {
        let runtime = RuntimeDir::new(&format!("wide-{lang}"));
        let tmux = start_lab(&runtime, 200, 60, lang);
        let screen = tmux.wait_for(WAIT, |screen| {
            screen.contains(title(lang)) && screen.contains(" ACK seq=1 ack=1 ")
        });
        handshake_in_order(&screen);
        borders_aligned(&screen, 200);
        // The ladder sits in the right-hand column, beside the listeners.
        let header = screen.lines().next().unwrap_or_default();
        assert!(header.contains(title(lang)), "{header}");
        // Tab until the ladder has the focus: which panels Tab passes through depends on what the
        // lab shows at that moment (a snapshot arriving between two presses may add one), so the
        // test does not count them. `g` selects the ladder's first segment.
        let wants_tcpdump =
            |screen: &str| screen.contains("$ sockscope exec -- tcpdump -i lo -n 'tcp port");
        let mut explained = String::new();
        for _ in 0..8 {
            tmux.keys(&["Tab", "g"]);
            explained = tmux.wait_for(Duration::from_secs(2), wants_tcpdump);
            if wants_tcpdump(&explained) {
                break;
            }
        }
        // Both commands go through `sockscope exec` (one function makes them). The Korean SYN
        // explanation is longer than this pane when the initial sequence number has many digits,
        // so the `ss -ti` line below it is checked in English here (tests/render.rs checks it in
        // both languages in a pane it fits).
        assert!(wants_tcpdump(&explained), "{explained}");
        if lang == "en" {
            assert!(
                explained.contains("$ sockscope exec -- ss -ti 'sport = :"),
                "{explained}"
            );
        }
        assert!(explained.contains("c1 -> s: SYN seq=0"), "{explained}");
        tmux.keys(&["q"]);
    }
}

#[test]
fn a_text_snapshot_of_the_private_network_draws_the_ladder() {
    for (lang, size) in [("en", "200x60"), ("ko", "200x60"), ("en", "160x40")] {
        let runtime = RuntimeDir::new(&format!("text-{lang}-{size}"));
        let mut words = ordinary_user();
        words.push(BINARY);
        let output = Command::new(words[0])
            .args(&words[1..])
            .args(["snapshot", "--net", "private", "--run", SCRIPT])
            .args(["--format", "text", "--size", size, "--lang", lang])
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .expect("sockscope runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(text.contains(title(lang)), "{text}");
        handshake_in_order(&text);
        let columns: usize = size.split('x').next().unwrap().parse().unwrap();
        borders_aligned(&text, columns);
    }
}
