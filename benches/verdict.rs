//! Merge safety (issue 17): deciding the verdict of a change from its builds, pure
//! (`domain::notify::verdict`). Target: a buildset of 50 builds decided in at most 50 µs.
//!
//! `cargo bench --bench verdict`

use buildstatus::domain::notify::verdict::{ChangeBuild, Requirements, verdict};
use buildstatus::domain::result::BuildResult;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const REV: &str = "4f3c2a1d9e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c";

/// 50 builds of 25 builders: each built twice (a rebuild), results of every kind, a few still
/// running, some reporting the revision they built.
fn builds() -> Vec<ChangeBuild> {
    (0..50u32)
        .map(|i| ChangeBuild {
            builder: format!("builder-{:02}", i % 25),
            number: i,
            built: (i % 3 == 0).then(|| REV.to_owned()),
            result: match i % 10 {
                9 if i > 40 => None,
                n => Some(BuildResult::ALL[usize::try_from(n).unwrap_or(0) % 4]),
            },
        })
        .collect()
}

fn decide(c: &mut Criterion) {
    let builds = builds();
    let finished: Vec<ChangeBuild> =
        builds.iter().cloned().map(|b| ChangeBuild { result: b.result.or(Some(BuildResult::Success)), ..b }).collect();
    let required = Requirements {
        required: (0..25).map(|i| format!("builder-{i:02}")).collect(),
        passing: vec![BuildResult::Success, BuildResult::Warnings],
    };
    let mut group = c.benchmark_group("verdict");
    group.throughput(Throughput::Elements(1));
    group.bench_function("50_builds_running", |b| b.iter(|| verdict(REV, &builds, &[], &Requirements::default())));
    group.bench_function("50_builds_decided", |b| b.iter(|| verdict(REV, &finished, &[], &required)));
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
