//! A browser over the router, in process: it keeps the cookies the server sets, sends them
//! back, reads the CSRF token a page carries, logs in and posts forms, from a chosen peer.

use std::collections::BTreeMap;

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use buildstatus::adapters::http::Peer;
use buildstatus::app::StatusServer;
use tower::ServiceExt;

pub struct Browser<'a> {
    server: &'a StatusServer,
    pub cookies: BTreeMap<String, String>,
    /// Where requests come from (none: a router served without connection info).
    pub peer: Option<Peer>,
    /// Headers added to every request.
    pub headers: Vec<(String, String)>,
}

/// An answer: status, body, headers.
pub type Answer = (StatusCode, String, HeaderMap);

impl<'a> Browser<'a> {
    pub fn new(server: &'a StatusServer) -> Self {
        Self { server, cookies: BTreeMap::new(), peer: None, headers: Vec::new() }
    }

    pub async fn send(&mut self, method: Method, uri: &str, form: Option<String>) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, jar.join("; "));
        }
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let body = match form {
            Some(form) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(form)
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).expect("a request");
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = self.server.router().oneshot(request).await.expect("an answer");
        let (status, headers) = (response.status(), response.headers().clone());
        for cookie in headers.get_all(header::SET_COOKIE) {
            let cookie = cookie.to_str().expect("ascii");
            let (name, rest) = cookie.split_once('=').expect("name=value");
            let value = rest.split(';').next().unwrap_or_default();
            if cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        (status, String::from_utf8_lossy(&body).into_owned(), headers)
    }

    pub async fn get(&mut self, uri: &str) -> Answer {
        self.send(Method::GET, uri, None).await
    }

    /// Posts `fields`, form-encoded.
    pub async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        self.send(Method::POST, uri, Some(urlencoded(fields))).await
    }

    /// Posts `fields` with the CSRF token of this browser (read from the welcome page).
    pub async fn act(&mut self, uri: &str, fields: &[(&str, &str)]) -> Answer {
        let token = self.token().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(uri, &all).await
    }

    /// The CSRF token pages give this browser (empty when they give none).
    pub async fn token(&mut self) -> String {
        let (_, page, _) = self.get("/").await;
        csrf_of(&page).unwrap_or_default()
    }

    /// Logs in; the answer of the login.
    pub async fn login(&mut self, user: &str, password: &str) -> Answer {
        self.post("/login", &[("username", user), ("passwd", password)]).await
    }
}

/// `fields` as an `application/x-www-form-urlencoded` body.
pub fn urlencoded(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    pairs.join("&")
}

/// A reqwest POST of `fields` as a form.
pub fn post_form(http: &reqwest::Client, url: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    http.post(url).header("content-type", "application/x-www-form-urlencoded").body(urlencoded(fields))
}

/// The CSRF token a page carries (its `csrf-token` meta tag).
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("<meta name=\"csrf-token\" content=\"")? + "<meta name=\"csrf-token\" content=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

/// The `Location` of a redirect.
pub fn location(headers: &HeaderMap) -> &str {
    headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}
