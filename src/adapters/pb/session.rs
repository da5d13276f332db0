//! One client connection: the dialect choice, the broker's messages, the table of objects the
//! client holds references to (one number per object, counted, P4), login, and the bounded
//! outgoing queue that disconnects a client which stops reading.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::PbService;
use crate::domain::pb::banana::{self, DIALECTS, Item};
use crate::domain::pb::message::{Failure, Message, ObjectId, VERSION, response_matches};
use crate::domain::pb::requests::RequestObservers;
use crate::domain::pb::status::{Mode, Object};
use crate::domain::pb::{Decoder, Value};
use crate::ports::EventStream;

/// Reference-limit violations after which a client is disconnected (as Twisted).
const VIOLATIONS: u32 = 3;
/// How long a closing connection may take to write what is queued.
const FLUSH: Duration = Duration::from_secs(2);

/// Why a connection ends.
#[derive(Debug)]
pub(super) struct Close(pub String);

/// A client's subscription to the status (`perspective.subscribe`).
pub(super) struct Subscription {
    pub mode: Mode,
    pub interval: f64,
    pub target: i64,
}

/// A `waitUntilFinished` call answered when its object finishes.
pub(super) struct Waiter {
    pub request_id: i64,
    pub object: Object,
}

pub(super) struct Session {
    pub service: Arc<PbService>,
    pub peer: String,
    out: Outgoing,
    decoder: Decoder,
    dialect_chosen: bool,
    exports: HashMap<i64, (Object, u32)>,
    luids: HashMap<Object, i64>,
    next_luid: i64,
    violations: u32,
    /// Usernames of the challenges handed out, by challenge.
    challenges: HashMap<Vec<u8>, String>,
    pub logged_in: bool,
    pub subscription: Option<Subscription>,
    /// Per-build observers (`build.subscribe`): builder, number, the client's observer, its
    /// ETA interval.
    pub build_observers: Vec<(String, u32, i64, Option<f64>)>,
    pub waiters: Vec<Waiter>,
    /// Observers of build requests (`request.subscribe`).
    pub request_observers: RequestObservers,
    /// Whether the connection follows the event feed (from login to logout).
    following: bool,
    pub last_seq: u64,
    next_request: i64,
    /// Step names by (builder, build, step), learned from the events.
    pub step_names: HashMap<(String, u32, u32), String>,
    pub since_eta: f64,
}

/// The bytes waiting for the writer task, bounded in bytes.
struct Outgoing {
    queue: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

pub(super) async fn run<S>(stream: S, peer: String, service: Arc<PbService>)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut read, mut write) = tokio::io::split(stream);
    let (queue, mut pending) = mpsc::unbounded_channel::<Vec<u8>>();
    let queued = Arc::new(AtomicUsize::new(0));
    let written = queued.clone();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = pending.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
            written.fetch_sub(bytes.len(), Ordering::Relaxed);
        }
        let _ = write.shutdown().await;
    });
    let limit = service.settings.queue_limit;
    let frame_limit = service.settings.frame_limit;
    let request_observers = RequestObservers::new(service.settings.max_references);
    let mut session = Session {
        service,
        peer,
        out: Outgoing { queue, queued, limit },
        decoder: Decoder::new(frame_limit),
        dialect_chosen: false,
        exports: HashMap::new(),
        luids: HashMap::new(),
        next_luid: 1,
        violations: 0,
        challenges: HashMap::new(),
        logged_in: false,
        subscription: None,
        build_observers: Vec::new(),
        waiters: Vec::new(),
        request_observers,
        following: false,
        last_seq: 0,
        next_request: 1,
        step_names: HashMap::new(),
        since_eta: 0.0,
    };
    tracing::debug!("pb: {} connected", session.peer);
    let offer = Item::List(DIALECTS.iter().map(|d| Item::bytes(d)).collect());
    let ended = match session.send_item(&offer, false) {
        Err(close) => close,
        Ok(()) => session.serve(&mut read).await,
    };
    tracing::info!("pb: {} disconnected: {}", session.peer, ended.0);
    drop(session);
    // What is queued (the error that ended it) goes out, unless the client stopped reading:
    // then the writer is blocked and goes with the connection.
    let abort = writer.abort_handle();
    if tokio::time::timeout(FLUSH, writer).await.is_err() {
        abort.abort();
    }
}

impl Session {
    async fn serve<R: AsyncRead + Unpin>(&mut self, read: &mut R) -> Close {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Outside the session, which the reads borrow: a stream is Send but not Sync.
        let mut events: Option<EventStream> = None;
        loop {
            match (self.following, events.is_some()) {
                (true, false) => events = Some(self.service.feed.follow(self.last_seq)),
                (false, true) => events = None,
                _ => {}
            }
            let step = tokio::select! {
                got = read.read(&mut buffer) => match got {
                    Ok(0) => Err(Close("the client closed the connection".into())),
                    Err(e) => Err(Close(format!("read failed: {e}"))),
                    Ok(n) => {
                        let bytes = buffer[..n].to_vec();
                        self.received(&bytes).await
                    }
                },
                event = next_event(&mut events) => match event {
                    Some(Ok(event)) => {
                        self.last_seq = event.seq;
                        self.event(&event.event).await
                    }
                    // Fell behind the bus, or the journal failed: follow again from the last one seen.
                    Some(Err(_)) | None => {
                        events = None;
                        Ok(())
                    }
                },
                _ = tick.tick() => self.tick(1.0).await,
            };
            if let Err(close) = step {
                return close;
            }
        }
    }

