//! The methods a client calls: the status perspective's (§4.5) and those of the Builder,
//! Build, Step, Log, BuildSet and BuildRequest objects it is handed (§4.6). What 0.8 left
//! broken (P2) works: `getLogs`, `getSlaves`, a step's `waitUntilFinished`, a log's
//! `getChunks`, `unsubscribe`, the source stamps of a buildset and a request.

use super::session::{Session, Subscription, Waiter};
use crate::domain::model::{Build, BuildRequest, Buildset, SourceStamp, Step};
use crate::domain::pb::message::Failure;
use crate::domain::pb::requests::RequestKey;
use crate::domain::pb::status::{Mode, Object, builder_replay, newbuild_push};
use crate::domain::pb::{Value, banana::SIZE_LIMIT};
use crate::domain::web::text::natural_cmp;
use crate::ports::{BuildOrder, BuildQuery, LogPiece};

type Answer = Result<Value, Failure>;

fn text(s: &str) -> Value {
    Value::text(s)
}

fn texts(words: &[String]) -> Value {
    Value::List(words.iter().map(|w| text(w)).collect())
}

fn time(t: Option<crate::domain::model::Timestamp>) -> Value {
    t.map_or(Value::None, |t| Value::Float(t.timestamp_micros() as f64 / 1e6))
}

fn arg_str<'a>(args: &'a [Value], index: usize, method: &str) -> Result<&'a str, Failure> {
    args.get(index)
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::type_error(format!("{method}() needs a string argument {}", index + 1)))
}

fn no_args(args: &[Value], method: &str) -> Result<(), Failure> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Failure::type_error(format!("{method}() takes no arguments ({} given)", args.len())))
    }
}

fn store(e: impl std::fmt::Display) -> Failure {
    Failure::pb_error(&format!("the status could not be read: {e}"))
}

impl Session {
    pub(super) async fn perspective(&mut self, method: &str, args: &[Value]) -> Answer {
        let reader = self.service.reader.clone();
        match method {
            "ping" => Ok(text("pong")),
            "getBuilderNames" => {
                no_args(args, method)?;
                let mut names: Vec<String> =
                    reader.builders().await.map_err(store)?.into_iter().map(|b| b.name).collect();
                names.sort_by(|a, b| natural_cmp(a, b));
                Ok(Value::List(names.iter().map(|n| text(n)).collect()))
            }
            "getBuilder" => {
                let name = arg_str(args, 0, method)?;
                self.builder_exists(name).await?;
                self.export(Object::Builder(name.to_owned()))
            }
            "getLastBuilds" => {
                let name = arg_str(args, 0, method)?;
                let count = args.get(1).and_then(Value::as_number).unwrap_or(1.0).clamp(0.0, 1000.0) as usize;
                self.builder_exists(name).await?;
                let query = BuildQuery {
                    finished: Some(true),
                    order: BuildOrder::NumberDesc,
                    ..BuildQuery::of_builder(name, count)
                };
                let builds = reader.builds(&query).await.map_err(store)?;
                let refs = builds
                    .iter()
                    .map(|b| self.export(Object::Build(b.builder.clone(), b.number)))
                    .collect::<Result<_, _>>()?;
                Ok(Value::List(refs))
            }
            "getBuildSets" => {
                no_args(args, method)?;
                let open = reader.open_buildsets().await.map_err(store)?;
                let mut pairs = Vec::new();
                for set in open {
                    let id = set.buildset.id;
                    pairs.push(Value::Tuple(vec![self.export(Object::BuildSet(id))?, Value::Int(id as i64)]));
                }
                Ok(Value::List(pairs))
            }
            "getSlave" => {
                let name = arg_str(args, 0, method)?;
                let workers = reader.workers().await.map_err(store)?;
                let worker = workers.iter().find(|w| w.name == name).ok_or_else(|| Failure::key_error(name))?;
                Ok(Value::Dict(vec![
                    (text("name"), text(&worker.name)),
                    (text("connected"), Value::Bool(worker.connected)),
                ]))
            }
            "subscribe" => {
                let [mode, interval, target] = args else {
                    return Err(Failure::type_error("subscribe(mode, interval, target) takes 3 arguments"));
                };
                let mode_name = mode.as_str().unwrap_or_default();
                let mode = Mode::parse(mode_name).ok_or_else(|| {
                    Failure::value_error(format!("unknown mode {mode_name:?}: the modes are {}", Mode::NAMES))
                })?;
                // P5: an interval that is no number is refused now, not a failure later.
                let interval = (interval.as_number().filter(|i| i.is_finite() && *i >= 0.0))
                    .ok_or_else(|| Failure::type_error("the interval must be a number of seconds"))?;
                let Value::Remote(target) = target else {
                    return Err(Failure::type_error("the target must be an object of the client (a pb.Referenceable)"));
                };
                // P6: a second subscribe replaces the first.
                self.subscription = Some(Subscription { mode, interval, target: *target });
                self.since_eta = 0.0;
                self.replay_builders(mode, *target).await.map_err(|c| Failure::pb_error(&c.0))?;
                Ok(Value::None)
            }
            "unsubscribe" => {
                // P2: every event stops, build observers too.
                self.subscription = None;
                self.build_observers.clear();
                self.request_observers.clear();
                Ok(Value::None)
            }
            other => Err(Failure::no_perspective_method(other)),
        }
    }

