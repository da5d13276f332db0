//! The GerritStatusPush target (`[[gerrit]]`, kind `gerrit`): reviews on the patch sets builds
//! name, from the start, review and summary callbacks, and, with `mergeSafety`, the patch
//! set's merge-safety vote after each build event. Reviews of one build (its start, then its
//! result), a buildset's summary, and the merge-safety vote are each the newest state of their
//! patch set: delivered "latest per key", an unsent older one is dropped for the newer. A
//! review a callback cannot make (a template error) is recorded as given up, with the reason.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Context, Deliver, Notifier, NotifyError, Overrides, Parts, Policy, Queue, Target, WorkerOptions, attempt_error,
    buildsets, changes,
};
use crate::adapters::gerrit::{GerritRest, GerritSsh, RestSettings, SshSettings};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Builder};
use crate::domain::notify::gerrit::{self, ChangeTarget, Decided, GerritRules, Outgoing, locate};
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, TargetId, id_part};
use crate::domain::notify::verdict::{ChangeBuild, verdict};
use crate::domain::result::BuildResult;
use crate::domain::web::layout::Site;
use crate::ports::{EventFeed, ReviewApi, StatusReader};

/// How a Gerrit target posts its reviews.
#[derive(Clone)]
pub enum GerritTransportChoice {
    /// `gerrit review` over SSH.
    Ssh(SshSettings),
    /// The REST API.
    Rest(RestSettings),
    /// The embedder's own (tests use `adapters::memory::MemoryReviews`).
    Custom(Arc<dyn ReviewApi>),
}

impl std::fmt::Debug for GerritTransportChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ssh(s) => f.debug_tuple("Ssh").field(s).finish(),
            Self::Rest(s) => f.debug_tuple("Rest").field(s).finish(),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct GerritTarget {
    pub rules: GerritRules,
    pub transport: GerritTransportChoice,
    /// Reviews in flight at once.
    pub concurrency: usize,
    pub delivery: Overrides,
}

impl Target for GerritTarget {
    fn id(&self) -> TargetId {
        TargetId::new("gerrit", &self.rules.name).unwrap_or_else(|_| TargetId::new("gerrit", "?").expect("a valid id"))
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        let mut policy = self.delivery.apply(Policy {
            discipline: Discipline::LatestPerKey,
            concurrency: self.concurrency.max(1),
            ..Policy::defaults(defaults)
        });
        let timeout = match &self.transport {
            // The version probe and the review: two calls at most.
            GerritTransportChoice::Ssh(s) => Some(s.timeout * 2),
            GerritTransportChoice::Rest(s) => Some(s.timeout),
            GerritTransportChoice::Custom(_) => None,
        };
        if let Some(t) = timeout {
            policy.lease = policy.lease.min(t * 2 + Duration::from_secs(5));
        }
        policy
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let api: Arc<dyn ReviewApi> = match &self.transport {
            GerritTransportChoice::Ssh(s) => Arc::new(GerritSsh::new(s.clone())),
            GerritTransportChoice::Rest(s) => Arc::new(GerritRest::new(s.clone(), context.clock.clone())?),
            GerritTransportChoice::Custom(api) => api.clone(),
        };
        let notifier = GerritNotifier {
            rules: self.rules.clone(),
            reader: context.reader.clone(),
            feed: context.feed.clone(),
            site: context.site.clone(),
            queue,
        };
        Ok(Parts { notifier: Arc::new(notifier), deliver: Arc::new(ReviewDelivery(api)) })
    }
}

pub struct GerritNotifier {
    rules: GerritRules,
    reader: Arc<dyn StatusReader>,
    feed: Arc<dyn EventFeed>,
    site: Site,
    queue: Queue,
}

impl GerritNotifier {
    async fn builders(&self) -> Result<Vec<Builder>, NotifyError> {
        Ok(self.reader.builders().await?)
    }

    async fn push(&self, decided: &Decided) -> Result<(), NotifyError> {
        let payload = serde_json::to_string(&decided.outgoing).map_err(|e| NotifyError::Other(e.to_string()))?;
        self.queue.push_latest(&decided.key, &decided.id, payload, decided.summary.clone()).await?;
        Ok(())
    }

    /// Queues what was decided, or the reason nothing could be, under `failed_id`.
    async fn queue_all(
        &self,
        decided: Result<Vec<Decided>, String>,
        failed_id: &str,
        what: String,
    ) -> Result<bool, NotifyError> {
        match decided {
            Ok(all) => {
                for d in &all {
                    self.push(d).await?;
                }
                Ok(!all.is_empty())
            }
            Err(reason) => Ok(self.queue.push_unbuildable(failed_id, what, reason).await.map(|_| true)?),
        }
    }

