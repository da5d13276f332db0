//! The hub's figures for `/metrics`: its commit rounds (how many, how many submissions and
//! journaled events each carried, how long each commit took) and the journal's newest number.

use std::sync::Mutex;

use async_trait::async_trait;

use super::Hub;
use crate::domain::machine::prometheus::{Family, Histogram, Kind, Sample};
use crate::ports::MetricsSource;

const SIZES: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];
const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Debug)]
pub(super) struct RoundStats {
    submissions: Histogram,
    events: Histogram,
    commit: Histogram,
    failed: u64,
}

impl Default for RoundStats {
    fn default() -> Self {
        Self {
            submissions: Histogram::new(SIZES),
            events: Histogram::new(SIZES),
            commit: Histogram::new(SECONDS),
            failed: 0,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Stats(Mutex<RoundStats>);

impl Stats {
    /// A round committed `submissions` submissions and `events` journaled events in `seconds`.
    pub(super) fn committed(&self, submissions: usize, events: usize, seconds: f64) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.submissions.observe(submissions as f64);
        s.events.observe(events as f64);
        s.commit.observe(seconds);
    }

    pub(super) fn failed(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).failed += 1;
    }
}

#[async_trait]
impl MetricsSource for Hub {
    async fn metrics(&self) -> Vec<Family> {
        let seq = self.last_seq();
        let s = self.stats.0.lock().unwrap_or_else(|e| e.into_inner());
        let histogram = |name, help, h: &Histogram| Family {
            name,
            help,
            kind: Kind::Histogram,
            samples: vec![Sample { labels: Vec::new(), value: h.value() }],
        };
        vec![
            Family::single("buildstatus_journal_seq", "The newest journaled event's number.", Kind::Gauge, seq as f64),
            histogram(
                "buildstatus_hub_round_submissions",
                "Submissions (events, batches, hooks' changes) written by one commit round.",
                &s.submissions,
            ),
            histogram("buildstatus_hub_round_events", "Events journaled by one commit round.", &s.events),
            histogram("buildstatus_hub_commit_seconds", "Time of one round's store transaction.", &s.commit),
            Family::single(
                "buildstatus_hub_rounds_failed_total",
                "Commit rounds the store refused (their submitters were told).",
                Kind::Counter,
                s.failed as f64,
            ),
        ]
    }
}
