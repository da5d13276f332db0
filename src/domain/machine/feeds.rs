//! The `/rss` and `/atom` feeds (spec-web-machine §6): which builds, and each entry's title,
//! link, date, id and description. Valid RSS 2.0 and Atom 1.0, every text escaped.

use maud::{Markup, html};

use super::xml::escape;
use crate::domain::model::{Build, Step, Timestamp, property_string};
use crate::domain::result::BuildResult;
use crate::domain::web::args::{Args, BranchFilter};
use crate::domain::web::layout::Site;
use crate::domain::web::text::{path, quote};

/// Entries of a feed, and builds examined per builder.
pub const FEED_SIZE: usize = 25;
/// Log lines quoted per failed step's log.
pub const LOG_LINES: usize = 30;

/// The feed's query arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedFilter {
    /// `builder=` and `show=` names; empty means every builder.
    pub builders: Vec<String>,
    /// `tag=`, else `category=`.
    pub tags: Vec<String>,
    pub failures_only: bool,
    pub projects: Vec<String>,
    /// The waterfall's `branch=`: any source stamp on a listed branch (`trunk` matches none).
    pub branches: BranchFilter,
    /// The waterfall's `committer=`: any of the build's authors listed.
    pub committers: Vec<String>,
}

impl FeedFilter {
    pub fn parse(args: &Args) -> Self {
        let mut builders = args.all("builder");
        builders.extend(args.all("show"));
        // The documentation: the feeds summarise "all failed builds" (0.8's code listed every
        // finished build unless asked; the page wins). `failures_only=false` lists them all.
        let failures_only = args.flag("failures_only", true);
        Self {
            builders,
            tags: args.tags(),
            failures_only,
            projects: args.all("project"),
            branches: args.branches(),
            committers: args.all("committer"),
        }
    }

    /// Whether a finished build belongs in the feed.
    fn keeps(&self, build: &Build) -> bool {
        let project = build
            .property("project")
            .map(property_string)
            .or_else(|| build.sourcestamps.first().map(|s| s.project.clone()));
        build.is_finished()
            && (!self.failures_only || build.result == Some(BuildResult::Failure))
            && (self.projects.is_empty() || project.is_some_and(|p| self.projects.contains(&p)))
            && (self.branches.is_all() || build.sourcestamps.iter().any(|s| self.branches.matches(s.branch.as_deref())))
            && (self.committers.is_empty() || build.blamelist.iter().any(|a| self.committers.contains(a)))
    }
}

/// The feed's builds: from each builder's newest builds (`recent`, at most [`FEED_SIZE`] each),
/// the finished ones that pass `filter`, newest start first, at most [`FEED_SIZE`].
pub fn select(recent: Vec<Build>, filter: &FeedFilter) -> Vec<Build> {
    let mut builds: Vec<Build> = recent.into_iter().filter(|b| filter.keeps(b)).collect();
    builds.sort_by_key(|b| std::cmp::Reverse((b.started, b.finished)));
    builds.truncate(FEED_SIZE);
    builds
}

/// Steps a feed reports as failed: any that ended with a result other than success, warnings
/// or skipped (a step that never ran did not fail).
pub fn failed_steps(steps: &[Step]) -> Vec<&Step> {
    let ok = [BuildResult::Success, BuildResult::Warnings, BuildResult::Skipped];
    steps.iter().filter(|s| s.result.is_some_and(|r| !ok.contains(&r))).collect()
}

/// A log line without its ANSI colour sequences (`ESC [ … letter`), which feeds cannot show.
pub fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A build with the last lines of its failed steps' logs: (log name, lines).
#[derive(Clone, Debug)]
pub struct Entry {
    pub build: Build,
    pub logs: Vec<(String, Vec<String>)>,
}

