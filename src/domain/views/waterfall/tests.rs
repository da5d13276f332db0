use proptest::prelude::*;

use super::*;
use crate::domain::model::{Build, Builder, Change, Step};
use crate::domain::result::BuildResult;

fn at(secs: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap_or_default()
}

/// A build starting at `start` with steps of the given lengths (seconds); running when
/// `finished` is false (its last step then runs too).
fn build(builder: &str, number: u32, start: i64, steps: &[i64], finished: bool) -> Build {
    let mut t = start;
    let mut list = Vec::new();
    for (i, len) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let running = last && !finished;
        list.push(Step {
            number: i as u32,
            name: format!("s{i}"),
            started: Some(at(t)),
            finished: (!running).then(|| at(t + len)),
            result: (!running).then_some(BuildResult::Success),
            ..Step::default()
        });
        t += len;
    }
    Build {
        builder: builder.into(),
        number,
        reason: String::new(),
        properties: Default::default(),
        sourcestamps: vec![],
        blamelist: vec![],
        worker: "w".into(),
        started: at(start),
        finished: finished.then(|| at(t)),
        result: finished.then_some(BuildResult::Success),
        text: vec![],
        steps: list,
        eta: None,
        tests: Vec::new(),
        buildsets: Vec::new(),
    }
}

fn options(now: i64) -> WaterfallOptions {
    WaterfallOptions {
        now: at(now),
        last_time: None,
        lower_bound: None,
        num_events: 200,
        show_events: true,
        nobubble: false,
    }
}

