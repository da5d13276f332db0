//! What a push target reads to make an event's packets: the objects of `/json` the payloads
//! carry (`domain::notify::push::payload`). A build is read once per batch of events (the
//! builds of a batch's events together, a listing per builder: a burst of builds is a few
//! reads, not one a build), changes once each. What an event carries itself is used as it was then: a build as it
//! started, a step as it began; what happened since shows in later packets.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::domain::event::StatusEvent;
use crate::domain::machine::json::BuilderFacts;
use crate::domain::machine::json_tree::CACHED_BUILDS;
use crate::domain::model::{Build, Builder, Change, SourceStamp, Timestamp};
use crate::domain::notify::push::{Draft, EventName, payload};
use crate::domain::web::layout::Site;
use crate::domain::web::text::natural_cmp;
use crate::ports::{BuildQuery, StatusReader, StoreError};

/// A builder's builds are read together when a batch names at least this many of them, and
/// they are at least half of the numbers between its lowest and highest.
const READ_TOGETHER: usize = 2;

/// The builds a worker's object lists per builder, as `/json`'s default `numbuilds`.
const WORKER_BUILDS: usize = CACHED_BUILDS - 1;

pub(super) struct Reads<'a> {
    reader: &'a dyn StatusReader,
    site: &'a Site,
    now: Timestamp,
    builds: HashMap<(String, u32), Option<Build>>,
    changes: HashMap<u64, Option<Change>>,
}

impl<'a> Reads<'a> {
    pub(super) fn new(reader: &'a dyn StatusReader, site: &'a Site, now: Timestamp) -> Self {
        Self { reader, site, now, builds: HashMap::new(), changes: HashMap::new() }
    }

    /// The start replay: each builder's `builderAdded` and `builderChangedState`, in natural
    /// order of their names.
    pub(super) async fn builders(&mut self) -> Result<Vec<Draft>, StoreError> {
        let mut builders = self.reader.builders().await?;
        builders.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        let mut drafts = Vec::new();
        for builder in &builders {
            let facts = self.facts(builder).await?;
            let state = facts.state.unwrap_or_default();
            drafts.push(payload::builder_added(builder, &facts));
            drafts.push(payload::builder_state(&builder.name, state));
        }
        Ok(drafts)
    }

