//! The simulated project of the demo: its builders, workers, authors and steps, and how a
//! build of it goes. Deterministic for a seed; times are given, never read.

use chrono::Duration;

use crate::domain::event::Channel;
use crate::domain::model::{Builder, Change, Properties, Property, SourceStamp, Timestamp, Worker};
use crate::domain::result::BuildResult;

/// A small, fast, seedable random source (splitmix64); the demo needs no more.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    pub fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize])).collect()
    }
}

pub const REPOSITORY: &str = "https://git.example.org/widget.git";
pub const BRANCHES: [&str; 2] = ["main", "release-1.x"];
pub const OFFLINE_WORKER: &str = "win-w2";

const AUTHORS: [&str; 6] = [
    "Ann Lee <ann@example.org>",
    "Bob Martin <bob@example.org>",
    "Chidi Okafor <chidi@example.org>",
    "Dana Weiss <dana@example.org>",
    "Eitan Cohen <eitan@example.org>",
    "Fatima Zahra <fatima@example.org>",
];
const SUBJECTS: [&str; 8] = [
    "Fix off-by-one in the tokenizer",
    "Add retries to the upload client",
    "Speed up the widget cache",
    "Refactor config loading",
    "Update translations",
    "Handle empty input in the parser",
    "Bump dependencies",
    "Document the plugin API",
];
const FILES: [&str; 8] = [
    "src/tokenizer.c",
    "src/cache.c",
    "src/upload/client.c",
    "src/config.c",
    "po/de.po",
    "src/parser.c",
    "docs/plugins.rst",
    "tests/test_parser.c",
];

/// (builder, category, workers).
const BUILDERS: [(&str, &str, &[&str]); 12] = [
    ("linux-gcc", "linux", &["linux-w1", "linux-w2"]),
    ("linux-clang", "linux", &["linux-w1", "linux-w2"]),
    ("linux-asan", "linux", &["linux-w2"]),
    ("linux-arm64", "linux", &["linux-w1"]),
    ("macos-x86_64", "macos", &["mac-w1", "mac-w2"]),
    ("macos-arm64", "macos", &["mac-w2"]),
    ("macos-universal", "macos", &["mac-w1"]),
    ("macos-docs", "macos", &["mac-w1", "mac-w2"]),
    ("windows-msvc", "windows", &["win-w1"]),
    ("windows-mingw", "windows", &["win-w1"]),
    ("windows-arm64", "windows", &[OFFLINE_WORKER]),
    ("windows-installer", "windows", &["win-w1", OFFLINE_WORKER]),
];
const WORKERS: [(&str, &str); 6] = [
    ("linux-w1", "Debian 12 x86_64"),
    ("linux-w2", "Ubuntu 24.04 x86_64"),
    ("mac-w1", "macOS 15 x86_64"),
    ("mac-w2", "macOS 15 arm64"),
    ("win-w1", "Windows Server 2022"),
    (OFFLINE_WORKER, "Windows 11 arm64"),
];
const STEPS: [&str; 8] = ["git", "configure", "compile", "test", "lint", "docs", "package", "upload"];

pub fn builders() -> Vec<Builder> {
    BUILDERS
        .iter()
        .map(|(name, category, workers)| Builder {
            name: (*name).to_owned(),
            description: Some(format!("Builds widget on {category}")),
            tags: vec![(*category).to_owned()],
            workers: workers.iter().map(|w| (*w).to_owned()).collect(),
        })
        .collect()
}

pub fn workers() -> Vec<Worker> {
    WORKERS
        .iter()
        .map(|(name, host)| Worker {
            name: (*name).to_owned(),
            admin: Some("Build Team <builds@example.org>".to_owned()),
            host: Some((*host).to_owned()),
            version: Some("0.8.12".to_owned()),
            ..Worker::default()
        })
        .collect()
}

pub fn new_change(rng: &mut Rng, number: u64, when: Timestamp, branch: &str) -> Change {
    let files = (0..rng.range(1, 3)).map(|_| (*rng.pick(&FILES)).to_owned()).collect::<std::collections::BTreeSet<_>>();
    Change {
        number,
        who: (*rng.pick(&AUTHORS)).to_owned(),
        files: files.into_iter().collect(),
        comments: format!("{}\n\nPart of the ongoing work on {}.", rng.pick(&SUBJECTS), rng.pick(&FILES)),
        revision: Some(rng.hex(40)),
        when,
        branch: Some(branch.to_owned()),
        repository: REPOSITORY.to_owned(),
        project: "widget".to_owned(),
        ..Change::default()
    }
}

/// A step as it will happen: what it prints, how long it takes, how it ends.
#[derive(Clone, Debug)]
pub struct StepPlan {
    pub name: String,
    pub lines: Vec<(Channel, String)>,
    pub seconds: i64,
    pub result: BuildResult,
    pub text: Vec<String>,
    pub text2: Vec<String>,
}

/// A build as it will happen.
#[derive(Clone, Debug)]
pub struct BuildPlan {
    pub result: BuildResult,
    pub text: Vec<String>,
    pub steps: Vec<StepPlan>,
    pub sourcestamp: SourceStamp,
    pub properties: Properties,
    pub blamelist: Vec<String>,
    pub reason: String,
}

impl BuildPlan {
    pub fn duration(&self) -> Duration {
        Duration::seconds(self.steps.iter().map(|s| s.seconds).sum())
    }
}

fn outcome(rng: &mut Rng) -> BuildResult {
    use BuildResult::*;
    match rng.range(1, 100) {
        1..=60 => Success,
        61..=72 => Warnings,
        73..=86 => Failure,
        87..=90 => Exception,
        91..=93 => Skipped,
        94..=96 => Retry,
        _ => Cancelled,
    }
}

