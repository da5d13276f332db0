//! The write path: submissions and rounds. A writer's submission is queued; whoever takes the
//! writer lock next writes every queued submission in one round: each is applied to the state
//! (all or nothing), the round's records and journal are committed in one store transaction,
//! its log content is written (history's whole logs before the commit, the rest after), and
//! each submitter is answered with its own outcome (group commit).

use std::collections::{HashMap, HashSet};
use std::sync::MutexGuard;

use tokio::sync::oneshot;

use super::Hub;
use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::hooks::NewChange;
use crate::domain::state::{Applied, compact};
use crate::ports::{Commit, LogWrite, SinkError, cause};

/// What a writer hands the hub: events, or new changes the hub numbers.
pub(super) enum Work {
    Events(Vec<StatusEvent>),
    Changes(Vec<NewChange>),
    /// Events with their senders' ids: those whose id was applied before are left out.
    Ingest(Vec<(Option<String>, StatusEvent)>),
    /// Events of the past: stored, but not journaled or published.
    History(Vec<StatusEvent>),
}

/// A submission's outcome: its last sequence number, and the numbers of its new changes.
#[derive(Default)]
pub(super) struct Done {
    pub(super) seq: u64,
    pub(super) changes: Vec<u64>,
    /// Ingest: the sender's events applied now, and those left out as applied before.
    pub(super) applied: usize,
    pub(super) repeated: usize,
}

pub(super) struct Submission {
    work: Work,
    reply: oneshot::Sender<Result<Done, SinkError>>,
}

/// A submission of a round whose events applied, waiting for the round's commit.
struct Accepted {
    /// Numbered, unless `history` (whose events are not journaled: they carry 0).
    sequenced: Vec<SequencedEvent>,
    history: bool,
    applied: Vec<Applied>,
    /// What the submitter is told besides the sequence number.
    done: Done,
    reply: oneshot::Sender<Result<Done, SinkError>>,
}

impl Hub {
    /// Writes one submission. Writers that arrive while another holds the writer lock queue
    /// their submissions, and whoever takes the lock next writes every queued one in a single
    /// store transaction (group commit): under many concurrent writers (hooks, the ingest API)
    /// the store sees one transaction per round, not one per request. Each submission is still
    /// all or nothing, and is answered with its own outcome.
    pub(super) async fn submit(&self, work: Work) -> Result<Done, SinkError> {
        let (reply, answer) = oneshot::channel();
        self.queue().push(Submission { work, reply });
        // The round is written by a task of its own, so that a caller that goes away (a
        // client hanging up on a hook) cannot stop a round halfway, between the state and
        // the store, nor leave the other submissions of the round unanswered.
        let Some(hub) = self.me.upgrade() else {
            return Err(SinkError::storage("the hub is shutting down"));
        };
        tokio::spawn(async move {
            let _writer = hub.writer.lock().await;
            // An earlier task may have written ours already, with its round.
            let round = std::mem::take(&mut *hub.queue());
            if !round.is_empty() {
                hub.write_round(round).await;
            }
        });
        answer.await.unwrap_or_else(|_| Err(SinkError::storage("the writer stopped")))
    }

