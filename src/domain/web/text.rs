//! Text filters and formats shared by every page (spec-web §0.4): time and duration formats,
//! natural sort, e-mail and user obfuscation, revision links, and URL paths.

use std::cmp::Ordering;

use maud::{Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::domain::model::Timestamp;

/// Characters left alone by Python's `quote(s, safe='')`; everything else is %-encoded,
/// so a `/` in a name becomes `%2F`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

/// Percent-encodes one path segment.
pub fn quote(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// Relative paths to the things pages link to. `root` is the page's path to the site root.
pub mod path {
    use super::quote;

    pub fn builder(root: &str, builder: &str) -> String {
        format!("{root}builders/{}", quote(builder))
    }
    pub fn build(root: &str, builder: &str, number: u32) -> String {
        format!("{}/builds/{number}", self::builder(root, builder))
    }
    pub fn step(root: &str, builder: &str, number: u32, step: &str) -> String {
        format!("{}/steps/{}", build(root, builder, number), quote(step))
    }
    pub fn log(root: &str, builder: &str, number: u32, step: &str, log: &str) -> String {
        format!("{}/logs/{}", self::step(root, builder, number, step), quote(log))
    }
    pub fn test(root: &str, builder: &str, number: u32, dotted_name: &str) -> String {
        format!("{}/tests/{}", build(root, builder, number), quote(dotted_name))
    }
    pub fn worker(root: &str, worker: &str) -> String {
        format!("{root}buildslaves/{}", quote(worker))
    }
    pub fn change(root: &str, number: u64) -> String {
        format!("{root}changes/{number}")
    }
}

/// The relative path from a request path to the root: `../` once per segment after the first
/// (an empty trailing segment counts), or `./`.
pub fn path_to_root(request_path: &str) -> String {
    let segments = request_path.trim_start_matches('/').split('/').count();
    match segments {
        0 | 1 => "./".to_owned(),
        n => "../".repeat(n - 1),
    }
}

/// Compares names with digit runs as numbers: `a, b9, b10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (ra, rest_a) = split_run(a);
        let (rb, rest_b) = split_run(b);
        let a_digits = ra.as_bytes()[0].is_ascii_digit();
        let b_digits = rb.as_bytes()[0].is_ascii_digit();
        let order = match (a_digits, b_digits) {
            (true, true) => {
                let (ta, tb) = (ra.trim_start_matches('0'), rb.trim_start_matches('0'));
                ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| ra.len().cmp(&rb.len()))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => ra.cmp(rb),
        };
        if order != Ordering::Equal {
            return order;
        }
        (a, b) = (rest_a, rest_b);
    }
}

fn split_run(s: &str) -> (&str, &str) {
    let digits = s.as_bytes()[0].is_ascii_digit();
    let end = s.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(s.len());
    s.split_at(end)
}

/// `1 hrs, 2 mins, 3 secs` (Buildbot's formatInterval; note the strict comparisons).
pub fn format_interval(seconds: i64) -> String {
    let mut rest = seconds.max(0);
    let mut parts = Vec::new();
    if rest > 3600 {
        parts.push(format!("{} hrs", rest / 3600));
        rest %= 3600;
    }
    if rest > 60 {
        parts.push(format!("{} mins", rest / 60));
        rest %= 60;
    }
    parts.push(format!("{rest} secs"));
    parts.join(", ")
}

/// `about 3 hours ago` and friends.
pub fn abbreviate_age(seconds: i64) -> String {
    let plural =
        |n: i64, unit: &str| if n == 1 { format!("about 1 {unit} ago") } else { format!("about {n} {unit}s ago") };
    match seconds {
        s if s <= 90 => format!("{} seconds ago", s.max(0)),
        s if s < 90 * 60 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3600, "hour"),
        s if s < 14 * 86_400 => plural(s / 86_400, "day"),
        s if s < 60 * 86_400 => plural(s / (7 * 86_400), "week"),
        _ => "a long time ago".to_owned(),
    }
}

/// `Jun 01 12:34`, the time of a build line.
pub fn short_time(t: Timestamp) -> String {
    t.format("%b %d %H:%M").to_string()
}