    async fn received(&mut self, bytes: &[u8]) -> Result<(), Close> {
        self.decoder.feed(bytes);
        loop {
            let item = match self.decoder.next_item() {
                Ok(Some(item)) => item,
                Ok(None) => return Ok(()),
                Err(e) => return Err(Close(format!("protocol error: {e}"))),
            };
            if !self.dialect_chosen {
                self.choose_dialect(&item)?;
                continue;
            }
            match Message::from_item(&item) {
                Ok(message) => self.message(message).await?,
                Err(crate::domain::pb::message::MessageError::Unknown(name)) => {
                    self.send(&Message::DidNotUnderstand(name))?;
                }
                Err(e) => return Err(Close(format!("protocol error: {e}"))),
            }
        }
    }

    fn choose_dialect(&mut self, item: &Item) -> Result<(), Close> {
        let chosen = item.as_bytes().and_then(|d| DIALECTS.iter().find(|offered| offered.as_bytes() == d));
        let Some(dialect) = chosen else {
            return Err(Close(format!("chose a dialect that was not offered: {item:?}")));
        };
        self.dialect_chosen = true;
        self.decoder.set_vocabulary(*dialect == "pb");
        self.send(&Message::Version(VERSION))
    }

    async fn message(&mut self, message: Message) -> Result<(), Close> {
        match message {
            Message::Version(VERSION) => Ok(()),
            Message::Version(other) => Err(Close(format!("protocol version {other}, not {VERSION}"))),
            Message::Call { request_id, object, method, answer_required, arguments, cached } => {
                let outcome = match arguments {
                    _ if cached => Err(Failure::pb_error("Invalid Object ID")),
                    Err(e) => Err(Failure::insecure_jelly(e.to_string())),
                    Ok((args, _kwargs)) => self.call(request_id, &object, &method, &args, answer_required).await,
                };
                if !answer_required {
                    return Ok(());
                }
                match outcome {
                    Ok(Some(result)) => self.answer(request_id, result),
                    // Answered later (waitUntilFinished).
                    Ok(None) => Ok(()),
                    Err(failure) => self.send(&Message::Error { request_id, failure: failure.to_value() }),
                }
            }
            Message::Decref(luid) => {
                self.decref(luid);
                Ok(())
            }
            Message::Error { failure, .. } => {
                tracing::debug!("pb: {} answered a call with an error: {failure:?}", self.peer);
                Ok(())
            }
            Message::Answer { .. } | Message::Decache(_) | Message::Uncache(_) => Ok(()),
            Message::DidNotUnderstand(name) => {
                tracing::debug!("pb: {} did not understand {name}", self.peer);
                Ok(())
            }
        }
    }

    /// Runs a call: its result, `None` when it is answered later, or the failure to send.
    async fn call(
        &mut self,
        request_id: i64,
        object: &ObjectId,
        method: &str,
        args: &[Value],
        answer_required: bool,
    ) -> Result<Option<Value>, Failure> {
        let luid = match object {
            ObjectId::Root => return self.root(method, args).map(Some),
            ObjectId::Luid(luid) => *luid,
        };
        let Some((target, _)) = self.exports.get(&luid).cloned() else {
            return Err(Failure::pb_error("Invalid Object ID"));
        };
        match target {
            Object::Challenger(challenge) => self.respond(&challenge, method, args).map(Some),
            Object::Perspective => self.perspective(method, args).await.map(Some),
            other => self.remote(request_id, &other, method, args, answer_required).await,
        }
    }

    /// The root object: `login(username)` answers a challenge and a challenger to respond to.
    fn root(&mut self, method: &str, args: &[Value]) -> Result<Value, Failure> {
        match method {
            "login" => {
                let [user] = args else { return Err(Failure::type_error("login() takes 1 argument")) };
                let user = user.as_str().unwrap_or_default().to_owned();
                let mut challenge = vec![0u8; 16];
                let random = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().secure_random;
                random.fill(&mut challenge).map_err(|_| Failure::pb_error("no randomness for a challenge"))?;
                self.challenges.insert(challenge.clone(), user);
                let challenger = self.export(Object::Challenger(challenge.clone()))?;
                Ok(Value::Tuple(vec![Value::Bytes(challenge), challenger]))
            }
            "loginAnonymous" => Err(Failure::unauthorized_login()),
            other => Err(Failure::no_such_method(other)),
        }
    }

