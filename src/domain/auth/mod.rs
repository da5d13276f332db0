//! Who may do what on the web status, and how they prove who they are (spec-web-auth §9):
//! the thirteen actions and their rules ([`Authz`]), password hashes in every format Apache's
//! `htpasswd` writes, signed session cookies and CSRF tokens, and the visitor a page is
//! rendered for. Pure: the session store, the password files, rate limits and the handlers
//! that use these live in `adapters::http` and `adapters::passwords`.

pub mod action;
pub mod authz;
pub mod htpasswd;
pub mod password;
pub mod rules;
pub mod session;
pub mod viewer;

pub use action::{Action, SubjectKind};
pub use authz::{Authz, AuthzBuilder, Check, Identity, Rule, Subject};
pub use rules::RuleTable;
pub use session::SessionKey;
pub use viewer::{LoginBox, Viewer};