    async fn build_event(&self, build: &Build, result: Option<BuildResult>) -> Result<bool, NotifyError> {
        let builders = self.builders().await?;
        let Some(builder) = builders.iter().find(|b| b.name == build.builder) else { return Ok(false) };
        let url = self.site.build_url(&build.builder, build.number);
        let moment = if result.is_some() { "finished" } else { "started" };
        let decided = gerrit::on_build(&self.rules, builder, build, result, url);
        let failed_id = format!("build.{}.{}.{moment}", id_part(&build.builder), build.number);
        let what = format!("{} #{} {moment}", build.builder, build.number);
        let mut acted = self.queue_all(decided, &failed_id, what).await?;
        if self.rules.merge_safety.is_some() && self.rules.filter.watches(builder) {
            for target in locate(build) {
                acted |= self.merge_safety(build, &target, &builders).await?;
            }
        }
        Ok(acted)
    }

    /// The merge-safety vote on `target`, from every build of its revision that names it.
    async fn merge_safety(
        &self,
        build: &Build,
        target: &ChangeTarget,
        builders: &[Builder],
    ) -> Result<bool, NotifyError> {
        let (Some(safety), Some(revision)) = (&self.rules.merge_safety, &target.revision) else { return Ok(false) };
        let watched = |name: &str| builders.iter().any(|b| b.name == name && self.rules.filter.watches(b));
        let same = |t: &ChangeTarget| t.project == target.project && t.revision == target.revision;
        let of_change = |b: &Build| {
            (watched(&b.builder) && locate(b).iter().any(same)).then(|| ChangeBuild {
                builder: b.builder.clone(),
                number: b.number,
                built: None,
                result: if b.is_finished() { b.result } else { None },
            })
        };
        let builds = changes::builds(self.reader.as_ref(), revision, build, of_change).await?;
        let waiting = changes::waiting(self.reader.as_ref(), revision, watched).await?;
        let decided = gerrit::merge_safety(safety, target, &verdict(revision, &builds, &waiting, &safety.requirements));
        self.push(&decided).await?;
        Ok(true)
    }

    async fn buildset_finished(&self, id: u64, seq: u64) -> Result<bool, NotifyError> {
        let Some(keys) = buildsets::finished(&self.queue, self.feed.as_ref(), id, seq).await? else {
            return Ok(false);
        };
        let builders = self.builders().await?;
        let mut builds = Vec::new();
        for key in keys {
            // Builds of builders since removed, or not watched, are left out (M14).
            if !builders.iter().any(|b| b.name == key.builder && self.rules.filter.watches(b)) {
                continue;
            }
            if let Some(build) = self.reader.build(&key.builder, key.number).await? {
                let url = self.site.build_url(&build.builder, build.number);
                builds.push((build, url));
            }
        }
        let decided = gerrit::on_buildset(&self.rules, id, &builds);
        self.queue_all(decided, &format!("buildset.{id}"), format!("buildset {id} summary")).await?;
        // The note is gone: the event was acted on.
        Ok(true)
    }
}

#[async_trait]
impl Notifier for GerritNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        let summary = self.rules.summary.is_some();
        match &event.event {
            StatusEvent::BuildStarted { build, .. } => self.build_event(build, None).await,
            StatusEvent::BuildFinished { builder, number, result, .. } => {
                match self.reader.build(builder, *number).await? {
                    Some(build) => self.build_event(&build, Some(*result)).await,
                    None => Ok(false),
                }
            }
            StatusEvent::BuildsetSubmitted { buildset } if summary => {
                buildsets::submitted(&self.queue, buildset.id, event.seq).await?;
                Ok(true)
            }
            StatusEvent::BuildsetFinished { id, .. } if summary => self.buildset_finished(*id, event.seq).await,
            _ => Ok(false),
        }
    }
}

/// Posts queued reviews, one a call.
pub struct ReviewDelivery(pub Arc<dyn ReviewApi>);

#[async_trait]
impl Deliver for ReviewDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        for queued in batch {
            let review: Outgoing = serde_json::from_str(&queued.payload)
                .map_err(|e| AttemptError::Permanent(format!("queued review unreadable: {e}")))?;
            self.0.post_review(&review).await.map_err(attempt_error)?;
        }
        Ok(())
    }
}
