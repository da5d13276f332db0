//! A toy master embedding buildstatus: it reports a builder, a worker, a change and a build
//! with steps and a log through `StatusSink`, then serves the pages on 127.0.0.1:8010. It
//! obeys the web status's Force Build button: it implements `MasterControl` (the schedulers
//! its force forms offer, and `force`), and anyone may press it (its `Authz`).
//!
//! Run with `cargo run --example embed`, then open http://127.0.0.1:8010/builders/toy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use buildstatus::adapters::http::AuthSettings;
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::auth::{Action, Authz};
use buildstatus::domain::event::{Channel, StatusEvent};
use buildstatus::domain::model::{Build, BuildRequest, Builder, Change, Step, Worker};
use buildstatus::domain::result::BuildResult;
use buildstatus::ports::{ControlError, ForceRequest, ForceScheduler, Forced, MasterControl, StatusSink};

/// What the web status's actions ask of the toy master. Only what it implements works: the
/// other actions keep the port's default answer, "this master cannot".
struct ToyMaster {
    sink: Arc<dyn StatusSink>,
    next_request: AtomicU64,
    next_build: AtomicU32,
}

#[async_trait::async_trait]
impl MasterControl for ToyMaster {
    /// One force form, for the one builder.
    async fn force_schedulers(&self) -> Vec<ForceScheduler> {
        vec![ForceScheduler::new("force", vec!["toy".into()])]
    }

    /// A forced build is requested, then runs at once (a toy build has nothing to do).
    async fn force(&self, request: ForceRequest) -> Result<Forced, ControlError> {
        let failed = |e: buildstatus::ports::SinkError| ControlError::Failed(e.to_string());
        let now = chrono::Utc::now();
        let id = self.next_request.fetch_add(1, Ordering::SeqCst);
        let submitted = BuildRequest {
            id,
            buildset_id: None,
            builder: "toy".into(),
            submitted_at: now,
            reason: request.buildset_reason(),
            properties: request.properties.clone(),
            sourcestamps: request.sourcestamps.clone(),
        };
        self.sink.record(StatusEvent::BuildRequestSubmitted { request: submitted }).await.map_err(failed)?;
        let number = self.next_build.fetch_add(1, Ordering::SeqCst);
        let build = Build {
            builder: "toy".into(),
            number,
            reason: request.buildset_reason(),
            properties: request.properties,
            sourcestamps: request.sourcestamps,
            worker: "w1".into(),
            started: now,
            ..Build::default()
        };
        self.sink.record(StatusEvent::BuildStarted { build, requests: vec![id] }).await.map_err(failed)?;
        let done = StatusEvent::BuildFinished {
            builder: "toy".into(),
            number,
            result: BuildResult::Success,
            text: vec!["build".into(), "successful".into()],
            at: chrono::Utc::now(),
            properties: Default::default(),
        };
        self.sink.record(done).await.map_err(failed)?;
        Ok(Forced { buildset: None, requests: vec![id] })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Anyone may press Force Build; the other actions stay denied.
    let authz = Authz::builder().allow(Action::ForceBuild).build();
    let setup = Setup { auth: AuthSettings { authz: Arc::new(authz), ..AuthSettings::default() }, ..Setup::default() };
    let server = StatusServer::start(setup).await?;
    let sink = server.sink();
    // The master commands itself through the sink, so it is set once the server runs.
    let master = ToyMaster { sink: sink.clone(), next_request: AtomicU64::new(1), next_build: AtomicU32::new(1) };
    server.set_master(Arc::new(master));
    let now = chrono::Utc::now();
    let builder =
        Builder { name: "toy".into(), tags: vec!["examples".into()], workers: vec!["w1".into()], ..Builder::default() };
    sink.record(StatusEvent::BuilderAdded { builder }).await?;
    sink.record(StatusEvent::WorkerConnected { worker: Worker { name: "w1".into(), ..Worker::default() }, at: now })
        .await?;
    let change = Change {
        number: 1,
        who: "Ann Lee <ann@example.org>".into(),
        files: vec!["src/lib.rs".into()],
        comments: "Make the toy faster".into(),
        revision: Some("3f2a9c1".into()),
        when: now,
        branch: Some("main".into()),
        category: None,
        revlink: None,
        properties: Default::default(),
        repository: String::new(),
        project: "toy".into(),
        codebase: String::new(),
    };
    sink.record(StatusEvent::ChangeAdded { change }).await?;

    let build = Build {
        builder: "toy".into(),
        number: 0,
        reason: "a change arrived".into(),
        blamelist: vec!["Ann Lee <ann@example.org>".into()],
        worker: "w1".into(),
        started: now,
        ..Build::default()
    };
    let b = || "toy".to_string();
    sink.record(StatusEvent::BuildStarted { build, requests: vec![] }).await?;
    let step = Step { number: 0, name: "test".into(), started: Some(now), ..Step::default() };
    sink.record(StatusEvent::StepStarted { builder: b(), number: 0, step }).await?;
    sink.record(StatusEvent::LogStarted {
        builder: b(),
        number: 0,
        step: 0,
        log: "stdio".into(),
        kind: Default::default(),
    })
    .await?;
    let text = "running 3 tests\nall passed\n".into();
    sink.record(StatusEvent::LogChunk {
        builder: b(),
        number: 0,
        step: 0,
        log: "stdio".into(),
        channel: Channel::Stdout,
        text,
    })
    .await?;
    sink.record(StatusEvent::LogFinished { builder: b(), number: 0, step: 0, log: "stdio".into() }).await?;
    let done = chrono::Utc::now();
    sink.record(StatusEvent::StepFinished {
        builder: b(),
        number: 0,
        step: 0,
        result: BuildResult::Success,
        text: vec!["test".into()],
        text2: vec![],
        at: done,
    })
    .await?;
    sink.record(StatusEvent::BuildFinished {
        builder: b(),
        number: 0,
        result: BuildResult::Success,
        text: vec!["build".into(), "successful".into()],
        at: done,
        properties: Default::default(),
    })
    .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:8010").await?;
    println!("serving http://127.0.0.1:8010/builders/toy (Ctrl-C stops)");
    server.serve(listener, async { tokio::signal::ctrl_c().await.unwrap_or_default() }).await?;
    Ok(())
}
