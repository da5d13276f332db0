//! A toy master embedding buildstatus: it reports a builder, a worker, a change and a build
//! with steps and a log through `StatusSink`, then serves the pages on 127.0.0.1:8010.
//!
//! Run with `cargo run --example embed`, then open http://127.0.0.1:8010/builders/toy.

use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::{Channel, StatusEvent};
use buildstatus::domain::model::{Build, Builder, Change, Step, Worker};
use buildstatus::domain::result::BuildResult;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = StatusServer::start(Setup::default()).await?;
    let sink = server.sink();
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
        properties: Default::default(),
        sourcestamps: vec![],
        blamelist: vec!["Ann Lee <ann@example.org>".into()],
        worker: "w1".into(),
        started: now,
        finished: None,
        result: None,
        text: vec![],
        steps: vec![],
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
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
