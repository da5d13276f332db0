//! Machine-readable status: `/json/builders`, a builder's 20 most recent builds through
//! `select=` (the figures the issue compares with Buildbot 4.3's REST API), and a badge hit
//! against a static file of the same size from the same server (a badge must cost no more
//! than twice a static file).
//!
//! `cargo bench --bench machine` (set `BUILDSTATUS_BENCH_SIZES=1000` for a quick run).

mod support;

use std::sync::Arc;

use buildstatus::app::{Setup, StatusServer, Storage};
use criterion::{Criterion, criterion_group, criterion_main};

fn machine(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("machine");
    group.sample_size(30);
    let select: Vec<String> = (1..=20).map(|n| format!("select=-{n}")).collect();
    let recent = format!("/json/builders/builder-3/builds?{}", select.join("&"));
    for builds in support::sizes() {
        let public_html = tempfile::tempdir().expect("tempdir");
        let server = runtime.block_on(async {
            let dir = support::history(builds).await;
            let setup = Setup {
                storage: Storage::Directory(dir),
                window: support::WINDOW.max(20),
                public_html: Some(public_html.path().to_path_buf()),
                ..Setup::default()
            };
            let server = StatusServer::start(setup).await.expect("server");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            server
        });
        let server = Arc::new(server);
        let badge_size = runtime.block_on(support::fetch(&server, "/badges/builder-3.svg"));
        std::fs::write(public_html.path().join("same-size.svg"), vec![b'x'; badge_size]).expect("static file");
        for (name, uri) in [
            ("json_builders", "/json/builders".to_owned()),
            ("json_recent_20", recent.clone()),
            ("badge_hit", "/badges/builder-3.svg".to_owned()),
            ("static_same_size", "/same-size.svg".to_owned()),
        ] {
            group.bench_function(format!("{name}/{builds}"), |b| {
                b.to_async(&runtime).iter(|| support::fetch(&server, &uri))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, machine);
criterion_main!(benches);
