//! The site's route table: every page and resource of the web server, each declared once, on
//! one line, with the methods it takes, its path pattern and its handler. Adding a page is a
//! line here, its handler (in the module of its kind) and its renderer (in
//! `domain::web::pages`); nothing else lists routes.
//!
//! Reading the path is the domain's (`domain::web::route`: decoded segments, patterns read
//! once, a lookup that allocates nothing but the segments); this module runs the handler the
//! lookup names, or answers 405 with the methods the path's routes take.

use std::sync::{Arc, LazyLock};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::RouteLabel;
use super::auth::peer_of;
use super::call::{Answer, Call};
use super::{WebContext, WebError};
use super::{
    actions, auth, badges, cctray, feeds, files, health, json, live, logs, metrics, notifications, pages, people, views,
};
use crate::domain::auth::{Action, Subject};
use crate::domain::web::route::{Lookup, Methods, PatternError, RouteTable, relative_path};
use crate::domain::web::text::path_to_root;

/// Declares the routes: `METHOD[|METHOD…] "pattern" => handler;`, tried in order (the first
/// pattern that matches a path names its resource). A handler is `async fn(&WebContext, Call)
/// -> Answer`. This expands to [`DECLARED`] and [`run`], which calls the handler of a row
/// without boxing its future.
macro_rules! routes {
    ($($($method:ident)|+ $pattern:literal => $handler:path;)+) => {
        /// Every route's methods and pattern, in the order they are tried.
        pub(super) const DECLARED: &[(Methods, &str)] = &[$((Methods::NONE$(.and(Methods::$method))+, $pattern)),+];

        /// Runs the handler of row `index` of [`DECLARED`].
        async fn run(index: usize, ctx: &WebContext, call: Call) -> Answer {
            let mut row = 0;
            $(
                if index == row {
                    return $handler(ctx, call).await;
                }
                row += 1;
            )+
            Err(WebError::Internal(format!("route {index} was looked up in a table of {row}")))
        }
    };
}

routes! {
    GET "/"                                                                => pages::home;
    GET "/builders"                                                        => pages::builders;
    GET "/builders/{builder}"                                              => pages::builder;
    GET "/builders/{builder}/builds"                                       => pages::builder;
    GET "/builders/{builder}/builds/{number}"                              => pages::build;
    GET "/builders/{builder}/builds/{number}/steps"                        => pages::steps;
    GET "/builders/{builder}/builds/{number}/steps/{step}"                 => pages::step;
    GET "/builders/{builder}/builds/{number}/steps/{step}/logs"            => pages::step;
    GET "/builders/{builder}/builds/{number}/steps/{step}/logs/{log}"      => logs::html;
    GET "/builders/{builder}/builds/{number}/steps/{step}/logs/{log}/text" => logs::text;
    GET "/builders/{builder}/builds/{number}/tests"                        => pages::tests;
    GET "/builders/{builder}/builds/{number}/tests/{test}"                 => pages::test;
    GET "/one_line_per_build"                                              => pages::one_line_per_build;
    GET "/one_line_per_build/{builder}"                                    => pages::one_line_per_builder;
    GET "/one_box_per_builder"                                             => pages::one_box_per_builder;
    GET "/changes"                                                         => pages::changes;
    GET "/changes/{number}"                                                => pages::change;
    GET "/buildslaves"                                                     => pages::workers;
    GET "/buildslaves/{worker}"                                            => pages::worker;
    GET "/about"                                                           => pages::about;
    GET "/waterfall"                                                       => views::waterfall;
    GET "/waterfall/help"                                                  => views::waterfall_help;
    GET "/grid"                                                            => views::grid;
    GET "/tgrid"                                                           => views::transposed_grid;
    GET "/console"                                                         => views::console;
    GET "/events"                                                          => live::events;
    GET "/json/{*path}"                                                    => json::answer;
    GET "/rss/{*ignored}"                                                  => feeds::rss;
    GET "/atom/{*ignored}"                                                 => feeds::atom;
    GET "/png/{*ignored}"                                                  => badges::png;
    GET "/badges/{file}"                                                   => badges::flat;
    GET "/cc.xml"                                                          => cctray::cc;
    GET "/buildstatus"                                                     => people::buildstatus;
    GET "/users"                                                           => people::users;
    GET "/users/table"                                                     => people::users;
    GET "/users/{uid}"                                                     => people::user;
    GET "/users/table/{uid}"                                               => people::user;
    GET "/notifications"                                                   => notifications::delivery_log;
    GET "/notifications/metrics"                                           => notifications::delivery_metrics;
    GET "/metrics"                                                         => metrics::prometheus;
    GET "/health/live"                                                     => health::live;
    GET "/health/ready"                                                    => health::ready;
    GET "/login"                                                           => auth::login_page;
    POST "/login"                                                          => auth::login;
    POST "/logout"                                                         => auth::logout;
    GET "/authfail"                                                        => auth::authfail;
    GET "/authzfail"                                                       => auth::authzfail;
    POST "/shutdown"                                                       => actions::clean_shutdown;
    POST "/cancel_shutdown"                                                => actions::cancel_shutdown;
    POST "/builders/_all/forceall"                                         => actions::force_all;
    POST "/builders/_selected/forceselected"                               => actions::force_selected;
    POST "/builders/_all/stopall"                                          => actions::stop_all;
    POST "/builders/_selected/stopselected"                                => actions::stop_selected;
    POST "/builders/_all/cancelpendingall"                                 => actions::cancel_all;
    POST "/builders/_selected/cancelpendingselected"                       => actions::cancel_selected;
    POST "/builders/_all/stopchangeall"                                    => actions::stop_change_all;
    POST "/builders/{builder}/force"                                       => actions::force;
    POST "/builders/{builder}/ping"                                        => actions::ping;
    POST "/builders/{builder}/cancelbuild"                                 => actions::cancel;
    POST "/builders/{builder}/stopchange"                                  => actions::stop_change;
    POST "/builders/{builder}/builds/{number}/stop"                        => actions::stop;
    POST "/builders/{builder}/builds/{number}/rebuild"                     => actions::rebuild;
    POST "/buildslaves/{worker}/shutdown"                                  => actions::shutdown_worker;
    POST "/buildslaves/{worker}/pause"                                     => actions::pause_worker;
    POST "/buildslaves/{worker}/unpause"                                   => actions::unpause_worker;
    GET "/buildslaves/{worker}/{*rest}"                                    => pages::worker_child;
    // Last: whatever no page takes is a file of public_html or a built-in one.
    GET "/{*file}"                                                         => files::serve;
}

