//! The URL-decorating keys of `buildstatus.toml` (0.8's WebStatus arguments):
//!
//! ```toml
//! revlink = "https://cgit.example.org/widget/commit/?id=%s"   # or a table: repository → pattern
//! changecommentlink = ["#(\\d+)", "https://bugs.example.org/\\1", "Ticket \\g<1>"]
//! projects = { widget = "https://widget.example.org/" }
//! repositories = { "https://git.example.org/widget.git" = "https://git.example.org/widget" }
//! ```
//!
//! Without `revlink`, revisions of GitHub and SourceForge repositories link to their commit
//! pages; `revlink = false` links none.

use std::collections::BTreeMap;

use super::values::{string, strings};
use crate::domain::web::decorate::{CommentLink, CommentLinks, Decorations, NameLinks, RevLink};

/// Reads `key` into `decorations` when it is one of the decorating keys (`None` otherwise).
pub fn set(decorations: &mut Decorations, key: &str, value: &toml::Value) -> Option<Result<(), String>> {
    let read = match key {
        "revlink" => revlink(value).map(|r| decorations.revlink = r),
        "changecommentlink" => comment_links(value).map(|c| decorations.comment_links = c),
        "projects" => names(value).map(|n| decorations.projects = n),
        "repositories" => names(value).map(|n| decorations.repositories = n),
        _ => return None,
    };
    Some(read)
}

fn pattern(text: String) -> Result<String, String> {
    match text.matches("%s").count() {
        1 => Ok(text),
        _ => Err(format!("'{text}' must hold one %s, where the revision goes")),
    }
}

fn revlink(value: &toml::Value) -> Result<RevLink, String> {
    match value {
        toml::Value::Boolean(false) => Ok(RevLink::ByRepository(BTreeMap::new())),
        toml::Value::String(p) => pattern(p.clone()).map(RevLink::Pattern),
        toml::Value::Table(t) => {
            let each = t.iter().map(|(repo, p)| Ok((repo.clone(), pattern(string(p)?)?)));
            each.collect::<Result<_, String>>().map(RevLink::ByRepository)
        }
        other => Err(format!(
            "expected a URL pattern with %s, a table of them by repository, or false; found {}",
            other.type_str()
        )),
    }
}

/// `[regex, url]` or `[regex, url, title]`.
fn comment_link(value: &toml::Value) -> Result<CommentLink, String> {
    match strings(value)?.as_slice() {
        [regex, url] => CommentLink::new(regex, url, None),
        [regex, url, title] => CommentLink::new(regex, url, Some(title)),
        _ => Err("expected [REGEX, URL] or [REGEX, URL, TITLE]".to_owned()),
    }
}

fn comment_links(value: &toml::Value) -> Result<CommentLinks, String> {
    match value {
        toml::Value::Table(t) => {
            let each = t
                .iter()
                .map(|(project, v)| Ok((project.clone(), comment_link(v).map_err(|e| format!("{project}: {e}"))?)));
            each.collect::<Result<_, String>>().map(CommentLinks::ByProject)
        }
        _ => comment_link(value).map(CommentLinks::One),
    }
}

fn names(value: &toml::Value) -> Result<NameLinks, String> {
    let table =
        value.as_table().ok_or_else(|| format!("expected a table of name = URL, found {}", value.type_str()))?;
    let each = table.iter().map(|(name, url)| Ok((name.clone(), string(url)?)));
    each.collect::<Result<_, String>>().map(NameLinks::Map)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::app::Config;

    #[test]
    fn decorating_keys_link_revisions_comments_and_names() {
        let text = r##"
            revlink = "https://cgit.example.org/c/?id=%s"
            changecommentlink = ["#(\\d+)", "https://bugs.example.org/\\1"]
            projects = { widget = "https://widget.example.org/" }
        "##;
        let site = Config::parse(text, Path::new(".")).expect("valid").server.site;
        let d = &site.decorations;
        assert_eq!(d.revision_url("abc", "any").as_deref(), Some("https://cgit.example.org/c/?id=abc"));
        assert_eq!(d.comment("fixes #4", "").into_string(), "fixes <a href=\"https://bugs.example.org/4\">#4</a>");
        assert_eq!(d.project("widget").into_string(), "<a href=\"https://widget.example.org/\">widget</a>");
    }

    #[test]
    fn bad_decorations_are_named() {
        let mut problems = Config::parse(
            "revlink = \"https://x/\"\nchangecommentlink = [\"(\", \"u\"]\nprojects = [\"x\"]\n",
            Path::new("."),
        )
        .expect_err("invalid");
        problems.sort();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("changecommentlink: '(' is not a regular expression"), "{problems:?}");
        assert_eq!(problems[1], "projects: expected a table of name = URL, found array");
        assert_eq!(problems[2], "revlink: 'https://x/' must hold one %s, where the revision goes");
    }
}
