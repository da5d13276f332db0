//! Who a request comes from, and the pages of logging in and out (spec-web-auth §9.2–9.4).
//!
//! Every request is read once into a [`Visit`] before its route's handler runs: the visitor
//! (logged in through a signed session cookie, or — behind a trusted front end — through the
//! user header it sets), the CSRF token their forms carry, and a cookie to set when the
//! visitor needs a CSRF seed. The route table then checks `view`, and the handlers the rest.
//!
//! Sessions live in memory ([`sessions`]); failed logins are counted per user name and per
//! address ([`limits`]); passwords are checked by the configured [`Authenticator`].

pub mod limits;
mod pages;
pub mod sessions;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub use limits::{LoginLimiter, LoginLimits};
pub use pages::{authfail, authzfail, login, login_page, logout};
pub use sessions::SessionStore;

use super::listen::Peer;
use crate::domain::auth::session::{CSRF_COOKIE, SESSION_COOKIE, cookie, set_cookie};
use crate::domain::auth::{Authz, Identity, LoginBox, SessionKey, Viewer};
use crate::domain::model::Timestamp;
use crate::ports::Authenticator;

/// How visitors log in.
#[derive(Clone, Default)]
pub enum Login {
    /// Nobody can: only what is allowed to everyone can be done.
    #[default]
    Nobody,
    /// With a user name and password (the login form), checked by this backend.
    Password(Arc<dyn Authenticator>),
    /// With a user name and password, checked against the users of the server's own
    /// database (`UsersAuth`): the server makes it [`Login::Password`] when it starts.
    UsersTable,
    /// A front end logs them in (`useHttpHeader`).
    FrontEnd(FrontEnd),
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Nobody => f.write_str("Nobody"),
            Login::Password(a) => write!(f, "Password({})", a.describe()),
            Login::UsersTable => f.write_str("UsersTable"),
            Login::FrontEnd(front) => f.debug_tuple("FrontEnd").field(front).finish(),
        }
    }
}

/// A front end that authenticates users (the seed's `useHttpHeader`): its user header is
/// believed only on requests from its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontEnd {
    /// Addresses the front end connects from; `unix` in the configuration is a UNIX socket.
    pub trusted: Vec<IpAddr>,
    /// Whether requests on a UNIX socket come from the front end.
    pub trust_unix: bool,
    /// The header with the user name (`X-Remote-User`); without it, the user of a Basic
    /// `Authorization` header the front end passed on (0.8's way).
    pub header: String,
    /// A login page of the front end, linked for visitors not logged in (`httpLoginUrl`).
    pub login_url: Option<String>,
}

impl FrontEnd {
    /// The user the front end says a request is from, if the request came from it.
    fn user(&self, headers: &HeaderMap, peer: Peer) -> Option<String> {
        let trusted = (peer.unix && self.trust_unix) || peer.address.is_some_and(|a| self.trusted.contains(&a));
        if !trusted {
            return None;
        }
        let named = headers.get(self.header.as_str()).and_then(|v| v.to_str().ok()).map(str::trim);
        let user = match named.filter(|u| !u.is_empty()) {
            Some(user) => user.to_owned(),
            None => basic_user(headers)?,
        };
        (!user.is_empty()).then_some(user)
    }
}

/// The user of a `Basic` `Authorization` header.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    let decoded = STANDARD.decode(encoded.trim()).ok().filter(|_| scheme.eq_ignore_ascii_case("basic"))?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':').map_or(text.as_str(), |(user, _)| user).to_owned())
}

/// Everything about authentication and authorisation a server is set up with.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub authz: Arc<Authz>,
    pub login: Login,
    /// Groups of users, by user name (beside the group of their own name).
    pub groups: BTreeMap<String, Vec<String>>,
    /// How long a session lasts (never extended).
    pub session_length: chrono::Duration,
    pub limits: LoginLimits,
}

impl AuthSettings {
    /// `identity` with the groups the configuration gives its user.
    pub fn with_groups(&self, mut identity: Identity) -> Identity {
        if let Some(more) = self.groups.get(&identity.user) {
            for group in more {
                if !identity.groups.contains(group) {
                    identity.groups.push(group.clone());
                }
            }
        }
        identity
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            authz: Arc::default(),
            login: Login::Nobody,
            groups: BTreeMap::new(),
            session_length: chrono::Duration::hours(24),
            limits: LoginLimits::default(),
        }
    }
}

