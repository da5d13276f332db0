//! A notification target of a kind of its own, written here as an embedding master would write
//! one: a "journal" target that keeps one line per finished build, delivered in order, with a
//! line when it starts and one when it stops. It is the whole of what a new kind needs (its
//! decision, its transport, its target description); the framework does the rest: cursor,
//! outbox, delivery discipline, `/notifications`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::StatusCode;
use buildstatus::app::notify::{
    Context, Deliver, Notifier, Notifiers, NotifyError, Parts, Policy, Queue, Target, WorkerOptions,
};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::{SequencedEvent, StatusEvent};
use buildstatus::domain::model::Builder;
use buildstatus::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, TargetId};
use buildstatus::domain::notify::start::StartPolicy;
use buildstatus::domain::result::BuildResult;

use buildstatus::adapters::memory::MemoryClock;

use crate::common::{at, get, whole_build};

/// The lines the journal's "peer" received.
type Lines = Arc<Mutex<Vec<String>>>;

struct JournalTarget {
    name: &'static str,
    lines: Lines,
    start: StartPolicy,
}

/// A target's `Debug` is its configuration (a reload compares it): not what it received.
impl std::fmt::Debug for JournalTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalTarget").field("name", &self.name).field("start", &self.start).finish()
    }
}

impl Target for JournalTarget {
    fn id(&self) -> TargetId {
        TargetId::new("journal", self.name).expect("a valid id")
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        Policy { discipline: Discipline::Ordered, batch: 10, start: self.start, ..Policy::defaults(defaults) }
    }

    fn start(&self, _: &Context, queue: Queue) -> Result<Parts, String> {
        let notifier = JournalNotifier { queue, name: self.name };
        Ok(Parts { notifier: Arc::new(notifier), deliver: Arc::new(Append(self.lines.clone())) })
    }
}

struct JournalNotifier {
    queue: Queue,
    name: &'static str,
}

#[async_trait]
impl Notifier for JournalNotifier {
    async fn started(&self, from: u64) -> Result<(), NotifyError> {
        self.queue.push(&format!("start.{from}"), format!("{} started", self.name), "start".into()).await?;
        Ok(())
    }

    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        let StatusEvent::BuildFinished { builder, number, result, .. } = &event.event else { return Ok(false) };
        let line = format!("{builder} #{number} {}", result.name());
        self.queue.push(&format!("build.{builder}.{number}"), line.clone(), line).await?;
        Ok(true)
    }

    async fn stopping(&self) -> Result<(), NotifyError> {
        self.queue.push("stop", format!("{} stopped", self.name), "stop".into()).await?;
        Ok(())
    }
}

struct Append(Lines);

#[async_trait]
impl Deliver for Append {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        self.0.lock().expect("lines").extend(batch.iter().map(|m| m.payload.clone()));
        Ok(())
    }
}

#[tokio::test]
async fn a_target_of_its_own_kind_gets_the_frameworks_delivery_and_hooks() {
    let lines: Lines = Arc::default();
    let target = Arc::new(JournalTarget { name: "builds", lines: lines.clone(), start: StartPolicy::Resume });
    let setup = Setup { notifiers: Notifiers::new(vec![target]), ..Setup::default() };
    let server = StatusServer::start(setup).await.expect("server starts");
    let sink = server.sink();
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    for (n, result) in [(0, BuildResult::Failure), (1, BuildResult::Success), (2, BuildResult::Warnings)] {
        sink.record_all(whole_build("linux", n, i64::from(n) * 5, "main", result, None)).await.expect("build");
    }
    let expected = ["builds started", "linux #0 failure", "linux #1 success", "linux #2 warnings"];
    let start = Instant::now();
    while lines.lock().expect("lines").len() < expected.len() {
        assert!(start.elapsed() < Duration::from_secs(10), "{:?}", lines.lock().expect("lines"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*lines.lock().expect("lines"), expected);

    let (status, page, _) = get(&server, "/notifications?target=journal/builds").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<span class="kind">journal</span> builds"#), "{page}");
    assert!(page.contains("Delivery: ordered."), "{page}");

    server.stop_notifiers().await;
    assert_eq!(
        lines.lock().expect("lines").last().map(String::as_str),
        Some("builds stopped"),
        "the goodbye is delivered"
    );
}

/// A target that must not act on old news (a chat bot after a restart) passes over events that
/// happened longer ago than its start policy says, and acts on the rest.
#[tokio::test]
async fn a_target_that_skips_stale_events_passes_over_old_builds() {
    let lines: Lines = Arc::default();
    let start = StartPolicy::SkipOlderThan(Duration::from_secs(30 * 60));
    let target = Arc::new(JournalTarget { name: "builds", lines: lines.clone(), start });
    let setup = Setup { notifiers: Notifiers::new(vec![target]), ..Setup::default() };
    // An hour after minute 0: a build that finished at minute 3 is old news, one at 43 is not.
    let server = StatusServer::start_with_clock(setup, Arc::new(MemoryClock::new(at(60)))).await.expect("starts");
    let sink = server.sink();
    let builder = Builder { name: "linux".into(), workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder }).await.expect("builder");
    sink.record_all(whole_build("linux", 0, 0, "main", BuildResult::Failure, None)).await.expect("old build");
    let last = sink.record_all(whole_build("linux", 1, 40, "main", BuildResult::Success, None)).await.expect("new");
    let start = Instant::now();
    while server.outbox().cursor("journal/builds").await.expect("cursor") < Some(last) {
        assert!(start.elapsed() < Duration::from_secs(10), "the cursor does not move past the old build");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while lines.lock().expect("lines").len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "{:?}", lines.lock().expect("lines"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*lines.lock().expect("lines"), ["builds started", "linux #1 success"]);
}

async fn until_lines(lines: &Lines, n: usize) -> Vec<String> {
    let start = Instant::now();
    while lines.lock().expect("lines").len() < n {
        assert!(start.elapsed() < Duration::from_secs(10), "{:?}", lines.lock().expect("lines"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lines.lock().expect("lines").clone()
}

/// A reload restarts only the targets whose configuration changed: one kept goes on (its
/// start hook ran once), one removed says goodbye, one added starts.
#[tokio::test]
async fn a_reload_restarts_only_the_targets_that_changed() {
    let lines: Lines = Arc::default();
    let target =
        |name| Arc::new(JournalTarget { name, lines: lines.clone(), start: StartPolicy::Resume }) as Arc<dyn Target>;
    let setup = Setup { notifiers: Notifiers::new(vec![target("kept"), target("removed")]), ..Setup::default() };
    let server = StatusServer::start(setup.clone()).await.expect("server starts");
    until_lines(&lines, 2).await;
    let reloaded = Setup { notifiers: Notifiers::new(vec![target("kept"), target("added")]), ..setup };
    assert_eq!(server.reload(reloaded).await.expect("reloaded").kept, Vec::<String>::new());
    let mut seen = until_lines(&lines, 4).await;
    seen.sort();
    assert_eq!(seen, ["added started", "kept started", "removed started", "removed stopped"]);
    let (_, page, _) = get(&server, "/notifications").await;
    assert!(page.contains(r#"<span class="kind">journal</span> added"#), "the page shows the new target");
}
