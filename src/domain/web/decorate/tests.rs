use super::*;

fn render(m: Markup) -> String {
    m.into_string()
}

#[test]
fn known_hosts_link_revisions_to_their_commit_pages() {
    let d = Decorations::default();
    let page = "https://github.com/acme/widget/commit/abc123";
    for repo in [
        "https://github.com/acme/widget",
        "https://github.com/acme/widget.git",
        "git://github.com/acme/widget.git",
        "git@github.com:acme/widget.git",
        "ssh://git@github.com/acme/widget",
    ] {
        assert_eq!(d.revision_url("abc123", repo).as_deref(), Some(page), "{repo}");
    }
    assert_eq!(
        d.revision_url("abc", "git://git.code.sf.net/p/proj/code").as_deref(),
        Some("https://sourceforge.net/p/proj/code/ci/abc/")
    );
    assert_eq!(d.revision_url("abc", "https://git.example.org/widget.git"), None);
    assert_eq!(d.revision_url("", "https://github.com/acme/widget"), None);
}

#[test]
fn patterns_quote_the_revision_and_per_repository_ones_only_link_theirs() {
    let one = Decorations { revlink: RevLink::Pattern("http://cgit/x?id=%s".into()), ..Decorations::default() };
    assert_eq!(one.revision_url("a b/c", "any").as_deref(), Some("http://cgit/x?id=a%20b%2Fc"));
    let by = BTreeMap::from([("https://r/one".to_owned(), "https://r/one/c/%s".to_owned())]);
    let by = Decorations { revlink: RevLink::ByRepository(by), ..Decorations::default() };
    assert_eq!(by.revision_url("1", "https://r/one").as_deref(), Some("https://r/one/c/1"));
    assert_eq!(by.revision_url("1", "https://r/two"), None);
    let hostile = Decorations { revlink: RevLink::Pattern("javascript:alert(%s)".into()), ..Decorations::default() };
    assert_eq!(hostile.revision_url("1", ""), None, "a rule's URL that would run code is not linked");
}

#[test]
fn comment_links_turn_matches_into_links_and_escape_the_rest() {
    let rule = CommentLink::new(r"#(\d+)", r"http://bugs/\1", Some(r"Ticket \g<1>")).expect("valid");
    let d = Decorations { comment_links: CommentLinks::One(rule), ..Decorations::default() };
    assert_eq!(
        render(d.comment("fix #12 and <b>#7</b>", "")),
        "fix <a href=\"http://bugs/12\" title=\"Ticket 12\">#12</a> and &lt;b&gt;\
         <a href=\"http://bugs/7\" title=\"Ticket 7\">#7</a>&lt;/b&gt;"
    );
    let named = CommentLink::new(r"(?P<id>[A-Z]+-\d+)", r"https://jira/\g<id>", None).expect("valid");
    let by_project = BTreeMap::from([("widget".to_owned(), named)]);
    let d = Decorations { comment_links: CommentLinks::ByProject(by_project), ..Decorations::default() };
    assert_eq!(render(d.comment("see WID-3", "widget")), "see <a href=\"https://jira/WID-3\">WID-3</a>");
    assert_eq!(render(d.comment("see WID-3", "other")), "see WID-3", "other projects stay plain");
    assert!(CommentLink::new(r"#(\d+)", r"http://bugs/\2", None).is_err(), "a group the regex lacks");
    assert!(CommentLink::new(r"#(\d+", "x", None).is_err(), "a bad regex");
}

#[test]
fn names_link_to_their_pages() {
    let projects = NameLinks::Map(BTreeMap::from([("widget".to_owned(), "https://widget.example.org/".to_owned())]));
    let d = Decorations { projects, ..Decorations::default() };
    assert_eq!(render(d.project("widget")), "<a href=\"https://widget.example.org/\">widget</a>");
    assert_eq!(render(d.project("<x>")), "&lt;x&gt;");
    assert_eq!(render(d.repository("r")), "r");
}
