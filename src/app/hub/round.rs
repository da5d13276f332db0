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
use crate::domain::state::{Applied, ApplyError, StatusState, compact};
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
    /// Its events as applied, in order.
    entries: Vec<Entry>,
    /// Events of the past: neither journaled nor published.
    history: bool,
    /// What the submitter is told (with the sequence number of its last journaled event).
    done: Done,
    reply: oneshot::Sender<Result<Done, SinkError>>,
}

/// One applied event, with the events the state derived from it.
struct Entry {
    /// Numbered, when journaled. History's events carry 0; an absorbed event (a claim the
    /// state derives itself) carries the newest number before it.
    event: SequencedEvent,
    journaled: bool,
    applied: Applied,
    /// Numbered right after `event`, journaled and published with it (none for history).
    derived: Vec<SequencedEvent>,
}

impl Accepted {
    /// The events it journals, in order: each journaled event, then those derived from it.
    fn journal(&self) -> impl Iterator<Item = &SequencedEvent> {
        let entries = if self.history { &[][..] } else { &self.entries[..] };
        entries.iter().flat_map(Entry::journal)
    }

    fn applied(&self) -> impl Iterator<Item = &Applied> {
        self.entries.iter().map(|e| &e.applied)
    }
}

impl Entry {
    /// The event if journaled, then those derived from it.
    fn journal(&self) -> impl Iterator<Item = &SequencedEvent> {
        self.journaled.then_some(&self.event).into_iter().chain(&self.derived)
    }

    /// [`journal`](Self::journal), taken.
    fn into_journal(self) -> impl Iterator<Item = SequencedEvent> {
        self.journaled.then_some(self.event).into_iter().chain(self.derived)
    }
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
    /// each. Call with the writer lock held. The steps, in order: look up the senders' ids
    /// ([`Hub::applied_ids`]), apply under the state's lock ([`Hub::apply_round`]), commit
    /// ([`Hub::commit_round`]), then write the rest of the logs, publish and answer
    /// ([`Hub::answer_round`]).
    async fn write_round(&self, round: Vec<Submission>) {
        let (round, stored) = self.applied_ids(round).await;
        let mut applied = self.apply_round(round, &stored);
        if applied.accepted.is_empty() {
            return;
        }
        let Some(late) = self.commit_round(&mut applied).await else { return };
        self.answer_round(applied.accepted, late).await;
    }

    /// The senders' ids of the round's ingest submissions that earlier rounds applied (and
    /// stored), looked up before the state is locked. When they cannot be read, the ingest
    /// submissions are answered with the error and leave the round (the others stay).
    async fn applied_ids(&self, round: Vec<Submission>) -> (Vec<Submission>, HashSet<String>) {
        let ids: Vec<String> = round
            .iter()
            .filter_map(|s| match &s.work {
                Work::Ingest(events) => Some(events.iter().filter_map(|(id, _)| id.clone())),
                _ => None,
            })
            .flatten()
            .collect();
        if ids.is_empty() {
            return (round, HashSet::new());
        }
        match self.store.receipts(&ids).await {
            Ok(known) => (round, ids.into_iter().zip(known).filter_map(|(id, seq)| seq.map(|_| id)).collect()),
            Err(e) => {
                let (ingest, rest): (Vec<_>, Vec<_>) =
                    round.into_iter().partition(|s| matches!(s.work, Work::Ingest(_)));
                for s in ingest {
                    let _ = s.reply.send(Err(SinkError::Storage(cause(e.clone()))));
                }
                (rest, HashSet::new())
            }
        }
    }

