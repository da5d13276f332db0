//! `import-buildbot` on the peer benchmark's history (20 builders × 500 builds, 5 steps and
//! one log each: `shared/bench/buildbot-peer`'s `setup.sh` + `populate.py`). The issue asks
//! for less time than Buildbot 4.3 takes to start on that database (`start.sh` measures it:
//! a median of 4.7 s on the reference machine). One iteration is the whole command: open and
//! check the Buildbot database, start the store in an empty directory, import, summarise.
//!
//! `BUILDSTATUS_BENCH_BUILDBOT_DB=/tmp/bbpeer/master/state.sqlite cargo bench --bench import_buildbot`
//! (that path is the default: the harness's own).

use std::path::{Path, PathBuf};
use std::time::Duration;

use buildstatus::adapters::buildbot::db::BuildbotDb;
use buildstatus::app::import::import;
use buildstatus::app::{Setup, StatusServer, Storage};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn database() -> PathBuf {
    let path = std::env::var_os("BUILDSTATUS_BENCH_BUILDBOT_DB")
        .map_or_else(|| PathBuf::from("/tmp/bbpeer/master/state.sqlite"), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: run shared/bench/buildbot-peer/setup.sh and populate.py (or set BUILDSTATUS_BENCH_BUILDBOT_DB)",
        path.display()
    );
    path
}

async fn import_into(db: &Path, data: PathBuf) -> usize {
    let buildbot = BuildbotDb::open(db.to_str().expect("a UTF-8 path")).await.expect("a Buildbot 4.3 database");
    let setup = Setup { storage: Storage::Directory(data), public_html: None, ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server");
    let summary = import(&buildbot, server.sink().as_ref(), server.reader().as_ref(), false).await.expect("imported");
    assert_eq!(summary.builds_imported, 10_000, "the bench history has 10,000 builds");
    summary.builds_imported
}

fn import_bench_history(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = database();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("bench-data").join("import");
    let mut group = c.benchmark_group("import_buildbot");
    group.sample_size(10).measurement_time(Duration::from_secs(60));
    group.bench_function("bench_history_20x500", |b| {
        b.to_async(&runtime).iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&root);
                root.clone()
            },
            |data| import_into(&db, data),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, import_bench_history);
criterion_main!(benches);
