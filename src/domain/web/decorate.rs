//! 0.8's URL-decorating options (spec-web §11.2): what turns a revision into a link to its
//! commit page (`revlink`), ticket numbers in change comments into links
//! (`changecommentlink`), and project and repository names into links (`projects`,
//! `repositories`). Every page that shows one of them, the feeds and the mails go through here.
//!
//! Whatever a rule produces is linked only when it runs nothing (`safe_url`): an operator's
//! pattern fed a sender's text must not become a `javascript:` link.

use std::collections::BTreeMap;
use std::sync::Arc;

use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use regex::Regex;

use super::text::safe_url;
use crate::domain::model::Change;

/// A revision's commit page, from the revision and its repository.
pub type RevisionRule = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;
/// A name's page (a project's, a repository's).
pub type NameRule = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

#[derive(Clone, Default)]
pub enum RevLink {
    /// 0.8's default: GitHub repository URLs (`https://`, `git://`, `git@…:`, `ssh://`) and
    /// SourceForge's gitweb and Allura ones → their commit pages.
    #[default]
    Known,
    /// One pattern for every repository: `%s` is the URL-quoted revision.
    Pattern(String),
    /// A pattern for each repository named; other repositories get no link.
    ByRepository(BTreeMap<String, String>),
    /// The library's own rule.
    Rule(RevisionRule),
}

/// `changecommentlink`: matches of `regex` in a comment become links to `url` (with the
/// match's groups: `\1`, `\g<name>`, `\g<0>`), titled `title` when it is given.
#[derive(Clone)]
pub struct CommentLink {
    regex: Regex,
    /// In the regex crate's replacement syntax (`${1}`, `${name}`).
    url: String,
    title: Option<String>,
}

#[derive(Clone, Default)]
pub enum CommentLinks {
    #[default]
    None,
    One(CommentLink),
    /// A link rule for each project named; other projects' comments stay plain.
    ByProject(BTreeMap<String, CommentLink>),
}

#[derive(Clone, Default)]
pub enum NameLinks {
    #[default]
    None,
    Map(BTreeMap<String, String>),
    Rule(NameRule),
}

/// All four, as the site is configured.
#[derive(Clone, Default)]
pub struct Decorations {
    pub revlink: RevLink,
    pub comment_links: CommentLinks,
    pub projects: NameLinks,
    pub repositories: NameLinks,
}

impl CommentLink {
    /// Checks the regex and the templates (0.8's `\1` and `\g<name>` group references).
    pub fn new(regex: &str, url: &str, title: Option<&str>) -> Result<Self, String> {
        let regex = Regex::new(regex).map_err(|e| format!("'{regex}' is not a regular expression: {e}"))?;
        let group = |template: &str| -> Result<String, String> {
            let converted = python_groups(template);
            // Every group a template names must exist.
            let probe = Regex::new(r"\$\{([^}]*)\}").map_err(|e| e.to_string())?;
            for name in probe.captures_iter(&converted).filter_map(|c| c.get(1)) {
                let name = name.as_str();
                let known = name
                    .parse::<usize>()
                    .map_or_else(|_| regex.capture_names().flatten().any(|n| n == name), |n| n < regex.captures_len());
                if !known {
                    return Err(format!("'{template}' names group {name}, which the regex does not have"));
                }
            }
            Ok(converted)
        };
        Ok(Self { url: group(url)?, title: title.map(group).transpose()?, regex })
    }

    fn render(&self, text: &str) -> Markup {
        // Plain text between the matches, and each match with its link.
        let (mut pieces, mut last) = (Vec::new(), 0);
        for caps in self.regex.captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            let url = expand(&caps, &self.url);
            let title = self.title.as_ref().map(|t| expand(&caps, t)).filter(|t| !t.is_empty());
            pieces.push((&text[last..whole.start()], None));
            pieces.push((whole.as_str(), safe_url(&url).map(|u| (u.to_owned(), title))));
            last = whole.end();
        }
        pieces.push((&text[last..], None));
        html! {
            @for (shown, link) in pieces {
                @match link {
                    Some((url, title)) => a href=(url) title=[title] { (shown) },
                    None => (shown),
                }
            }
        }
    }
}

fn expand(caps: &regex::Captures, template: &str) -> String {
    let mut out = String::new();
    caps.expand(template, &mut out);
    out
}

