//! `/json`: reads the path and the flags, asks `nodes` for the object of the node (or of each
//! `select=`), and answers with it as the flags say. Errors are JSON too, with the status that
//! fits; only `help` pages are HTML.

mod nodes;

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::call::{Answer, Call};
use super::error::retry_later;
use super::html;
use super::view_cache::ViewKey;
use super::{WebContext, WebError};
use crate::domain::machine::json_help::{Examples, help_page};
use crate::domain::machine::json_tree::{
    Form, Json, JsonArgs, Node, escape_markup, flat_selects, map_text, merge_at, render, select_segments, split_help,
};
use crate::domain::web::args::Args;
use crate::domain::web::layout::Page;
use crate::domain::web::text::natural_cmp;
use nodes::resolve;

/// `/json/...`: answers are kept in the view cache, as the views are.
pub async fn answer(ctx: &WebContext, call: Call) -> Answer {
    let segments = call.rest("path")?;
    // The event number is read before the data, so a kept answer is never older than its key says.
    let key = ViewKey::new(call.uri(), ctx.feed.last_seq(), ctx.clock.now().timestamp());
    match ctx.kept_view(&key) {
        Some(kept) => Ok(kept),
        None => Ok(ctx.views.keep(key, fresh_answer(ctx, call.uri(), segments).await).await),
    }
}

/// Answers `/json/...` from the status as it is; `segments` are the decoded path segments after `json`.
async fn fresh_answer(ctx: &WebContext, uri: &Uri, segments: &[String]) -> Response {
    if !ctx.site.provides("json") {
        return error(WebError::NotFound("/json is not provided on this server (provide_feeds)".to_owned()));
    }
    let (node_path, wants_help) = split_help(segments);
    let node = Node::parse(node_path);
    if wants_help {
        return match node {
            Some(_) => help(ctx, uri, node_path).await,
            None => error(WebError::NotFound(format!("No JSON resource /json/{}", node_path.join("/")))),
        };
    }
    let Some(node) = node else {
        return error(WebError::NotFound(format!("No JSON resource /json/{}", node_path.join("/"))));
    };
    let args = match JsonArgs::parse(&Args::parse(uri.query().unwrap_or(""))) {
        Ok(args) => args,
        Err(e) => return error(WebError::BadRequest(e.to_string())),
    };
    let json = match &args.select {
        None => resolve(ctx, &node, &args, args.form()).await,
        Some(selects) => select(ctx, node_path, &node, selects, &args).await,
    };
    match json {
        Ok(json) => reply(ctx, uri, &args, render(json, &args)),
        Err(e) => error(e),
    }
}

/// The objects `selects` name under `node`, side by side as text when they are (see
/// [`flat_selects`]), else merged as trees.
async fn select(
    ctx: &WebContext,
    node_path: &[String],
    node: &Node,
    selects: &[String],
    args: &JsonArgs,
) -> Result<Json, WebError> {
    let flat = if args.form() == Form::Text { flat_selects(selects) } else { None };
    if let Some(keys) = flat {
        let mut entries = Vec::with_capacity(keys.len());
        for key in keys {
            let text = selected(ctx, node_path, std::slice::from_ref(&key), args, Form::Text).await?.into_text();
            entries.push((key, text));
        }
        return Ok(Json::Text(map_text(entries)));
    }
    let mut result = Map::new();
    for select in selects {
        let sub = select_segments(select);
        let value = if sub.is_empty() {
            resolve(ctx, node, args, Form::Tree).await?.into_tree()
        } else {
            selected(ctx, node_path, &sub, args, Form::Tree).await?.into_tree()
        };
        merge_at(&mut result, &sub, value);
    }
    Ok(Json::Tree(Value::Object(result)))
}

/// The object at `sub` under the node at `node_path`, or `{"error": "Not available"}`.
async fn selected(
    ctx: &WebContext,
    node_path: &[String],
    sub: &[String],
    args: &JsonArgs,
    form: Form,
) -> Result<Json, WebError> {
    let full: Vec<String> = node_path.iter().chain(sub.iter()).cloned().collect();
    match Node::parse(&full) {
        Some(child) => match resolve(ctx, &child, args, form).await {
            Ok(json) => Ok(json),
            Err(WebError::NotFound(_) | WebError::BadRequest(_)) => Ok(Json::value(not_available(), form)),
            Err(e) => Err(e),
        },
        None => Ok(Json::value(not_available(), form)),
    }
}

fn not_available() -> Value {
    json!({ "error": "Not available" })
}

fn reply(ctx: &WebContext, uri: &Uri, args: &JsonArgs, body: String) -> Response {
    let content_type = match (&args.callback, args.as_text) {
        (Some(_), _) => "application/javascript; charset=utf-8",
        (None, true) => "text/plain; charset=utf-8",
        (None, false) => "application/json",
    };
    let expires = (ctx.clock.now() + chrono::Duration::seconds(60)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&expires) {
        headers.insert(header::EXPIRES, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !args.as_text {
        let path = uri.path().trim_end_matches('/');
        let name = if path == "/json" { "buildbot.json".to_owned() } else { format!("{path}.json") };
        // The path is still percent-encoded, so it holds no quote or line break.
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// A JSON error: `{"error": MESSAGE}` with its status.
fn error(e: WebError) -> Response {
    let (status, message) = match e {
        WebError::NotFound(m) => (StatusCode::NOT_FOUND, m),
        WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        WebError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
        WebError::Refused(refusal) => return refusal.answer(),
        WebError::Internal(m) | WebError::Template(m) => {
            tracing::error!("json request failed: {m}");
            (StatusCode::INTERNAL_SERVER_ERROR, "The server failed to answer; the details are in its log.".to_owned())
        }
        WebError::Unavailable(fault, m) => {
            tracing::error!("json request failed: {m}");
            (StatusCode::SERVICE_UNAVAILABLE, fault.reason().to_owned())
        }
    };
    let body = escape_markup(json!({ "error": message }).to_string());
    let mut response = retry_later((status, [(header::CONTENT_TYPE, "application/json")], body).into_response());
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn help(ctx: &WebContext, uri: &Uri, node_path: &[String]) -> Response {
    let page = Page::plain(&ctx.site, uri.path(), ctx.clock.now());
    let builders = ctx.reader.builders().await.unwrap_or_default();
    let workers = ctx.reader.workers().await.unwrap_or_default();
    let examples = Examples {
        builder: builders.iter().map(|b| b.name.clone()).min_by(|a, b| natural_cmp(a, b)),
        worker: workers.iter().map(|w| w.name.clone()).min_by(|a, b| natural_cmp(a, b)),
    };
    html::response(help_page(&page, node_path, &examples), false)
}