/// `Www, DD Mon YYYY HH:MM:SS GMT`
pub fn rfc822(t: Timestamp) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(super) fn rfc3339(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn title(build: &Build) -> String {
    format!("Builder \"{}\": {}", build.builder, build.result.map_or("running", BuildResult::name))
}

/// A tag URI unique per build: `tag:HOST,DATE:builders/NAME/builds/N`.
fn guid(site: &Site, build: &Build) -> String {
    let host = site
        .buildbot_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .filter(|h| !h.is_empty())
        .unwrap_or("buildstatus.invalid");
    let day = build.finished.unwrap_or(build.started).format("%Y-%m-%d");
    format!("tag:{host},{day}:builders/{}/builds/{}", quote(&build.builder), build.number)
}

/// The entry's HTML description (§6.3), built with maud so every value is escaped.
pub fn description(site: &Site, entry: &Entry) -> Markup {
    let b = &entry.build;
    let failed: Vec<&str> = failed_steps(&b.steps).iter().map(|s| s.name.as_str()).collect();
    let finished = b.finished.unwrap_or(b.started);
    html! {
        p {
            "Date: " (rfc822(finished)) br;
            "Project home: " a href=(site.buildbot_url) { (site.title) } br;
            "Builder summary: " a href=(path::builder(&site.buildbot_url, &b.builder)) { (b.builder) } br;
            "Build details: " a href=(path::build(&site.buildbot_url, &b.builder, b.number)) { "Build " (b.number) } br;
            "Author list: " b { (b.blamelist.join(", ")) } br;
            "Failed step(s): " b { (failed.join(", ")) } br;
        }
        @for s in &b.sourcestamps {
            div {
                @if !s.codebase.is_empty() { b { "Codebase: " (s.codebase) } br; }
                p {
                    @if s.is_specific() {
                        "Repository: " (s.repository) br;
                        @if let Some(branch) = &s.branch { "Branch: " (branch) br; }
                        @let rev = b.got_revision(&s.codebase).or_else(|| s.revision.clone());
                        @if let Some(rev) = rev {
                            "Revision: "
                            @match site.decorations.revision_url(&rev, &s.repository) {
                                Some(url) => a href=(url) { (rev) },
                                None => (rev),
                            }
                            @if s.patch.is_some() { " (plus patch)" } br;
                        }
                    } @else {
                        "Revision: Latest revision" br;
                    }
                }
            }
        }
        @if !entry.logs.is_empty() {
            p { i { "Last lines of the build log:" } }
            pre {
                @for (name, lines) in &entry.logs {
                    "Last lines of build log \"" (name) "\":\n"
                    @for line in lines { (line) "\n" }
                }
            }
        }
    }
}

/// The RSS 2.0 document.
pub fn rss(site: &Site, entries: &[Entry], now: Timestamp) -> String {
    let updated = entries.iter().filter_map(|e| e.build.finished).max().unwrap_or(now);
    let url = escape(&site.buildbot_url);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
    out.push_str(&format!("<title>Build status of {}</title>\n", escape(&site.title)));
    out.push_str(&format!("<link>{url}</link>\n"));
    out.push_str(&format!("<atom:link href=\"{url}rss\" rel=\"self\" type=\"application/rss+xml\"/>\n"));
    out.push_str("<language>en-us</language>\n<description>List of builds</description>\n");
    out.push_str(&format!("<pubDate>{}</pubDate>\n", rfc822(updated)));
    for e in entries {
        let b = &e.build;
        let link = path::build(&site.buildbot_url, &b.builder, b.number);
        out.push_str("<item>\n");
        out.push_str(&format!("<title>{}</title>\n", escape(&title(b))));
        out.push_str(&format!("<link>{}</link>\n", escape(&link)));
        out.push_str(&format!("<description>{}</description>\n", escape(&description(site, e).into_string())));
        out.push_str(&format!("<pubDate>{}</pubDate>\n", rfc822(b.finished.unwrap_or(b.started))));
        out.push_str(&format!("<guid isPermaLink=\"false\">{}</guid>\n", escape(&guid(site, b))));
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

/// The Atom 1.0 document.
pub fn atom(site: &Site, entries: &[Entry], now: Timestamp) -> String {
    let updated = entries.iter().filter_map(|e| e.build.finished).max().unwrap_or(now);
    let url = escape(&site.buildbot_url);
    let id = if site.buildbot_url.contains("://") { url.clone() } else { "urn:x-buildstatus:feed".to_owned() };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!("<id>{id}</id>\n"));
    out.push_str(&format!("<title>Build status of {}</title>\n", escape(&site.title)));
    out.push_str("<subtitle>List of builds</subtitle>\n");
    out.push_str(&format!("<link rel=\"self\" href=\"{url}atom\"/>\n<link rel=\"alternate\" href=\"{url}\"/>\n"));
    out.push_str(&format!("<updated>{}</updated>\n", rfc3339(updated)));
    out.push_str("<author><name>BuildBot</name></author>\n");
    for e in entries {
        let b = &e.build;
        let link = path::build(&site.buildbot_url, &b.builder, b.number);
        out.push_str("<entry>\n");
        out.push_str(&format!("<title>{}</title>\n", escape(&title(b))));
        out.push_str(&format!("<link href=\"{}\"/>\n", escape(&link)));
        out.push_str(&format!("<content type=\"html\">{}</content>\n", escape(&description(site, e).into_string())));
        out.push_str(&format!("<updated>{}</updated>\n", rfc3339(b.finished.unwrap_or(b.started))));
        out.push_str(&format!("<id>{}</id>\n", escape(&guid(site, b))));
        out.push_str("<author><name>Buildbot</name></author>\n");
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_builds_only_unless_failures_only_says_false() {
        assert!(FeedFilter::parse(&Args::parse("")).failures_only, "the feeds summarise failed builds");
        for (v, on) in [("false", false), ("0", false), ("Off", false), ("no", false), ("False", false), ("1", true)] {
            assert_eq!(FeedFilter::parse(&Args::parse(&format!("failures_only={v}"))).failures_only, on, "{v}");
        }
        let f = FeedFilter::parse(&Args::parse("builder=a&show=b&category=c"));
        assert_eq!((f.builders, f.tags), (vec!["a".to_owned(), "b".to_owned()], vec!["c".to_owned()]));
    }

    #[test]
    fn a_step_that_never_ran_did_not_fail() {
        let step = |name: &str, result: Option<BuildResult>| Step { name: name.into(), result, ..Step::default() };
        let steps = [
            step("compile", Some(BuildResult::Success)),
            step("test", Some(BuildResult::Failure)),
            step("lint", Some(BuildResult::Exception)),
            step("upload", None),
        ];
        let names: Vec<&str> = failed_steps(&steps).iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["test", "lint"]);
    }

    #[test]
    fn colour_codes_are_dropped_from_log_lines() {
        assert_eq!(plain("\x1b[32mok\x1b[0m done \x1b"), "ok done \x1b");
    }

    #[test]
    fn guids_name_the_build_and_hosts_lose_their_port() {
        let site = Site::default();
        let build = Build {
            builder: "a/b".into(),
            number: 7,
            reason: String::new(),
            properties: Default::default(),
            sourcestamps: vec![],
            blamelist: vec![],
            worker: String::new(),
            started: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            finished: None,
            result: None,
            text: vec![],
            steps: vec![],
            eta: None,
            tests: Vec::new(),
            buildsets: Vec::new(),
        };
        assert_eq!(guid(&site, &build), "tag:localhost,1970-01-01:builders/a%2Fb/builds/7");
    }
}
