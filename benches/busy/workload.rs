//! The events the load tool ingests: builds that run through three steps, each step's text
//! changing as it goes, on builders of their own (`busy-NN`), so that the demo's history is
//! left as it is. Each lane owns some builders and sends its events in order; lanes are
//! independent, so their batches may be applied in any order.

use chrono::{SecondsFormat, Utc};

/// Steps per build, and text changes per step: 1 + 3 × (1 + 8 + 1) + 1 = 32 events a build.
const STEPS: u32 = 3;
const TEXTS: u32 = 8;

/// The next events of one lane.
pub struct Lane {
    builders: Vec<String>,
    numbers: Vec<u32>,
    turn: usize,
    run: String,
    next_id: u64,
    lane: usize,
    waiting: std::collections::VecDeque<String>,
}

/// The builders' names.
pub fn builder(index: usize) -> String {
    format!("busy-{index:02}")
}

/// The events that come before the load: the worker and the builders.
pub fn setup(run: &str, builders: usize) -> String {
    let now = now();
    let mut events = vec![format!(
        r#"{{"event_id":"{run}-worker","type":"worker_connected","worker":{{"name":"busy-worker"}},"at":"{now}"}}"#
    )];
    for b in 0..builders {
        let name = builder(b);
        events.push(format!(
            r#"{{"event_id":"{run}-add-{b}","type":"builder_added","builder":{{"name":"{name}","tags":["busy"]}}}}"#
        ));
    }
    format!("[{}]", events.join(","))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Lane {
    /// Lane `lane` of `lanes`, with the builders whose index it is modulo `lanes`.
    pub fn new(run: &str, lane: usize, lanes: usize, builders: usize) -> Self {
        let builders: Vec<String> = (0..builders).filter(|b| b % lanes == lane).map(builder).collect();
        let numbers = vec![0; builders.len()];
        Self { builders, numbers, turn: 0, run: run.into(), next_id: 0, lane, waiting: Default::default() }
    }

    /// A JSON array of the next `count` events.
    pub fn batch(&mut self, count: usize) -> String {
        let mut out = String::with_capacity(count * 160);
        out.push('[');
        for i in 0..count {
            if self.waiting.is_empty() {
                self.next_build();
            }
            if i > 0 {
                out.push(',');
            }
            out.push_str(&self.waiting.pop_front().unwrap_or_default());
        }
        out.push(']');
        out
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}-{}", self.run, self.lane, self.next_id)
    }

    /// Queues the events of the next builder's next build.
    fn next_build(&mut self) {
        let which = self.turn % self.builders.len();
        self.turn += 1;
        self.numbers[which] += 1;
        let (name, number) = (self.builders[which].clone(), self.numbers[which]);
        let head = format!(r#""builder":"{name}","number":{number}"#);
        let t = now();
        let id = self.id();
        self.waiting.push_back(format!(
            r#"{{"event_id":"{id}","type":"build_started","build":{{"builder":"{name}","number":{number},"started":"{t}","worker":"busy-worker"}}}}"#
        ));
        for s in 0..STEPS {
            let id = self.id();
            self.waiting.push_back(format!(
                r#"{{"event_id":"{id}","type":"step_started",{head},"step":{{"number":{s},"name":"step-{s}","started":"{t}"}}}}"#
            ));
            for k in 1..=TEXTS {
                let id = self.id();
                self.waiting.push_back(format!(
                    r#"{{"event_id":"{id}","type":"step_text_changed",{head},"step":{s},"text":["step-{s}","{k}/{TEXTS}"]}}"#
                ));
            }
            let id = self.id();
            self.waiting.push_back(format!(
                r#"{{"event_id":"{id}","type":"step_finished",{head},"step":{s},"result":"success","at":"{t}"}}"#
            ));
        }
        let id = self.id();
        self.waiting.push_back(format!(
            r#"{{"event_id":"{id}","type":"build_finished",{head},"result":"success","text":["build","successful"],"at":"{t}"}}"#
        ));
    }
}
