//! The GitHubStatus target (`[[github_status]]`, kind `github`): a commit status when a
//! watched build starts and when it finishes, and, with a summary, the commit's merge-safety
//! status after each of them. Statuses are queued as the newest state of their (repository,
//! sha, context) and delivered "latest per key", so an older state is never sent after a
//! newer one; a rate limit holds the whole target back until GitHub's reset, without counting
//! against the retries. A status that cannot be made (a malformed sha or repository name) is
//! recorded as given up with the reason, on `/notifications`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Context, Deliver, Notifier, NotifyError, Overrides, Parts, Policy, Queue, Target, WorkerOptions, attempt_error,
    changes,
};
use crate::adapters::github::{GitHubClient, GitHubSettings};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Builder};
use crate::domain::notify::github::{
    self, CommitStatus, Decision, GitHubRules, Moment, change_build, summary_id, summary_status,
};
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, TargetId};
use crate::domain::notify::verdict::{Verdict, verdict};
use crate::domain::web::layout::Site;
use crate::ports::{CommitStatusApi, StatusReader};

/// Where a GitHub target's statuses go.
#[derive(Clone)]
pub enum GitHubApiChoice {
    Http(GitHubSettings),
    /// The embedder's own (tests use `adapters::memory::MemoryReviews`).
    Custom(Arc<dyn CommitStatusApi>),
}

impl std::fmt::Debug for GitHubApiChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(settings) => f.debug_tuple("Http").field(settings).finish(),
            Self::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// One GitHubStatus: its rules, where it posts, and how many statuses it sends at once.
#[derive(Clone, Debug)]
pub struct GitHubTarget {
    pub rules: GitHubRules,
    pub api: GitHubApiChoice,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub delivery: Overrides,
}

impl Target for GitHubTarget {
    fn id(&self) -> TargetId {
        TargetId::new("github", &self.rules.name).unwrap_or_else(|_| TargetId::new("github", "?").expect("a valid id"))
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        let mut policy = self.delivery.apply(Policy {
            discipline: Discipline::LatestPerKey,
            concurrency: self.concurrency.max(1),
            ..Policy::defaults(defaults)
        });
        if let GitHubApiChoice::Http(settings) = &self.api {
            // A request cannot outlast its timeout: a crash mid-request delays a status no more.
            policy.lease = policy.lease.min(settings.timeout * 2 + Duration::from_secs(5));
        }
        policy
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let api: Arc<dyn CommitStatusApi> = match &self.api {
            GitHubApiChoice::Http(settings) => Arc::new(GitHubClient::new(settings.clone(), context.clock.clone())?),
            GitHubApiChoice::Custom(api) => api.clone(),
        };
        let notifier = GitHubNotifier {
            rules: self.rules.clone(),
            reader: context.reader.clone(),
            site: context.site.clone(),
            queue,
        };
        Ok(Parts { notifier: Arc::new(notifier), deliver: Arc::new(StatusDelivery(api)) })
    }
}

pub struct GitHubNotifier {
    rules: GitHubRules,
    reader: Arc<dyn StatusReader>,
    site: Site,
    queue: Queue,
}

impl GitHubNotifier {
    async fn builder(&self, name: &str) -> Result<Option<Builder>, NotifyError> {
        Ok(self.reader.builders().await?.into_iter().find(|b| b.name == name))
    }

    async fn build_event(&self, build: &Build, moment: Moment) -> Result<bool, NotifyError> {
        let Some(builder) = self.builder(&build.builder).await? else { return Ok(false) };
        let id = github::message_id(build, moment);
        let acted = match github::decide(&self.rules, &builder, build, moment, &self.site) {
            Decision::Send(status) => {
                self.push(&status, &id).await?;
                true
            }
            Decision::Refuse(reason) => {
                let what = format!("{} #{} {}", build.builder, build.number, moment_word(moment));
                self.queue.push_unbuildable(&id, what, reason).await?;
                true
            }
            Decision::Skip(why) => {
                tracing::debug!("{}: nothing for {} #{}: {why}", self.queue.target(), build.builder, build.number);
                false
            }
        };
        if acted && self.rules.summary.is_some() {
            self.summarise(build).await?;
        }
        Ok(acted)
    }

    async fn push(&self, status: &CommitStatus, id: &str) -> Result<(), NotifyError> {
        let payload = serde_json::to_string(status).map_err(|e| NotifyError::Other(e.to_string()))?;
        self.queue.push_latest(&status.key(), id, payload, status.summary()).await?;
        Ok(())
    }

    /// The merge-safety status of the commit `build` reports on, from every build of it.
    async fn summarise(&self, build: &Build) -> Result<(), NotifyError> {
        let Some(summary) = &self.rules.summary else { return Ok(()) };
        let Ok(Some(place)) = github::place(&self.rules, build) else { return Ok(()) };
        let builders = self.reader.builders().await?;
        let watched = |name: &str| builders.iter().any(|b| b.name == name && self.rules.filter.watches(b));
        let of_change = |b: &Build| {
            (watched(&b.builder) && github::place(&self.rules, b).ok().flatten().as_ref() == Some(&place))
                .then(|| change_build(b))
        };
        let builds = changes::builds(self.reader.as_ref(), &place.sha, build, of_change).await?;
        let waiting = changes::waiting(self.reader.as_ref(), &place.sha, watched).await?;
        let decided = verdict(&place.sha, &builds, &waiting, &summary.requirements);
        let link = self.link(&decided, build);
        if let Some(status) = summary_status(&self.rules, &place, &decided, link) {
            self.push(&status, &summary_id(&status, &decided)).await?;
        }
        Ok(())
    }

    /// The page a summary links to: the first failed build, else the build at hand.
    fn link(&self, decided: &Verdict, build: &Build) -> Option<String> {
        let failed = match decided {
            Verdict::Failure { failed } => failed.iter().find_map(|f| Some((f.builder.as_str(), f.number?))),
            _ => None,
        };
        let (builder, number) = failed.unwrap_or((&build.builder, build.number));
        self.site.build_url(builder, number)
    }

    async fn finished(&self, builder: &str, number: u32, moment: Moment) -> Result<bool, NotifyError> {
        match self.reader.build(builder, number).await? {
            Some(build) => self.build_event(&build, moment).await,
            None => Ok(false),
        }
    }
}

fn moment_word(moment: Moment) -> &'static str {
    match moment {
        Moment::Started => "started",
        Moment::Finished(_) => "finished",
    }
}

#[async_trait]
impl Notifier for GitHubNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        match &event.event {
            StatusEvent::BuildStarted { build, .. } => self.build_event(build, Moment::Started).await,
            StatusEvent::BuildFinished { builder, number, result, .. } => {
                self.finished(builder, *number, Moment::Finished(*result)).await
            }
            _ => Ok(false),
        }
    }
}

/// Sends queued statuses, one a call.
pub struct StatusDelivery(pub Arc<dyn CommitStatusApi>);

#[async_trait]
impl Deliver for StatusDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        for queued in batch {
            let status: CommitStatus = serde_json::from_str(&queued.payload)
                .map_err(|e| AttemptError::Permanent(format!("queued status unreadable: {e}")))?;
            self.0.create_status(&status).await.map_err(attempt_error)?;
        }
        Ok(())
    }
}