/// Python's `\1`, `\g<1>` and `\g<name>` as the regex crate's `${1}` and `${name}`; a `$`
/// meant as itself is kept so.
fn python_groups(template: &str) -> String {
    let (mut out, mut chars) = (String::new(), template.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    n.push(d);
                }
                out.push_str(&format!("${{{n}}}"));
            }
            '\\' if chars.peek() == Some(&'g') => {
                let rest: String = chars.clone().collect();
                match rest.strip_prefix("g<").and_then(|r| r.split_once('>')) {
                    Some((name, _)) => {
                        out.push_str(&format!("${{{name}}}"));
                        for _ in 0..name.chars().count() + 3 {
                            chars.next();
                        }
                    }
                    None => out.push(c),
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl Decorations {
    /// The commit page of `rev` in `repository`, when a rule knows one and it runs nothing.
    pub fn revision_url(&self, rev: &str, repository: &str) -> Option<String> {
        if rev.is_empty() {
            return None;
        }
        let quoted = || utf8_percent_encode(rev, NON_ALPHANUMERIC).to_string();
        let url = match &self.revlink {
            RevLink::Known => known_commit_page(rev, repository),
            RevLink::Pattern(p) => Some(p.replacen("%s", &quoted(), 1)),
            RevLink::ByRepository(map) => map.get(repository).map(|p| p.replacen("%s", &quoted(), 1)),
            RevLink::Rule(rule) => rule(rev, repository),
        }?;
        safe_url(&url).map(str::to_owned)
    }

    /// A change's commit page: the one its sender gave (`revlink`), else the site's rule.
    pub fn change_url(&self, change: &Change) -> Option<String> {
        let own = change.revlink.as_deref().and_then(safe_url).map(str::to_owned);
        own.or_else(|| self.revision_url(change.revision.as_deref()?, &change.repository))
    }

    /// A change comment, with its ticket references linked as `changecommentlink` says (for
    /// `project`'s rule when there is one per project).
    pub fn comment(&self, text: &str, project: &str) -> Markup {
        let rule = match &self.comment_links {
            CommentLinks::None => None,
            CommentLinks::One(rule) => Some(rule),
            CommentLinks::ByProject(rules) => rules.get(project),
        };
        match rule {
            Some(rule) => rule.render(text),
            None => html! { (text) },
        }
    }

    /// A project's name, linked to its page when `projects` names one.
    pub fn project(&self, name: &str) -> Markup {
        named(&self.projects, name)
    }

    /// A repository, linked to its page when `repositories` names one.
    pub fn repository(&self, name: &str) -> Markup {
        named(&self.repositories, name)
    }
}

fn named(links: &NameLinks, name: &str) -> Markup {
    let url = match links {
        NameLinks::None => None,
        NameLinks::Map(map) => map.get(name).cloned(),
        NameLinks::Rule(rule) => rule(name),
    };
    match url.as_deref().and_then(safe_url) {
        Some(url) => html! { a href=(url) { (name) } },
        None => html! { (name) },
    }
}

/// 0.8's default revlink: GitHub repositories (`https://github.com/O/R[.git]`,
/// `git://github.com/…`, `git@github.com:…`, `ssh://git@github.com/…`) and SourceForge's git.
fn known_commit_page(rev: &str, repository: &str) -> Option<String> {
    let repo = repository.trim().trim_end_matches('/').trim_end_matches(".git");
    let github =
        ["https://github.com/", "http://github.com/", "git://github.com/", "ssh://git@github.com/", "git@github.com:"]
            .iter()
            .find_map(|prefix| repo.strip_prefix(prefix));
    if let Some(path) = github.filter(|p| p.split('/').count() == 2 && !p.contains(['?', '#', ' '])) {
        return Some(format!("https://github.com/{path}/commit/{}", utf8_percent_encode(rev, NON_ALPHANUMERIC)));
    }
    // SourceForge: git://git.code.sf.net/p/PROJECT/REPO, https://git.code.sf.net/p/PROJECT/REPO
    let sourceforge = ["git://git.code.sf.net/p/", "https://git.code.sf.net/p/", "http://git.code.sf.net/p/"]
        .iter()
        .find_map(|prefix| repo.strip_prefix(prefix));
    let (project, name) = sourceforge?.split_once('/')?;
    let rev = utf8_percent_encode(rev, NON_ALPHANUMERIC);
    Some(format!("https://sourceforge.net/p/{project}/{name}/ci/{rev}/"))
}

/// Rules are code: equal when they are the same rule.
impl PartialEq for Decorations {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
            && rules(self).iter().zip(rules(other)).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => std::ptr::eq(*a, b),
                (None, None) => true,
                _ => false,
            })
    }
}

impl Eq for Decorations {}

/// The addresses of the rules, in a fixed order.
fn rules(d: &Decorations) -> [Option<*const ()>; 3] {
    let revision = match &d.revlink {
        RevLink::Rule(r) => Some(Arc::as_ptr(r) as *const ()),
        _ => None,
    };
    let name = |links: &NameLinks| match links {
        NameLinks::Rule(r) => Some(Arc::as_ptr(r) as *const ()),
        _ => None,
    };
    [revision, name(&d.projects), name(&d.repositories)]
}

impl std::fmt::Debug for Decorations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let revlink = match &self.revlink {
            RevLink::Known => "known hosts".to_owned(),
            RevLink::Pattern(p) => p.clone(),
            RevLink::ByRepository(map) => format!("{map:?}"),
            RevLink::Rule(_) => "a rule".to_owned(),
        };
        let comments = match &self.comment_links {
            CommentLinks::None => "none".to_owned(),
            CommentLinks::One(l) => format!("{} → {}", l.regex, l.url),
            CommentLinks::ByProject(map) => {
                let each: Vec<String> = map.iter().map(|(p, l)| format!("{p}: {} → {}", l.regex, l.url)).collect();
                each.join("; ")
            }
        };
        let names = |links: &NameLinks| match links {
            NameLinks::None => "none".to_owned(),
            NameLinks::Map(map) => format!("{map:?}"),
            NameLinks::Rule(_) => "a rule".to_owned(),
        };
        f.debug_struct("Decorations")
            .field("revlink", &revlink)
            .field("changecommentlink", &comments)
            .field("projects", &names(&self.projects))
            .field("repositories", &names(&self.repositories))
            .finish()
    }
}

#[cfg(test)]
mod tests;