/// Plans a build of `builder` for `change` (None: a forced build of the branch's head).
pub fn plan_build(rng: &mut Rng, builder: &str, change: Option<&Change>, branch: &str) -> BuildPlan {
    let result = outcome(rng);
    let count = rng.range(4, 8) as usize;
    let mut names: Vec<&str> = STEPS[..count].to_vec();
    if builder.ends_with("docs") {
        names.retain(|n| *n != "compile");
    }
    let breaking = rng.range(1, names.len() as u64 - 1) as usize;
    let mut steps = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let step_result = match result {
            BuildResult::Skipped => BuildResult::Skipped,
            r if i == breaking && r != BuildResult::Success => match r {
                BuildResult::Retry | BuildResult::Cancelled => BuildResult::Exception,
                other => other,
            },
            _ => BuildResult::Success,
        };
        steps.push(plan_step(rng, name, step_result));
        let stops = !matches!(result, BuildResult::Success | BuildResult::Warnings | BuildResult::Skipped);
        if stops && i == breaking {
            break;
        }
    }
    // The build's own words; the steps that went wrong add their names (their text2).
    let text = match result {
        BuildResult::Success => vec!["build".to_owned(), "successful".to_owned()],
        BuildResult::Warnings => vec!["warnings".to_owned()],
        BuildResult::Failure => vec!["failed".to_owned()],
        BuildResult::Exception => vec!["exception".to_owned()],
        BuildResult::Skipped => vec!["skipped".to_owned()],
        BuildResult::Retry => vec!["retry".to_owned(), "lost".to_owned(), "connection".to_owned()],
        BuildResult::Cancelled => vec!["cancelled".to_owned()],
    };
    let revision = change.and_then(|c| c.revision.clone());
    let sourcestamp = SourceStamp {
        repository: REPOSITORY.to_owned(),
        project: "widget".to_owned(),
        branch: Some(branch.to_owned()),
        revision: revision.clone(),
        changes: change.map(|c| vec![c.number]).unwrap_or_default(),
        ..SourceStamp::default()
    };
    let prop =
        |v: &str, source: &str| Property { value: serde_json::Value::String(v.to_owned()), source: source.to_owned() };
    let mut properties = Properties::new();
    properties.insert("branch".to_owned(), prop(branch, "Build"));
    properties.insert("got_revision".to_owned(), prop(&revision.unwrap_or_else(|| rng.hex(40)), "Git"));
    properties.insert("scheduler".to_owned(), prop(if change.is_some() { "all" } else { "force" }, "Scheduler"));
    let reason = match change {
        Some(_) => "The SingleBranchScheduler scheduler named 'all' triggered this build".to_owned(),
        None => format!("A build was forced by '{}': nightly check", rng.pick(&AUTHORS)),
    };
    let blamelist = change.map(|c| vec![c.who.clone()]).unwrap_or_default();
    BuildPlan { result, text, steps, sourcestamp, properties, blamelist, reason }
}

fn plan_step(rng: &mut Rng, name: &str, result: BuildResult) -> StepPlan {
    let command = match name {
        "git" => "git fetch origin && git checkout --force FETCH_HEAD".to_owned(),
        "configure" => "./configure --prefix=/usr --enable-tests".to_owned(),
        "compile" => "make -j4 all".to_owned(),
        "test" => "make check".to_owned(),
        "lint" => "make lint".to_owned(),
        "docs" => "make -C docs html".to_owned(),
        "package" => "make dist".to_owned(),
        _ => "scp widget.tar.gz uploads@files.example.org:".to_owned(),
    };
    let mut lines = vec![(Channel::Header, format!("{command}\n in dir /build/widget\n"))];
    let count = rng.range(3, 30);
    for i in 0..count {
        let line = match name {
            "test" => format!("test_{}::case_{i} ... \x1b[32mok\x1b[0m\n", rng.pick(&["parser", "cache", "config"])),
            "compile" => format!("cc -O2 -Wall -c {} -o build/{i}.o\n", rng.pick(&FILES)),
            _ => format!("{name}: {} of {count} done\n", i + 1),
        };
        lines.push((Channel::Stdout, line));
    }
    match result {
        BuildResult::Warnings => {
            lines.push((Channel::Stderr, "warning: unused variable 'n' [-Wunused-variable]\n".to_owned()))
        }
        BuildResult::Failure => {
            lines.push((Channel::Stderr, format!("\x1b[1;31merror:\x1b[0m {name} failed with exit status 2\n")))
        }
        BuildResult::Exception => {
            lines.push((Channel::Stderr, "remote error: connection to the worker was lost\n".to_owned()))
        }
        _ => {}
    }
    lines.push((
        Channel::Header,
        format!("program finished with exit code {}\n", u8::from(result != BuildResult::Success)),
    ));
    let text = match (name, result) {
        ("test", BuildResult::Failure) => vec![format!("{count} tests"), "2 failed".to_owned()],
        ("test", _) => vec![format!("{count} tests"), "passed".to_owned()],
        ("compile", _) => vec![format!("{count} files")],
        (_, BuildResult::Success) => vec!["done".to_owned()],
        (_, r) => vec![r.name().to_owned()],
    };
    let text2 = if result == BuildResult::Success || result == BuildResult::Skipped {
        Vec::new()
    } else {
        vec![name.to_owned()]
    };
    StepPlan { name: name.to_owned(), lines, seconds: rng.range(10, 150) as i64, result, text, text2 }
}
