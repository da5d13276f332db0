//! The bot's state, shared by its notifier (announcements) and its chat task (commands): the
//! contacts, what was reported lately, the builds being watched and the forced requests
//! awaiting their build; and what it reads about a build to announce it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::{BotRules, IrcTarget};
use crate::adapters::irc::IrcClient;
use crate::app::notify::history::past;
use crate::app::notify::{Context, NotifyError, Permissions, Queue};
use crate::domain::model::{Build, BuildKey, Builder};
use crate::domain::notify::irc::announce::{self, BuildFacts, Contact, Contacts, Recent};
use crate::domain::notify::irc::line::{fold, is_channel};
use crate::domain::notify::irc::text::{Say, Voice};
use crate::domain::notify::mail::body::build_url;
use crate::domain::notify::status::{STATUS_NOTE, TargetStatus};
use crate::domain::web::layout::Site;
use crate::ports::{Clock, MasterSlot, StatusReader};

/// The note the contacts changed by commands are kept under.
pub const CONTACTS_NOTE: &str = "contacts";

/// The most revisions read for one announcement.
const REVISIONS: usize = 20;

pub struct Bot {
    pub rules: BotRules,
    pub reader: Arc<dyn StatusReader>,
    pub master: MasterSlot,
    pub permissions: Permissions,
    pub clock: Arc<dyn Clock>,
    pub site: Site,
    pub queue: Queue,
    pub client: IrcClient,
    pub state: Mutex<BotState>,
}

#[derive(Default)]
pub struct BotState {
    /// Contacts whose settings a command changed, read from the note on first use.
    changed: Option<Contacts>,
    pub recent: Recent,
    /// Builds watched (`watch`, `force`), by the contacts to tell.
    pub watches: BTreeMap<BuildKey, Vec<String>>,
    /// Forced requests waiting for their build: the contact that forced each.
    pub forced: BTreeMap<u64, String>,
    /// The nick the server knows the bot by.
    pub nick: String,
    /// The channels the bot is told to be in (folded): the configured ones, and those a
    /// `join` added or a `leave` removed since it started.
    pub channels: BTreeSet<String>,
}

impl Bot {
    pub fn new(target: &IrcTarget, context: &Context, queue: Queue, client: IrcClient) -> Self {
        let channels = target.connection.identity.channels.iter().map(|c| fold(&c.name)).collect();
        let state = BotState { nick: target.connection.identity.nick.clone(), channels, ..BotState::default() };
        Self {
            rules: target.rules.clone(),
            reader: context.reader.clone(),
            master: target.master.clone().map_or_else(|| context.master.clone(), MasterSlot::new),
            permissions: context.permissions.clone(),
            clock: context.clock.clone(),
            site: context.site.clone(),
            queue,
            client,
            state: Mutex::new(state),
        }
    }

    /// A contact as it stands: its changed settings, else the defaults (the configured events
    /// for channels and `pm_to_nicks`, none for other private contacts, spec-notify-8 I4).
    pub fn contact(&self, changed: &Contacts, dest: &str) -> Contact {
        changed.get(dest).cloned().unwrap_or_else(|| {
            let defaults = is_channel(dest) || self.rules.pm_to_nicks.iter().any(|n| fold(n) == dest);
            Contact { notify: if defaults { self.rules.notify_events } else { Default::default() }, muted: false }
        })
    }

    /// Every contact that may be told something: the bot's channels, `pm_to_nicks`, and the
    /// nicks whose settings a command changed (a channel left is told nothing more).
    pub fn all_contacts(&self, channels: &BTreeSet<String>, changed: &Contacts) -> Contacts {
        let mut all = Contacts::new();
        for dest in channels.iter().cloned().chain(self.rules.pm_to_nicks.iter().map(|n| fold(n))) {
            all.insert(dest.clone(), self.contact(changed, &dest));
        }
        all.extend(
            changed
                .iter()
                .filter(|(d, _)| !is_channel(d) || channels.contains(*d))
                .map(|(d, c)| (d.clone(), c.clone())),
        );
        all
    }