    async fn builder_exists(&self, name: &str) -> Result<(), Failure> {
        let builders = self.service.reader.builders().await.map_err(store)?;
        if builders.iter().any(|b| b.name == name) { Ok(()) } else { Err(Failure::key_error(name)) }
    }

    async fn replay_builders(&mut self, mode: Mode, target: i64) -> Result<(), super::session::Close> {
        let builders = self.service.reader.builders().await.unwrap_or_default();
        for builder in builders {
            let state = self.service.reader.builder_state(&builder.name).await.ok().flatten().unwrap_or_default();
            for push in builder_replay(&builder.name, state, mode) {
                self.push(target, push)?;
            }
        }
        Ok(())
    }

    async fn read_build(&self, builder: &str, number: u32) -> Result<Build, Failure> {
        self.service
            .reader
            .build(builder, number)
            .await
            .map_err(store)?
            .ok_or_else(|| Failure::pb_error("the build is gone"))
    }

    async fn read_step(&self, builder: &str, number: u32, step: u32) -> Result<(Build, Step), Failure> {
        let build = self.read_build(builder, number).await?;
        let step = build
            .steps
            .iter()
            .find(|s| s.number == step)
            .cloned()
            .ok_or_else(|| Failure::pb_error("the step is gone"))?;
        Ok((build, step))
    }

    /// A method of a Builder, Build, Step, Log, BuildSet or BuildRequest; `None` when
    /// answered later.
    pub(super) async fn remote(
        &mut self,
        request_id: i64,
        object: &Object,
        method: &str,
        args: &[Value],
        answer_required: bool,
    ) -> Result<Option<Value>, Failure> {
        match object {
            Object::Builder(name) => self.builder_method(name, method, args).await.map(Some),
            Object::Build(builder, number) => {
                if method == "waitUntilFinished" {
                    let build = self.read_build(builder, *number).await?;
                    return self.wait(request_id, object, build.is_finished(), answer_required);
                }
                self.build_method(builder, *number, method, args).await.map(Some)
            }
            Object::Step(builder, number, step) => {
                if method == "waitUntilFinished" {
                    let (_, s) = self.read_step(builder, *number, *step).await?;
                    return self.wait(request_id, object, s.finished.is_some(), answer_required);
                }
                self.step_method(builder, *number, *step, method).await.map(Some)
            }
            Object::Log(builder, number, step, log) => {
                let (_, s) = self.read_step(builder, *number, *step).await?;
                let log_ref = s.log(log).cloned().ok_or_else(|| Failure::pb_error("the log is gone"))?;
                if method == "waitUntilFinished" {
                    return self.wait(request_id, object, log_ref.finished, answer_required);
                }
                self.log_method(&log_ref, method).await.map(Some)
            }
            Object::BuildSet(id) => {
                let set = self.read_buildset(*id).await?;
                if method == "waitUntilFinished" {
                    return self.wait(request_id, object, set.complete_at.is_some(), answer_required);
                }
                self.buildset_method(&set, method).await.map(Some)
            }
            Object::BuildRequest(buildset, builder) => {
                self.request_method(&(*buildset, builder.clone()), method, args).await.map(Some)
            }
            Object::Challenger(_) | Object::Perspective => Err(Failure::no_such_method(method)),
        }
    }

