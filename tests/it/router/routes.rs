//! The route table seen from outside: which methods a path answers, and what the others get.
//! Every page and resource takes GET and HEAD; any other method is a 405 naming them, whether
//! the path is a page, a merged router's page or no page at all.
use crate::common::{fixture_server, request};
use axum::http::{Method, StatusCode};

#[tokio::test]
async fn a_method_a_route_does_not_take_answers_405_with_the_methods_it_does() {
    let server = fixture_server().await;
    let paths = ["/builders", "/builders/linux/builds/1/", "/json/builders", "/notifications", "/no/such/page", "/"];
    for path in paths {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let (status, body, headers) = request(&server, method.clone(), path).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(headers["allow"], "GET,HEAD", "{method} {path}");
            assert_eq!((body.as_str(), &headers["content-length"]), ("", &"0".parse().expect("header")));
        }
    }
}

#[tokio::test]
async fn head_answers_the_headers_of_get_without_a_body() {
    let server = fixture_server().await;
    for path in ["/builders", "/waterfall", "/json/project", "/notifications", "/robots.txt"] {
        let (get_status, get_body, get_headers) = request(&server, Method::GET, path).await;
        let (status, body, headers) = request(&server, Method::HEAD, path).await;
        assert_eq!((status, body.as_str()), (get_status, ""), "HEAD {path}");
        assert_eq!(headers["content-type"], get_headers["content-type"], "HEAD {path}");
        assert_eq!(headers["content-length"], get_body.len().to_string().as_str(), "HEAD {path}");
    }
}

/// The notifications pages were a router of their own; in the route table they follow the
/// site's path rules (a trailing slash, leading slashes, percent-encoding name the same page).
#[tokio::test]
async fn the_notifications_pages_follow_the_site_path_rules() {
    let server = fixture_server().await;
    for path in ["/notifications/", "//notifications", "/notific%61tions", "/notifications/metrics/"] {
        let (status, body, _) = request(&server, Method::GET, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, _, _) = request(&server, Method::GET, "/notifications/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