    /// Applies each submission to the state, all or nothing (a rejected one is answered at
    /// once and leaves no trace), numbers the accepted events from the newest number on, each
    /// followed by the events the state derived from it (history's are not numbered, and
    /// derive none; an absorbed claim is not journaled), and gathers the round's one commit:
    /// the records its events changed (each build once), its journal, derived events included,
    /// and its senders' ids. The state's lock is held throughout and never across an await.
    fn apply_round(&self, round: Vec<Submission>, stored: &HashSet<String>) -> AppliedRound {
        let mut live = self.live();
        let first_log_id = live.state.next_log_id();
        let mut numbering = Numbering { next_seq: live.seq + 1, ..Numbering::default() };
        let mut accepted: Vec<Accepted> = Vec::with_capacity(round.len());
        let mut first_copy = None;
        for Submission { work, reply } in round {
            let history = matches!(work, Work::History(_));
            let (events, ids, mut done) = match numbering.events_of(work, &live.state, stored) {
                Ok(found) => found,
                Err(Settled::Answered(done)) => {
                    let _ = reply.send(Ok(done));
                    continue;
                }
                // Repeats of ids this very round applies, not yet committed: the answer is the
                // commit's (a retry must not hear "done" for what may fail).
                Err(Settled::AfterCommit(done)) => {
                    accepted.push(Accepted { entries: Vec::new(), history: false, done, reply });
                    continue;
                }
            };
            let Outcome { entries, previous, next_seq } =
                match apply_submission(&mut live.state, events, history, numbering.next_seq) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        let _ = reply.send(Err(SinkError::Rejected(e)));
                        continue;
                    }
                };
            if accepted.is_empty() {
                first_copy = previous;
            }
            numbering.take(ids, &entries);
            numbering.next_seq = next_seq;
            done.seq = next_seq - 1;
            accepted.push(Accepted { entries, history, done, reply });
        }
        // Taken, not copied: what remains of `applied` (logs, windows) is used after the commit.
        let mutations = compact(
            accepted
                .iter_mut()
                .flat_map(|a| a.entries.iter_mut().flat_map(|e| std::mem::take(&mut e.applied.mutations)))
                .collect(),
        );
        let events = accepted.iter().flat_map(Accepted::journal).cloned().collect();
        let commit = Commit { events, mutations, next_log_id: live.state.next_log_id(), receipts: numbering.receipts };
        AppliedRound { accepted, commit, first_copy, first_log_id }
    }

    /// Writes the logs the round brings whole (started and finished in it, or history's), then
    /// commits. Whole logs go first: a crash between the two must not leave builds recorded
    /// without their logs, since a retry (an ingest batch sent again, an import re-run) is
    /// then only acknowledged; a whole log goes into a pack, where writing it again replaces
    /// it, and a log's own file shows before its pack slot, so a commit that fails leaves
    /// nothing that matters. Appends to logs begun earlier wait for the commit: written
    /// twice, they would repeat. On failure the state
    /// is restored (or reloaded), every submission is answered with the error, and `None` is
    /// returned; on success, the numbers are taken and the log writes left for after it.
    async fn commit_round(&self, round: &mut AppliedRound) -> Option<Vec<LogWrite>> {
        let history_logs: HashSet<u64> = round
            .accepted
            .iter()
            .filter(|a| a.history)
            .flat_map(|a| {
                a.applied()
                    .flat_map(|x| x.log.as_ref().map(|t| t.log_id).into_iter().chain(x.logs_finished.iter().copied()))
            })
            .collect();
        let (before, after): (Vec<LogWrite>, Vec<LogWrite>) = log_writes(&mut round.accepted)
            .into_iter()
            .partition(|w| w.finish && (history_logs.contains(&w.log) || w.log >= round.first_log_id));
        let started = std::time::Instant::now();
        let committed = match self.logs.write(before).await {
            Ok(()) => self.store.commit(&round.commit).await.map_err(cause),
            Err(e) => Err(cause(e)),
        };
        match &committed {
            Ok(()) => {
                let seconds = started.elapsed().as_secs_f64();
                self.stats.committed(round.accepted.len(), round.commit.events.len(), seconds);
            }
            Err(_) => self.stats.failed(),
        }
        if let Err(e) = committed {
            // Only a lone submission's copy is the state before the round; else reload.
            let lone = round.accepted.len() == 1;
            self.recover(if lone { round.first_copy.take() } else { None }).await;
            for a in std::mem::take(&mut round.accepted) {
                let _ = a.reply.send(Err(SinkError::Storage(e.clone())));
            }
            return None;
        }
        // Committed: these numbers are taken, whatever happens to the log content below.
        if let Some(last) = round.commit.events.last() {
            self.live().seq = last.seq;
        }
        Some(after)
    }

    /// After the commit: writes the rest of the log content, queues the new builders' windows
    /// for filling, publishes each submission's journaled events in their journal order (each
    /// followed by those derived from it; history's excepted) and answers it.
    /// A submission whose log content could not be written is told so (its events are stored
    /// and published all the same).
    async fn answer_round(&self, accepted: Vec<Accepted>, late: Vec<LogWrite>) {
        let late_logs: HashSet<u64> = late.iter().map(|w| w.log).collect();
        let lost = self.logs.write(late).await.err();
        for a in accepted {
            let wrote_late = a.applied().any(|x| {
                x.log.as_ref().is_some_and(|t| late_logs.contains(&t.log_id))
                    || x.logs_finished.iter().any(|l| late_logs.contains(l))
            });
            let lost = lost.clone().filter(|_| wrote_late);
            for name in a.applied().filter_map(|x| x.fill_window.clone()) {
                let _ = self.fills.send(name);
            }
            let Accepted { entries, history, done, reply } = a;
            if !history {
                for event in entries.into_iter().flat_map(Entry::into_journal) {
                    self.bus.publish(event);
                }
            }
            let seq = done.seq;
            let _ = reply.send(match lost {
                None => Ok(done),
                Some(error) => Err(SinkError::LogContent { seq, error }),
            });
        }
    }
}

/// A round applied to the state, before its commit.
struct AppliedRound {
    accepted: Vec<Accepted>,
    commit: Commit,
    /// The state before the round's first accepted submission, when that submission made a
    /// copy (the state to go back to if the commit fails and it was the round's only one).
    first_copy: Option<StatusState>,
    /// The first log id the round could allocate: logs from it on began in this round.
    first_log_id: u64,
}

