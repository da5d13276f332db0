//! What the web status asks a master to do, and how its forms become those requests
//! (spec-web-auth §9.5–9.7): the force form's fields read into one buildset request (a reason,
//! the owner, a source stamp per codebase, properties checked against the master's default
//! validation), a rebuild's request made from the build it repeats, and the reasons a stop
//! carries. Pure: the handlers read the form and the master carries the request out.

use crate::domain::model::{Build, Properties, Property, SourceStamp};

/// The source every property set by the force form carries (the build page sets them apart).
pub const FORCE_FORM: &str = "Force Build Form";
/// The reason of a force form left blank.
pub const DEFAULT_REASON: &str = "force build";
/// What a reason says when the form gave none.
pub const NO_REASON: &str = "<no reason specified>";
/// The owner of a build forced by someone who is not logged in and gave no name.
pub const UNKNOWN_OWNER: &str = "<unknown>";
/// Property pairs the force form offers.
pub const PROPERTY_FIELDS: usize = 4;

/// A scheduler that builds on demand, as the master describes it: its forms on the builder
/// and builders pages are made from this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForceScheduler {
    pub name: String,
    /// The form's heading (the name when empty).
    pub label: String,
    /// The submit button's label.
    pub button_name: String,
    /// The builders it may build.
    pub builders: Vec<String>,
    /// Its codebases; the one unnamed codebase `""` when it names none.
    pub codebases: Vec<String>,
}

impl ForceScheduler {
    /// A scheduler named `name` over `builders`, with the seed's button and one codebase.
    pub fn new(name: &str, builders: Vec<String>) -> Self {
        Self {
            name: name.to_owned(),
            label: String::new(),
            button_name: "Force Build".to_owned(),
            builders,
            codebases: vec![String::new()],
        }
    }

    /// The form field of `field` (`branch`, `revision`, …) for `codebase`: `CB_branch` for a
    /// named one (spec §5.4.1, a child's full name is its parent's, `_`, its own).
    pub fn field(codebase: &str, field: &str) -> String {
        if codebase.is_empty() { field.to_owned() } else { format!("{codebase}_{field}") }
    }

    pub fn heading(&self) -> &str {
        if self.label.is_empty() { &self.name } else { &self.label }
    }
}

/// One buildset to submit: a request on each builder, from the same source stamps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForceRequest {
    /// The force scheduler it goes through (empty: the master's choice, as for a rebuild).
    pub scheduler: String,
    pub builders: Vec<String>,
    /// Who asked: `FULLNAME <EMAIL>` of a logged-in user, else the name they typed.
    pub owner: String,
    pub reason: String,
    /// One per codebase; an empty branch or revision is `None` ("the latest").
    pub sourcestamps: Vec<SourceStamp>,
    /// The form's properties (and `owner`, `reason`), each with source [`FORCE_FORM`].
    pub properties: Properties,
}

impl ForceRequest {
    /// The buildset's reason, as a force scheduler words it.
    pub fn buildset_reason(&self) -> String {
        format!("A build was forced by '{}': {}", self.owner, self.reason)
    }
}

/// What a master did with a [`ForceRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forced {
    pub buildset: Option<u64>,
    /// The new build requests, one per builder.
    pub requests: Vec<u64>,
}

/// Whether a property name or value passes the master's default validation (`^[\w.\-/~:]*$`).
pub fn valid_property(text: &str) -> bool {
    text.chars().all(|c| c.is_alphanumeric() || "_.-/~:".contains(c))
}

/// Reads a submitted force form (its fields by name: `values(name)` gives every value) for
/// `builders` through `scheduler`, owned by `owner`. The error is the message shown to the
/// user; nothing is submitted then.
pub fn read_force_form<'a>(
    scheduler: &ForceScheduler,
    builders: Vec<String>,
    owner: &str,
    values: impl Fn(&str) -> Vec<&'a str>,
) -> Result<ForceRequest, String> {
    let first = |name: &str| values(name).into_iter().next().unwrap_or_default().trim().to_owned();
    let reason = values("reason").into_iter().map(str::trim).find(|r| !r.is_empty()).unwrap_or(DEFAULT_REASON);
    let given = |text: String| (!text.is_empty()).then_some(text);
    let sourcestamps = (scheduler.codebases.iter())
        .map(|codebase| {
            let field = |name: &str| first(&ForceScheduler::field(codebase, name));
            SourceStamp {
                codebase: codebase.clone(),
                branch: given(field("branch")),
                revision: given(field("revision")),
                repository: field("repository"),
                project: field("project"),
                ..SourceStamp::default()
            }
        })
        .collect();
    let mut properties = Properties::new();
    for i in 1..=PROPERTY_FIELDS {
        let (name, value) = (first(&format!("property{i}_name")), first(&format!("property{i}_value")));
        if name.is_empty() {
            continue;
        }
        if !valid_property(&name) || !valid_property(&value) {
            return Err(format!("bad property name='{name}', value='{value}'"));
        }
        properties.insert(name, form_property(&value));
    }
    properties.insert("reason".to_owned(), form_property(reason));
    properties.insert("owner".to_owned(), form_property(owner));
    Ok(ForceRequest {
        scheduler: scheduler.name.clone(),
        builders,
        owner: owner.to_owned(),
        reason: reason.to_owned(),
        sourcestamps,
        properties,
    })
}

