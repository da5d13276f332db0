//! Time from start to the first answered request: `StatusServer::start` on the SQLite store
//! (loading the hub's window) plus `/builders`, with an empty store and with the sizes of
//! `support::sizes()` (1,000,000 builds by default).

mod support;

use criterion::{Criterion, criterion_group, criterion_main};

fn startup(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("first_request");
    group.sample_size(10);
    let mut cases = vec![(0usize, runtime.block_on(support::history(0)))];
    for builds in support::sizes() {
        cases.push((builds, runtime.block_on(support::history(builds))));
    }
    for (builds, dir) in cases {
        group.bench_function(format!("builds/{builds}"), |b| {
            b.to_async(&runtime).iter(|| async {
                let server = support::start(dir.clone()).await;
                support::fetch(&server, "/builders").await
            })
        });
    }
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
