//! `/waterfall` and `/waterfall/help` (spec-web-displays §2.5–2.8): renders the layout that
//! `views::waterfall` computed.

use maud::{Markup, Render, html};

use super::{activity_lines, text_line};
use crate::domain::model::{Build, Builder, BuilderState, Timestamp};
use crate::domain::result::box_class;
use crate::domain::views::waterfall::{Item, Slot, Waterfall};
use crate::domain::web::args::Args;
use crate::domain::web::layout::{Page, frame};
use crate::domain::web::text::{path, safe_url, user};

/// The head of a builder's column: its last build and what it does now.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ColumnHead<'a> {
    pub builder: &'a Builder,
    /// The newest finished build matching the branch filter (the "top box").
    pub last: Option<&'a Build>,
    pub state: BuilderState,
    pub running: &'a [Build],
    pub pending: usize,
}

/// Everything the waterfall page shows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WaterfallPage<'a> {
    pub layout: &'a Waterfall<'a>,
    pub heads: Vec<ColumnHead<'a>>,
    /// Every tag of every builder, sorted, when there is more than one.
    pub tags: Vec<String>,
    #[serde(skip)]
    pub args: &'a Args,
    /// Why the view is empty, when a filter left no builder.
    pub empty_because: Option<String>,
}

pub fn waterfall_page(page: &Page, data: &WaterfallPage) -> Markup {
    let root = &page.root;
    let title = format!("BuildBot: {}", page.site.title);
    frame(
        page,
        &title,
        html! {
            div style="float:right" { a href=(help_link(root, data.args)) { "waterfall help" } }
            h1 { "Waterfall" }
            @if data.tags.len() > 1 { (tag_links(&data.tags)) }
            @if let Some(why) = &data.empty_because { p.error { (why) } }
            table.waterfall border="0" cellspacing="0" {
                (last_build_row(root, &data.heads))
                (activity_row(&data.heads, page.now))
                (names_row(root, &data.heads))
                @for row in &data.layout.rows {
                    tr {
                        @for slot in row {
                            // Drawn in place, into the page's one buffer: a page has
                            // thousands of cells.
                            @match slot {
                                Slot::Covered => {}
                                Slot::Empty => td class="" {}
                                Slot::Box { item, rowspan } => {
                                    @let (class, result, valign) = cell_class(item);
                                    td class={ (class) (result) } align="center" valign=(valign) rowspan=(rowspan) {
                                        (cell_content(root, item))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (paging_links(data))
        },
    )
}

/// `waterfall/help` with the page's own arguments, so that the form starts from them.
fn help_link(root: &str, args: &Args) -> String {
    match args.with("", None) {
        q if q.is_empty() => format!("{root}waterfall/help"),
        q => format!("{root}waterfall/help?{q}"),
    }
}

/// A link per tag, each showing only that tag's builders.
fn tag_links(tags: &[String]) -> Markup {
    html! {
        p.tags {
            "Tags: "
            @for (i, tag) in tags.iter().enumerate() {
                @if i > 0 { " " }
                a href={ "?tag=" (crate::domain::web::text::quote(tag)) } { (tag) }
            }
        }
    }
}

/// The "last build" boxes: each builder's newest finished build, coloured by its result.
fn last_build_row(root: &str, heads: &[ColumnHead]) -> Markup {
    html! {
        tr.LastBuild {
            td.Project colspan="2" align="right" { "last build" }
            @for head in heads {
                @let class = head.last.map_or("LastBuild".to_owned(), |b| format!("LastBuild {}", box_class(b.result)));
                td class=(class) align="center" {
                    a href=(path::builder(root, &head.builder.name)) { (head.builder.name) }
                    br;
                    (head.last.map_or_else(|| "none".to_owned(), top_text))
                }
            }
        }
    }
}

/// The "current activity" boxes: what each builder is doing, and what waits for it.
fn activity_row(heads: &[ColumnHead], now: Timestamp) -> Markup {
    html! {
        tr.Activity {
            td colspan="2" align="right" { "current activity" }
            @for head in heads {
                td class={ "Activity " (head.state.name()) } align="center" {
                    @for (i, line) in activity_lines(head.state, head.running, head.pending, now).iter().enumerate() {
                        @if i > 0 { br; }
                        (line)
                    }
                }
            }
        }
    }
}

/// The column titles: the time, the changes, then each builder.
fn names_row(root: &str, heads: &[ColumnHead]) -> Markup {
    html! {
        tr {
            td.Time { "UTC" }
            td.Change align="center" { a href={ (root) "changes" } { "changes" } }
            @for head in heads {
                td.Builder align="center" { a href=(path::builder(root, &head.builder.name)) { (head.builder.name) } }
            }
        }
    }
}

/// "next page" (older rows, from where this page ends) and "Stop Reloading".
fn paging_links(data: &WaterfallPage) -> Markup {
    html! {
        @if let Some(oldest) = data.layout.oldest {
            p { a.next href={ "?" (data.args.with("last_time", Some(&oldest.timestamp().to_string()))) } { "next page" } }
        }
        @if data.args.first("reload").is_some() {
            p { a href={ "?" (data.args.with("reload", None)) } { "Stop Reloading" } }
        }
    }
}

/// The top box text: the build's text, and the failed tests when a step counted some.
fn top_text(build: &Build) -> String {
    let failed: i64 =
        build.steps.iter().filter_map(|s| s.statistics.get("tests-failed")).filter_map(|v| v.as_i64()).sum();
    let text = text_line(build);
    if failed > 0 { format!("{text} Failed tests: {failed}") } else { text }
}

/// A box's class (a fixed part and a result's class, drawn one after the other) and where
/// its text sits.
fn cell_class(item: &Item) -> (&'static str, &'static str, &'static str) {
    match item {
        Item::Time { .. } => ("Time", "", "bottom"),
        Item::Change(_) => ("Change", "", "top"),
        Item::BuildStart(b) if b.is_finished() && b.steps.is_empty() => ("BuildStep ", box_class(b.result), "top"),
        Item::BuildStart(_) => ("BuildStep start", "", "top"),
        Item::Step(_, s) => ("BuildStep ", box_class(s.result), "top"),
        Item::Event(_) => ("Event", "", "top"),
        Item::Spacer | Item::Unknown => ("", "", "top"),
    }
}

/// What a box says; drawn into the page's buffer by the caller's `html!`.
struct CellContent<'a> {
    root: &'a str,
    item: Item<'a>,
}

fn cell_content<'a>(root: &'a str, item: &Item<'a>) -> CellContent<'a> {
    CellContent { root, item: *item }
}

impl Render for CellContent<'_> {
    fn render_to(&self, buffer: &mut String) {
        let root = self.root;
        // Splices into `buffer`: maud's `html!` with a buffer of our own would allocate one
        // string per box.
        let markup = match self.item {
            Item::Time { at, date } => {
                use chrono::Timelike;
                if date {
                    at.format("%a %d %b %Y").to_string().render_to(buffer);
                    buffer.push_str("<br>");
                }
                let _ = std::fmt::Write::write_fmt(
                    buffer,
                    format_args!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second()),
                );
                return;
            }
            Item::Spacer => return,
            Item::Unknown => {
                buffer.push('?');
                return;
            }
            Item::Change(c) => html! { a href=(path::change(root, c.number)) title=(c.comments) { (user(&c.who)) } },
            Item::BuildStart(b) => {
                // `a href=(…) title={ "Reason: " (…) } { "Build " (…) }`, written out.
                buffer.push_str("<a href=\"");
                path::build(root, &b.builder, b.number).render_to(buffer);
                buffer.push_str("\" title=\"Reason: ");
                b.reason.render_to(buffer);
                buffer.push_str("\">Build ");
                b.number.render_to(buffer);
                buffer.push_str("</a>");
                return;
            }
            Item::Step(b, s) => {
                // `@for line { (line) br; }` and `@for log { a href=(…) { (name) } br; }`,
                // written out; the rare external links through `html!`.
                for line in &s.text {
                    line.render_to(buffer);
                    buffer.push_str("<br>");
                }
                for log in &s.logs {
                    buffer.push_str("<a href=\"");
                    path::log(root, &b.builder, b.number, &s.name, &log.name).render_to(buffer);
                    buffer.push_str("\">");
                    log.name.render_to(buffer);
                    buffer.push_str("</a><br>");
                }
                if s.urls.is_empty() {
                    return;
                }
                html! {
                    @for (name, url) in &s.urls {
                        @if let Some(url) = safe_url(url) { "[" a.BuildStep.external href=(url) { (name) } "]" br; } @else { "[" (name) "]" br; }
                    }
                }
            }
            Item::Event(e) => html! {
                @for (i, line) in e.text.iter().enumerate() { @if i > 0 { br; } (line) }
            },
        };
        buffer.push_str(&markup.into_string());
    }
}

/// `/waterfall/help`: a form that re-creates the current settings (§2.8).
pub fn waterfall_help(page: &Page, args: &Args, builders: &[Builder], tags: &[String]) -> Markup {
    let shown = {
        let mut names = args.all("builder");
        names.extend(args.all("show"));
        names
    };
    let chosen_tags = args.tags();
    let reload = args.first("reload").and_then(|r| r.parse::<u32>().ok());
    let mut choices: Vec<(Option<u32>, String)> = vec![
        (None, "None".into()),
        (Some(60), "60 seconds".into()),
        (Some(300), "5 minutes".into()),
        (Some(600), "10 minutes".into()),
    ];
    if let Some(r) = reload.filter(|r| ![60, 300, 600].contains(r)) {
        choices.insert(0, (Some(r), format!("{r} seconds")));
    }
    frame(
        page,
        "Waterfall Help",
        html! {
            form method="get" action={ (page.root) "waterfall" } {
                h1 { "The Waterfall Display" }
                p { "The Waterfall shows the activity of every builder over time, newest at the top." }
                h2 { "Show non-build events" }
                // On by default: unticked, the box sends nothing and the hidden "false" says so
                // (when ticked, its "true" comes first and wins).
                label { input type="checkbox" name="show_events" value="true" checked[args.flag("show_events", true)]; " show events (workers connecting, reconfigurations)" }
                input type="hidden" name="show_events" value="false";
                h2 { "Branches" }
                @for branch in args.all("branch") { input type="text" name="branch" value=(branch); br; }
                input type="text" name="branch"; br;
                h2 { "Builders" }
                @for b in builders {
                    label { input type="checkbox" name="builder" value=(b.name) checked[shown.contains(&b.name)]; " " (b.name) } br;
                }
                h2 { "Tags" }
                @for tag in tags {
                    label { input type="checkbox" name="tag" value=(tag) checked[chosen_tags.contains(tag)]; " " (tag) } br;
                }
                @for c in args.all("committer") { "Committer: " input type="text" name="committer" value=(c); br; }
                @for p in args.all("project") { "Project: " input type="text" name="project" value=(p); br; }
                h2 { "Failing builders only" }
                label { input type="checkbox" name="failures_only" value="true" checked[args.flag("failures_only", false)]; " show only builders that are failing" }
                h2 { "Auto-reload" }
                @for (value, label) in &choices {
                    label {
                        input type="radio" name="reload" value=(value.map_or("none".to_owned(), |v| v.to_string())) checked[*value == reload];
                        " " (label)
                    }
                    br;
                }
                p { input type="submit" value="View Waterfall"; }
            }
        },
    )
}