fn form_property(value: &str) -> Property {
    Property { value: serde_json::Value::String(value.to_owned()), source: FORCE_FORM.to_owned() }
}

/// Which source stamps a rebuild uses (the rebuild form's `useSourcestamp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamps {
    /// The revisions the build actually built (`got_revision`): the default.
    Exact,
    /// The build's stamps as they were requested (a branch's "latest" stays the latest).
    Updated,
}

impl Stamps {
    pub fn named(value: Option<&str>) -> Self {
        if value == Some("updated") { Stamps::Updated } else { Stamps::Exact }
    }
}

/// The request that runs `build` again, as `owner` asked with `comments` and the extra
/// properties `extra` (name, value) of the rebuild form (spec §9.7).
pub fn rebuild_request(
    build: &Build,
    owner: &str,
    comments: Option<&str>,
    stamps: Stamps,
    extra: &[(String, String)],
) -> Result<ForceRequest, String> {
    if !build.is_finished() {
        return Err("could not rebuild: build still not finished".to_owned());
    }
    let mut properties: Properties =
        build.properties.iter().filter(|(_, p)| p.source == FORCE_FORM).map(|(k, p)| (k.clone(), p.clone())).collect();
    for (name, value) in extra {
        if !valid_property(name) || !valid_property(value) {
            return Err(format!("could not rebuild: bad property name='{name}', value='{value}'"));
        }
        properties.insert(name.clone(), form_property(value));
    }
    let sourcestamps = (build.sourcestamps.iter())
        .map(|stamp| match stamps {
            Stamps::Updated => stamp.clone(),
            Stamps::Exact => SourceStamp {
                revision: build.got_revision(&stamp.codebase).or(stamp.revision.clone()),
                ..stamp.clone()
            },
        })
        .collect();
    let reason = format!("The web-page 'rebuild' button was pressed by '{owner}': {}", comments.unwrap_or(NO_REASON));
    Ok(ForceRequest {
        scheduler: String::new(),
        builders: vec![build.builder.clone()],
        owner: owner.to_owned(),
        reason,
        sourcestamps,
        properties,
    })
}

/// The rebuild form's extra properties: `property1name`/`property1value`, … up to the first
/// empty name.
pub fn rebuild_properties<'a>(first: impl Fn(&str) -> Option<&'a str>) -> Vec<(String, String)> {
    (1..)
        .map_while(|i| {
            let name = first(&format!("property{i}name")).map(str::trim).filter(|n| !n.is_empty())?;
            Some((name.to_owned(), first(&format!("property{i}value")).unwrap_or_default().trim().to_owned()))
        })
        .collect()
}

