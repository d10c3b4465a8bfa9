//! Fuzz targets for the two parsers that read what users write (issue 8, "Done when"): the lab
//! language (`command::parse_script`, behind `--run`, the `:` prompt and every scenario step) and
//! scenario files (`scenario::parse_bytes`, behind `--demo FILE`).
//!
//! cargo-fuzz needs a nightly compiler, so these are seeded random drivers over the real parsers,
//! run by the ordinary test suite for a bounded number of cases: inputs are the built-in scenarios
//! and every verb's usage, mutated (bytes and characters inserted, deleted, duplicated, spliced,
//! tokens from a dictionary of the grammar and of known troublemakers), plus scripts generated from
//! that dictionary. The property: the parser never panics, and every error it returns has a
//! position (line and column, 1-based) that lies inside the input, and a message that says it.
//!
//! `SOCKSCOPE_FUZZ_CASES=N` runs N cases per target instead of the default; `SOCKSCOPE_FUZZ_SEED`
//! changes the seed. A failing case is printed (escaped) so it can become a regression test.

use std::panic::{AssertUnwindSafe, catch_unwind};

use sockscope::command::{VERBS, parse_script};
use sockscope::scenario::{self, BUILTIN_NAMES};
use sockscope::text::Lang;

/// Cases per target when `SOCKSCOPE_FUZZ_CASES` is not set: about a second each in a release build.
const LAB_CASES: usize = 200_000;
const SCENARIO_CASES: usize = 40_000;