/// The table, its patterns read once. It cannot fail (a unit test reads it); if it did, every
/// request would answer 500 with the bad pattern in the log, rather than the server panic.
static TABLE: LazyLock<Result<RouteTable, PatternError>> =
    LazyLock::new(|| RouteTable::new(DECLARED.iter().map(|(methods, pattern)| (*pattern, *methods))));

/// What [`dispatch`] makes of a request's path and method (for `crate::fuzzing`).
pub(crate) fn lookup(path: &str, method: &str) -> Result<Lookup, &'static PatternError> {
    TABLE.as_ref().map(|table| table.lookup(path, method))
}

/// Routes anyone may ask for, whatever `view` says: the welcome page, logging in and out,
/// what tells a visitor why they were refused, and the load balancers' probes. (The files route lets the built-in files
/// through and asks `view` for those of `public_html`.)
const OPEN_TO_ALL: &[&str] =
    &["/", "/login", "/logout", "/authfail", "/authzfail", "/health/live", "/health/ready", "/{*file}"];

/// First path segments of what programs read: refused with 403 (a redirect to the welcome
/// page means nothing to a program); the pages are refused with a redirect there.
const FOR_PROGRAMS: &[&str] = &["json", "rss", "atom", "png", "badges", "cc.xml", "events", "notifications", "metrics"];

/// The answer to a visitor who may not view what `path` (of route `pattern`) shows.
fn not_viewable(pattern: &str, path: &str) -> Response {
    let first = pattern.trim_start_matches('/').split('/').next().unwrap_or("");
    if FOR_PROGRAMS.contains(&first) {
        return (StatusCode::FORBIDDEN, "This status is private: log in to see it.\n").into_response();
    }
    (StatusCode::FOUND, [(header::LOCATION, path_to_root(path))]).into_response()
}

