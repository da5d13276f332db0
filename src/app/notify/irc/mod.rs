//! The IRC target (`[[irc]]`, kind `irc`): one connection per block (`adapters::irc`), a bot
//! that answers the commands of spec-notify-3 (`chat.rs`) and announces builds. Announcements
//! are decided on the status events (`domain::notify::irc::announce`) and queued in the
//! outbox, delivered in order by the worker when the bot is connected: a disconnect makes
//! them wait, never drops them; after a restart, builds older than `skipOlderThan` are not
//! announced (the framework's start policy). The contacts' `notify` and `mute` settings are
//! the target's note, so they survive restarts (spec-notify-8 I3). The connection's state is
//! the target's status line on `/notifications`.

mod bot;
mod chat;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Context, Deliver, Notifier, NotifyError, Overrides, Parts, Policy, Queue, Target, WorkerOptions};
use crate::adapters::irc::{IrcClient, IrcSettings};
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::notify::irc::announce::Style;
use crate::domain::notify::irc::events::EventSet;
use crate::domain::notify::irc::text::Say;
use crate::domain::notify::outbox::{AttemptError, Discipline, OutboxMessage, RetryPolicy, TargetId};
use crate::domain::notify::start::StartPolicy;
use crate::ports::MasterControl;
pub use bot::CONTACTS_NOTE;

/// What the bot says and allows, beside its connection.
#[derive(Clone, Debug, PartialEq)]
pub struct BotRules {
    /// Only builders with one of these tags are listed and announced (`tags`/`categories`).
    pub tags: Option<Vec<String>>,
    /// What channels (and `pm_to_nicks`) are told by default; private contacts opt in.
    pub notify_events: EventSet,
    /// Nicks told privately from sign-on, with the default events.
    pub pm_to_nicks: Vec<String>,
    pub style: Style,
    pub allow_force: bool,
    pub allow_shutdown: bool,
    /// The nicks that may make the bot `join` or `leave` a channel (nobody by default).
    pub channel_admins: Vec<String>,
    /// After a restart, builds that started or finished longer ago are not announced.
    pub skip_older_than: Duration,
}

impl Default for BotRules {
    fn default() -> Self {
        Self {
            tags: None,
            notify_events: EventSet::EMPTY,
            pm_to_nicks: Vec::new(),
            style: Style::default(),
            allow_force: false,
            allow_shutdown: false,
            channel_admins: Vec::new(),
            skip_older_than: Duration::from_secs(600),
        }
    }
}

/// One IRC bot (an `[[irc]]` block).
#[derive(Clone)]
pub struct IrcTarget {
    pub name: String,
    pub connection: IrcSettings,
    pub rules: BotRules,
    /// Where `force`, `stop` and `shutdown` go: `None` is the server's own master (a
    /// standalone server has none, and the bot says so).
    pub master: Option<Arc<dyn MasterControl>>,
    pub delivery: Overrides,
}

impl IrcTarget {
    pub fn new(name: &str, connection: IrcSettings, rules: BotRules) -> Self {
        Self { name: name.to_owned(), connection, rules, master: None, delivery: Overrides::default() }
    }
}

/// Its configuration, secrets as `***` (a reload restarts the bot when this changes).
impl std::fmt::Debug for IrcTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrcTarget")
            .field("name", &self.name)
            .field("connection", &self.connection)
            .field("rules", &self.rules)
            .field("delivery", &self.delivery)
            .finish()
    }
}

impl Target for IrcTarget {
    fn id(&self) -> TargetId {
        TargetId::new("irc", &self.name).unwrap_or_else(|_| TargetId::new("irc", "?").expect("a valid id"))
    }

    fn policy(&self, defaults: &WorkerOptions) -> Policy {
        // A stream of lines in order; a long outage is waited out (an attempt waits for the
        // connection first), and a batch may wait its turn in the flood queue.
        let retry =
            RetryPolicy { first_delay: Duration::from_secs(5), max_delay: Duration::from_secs(60), max_attempts: 1000 };
        self.delivery.apply(Policy {
            discipline: Discipline::Ordered,
            batch: 20,
            concurrency: 1,
            start: StartPolicy::SkipOlderThan(self.rules.skip_older_than),
            retry,
            lease: Duration::from_secs(900),
            ..Policy::defaults(defaults)
        })
    }

    fn start(&self, context: &Context, queue: Queue) -> Result<Parts, String> {
        let (client, incoming, connection) = IrcClient::spawn(self.connection.clone())?;
        let bot = Arc::new(bot::Bot::new(self, context, queue, client.clone()));
        let tasks =
            vec![connection, tokio::spawn(chat::run(bot.clone(), incoming)), tokio::spawn(bot.clone().report_status())];
        let notifier = IrcNotifier { bot, tasks: Tasks(tasks) };
        Ok(Parts { notifier: Arc::new(notifier), deliver: Arc::new(IrcDelivery { client }) })
    }
}

/// The bot's tasks end with its notifier.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

struct IrcNotifier {
    bot: Arc<bot::Bot>,
    tasks: Tasks,
}

#[async_trait]
impl Notifier for IrcNotifier {
    async fn handle(&self, event: &SequencedEvent) -> Result<bool, NotifyError> {
        match &event.event {
            StatusEvent::BuildStarted { build, requests } => self.bot.build_started(build, requests).await,
            StatusEvent::BuildFinished { builder, number, .. } => self.bot.build_finished(builder, *number).await,
            _ => Ok(false),
        }
    }

    async fn stopping(&self) -> Result<(), NotifyError> {
        self.bot.client.quit("buildmaster reconfigured: bot disconnecting").await;
        let _ = &self.tasks;
        Ok(())
    }
}

/// Says the queued announcements once the bot is connected.
struct IrcDelivery {
    client: IrcClient,
}

/// How long an attempt waits for the connection before it counts as failed.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(30);

#[async_trait]
impl Deliver for IrcDelivery {
    async fn deliver(&self, batch: &[OutboxMessage]) -> Result<(), AttemptError> {
        let mut says = Vec::new();
        for queued in batch {
            let mut some: Vec<Say> = serde_json::from_str(&queued.payload)
                .map_err(|e| AttemptError::Permanent(format!("queued announcement unreadable: {e}")))?;
            says.append(&mut some);
        }
        if !self.client.wait_up(WAIT_FOR_CONNECTION).await {
            return Err(AttemptError::temporary("not connected to the IRC server"));
        }
        self.client.say(says).await.map_err(AttemptError::temporary)
    }
}