/// xorshift64*: small, deterministic, and good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn from_env(salt: u64) -> Self {
        let seed = std::env::var("SOCKSCOPE_FUZZ_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(0x1550_e008_4a2d_5eed_u64);
        Self((seed ^ salt) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn cases(default: usize) -> usize {
    std::env::var("SOCKSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Words of the lab language and of what has broken parsers before.
const LAB_WORDS: &[&str] = &[
    "server",
    "client",
    "clients",
    "socket",
    "bind",
    "listen",
    "connect",
    "accept",
    "close",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "shutdown",
    "setsockopt",
    "open",
    "forward",
    "auto-accept",
    "wait",
    "as",
    "tcp",
    "udp",
    "v6",
    "rd",
    "wr",
    "both",
    "on",
    "off",
    "reuseaddr",
    "linger0",
    "defer_accept",
    "srv",
    "c",
    "c1",
    "srv-a1",
    "x_y",
    "127.0.0.1:0",
    ":8080",
    "localhost:0",
    "[::1]:0",
    "[::1]",
    "0.0.0.0:80",
    "1.2.3.4:99999",
    "::1:80",
    "[:",
    "]:",
    "0",
    "1",
    "-1",
    "65535",
    "65536",
    "10000",
    "10001",
    "4294967296",
    "99999999999999999999999999999999999999999",
    "200ms",
    "1.5s",
    "24h",
    "24.000000001h",
    "9223372036854775807s",
    "18446744073709551616ns",
    "1..5s",
    ".5s",
    "µs",
    "1µs",
    "\"",
    "\"\"",
    "\"a b\"",
    "\"\\x\"",
    "\"\\xzz\"",
    "\"\\x41\"",
    "\"\\n\\r\\t\\0\\\\\\\"\"",
    "\\",
    ";",
    ";;",
    "#",
    "#x",
    "issue#5",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\u{1b}]0;t\u{7}",
    "\u{0}",
    "\u{7f}",
    "\u{9b}",
    "한국어",
    "é",
    "\u{feff}",
    "\u{202e}",
    "/dev/null",
    "\"/tmp/a;b\"",
];

/// Characters a mutation may insert: ASCII, controls, multi-byte and wide ones.
const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    '9',
    ' ',
    '"',
    '\\',
    ';',
    '#',
    ':',
    '.',
    '[',
    ']',
    '-',
    '+',
    '=',
    '\n',
    '\r',
    '\t',
    '\u{0}',
    '\u{1b}',
    '\u{7}',
    '\u{7f}',
    '\u{85}',
    'é',
    'µ',
    '한',
    '\u{10ffff}',
    '\u{fffd}',
];

/// The inputs mutations start from: every verb's usage, and every built-in step's `run`.
fn lab_seeds() -> Vec<String> {
    let mut seeds: Vec<String> = VERBS.iter().map(|(_, usage)| (*usage).to_owned()).collect();
    for scenario in scenario::builtins() {
        for step in scenario.steps {
            seeds.push(step.run_source);
        }
    }
    seeds.push("server srv 127.0.0.1:0 2; clients c 5 srv\nsend c1 \"GET /\\r\\n\"  # hi".into());
    seeds
}

/// Nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random edit of a text, kept UTF-8 (the lab language reads `&str`).
fn mutate_text(rng: &mut Rng, text: &mut String, seeds: &[String]) {
    let at = boundary(text, rng.below(text.len() + 1));
    match rng.below(7) {
        0 => text.insert_str(at, rng.pick(LAB_WORDS)),
        1 => text.insert(at, rng.pick(CHARS)),
        2 => {
            let end = boundary(text, at + rng.below(12));
            text.replace_range(at..end, "");
        }
        3 => {
            let end = boundary(text, at + rng.below(16));
            let copy = text[at..end].to_owned();
            text.insert_str(end, &copy);
        }
        4 => {
            // Splice: this text up to `at`, another seed from a random point.
            let other = rng.pick_ref(seeds);
            let from = boundary(other, rng.below(other.len() + 1));
            text.truncate(at);
            text.push_str(&other[from..]);
        }
        5 => {
            let end = boundary(text, at + 1 + rng.below(4));
            let word = rng.pick(LAB_WORDS);
            text.replace_range(at..end.max(at), word);
        }
        _ => {
            let separator = rng.pick(&["; ", "\n", " ", "#", "\""]);
            text.insert_str(at, separator);
        }
    }
}

/// A script of random dictionary words and separators.
fn generated_script(rng: &mut Rng) -> String {
    let mut script = String::new();
    for _ in 0..=rng.below(24) {
        script.push_str(rng.pick(LAB_WORDS));
        script.push_str(rng.pick(&[" ", " ", " ", ";", "\n", ""]));
    }
    script
}

/// 1-based line count of a text (a text with no newline has one line).
fn line_count(bytes: &[u8]) -> usize {
    bytes.split(|&b| b == b'\n').count()
}

/// The bytes of 1-based line `line`.
fn line_bytes(bytes: &[u8], line: usize) -> &[u8] {
    bytes
        .split(|&b| b == b'\n')
        .nth(line - 1)
        .unwrap_or_default()
}

/// Whether (line, column) lies inside the input: on one of its lines, at most one past the end
/// of that line (a missing argument points just past the command). Columns count characters, so
/// a line has at most as many as it has bytes.
fn inside(bytes: &[u8], line: usize, column: usize) -> bool {
    line >= 1
        && column >= 1
        && line <= line_count(bytes)
        && column <= line_bytes(bytes, line).len() + 1
}

#[test]
fn fuzz_the_lab_language_never_panics_and_every_error_is_positioned() {
    let seeds = lab_seeds();
    let mut rng = Rng::from_env(0x1ab);
    let total = cases(LAB_CASES);
    let (mut parsed, mut rejected) = (0_usize, 0_usize);
    for case in 0..total {
        let script = if rng.below(4) == 0 {
            generated_script(&mut rng)
        } else {
            let mut text = rng.pick_ref(&seeds).clone();
            for _ in 0..=rng.below(6) {
                mutate_text(&mut rng, &mut text, &seeds);
            }
            text
        };
        let shown = || sockscope::escape::visible(&script);
        let outcome = catch_unwind(AssertUnwindSafe(|| parse_script(&script)))
            .unwrap_or_else(|_| panic!("case {case}: parse_script panicked on \"{}\"", shown()));
        match outcome {
            Ok(commands) => {
                parsed += 1;
                for located in &commands {
                    assert!(
                        inside(script.as_bytes(), located.line, located.column),
                        "case {case}: command at {}:{} outside \"{}\"",
                        located.line,
                        located.column,
                        shown()
                    );
                    // What parsed writes back as text that parses to the same command.
                    let line = located.command.to_line();
                    let again = parse_script(&line).unwrap_or_else(|e| {
                        panic!("case {case}: to_line {line:?} does not parse: {e}")
                    });
                    assert_eq!(again.len(), 1, "case {case}: {line:?}");
                    assert_eq!(again[0].command, located.command, "case {case}: {line:?}");
                }
            }
            Err(error) => {
                rejected += 1;
                assert!(
                    inside(script.as_bytes(), error.line, error.column),
                    "case {case}: error at {}:{} outside \"{}\": {error}",
                    error.line,
                    error.column,
                    shown()
                );
                let english = error.localized(Lang::En);
                let prefix = format!("line {}, column {}: ", error.line, error.column);
                assert!(english.starts_with(&prefix), "case {case}: {english}");
                let korean = error.localized(Lang::Ko);
                assert!(
                    korean.contains(&error.column.to_string()),
                    "case {case}: {korean}"
                );
                assert!(
                    !error.found.chars().any(char::is_control),
                    "case {case}: raw control character in {:?}",
                    error.found
                );
            }
        }
    }
    eprintln!("lab language: {total} cases, {parsed} parsed, {rejected} rejected with a position");
    assert_eq!(parsed + rejected, total);
    // The driver reaches both sides of the parser.
    assert!(
        parsed > total / 20 && rejected > total / 20,
        "{parsed} / {rejected}"
    );
}

/// TOML and scenario pieces: keys, strings of every kind, values that broke things before.
const SCENARIO_WORDS: &[&str] = &[
    "[[step]]\n",
    "[step]\n",
    "[title]\n",
    "run = ",
    "wait = ",
    "say.en = ",
    "say.ko = ",
    "expect = [",
    "]",
    "focus = ",
    "title.en = ",
    "title.ko = ",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "=",
    "\n",
    "\r\n",
    "#",
    ",",
    "{",
    "}",
    "1",
    "-0",
    "1e999",
    "true",
    "\"9223372036854775807s\"",
    "\"24h\"",
    "\"1h\"",
    "\"soon\"",
    "\"srv.local.port < srv.local.port + 9223372036854775807\"",
    "\"srv.fd == 99999999999999999999\"",
    "\"srv.acept_queue == 3\"",
    "\"c.state == SYN-SENT\"",
    "capture = true\n",
    "capture = 1\n",
    "\"c.segments.SYN_ACK == 1\"",
    "\"c.segments.last.flags == FIN-ACK\"",
    "\"c.segments.1.ack == c.segments.0.seq + 1\"",
    "\"c.handshake == ok\"",
    "\"c.states.last.state == TIME_WAIT\"",
    "\"c.segments.SYNACK == 1\"",
    "\"segments.RST_ACK != capture.captured\"",
    "\"server srv; lisen srv 2\"",
    "\"\\u001b]0;t\\u0007\"",
    "\"\\u0000\"",
    "\"\\x41\"",
    "\\",
    "\"\\\"",
    "한국어",
    "\u{feff}",
    "bogus = 1\n",
    "step = 5\n",
];

/// Bytes a mutation may insert, invalid UTF-8 among them.
const BYTES: &[u8] = &[
    b'a', b'0', b' ', b'"', b'\'', b'\\', b'[', b']', b'=', b'.', b'#', b'\n', b'\r', b'\t', 0,
    0x1b, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xf8, 0xfe, 0xff,
];

fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let at = rng.below(bytes.len() + 1);
    match rng.below(7) {
        0 => {
            let word = rng.pick(SCENARIO_WORDS).as_bytes();
            bytes.splice(at..at, word.iter().copied());
        }
        1 => bytes.insert(at, rng.pick(BYTES)),
        2 => {
            let end = (at + rng.below(24)).min(bytes.len());
            bytes.drain(at..end);
        }
        3 => {
            let end = (at + rng.below(64)).min(bytes.len());
            let copy = bytes[at..end].to_vec();
            bytes.splice(end..end, copy);
        }
        4 => {
            let other = rng.pick_ref(seeds);
            let from = rng.below(other.len() + 1);
            bytes.truncate(at);
            bytes.extend_from_slice(&other[from..]);
        }
        5 => {
            if let Some(byte) = bytes.get_mut(at) {
                *byte ^= 1 << rng.below(8);
            }
        }
        _ => {
            // Edit inside a string value: where the lab language and expectations are.
            let quote = bytes[at..]
                .iter()
                .position(|&b| b == b'"')
                .map(|i| at + i + 1);
            if let Some(inner) = quote.filter(|&i| i <= bytes.len()) {
                let word = rng.pick(LAB_WORDS).as_bytes();
                bytes.splice(inner..inner, word.iter().copied());
            }
        }
    }
}

#[test]
fn fuzz_scenario_files_never_panic_and_every_error_is_positioned() {
    let seeds: Vec<Vec<u8>> = BUILTIN_NAMES
        .iter()
        .map(|name| {
            let scenario = scenario::load(name).expect("built-in loads");
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&scenario.file);
            std::fs::read(path).expect("built-in source readable")
        })
        .collect();
    let mut rng = Rng::from_env(0x5ce);
    let total = cases(SCENARIO_CASES);
    let (mut loaded, mut rejected) = (0_usize, 0_usize);
    for case in 0..total {
        let mut bytes = rng.pick_ref(&seeds).clone();
        for _ in 0..=rng.below(8) {
            mutate_bytes(&mut rng, &mut bytes, &seeds);
        }
        let input = bytes.clone();
        let shown = || sockscope::escape::visible(&String::from_utf8_lossy(&input));
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            scenario::parse_bytes("fuzz", "fuzz.toml", bytes)
        }))
        .unwrap_or_else(|_| {
            panic!(
                "case {case}: the scenario parser panicked on \"{}\"",
                shown()
            )
        });
        match outcome {
            Ok(scenario) => {
                loaded += 1;
                assert!(!scenario.steps.is_empty(), "case {case}");
            }
            Err(error) => {
                rejected += 1;
                assert!(
                    inside(&input, error.line, error.column),
                    "case {case}: error at {}:{} outside \"{}\": {error}",
                    error.line,
                    error.column,
                    shown()
                );
                let english = error.localized(Lang::En);
                let prefix = format!("fuzz.toml:{}:{}: ", error.line, error.column);
                assert!(english.starts_with(&prefix), "case {case}: {english}");
                let korean = error.localized(Lang::Ko);
                assert!(korean.starts_with(&prefix), "case {case}: {korean}");
            }
        }
    }
    eprintln!(
        "scenario files: {total} cases, {loaded} loaded, {rejected} rejected with a position"
    );
    assert_eq!(loaded + rejected, total);
    assert!(
        loaded > total / 50 && rejected > total / 20,
        "{loaded} / {rejected}"
    );
}