    /// The changed contacts, read from the note the first time.
    pub async fn changed<'a>(&self, state: &'a mut BotState) -> Result<&'a mut Contacts, NotifyError> {
        if state.changed.is_none() {
            let note = self.queue.note(CONTACTS_NOTE).await?;
            let contacts = note.and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default();
            state.changed = Some(contacts);
        }
        Ok(state.changed.get_or_insert_with(Contacts::new))
    }

    /// Records `contact`'s new settings (the note is written at once).
    pub async fn set_contact(&self, state: &mut BotState, dest: &str, contact: Contact) -> Result<(), NotifyError> {
        let changed = self.changed(state).await?;
        changed.insert(dest.to_owned(), contact);
        let note = serde_json::to_string(changed).map_err(|e| NotifyError::Other(e.to_string()))?;
        self.queue.set_note(CONTACTS_NOTE, Some(&note)).await?;
        Ok(())
    }

    /// Whether the bot reports on `builder` (the tag filter).
    pub fn reports(&self, builder: &Builder) -> bool {
        self.rules.tags.as_ref().is_none_or(|tags| builder.matches_any_tag(tags))
    }

    /// The builder named `name`, if configured.
    pub async fn builder(&self, name: &str) -> Result<Option<Builder>, NotifyError> {
        Ok(self.reader.builders().await?.into_iter().find(|b| b.name == name))
    }

    /// The revisions of `build`'s changes (the first [`REVISIONS`]), else its stamps'.
    pub async fn revisions(&self, build: &Build) -> Result<Vec<String>, NotifyError> {
        let mut out = Vec::new();
        for number in build.sourcestamps.iter().flat_map(|s| s.changes.iter()).take(REVISIONS) {
            if let Some(rev) = self.reader.change(*number).await?.and_then(|c| c.revision) {
                out.push(rev);
            }
        }
        if out.is_empty() {
            out.extend(build.sourcestamps.iter().filter_map(|s| s.revision.clone()));
        }
        Ok(out)
    }

    /// Announces a started build to the contacts with `started`, and tells whoever forced
    /// one of its requests.
    pub async fn build_started(&self, build: &Build, requests: &[u64]) -> Result<bool, NotifyError> {
        let Some(builder) = self.builder(&build.builder).await? else { return Ok(false) };
        let revisions = self.revisions(build).await?;
        let url = build_url(&self.site, build);
        let facts = BuildFacts {
            builder: &build.builder,
            number: build.number,
            text: &[],
            revisions: &revisions,
            url: url.as_deref(),
            blamelist: &build.blamelist,
        };
        let mut state = self.state.lock().await;
        for request in requests {
            if let Some(dest) = state.forced.remove(request) {
                let style = self.rules.style;
                let eta = build.eta.map(|eta| (eta - build.started).num_seconds().max(0));
                let first = announce::forced(&facts, eta, style);
                let voice = crate::domain::notify::irc::text::voice_for(&dest, style.notice_on_channel);
                self.client.say_soon(vec![
                    Say::new(&dest, first, voice),
                    Say::new(&dest, "I'll give a shout when the build finishes", voice),
                ]);
                state.watches.entry(build.key()).or_default().push(dest);
            }
        }
        if !self.reports(&builder) {
            return Ok(false);
        }
        let changed = self.changed(&mut state).await?.clone();
        let says = announce::started_says(&self.all_contacts(&state.channels, &changed), &facts, self.rules.style);
        drop(state);
        self.push(
            &format!("started/{}/{}", build.builder, build.number),
            says,
            &format!("{} #{} started", build.builder, build.number),
        )
        .await
    }

    /// Announces a finished build to the contacts whose events want it and to its watchers.
    pub async fn build_finished(&self, name: &str, number: u32) -> Result<bool, NotifyError> {
        let Some(builder) = self.builder(name).await? else { return Ok(false) };
        let Some(build) = self.reader.build(name, number).await? else { return Ok(false) };
        let mut state = self.state.lock().await;
        let watchers = state.watches.remove(&build.key()).unwrap_or_default();
        let Some(result) = build.result else { return Ok(false) };
        if !self.reports(&builder) {
            return Ok(false);
        }
        let previous = past(self.reader.as_ref(), &build, None).await?.previous.and_then(|p| p.result);
        let revisions = self.revisions(&build).await?;
        let url = build_url(&self.site, &build);
        let text = build.text.clone();
        let facts = BuildFacts {
            builder: name,
            number,
            text: &text,
            revisions: &revisions,
            url: url.as_deref(),
            blamelist: &build.blamelist,
        };
        let changed = self.changed(&mut state).await?.clone();
        let contacts = self.all_contacts(&state.channels, &changed);
        let now = self.clock.now();
        let style = self.rules.style;
        let says =
            announce::finished_says(&contacts, &watchers, &mut state.recent, &facts, result, previous, style, now);
        drop(state);
        self.push(&format!("finished/{name}/{number}"), says, &format!("{name} #{number} {}", result.name())).await
    }

    async fn push(&self, id: &str, says: Vec<Say>, summary: &str) -> Result<bool, NotifyError> {
        if says.is_empty() {
            return Ok(false);
        }
        let to: Vec<&str> = says.iter().filter(|s| s.voice != Voice::Action).map(|s| s.dest.as_str()).collect();
        let mut to = to;
        to.dedup();
        let payload = serde_json::to_string(&says).map_err(|e| NotifyError::Other(e.to_string()))?;
        self.queue.push(id, payload, format!("{summary} to {}", to.join(", "))).await?;
        Ok(true)
    }

    /// Keeps the target's status line (`/notifications`) the connection's state.
    pub async fn report_status(self: Arc<Self>) {
        let mut state = self.client.state();
        loop {
            let now = state.borrow_and_update().clone();
            let text = match &now.problem {
                Some(problem) => format!("{} (last problem: {problem})", now.text),
                None => now.text.clone(),
            };
            let status = TargetStatus { up: now.up, text, since: self.clock.now() };
            if let Err(e) = self.queue.set_note(STATUS_NOTE, Some(&status.to_note())).await {
                tracing::warn!("{}: its status could not be written: {e}", self.queue.target());
            }
            if state.changed().await.is_err() {
                return;
            }
        }
    }
}