fn boxes<'a>(w: &Waterfall<'a>, column: usize) -> Vec<(usize, Item<'a>, usize)> {
    w.rows
        .iter()
        .enumerate()
        .filter_map(|(r, row)| match row[column] {
            Slot::Box { item, rowspan } => Some((r, item, rowspan)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_step_box_stretches_up_to_the_next_item_and_a_gap_gets_a_spacer() {
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    // Build 1 runs 0..30 s (steps of 10 and 20 s), build 2 starts at 100 s and runs.
    let builds = vec![build("linux", 2, 100, &[5, 50], false), build("linux", 1, 0, &[10, 20], true)];
    let builds: Vec<std::sync::Arc<Build>> = builds.into_iter().map(std::sync::Arc::new).collect();
    let columns = [WaterfallColumn { builder: &linux, builds: &builds, complete: true, events: &[] }];
    let w = waterfall(&[], &columns, &options(130));
    let items: Vec<String> = boxes(&w, 2)
        .iter()
        .map(|(_, item, _)| match item {
            Item::Step(b, s) => format!("#{} {}", b.number, s.name),
            Item::BuildStart(b) => format!("Build {}", b.number),
            Item::Spacer => "spacer".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(items, ["#2 s1", "#2 s0", "Build 2", "spacer", "#1 s1", "#1 s0", "Build 1"]);
    let rows = w.rows.len();
    let covered: usize = boxes(&w, 2).iter().map(|(_, _, span)| span).sum();
    assert_eq!(covered, rows, "the column's boxes cover every row once");
}

#[test]
fn events_show_only_when_asked() {
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let events = [BuilderEvent { at: at(50), text: vec!["connect".into(), "w1".into()] }];
    let builds = vec![build("linux", 1, 0, &[10], true)];
    let builds: Vec<std::sync::Arc<Build>> = builds.into_iter().map(std::sync::Arc::new).collect();
    let column = |events| [WaterfallColumn { builder: &linux, builds: &builds, complete: true, events }];
    let shown = waterfall(&[], &column(&events), &options(60));
    assert!(boxes(&shown, 2).iter().any(|(_, i, _)| matches!(i, Item::Event(_))));
    let hidden = waterfall(&[], &column(&events), &WaterfallOptions { show_events: false, ..options(60) });
    assert!(!boxes(&hidden, 2).iter().any(|(_, i, _)| matches!(i, Item::Event(_))));
}

#[test]
fn a_column_that_runs_out_of_read_builds_asks_for_more() {
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let builds = vec![build("linux", 9, 1000, &[10], true)];
    let builds: Vec<std::sync::Arc<Build>> = builds.into_iter().map(std::sync::Arc::new).collect();
    let change = Change { number: 1, who: "ann".into(), when: at(0), ..Change::default() };
    let changes = [change];
    let partial = [WaterfallColumn { builder: &linux, builds: &builds, complete: false, events: &[] }];
    assert_eq!(waterfall(&changes, &partial, &options(2000)).needs_more, [0]);
    let whole = [WaterfallColumn { builder: &linux, builds: &builds, complete: true, events: &[] }];
    assert!(waterfall(&changes, &whole, &options(2000)).needs_more.is_empty());
    // An old event (a worker that connected long ago) does not hide the builds not read yet.
    let old = [BuilderEvent { at: at(-100_000), text: vec!["connect".into(), "w1".into()] }];
    let partial = [WaterfallColumn { builder: &linux, builds: &builds, complete: false, events: &old }];
    let w = waterfall(&changes, &partial, &options(2000));
    assert_eq!(w.needs_more, [0]);
    assert!(!boxes(&w, 2).iter().any(|(_, i, _)| matches!(i, Item::Event(_))), "held back until the builds are in");
    let whole = [WaterfallColumn { builder: &linux, builds: &builds, complete: true, events: &old }];
    let w = waterfall(&changes, &whole, &options(2000));
    assert!(w.needs_more.is_empty());
    assert!(boxes(&w, 2).iter().any(|(_, i, _)| matches!(i, Item::Event(_))), "shown once they are");
}

#[test]
fn failing_builders_are_offline_or_unsuccessful_or_failing_now() {
    let mut failed = build("b", 1, 0, &[5], true);
    failed.result = Some(BuildResult::Warnings);
    let ok = build("b", 1, 0, &[5], true);
    let mut running = build("b", 2, 10, &[5, 5], false);
    assert!(is_failing(true, &[]));
    assert!(!is_failing(false, &[]));
    assert!(is_failing(false, std::slice::from_ref(&failed)));
    assert!(!is_failing(false, &[running.clone(), ok.clone()]));
    running.steps[0].result = Some(BuildResult::Failure);
    assert!(is_failing(false, &[running, ok]));
}

/// Builds of one builder, newest first: (gap before, step lengths, finished).
fn history() -> impl Strategy<Value = Vec<(i64, Vec<i64>, bool)>> {
    prop::collection::vec((0i64..400, prop::collection::vec(1i64..120, 1..5), any::<bool>()), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_build_once_in_time_order_and_no_box_overlaps(
        histories in prop::collection::vec(history(), 1..4),
        num_events in 1usize..60,
        nobubble in any::<bool>(),
    ) {
        let names: Vec<Builder> =
            (0..histories.len()).map(|i| Builder { name: format!("b{i}"), ..Builder::default() }).collect();
        let mut all: Vec<Vec<std::sync::Arc<Build>>> = Vec::new();
        let mut now = 0;
        for (i, history) in histories.iter().enumerate() {
            let mut t = 0;
            let mut builds = Vec::new();
            for (n, (gap, steps, finished)) in history.iter().enumerate() {
                t += gap;
                // Only the newest build may still run.
                let finished = *finished || n + 1 < history.len();
                let b = build(&names[i].name, n as u32, t, steps, finished);
                t += steps.iter().sum::<i64>();
                builds.push(b);
            }
            now = now.max(t + 5);
            builds.reverse();
            all.push(builds.into_iter().map(std::sync::Arc::new).collect());
        }
        let columns: Vec<WaterfallColumn> = all
            .iter()
            .zip(&names)
            .map(|(builds, builder)| WaterfallColumn { builder, builds, complete: true, events: &[] })
            .collect();
        let opts = WaterfallOptions { num_events, nobubble, ..options(now) };
        let w = waterfall(&[], &columns, &opts);
        prop_assert!(w.needs_more.is_empty());
        for (i, builds) in all.iter().enumerate() {
            let column = i + 2;
            let shown = boxes(&w, column);
            // No overlap: every row is covered by exactly one box or one empty slot.
            let mut cover = vec![0usize; w.rows.len()];
            for (r, _, span) in &shown {
                for c in cover.iter_mut().skip(*r).take(*span) { *c += 1; }
            }
            for (r, row) in w.rows.iter().enumerate() {
                let expected = usize::from(row[column] != Slot::Empty);
                prop_assert_eq!(cover[r], expected, "row {} of column {}", r, column);
            }
            // Time order: boxes further down started no later than those above.
            let starts: Vec<Timestamp> = shown.iter().filter_map(|(_, item, _)| match item {
                Item::Step(_, s) => s.started,
                Item::BuildStart(b) => Some(b.started),
                _ => None,
            }).collect();
            prop_assert!(starts.windows(2).all(|p| p[0] >= p[1]), "column {} out of order", column);
            // Every build that started within the shown rows appears exactly once; the bottom
            // slot may add the next older one.
            let oldest = w.oldest.unwrap_or(opts.now);
            for b in builds {
                let count = shown.iter().filter(|(_, item, _)| matches!(item, Item::BuildStart(x) if x.number == b.number)).count();
                prop_assert!(count <= 1, "build {} shown {} times", b.number, count);
                if b.started >= oldest {
                    prop_assert_eq!(count, 1, "build {} of column {} missing", b.number, column);
                }
            }
        }
    }
}

#[test]
fn builds_at_the_ends_of_the_calendar_are_laid_out_without_overflow() {
    let linux = Builder { name: "linux".into(), ..Builder::default() };
    let mut first = build("linux", 0, 0, &[1], true);
    first.started = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    first.steps[0].started = Some(first.started);
    let mut last = build("linux", 1, 0, &[1], true);
    last.started = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    last.finished = Some(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    last.steps[0].started = last.finished;
    last.steps[0].finished = last.finished;
    let builds = vec![std::sync::Arc::new(last), std::sync::Arc::new(first)];
    let columns = [WaterfallColumn { builder: &linux, builds: &builds, complete: true, events: &[] }];
    let w = waterfall(&[], &columns, &options(0));
    assert!(boxes(&w, 2).iter().any(|(_, item, _)| matches!(item, Item::BuildStart(b) if b.number == 1)));
}