/// The round's numbering: the next sequence number, and the senders' ids it applies.
#[derive(Default)]
struct Numbering {
    next_seq: u64,
    /// Each applied sender's id with its event's sequence number, for the commit.
    receipts: Vec<(String, u64)>,
    /// The same ids, to find repeats within the round.
    uncommitted: HashSet<String>,
}

/// A submission answered without applying anything.
enum Settled {
    /// Every sender's id of it was applied by an earlier round: answered now.
    Answered(Done),
    /// Some of its ids are applied by this round: answered with the round's commit.
    AfterCommit(Done),
}

/// A submission's events, their senders' ids (for ingest) and the answer so far.
type Events = (Vec<StatusEvent>, Vec<Option<String>>, Done);

impl Numbering {
    /// The events a submission stands for: new changes numbered after the newest; ingested
    /// events without those whose ids were applied before (by an earlier round, `stored`, or
    /// this one).
    fn events_of(&self, work: Work, state: &StatusState, stored: &HashSet<String>) -> Result<Events, Settled> {
        let mut done = Done::default();
        match work {
            Work::Events(events) | Work::History(events) => Ok((events, Vec::new(), done)),
            Work::Changes(new) => {
                let first = state.last_change() + 1;
                done.changes = (first..).take(new.len()).collect();
                let events = new
                    .into_iter()
                    .zip(&done.changes)
                    .map(|(change, n)| StatusEvent::ChangeAdded { change: change.numbered(*n) })
                    .collect();
                Ok((events, Vec::new(), done))
            }
            Work::Ingest(events) => {
                let applied_before = |id: &String| stored.contains(id) || self.uncommitted.contains(id);
                let (fresh, repeated): (Vec<_>, Vec<_>) =
                    events.into_iter().partition(|(id, _)| id.as_ref().is_none_or(|id| !applied_before(id)));
                done.repeated = repeated.len();
                done.applied = fresh.iter().filter(|(id, _)| id.is_some()).count();
                // Only receiver-made events (no id) left: the sender's were applied before.
                if done.applied == 0 {
                    done.seq = self.next_seq - 1;
                    let this_round =
                        |(id, _): &(Option<String>, _)| id.as_ref().is_some_and(|i| self.uncommitted.contains(i));
                    return Err(match repeated.iter().any(this_round) {
                        true => Settled::AfterCommit(done),
                        false => Settled::Answered(done),
                    });
                }
                let (ids, events) = fresh.into_iter().unzip();
                Ok((events, ids, done))
            }
        }
    }

    /// Records the senders' ids of an applied submission with its events' numbers.
    fn take(&mut self, ids: Vec<Option<String>>, entries: &[Entry]) {
        for (id, entry) in ids.into_iter().zip(entries) {
            if let Some(id) = id {
                self.uncommitted.insert(id.clone());
                self.receipts.push((id, entry.event.seq));
            }
        }
    }
}

/// Applies one submission's events in order, all or nothing: on a rejected event the state
/// is put back as it was and the rejection returned. Events are numbered from `next_seq`,
/// each followed by the events the state derived from it (history's carry 0 and derive none;
/// an absorbed claim takes no number of its own). The running builds it changed are written
/// (and copied) once each, with its last event. Also returns the copy of the state made to
/// roll back to, if one was made (a submission of one event, or of new changes numbered
/// above every known one, cannot be rejected halfway and needs none), and the next number.
fn apply_submission(
    state: &mut StatusState,
    events: Vec<StatusEvent>,
    history: bool,
    mut next_seq: u64,
) -> Result<Outcome, ApplyError> {
    let copy = events.len() > 1 && !state.accepts_surely(&events);
    let previous = copy.then(|| state.clone());
    let mut entries: Vec<Entry> = Vec::with_capacity(events.len());
    let mut number = |journaled: bool| match journaled {
        true => {
            next_seq += 1;
            next_seq - 1
        }
        false => next_seq - 1,
    };
    for event in events {
        let mut applied = match state.apply_deferred(&event) {
            Ok(applied) => applied,
            Err(e) => {
                if let Some(p) = previous {
                    *state = p;
                }
                return Err(e);
            }
        };
        let journaled = !history && !applied.absorbed;
        let seq = if history { 0 } else { number(journaled) };
        let derived = std::mem::take(&mut applied.derived);
        let derived = match history {
            true => Vec::new(),
            false => derived.into_iter().map(|event| SequencedEvent { seq: number(true), event }).collect(),
        };
        entries.push(Entry { event: SequencedEvent { seq, event }, journaled, applied, derived });
    }
    if let Some(last) = entries.last_mut() {
        last.applied.mutations.extend(state.take_changed_builds());
    }
    Ok(Outcome { entries, previous, next_seq })
}

/// What applying a submission gave: its events as applied, the copy of the state made before
/// it (if one was made), and the next sequence number.
struct Outcome {
    entries: Vec<Entry>,
    previous: Option<StatusState>,
    next_seq: u64,
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
        for entry in &mut a.entries {
            let done = &entry.applied;
            if let (Some(target), StatusEvent::LogChunk { channel, text, .. }) = (&done.log, &mut entry.event.event) {
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
