//! View cost against history size: `/console` (200 builders × 50 revisions) and `/waterfall`
//! (200 builders, 200 time rows) with 10,000 and 1,000,000 builds in the SQLite store. A view
//! reads a bounded slice of each builder's history, so its cost must not grow with the rest;
//! asked again while nothing happened, it comes from the view cache.
//!
//! The server runs with the default window (100 finished builds per builder in memory), as
//! `buildstatus serve` does.
//!
//! `cargo bench --bench views` (set `BUILDSTATUS_BENCH_VIEW_SIZES=10000` for a quick run).

mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};

const BUILDERS: usize = 200;

fn views(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("views");
    group.sample_size(10);
    for builds in support::sizes_from("BUILDSTATUS_BENCH_VIEW_SIZES", &[10_000, 1_000_000]) {
        let server =
            runtime.block_on(async { support::default_server(support::history_of(BUILDERS, builds).await).await });
        let server = Arc::new(server);
        for (name, uri) in
            [("console", "/console?revs=50"), ("waterfall", "/waterfall?num_events=200"), ("grid", "/grid?width=5")]
        {
            // Cold: a URL not asked before, so the view is computed; warm: the same URL while
            // the status stands still, answered from the view cache.
            let mut n = 0u64;
            group.bench_function(format!("{name}/cold/{builds}"), |b| {
                b.to_async(&runtime).iter(|| {
                    n += 1;
                    let (server, uri) = (server.clone(), format!("{uri}&n={n}"));
                    async move { support::fetch(&server, &uri).await }
                })
            });
            group.bench_function(format!("{name}/warm/{builds}"), |b| {
                b.to_async(&runtime).iter(|| support::fetch(&server, uri))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, views);
criterion_main!(benches);