    /// The challenger's `respond(response, mind)`: the perspective, or UnauthorizedLogin.
    fn respond(&mut self, challenge: &[u8], method: &str, args: &[Value]) -> Result<Value, Failure> {
        if method != "respond" {
            return Err(Failure::no_such_method(method));
        }
        let (Some(Value::Bytes(response)), Some(user)) = (args.first(), self.challenges.remove(challenge)) else {
            return Err(Failure::unauthorized_login());
        };
        let settings = &self.service.settings;
        let user_ok = crate::domain::hooks::verify::secrets_equal(user.as_bytes(), settings.user.as_bytes());
        let password_ok = response_matches(response, settings.password.as_bytes(), challenge);
        if !(user_ok && password_ok) {
            tracing::info!("pb: {} failed to log in as {user:?}", self.peer);
            return Err(Failure::unauthorized_login());
        }
        tracing::info!("pb: {} logged in as {user:?}", self.peer);
        self.logged_in = true;
        self.last_seq = self.service.feed.last_seq();
        self.following = true;
        self.export(Object::Perspective)
    }

    /// A reference to `object` for the client: its number, counted once more.
    pub fn export(&mut self, object: Object) -> Result<Value, Failure> {
        if let Some(luid) = self.luids.get(&object) {
            if let Some(entry) = self.exports.get_mut(luid) {
                entry.1 += 1;
            }
            return Ok(Value::Remote(*luid));
        }
        if self.exports.len() >= self.service.settings.max_references {
            self.violations += 1;
            return Err(Failure::pb_error("Maximum PB reference count exceeded."));
        }
        let luid = self.next_luid;
        self.next_luid += 1;
        self.exports.insert(luid, (object.clone(), 1));
        self.luids.insert(object, luid);
        Ok(Value::Remote(luid))
    }

    fn decref(&mut self, luid: i64) {
        let Some(entry) = self.exports.get_mut(&luid) else { return };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 > 0 {
            return;
        }
        let (object, _) = self.exports.remove(&luid).expect("present");
        self.luids.remove(&object);
        match object {
            // A client that drops its perspective is logged out (as Twisted).
            Object::Perspective => self.logout(),
            // A challenger dropped unanswered: its challenge goes too (logins stay bounded).
            Object::Challenger(challenge) => {
                self.challenges.remove(&challenge);
            }
            _ => {}
        }
    }

    /// Forgets the subscriptions; the client keeps its connection.
    pub fn logout(&mut self) {
        self.logged_in = false;
        self.subscription = None;
        self.build_observers.clear();
        self.request_observers.clear();
        self.waiters.clear();
        self.following = false;
    }

    /// Calls `method` on the client's object `target` (a push: the answer is not awaited).
    pub fn call_client(&mut self, target: i64, method: &str, args: Vec<Value>) -> Result<(), Close> {
        let request_id = self.next_request;
        self.next_request += 1;
        self.send(&Message::Call {
            request_id,
            object: ObjectId::Luid(target),
            method: method.to_owned(),
            answer_required: self.service.settings.answer_pushes,
            arguments: Ok((args, Vec::new())),
            cached: false,
        })
    }

    /// Answers a call; an answer too large for the peer becomes an error (P3), the
    /// connection stays.
    pub fn answer(&mut self, request_id: i64, result: Value) -> Result<(), Close> {
        let answer = Message::Answer { request_id, result };
        if let Err(e) = banana::encoded(&answer.to_item(), true) {
            let failure = Failure::pb_error(&format!("the answer cannot be sent: {e}"));
            return self.send(&Message::Error { request_id, failure: failure.to_value() });
        }
        self.send(&answer)
    }

    /// Whether the client broke the reference limit too often (it is then disconnected).
    pub fn check_violations(&self) -> Result<(), Close> {
        if self.violations > VIOLATIONS {
            return Err(Close(format!(
                "more than {VIOLATIONS} times past the limit of {} references",
                self.service.settings.max_references
            )));
        }
        Ok(())
    }

    pub fn send(&mut self, message: &Message) -> Result<(), Close> {
        match self.send_item(&message.to_item(), self.dialect_chosen) {
            Err(close) => Err(close),
            Ok(()) => self.check_violations(),
        }
    }

    fn send_item(&mut self, item: &Item, vocabulary: bool) -> Result<(), Close> {
        let bytes = match banana::encoded(item, vocabulary) {
            Ok(bytes) => bytes,
            Err(e) => {
                // Never sent partially; the caller's answer (an error) is what goes instead.
                tracing::warn!("pb: a message to {} was not sent: {e}", self.peer);
                return Ok(());
            }
        };
        let queued = self.out.queued.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        if queued > self.out.limit {
            tracing::warn!(
                "pb: {} is not reading: {queued} bytes waiting (limit {}); disconnected",
                self.peer,
                self.out.limit
            );
            return Err(Close("too slow: the outgoing queue is full".into()));
        }
        self.out.queue.send(bytes).map_err(|_| Close("the connection is gone".into()))
    }
}

async fn next_event(
    events: &mut Option<EventStream>,
) -> Option<Result<crate::domain::event::SequencedEvent, crate::ports::BusError>> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
