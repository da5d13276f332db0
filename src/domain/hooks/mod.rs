//! Change hooks (`/change_hook/DIALECT`, spec-web-hooks §10): how source hosts tell us that
//! code changed. Each dialect turns one HTTP request (method, headers, query, body) into new
//! changes, or into a typed error that says what is wrong — purely, so every payload shape and
//! every signature rule is tested without a server.
//!
//! Safety rules live here too: signatures are checked before a payload is read, secrets are
//! compared in constant time ([`verify`]), and nothing a client sends can make a parser panic.

pub mod auth;
mod base;
mod bitbucket;
mod github;
mod gitlab;
mod gitorious;
mod googlecode;
pub(crate) mod json;
pub mod multipart;
mod poller;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt;

use super::model::{Change, Properties, Timestamp};
use super::web::args::Args;

pub use bitbucket::BitbucketOptions;
pub use github::GithubOptions;
pub use gitlab::GitlabOptions;
pub use googlecode::GooglecodeOptions;
pub use poller::PollerOptions;

/// A change as a hook reports it, before the hub gives it a number.
#[derive(Clone, Debug, PartialEq)]
pub struct NewChange {
    pub who: String,
    pub files: Vec<String>,
    pub comments: String,
    pub revision: Option<String>,
    pub when: Timestamp,
    pub branch: Option<String>,
    pub category: Option<String>,
    pub revlink: Option<String>,
    pub properties: Properties,
    pub repository: String,
    pub project: String,
    pub codebase: String,
}

impl NewChange {
    /// An otherwise empty change by `who` at `when`.
    pub fn new(who: impl Into<String>, when: Timestamp) -> Self {
        Self {
            who: who.into(),
            files: Vec::new(),
            comments: String::new(),
            revision: None,
            when,
            branch: None,
            category: None,
            revlink: None,
            properties: Properties::new(),
            repository: String::new(),
            project: String::new(),
            codebase: String::new(),
        }
    }

    pub fn numbered(self, number: u64) -> Change {
        Change {
            number,
            who: self.who,
            files: self.files,
            comments: self.comments,
            revision: self.revision,
            when: self.when,
            branch: self.branch,
            category: self.category,
            revlink: self.revlink,
            properties: self.properties,
            repository: self.repository,
            project: self.project,
            codebase: self.codebase,
        }
    }
}

/// An enabled dialect and its options (the `[change_hook.NAME]` table).
#[derive(Clone, Debug, PartialEq)]
pub enum Dialect {
    Base,
    Github(GithubOptions),
    Gitlab(GitlabOptions),
    Bitbucket(BitbucketOptions),
    Gitorious,
    Googlecode(GooglecodeOptions),
    Poller(PollerOptions),
}

/// Names of every dialect this server knows.
pub const DIALECTS: [&str; 7] = ["base", "github", "gitlab", "bitbucket", "gitorious", "googlecode", "poller"];

impl Dialect {
    /// Whether requests prove where they come from (a shared secret or signature), so the
    /// dialect is safe without `change_hook_auth`.
    pub fn authenticates(&self) -> bool {
        match self {
            // Without `strict`, an unsigned request is taken: it proves nothing.
            Self::Github(o) => o.secret.is_some() && o.strict,
            Self::Gitlab(o) => o.secret.is_some(),
            Self::Bitbucket(o) => o.secret.is_some(),
            Self::Googlecode(o) => o.secret_key.is_some(),
            Self::Base | Self::Gitorious | Self::Poller(_) => false,
        }
    }
}

/// What the change hooks accept.
#[derive(Clone, Debug, PartialEq)]
pub struct HookSettings {
    /// The whitelist: dialect name → options. A name not here answers 404.
    pub dialects: BTreeMap<String, Dialect>,
    /// Drop commits whose message says `[ci skip]` or `[skip ci]`.
    pub skip_ci: bool,
    /// Larger bodies answer 413.
    pub max_body: usize,
}

pub const DEFAULT_MAX_BODY: usize = 5 * 1024 * 1024;

impl Default for HookSettings {
    fn default() -> Self {
        Self { dialects: BTreeMap::new(), skip_ci: true, max_body: DEFAULT_MAX_BODY }
    }
}

/// One request to a hook, as received.
pub struct HookRequest<'a> {
    pub method: &'a str,
    /// Header names in any case.
    pub headers: &'a [(String, String)],
    /// The raw query string (without `?`).
    pub query: &'a str,
    pub body: &'a [u8],
    /// When it arrived: the time of changes that carry none.
    pub now: Timestamp,
}