/// The reason a build stopped from the web carries.
pub fn stop_reason(owner: &str, comments: Option<&str>) -> String {
    let comments = comments.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(NO_REASON);
    format!("The web-page 'stop build' button was pressed by '{owner}': {comments}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Timestamp;

    fn form<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> {
        move |name| pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v).collect()
    }

    fn scheduler() -> ForceScheduler {
        ForceScheduler::new("force", vec!["linux".into(), "macos".into()])
    }

    #[test]
    fn a_force_form_becomes_one_request_with_its_stamp_and_properties() {
        let fields = [
            ("reason", "  "),
            ("reason", "release check"),
            ("branch", "main"),
            ("revision", ""),
            ("repository", "https://git.example.org/w.git"),
            ("property1_name", "tag"),
            ("property1_value", "v1.2"),
            ("property2_name", ""),
            ("property2_value", "ignored"),
        ];
        let request = read_force_form(&scheduler(), vec!["linux".into()], "Ann <ann@x>", form(&fields)).expect("valid");
        assert_eq!(request.reason, "release check", "the first reason that is not blank");
        assert_eq!(request.buildset_reason(), "A build was forced by 'Ann <ann@x>': release check");
        let stamp = &request.sourcestamps[0];
        assert_eq!((stamp.branch.as_deref(), stamp.revision.as_deref()), (Some("main"), None));
        assert_eq!(stamp.repository, "https://git.example.org/w.git");
        let props: Vec<(&str, &str)> =
            request.properties.iter().map(|(k, p)| (k.as_str(), p.value.as_str().unwrap_or("?"))).collect();
        assert_eq!(props, [("owner", "Ann <ann@x>"), ("reason", "release check"), ("tag", "v1.2")]);
        assert!(request.properties.values().all(|p| p.source == FORCE_FORM));
        let blank = read_force_form(&scheduler(), vec!["linux".into()], "x", form(&[])).expect("valid");
        assert_eq!(blank.reason, DEFAULT_REASON);
    }

    #[test]
    fn named_codebases_read_prefixed_fields() {
        let mut s = scheduler();
        s.codebases = vec!["app".into(), "lib".into()];
        let fields = [("app_branch", "main"), ("lib_revision", "abc123"), ("branch", "ignored")];
        let request = read_force_form(&s, vec![], "x", form(&fields)).expect("valid");
        let got: Vec<(&str, Option<&str>, Option<&str>)> = (request.sourcestamps.iter())
            .map(|s| (s.codebase.as_str(), s.branch.as_deref(), s.revision.as_deref()))
            .collect();
        assert_eq!(got, [("app", Some("main"), None), ("lib", None, Some("abc123"))]);
    }

    #[test]
    fn a_property_the_master_would_refuse_is_named() {
        for (name, value) in [("bad name", "x"), ("ok", "rm -rf /; echo")] {
            let fields = [("property3_name", name), ("property3_value", value)];
            let e = read_force_form(&scheduler(), vec![], "x", form(&fields)).expect_err("refused");
            assert_eq!(e, format!("bad property name='{name}', value='{value}'"));
        }
        assert!(valid_property("a.b-c/d~e:f_g9") && valid_property("ünïcode") && valid_property(""));
    }

    fn finished_build() -> Build {
        let t: Timestamp = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time");
        let mut properties = Properties::new();
        properties.insert("got_revision".into(), Property { value: "abc999".into(), source: "Git".into() });
        properties.insert("tag".into(), Property { value: "v1".into(), source: FORCE_FORM.into() });
        Build {
            builder: "linux".into(),
            number: 4,
            properties,
            sourcestamps: vec![SourceStamp { branch: Some("main".into()), ..SourceStamp::default() }],
            worker: "w1".into(),
            started: t,
            finished: Some(t),
            ..Build::default()
        }
    }

    #[test]
    fn a_rebuild_repeats_the_exact_revision_or_the_stamp() {
        let build = finished_build();
        let exact = rebuild_request(&build, "Ann", Some("flaky"), Stamps::Exact, &[]).expect("finished");
        assert_eq!(exact.sourcestamps[0].revision.as_deref(), Some("abc999"));
        assert_eq!(exact.reason, "The web-page 'rebuild' button was pressed by 'Ann': flaky");
        assert_eq!(exact.builders, ["linux"]);
        assert!(exact.properties.contains_key("tag") && !exact.properties.contains_key("got_revision"));
        let updated = rebuild_request(&build, "Ann", None, Stamps::Updated, &[]).expect("finished");
        assert_eq!(updated.sourcestamps[0].revision, None);
        assert!(updated.reason.ends_with(": <no reason specified>"));
        let extra = [("n".to_owned(), "bad value".to_owned())];
        assert_eq!(
            rebuild_request(&build, "Ann", None, Stamps::Exact, &extra).expect_err("bad"),
            "could not rebuild: bad property name='n', value='bad value'"
        );
        let running = Build { finished: None, ..build };
        assert_eq!(
            rebuild_request(&running, "Ann", None, Stamps::Exact, &[]).expect_err("running"),
            "could not rebuild: build still not finished"
        );
        assert_eq!(Stamps::named(Some("updated")), Stamps::Updated);
        assert_eq!(Stamps::named(Some("anything")), Stamps::Exact);
    }

    #[test]
    fn rebuild_properties_stop_at_the_first_empty_name() {
        let fields = [("property1name", "a"), ("property1value", "1"), ("property2name", " "), ("property3name", "c")];
        let first = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        assert_eq!(rebuild_properties(first), [("a".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn a_stop_says_who_and_why() {
        assert_eq!(
            stop_reason("Ann", Some(" flaky ")),
            "The web-page 'stop build' button was pressed by 'Ann': flaky\n"
        );
        assert!(stop_reason("Ann", None).ends_with(": <no reason specified>\n"));
    }
}
