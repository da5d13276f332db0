//! The seed's `reviewCB`, `startCB` and `summaryCB` (spec-notify-6.4–6.6): what a target
//! posts when a build starts, when it finishes, and when a buildset finishes. Each is a
//! library closure (any of the seed's return shapes, [`Reply`]), a minijinja template from the
//! configuration file, or, for review and summary, the seed's default.
//!
//! A template gives the message, a template per label vote (rendering an integer; rendering
//! nothing leaves the label out), and optionally `when`, a condition without which nothing is
//! posted (the seed's "message None", e.g. for a build that will be retried). Templates are
//! compiled when the configuration is read and rendered strictly: a misspelt variable fails
//! that review, with the reason, on `/notifications`.
//!
//! Variables of a review or start template: `builder`, `build` (the whole build), `result`
//! (`failure`, …; none at the start), `results` (its code), `build_url`, `text` (the build's
//! text), `properties` (name → value), `arg` (`reviewArg` / `startArg`). Of a summary
//! template: `builds` (each with `name`, `result`, `resultText`, `text`, `url`, sorted by
//! name), `result` (the buildset's, lower case), `results`, `arg` (`summaryArg`).

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value as Jinja};
use serde::Serialize;
use serde_json::Value;

use super::review::{Reply, Review};
use crate::domain::model::Build;
use crate::domain::result::BuildResult;

/// What a review or start callback is given.
pub struct BuildArgs<'a> {
    pub builder: &'a str,
    pub build: &'a Build,
    /// The build's result; `None` at its start.
    pub result: Option<BuildResult>,
    pub build_url: Option<String>,
    /// `reviewArg` / `startArg`.
    pub arg: &'a Value,
}

/// One build of a finished buildset, as a summary callback sees it (6.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    pub name: String,
    /// The result's code.
    pub result: u8,
    #[serde(rename = "resultText")]
    pub result_text: String,
    /// The build's text, words joined by spaces.
    pub text: String,
    pub url: Option<String>,
}

impl BuildInfo {
    pub fn new(build: &Build, url: Option<String>) -> Self {
        let result = build.result.unwrap_or(BuildResult::Exception);
        Self {
            name: build.builder.clone(),
            result: result.code(),
            result_text: result_text(result),
            text: build.full_text().join(" "),
            url,
        }
    }
}

/// What a summary callback is given.
pub struct SummaryArgs<'a> {
    /// Sorted by builder name.
    pub builds: &'a [BuildInfo],
    /// The buildset's result.
    pub result: BuildResult,
    /// `summaryArg`.
    pub arg: &'a Value,
}

pub type BuildFn = Arc<dyn Fn(&BuildArgs) -> Reply + Send + Sync>;
pub type SummaryFn = Arc<dyn Fn(&SummaryArgs) -> Reply + Send + Sync>;

/// A review or start callback.
#[derive(Clone)]
pub enum BuildCallback {
    /// The seed's default review (6.4.2).
    Default,
    Closure(BuildFn),
    Template(Arc<ReviewTemplate>),
}

/// A summary callback.
#[derive(Clone)]
pub enum SummaryCallback {
    /// The seed's default summary (6.6).
    Default,
    Closure(SummaryFn),
    Template(Arc<ReviewTemplate>),
}

impl std::fmt::Debug for BuildCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("Default"),
            Self::Closure(_) => f.write_str("Closure"),
            Self::Template(t) => f.debug_tuple("Template").field(t).finish(),
        }
    }
}

impl std::fmt::Debug for SummaryCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Default => f.write_str("Default"),
            Self::Closure(_) => f.write_str("Closure"),
            Self::Template(t) => f.debug_tuple("Template").field(t).finish(),
        }
    }
}

impl BuildCallback {
    /// The review to post, if any; an error when a template fails.
    pub fn review(&self, args: &BuildArgs) -> Result<Option<Review>, String> {
        let reply = match self {
            Self::Default => default_review(args),
            Self::Closure(f) => f(args),
            Self::Template(t) => t.render(build_context(args))?,
        };
        Ok(reply.into_review())
    }
}

impl SummaryCallback {
    pub fn review(&self, args: &SummaryArgs) -> Result<Option<Review>, String> {
        let reply = match self {
            Self::Default => default_summary(args),
            Self::Closure(f) => f(args),
            Self::Template(t) => t.render(summary_context(args))?,
        };
        Ok(reply.into_review())
    }
}

