//! How long the lab language takes to parse a large script (10,000 commands of mixed verbs).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sockscope::command::parse_script;

const COMMANDS: usize = 10_000;

/// A script of `COMMANDS` commands cycling through every verb, with comments, `;` separators,
/// quoted text with escapes, and IPv6 addresses mixed in.
fn script() -> String {
    let mut out = String::new();
    for i in 0..COMMANDS {
        let n = i % 1000;
        let line = match i % 20 {
            0 => format!("socket s{n} tcp"),
            1 => format!("bind s{n} 127.0.0.1:{}", 20_000 + n),
            2 => format!("listen s{n} 128   # a comment"),
            3 => format!("connect c{n} 127.0.0.1:{}", 20_000 + n),
            4 => format!("accept s{n} as a{n}"),
            5 => format!("send c{n} hello world number {i}"),
            6 => format!(r#"send c{n} "GET / HTTP/1.1\r\nHost: x;y\r\n\r\n""#),
            7 => format!("recv a{n} 65536"),
            8 => format!(r#"sendto u{n} [::1]:9999 "ping \x00\xff""#),
            9 => format!("recvfrom u{n}"),
            10 => format!("shutdown c{n} wr"),
            11 => format!("setsockopt s{n} reuseaddr on"),
            12 => format!("open f{n} /etc/hostname"),
            13 => format!("server srv{n} :{} 16", 30_000 + n),
            14 => format!("client k{n} srv{n}"),
            15 => format!("clients p{n}x 100 localhost:{}", 30_000 + n),
            16 => format!("forward fw{n} :{} srv{n}", 40_000 + n),
            17 => format!("auto-accept srv{n} off"),
            18 => "wait 1.5ms".to_owned(),
            _ => format!("close c{n}"),
        };
        out.push_str(&line);
        // Mostly newlines, sometimes several commands on a line (not after a comment, which runs
        // to the end of the line).
        let separator = if i % 3 == 0 && !line.contains('#') {
            "; "
        } else {
            "\n"
        };
        out.push_str(separator);
    }
    let _ = writeln!(out, "# {COMMANDS} commands");
    out
}

fn bench_parse(c: &mut Criterion) {
    let script = script();
    let parsed = parse_script(&script).expect("the bench script parses");
    assert_eq!(parsed.len(), COMMANDS);
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(COMMANDS as u64));
    group.bench_function("script_10k_commands", |b| {
        b.iter(|| parse_script(black_box(&script)));
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
