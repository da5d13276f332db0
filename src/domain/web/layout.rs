//! The frame every HTML page shares (spec-web §0.3): head, navigation bar, alert box, footer.

use super::decorate::Decorations;
use maud::{DOCTYPE, Markup, html};

use super::text::long_time;
use crate::domain::auth::session::CSRF_FIELD;
use crate::domain::auth::{Action, LoginBox, Subject, Viewer};
use crate::domain::model::Timestamp;

/// Site-wide settings pages show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub title: String,
    pub title_url: String,
    pub buildbot_url: String,
    /// Default rows of `/one_line_per_build`.
    pub numbuilds: usize,
    /// Default rows of a builder page (the seed page says 5).
    pub builder_numbuilds: usize,
    /// Default time rows of `/waterfall`.
    pub num_events: usize,
    /// The most time rows `/waterfall` shows, whatever `num_events=` asks.
    pub num_events_max: Option<usize>,
    /// Order the console's revisions by the change's time instead of by arrival.
    pub order_console_by_time: bool,
    /// Which of `atom`, `json` and `rss` are served (`provide_feeds`).
    pub provide_feeds: Vec<String>,
    /// What links revisions, change comments, projects and repositories.
    pub decorations: Decorations,
}

impl Default for Site {
    fn default() -> Self {
        Self {
            title: "Buildbot".to_owned(),
            title_url: "http://buildbot.net".to_owned(),
            buildbot_url: "http://localhost:8010/".to_owned(),
            numbuilds: 20,
            builder_numbuilds: 5,
            num_events: 200,
            num_events_max: None,
            order_console_by_time: false,
            provide_feeds: FEEDS.iter().map(|f| (*f).to_owned()).collect(),
            decorations: Decorations::default(),
        }
    }
}

/// The machine-readable resources that `provide_feeds` can turn off.
pub const FEEDS: [&str; 3] = ["atom", "json", "rss"];

impl Site {
    /// The absolute URL of build `number` of `builder` (what leaves the site: mails, commit
    /// statuses, reviews), when `buildbotURL` is set.
    pub fn build_url(&self, builder: &str, number: u32) -> Option<String> {
        (!self.buildbot_url.is_empty()).then(|| super::text::path::build(&self.buildbot_url, builder, number))
    }

    /// Whether `/atom`, `/json` or `/rss` (by that name) is served.
    pub fn provides(&self, feed: &str) -> bool {
        self.provide_feeds.iter().any(|f| f == feed)
    }
}

/// A frame drawn by someone else (the site's `layout.html`): it receives the page's title
/// and content, already drawn, and returns the whole document.
pub trait Layout: std::fmt::Debug + Sync {
    fn frame(&self, page: &Page, title: &str, content: Markup) -> Markup;
}

/// What a page needs to know about the request it answers.
#[derive(Clone, Debug)]
pub struct Page<'a> {
    pub site: &'a Site,
    /// Relative path from this page to the site root (`./`, `../`, …).
    pub root: String,
    pub now: Timestamp,
    /// Refresh the page after this many seconds (at least 15).
    pub reload: Option<u32>,
    /// The `alert_msg` argument, shown escaped.
    pub alert: Option<String>,
    /// When set, the page updates itself from the live event stream (see `assets/live.js`),
    /// starting after this sequence number: the newest event the page's content includes.
    pub live: Option<u64>,
    /// Who the page is for: what forms it shows, and the header's login box. `None`: a
    /// visitor who may do nothing and cannot log in (error pages).
    pub viewer: Option<&'a Viewer>,
    /// The site's own layout, replacing the built-in [`frame`].
    pub layout: Option<&'a dyn Layout>,
}

impl<'a> Page<'a> {
    /// A page at `request_path` with no reload, alert, live updates or viewer, in the built-in layout.
    pub fn plain(site: &'a Site, request_path: &str, now: Timestamp) -> Self {
        let root = super::text::path_to_root(request_path);
        Self { site, root, now, reload: None, alert: None, live: None, viewer: None, layout: None }
    }

    /// Whether the visitor may do `action` on `subject`: whether its form is shown.
    pub fn may(&self, action: Action, subject: &Subject<'_>) -> bool {
        self.viewer.is_some_and(|v| v.may(action, subject))
    }

    /// The hidden field with the visitor's CSRF token, which every form carries.
    pub fn csrf(&self) -> Markup {
        let token = self.viewer.map_or("", |v| v.csrf.as_str());
        html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
    }
}