/// `Mon Jun  1 12:34:56 2015`, C's ctime().
pub fn ctime(t: Timestamp) -> String {
    t.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// `Mon 01 Jun 2015 12:34:56`, the footer's and change page's format.
pub fn long_time(t: Timestamp) -> String {
    t.format("%a %d %b %Y %H:%M:%S").to_string()
}

/// An address with every `@` hidden from harvesters.
pub fn email(text: &str) -> Markup {
    let mut parts = text.split('@');
    let first = parts.next().unwrap_or_default();
    html! {
        (first)
        @for part in parts { span style="display:none" { "ohnoyoudont" } "@" (part) }
    }
}

/// `Name <addr>` shown as the name with the address in a hidden element; else [`email`].
pub fn user(text: &str) -> Markup {
    if let Some((name, addr)) = split_user(text) {
        html! { div.user { (name) div.email { (email(addr)) } } }
    } else {
        email(text)
    }
}

fn split_user(text: &str) -> Option<(&str, &str)> {
    let open = text.rfind('<')?;
    let inner = text[open + 1..].strip_suffix('>')?;
    let name = text[..open].strip_suffix(' ')?.trim_end();
    (!name.is_empty()).then_some((name, inner))
}

/// `url` when a browser can follow it without running anything: `http:`, `https:`, `mailto:`
/// or a relative URL. Senders' URLs (a change's revlink, a step's links, a worker's access URI)
/// go through here: a `javascript:` or `data:` one is shown as text, never linked. Browsers
/// drop tabs and line breaks and leading spaces before reading a scheme, so this does too.
pub fn safe_url(url: &str) -> Option<&str> {
    let seen: String =
        url.trim_start_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let scheme_end = seen.find([':', '/', '?', '#']);
    match scheme_end.filter(|&i| seen[i..].starts_with(':')) {
        None => Some(url),
        Some(i) => ["http", "https", "mailto"].iter().any(|s| s.eq_ignore_ascii_case(&seen[..i])).then_some(url),
    }
}

/// A revision shortened for tables: up to 12 characters shown, the rest behind `...`.
/// `url` links it (to the commit page) when known.
pub fn shortrev(rev: &str, url: Option<&str>) -> Markup {
    if rev.is_empty() {
        return html! {};
    }
    let title = format!("Revision {rev}");
    let short: String = rev.chars().take(12).collect();
    let long = rev.chars().count() > 12;
    match (url.and_then(safe_url), long) {
        (Some(url), false) => html! { span.revision title=(title) { a href=(url) { (rev) } } },
        (None, false) => html! { (rev) },
        (Some(url), true) => html! {
            div.revision {
                div.short title=(title) { a href=(url) { (short) "..." } }
                div.full { a href=(url) { (rev) } }
            }
        },
        (None, true) => html! { (short) "..." },
    }
}

/// Upper-cases the first letter and lower-cases the rest (Jinja's `capitalize`).
pub fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_that_run_nothing_are_linked() {
        for ok in ["https://git.example.org/c/1", "HTTP://x", "mailto:a@b.org", "/rel/path", "commit/1?a=b:c", "#top"] {
            assert_eq!(safe_url(ok), Some(ok), "{ok}");
        }
        for bad in
            ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x", "vbscript:x"]
        {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
        assert_eq!(shortrev("abc", Some("javascript:alert(1)")).into_string(), "abc");
    }

    #[test]
    fn natural_sort_compares_digit_runs_as_numbers() {
        let mut names = vec!["b10", "a", "b9", "b09x", "B", "b9a"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["B", "a", "b9", "b9a", "b09x", "b10"]);
        assert_eq!(natural_cmp("7", "x"), Ordering::Less);
    }

    #[test]
    fn intervals_and_ages_read_like_buildbot() {
        assert_eq!(format_interval(3723), "1 hrs, 2 mins, 3 secs");
        assert_eq!(format_interval(60), "60 secs");
        assert_eq!(format_interval(3600), "60 mins, 0 secs");
        assert_eq!(abbreviate_age(30), "30 seconds ago");
        assert_eq!(abbreviate_age(91), "about 1 minute ago");
        assert_eq!(abbreviate_age(7200), "about 2 hours ago");
        assert_eq!(abbreviate_age(3 * 86_400), "about 3 days ago");
        assert_eq!(abbreviate_age(20 * 86_400), "about 2 weeks ago");
        assert_eq!(abbreviate_age(100 * 86_400), "a long time ago");
    }

    #[test]
    fn paths_quote_every_unsafe_character() {
        assert_eq!(quote("a/b c"), "a%2Fb%20c");
        assert_eq!(path::build("../", "lin ux", 3), "../builders/lin%20ux/builds/3");
        assert_eq!(path_to_root("/"), "./");
        assert_eq!(path_to_root("/waterfall"), "./");
        assert_eq!(path_to_root("/builders/x"), "../");
        assert_eq!(path_to_root("/builders/x/"), "../../");
    }

    #[test]
    fn filters_escape_and_hide_addresses() {
        let out = user("Ann <ann@x.org>").into_string();
        assert_eq!(
            out,
            "<div class=\"user\">Ann<div class=\"email\">ann<span style=\"display:none\">ohnoyoudont</span>@x.org</div></div>"
        );
        assert_eq!(email("<b>").into_string(), "&lt;b&gt;");
        assert_eq!(shortrev("0123456789abcdef", None).into_string(), "0123456789ab...");
        assert_eq!(capitalize("Failed Compile"), "Failed compile");
    }
}
