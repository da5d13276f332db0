//! Perspective Broker encoding (issue 18): `pb/build_finished` is the whole cost of one
//! `buildFinished` call to a subscribed client, from the status event to the bytes queued
//! (the mode matrix, the jelly values, the broker message, Banana with the vocabulary).
//! Target: at most 5 µs. `pb/decode_login` reads the bytes of a stock client's login.
//!
//! `cargo bench --bench pb`.

use buildstatus::domain::event::StatusEvent;
use buildstatus::domain::model::Properties;
use buildstatus::domain::pb::Value;
use buildstatus::domain::pb::banana::{self, Decoder};
use buildstatus::domain::pb::message::{Message, ObjectId};
use buildstatus::domain::pb::status::{Arg, Mode, push_for};
use buildstatus::domain::result::BuildResult;
use criterion::{Criterion, criterion_group, criterion_main};

fn encode_build_finished(event: &StatusEvent, request_id: i64, out: &mut Vec<u8>) {
    let push = push_for(event, Mode::Steps).expect("buildFinished is sent from builds on");
    // The listener numbers references; a fixed number stands in for its table lookup.
    let args = push.args.into_iter().map(|a| match a {
        Arg::Value(v) => v,
        Arg::Ref(_) => Value::Remote(7),
    });
    let message = Message::Call {
        request_id,
        object: ObjectId::Luid(3),
        method: push.method.to_owned(),
        answer_required: true,
        arguments: Ok((args.collect(), Vec::new())),
        cached: false,
    };
    out.clear();
    banana::encode(&message.to_item(), true, out).expect("small");
}

fn bench(c: &mut Criterion) {
    let event = StatusEvent::BuildFinished {
        builder: "linux-x86_64-release".into(),
        number: 4242,
        result: BuildResult::Failure,
        text: vec!["failed".into(), "test".into()],
        at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        properties: Properties::new(),
    };
    let mut out = Vec::with_capacity(256);
    let mut id = 0;
    c.bench_function("pb/build_finished", |b| {
        b.iter(|| {
            id += 1;
            encode_build_finished(&event, id, &mut out);
            std::hint::black_box(out.len())
        })
    });
    let login: Vec<u8> = [
        &b"\x02\x82pb"[..],
        b"\x02\x80\x13\x87\x06\x81",
        b"\x07\x80\x1a\x87\x01\x81\x04\x82root\x14\x87\x01\x81\x02\x80\x0b\x87\x0c\x82statusClient\x01\x80\x05\x87",
    ]
    .concat();
    c.bench_function("pb/decode_login", |b| {
        b.iter(|| {
            let mut decoder = Decoder::new(1 << 20);
            decoder.feed(&login);
            let dialect = decoder.next_item().expect("valid").expect("complete");
            decoder.set_vocabulary(true);
            let mut messages = 0;
            while let Some(item) = decoder.next_item().expect("valid") {
                messages += usize::from(Message::from_item(&item).is_ok());
            }
            std::hint::black_box((dialect, messages))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
