//! The status events a master reports, one variant per callback of Buildbot's status
//! interface (spec-notify-1-events §1.3). Every status target consumes these, in the order the
//! hub numbered them.

use serde::{Deserialize, Serialize};

use super::model::{
    Build, BuildRequest, Builder, BuilderState, Buildset, Change, LogKind, Properties, Step, TestResult, Timestamp,
    User, Worker,
};
use super::result::BuildResult;

/// Which stream a log chunk belongs to. The numbers are Buildbot's channel numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Stdout,
    Stderr,
    Header,
}

impl Channel {
    pub fn code(self) -> u8 {
        match self {
            Self::Stdout => 0,
            Self::Stderr => 1,
            Self::Header => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Stdout),
            1 => Some(Self::Stderr),
            2 => Some(Self::Header),
            _ => None,
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
            Self::Header => "header",
        }
    }
}

/// Something that happened on the master.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StatusEvent {
    BuilderAdded {
        builder: Builder,
    },
    BuilderRemoved {
        name: String,
    },
    BuilderStateChanged {
        name: String,
        state: BuilderState,
    },
    BuildRequestSubmitted {
        request: BuildRequest,
    },
    BuildRequestCancelled {
        builder: String,
        request_id: u64,
    },
    BuildsetSubmitted {
        buildset: Buildset,
    },
    BuildsetFinished {
        id: u64,
        result: BuildResult,
        at: Timestamp,
    },
    /// A build began. `requests` are the build requests it claimed (they stop being pending).
    BuildStarted {
        build: Build,
        #[serde(default)]
        requests: Vec<u64>,
    },
    /// A build finished. `properties` are its final ones (those set late, such as
    /// `got_revision`, may come only now): merged into those it has, a name given replacing
    /// the value it had. Senders from before it existed send none.
    BuildFinished {
        builder: String,
        number: u32,
        result: BuildResult,
        #[serde(default)]
        text: Vec<String>,
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Properties::is_empty")]
        properties: Properties,
    },
    /// Properties set while a build runs (a checkout's `got_revision`, a step's
    /// `event.change.id`, …): merged into the running build's, a name given replacing the
    /// value it had.
    BuildPropertiesChanged {
        builder: String,
        number: u32,
        properties: Properties,
    },
    /// Test results of a running build (0.8's `addTestResult`): a test already reported under
    /// the same name is replaced.
    TestResultsAdded {
        builder: String,
        number: u32,
        tests: Vec<TestResult>,
    },
    StepStarted {
        builder: String,
        number: u32,
        step: Step,
    },
    StepFinished {
        builder: String,
        number: u32,
        step: u32,
        result: BuildResult,
        #[serde(default)]
        text: Vec<String>,
        #[serde(default)]
        text2: Vec<String>,
        at: Timestamp,
    },
    /// A step's text, text2 or both replaced while its build runs (0.8's `stepTextChanged`
    /// and `stepText2Changed`); one left out is kept. At least one must be given.
    StepTextChanged {
        builder: String,
        number: u32,
        step: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text2: Option<Vec<String>>,
    },
    /// A link added to a step of a running build (0.8's `addURL`): one of the same name is
    /// replaced, the others keep their order.
    StepUrlAdded {
        builder: String,
        number: u32,
        step: u32,
        name: String,
        url: String,
    },
    LogStarted {
        builder: String,
        number: u32,
        step: u32,
        log: String,
        #[serde(default)]
        kind: LogKind,
    },
    LogChunk {
        builder: String,
        number: u32,
        step: u32,
        log: String,
        channel: Channel,
        text: String,
    },
    LogFinished {
        builder: String,
        number: u32,
        step: u32,
        log: String,
    },
    ChangeAdded {
        change: Change,
    },
    /// A worker the master is configured with, described (admin, host, version, paused);
    /// whether it is connected is left as it was (a new one is not connected).
    WorkerAdded {
        worker: Worker,
    },
    WorkerConnected {
        worker: Worker,
        at: Timestamp,
    },
    WorkerDisconnected {
        name: String,
        at: Timestamp,
    },
    WorkerPaused {
        name: String,
    },
    WorkerUnpaused {
        name: String,
    },
    UserChanged {
        user: User,
    },
    MasterStarted {
        at: Timestamp,
    },
    MasterStopping {
        at: Timestamp,
    },
    Reconfigured {
        at: Timestamp,
    },
}

/// The kinds of event that are about the system rather than a build: what the waterfall
/// shows as builder events. Stores index the journal by these names.
pub const ACTIVITY_KINDS: [&str; 7] = [
    "worker_connected",
    "worker_disconnected",
    "worker_paused",
    "worker_unpaused",
    "master_started",
    "master_stopping",
    "reconfigured",
];

impl StatusEvent {
    /// Whether this is one of the [`ACTIVITY_KINDS`].
    pub fn is_activity(&self) -> bool {
        ACTIVITY_KINDS.contains(&self.kind())
    }

    /// The event's name, as used in logs and on the SSE stream.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BuilderAdded { .. } => "builder_added",
            Self::BuilderRemoved { .. } => "builder_removed",
            Self::BuilderStateChanged { .. } => "builder_state_changed",
            Self::BuildRequestSubmitted { .. } => "build_request_submitted",
            Self::BuildRequestCancelled { .. } => "build_request_cancelled",
            Self::BuildsetSubmitted { .. } => "buildset_submitted",
            Self::BuildsetFinished { .. } => "buildset_finished",
            Self::BuildStarted { .. } => "build_started",
            Self::BuildFinished { .. } => "build_finished",
            Self::BuildPropertiesChanged { .. } => "build_properties_changed",
            Self::TestResultsAdded { .. } => "test_results_added",
            Self::StepStarted { .. } => "step_started",
            Self::StepFinished { .. } => "step_finished",
            Self::StepTextChanged { .. } => "step_text_changed",
            Self::StepUrlAdded { .. } => "step_url_added",
            Self::LogStarted { .. } => "log_started",
            Self::LogChunk { .. } => "log_chunk",
            Self::LogFinished { .. } => "log_finished",
            Self::ChangeAdded { .. } => "change_added",
            Self::WorkerAdded { .. } => "worker_added",
            Self::WorkerConnected { .. } => "worker_connected",
            Self::WorkerDisconnected { .. } => "worker_disconnected",
            Self::WorkerPaused { .. } => "worker_paused",
            Self::WorkerUnpaused { .. } => "worker_unpaused",
            Self::UserChanged { .. } => "user_changed",
            Self::MasterStarted { .. } => "master_started",
            Self::MasterStopping { .. } => "master_stopping",
            Self::Reconfigured { .. } => "reconfigured",
        }
    }
}

/// An event with the sequence number the hub gave it. Numbers start at 1 and never repeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequencedEvent {
    pub seq: u64,
    pub event: StatusEvent,
}
