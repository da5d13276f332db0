//! `buildstatus send`: posts events to a server's `/api/v1/events` from a shell, for CI
//! scripts. Shorthands build the common events (`send build started --builder B --number 7`,
//! `send step finished ... --result failure`, `send build finished --result failure`,
//! `send build properties --property got_revision=abc`, `send step text --text2 "2 failed"`,
//! `send step url --name coverage --link U`); `--property NAME=VALUE` also goes on a build's
//! start and finish. `--file` posts events written by hand (JSON, as the schema says). Each
//! shorthand event gets an id made from what it is about (`build_finished:B#7`; for what may
//! happen many times in a build, a digest of what it says: `build_properties:B#7:1f0c…`), so
//! a script that retries a send cannot record the same thing twice.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::adapters::status_client::StatusClient;
use crate::domain::result::BuildResult;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Subject {
    Build,
    Step,
    Builder,
}

/// What happened to the subject: its start, its finish, or a change while it runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    Started,
    Finished,
    Added,
    /// `build properties`: properties set while the build runs.
    Properties,
    /// `step text`: the step's text and/or text2 replaced.
    Text,
    /// `step url`: a link added to the step.
    Url,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// What the event is about (with PHASE: `build started`, `step finished`, `builder added`).
    pub subject: Option<Subject>,
    pub phase: Option<Phase>,
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:8010/")]
    pub url: String,
    /// A file holding the bearer token (else the BUILDSTATUS_TOKEN environment variable).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Post this file's events (JSON; `-` reads standard input) instead of a shorthand.
    #[arg(long, conflicts_with_all = ["subject", "phase"])]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub builder: Option<String>,
    /// The build number.
    #[arg(long)]
    pub number: Option<u32>,
    /// The step number (from 0) within the build.
    #[arg(long)]
    pub step: Option<u32>,
    /// The step's name (`step started`), or the link's (`step url`).
    #[arg(long)]
    pub name: Option<String>,
    /// The link (`step url`).
    #[arg(long)]
    pub link: Option<String>,
    /// success, warnings, failure, skipped, exception, retry or cancelled.
    #[arg(long, default_value = "success")]
    pub result: String,
    #[arg(long, default_value = "")]
    pub worker: String,
    #[arg(long, default_value = "")]
    pub reason: String,
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long)]
    pub revision: Option<String>,
    /// Text shown with the result, or a step's new text (`step text`) (repeatable).
    #[arg(long)]
    pub text: Vec<String>,
    /// A step's new text2, the summary it adds to the build's text (`step text`; repeatable).
    #[arg(long)]
    pub text2: Vec<String>,
    /// A build property, NAME=VALUE, its value a string (`build started|finished|properties`;
    /// repeatable).
    #[arg(long = "property", value_name = "NAME=VALUE")]
    pub properties: Vec<String>,
    /// The event's event_id (default: made from its builder, number and step).
    #[arg(long)]
    pub id: Option<String>,
}

