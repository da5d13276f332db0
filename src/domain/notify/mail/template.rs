//! A mail body from a minijinja (Jinja2) template, for the binary's configuration: the
//! counterpart of a `messageFormatter` closure. The template is compiled when the
//! configuration is read (a syntax error is a config error); rendering is strict, so a
//! misspelt variable fails that mail, with the reason, instead of sending a hole. An HTML
//! template escapes every value. `{% set subject = "…" %}` replaces the subject template.
//!
//! Variables: `mode` (list of words), `name` (builder), `build` (the whole build record),
//! `result` (`failure`, …), `results` (its code), `title`, `buildbot_url`, `build_url`,
//! `intro`, `summary`, `projects`, `text` (the build's text, joined), `blamelist`, `reason`,
//! `worker`, `previous` (the previous finished build's result, or none), `broken_since`,
//! `changes` (the build's changes: `who`, `comments`, `revision`, `files`, `when`, …) and `logs`
//! (each log's `step`, `name` and `text`, its last `maxLogSize` bytes).

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, context};

use super::body::{BodyKind, Formatted, FormatterArgs, build_url, intro, projects, summary};

pub struct MailTemplate {
    env: Environment<'static>,
    name: &'static str,
    kind: BodyKind,
}

impl std::fmt::Debug for MailTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTemplate").field("kind", &self.kind).finish()
    }
}

impl MailTemplate {
    /// Compiles `source`; the error says where the template is wrong.
    pub fn new(source: &str, kind: BodyKind) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // The name's extension decides escaping: values in an HTML body are escaped.
        let name = match kind {
            BodyKind::Html => "mail.html",
            BodyKind::Plain => "mail.txt",
        };
        env.add_template_owned(name, source.to_owned()).map_err(|e| format!("template: {e:#}"))?;
        Ok(Self { env, name, kind })
    }

    pub fn render(&self, args: &FormatterArgs) -> Result<Formatted, String> {
        let template = self.env.get_template(self.name).map_err(|e| format!("template: {e:#}"))?;
        let build = args.build;
        let ctx = context! {
            mode => args.mode.names(),
            name => args.name,
            build => Serde(build),
            result => args.result.name(),
            results => args.result.code(),
            title => &args.site.title,
            buildbot_url => &args.site.buildbot_url,
            build_url => build_url(args.site, build),
            intro => intro(args),
            summary => summary(args),
            projects => projects(args),
            text => build.full_text().join(" "),
            blamelist => &build.blamelist,
            reason => &build.reason,
            worker => &build.worker,
            previous => args.prev.and_then(|p| p.result).map(|r| r.name()),
            broken_since => args.broken_since,
            changes => Serde(args.changes),
            logs => args.logs.iter().map(|l| context! { step => &l.step, name => &l.name, text => &l.text }).collect::<Vec<_>>(),
        };
        let captured = template.render_captured(ctx).map_err(|e| format!("template: {e:#}"))?;
        let subject = match captured.state().lookup("subject") {
            Some(v) if !v.is_undefined() && !v.is_none() => Some(v.to_string()),
            _ => None,
        };
        Ok(Formatted { body: captured.into_output(), kind: self.kind, subject })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Build;
    use crate::domain::notify::mail::{LogText, Modes};
    use crate::domain::result::BuildResult;
    use crate::domain::web::layout::Site;

    fn render(source: &str, kind: BodyKind, reason: &str) -> Result<Formatted, String> {
        let mut build: Build = serde_json::from_value(serde_json::json!({
            "builder": "linux", "number": 7, "started": "2025-01-01T00:00:00Z", "result": "failure"
        }))
        .unwrap();
        build.reason = reason.into();
        let (mode, site) = (Modes::default(), Site::default());
        let args = FormatterArgs {
            mode: &mode,
            name: "linux",
            build: &build,
            result: BuildResult::Failure,
            site: &site,
            prev: None,
            broken_since: None,
            changes: &[],
            logs: &[],
        };
        MailTemplate::new(source, kind)?.render(&args)
    }

    #[test]
    fn a_template_sees_the_formatter_arguments_and_may_set_the_subject() {
        let out = render(
            "{% set subject = name ~ ' is ' ~ result %}{{ intro }}: #{{ build.number }} {{ result|upper }} ({{ reason }}) {{ mode|join(',') }}",
            BodyKind::Plain,
            "forced",
        )
        .unwrap();
        assert_eq!(out.body, "The Buildbot has detected a failed build: #7 FAILURE (forced) failing,passing,warnings");
        assert_eq!(out.subject.as_deref(), Some("linux is failure"));
        assert_eq!(out.kind, BodyKind::Plain);
    }

    #[test]
    fn a_template_reads_the_changes_and_the_logs_text() {
        let mut build: Build = serde_json::from_value(serde_json::json!({
            "builder": "linux", "number": 7, "started": "2025-01-01T00:00:00Z", "result": "failure"
        }))
        .unwrap();
        build.reason = "r".into();
        let change: crate::domain::model::Change = serde_json::from_value(serde_json::json!({
            "number": 3, "who": "ann", "comments": "fix it", "when": "2025-01-01T00:00:00Z", "files": ["a.c"]
        }))
        .unwrap();
        let log = LogText { step: "test".into(), name: "stdio".into(), text: "line 1\nFAIL x\n".into(), cut: 0 };
        let (mode, site) = (Modes::default(), Site::default());
        let args = FormatterArgs {
            mode: &mode,
            name: "linux",
            build: &build,
            result: BuildResult::Failure,
            site: &site,
            prev: None,
            broken_since: None,
            changes: std::slice::from_ref(&change),
            logs: std::slice::from_ref(&log),
        };
        let source = "{% for c in changes %}{{ c.who }}: {{ c.comments }} ({{ c.files|join(',') }}){% endfor %} \
            {% for l in logs if l.name == 'stdio' %}{{ l.step }}: {{ l.text|lines|last }}{% endfor %}";
        let out = MailTemplate::new(source, BodyKind::Plain).unwrap().render(&args).unwrap();
        assert_eq!(out.body, "ann: fix it (a.c) test: FAIL x");
    }

    #[test]
    fn html_templates_escape_values() {
        let out = render("<p>{{ reason }}</p>", BodyKind::Html, "<script>x</script>").unwrap();
        assert_eq!(out.body, "<p>&lt;script&gt;x&lt;&#x2f;script&gt;</p>");
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(MailTemplate::new("{% if %}", BodyKind::Plain).unwrap_err().starts_with("template: "));
        let missing = render("{{ nonsense }}", BodyKind::Plain, "x").unwrap_err();
        assert!(missing.contains("undefined"), "{missing}");
    }
}