    fn queue(&self) -> MutexGuard<'_, Vec<Submission>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies, commits, stores log content of and publishes a round of submissions; answers
    /// each. Call with the writer lock held.
    async fn write_round(&self, round: Vec<Submission>) {
        // The senders' ids applied before, looked up before the state is locked.
        let ids: Vec<String> = round
            .iter()
            .filter_map(|s| match &s.work {
                Work::Ingest(events) => Some(events.iter().filter_map(|(id, _)| id.clone())),
                _ => None,
            })
            .flatten()
            .collect();
        let mut round = round;
        // The senders' ids applied by earlier rounds (stored).
        let mut stored: HashSet<String> = HashSet::new();
        if !ids.is_empty() {
            match self.store.receipts(&ids).await {
                Ok(known) => stored.extend(ids.into_iter().zip(known).filter_map(|(id, seq)| seq.map(|_| id))),
                Err(e) => {
                    let (ingest, rest): (Vec<_>, Vec<_>) =
                        round.into_iter().partition(|s| matches!(s.work, Work::Ingest(_)));
                    for s in ingest {
                        let _ = s.reply.send(Err(SinkError::Storage(cause(e.clone()))));
                    }
                    round = rest;
                }
            }
        }
        let mut accepted: Vec<Accepted> = Vec::with_capacity(round.len());
        let (commit, first_copy) = {
            let mut live = self.live();
            let mut next_seq = live.seq + 1;
            let mut first_copy = None;
            let mut receipts = Vec::new();
            // The senders' ids this round applies.
            let mut uncommitted: HashSet<String> = HashSet::new();
            for Submission { work, reply } in round {
                let mut done = Done::default();
                let mut ids = Vec::new();
                let history = matches!(work, Work::History(_));
                let events = match work {
                    Work::Events(events) | Work::History(events) => events,
                    Work::Changes(new) => {
                        let first = live.state.last_change() + 1;
                        done.changes = (first..).take(new.len()).collect();
                        new.into_iter()
                            .zip(&done.changes)
                            .map(|(change, n)| StatusEvent::ChangeAdded { change: change.numbered(*n) })
                            .collect()
                    }
                    Work::Ingest(events) => {
                        let (fresh, repeated): (Vec<_>, Vec<_>) = events.into_iter().partition(|(id, _)| {
                            id.as_ref().is_none_or(|id| !stored.contains(id) && !uncommitted.contains(id))
                        });
                        done.repeated = repeated.len();
                        done.applied = fresh.iter().filter(|(id, _)| id.is_some()).count();
                        // Only receiver-made events (no id) left: the sender's were applied before.
                        if done.applied == 0 {
                            done.seq = next_seq - 1;
                            // Applied by this very round, not yet committed: the answer is the
                            // commit's (a retry must not hear "done" for what may fail).
                            let pending =
                                |(id, _): &(Option<String>, _)| id.as_ref().is_some_and(|i| uncommitted.contains(i));
                            if repeated.iter().any(pending) {
                                let (sequenced, applied) = (Vec::new(), Vec::new());
                                accepted.push(Accepted { sequenced, history: false, applied, done, reply });
                            } else {
                                let _ = reply.send(Ok(done));
                            }
                            continue;
                        }
                        let (fresh_ids, events): (Vec<_>, Vec<_>) = fresh.into_iter().unzip();
                        ids = fresh_ids;
                        events
                    }
                };
                // A submission is applied to a copy so that a rejected event leaves nothing
                // behind. New changes numbered above every known one cannot be rejected.
                let copy = events.len() > 1 && !live.state.accepts_surely(&events);
                let previous = copy.then(|| live.state.clone());
                let mut applied = Vec::with_capacity(events.len());
                let mut sequenced = Vec::with_capacity(events.len());
                let mut rejected = None;
                let numbers = (next_seq..).map(|seq| if history { 0 } else { seq });
                for (seq, event) in numbers.zip(events) {
                    match live.state.apply_deferred(&event) {
                        Ok(a) => applied.push(a),
                        Err(e) => {
                            rejected = Some(e);
                            break;
                        }
                    }
                    sequenced.push(SequencedEvent { seq, event });
                }
                if let Some(e) = rejected {
                    if let Some(p) = previous {
                        live.state = p;
                    }
                    let _ = reply.send(Err(SinkError::Rejected(e)));
                    continue;
                }
                // The running builds the submission changed, written (and copied) once each.
                if let Some(last) = applied.last_mut() {
                    last.mutations.extend(live.state.take_changed_builds());
                }
                if accepted.is_empty() {
                    first_copy = previous;
                }
                for (id, event) in ids.into_iter().zip(&sequenced) {
                    if let Some(id) = id {
                        uncommitted.insert(id.clone());
                        receipts.push((id, event.seq));
                    }
                }
                if history {
                    done.seq = next_seq - 1;
                } else {
                    next_seq += sequenced.len() as u64;
                }
                accepted.push(Accepted { sequenced, history, applied, done, reply });
            }
            // Taken, not copied: what remains of `applied` (logs, windows) is used after the commit.
            let mutations = compact(
                accepted
                    .iter_mut()
                    .flat_map(|a| a.applied.iter_mut().flat_map(|x: &mut Applied| std::mem::take(&mut x.mutations)))
                    .collect(),
            );
            let events = accepted.iter().filter(|a| !a.history).flat_map(|a| a.sequenced.iter().cloned()).collect();
            (Commit { events, mutations, next_log_id: live.state.next_log_id(), receipts }, first_copy)
        };
        if accepted.is_empty() {
            return;
        }
        let history_logs: HashSet<u64> = accepted
            .iter()
            .filter(|a| a.history)
            .flat_map(|a| {
                a.applied
                    .iter()
                    .flat_map(|x| x.log.as_ref().map(|t| t.log_id).into_iter().chain(x.logs_finished.iter().copied()))
            })
            .collect();
        // Logs that history brings whole are written before the commit: an import interrupted
        // between the two must not leave builds recorded without their logs (a re-run skips
        // recorded builds). A whole log goes into a pack, where writing it again replaces it,
        // so a commit that fails leaves nothing that matters.
        let (before, after): (Vec<LogWrite>, Vec<LogWrite>) =
            log_writes(&mut accepted).into_iter().partition(|w| w.finish && history_logs.contains(&w.log));
        let committed = match self.logs.write(before).await {
            Ok(()) => self.store.commit(&commit).await.map_err(cause),
            Err(e) => Err(cause(e)),
        };
        if let Err(e) = committed {
            // Only a lone submission's copy is the state before the round; else reload.
            self.recover(if accepted.len() == 1 { first_copy } else { None }).await;
            for a in accepted {
                let _ = a.reply.send(Err(SinkError::Storage(e.clone())));
            }
            return;
        }
        // Committed: these numbers are taken, whatever happens to the log content below.
        if let Some(last) = commit.events.last() {
            self.live().seq = last.seq;
        }
        let late: HashSet<u64> = after.iter().map(|w| w.log).collect();
        let lost = self.logs.write(after).await.err();
        for a in accepted {
            let seq = if a.history { a.done.seq } else { a.sequenced.last().map_or(a.done.seq, |e| e.seq) };
            let wrote_late = a.applied.iter().any(|x| {
                x.log.as_ref().is_some_and(|t| late.contains(&t.log_id))
                    || x.logs_finished.iter().any(|l| late.contains(l))
            });
            let lost = lost.clone().filter(|_| wrote_late);
            for name in a.applied.iter().filter_map(|x| x.fill_window.clone()) {
                let _ = self.fills.send(name);
            }
            if !a.history {
                for event in a.sequenced {
                    self.bus.publish(event);
                }
            }
            let _ = a.reply.send(match lost {
                None => Ok(Done { seq, ..a.done }),
                Some(error) => Err(SinkError::LogContent { seq, error }),
            });
        }
    }
}

/// The log content of a round, one write per log, chunks in order. History's text is taken
/// out of its events (they are neither journaled nor published), not copied.
fn log_writes(accepted: &mut [Accepted]) -> Vec<LogWrite> {
    let mut writes: Vec<LogWrite> = Vec::new();
    let mut at: HashMap<u64, usize> = HashMap::new();
    let mut of = |log: u64, writes: &mut Vec<LogWrite>| -> usize {
        *at.entry(log).or_insert_with(|| {
            writes.push(LogWrite { log, ..LogWrite::default() });
            writes.len() - 1
        })
    };
    for a in accepted {
        for (event, done) in a.sequenced.iter_mut().zip(&a.applied) {
            if let (Some(target), StatusEvent::LogChunk { channel, text, .. }) = (&done.log, &mut event.event) {
                let text = if a.history { std::mem::take(text) } else { text.clone() };
                let i = of(target.log_id, &mut writes);
                writes[i].chunks.push((*channel, bytes::Bytes::from(text)));
            }
            for &log in &done.logs_finished {
                let i = of(log, &mut writes);
                writes[i].finish = true;
            }
        }
    }
    writes
}