/// The running side of [`AuthSettings`]: the signing key, the sessions and the login counts.
#[derive(Debug)]
pub struct WebAuth {
    pub settings: AuthSettings,
    pub key: SessionKey,
    pub sessions: SessionStore,
    pub limiter: LoginLimiter,
}

/// The visitor a request comes from, as read before its handler runs.
#[derive(Clone, Debug, Default)]
pub struct Visit {
    pub viewer: Viewer,
    pub peer: Peer,
    /// The session the cookie names, when it is live.
    pub session: Option<String>,
    /// What the CSRF token of this visitor is derived from.
    pub seed: Option<String>,
    /// A `Set-Cookie` the answer carries: a new CSRF seed.
    pub set_cookie: Option<String>,
}

/// 32 random hex characters: a session id or a CSRF seed.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without randomness no session could be trusted: refuse to make one that can be guessed.
        panic!("the system's random source failed: {e}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random signing key for this process's sessions (they do not outlive it anyway).
pub fn random_key() -> SessionKey {
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the system's random source failed: {e}");
    }
    SessionKey::new(bytes)
}

/// A CSRF seed cookie's value has this shape, or it is ignored (and replaced).
fn is_seed(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

impl WebAuth {
    pub fn new(settings: AuthSettings, key: SessionKey) -> Self {
        let limiter = LoginLimiter::new(settings.limits);
        Self { settings, key, sessions: SessionStore::default(), limiter }
    }

    /// `identity` with the groups the configuration gives its user.
    pub fn with_groups(&self, identity: Identity) -> Identity {
        self.settings.with_groups(identity)
    }

    /// Reads who a request with `headers` from `peer` comes from, at `now`.
    pub fn visit(&self, headers: &HeaderMap, peer: Peer, now: Timestamp) -> Visit {
        let cookies: Vec<&str> = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        let find = |name: &str| cookies.iter().find_map(|c| cookie(c, name));
        let authz = self.settings.authz.clone();
        let (identity, session, login, can_log_out) = match &self.settings.login {
            Login::Nobody | Login::UsersTable => (None, None, LoginBox::None, false),
            Login::FrontEnd(front) => {
                let user = front.user(headers, peer).map(|u| self.with_groups(Identity::new(&u)));
                let login = front.login_url.clone().map_or(LoginBox::None, LoginBox::Link);
                (user, None, login, false)
            }
            Login::Password(_) => {
                let id = find(SESSION_COOKIE).and_then(|value| self.key.open(value, now));
                let identity = id.and_then(|id| self.sessions.get(id, now));
                let session = identity.as_ref().and(id).map(str::to_owned);
                (identity, session, LoginBox::Form, true)
            }
        };
        let mut visit = Visit { peer, session: session.clone(), ..Visit::default() };
        visit.seed = match (&session, find(CSRF_COOKIE).filter(|v| is_seed(v))) {
            (Some(id), _) => Some(format!("session:{id}")),
            (None, Some(seed)) => Some(format!("browser:{seed}")),
            // Only a visitor who may see a form needs a seed; plain readers get no cookie.
            (None, None) if authz.any_action() || identity.is_some() => {
                let seed = random_id();
                visit.set_cookie = Some(set_cookie(CSRF_COOKIE, &seed, None, peer.tls));
                Some(format!("browser:{seed}"))
            }
            (None, None) => None,
        };
        let csrf = visit.seed.as_deref().map(|s| self.key.csrf_token(s)).unwrap_or_default();
        visit.viewer = Viewer { identity, authz, csrf, login, can_log_out };
        visit
    }

    /// Whether `given` is the CSRF token of the visit's seed.
    pub fn csrf_matches(&self, visit: &Visit, given: Option<&str>) -> bool {
        match (&visit.seed, given) {
            (Some(seed), Some(given)) => self.key.csrf_matches(seed, given),
            _ => false,
        }
    }
}

/// Where a request came from: what our listeners recorded, else the socket address an
/// embedding server recorded, else unknown.
pub fn peer_of(extensions: &axum::http::Extensions) -> Peer {
    if let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<Peer>>() {
        return *peer;
    }
    let address = extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    Peer { address, ..Peer::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::Action;
    use crate::ports::AuthError;
    use axum::http::HeaderValue;

    /// A backend no test here asks (sessions are made by hand).
    struct Unused;

    #[async_trait::async_trait]
    impl Authenticator for Unused {
        async fn authenticate(&self, _: &str, _: &str) -> Result<Option<Identity>, AuthError> {
            Ok(None)
        }
        fn describe(&self) -> String {
            "unused".into()
        }
    }

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_750_000_000 + s, 0).expect("time")
    }

    fn auth(login: Login, authz: Authz) -> WebAuth {
        let settings = AuthSettings { authz: Arc::new(authz), login, ..AuthSettings::default() };
        WebAuth::new(settings, SessionKey::new([3; 32]))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn a_signed_cookie_of_a_live_session_is_its_user() {
        let web = auth(Login::Password(Arc::new(Unused)), Authz::default());
        web.sessions.insert("ab".repeat(16), Identity::new("bob"), at(100), at(0));
        let cookie = format!("{SESSION_COOKIE}={}", web.key.sign(&"ab".repeat(16), at(100)));
        let visit = web.visit(&headers(&[("cookie", &cookie)]), Peer::default(), at(1));
        assert_eq!(visit.viewer.identity.map(|i| i.user), Some("bob".into()));
        assert!(visit.set_cookie.is_none(), "a logged-in visitor's seed is the session");
        assert!(!visit.viewer.csrf.is_empty());
        web.sessions.remove(&"ab".repeat(16));
        let replayed = web.visit(&headers(&[("cookie", &cookie)]), Peer::default(), at(2));
        assert_eq!(replayed.viewer.identity, None, "logged out: the cookie names nobody");
        assert_eq!(replayed.viewer.login, LoginBox::Form);
    }

    #[test]
    fn readers_get_a_csrf_cookie_only_when_some_action_is_open() {
        let closed = auth(Login::Nobody, Authz::default());
        let visit = closed.visit(&HeaderMap::new(), Peer::default(), at(0));
        assert!(visit.set_cookie.is_none() && visit.viewer.csrf.is_empty());
        let open = auth(Login::Nobody, Authz::builder().allow(Action::PingBuilder).build());
        let visit = open.visit(&HeaderMap::new(), Peer { tls: true, ..Peer::default() }, at(0));
        let set = visit.set_cookie.clone().expect("a seed");
        assert!(set.starts_with(CSRF_COOKIE) && set.ends_with("; Secure"), "{set}");
        let seed = set.split(['=', ';']).nth(1).expect("value").to_owned();
        let again = open.visit(&headers(&[("cookie", &format!("{CSRF_COOKIE}={seed}"))]), Peer::default(), at(1));
        assert!(again.set_cookie.is_none());
        assert_eq!(again.viewer.csrf, visit.viewer.csrf, "the same browser, the same token");
        assert!(open.csrf_matches(&again, Some(&visit.viewer.csrf)));
        assert!(!open.csrf_matches(&again, Some("0")));
        assert!(!open.csrf_matches(&again, None));
    }

    #[test]
    fn a_front_end_is_believed_only_from_its_addresses() {
        let front = FrontEnd {
            trusted: vec![IpAddr::from([127, 0, 0, 1])],
            trust_unix: true,
            header: "X-Remote-User".into(),
            login_url: Some("https://sso/login".into()),
        };
        let web = auth(Login::FrontEnd(front), Authz::default());
        let local = Peer { address: Some(IpAddr::from([127, 0, 0, 1])), ..Peer::default() };
        let remote = Peer { address: Some(IpAddr::from([10, 1, 1, 1])), ..Peer::default() };
        let named = headers(&[("x-remote-user", "ann")]);
        assert_eq!(web.visit(&named, local, at(0)).viewer.identity.map(|i| i.user), Some("ann".into()));
        assert_eq!(web.visit(&named, remote, at(0)).viewer.identity, None, "anyone can send the header");
        let unix = Peer { unix: true, ..Peer::default() };
        assert!(web.visit(&named, unix, at(0)).viewer.identity.is_some());
        let basic = headers(&[("authorization", &format!("Basic {}", STANDARD.encode("bob:x")))]);
        assert_eq!(web.visit(&basic, local, at(0)).viewer.identity.map(|i| i.user), Some("bob".into()));
        let nobody = web.visit(&HeaderMap::new(), local, at(0));
        assert_eq!(nobody.viewer.login, LoginBox::Link("https://sso/login".into()));
        assert!(!nobody.viewer.can_log_out);
    }
}
