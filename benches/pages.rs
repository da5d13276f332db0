//! Page cost against history size: `/builders`, `/builders/NAME` and a build page (a recent
//! one, answered from memory, and old ones, read from the store by index) with 1,000 and
//! 1,000,000 builds in the SQLite store. The memory window is the same small size at both
//! sizes, so each page takes the same path at both.
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
        ] {
            group.bench_function(format!("{name}/{builds}"), |b| {
                b.to_async(&runtime).iter(|| support::fetch(&server, &uri))
            });
        }
        // Old builds, outside the memory window at every size: each one read from SQLite.
        let deep: Vec<String> = (0..40).map(|n| format!("/builders/builder-{}/builds/{n}", n % 20)).collect();
        let mut next = 0;
        group.bench_function(format!("build_deep/{builds}"), |b| {
            b.to_async(&runtime).iter(|| {
                next = (next + 1) % deep.len();
                support::fetch(&server, &deep[next])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
