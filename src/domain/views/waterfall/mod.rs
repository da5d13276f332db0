//! The waterfall (spec-web-displays §2): time runs down the page, one column of boxes per
//! builder beside a column of changes, each box as tall as what it stands for lasted.
//!
//! [`waterfall`] follows the spec's three phases: each column yields its items newest first
//! (with spacers for idle gaps), the items are gathered into rows of 10-second spans, and the
//! rows become table slots in which each box stretches up to the next newer item.

use chrono::Duration;

use crate::domain::event::{SequencedEvent, StatusEvent};
use crate::domain::model::{Build, Builder, Change, Step, Timestamp};

/// A non-build event shown in a builder's column (a worker connecting, a reconfiguration).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BuilderEvent {
    pub at: Timestamp,
    pub text: Vec<String>,
}

/// The journaled system events (newest first) that concern `builder`, as its column shows
/// them: its workers connecting and disconnecting, and the master starting, stopping and
/// being reconfigured. (Pauses carry no time, so they have no place on the time axis.)
pub fn builder_events(events: &[SequencedEvent], builder: &Builder) -> Vec<BuilderEvent> {
    let serves = |w: &str| builder.workers.iter().any(|x| x == w);
    let line = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
    events
        .iter()
        .filter_map(|e| match &e.event {
            StatusEvent::WorkerConnected { worker, at } if serves(&worker.name) => {
                Some(BuilderEvent { at: *at, text: line("connect", &worker.name) })
            }
            StatusEvent::WorkerDisconnected { name, at } if serves(name) => {
                Some(BuilderEvent { at: *at, text: line("disconnect", name) })
            }
            StatusEvent::MasterStarted { at } => Some(BuilderEvent { at: *at, text: line("master", "started") }),
            StatusEvent::MasterStopping { at } => Some(BuilderEvent { at: *at, text: line("master", "shutdown") }),
            StatusEvent::Reconfigured { at } => Some(BuilderEvent { at: *at, text: vec!["reconfig".to_owned()] }),
            _ => None,
        })
        .collect()
}

/// A builder's column: its builds newest first, as far as they were read.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WaterfallColumn<'a> {
    pub builder: &'a Builder,
    /// Builds newest first, already narrowed by the page's filters.
    #[serde(serialize_with = "crate::domain::model::serialize_shared")]
    pub builds: &'a [std::sync::Arc<Build>],
    /// True when no build older than these (within the time bounds) exists.
    pub complete: bool,
    /// Newest first.
    pub events: &'a [BuilderEvent],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaterfallOptions {
    pub now: Timestamp,
    /// Rows newer than this are not shown.
    pub last_time: Option<Timestamp>,
    /// Items older than this are not read.
    pub lower_bound: Option<Timestamp>,
    /// Time rows at most (one more may be shown).
    pub num_events: usize,
    pub show_events: bool,
    pub nobubble: bool,
}

/// What a box stands for.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Item<'a> {
    Change(&'a Change),
    /// The "Build N" marker at the start of a build.
    BuildStart(&'a Build),
    Step(&'a Build, &'a Step),
    Event(&'a BuilderEvent),
    /// An idle gap: an empty box.
    Spacer,
    /// The column has no more history (`?`).
    Unknown,
    /// The time label of a row; `date` when the day changed since the row above.
    Time {
        at: Timestamp,
        date: bool,
    },
}

/// One table cell position: a box of `rowspan` rows, a slot covered by a box above, or empty.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Slot<'a> {
    Box { item: Item<'a>, rowspan: usize },
    Covered,
    Empty,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Waterfall<'a> {
    /// Table rows top to bottom; each has the time column, the change column, then builders.
    pub rows: Vec<Vec<Slot<'a>>>,
    /// The oldest row's time (for the "next page" link), when any row was shown.
    pub oldest: Option<Timestamp>,
    /// Builder columns (0 = first builder) whose builds ran out before the page was full:
    /// read more of their history and compute again.
    pub needs_more: Vec<usize>,
}

/// A column item with its times: start, and finish when it has one.
#[derive(Clone, Copy, Debug)]
struct Timed<'a> {
    item: Item<'a>,
    start: Timestamp,
    finish: Option<Timestamp>,
}

/// Spans of this long are gathered into one row.
const SPAN: Duration = Duration::seconds(10);
/// An idle gap longer than this gets a spacer.
const GAP: Duration = Duration::seconds(2);

/// The raw items of a builder column, newest first (§2.3).
fn builder_items<'a>(column: &WaterfallColumn<'a>, opts: &WaterfallOptions) -> (Vec<Timed<'a>>, bool) {
    let mut out = Vec::new();
    let mut events = column.events.iter().filter(|_| opts.show_events).peekable();
    let mut reached_bound = false;
    for build in column.builds {
        if opts.lower_bound.is_some_and(|b| build.started < b) {
            reached_bound = true;
            break;
        }
        for step in build.steps.iter().rev() {
            let Some(start) = step.started else { continue };
            while let Some(e) = events.next_if(|e| e.at > start) {
                out.push(Timed { item: Item::Event(e), start: e.at, finish: Some(e.at) });
            }
            if !(step.hidden && step.finished.is_some()) {
                out.push(Timed { item: Item::Step(build, step), start, finish: step.finished });
            }
        }
        while let Some(e) = events.next_if(|e| e.at > build.started) {
            out.push(Timed { item: Item::Event(e), start: e.at, finish: Some(e.at) });
        }
        out.push(Timed { item: Item::BuildStart(build), start: build.started, finish: build.finished });
    }
    // Events older than the builds read are shown only once the column's builds are all in:
    // else an old event would fill the column below them, and the builds in between (not
    // read yet) would never be asked for.
    if !(column.complete || reached_bound) {
        return (out, reached_bound);
    }
    let mut first = true;
    for e in events {
        if !first && opts.lower_bound.is_some_and(|b| e.at < b) {
            break;
        }
        first = false;
        out.push(Timed { item: Item::Event(e), start: e.at, finish: Some(e.at) });
    }
    (out, reached_bound)
}