/// The seed's default review: nothing for a build that will be retried; otherwise three
/// lines and Verified +1 for a success, −1 for anything else.
pub fn default_review(args: &BuildArgs) -> Reply {
    let Some(result) = args.result else { return Reply::Nothing };
    if result == BuildResult::Retry {
        return Reply::Nothing;
    }
    let message = format!(
        "Buildbot finished compiling your patchset\non configuration: {}\nThe result is: {}\n",
        args.builder,
        result.name().to_uppercase()
    );
    Reply::Review(Review::new(&message, &[("Verified", if result == BuildResult::Success { 1 } else { -1 })]))
}

/// The seed's default summary: a paragraph per build, Verified +1 only when every build
/// succeeded.
pub fn default_summary(args: &SummaryArgs) -> Reply {
    let paragraphs: Vec<String> = args
        .builds
        .iter()
        .map(|b| {
            let tail = b.url.as_ref().map_or(".".to_owned(), |u| format!(" - {u}"));
            format!("Builder {} {} ({}){tail}", b.name, b.result_text, b.text)
        })
        .collect();
    let success = BuildResult::Success.code();
    let verified = if !args.builds.is_empty() && args.builds.iter().all(|b| b.result == success) { 1 } else { -1 };
    Reply::Review(Review::new(&paragraphs.join("\n\n"), &[("Verified", verified)]))
}

/// The seed's words for a result in a summary.
pub fn result_text(result: BuildResult) -> String {
    match result {
        BuildResult::Success => "succeeded".to_owned(),
        BuildResult::Failure => "failed".to_owned(),
        BuildResult::Warnings => "completed with warnings".to_owned(),
        BuildResult::Exception => "encountered an exception".to_owned(),
        other => format!("completed with unknown result {}", other.code()),
    }
}

fn build_context(args: &BuildArgs) -> Jinja {
    let properties: BTreeMap<&str, &Value> =
        args.build.properties.iter().map(|(n, p)| (n.as_str(), &p.value)).collect();
    minijinja::context! {
        builder => args.builder,
        build => Serde(args.build),
        result => args.result.map(BuildResult::name),
        results => args.result.map(BuildResult::code),
        build_url => &args.build_url,
        text => args.build.full_text().join(" "),
        properties => Serde(properties),
        arg => Serde(args.arg),
    }
}

fn summary_context(args: &SummaryArgs) -> Jinja {
    minijinja::context! {
        builds => Serde(args.builds),
        result => args.result.name(),
        results => args.result.code(),
        arg => Serde(args.arg),
    }
}

/// A callback written as templates: the message, the label votes, and when to post.
pub struct ReviewTemplate {
    env: Environment<'static>,
    labels: Vec<String>,
    has_when: bool,
    /// The sources, for `Debug` (a reload restarts a target whose templates changed).
    sources: String,
}

impl std::fmt::Debug for ReviewTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReviewTemplate").field(&self.sources).finish()
    }
}

const MESSAGE: &str = "message";
const WHEN: &str = "when";

impl ReviewTemplate {
    /// Compiles the message template, `(label, template)` votes, and the `when` condition (a
    /// minijinja expression such as `result != "retry"`); the error names the part.
    pub fn new(message: &str, labels: &[(String, String)], when: Option<&str>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template_owned(MESSAGE, message.to_owned()).map_err(|e| format!("message: {e}"))?;
        for (name, source) in labels {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("labels: '{}' is not a Gerrit label name", name.escape_debug()));
            }
            env.add_template_owned(format!("label {name}"), source.clone())
                .map_err(|e| format!("labels.{name}: {e}"))?;
        }
        if let Some(condition) = when {
            env.add_template_owned(WHEN, format!("{{% if {condition} %}}1{{% endif %}}"))
                .map_err(|e| format!("when: {e}"))?;
        }
        let sources = format!("{message:?} {labels:?} {when:?}");
        Ok(Self { env, labels: labels.iter().map(|(n, _)| n.clone()).collect(), has_when: when.is_some(), sources })
    }

    fn render(&self, ctx: Jinja) -> Result<Reply, String> {
        let render = |name: &str| -> Result<String, String> {
            let template = self.env.get_template(name).map_err(|e| format!("{name}: {e}"))?;
            template.render(&ctx).map_err(|e| format!("{name}: {e}"))
        };
        if self.has_when && render(WHEN)?.trim() != "1" {
            return Ok(Reply::Nothing);
        }
        let mut labels = BTreeMap::new();
        for name in &self.labels {
            let text = render(&format!("label {name}"))?;
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let vote = text.parse::<i64>().map_err(|_| format!("labels.{name}: '{text}' is not a whole number"))?;
            labels.insert(name.clone(), vote);
        }
        Ok(Reply::Review(Review { message: Some(render(MESSAGE)?), labels }))
    }
}

#[cfg(test)]
mod tests;