impl HookRequest<'_> {
    /// The first value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type`, lower case, without parameters.
    pub fn media_type(&self) -> String {
        let value = self.header("content-type").unwrap_or("");
        value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }

    /// The query string's arguments only (`?project=`, `?codebase=`).
    pub fn query_args(&self) -> Args {
        Args::parse(self.query)
    }

    /// Query arguments, then form fields (urlencoded or multipart), in order.
    pub fn args(&self) -> Args {
        let mut pairs: Vec<(String, String)> =
            Args::parse(self.query).pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        match self.media_type().as_str() {
            "application/x-www-form-urlencoded" => {
                let form = Args::parse(&String::from_utf8_lossy(self.body));
                pairs.extend(form.pairs().map(|(k, v)| (k.to_owned(), v.to_owned())));
            }
            "multipart/form-data" => {
                let content_type = self.header("content-type").unwrap_or("");
                pairs.extend(multipart::fields(content_type, self.body));
            }
            _ => {}
        }
        Args::from_pairs(pairs)
    }
}

/// What a hook request amounts to.
#[derive(Clone, Debug, PartialEq)]
pub enum HookOutcome {
    /// New changes to record, in order (never empty).
    Changes(Vec<NewChange>),
    /// Nothing to record; the text says why (answered with 200).
    Ignored(String),
    /// Poll these change sources now.
    Poll(Vec<String>),
}

/// Why a hook request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookError {
    /// The signature or secret is missing or wrong (403).
    Forbidden(String),
    /// The request is malformed or lacks what the dialect needs (400).
    BadRequest(String),
    /// Only GET and POST are hooks (405).
    Method(String),
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Forbidden(why) | Self::BadRequest(why) => f.write_str(why),
            Self::Method(m) => write!(f, "method {m} is not allowed: use POST (or GET)"),
        }
    }
}

impl std::error::Error for HookError {}

pub(crate) fn bad(why: impl Into<String>) -> HookError {
    HookError::BadRequest(why.into())
}

pub(crate) fn forbidden(why: impl Into<String>) -> HookError {
    HookError::Forbidden(why.into())
}

/// Turns `request` into changes (or a poll) as `dialect` reads it. `pollers` names the
/// change sources a `poller` request may trigger.
pub fn parse(
    settings: &HookSettings,
    dialect: &Dialect,
    request: &HookRequest,
    pollers: &[String],
) -> Result<HookOutcome, HookError> {
    if request.method != "POST" && request.method != "GET" {
        return Err(HookError::Method(request.method.to_owned()));
    }
    let outcome = match dialect {
        Dialect::Base => base::parse(request)?,
        Dialect::Github(options) => github::parse(options, request)?,
        Dialect::Gitlab(options) => gitlab::parse(options, request)?,
        Dialect::Bitbucket(options) => bitbucket::parse(options, request)?,
        Dialect::Gitorious => gitorious::parse(request)?,
        Dialect::Googlecode(options) => googlecode::parse(options, request)?,
        Dialect::Poller(options) => return poller::parse(options, request, pollers),
    };
    Ok(if settings.skip_ci { skip_ci(outcome) } else { outcome })
}

/// Whether a commit message asks not to be built: `[ci skip]` or `[skip ci]`, any case,
/// spaces allowed inside the brackets.
pub fn says_skip_ci(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.match_indices('[').any(|(start, _)| {
        let rest = &lower[start + 1..];
        let Some(end) = rest.find(']') else { return false };
        let words: Vec<&str> = rest[..end].split_whitespace().collect();
        words == ["ci", "skip"] || words == ["skip", "ci"]
    })
}

fn skip_ci(outcome: HookOutcome) -> HookOutcome {
    let HookOutcome::Changes(changes) = outcome else { return outcome };
    let total = changes.len();
    let kept: Vec<NewChange> = changes.into_iter().filter(|c| !says_skip_ci(&c.comments)).collect();
    if kept.is_empty() {
        HookOutcome::Ignored(format!("all {total} change(s) say [ci skip]"))
    } else {
        HookOutcome::Changes(kept)
    }
}

/// `changes`, or "nothing to do" when there are none.
pub(crate) fn changes_or(changes: Vec<NewChange>, why_none: impl Into<String>) -> HookOutcome {
    if changes.is_empty() { HookOutcome::Ignored(why_none.into()) } else { HookOutcome::Changes(changes) }
}

#[cfg(test)]
mod tests;