/// Where the row ending at `t` begins; `None` (the start of time) when that lies before the
/// calendar's first day: times are reported by masters, and must not overflow.
fn span_before(t: Timestamp) -> Option<Timestamp> {
    t.checked_sub_signed(SPAN)
}

/// Inserts a spacer wherever the column is idle for more than [`GAP`] (§2.3).
fn with_gaps<'a>(items: Vec<Timed<'a>>, now: Timestamp) -> Vec<Timed<'a>> {
    let mut out = Vec::with_capacity(items.len() * 2);
    let mut following = now;
    for item in items {
        if let Some(f) = item.finish
            && f.checked_add_signed(GAP).is_some_and(|end| end < following)
        {
            out.push(Timed { item: Item::Spacer, start: f, finish: Some(following) });
        }
        following = item.start;
        out.push(item);
    }
    out
}

/// Lays out the waterfall.
pub fn waterfall<'a>(changes: &'a [Change], columns: &[WaterfallColumn<'a>], opts: &WaterfallOptions) -> Waterfall<'a> {
    // Column 0 of the sources is the changes, newest first by time then number.
    let mut change_items: Vec<&Change> =
        changes.iter().filter(|c| opts.lower_bound.is_none_or(|b| c.when >= b)).collect();
    change_items.sort_by(|a, b| b.when.cmp(&a.when).then(b.number.cmp(&a.number)));
    let mut sources: Vec<Vec<Timed<'a>>> =
        vec![change_items.into_iter().map(|c| Timed { item: Item::Change(c), start: c.when, finish: None }).collect()];
    let mut exhaustible = vec![false];
    for column in columns {
        let (items, reached_bound) = builder_items(column, opts);
        sources.push(with_gaps(items, opts.now));
        exhaustible.push(!column.complete && !reached_bound);
    }

    // Phase 2: rows of 10-second spans, newest first (§2.3).
    let mut heads = vec![0usize; sources.len()];
    let head = |c: usize, heads: &[usize]| sources[c].get(heads[c]);
    let top = (0..sources.len()).filter_map(|c| head(c, &heads)).map(|t| t.start).max().unwrap_or(opts.now);
    let mut span_start = span_before(top);
    // A row's cells are ranges of their sources' items (items are taken in order), kept flat:
    // the cells of row i are `spans[i * n..(i + 1) * n]`. No allocation per cell.
    let n = sources.len();
    let mut rows: Vec<Timestamp> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut ran_out = vec![false; n];
    loop {
        let mark = spans.len();
        let (mut first_ts, mut next_ts): (Option<Timestamp>, Option<Timestamp>) = (None, None);
        for c in 0..n {
            let begin = heads[c];
            while let Some(item) = head(c, &heads).filter(|t| span_start.is_none_or(|s| t.start > s)) {
                first_ts = Some(first_ts.map_or(item.start, |f| f.min(item.start)));
                heads[c] += 1;
            }
            match head(c, &heads) {
                Some(next) => next_ts = Some(next_ts.map_or(next.start, |n| n.max(next.start))),
                None => ran_out[c] = true,
            }
            spans.push((begin, heads[c]));
        }
        match first_ts {
            Some(first) if opts.last_time.is_none_or(|last| first <= last) => rows.push(first),
            _ => spans.truncate(mark),
        }
        let Some(next) = next_ts else { break };
        span_start = span_before(next);
        if opts.lower_bound.is_some_and(|b| next < b) || rows.len() > opts.num_events {
            break;
        }
    }
    let needs_more = (1..n).filter(|&c| ran_out[c] && exhaustible[c]).map(|c| c - 1).collect();

    // Phase 3: table slots. Column 0 is time; source c is table column c + 1.
    let cells = |i: usize| &spans[i * n..(i + 1) * n];
    let row_height = |i: usize| cells(i).iter().map(|(b, e)| e - b).max().unwrap_or(0).max(1);
    let height: usize = (0..rows.len()).map(row_height).sum();
    let width = n + 1;
    let mut grid: Vec<Vec<Slot<'a>>> = (0..width).map(|_| Vec::with_capacity(height)).collect();
    let mut last_date = opts.now.date_naive();
    for (i, at) in rows.iter().enumerate() {
        let row_height = row_height(i);
        let date = at.date_naive() != last_date;
        last_date = at.date_naive();
        grid[0].extend(std::iter::repeat_n(Slot::Empty, row_height - 1));
        grid[0].push(Slot::Box { item: Item::Time { at: *at, date }, rowspan: 1 });
        for (c, &(begin, end)) in cells(i).iter().enumerate() {
            grid[c + 1].extend(std::iter::repeat_n(Slot::Empty, row_height - (end - begin)));
            grid[c + 1].extend(sources[c][begin..end].iter().map(|t| Slot::Box { item: t.item, rowspan: 1 }));
        }
    }
    // The bottom slot of each column shows what comes next there, so a long item that began
    // below the page still shows.
    for (c, column) in grid.iter_mut().enumerate().skip(1) {
        if let Some(last @ Slot::Empty) = column.last_mut() {
            let item = sources[c - 1].get(heads[c - 1]).map_or(Item::Unknown, |t| t.item);
            *last = Slot::Box { item, rowspan: 1 };
        }
    }
    if !opts.nobubble {
        for (c, column) in grid.iter_mut().enumerate() {
            stretch(column, c == 1);
        }
    }
    let table = (0..height).map(|r| grid.iter().map(|col| col[r]).collect()).collect();
    Waterfall { rows: table, oldest: rows.last().copied(), needs_more }
}

/// Lets each box grow upwards over the empty slots above it (§2.5). In the change column a
/// run of empty slots becomes a spacer instead (joined to a spacer right below it): a change
/// is a moment, not a span. The column's last slot, when empty, stays so.
///
/// Works a run of empty slots at a time, writing each slot once: growing a box one slot at a
/// time re-read the slot just written, which stalled on every slot of tall columns.
fn stretch(column: &mut [Slot], changes: bool) {
    let len = column.len();
    let mut r = len;
    while r > 0 {
        r -= 1;
        if !matches!(column[r], Slot::Empty) {
            continue;
        }
        let mut end = r;
        while r > 0 && matches!(column[r - 1], Slot::Empty) {
            r -= 1;
        }
        let top = r;
        if end + 1 == len {
            // Nothing below the run to grow; in the change column the slots above the last
            // one still become a spacer.
            if !changes || end == top {
                continue;
            }
            end -= 1;
        }
        let run = end + 1 - top;
        let (item, rowspan, covered_to) = match column[end + 1] {
            Slot::Box { item: Item::Spacer, rowspan } if changes => (Item::Spacer, rowspan + run, end + 1),
            _ if changes => (Item::Spacer, run, end),
            Slot::Box { item, rowspan } => (item, rowspan + run, end + 1),
            Slot::Covered | Slot::Empty => continue,
        };
        column[top] = Slot::Box { item, rowspan };
        column[top + 1..=covered_to].fill(Slot::Covered);
    }
}

/// A builder is failing (for `failures_only`, §2.4) when it is offline, its last finished
/// build did not succeed, or a step of a running build failed.
pub fn is_failing(offline: bool, builds: &[Build]) -> bool {
    use crate::domain::result::BuildResult;
    let last_finished = builds.iter().find(|b| b.is_finished());
    let running_failed = builds
        .iter()
        .filter(|b| !b.is_finished())
        .any(|b| b.steps.iter().any(|s| s.result == Some(BuildResult::Failure)));
    offline || last_finished.is_some_and(|b| b.result != Some(BuildResult::Success)) || running_failed
}

#[cfg(test)]
mod tests;