/// The JSON body the arguments describe, at time `now` (RFC 3339).
pub fn body(args: &SendArgs, now: &str) -> Result<Value, String> {
    if let Some(file) = &args.file {
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read standard input: {e}"))?
        } else {
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
        };
        return serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", file.display()));
    }
    let (Some(subject), Some(phase)) = (args.subject, args.phase) else {
        return Err("say what to send (`build started`, `step finished`, …) or give --file".to_owned());
    };
    let need = |value: &Option<String>, flag: &str| value.clone().ok_or_else(|| format!("--{flag} is needed"));
    let builder = need(&args.builder, "builder")?;
    let number = || args.number.ok_or_else(|| "--number is needed".to_owned());
    let step = || args.step.ok_or_else(|| "--step is needed".to_owned());
    let result = || {
        BuildResult::ALL.into_iter().find(|r| r.name() == args.result).map(BuildResult::name).ok_or_else(|| {
            format!(
                "--result '{}' is not one of success, warnings, failure, skipped, exception, retry, cancelled",
                args.result
            )
        })
    };
    let (id, event) = match (subject, phase) {
        (Subject::Builder, Phase::Added) => {
            (format!("builder_added:{builder}"), json!({"type": "builder_added", "builder": {"name": builder}}))
        }
        (Subject::Build, Phase::Started) => {
            let n = number()?;
            let properties = properties(&args.properties)?;
            let mut sourcestamp = json!({});
            if let Some(b) = &args.branch {
                sourcestamp["branch"] = json!(b);
            }
            if let Some(r) = &args.revision {
                sourcestamp["revision"] = json!(r);
            }
            let build = json!({"builder": builder, "number": n, "started": now, "worker": args.worker,
                "reason": args.reason, "sourcestamps": [sourcestamp], "properties": properties});
            (format!("build_started:{builder}#{n}"), json!({"type": "build_started", "build": build}))
        }
        (Subject::Build, Phase::Finished) => {
            let n = number()?;
            let event = json!({"type": "build_finished", "builder": builder, "number": n, "result": result()?,
                "text": args.text, "at": now, "properties": properties(&args.properties)?});
            (format!("build_finished:{builder}#{n}"), event)
        }
        (Subject::Build, Phase::Properties) => {
            let n = number()?;
            if args.properties.is_empty() {
                return Err("--property NAME=VALUE is needed".to_owned());
            }
            let properties = properties(&args.properties)?;
            let id = format!("build_properties:{builder}#{n}:{}", digest(&properties));
            (id, json!({"type": "build_properties_changed", "builder": builder, "number": n, "properties": properties}))
        }
        (Subject::Step, Phase::Text) => {
            let (n, s) = (number()?, step()?);
            let mut event = json!({"type": "step_text_changed", "builder": builder, "number": n, "step": s});
            if args.text.is_empty() && args.text2.is_empty() {
                return Err("--text or --text2 is needed".to_owned());
            }
            if !args.text.is_empty() {
                event["text"] = json!(args.text);
            }
            if !args.text2.is_empty() {
                event["text2"] = json!(args.text2);
            }
            (format!("step_text:{builder}#{n}:{s}:{}", digest(&event)), event)
        }
        (Subject::Step, Phase::Url) => {
            let (n, s) = (number()?, step()?);
            let (name, link) = (need(&args.name, "name")?, need(&args.link, "link")?);
            let event = json!({"type": "step_url_added", "builder": builder, "number": n, "step": s, "name": name, "url": link});
            (format!("step_url:{builder}#{n}:{s}:{}", digest(&event)), event)
        }
        (Subject::Step, Phase::Started) => {
            let (n, s) = (number()?, step()?);
            let step = json!({"number": s, "name": need(&args.name, "name")?, "started": now});
            (
                format!("step_started:{builder}#{n}:{s}"),
                json!({"type": "step_started", "builder": builder, "number": n, "step": step}),
            )
        }
        (Subject::Step, Phase::Finished) => {
            let (n, s) = (number()?, step()?);
            let event = json!({"type": "step_finished", "builder": builder, "number": n, "step": s,
                "result": result()?, "text2": args.text, "at": now});
            (format!("step_finished:{builder}#{n}:{s}"), event)
        }
        (subject, phase) => {
            return Err(format!("there is no '{subject:?} {phase:?}' event: use build started|finished|properties, step started|finished|text|url, builder added").to_lowercase());
        }
    };
    let mut event = event;
    event["event_id"] = json!(args.id.clone().unwrap_or(id));
    Ok(event)
}

/// Where the properties `send` sets say they came from.
const PROPERTY_SOURCE: &str = "buildstatus send";

/// `--property NAME=VALUE` arguments as a properties object (values are strings).
fn properties(given: &[String]) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for arg in given {
        match arg.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                out.insert(name.trim().to_owned(), json!({"value": value, "source": PROPERTY_SOURCE}));
            }
            _ => return Err(format!("--property '{arg}' is not NAME=VALUE")),
        }
    }
    Ok(Value::Object(out))
}

/// A short digest of what an event says, for the ids of events a build may have many of.
fn digest(value: &Value) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(value.to_string().as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The token: from `--token-file`, else `BUILDSTATUS_TOKEN`.
pub fn token(args: &SendArgs) -> Result<String, String> {
    match &args.token_file {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            non_empty(&text)
        }
        None => env_token().map_err(|e| format!("{e} or give --token-file")),
    }
}

/// The token in `BUILDSTATUS_TOKEN`.
pub fn env_token() -> Result<String, String> {
    let text = std::env::var("BUILDSTATUS_TOKEN").map_err(|_| "no token: set BUILDSTATUS_TOKEN".to_owned())?;
    non_empty(&text)
}

fn non_empty(token: &str) -> Result<String, String> {
    let token = token.trim();
    if token.is_empty() { Err("the token is empty".to_owned()) } else { Ok(token.to_owned()) }
}

/// Posts events in `body`; the server's answer on success, else what went wrong.
pub async fn post(url: &str, token: &str, body: &Value) -> Result<String, String> {
    let client = StatusClient::new(url, token).map_err(|e| e.to_string())?;
    client.post_events(body).await.map_err(|e| e.to_string())
}