/// The site's main pages, linked from the header bar of every page and from the welcome page:
/// (path from the root, label, what the page shows).
pub const MAIN_PAGES: &[(&str, &str, &str)] = &[
    ("waterfall", "Waterfall", "every builder's builds and steps over time, newest at the top"),
    ("grid", "Grid", "the newest revisions across, the builders down"),
    ("tgrid", "T-Grid", "the grid transposed: the newest revisions down, the builders across"),
    ("console", "Console", "each recent change and how every builder did with it"),
    ("builders", "Builders", "the latest build and the current activity of every builder"),
    ("one_line_per_build", "Recent Builds", "one line per finished build, newest first"),
    ("buildslaves", "Buildslaves", "the workers, what they build and whether they are connected"),
    ("changes", "Changesources", "where changes come from, and the latest changes"),
    ("json/help", "JSON API", "the status as JSON: every resource, its arguments and an example"),
    ("about", "About", "the versions of this server and its libraries"),
];

/// The [`MAIN_PAGES`] this site serves (the JSON API only when `provide_feeds` has `json`).
pub fn main_pages(site: &Site) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    MAIN_PAGES.iter().filter(|(path, _, _)| !path.starts_with("json") || site.provides("json"))
}

/// The feeds a page advertises to browsers and feed readers (`<link rel="alternate">`):
/// (path from the root, MIME type, title).
pub fn alternate_feeds(site: &Site) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    [("rss", "application/rss+xml", "RSS"), ("atom", "application/atom+xml", "Atom")]
        .into_iter()
        .filter(|(feed, _, _)| site.provides(feed))
}

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Wraps `content` in the site layout with `title`: the site's own, or the built-in one.
pub fn frame(page: &Page, title: &str, content: Markup) -> Markup {
    match page.layout {
        Some(layout) => layout.frame(page, title, content),
        None => built_in_frame(page, title, content),
    }
}

fn built_in_frame(page: &Page, title: &str, content: Markup) -> Markup {
    let root = &page.root;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if let Some(secs) = page.reload {
                    meta http-equiv="refresh" content=(secs.max(15));
                }
                title { (title) }
                link rel="stylesheet" href={ (root) "default.css" } type="text/css";
                link rel="icon" href={ (root) "favicon.ico" };
                @for (feed, mime, name) in alternate_feeds(page.site) {
                    link rel="alternate" type=(mime) title={ (page.site.title) " builds (" (name) ")" } href={ (root) (feed) };
                }
                @if let Some(token) = page.viewer.map(|v| v.csrf.as_str()).filter(|t| !t.is_empty()) {
                    // For scripts that post an action: the token its form would carry.
                    meta name="csrf-token" content=(token);
                }
                @if let Some(after) = page.live {
                    script src={ (root) "live.js" } data-root=(root) data-after=(after) defer {}
                }
            }
            body.interface {
                div.header {
                    a href=(root) { "Home" }
                    @if page.viewer.is_none_or(|v| v.may(Action::View, &Subject::Nothing)) {
                        @for (path, label, _) in main_pages(page.site) {
                            " - " a href={ (root) (path) } { (label) }
                        }
                        @if page.may(Action::ShowUsersPage, &Subject::Nothing) { " - " a href={ (root) "users" } { "Users" } }
                    }
                }
                (auth_box(page))
                @if let Some(alert) = page.alert.as_deref().filter(|a| !a.is_empty()) {
                    div.alert { (alert) }
                }
                div.content { (content) }
                div.footer {
                    a href=(root) { "buildstatus" } " " (VERSION)
                    " working for the "
                    @if page.site.title_url.is_empty() { (page.site.title) }
                    @else { a href=(page.site.title_url) { (page.site.title) } }
                    " project."
                    br;
                    "Page built: " b { (long_time(page.now)) } " (UTC)"
                }
            }
        }
    }
}

/// The top-right box (spec §0.3): who is logged in, with a logout button; or the login form,
/// or the front end's login link.
fn auth_box(page: &Page) -> Markup {
    let Some(viewer) = page.viewer else { return html! {} };
    let root = &page.root;
    html! {
        @if let Some(who) = &viewer.identity {
            div.auth {
                "Logged in as " (who.full_name)
                @if viewer.can_log_out && !viewer.csrf.is_empty() {
                    " | "
                    form.logout method="post" action={ (root) "logout" } {
                        (page.csrf()) input type="submit" value="Logout";
                    }
                }
            }
        } @else {
            @match &viewer.login {
                LoginBox::None => {},
                LoginBox::Link(url) => div.auth { a href=(url) { "Login" } },
                LoginBox::Form => div.auth {
                    form.login method="post" action={ (root) "login" } {
                        input type="text" name="username" size="10" placeholder="user" autocomplete="username";
                        " " input type="password" name="passwd" size="10" placeholder="password" autocomplete="current-password";
                        " " input type="submit" value="login";
                    }
                },
            }
        }
    }
}

/// A small standalone page for errors: what was asked for and why it failed.
pub fn error_page(page: &Page, heading: &str, detail: &str) -> Markup {
    frame(
        page,
        heading,
        html! {
            h1 { (heading) }
            p.error { (detail) }
            p { a href=(page.root) { "Back to the welcome page" } }
        },
    )
}
