use serde_json::json;

use super::*;
use crate::domain::model::{Property, SourceStamp};

fn build() -> Build {
    let mut properties = crate::domain::model::Properties::new();
    for (name, value) in [
        ("owner", json!("ann")),
        ("empty", json!("")),
        ("zero", json!(0)),
        ("nothing", json!(null)),
        ("flag", json!(true)),
        ("list", json!(["a", 1])),
    ] {
        properties.insert(name.to_owned(), Property { value, source: "test".into() });
    }
    Build {
        builder: "linux".into(),
        number: 7,
        properties,
        sourcestamps: vec![
            SourceStamp { revision: Some("abc123".into()), branch: Some("main".into()), ..SourceStamp::default() },
            SourceStamp { codebase: "docs".into(), repository: "https://x/docs.git".into(), ..SourceStamp::default() },
        ],
        worker: "w1".into(),
        ..Build::default()
    }
}

fn render(template: &str) -> String {
    let build = build();
    let keywords = [("result", json!("failure"))];
    let worker = Worker { name: "w1".into(), host: Some("box".into()), ..Worker::default() };
    let with = Renderables { build: &build, keywords: &keywords, worker: Some(&worker) };
    Interpolate::parse(template).unwrap_or_else(|e| panic!("{template}: {e}")).render(&with)
}

#[test]
fn lookups_read_properties_stamps_keywords_and_the_worker() {
    assert_eq!(render("%(prop:owner)s/%(prop:missing)s/%(prop:nothing)s."), "ann//.");
    assert_eq!(
        render("%(src::revision)s on %(src::branch)s, %(src:docs:repository)s"),
        "abc123 on main, https://x/docs.git"
    );
    assert_eq!(render("%(src:nope:revision)s|%(src::hasPatch)s"), "|False");
    assert_eq!(render("%(kw:result)s by %(worker:host)s (%(slave:name)s)"), "failure by box (w1)");
    assert_eq!(render("%(prop:zero)s %(prop:flag)s %(prop:list)s"), "0 True ['a', 1]");
    assert_eq!(render("100%% %(prop:owner)s"), "100% ann");
}

#[test]
fn replacements_follow_buildbots_rules() {
    assert_eq!(render("%(prop:missing:-none)s %(prop:empty:-none)s"), "none ");
    assert_eq!(render("%(prop:missing:~none)s %(prop:empty:~none)s %(prop:owner:~none)s"), "none none ann");
    assert_eq!(render("%(prop:owner:+set)s|%(prop:missing:+set)s"), "set|");
    assert_eq!(render("%(prop:empty:?|yes|no)s %(prop:missing:?|yes|no)s"), "yes no");
    assert_eq!(render("%(prop:empty:#?|yes|no)s %(prop:flag:#?|yes|no)s"), "no yes");
    assert_eq!(render("%(prop:missing:-by %(prop:owner)s)s"), "by ann", "replacements are templates");
    assert_eq!(render("%(prop:owner:?:(a:b):c)s"), "(a:b)", "a delimiter inside parentheses does not split");
}

#[test]
fn mistakes_are_refused_naming_the_part() {
    for (template, says) in [
        ("%(owner)s", "no selector"),
        ("%(env:HOME)s", "unknown selector 'env'"),
        ("%(prop:owner)d", "only the 's' conversion"),
        ("%(prop:owner", "no closing ')'"),
        ("50% off", "write '%%'"),
        ("%(prop:a b)s", "not a property name"),
        ("%(src:revision)s", "src:CODEBASE:ATTRIBUTE"),
        ("%(prop:x:!y)s", "not ':!y'"),
        ("%(prop:x:?(a)(b))s", "'(' cannot delimit"),
        ("%(prop:x:?|only)s", "choices"),
    ] {
        let e = Interpolate::parse(template).expect_err(template);
        assert!(e.contains(says), "{template}: {e}");
    }
}

#[test]
fn the_literal_text_leaves_lookups_out() {
    let t = Interpolate::parse("X-%(prop:owner)s-Build").expect("parses");
    assert_eq!(t.literal_text(), "X--Build");
    assert_eq!(
        Interpolate::literal("a%b").render(&Renderables { build: &build(), keywords: &[], worker: None }),
        "a%b"
    );
}
