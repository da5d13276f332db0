//! `/login` (the form, and logging in), `/logout`, `/authfail` and `/authzfail`.
//!
//! A login runs the configured backend unless the name or the address has failed too often
//! lately; it succeeds into a new session (a random id, signed into an HttpOnly cookie) and
//! back to the page it came from, or fails to `/authfail`, saying nothing of whether the
//! user exists. Nothing of the password is ever logged.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Login, random_id};
use crate::adapters::http::call::{Answer, Call};
use crate::adapters::http::html::{self, Frame};
use crate::adapters::http::{WebContext, WebError};
use crate::domain::auth::session::{CSRF_FIELD, SESSION_COOKIE, clear_cookie, set_cookie};
use crate::domain::web::pages;

/// `GET /login`: the login form (a front end's login page, when one logs users in).
pub async fn login_page(ctx: &WebContext, call: Call) -> Answer {
    match &ctx.auth.settings.login {
        Login::Password(_) => {
            html::page(ctx, &call, Frame::PLAIN.no_cache(), async |_, page, _| Ok(pages::login_page(page))).await
        }
        Login::FrontEnd(front) => match &front.login_url {
            Some(url) => Ok(found(url)),
            None => Err(WebError::NotFound("Users log in through the front end of this server".to_owned())),
        },
        Login::Nobody | Login::UsersTable => {
            Err(WebError::NotFound("Nobody can log in on this server (it has no [auth])".to_owned()))
        }
    }
}

/// `POST /login` with `username` and `passwd`.
pub async fn login(ctx: &WebContext, call: Call) -> Answer {
    let form = call.form().await?;
    let Login::Password(checker) = &ctx.auth.settings.login else {
        return Ok(call.redirect("authfail", Some("Logging in is not enabled on this server.")));
    };
    if call.viewer().identity.is_some() {
        return Ok(call.redirect("authfail", Some("You are already logged in.")));
    }
    let given = |name: &str| form.first(name).filter(|v| !v.is_empty());
    let (Some(user), Some(password)) = (given("username"), given("passwd")) else {
        return Ok(call.redirect("authfail", None));
    };
    let (peer, now) = (call.visit().peer, ctx.clock.now());
    let auth = &ctx.auth;
    if let Err(wait) = auth.limiter.check(user, peer.address, now) {
        tracing::warn!(user, address = ?peer.address, "login refused: too many failures lately");
        let minutes = (wait.num_seconds() + 59) / 60;
        let why = format!("Too many failed logins: try again in {minutes} minute(s).");
        return Ok(call.redirect("authfail", Some(&why)));
    }
    match checker.authenticate(user, password).await {
        Ok(Some(identity)) => {
            auth.limiter.succeeded(user);
            let id = random_id();
            let expires = now + auth.settings.session_length;
            auth.sessions.insert(id.clone(), auth.with_groups(identity), expires, now);
            tracing::info!(user, "logged in");
            let cookie = set_cookie(SESSION_COOKIE, &auth.key.sign(&id, expires), Some(expires), peer.tls);
            Ok(with_cookie(back(&call), &cookie))
        }
        Ok(None) => {
            auth.limiter.failed(user, peer.address, now);
            tracing::info!(user, address = ?peer.address, "login failed");
            Ok(call.redirect("authfail", None))
        }
        Err(e) => {
            auth.limiter.failed(user, peer.address, now);
            tracing::warn!(user, "login could not be checked ({}): {e}", checker.describe());
            Ok(call.redirect("authfail", None))
        }
    }
}

/// `POST /logout`: ends the session (its cookie, replayed, names nobody) and clears the cookie.
pub async fn logout(ctx: &WebContext, call: Call) -> Answer {
    let form = call.form().await?;
    if !ctx.auth.csrf_matches(call.visit(), form.first(CSRF_FIELD)) {
        return Err(WebError::Forbidden("The form's CSRF token is missing or wrong: nothing was done.".to_owned()));
    }
    if let Some(session) = &call.visit().session {
        ctx.auth.sessions.remove(session);
    }
    Ok(with_cookie(back(&call), &clear_cookie(SESSION_COOKIE, call.visit().peer.tls)))
}

/// `/authfail`.
pub async fn authfail(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN.no_cache(), async |_, page, _| Ok(pages::authfail_page(page, None))).await
}

/// `/authzfail`.
pub async fn authzfail(ctx: &WebContext, call: Call) -> Answer {
    html::page(ctx, &call, Frame::PLAIN.no_cache(), async |_, page, _| Ok(pages::authzfail_page(page))).await
}

/// Back where the visitor came from (the `Referer`, when it is a page of this site other than
/// the login pages), else the welcome page.
fn back(call: &Call) -> Response {
    let headers = call.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|r| r.to_str().ok());
    let same_site = |url: &&str| {
        let authority = url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or(""));
        authority.zip(host).is_some_and(|(a, h)| a.eq_ignore_ascii_case(h))
    };
    let not_login = |url: &&str| {
        let path = url.split(['?', '#']).next().unwrap_or("");
        !["/login", "/logout", "/authfail", "/authzfail"].iter().any(|p| path.ends_with(p))
    };
    match referer.filter(same_site).filter(not_login) {
        Some(url) => found(url),
        None => call.redirect("", None),
    }
}

fn found(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("./"));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
