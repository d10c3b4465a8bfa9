//! How long replaying a scenario from scratch takes (`scenario::play_to`, what stepping back in a
//! lecture does), for 500, 1,000 and 2,000 steps. Each step opens one more file, so the lab's
//! descriptor table grows with the step number: a replay that probes the whole table on every
//! step is quadratic, and these three sizes show it (double the steps, four times the time).
//! And parsing plus replaying 10,000 empty steps: the cost per step of the file and the player.

use std::fmt::Write;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sockscope::lab::LabConfig;
use sockscope::scenario::{self, Scenario};

/// The text of a scenario of `steps` steps, step N running `run(N)`.
fn scenario_text(steps: usize, run: impl Fn(usize) -> String) -> String {
    let mut source = String::from("title.en = \"bench\"\ntitle.ko = \"벤치\"\n");
    for index in 0..steps {
        writeln!(
            source,
            "[[step]]\nrun = \"{}\"\nsay.en = \"-\"\nsay.ko = \"-\"",
            run(index)
        )
        .expect("writing to a String cannot fail");
    }
    source
}

/// A scenario of `steps` steps, step N running `open fN /dev/null`.
fn opening_files(steps: usize) -> Scenario {
    let source = scenario_text(steps, |index| format!("open f{index} /dev/null"));
    scenario::parse("bench", "bench.toml", &source).expect("the generated scenario parses")
}

fn replay(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("replay");
    group.sample_size(10);
    for steps in [500, 1_000, 2_000] {
        let scenario = opening_files(steps);
        group.bench_with_input(BenchmarkId::new("open_steps", steps), &steps, |bench, _| {
            bench.iter(|| {
                let played =
                    scenario::play_to(&scenario, steps - 1, LabConfig::default()).expect("replays");
                assert_eq!(played.lab.names().len(), steps);
                played
            });
        });
    }
    let steps = 10_000;
    let empty = scenario_text(steps, |_| String::new());
    group.bench_with_input(
        BenchmarkId::new("empty_steps", steps),
        &steps,
        |bench, _| {
            bench.iter(|| {
                let scenario =
                    scenario::parse("bench", "bench.toml", &empty).expect("the scenario parses");
                scenario::play_to(&scenario, steps - 1, LabConfig::default()).expect("replays")
            });
        },
    );
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
