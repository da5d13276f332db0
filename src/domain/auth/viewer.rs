//! Who is looking at a page, as the page's renderer needs to know: the logged-in user (if
//! any), what they may do (the [`Authz`] decides, with the object each form is about), the
//! CSRF token their forms carry, and how the header invites them to log in.

use std::sync::Arc;

use super::action::Action;
use super::authz::{Authz, Identity, Subject};

/// How the header's top-right box offers a login to a visitor who is not logged in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LoginBox {
    /// Nobody can log in: no box.
    #[default]
    None,
    /// The user name and password form (posting to `login`).
    Form,
    /// A link to the front end's login page (`httpLoginUrl`).
    Link(String),
}

/// The visitor a request comes from.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    pub identity: Option<Identity>,
    pub authz: Arc<Authz>,
    /// The token forms carry (empty: this visitor has no CSRF seed, so no form is shown).
    pub csrf: String,
    pub login: LoginBox,
    /// Whether a logged-in visitor can log out here (not when a front end logs them in).
    pub can_log_out: bool,
}

impl Viewer {
    /// Whether this visitor may do `action` on `subject`: what decides whether its form (or,
    /// for the pages `view` and `showUsersPage`, its link) shows. A form also needs a token.
    pub fn may(&self, action: Action, subject: &Subject<'_>) -> bool {
        let page = matches!(action, Action::View | Action::ShowUsersPage);
        (page || !self.csrf.is_empty()) && self.authz.allows(action, self.identity.as_ref(), subject)
    }

    /// The "full username" of a logged-in visitor.
    pub fn owner(&self) -> Option<String> {
        self.identity.as_ref().map(Identity::owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_need_a_token_and_the_authz() {
        let authz = Arc::new(Authz::builder().allow(Action::PingBuilder).authenticated(Action::ForceBuild).build());
        let anonymous = Viewer { authz: authz.clone(), csrf: "t".into(), ..Viewer::default() };
        assert!(anonymous.may(Action::PingBuilder, &Subject::Nothing));
        assert!(!anonymous.may(Action::ForceBuild, &Subject::Nothing));
        let bob = Viewer { identity: Some(Identity::new("bob")), ..anonymous.clone() };
        assert!(bob.may(Action::ForceBuild, &Subject::Nothing));
        assert_eq!(bob.owner().as_deref(), Some("bob <bob@localhost>"));
        let no_token = Viewer { csrf: String::new(), ..bob };
        assert!(!no_token.may(Action::PingBuilder, &Subject::Nothing), "a form without a token would be refused");
        assert!(no_token.may(Action::View, &Subject::Nothing));
    }
}
