//! The cold path of the pages the issue compares with Buildbot 4.3: every request carries a
//! query argument never seen before, so the view cache never answers (what a user of a busy
//! master mostly gets, since every event invalidates it). On the harness's shape, 20 builders
//! × 500 builds, with the default window, through the whole router.
//!
//! `cargo bench --bench cold` (`-- cold/console` for one)

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};

criterion_group!(benches, cold);
criterion_main!(benches);

fn cold(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(async { support::default_server(support::history(10_000).await).await });
    let select: Vec<String> = (1..=5).map(|n| format!("select=-{n}")).collect();
    let recent = format!("/json/builders/builder-3/builds?{}", select.join("&"));
    let newest = runtime
        .block_on(async { server.reader().newest_build_number("builder-3").await.expect("read").expect("builds") });
    let mut group = c.benchmark_group("cold");
    group.sample_size(30);
    let fresh = AtomicU64::new(0);
    for (name, uri) in [
        ("console", "/console".to_owned()),
        ("waterfall", "/waterfall".to_owned()),
        ("json_builders", "/json/builders".to_owned()),
        ("json_recent_5", recent),
        ("build_page", format!("/builders/builder-3/builds/{newest}")),
    ] {
        let separator = if uri.contains('?') { '&' } else { '?' };
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let uri = format!("{uri}{separator}cold={}", fresh.fetch_add(1, Ordering::Relaxed));
                let server = &server;
                async move { support::fetch(server, &uri).await }
            })
        });
    }
    group.finish();
}
