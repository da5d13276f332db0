//! `/notifications`: each notification target's delivery log — its kind and name, how it
//! delivers, how many messages are waiting, in flight, sent, given up, superseded and dropped,
//! the oldest one still to go (what a target whose peer is down is stuck on, with the error),
//! and the newest messages with their last error in words; a target with a connection of its
//! own (an IRC bot) also says whether it is up, in words.

use maud::{Markup, html};

use crate::domain::model::Timestamp;
use crate::domain::notify::outbox::{DeliveryState, Discipline, OutboxMessage, TargetCounts, TargetId};
use crate::domain::notify::status::TargetStatus;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::short_time;

/// One target as the page shows it.
pub struct TargetLog {
    pub counts: TargetCounts,
    /// How it delivers; `None` for a target no longer configured.
    pub discipline: Option<Discipline>,
    /// Its oldest message still to go, if any.
    pub head: Option<OutboxMessage>,
    /// Newest first.
    pub recent: Vec<OutboxMessage>,
    /// What the target says of itself (a bot's connection), if it says.
    pub status: Option<TargetStatus>,
}

/// What happened to `m`, in words.
pub fn outcome(m: &OutboxMessage, now: Timestamp) -> String {
    let tries = |n: u32| if n == 1 { "1 attempt".to_owned() } else { format!("{n} attempts") };
    match m.state {
        DeliveryState::Sent => format!("sent {} after {}", short_time(m.next_attempt), tries(m.attempts)),
        DeliveryState::Failed if m.attempts == 0 => "not sent: the message could not be built".to_owned(),
        DeliveryState::Failed => format!("given up after {}", tries(m.attempts)),
        // Turned away without counting an attempt: a rate limit holds the target back.
        DeliveryState::Pending if m.attempts == 0 && m.last_error.is_some() && m.next_attempt > now => {
            format!("held back by the peer until {}", short_time(m.next_attempt))
        }
        DeliveryState::Pending if m.attempts == 0 => "waiting for its first attempt".to_owned(),
        DeliveryState::Pending if m.next_attempt <= now => format!("being retried after {}", tries(m.attempts)),
        DeliveryState::Pending => {
            format!("failed {}; next attempt at {}", tries(m.attempts), short_time(m.next_attempt))
        }
        DeliveryState::Sending => format!("being sent (attempt {})", m.attempts.saturating_add(1)),
        DeliveryState::Superseded => "not sent: a newer message replaced it".to_owned(),
        DeliveryState::Dropped => "not sent: dropped to make room in a full queue".to_owned(),
    }
}

pub fn notifications_page(page: &Page, targets: &[TargetLog]) -> Markup {
    frame(
        page,
        "Notifications",
        html! {
            h1 { "Notifications" }
            @if targets.is_empty() {
                p { "No notification target has queued anything yet." }
            }
            @for t in targets {
                @let id = TargetId::parse(&t.counts.target);
                h2 id={ "target-" (t.counts.target) } {
                    @match &id {
                        Some(id) => { span.kind { (id.kind()) } " " (id.name()) }
                        None => (t.counts.target),
                    }
                }
                p.delivery {
                    @match t.discipline {
                        Some(d) => { "Delivery: " (d.name()) "." }
                        None => "No longer configured: its log is kept until it is pruned.",
                    }
                }
                @if let Some(status) = &t.status {
                    p class={ "status " (if status.up { "up" } else { "down" }) } {
                        (if status.up { "Up: " } else { "Down: " }) (status.text) " (since " (short_time(status.since)) ")"
                    }
                }
                p.counts {
                    (t.counts.pending) " waiting, " (t.counts.sent) " sent, " (t.counts.failed) " given up"
                    @if t.counts.sending > 0 { ", " (t.counts.sending) " being sent" }
                    @if t.counts.superseded > 0 { ", " (t.counts.superseded) " superseded" }
                    @if t.counts.dropped > 0 { ", " (t.counts.dropped) " dropped" }
                }
                @if let Some(head) = &t.head {
                    p.head {
                        "Next to go: " (head.summary) ", queued " (short_time(head.created)) ", "
                        (outcome(head, page.now)) "."
                        @if let Some(error) = &head.last_error { " Last error: " span.error { (error) } }
                    }
                }
                table.info.notifications {
                    tr { th { "Queued" } th { "Message" } th { "State" } th { "What happened" } th { "Last error" } }
                    @for m in &t.recent {
                        tr class=(m.state.name()) {
                            td { (short_time(m.created)) }
                            td { (m.summary) }
                            td { (m.state.name()) }
                            td { (outcome(m, page.now)) }
                            td.error { (m.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}
