//! The 1,000-builder fixture of issue 21: 1,000 builders × 1,000 builds each (a million builds
//! in the SQLite store, made once under `target/bench-data/`), served with the default window
//! as `buildstatus serve` is. Every request is cold (a query argument never asked before), so
//! the view cache never answers: the default `/console` (40 revisions × 1,000 builders), the
//! default `/waterfall`, `/grid` and `/json/builders`.
//!
//! `cargo bench --bench scale` (the first run writes the fixture: a few minutes, ~2 GB).
//! `BUILDSTATUS_BENCH_SCALE=BUILDERS,BUILDS_PER_BUILDER` measures another shape.
//! The resident memory of the release binary holding the fixture is measured apart (README).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};

criterion_group!(benches, scale);
criterion_main!(benches);

fn scale(c: &mut Criterion) {
    let shape = support::sizes_from("BUILDSTATUS_BENCH_SCALE", &[1_000, 1_000]);
    let (builders, per_builder) = (shape[0], shape[1]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = runtime.block_on(support::history_of(builders, builders * per_builder));
    let server = runtime.block_on(support::filled_server(dir));
    let mut group = c.benchmark_group(format!("scale/{builders}x{per_builder}"));
    group.sample_size(10);
    let fresh = AtomicU64::new(0);
    for (name, uri) in
        [("console", "/console"), ("waterfall", "/waterfall"), ("grid", "/grid"), ("json_builders", "/json/builders")]
    {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let uri = format!("{uri}?cold={}", fresh.fetch_add(1, Ordering::Relaxed));
                let server = &server;
                async move { support::fetch(server, &uri).await }
            })
        });
    }
    group.finish();
}
