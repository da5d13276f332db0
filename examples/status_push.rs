//! The library's StatusPush: an embedding master receives every status event as a numbered
//! packet in an async closure (here it prints them), in order, a batch a call. It reports a
//! builder, a worker and a build, then stops, which sends `shutdown`.
//!
//! Run with `cargo run --example status_push`.

use std::sync::Arc;
use std::time::Duration;

use buildstatus::app::notify::{Notifiers, StatusPush};
use buildstatus::app::{Setup, StatusServer};
use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::{Build, Builder, Worker};
use buildstatus::domain::notify::outbox::AttemptError;
use buildstatus::domain::notify::push::Packet;
use buildstatus::domain::result::BuildResult;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let push = StatusPush::new("printer", |packets: Vec<Packet>| async move {
        for packet in &packets {
            println!("#{} {} {}", packet.id, packet.event, serde_json::Value::Object(packet.payload.clone()));
        }
        Ok::<(), AttemptError>(())
    })
    .buffer_delay(Duration::from_millis(500))
    .retry_delay(Duration::from_secs(5))
    .events(None, &["stepStarted".to_owned(), "stepFinished".to_owned()])?;
    let setup = Setup { notifiers: Notifiers::new(vec![Arc::new(push)]), ..Setup::default() };
    let server = StatusServer::start(setup).await?;
    // The target starts on its own task: its `start` comes before the events below.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let sink = server.sink();
    let now = chrono::Utc::now();
    sink.record(StatusEvent::BuilderAdded {
        builder: Builder { name: "toy".into(), workers: vec!["w1".into()], ..Builder::default() },
    })
    .await?;
    sink.record(StatusEvent::WorkerConnected { worker: Worker { name: "w1".into(), ..Worker::default() }, at: now })
        .await?;
    let build = Build {
        builder: "toy".into(),
        number: 0,
        reason: "forced".into(),
        worker: "w1".into(),
        started: now,
        ..Build::default()
    };
    sink.record(StatusEvent::BuildStarted { build, requests: vec![] }).await?;
    sink.record(StatusEvent::BuildFinished {
        builder: "toy".into(),
        number: 0,
        result: BuildResult::Success,
        text: vec!["build".into(), "successful".into()],
        at: now,
        properties: Default::default(),
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.stop_notifiers().await;
    Ok(())
}
