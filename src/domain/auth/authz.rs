//! Who may do what (spec-web-auth §9.1–9.2): each action is denied, allowed to everyone,
//! allowed to any logged-in user, or decided by a rule (a closure of the embedding master, or
//! a table of the configuration file) that sees the user and the object the action is about.

use std::fmt;
use std::sync::Arc;

use super::action::Action;
use super::rules::RuleTable;
use crate::domain::model::{Build, BuildRequest, Builder, Worker};

/// A logged-in user, as the authentication backend describes them (spec §9.3: by default the
/// full name is the user name, the mail address `USER@localhost`, the one group the user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub full_name: String,
    pub email: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// `user` with the default user info.
    pub fn new(user: &str) -> Self {
        Self {
            user: user.to_owned(),
            full_name: user.to_owned(),
            email: format!("{user}@localhost"),
            groups: vec![user.to_owned()],
        }
    }

    /// The "full username" builds are owned by and reasons name: `FULLNAME <EMAIL>`.
    pub fn owner(&self) -> String {
        format!("{} <{}>", self.full_name, self.email)
    }
}

/// What an action is about: the object a rule is given with the user.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Nothing,
    Builder(&'a Builder),
    Build(&'a Build),
    Request(&'a BuildRequest),
    Worker(&'a Worker),
}

impl Subject<'_> {
    /// The builder the subject belongs to.
    pub fn builder_name(&self) -> Option<&str> {
        match self {
            Subject::Builder(b) => Some(&b.name),
            Subject::Build(b) => Some(&b.builder),
            Subject::Request(r) => Some(&r.builder),
            Subject::Nothing | Subject::Worker(_) => None,
        }
    }

    pub fn worker_name(&self) -> Option<&str> {
        match self {
            Subject::Worker(w) => Some(&w.name),
            _ => None,
        }
    }
}

/// A rule of the embedding master: true when `user` may do the action on the subject.
pub type Check = Arc<dyn Fn(&Identity, &Subject<'_>) -> bool + Send + Sync>;

/// How one action is decided.
#[derive(Clone, Default)]
pub enum Rule {
    /// Nobody (the seed's `False`).
    #[default]
    Deny,
    /// Everybody, logged in or not (`True`).
    Allow,
    /// Any logged-in user (`'auth'`).
    Authenticated,
    /// Logged-in users the table admits.
    Table(RuleTable),
    /// Logged-in users for whom the closure says yes (the seed's callable).
    Check(Check),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Deny => f.write_str("Deny"),
            Rule::Allow => f.write_str("Allow"),
            Rule::Authenticated => f.write_str("Authenticated"),
            Rule::Table(t) => f.debug_tuple("Table").field(t).finish(),
            Rule::Check(_) => f.write_str("Check(..)"),
        }
    }
}

impl Rule {
    /// The rule as a closure.
    pub fn check(f: impl Fn(&Identity, &Subject<'_>) -> bool + Send + Sync + 'static) -> Self {
        Rule::Check(Arc::new(f))
    }
}

/// The decision of every action.
#[derive(Clone, Debug)]
pub struct Authz {
    /// Each action's own rule, by [`Action::index`]; `None` takes the default.
    rules: [Option<Rule>; 13],
    /// The seed's `default_action`: every action not named, except `view`.
    default: Rule,
}

impl Default for Authz {
    /// The seed's `Authz()`: everyone may look, nobody may act.
    fn default() -> Self {
        Authz::builder().build()
    }
}

impl Authz {
    pub fn builder() -> AuthzBuilder {
        AuthzBuilder { rules: Default::default(), default: Rule::Deny }
    }

    /// The rule `action` is decided by.
    pub fn rule(&self, action: Action) -> &Rule {
        match (&self.rules[action.index()], action) {
            (Some(rule), _) => rule,
            // `view` is allowed unless said otherwise; `default_action` does not touch it.
            (None, Action::View) => &Rule::Allow,
            (None, _) => &self.default,
        }
    }

    /// Whether `who` (`None`: nobody logged in) may do `action` on `subject`.
    pub fn allows(&self, action: Action, who: Option<&Identity>, subject: &Subject<'_>) -> bool {
        match self.rule(action) {
            Rule::Deny => false,
            Rule::Allow => true,
            Rule::Authenticated => who.is_some(),
            Rule::Table(table) => who.is_some_and(|w| table.admits(w, subject)),
            Rule::Check(check) => who.is_some_and(|w| check(w, subject)),
        }
    }

    /// Whether logging in could make `action` allowed (it is neither denied nor open to all).
    pub fn wants_login(&self, action: Action) -> bool {
        matches!(self.rule(action), Rule::Authenticated | Rule::Table(_) | Rule::Check(_))
    }

    /// Whether any action with a form may ever be allowed: only then do pages carry forms
    /// (and browsers get a CSRF cookie).
    pub fn any_action(&self) -> bool {
        let forms = Action::ALL.into_iter().filter(|a| !matches!(a, Action::View | Action::ShowUsersPage));
        forms.into_iter().any(|a| !matches!(self.rule(a), Rule::Deny))
    }
}

/// Builds an [`Authz`]: `Authz::builder().allow(Action::PingBuilder).authenticated(Action::ForceBuild)
/// .check(Action::StopBuild, |user, _| user.groups.contains(&"releng".into())).build()`.
#[derive(Clone, Debug)]
pub struct AuthzBuilder {
    rules: [Option<Rule>; 13],
    default: Rule,
}

impl AuthzBuilder {
    /// The rule of every action not given its own (except `view`, allowed unless given one).
    pub fn default_action(mut self, rule: Rule) -> Self {
        self.default = rule;
        self
    }

    /// `action` is decided by `rule`.
    pub fn rule(mut self, action: Action, rule: Rule) -> Self {
        self.rules[action.index()] = Some(rule);
        self
    }

    pub fn allow(self, action: Action) -> Self {
        self.rule(action, Rule::Allow)
    }

    pub fn deny(self, action: Action) -> Self {
        self.rule(action, Rule::Deny)
    }

    pub fn authenticated(self, action: Action) -> Self {
        self.rule(action, Rule::Authenticated)
    }

    pub fn check(self, action: Action, f: impl Fn(&Identity, &Subject<'_>) -> bool + Send + Sync + 'static) -> Self {
        self.rule(action, Rule::check(f))
    }

    /// Whether `action` was given a rule of its own.
    pub fn has_rule(&self, action: Action) -> bool {
        self.rules[action.index()].is_some()
    }

    pub fn build(self) -> Authz {
        Authz { rules: self.rules, default: self.default }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smoketest() -> Builder {
        Builder { name: "smoketest".into(), ..Builder::default() }
    }

    #[test]
    fn by_default_everyone_may_look_and_nobody_may_act() {
        let authz = Authz::default();
        let bob = Identity::new("bob");
        assert!(authz.allows(Action::View, None, &Subject::Nothing));
        for action in Action::ALL.into_iter().filter(|a| *a != Action::View) {
            assert!(!authz.allows(action, Some(&bob), &Subject::Nothing), "{action}");
        }
        assert!(!authz.any_action());
    }

    #[test]
    fn each_kind_of_rule_decides_as_the_seed_says() {
        // The seed's example: smoketest for any logged-in user, everything for releng.
        let authz = Authz::builder()
            .default_action(Rule::Authenticated)
            .allow(Action::PingBuilder)
            .deny(Action::View)
            .check(Action::ForceBuild, |user, subject| {
                subject.builder_name() == Some("smoketest") || user.user == "releng"
            })
            .build();
        let (bob, releng) = (Identity::new("bob"), Identity::new("releng"));
        let (smoke, other) = (smoketest(), Builder { name: "linux".into(), ..Builder::default() });
        assert!(!authz.allows(Action::View, Some(&bob), &Subject::Nothing), "view said no, not the default");
        assert!(authz.allows(Action::PingBuilder, None, &Subject::Builder(&other)));
        assert!(!authz.allows(Action::StopBuild, None, &Subject::Nothing), "the default: log in first");
        assert!(authz.allows(Action::StopBuild, Some(&bob), &Subject::Nothing));
        assert!(authz.allows(Action::ForceBuild, Some(&bob), &Subject::Builder(&smoke)));
        assert!(!authz.allows(Action::ForceBuild, Some(&bob), &Subject::Builder(&other)));
        assert!(authz.allows(Action::ForceBuild, Some(&releng), &Subject::Builder(&other)));
        assert!(!authz.allows(Action::ForceBuild, None, &Subject::Builder(&smoke)), "a rule needs a user");
        assert!(authz.wants_login(Action::ForceBuild) && !authz.wants_login(Action::PingBuilder));
        assert!(authz.any_action());
    }

    #[test]
    fn the_full_username_is_name_and_address() {
        assert_eq!(Identity::new("bob").owner(), "bob <bob@localhost>");
        assert_eq!(Identity::new("bob").groups, ["bob"]);
    }
}