/// Answers any request to the site: reads who it comes from, looks its route up, checks that
/// the visitor may view it, and runs the route's handler.
pub(super) async fn dispatch(State(ctx): State<Arc<WebContext>>, request: Request) -> Response {
    let table = match TABLE.as_ref() {
        Ok(table) => table,
        Err(e) => return WebError::Internal(e.to_string()).into_response(&ctx, request.uri().path()),
    };
    let (label, mut response) = match table.lookup(request.uri().path(), request.method().as_str()) {
        Lookup::Found { index, params } => {
            let label = table.routes().nth(index).map_or("(unknown)", |(pattern, _)| pattern.text());
            let visit = ctx.auth.visit(request.headers(), peer_of(request.extensions()), ctx.clock.now());
            let pattern = DECLARED.get(index).map_or("", |(_, p)| *p);
            if !OPEN_TO_ALL.contains(&pattern) && !visit.viewer.may(Action::View, &Subject::Nothing) {
                let mut refused = not_viewable(pattern, request.uri().path());
                refused.extensions_mut().insert(RouteLabel(label));
                return refused;
            }
            let set_cookie = visit.set_cookie.clone();
            // Kept for the error page: the handler takes the request.
            let uri = request.uri().clone();
            let mut response = run(index, &ctx, Call::new(request, params, visit))
                .await
                .unwrap_or_else(|e| e.into_response(&ctx, uri.path()));
            let html =
                response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
            if let Some(cookie) = set_cookie.filter(|_| html)
                && let Ok(value) = axum::http::HeaderValue::from_str(&cookie)
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            (label, response)
        }
        Lookup::WrongMethod(allowed) => {
            let answer = (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, allowed.allow_header())]).into_response();
            ("(method not allowed)", answer)
        }
        Lookup::NotFound => {
            let path = request.uri().path();
            let message = format!("No such page or file: /{}", relative_path(path));
            ("(not found)", WebError::NotFound(message).into_response(&ctx, path))
        }
    };
    // The metrics name a request by the pattern that answered it, never by its path.
    response.extensions_mut().insert(RouteLabel(label));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::web::assets::ROBOTS_TXT;
    use crate::domain::web::layout::MAIN_PAGES;
    use crate::domain::web::route::Params;

    fn table() -> &'static RouteTable {
        TABLE.as_ref().expect("every declared pattern can be read")
    }

    /// A parameter's value: its segment, or its segments joined.
    fn value(params: &Params, name: &str) -> Option<String> {
        params.one(name).map(str::to_owned).or_else(|| params.rest(name).map(|r| r.join("/")))
    }

    /// The pattern of the route that answers `method` on `path`, and its parameters by name.
    fn route_of(path: &str, method: &str) -> Option<(&'static str, Vec<(&'static str, String)>)> {
        let Lookup::Found { index, params } = table().lookup(path, method) else { return None };
        let pattern = table().routes().nth(index)?.0;
        let values = pattern.names().map(|name| (name, value(&params, name).unwrap_or_default())).collect();
        Some((pattern.text(), values))
    }

    #[test]
    fn every_route_parses_back_what_it_declares() {
        for (index, (pattern, methods)) in table().routes().enumerate() {
            let path = pattern.fill(|name| format!("{name} a/b"));
            let method = if methods.allows("GET") { "GET" } else { "POST" };
            let Lookup::Found { index: found, params } = table().lookup(&path, method) else {
                panic!("{path} finds no route");
            };
            let found_pattern = table().routes().nth(found).map(|(p, _)| p.text());
            assert_eq!(found, index, "{path} is answered by {found_pattern:?}, not {}", pattern.text());
            for name in pattern.names() {
                assert_eq!(value(&params, name), Some(format!("{name} a/b")), "{} {name}", pattern.text());
            }
        }
    }

    #[test]
    fn each_route_is_declared_once_and_takes_a_method() {
        let declared: Vec<(Methods, &str)> = DECLARED.to_vec();
        for (i, (methods, pattern)) in declared.iter().enumerate() {
            assert_ne!(*methods, Methods::NONE, "{pattern} takes no method");
            let again = declared[..i].iter().any(|(m, p)| p == pattern && m.overlaps(*methods));
            assert!(!again, "{pattern} is declared twice for one method");
        }
    }

    #[test]
    fn paths_decode_each_segment_and_ignore_a_trailing_slash() {
        assert_eq!(route_of("/", "GET"), Some(("/", vec![])));
        assert_eq!(route_of("/builders/", "GET"), Some(("/builders", vec![])));
        assert_eq!(route_of("/builders/a%2Fb", "GET"), Some(("/builders/{builder}", vec![("builder", "a/b".into())])));
        let log = route_of("/builders/x/builds/-1/steps/make%20all/logs/stdio/text", "GET").expect("a route");
        assert_eq!(log.0, "/builders/{builder}/builds/{number}/steps/{step}/logs/{log}/text");
        let values: Vec<String> = log.1.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, ["x", "-1", "make all", "stdio"]);
        assert_eq!(route_of("/changes/12/", "GET"), Some(("/changes/{number}", vec![("number", "12".into())])));
        assert_eq!(route_of("/default.css", "GET"), Some(("/{*file}", vec![("file", "default.css".into())])));
    }

    #[test]
    fn machine_readable_urls_have_their_routes() {
        let pattern = |path: &str| route_of(path, "GET").map(|(p, _)| p);
        assert_eq!(route_of("/json", "GET"), Some(("/json/{*path}", vec![("path", String::new())])));
        assert_eq!(route_of("/json/builders/a%2Fb/", "GET").map(|r| r.1), Some(vec![("path", "builders/a/b".into())]));
        assert_eq!(pattern("/rss/anything/else"), Some("/rss/{*ignored}"));
        assert_eq!(pattern("/atom"), Some("/atom/{*ignored}"));
        assert_eq!(pattern("/png/x"), Some("/png/{*ignored}"));
        assert_eq!(pattern("/badges/linux.svg"), Some("/badges/{file}"));
        assert_eq!(pattern("/badges/a/b.svg"), Some("/{*file}"));
        assert_eq!(pattern("/cc.xml"), Some("/cc.xml"));
        assert_eq!(pattern("/buildstatus"), Some("/buildstatus"));
        assert_eq!(pattern("/users/table/"), Some("/users/table"));
        assert_eq!(route_of("/users/table/3", "GET"), Some(("/users/table/{uid}", vec![("uid", "3".into())])));
        assert_eq!(route_of("/users/3", "GET"), Some(("/users/{uid}", vec![("uid", "3".into())])));
    }

    #[test]
    fn every_page_the_site_links_to_has_a_route() {
        let linked = MAIN_PAGES.iter().map(|(path, _, _)| *path).chain(["users", "waterfall/help", "json/help"]);
        for path in linked {
            let found = route_of(&format!("/{path}"), "GET").map(|(pattern, _)| pattern);
            assert!(found.is_some_and(|p| p != "/{*file}"), "/{path} is linked but only a file could answer it");
        }
    }

    /// Routes robots may crawl: cheap to answer, or meant to be fetched from anywhere.
    const CRAWLED: &[&str] = &["", "about", "one_box_per_builder", "badges", "cc.xml", "authfail", "authzfail"];

    #[test]
    fn robots_txt_keeps_crawlers_off_every_route_not_meant_for_them() {
        let disallowed: Vec<&str> = ROBOTS_TXT.lines().filter_map(|l| l.strip_prefix("Disallow: /")).collect();
        for (pattern, _) in table().routes() {
            let first = pattern.text().trim_start_matches('/').split('/').next().unwrap_or("");
            if first.starts_with('{') {
                continue; // the static files
            }
            assert!(
                disallowed.contains(&first) || CRAWLED.contains(&first),
                "{}: add /{first} to robots.txt, or to CRAWLED if robots may fetch it",
                pattern.text()
            );
        }
    }

    #[test]
    fn the_routes_open_to_all_are_declared() {
        for open in OPEN_TO_ALL {
            assert!(DECLARED.iter().any(|(_, p)| p == open), "{open} is no route");
        }
    }

    #[test]
    fn actions_take_post_only() {
        assert_eq!(table().lookup("/builders/linux/force", "GET"), Lookup::WrongMethod(Methods::POST));
        assert_eq!(table().lookup("/shutdown", "GET"), Lookup::WrongMethod(Methods::POST));
        assert_eq!(route_of("/builders/_all/forceall", "POST").map(|r| r.0), Some("/builders/_all/forceall"));
        assert_eq!(route_of("/builders/_all/force", "POST").map(|r| r.0), Some("/builders/{builder}/force"));
        assert_eq!(route_of("/login", "GET").map(|r| r.0), Some("/login"));
        assert!(matches!(table().lookup("/login", "POST"), Lookup::Found { .. }));
    }

    #[test]
    fn a_method_no_route_of_the_path_takes_is_405() {
        assert_eq!(table().lookup("/builders", "POST"), Lookup::WrongMethod(Methods::GET));
        assert_eq!(table().lookup("/no/such/file", "DELETE"), Lookup::WrongMethod(Methods::GET));
        assert!(matches!(table().lookup("/builders", "HEAD"), Lookup::Found { .. }));
    }
}