    /// Answers now (with the object's reference) when finished, else when it finishes.
    fn wait(
        &mut self,
        request_id: i64,
        object: &Object,
        finished: bool,
        answer_required: bool,
    ) -> Result<Option<Value>, Failure> {
        if finished {
            return self.export(object.clone()).map(Some);
        }
        if answer_required {
            if self.waiters.len() >= self.service.settings.max_references {
                return Err(Failure::pb_error("Too many calls waiting."));
            }
            self.waiters.push(Waiter { request_id, object: object.clone() });
        }
        Ok(None)
    }

    async fn builder_method(&mut self, name: &str, method: &str, args: &[Value]) -> Answer {
        let reader = self.service.reader.clone();
        let builders = reader.builders().await.map_err(store)?;
        let builder = builders.iter().find(|b| b.name == name).ok_or_else(|| Failure::key_error(name))?;
        let running = || BuildQuery { finished: Some(false), ..BuildQuery::of_builder(name, 100) };
        match method {
            "getName" => Ok(text(name)),
            "getCategory" => Ok(builder.category().map_or(Value::None, text)),
            "getState" => {
                let state = reader.builder_state(name).await.map_err(store)?.unwrap_or_default();
                let builds = reader.builds(&running()).await.map_err(store)?;
                let refs = builds
                    .iter()
                    .map(|b| self.export(Object::Build(b.builder.clone(), b.number)))
                    .collect::<Result<_, _>>()?;
                Ok(Value::Tuple(vec![text(state.name()), Value::None, Value::List(refs)]))
            }
            "getSlaves" => Ok(texts(&builder.workers)),
            "getLastFinishedBuild" => {
                let query = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(name, 1) };
                match reader.builds(&query).await.map_err(store)?.first() {
                    Some(b) => self.export(Object::Build(b.builder.clone(), b.number)),
                    None => Ok(Value::None),
                }
            }
            "getCurrentBuilds" => {
                let builds = reader.builds(&running()).await.map_err(store)?;
                Ok(Value::List(
                    builds
                        .iter()
                        .map(|b| self.export(Object::Build(b.builder.clone(), b.number)))
                        .collect::<Result<_, _>>()?,
                ))
            }
            "getBuild" => {
                let Some(Value::Int(n)) = args.first() else { return Err(Failure::type_error("getBuild(number)")) };
                let number = if *n < 0 {
                    let newest = reader.newest_build_number(name).await.map_err(store)?;
                    newest.and_then(|newest| i64::from(newest).checked_add(1 + *n)).filter(|n| *n >= 0)
                } else {
                    Some(*n)
                };
                let Some(number) = number.and_then(|n| u32::try_from(n).ok()) else { return Ok(Value::None) };
                match reader.build(name, number).await.map_err(store)? {
                    Some(_) => self.export(Object::Build(name.to_owned(), number)),
                    None => Ok(Value::None),
                }
            }
            other => Err(Failure::no_such_method(other)),
        }
    }

    async fn build_method(&mut self, builder: &str, number: u32, method: &str, args: &[Value]) -> Answer {
        let build = self.read_build(builder, number).await?;
        let now = self.service.clock.now();
        match method {
            "getBuilderName" => Ok(text(&build.builder)),
            "getNumber" => Ok(Value::Int(i64::from(build.number))),
            "getReason" => Ok(text(&build.reason)),
            "getChanges" => Ok(Value::List(Vec::new())),
            "getRevisions" => {
                let revisions: Vec<String> = build
                    .sourcestamps
                    .iter()
                    .filter_map(|s| s.revision.as_deref())
                    .map(|r| r.chars().take(7).collect())
                    .collect();
                Ok(text(&revisions.join(", ")))
            }
            "getResponsibleUsers" => Ok(texts(&build.blamelist)),
            "getSteps" => {
                let refs = build
                    .steps
                    .iter()
                    .map(|s| self.export(Object::Step(builder.to_owned(), number, s.number)))
                    .collect::<Result<_, _>>()?;
                Ok(Value::List(refs))
            }
            "getTimes" => Ok(Value::Tuple(vec![time(Some(build.started)), time(build.finished)])),
            "isFinished" => Ok(Value::Bool(build.is_finished())),
            "getETA" => Ok(build
                .eta
                .filter(|_| !build.is_finished())
                .map_or(Value::None, |eta| Value::Float(seconds_between(now, eta)))),
            "getCurrentStep" => match build.steps.iter().rev().find(|s| s.started.is_some() && s.finished.is_none()) {
                Some(s) if !build.is_finished() => self.export(Object::Step(builder.to_owned(), number, s.number)),
                _ => Ok(Value::None),
            },
            "getText" => Ok(texts(&build.text)),
            "getResults" => Ok(build.result.map_or(Value::None, |r| Value::Int(i64::from(r.code())))),
            "getLogs" => {
                let mut refs = Vec::new();
                for step in &build.steps {
                    for log in &step.logs {
                        refs.push(self.export(Object::Log(
                            builder.to_owned(),
                            number,
                            step.number,
                            log.name.clone(),
                        ))?);
                    }
                }
                Ok(Value::List(refs))
            }
            "getProperties" => Ok(Value::Dict(
                build
                    .properties
                    .iter()
                    .map(|(name, p)| (text(name), Value::Tuple(vec![json(&p.value), text(&p.source)])))
                    .collect(),
            )),
            "subscribe" => {
                let Some(Value::Remote(observer)) = args.first() else {
                    return Err(Failure::type_error("subscribe(observer, updateInterval=None)"));
                };
                let interval = args.get(1).and_then(Value::as_number);
                self.build_observers.retain(|(b, n, o, _)| !(b == builder && *n == number && o == observer));
                // A finished build has nothing more to tell (and its observer would stay forever).
                if build.is_finished() {
                    return Ok(Value::None);
                }
                if self.build_observers.len() >= self.service.settings.max_references {
                    return Err(Failure::pb_error("Too many build observers."));
                }
                self.build_observers.push((builder.to_owned(), number, *observer, interval));
                Ok(Value::None)
            }
            "unsubscribe" => {
                let Some(Value::Remote(observer) | Value::Local(observer)) = args.first() else {
                    return Err(Failure::type_error("unsubscribe(observer)"));
                };
                self.build_observers.retain(|(b, n, o, _)| !(b == builder && *n == number && o == observer));
                Ok(Value::None)
            }
            other => Err(Failure::no_such_method(other)),
        }
    }

    async fn step_method(&mut self, builder: &str, number: u32, step: u32, method: &str) -> Answer {
        let (build, s) = self.read_step(builder, number, step).await?;
        let now = self.service.clock.now();
        match method {
            "getName" => Ok(text(&s.name)),
            "getBuild" => self.export(Object::Build(builder.to_owned(), number)),
            "getTimes" => Ok(Value::Tuple(vec![time(s.started), time(s.finished)])),
            "getExpectations" => Ok(Value::List(Vec::new())),
            "getLogs" => {
                let mut pairs = Vec::new();
                for log in &s.logs {
                    pairs.push((
                        text(&log.name),
                        self.export(Object::Log(builder.to_owned(), number, step, log.name.clone()))?,
                    ));
                }
                Ok(Value::Dict(pairs))
            }
            "isFinished" => Ok(Value::Bool(s.finished.is_some())),
            "getETA" => Ok(s
                .eta
                .filter(|_| s.finished.is_none() && !build.is_finished())
                .map_or(Value::None, |eta| Value::Float(seconds_between(now, eta)))),
            "getText" => Ok(texts(&s.text)),
            "getResults" => Ok(Value::Tuple(vec![
                s.result.map_or(Value::None, |r| Value::Int(i64::from(r.code()))),
                texts(&s.text2),
            ])),
            other => Err(Failure::no_such_method(other)),
        }
    }

    async fn log_method(&mut self, log: &crate::domain::model::LogRef, method: &str) -> Answer {
        match method {
            "getName" => Ok(text(&log.name)),
            "isFinished" => Ok(Value::Bool(log.finished)),
            "getText" | "getTextWithHeaders" | "getChunks" => {
                let with_headers = method != "getText";
                let pieces = self.read_log(log.id, with_headers).await?;
                if method == "getChunks" {
                    // P2: what 0.8 meant, (channel, text) pairs.
                    return Ok(Value::List(
                        pieces
                            .iter()
                            .map(|p| {
                                Value::Tuple(vec![
                                    Value::Int(i64::from(p.channel.code())),
                                    text(&String::from_utf8_lossy(&p.data)),
                                ])
                            })
                            .collect(),
                    ));
                }
                let mut all = String::new();
                for piece in
                    pieces.iter().filter(|p| with_headers || p.channel != crate::domain::event::Channel::Header)
                {
                    all.push_str(&String::from_utf8_lossy(&piece.data));
                }
                Ok(text(&all))
            }
            other => Err(Failure::no_such_method(other)),
        }
    }

    /// A log's pieces, refused (an error, P3) when what the answer carries (`headers` or
    /// not) is more than one answer may.
    async fn read_log(&self, id: u64, headers: bool) -> Result<Vec<LogPiece>, Failure> {
        let logs = &self.service.logs;
        let size = logs.size(id).await.map_err(store)?;
        let carried = if headers { size.total } else { size.text() };
        if carried > SIZE_LIMIT as u64 {
            return Err(Failure::pb_error(&format!(
                "the log is {carried} bytes, more than an answer may carry ({SIZE_LIMIT})"
            )));
        }
        logs.read(id, 0, size.total).await.map_err(store)
    }

    async fn read_buildset(&self, id: u64) -> Result<Buildset, Failure> {
        let set = self.service.reader.buildset(id).await.map_err(store)?;
        set.ok_or_else(|| Failure::pb_error("the buildset is gone"))
    }

    /// The requests of `set` still waiting for a build (the store forgets claimed ones).
    async fn pending_of(&self, set: &Buildset, builder: Option<&str>) -> Result<Vec<BuildRequest>, Failure> {
        if set.complete_at.is_some() {
            return Ok(Vec::new());
        }
        let pending = self.service.reader.pending_requests(builder).await.map_err(store)?;
        Ok(pending.into_iter().filter(|r| r.buildset_id == Some(set.id)).collect())
    }

    /// The builds that claimed the request `key`, in start order: its builder's builds started
    /// since the buildset was submitted (the newest 1,000 of them looked at) that note it.
    async fn request_builds(&self, key: &RequestKey) -> Result<Vec<u32>, Failure> {
        let set = self.read_buildset(key.0).await?;
        let query = BuildQuery { started_after: Some(set.submitted_at), ..BuildQuery::of_builder(&key.1, 1000) };
        let builds = self.service.reader.builds(&query).await.map_err(store)?;
        let mut numbers: Vec<u32> = builds.iter().filter(|b| b.buildsets.contains(&key.0)).map(|b| b.number).collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    async fn buildset_method(&mut self, set: &Buildset, method: &str) -> Answer {
        match method {
            "getID" => Ok(Value::Int(set.id as i64)),
            "getReason" => Ok(text(&set.reason)),
            "getBuilderNames" => {
                let mut names = set.builders.clone();
                names.sort();
                Ok(texts(&names))
            }
            "isFinished" => Ok(Value::Bool(set.complete_at.is_some())),
            "getResults" => Ok(set.result.map_or(Value::None, |r| Value::Int(i64::from(r.code())))),
            // P2: 0.8 always failed here; the buildset's (first) source stamp.
            "getSourceStamp" => Ok(source_stamp(set.sourcestamps.first())),
            "getBuildRequests" => {
                // One request per builder of the buildset (as 0.8 made them), claimed or not.
                let mut builders = set.builders.clone();
                builders.extend(self.pending_of(set, None).await?.into_iter().map(|r| r.builder));
                builders.sort();
                builders.dedup();
                let mut pairs = Vec::with_capacity(builders.len());
                for builder in builders {
                    let reference = self.export(Object::BuildRequest(set.id, builder.clone()))?;
                    pairs.push(Value::Tuple(vec![text(&builder), reference]));
                }
                Ok(Value::List(pairs))
            }
            other => Err(Failure::no_such_method(other)),
        }
    }

    /// A build request's methods: 0.8's (`getBuilderName`, `getSourceStamp`, `subscribe`,
    /// `unsubscribe`) and, as its status object had them, `getSubmitTime` and `getBuilds`.
    async fn request_method(&mut self, key: &RequestKey, method: &str, args: &[Value]) -> Answer {
        let (set_id, builder) = (key.0, key.1.as_str());
        match method {
            "getBuilderName" => Ok(text(builder)),
            "getSourceStamp" | "getSubmitTime" => {
                let set = self.read_buildset(set_id).await?;
                let pending = self.pending_of(&set, Some(builder)).await?;
                let request = pending.first();
                if method == "getSubmitTime" {
                    return Ok(time(Some(request.map_or(set.submitted_at, |r| r.submitted_at))));
                }
                // P2: 0.8 sent an unpersistable placeholder; the stamp itself.
                let stamps = request.map_or(&set.sourcestamps, |r| &r.sourcestamps);
                Ok(source_stamp(stamps.first().or(set.sourcestamps.first())))
            }
            "getBuilds" => {
                let numbers = self.request_builds(key).await?;
                let refs = numbers
                    .into_iter()
                    .map(|n| self.export(Object::Build(builder.to_owned(), n)))
                    .collect::<Result<_, _>>()?;
                Ok(Value::List(refs))
            }
            "subscribe" => {
                let Some(Value::Remote(observer)) = args.first() else {
                    return Err(Failure::type_error("subscribe(observer)"));
                };
                let set = self.read_buildset(set_id).await?;
                if set.complete_at.is_none() {
                    (self.request_observers.subscribe(key, *observer))
                        .map_err(|_| Failure::pb_error("Too many build request observers."))?;
                }
                // The builds it already has, then (pushes.rs) each new one.
                for number in self.request_builds(key).await? {
                    self.push(*observer, newbuild_push(builder, number)).map_err(|c| Failure::pb_error(&c.0))?;
                }
                Ok(Value::None)
            }
            "unsubscribe" => {
                let Some(Value::Remote(observer) | Value::Local(observer)) = args.first() else {
                    return Err(Failure::type_error("unsubscribe(observer)"));
                };
                self.request_observers.unsubscribe(key, *observer);
                Ok(Value::None)
            }
            other => Err(Failure::no_such_method(other)),
        }
    }
}

