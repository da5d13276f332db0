//! Rule tables: what the configuration file can say instead of a closure. A table names the
//! users and groups it admits, and optionally the builders (or workers) it covers by
//! name patterns (`linux-*`, `?-arm`).

use super::action::SubjectKind;
use super::authz::{Identity, Subject};

/// Who may do an action, and on which builders or workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleTable {
    /// Users admitted by name; with `groups`, either admits. Both empty: every logged-in user.
    pub users: Vec<String>,
    pub groups: Vec<String>,
    /// Builder name patterns the action is allowed on (empty: every builder).
    pub builders: Vec<String>,
    /// Worker name patterns the action is allowed on (empty: every worker).
    pub workers: Vec<String>,
}

impl RuleTable {
    /// Whether `who` may do the action on `subject`.
    pub fn admits(&self, who: &Identity, subject: &Subject<'_>) -> bool {
        let anyone = self.users.is_empty() && self.groups.is_empty();
        let named = self.users.contains(&who.user) || who.groups.iter().any(|g| self.groups.contains(g));
        let on = |patterns: &[String], name: Option<&str>| {
            patterns.is_empty() || name.is_some_and(|n| patterns.iter().any(|p| glob_matches(p, n)))
        };
        (anyone || named) && on(&self.builders, subject.builder_name()) && on(&self.workers, subject.worker_name())
    }

    /// What is wrong with this table for an action about `kind`: a pattern that could never
    /// match because the action is not about a builder (or a worker).
    pub fn problem(&self, kind: SubjectKind) -> Option<&'static str> {
        let about_builder = matches!(kind, SubjectKind::Builder | SubjectKind::Build | SubjectKind::Request);
        if !self.builders.is_empty() && !about_builder {
            return Some("'builders' only applies to actions about a builder, build or request");
        }
        if !self.workers.is_empty() && kind != SubjectKind::Worker {
            return Some("'workers' only applies to gracefulShutdown and pauseSlave");
        }
        None
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (also none)
/// and `?` for one character; everything else stands for itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of the name it has taken: a mismatch later retries
    // with the star taking one character more (linear backtracking, no recursion).
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Builder, Worker};
    use proptest::prelude::*;

    #[test]
    fn patterns_match_as_shells_do() {
        for (pattern, name, expected) in [
            ("linux-*", "linux-gcc", true),
            ("linux-*", "linux-", true),
            ("linux-*", "macos-gcc", false),
            ("*-arm64", "windows-arm64", true),
            ("*gcc*", "linux-gcc-12", true),
            ("?-x", "a-x", true),
            ("?-x", "ab-x", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
        ] {
            assert_eq!(glob_matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }

    proptest! {
        #[test]
        fn a_name_matches_itself_and_a_star(name in "[a-z0-9-]{0,12}") {
            prop_assert!(glob_matches(&name, &name));
            prop_assert!(glob_matches("*", &name));
            let prefix: String = name.chars().take(3).collect();
            let pattern = format!("{prefix}*");
            prop_assert!(glob_matches(&pattern, &name));
        }
    }

    fn bob() -> Identity {
        Identity { groups: vec!["releng".into()], ..Identity::new("bob") }
    }

    #[test]
    fn users_groups_and_builders_each_narrow_the_rule() {
        let linux = Builder { name: "linux-gcc".into(), ..Builder::default() };
        let mac = Builder { name: "macos".into(), ..Builder::default() };
        let on_linux = Subject::Builder(&linux);
        let anyone = RuleTable::default();
        assert!(anyone.admits(&bob(), &on_linux) && anyone.admits(&Identity::new("eve"), &on_linux));
        let by_group = RuleTable { groups: vec!["releng".into()], ..RuleTable::default() };
        assert!(by_group.admits(&bob(), &on_linux));
        assert!(!by_group.admits(&Identity::new("eve"), &on_linux));
        let by_name = RuleTable { users: vec!["eve".into()], groups: vec!["ops".into()], ..RuleTable::default() };
        assert!(by_name.admits(&Identity::new("eve"), &on_linux) && !by_name.admits(&bob(), &on_linux));
        let linux_only = RuleTable { builders: vec!["linux-*".into()], ..by_group.clone() };
        assert!(linux_only.admits(&bob(), &on_linux));
        assert!(!linux_only.admits(&bob(), &Subject::Builder(&mac)));
        assert!(!linux_only.admits(&bob(), &Subject::Nothing), "no builder: a builder rule cannot say yes");
        let w = Worker { name: "win-w1".into(), ..Worker::default() };
        let windows = RuleTable { workers: vec!["win-*".into()], ..RuleTable::default() };
        assert!(windows.admits(&bob(), &Subject::Worker(&w)));
        assert!(!windows.admits(&bob(), &Subject::Builder(&linux)));
    }

    #[test]
    fn patterns_that_can_never_apply_are_problems() {
        let builders = RuleTable { builders: vec!["x".into()], ..RuleTable::default() };
        assert_eq!(builders.problem(SubjectKind::Builder), None);
        assert_eq!(builders.problem(SubjectKind::Request), None);
        assert!(builders.problem(SubjectKind::Nothing).is_some());
        let workers = RuleTable { workers: vec!["x".into()], ..RuleTable::default() };
        assert_eq!(workers.problem(SubjectKind::Worker), None);
        assert!(workers.problem(SubjectKind::Builder).is_some());
    }
}
