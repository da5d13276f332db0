//! `/json/help` and `NODE/help` (spec-web-machine §7.6): one HTML page documenting every
//! resource and flag, with examples that use the master's real names and link to themselves
//! in readable form.

use maud::{Markup, html};

use crate::domain::web::layout::{Page, frame};

/// (path pattern, what it returns)
const RESOURCES: &[(&str, &str)] = &[
    ("", "The root: builders, change_sources, project, slaves and metrics, each as its own object."),
    ("builders", "Every builder by name."),
    (
        "builders/BUILDER",
        "One builder: basedir, tags, category, slaves, schedulers, cachedBuilds, currentBuilds, state, pendingBuilds.",
    ),
    ("builders/BUILDER/builds", "Every build number the builder has used, each mapped to null."),
    ("builders/BUILDER/builds/_all", "The builder's `max` most recent builds (default 15), by number."),
    ("builders/BUILDER/builds/N", "One build; N counts from the end when negative (-1 is the newest)."),
    ("builders/BUILDER/builds/N/source_stamp", "The build's first source stamp."),
    ("builders/BUILDER/builds/N/source_stamp/changes", "The changes of that source stamp, by change number."),
    ("builders/BUILDER/builds/N/source_stamp/changes/ID", "One change of that source stamp."),
    ("builders/BUILDER/builds/N/steps", "The build's steps by index."),
    ("builders/BUILDER/builds/N/steps/STEP", "One step, by index (negative counts from the end) or by name."),
    ("builders/BUILDER/slaves", "The builder's slaves by name."),
    ("builders/BUILDER/slaves/SLAVE", "One of the builder's slaves."),
    ("builders/BUILDER/pendingBuilds", "The builder's unclaimed build requests, oldest first."),
    ("slaves", "Every slave by name."),
    (
        "slaves/SLAVE",
        "One slave: connection, host, admin, version, running builds, and its recent builds per builder (`numbuilds`).",
    ),
    ("project", "The project's title, titleURL and buildbotURL."),
    ("change_sources", "The master's change sources, by index."),
    ("metrics", "counters, timers and alarms (empty: metrics are not collected)."),
    ("changes", "Extension (not in Buildbot 0.8): the recent changes by number."),
    ("changes/ID", "Extension: one change."),
];

/// (flag, what it does)
const FLAGS: &[(&str, &str)] = &[
    ("as_text=1", "Readable output: indented, empty values removed, served as text/plain."),
    ("compact=0|1", "Without whitespace (the default unless as_text)."),
    ("filter=0|1", "Remove empty values (null, \"\", [], {}) recursively; 0 and false are kept. Default: as_text."),
    (
        "select=PATH",
        "Repeatable: answer with these sub-resources of the node instead of the node itself, each under its path. An empty value includes the node's own object.",
    ),
    ("callback=NAME", "JSONP: the reply becomes NAME(JSON); a NAME that is not a JavaScript name is refused with 400."),
    ("numbuilds=N", "Builds examined per builder in a slave's builders map (default 14, at most 500)."),
    ("max=N", "Builds of builds/_all (default 15, at most 500)."),
];

/// The fixed-name children of `node`: patterns one level deeper whose last segment is not a
/// placeholder (placeholders are upper case).
fn children(node: &[String]) -> Vec<&'static str> {
    let matches =
        |pattern: &[&str]| pattern.iter().zip(node).all(|(p, n)| p == n || p.chars().all(|c| c.is_ascii_uppercase()));
    RESOURCES
        .iter()
        .filter_map(|(pattern, _)| {
            let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            let last = *segs.last()?;
            (segs.len() == node.len() + 1 && matches(&segs) && !last.chars().all(|c| c.is_ascii_uppercase()))
                .then_some(last)
        })
        .collect()
}

/// Real names for the examples.
#[derive(Clone, Debug, Default)]
pub struct Examples {
    pub builder: Option<String>,
    pub worker: Option<String>,
}

/// The help page of the node at `node` (path segments after `/json`).
pub fn help_page(page: &Page, node: &[String], examples: &Examples) -> Markup {
    let title = if node.is_empty() { "json".to_owned() } else { node.join("/") };
    // From NODE/help, `json_root` is the path back to /json/.
    let json_root = format!("{}json/", page.root);
    let builder = examples.builder.as_deref().map(crate::domain::web::text::quote);
    let worker = examples.worker.as_deref().map(crate::domain::web::text::quote);
    let mut sample: Vec<String> = vec![String::new(), "builders".into(), "slaves".into(), "project".into()];
    if let Some(b) = &builder {
        sample.extend([
            format!("builders/{b}"),
            format!("builders/{b}/builds/-1"),
            format!("builders/{b}/builds/-1/steps"),
            format!("builders/{b}/builds?select=-1&select=-2"),
            format!("builders/{b}/pendingBuilds"),
        ]);
    }
    if let Some(w) = &worker {
        sample.push(format!("slaves/{w}"));
    }
    sample.push("?select=project&select=slaves".into());
    frame(
        page,
        &format!("{title} help"),
        html! {
            h1 { "/" (title) " help" }
            @if !node.is_empty() {
                p { a href={ (json_root) "help" } { "Root help" } }
                @if node.len() > 1 { p { a href={ (json_root) (node[..node.len() - 1].join("/")) "/help" } { "Parent's Help" } } }
            }
            p {
                "The JSON API answers GET requests on every resource below, with "
                code { "Access-Control-Allow-Origin: *" } ". Errors come back as JSON "
                code { "{\"error\": MESSAGE}" } " with the status 400, 404 or 500. "
                "Times are epoch seconds; results are numbers (0 success, 1 warnings, 2 failure, 3 skipped, "
                "4 exception, 5 retry, 6 cancelled)."
            }
            @let here = if node.is_empty() { json_root.clone() } else { format!("{json_root}{}/", node.iter().map(|s| crate::domain::web::text::quote(s)).collect::<Vec<_>>().join("/")) };
            @let kids = children(node);
            @if !kids.is_empty() {
                h2 { "Children of /" (title) }
                ul {
                    @for child in kids {
                        li { a href={ (here) (child) } { (child) } " (" a href={ (here) (child) "/help" } { "help" } ")" }
                    }
                }
            }
            h2 { "Resources" }
            table.info {
                tr { th { "Path" } th { "Returns" } }
                @for (pattern, what) in RESOURCES {
                    tr {
                        td { code { "/json/" (pattern) } }
                        td { (what) }
                    }
                }
            }
            h2 { "Flags" }
            ul { @for (flag, what) in FLAGS { li { code { (flag) } ": " (what) } } }
            h2 { "Examples" }
            ul {
                @for path in &sample {
                    @let sep = if path.contains('?') { "&" } else { "?" };
                    li { a href={ (json_root) (path) (sep) "as_text=1" } { "/json/" (path) } }
                }
            }
        },
    )
}
