//! Page cost against history size: `/builders`, `/builders/NAME` and a build page (a recent
//! one, answered from memory, and a deep one, read from the store by index) with 1,000 and
//! 1,000,000 builds in the SQLite store.
//!
//! `cargo bench --bench pages` (set `BUILDSTATUS_BENCH_SIZES=1000` for a quick run).

mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("pages");
    group.sample_size(30);
    for builds in support::sizes() {
        let server = runtime.block_on(async { support::server(support::history(builds).await).await });
        let server = Arc::new(server);
        for (name, uri) in [
            ("builders", "/builders".to_owned()),
            ("builder", "/builders/builder-3".to_owned()),
            ("build_recent", "/builders/builder-3/builds/-1".to_owned()),
            ("build_deep", "/builders/builder-3/builds/5".to_owned()),
        ] {
            group.bench_function(format!("{name}/{builds}"), |b| {
                b.to_async(&runtime).iter(|| support::fetch(&server, &uri))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