/// A source stamp as a dict (0.8's `SourceStamp.asDict` keys), or None.
fn source_stamp(stamp: Option<&SourceStamp>) -> Value {
    let Some(s) = stamp else { return Value::None };
    let optional = |v: &Option<String>| v.as_deref().map_or(Value::None, text);
    Value::Dict(vec![
        (text("branch"), optional(&s.branch)),
        (text("revision"), optional(&s.revision)),
        (text("repository"), text(&s.repository)),
        (text("project"), text(&s.project)),
        (text("codebase"), text(&s.codebase)),
        (text("changes"), Value::List(s.changes.iter().map(|c| Value::Int(*c as i64)).collect())),
        (text("hasPatch"), Value::Bool(s.patch.is_some())),
    ])
}

/// Seconds from `now` to `then` (negative once past).
pub(super) fn seconds_between(now: crate::domain::model::Timestamp, then: crate::domain::model::Timestamp) -> f64 {
    (then - now).num_milliseconds() as f64 / 1000.0
}

/// A property's JSON value as the Python value 0.8 held.
fn json(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
        serde_json::Value::String(s) => text(s),
        serde_json::Value::Array(items) => Value::List(items.iter().map(json).collect()),
        serde_json::Value::Object(map) => Value::Dict(map.iter().map(|(k, v)| (text(k), json(v))).collect()),
    }
}