    /// Reads at once the builds that `events` are about (finished builds and steps), a listing
    /// per builder, so that [`Reads::drafts`] finds them read.
    pub(super) async fn prefetch<'e>(
        &mut self,
        events: impl Iterator<Item = &'e StatusEvent>,
    ) -> Result<(), StoreError> {
        use StatusEvent as E;
        let mut wanted: HashMap<&str, Vec<u32>> = HashMap::new();
        for event in events {
            match event {
                E::BuildFinished { builder, number, .. }
                | E::StepStarted { builder, number, .. }
                | E::StepFinished { builder, number, .. }
                | E::StepTextChanged { builder, number, .. }
                | E::LogStarted { builder, number, .. }
                | E::LogFinished { builder, number, .. } => wanted.entry(builder).or_default().push(*number),
                _ => {}
            }
        }
        for (builder, mut numbers) in wanted {
            numbers.retain(|n| !self.builds.contains_key(&(builder.to_owned(), *n)));
            numbers.sort_unstable();
            numbers.dedup();
            let (Some(low), Some(high)) = (numbers.first().copied(), numbers.last().copied()) else { continue };
            let span = usize::try_from(high - low).unwrap_or(usize::MAX).saturating_add(1);
            if numbers.len() < READ_TOGETHER || span > numbers.len().saturating_mul(2) {
                continue;
            }
            let listing = BuildQuery { before_number: high.checked_add(1), ..BuildQuery::of_builder(builder, span) };
            for build in self.reader.builds(&listing).await? {
                if build.number >= low {
                    self.builds
                        .insert((build.builder.clone(), build.number), Some(std::sync::Arc::unwrap_or_clone(build)));
                }
            }
        }
        Ok(())
    }

    /// The packets `event` makes among `names` (those the target sends, in
    /// [`EventName::of`]'s order).
    pub(super) async fn drafts(&mut self, event: &StatusEvent, names: &[EventName]) -> Result<Vec<Draft>, StoreError> {
        use StatusEvent as E;
        let site = self.site;
        let now = self.now;
        let one = |draft: Draft| vec![draft];
        Ok(match event {
            E::BuilderAdded { builder } => one(payload::builder_added(builder, &self.facts(builder).await?)),
            E::BuilderRemoved { name } => names.iter().map(|n| payload::builder_removed(*n, name)).collect(),
            E::BuilderStateChanged { name, state } => one(payload::builder_state(name, *state)),
            E::BuildRequestSubmitted { request } => {
                let changes = self.changes_of(&request.sourcestamps).await?;
                one(payload::request_submitted(request, &changes))
            }
            E::BuildRequestCancelled { builder, request_id } => {
                let configured = self.reader.builders().await?.into_iter().find(|b| &b.name == builder);
                let object = match configured {
                    Some(b) => Some(crate::domain::machine::json::builder(&b, &self.facts(&b).await?)),
                    None => None,
                };
                one(payload::request_cancelled(builder, object, *request_id))
            }
            E::BuildsetSubmitted { buildset } => {
                let changes = self.changes_of(&buildset.sourcestamps).await?;
                one(payload::buildset_submitted(buildset, &changes))
            }
            E::BuildStarted { build, .. } => {
                let changes = self.changes_of(&build.sourcestamps).await?;
                one(payload::build(EventName::BuildStarted, site, build, &changes, now))
            }
            E::BuildFinished { builder, number, .. } => match self.build(builder, *number).await? {
                Some(build) => {
                    let changes = self.changes_of(&build.sourcestamps).await?;
                    one(payload::build(EventName::BuildFinished, site, &build, &changes, now))
                }
                None => Vec::new(),
            },
            E::StepStarted { builder, number, step } => match self.build(builder, *number).await? {
                Some(build) => one(payload::step(EventName::StepStarted, site, &build, step, now)),
                None => Vec::new(),
            },
            E::StepFinished { builder, number, step, .. }
            | E::StepTextChanged { builder, number, step, .. }
            | E::LogStarted { builder, number, step, .. }
            | E::LogFinished { builder, number, step, .. } => {
                let build = self.build(builder, *number).await?;
                match build.as_ref().and_then(|b| b.steps.iter().find(|s| s.number == *step).map(|s| (b, s))) {
                    Some((build, step)) => names.iter().map(|n| payload::step(*n, site, build, step, now)).collect(),
                    None => Vec::new(),
                }
            }
            E::ChangeAdded { change } => one(payload::change_added(change)),
            E::WorkerConnected { worker, at } => {
                one(payload::slave_connected(worker, self.worker_builds(&worker.name, *at).await?))
            }
            E::WorkerDisconnected { name, .. } | E::WorkerPaused { name } | E::WorkerUnpaused { name } => {
                names.iter().map(|n| payload::slave_name(*n, name)).collect()
            }
            _ => Vec::new(),
        })
    }

    /// What a builder's object shows beyond its configuration, as `/json` reads it.
    async fn facts(&self, builder: &Builder) -> Result<BuilderFacts, StoreError> {
        let name = &builder.name;
        let running: Vec<u32> = self
            .reader
            .builds(&BuildQuery { finished: Some(false), ..BuildQuery::of_builder(name, 100) })
            .await?
            .iter()
            .map(|b| b.number)
            .collect();
        let finished = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(name, CACHED_BUILDS) };
        let cached = self.reader.builds(&finished).await?.iter().map(|b| b.number).collect();
        let pending = self.reader.pending_requests(Some(name)).await?.len();
        let state = self.reader.builder_state(name).await?;
        Ok(BuilderFacts { state, cached, running, pending })
    }

    async fn build(&mut self, builder: &str, number: u32) -> Result<Option<Build>, StoreError> {
        let key = (builder.to_owned(), number);
        if let Some(found) = self.builds.get(&key) {
            return Ok(found.clone());
        }
        let found = self.reader.build(builder, number).await?;
        if found.is_none() {
            tracing::warn!("push: build #{number} of '{builder}' is not stored; its packet is left out");
        }
        self.builds.insert(key, found.clone());
        Ok(found)
    }

    /// The changes `stamps` name that the store knows.
    async fn changes_of(&mut self, stamps: &[SourceStamp]) -> Result<Vec<Change>, StoreError> {
        let mut out = Vec::new();
        for number in stamps.iter().flat_map(|s| s.changes.iter()) {
            if !self.changes.contains_key(number) {
                let change = self.reader.change(*number).await?;
                self.changes.insert(*number, change);
            }
            if let Some(Some(change)) = self.changes.get(number) {
                out.push(change.clone());
            }
        }
        Ok(out)
    }

    /// Each builder `worker` serves, with the numbers of its recent builds there finished by
    /// `at` (when it connected: a packet read late does not list builds run since).
    async fn worker_builds(&self, worker: &str, at: Timestamp) -> Result<Map<String, Value>, StoreError> {
        let mut map = Map::new();
        for b in self.reader.builders().await?.iter().filter(|b| b.workers.iter().any(|w| w == worker)) {
            let recent = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(&b.name, WORKER_BUILDS) };
            let numbers: Vec<u32> = self
                .reader
                .builds(&recent)
                .await?
                .iter()
                .filter(|x| x.worker == worker && x.finished.is_some_and(|f| f <= at))
                .map(|x| x.number)
                .collect();
            map.insert(b.name.clone(), json!(numbers));
        }
        Ok(map)
    }
}
