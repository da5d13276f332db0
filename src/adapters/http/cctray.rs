//! `/cc.xml`: each chosen builder's newest finished build and whether it is building.

use axum::http::header;
use axum::response::IntoResponse;

use super::WebContext;
use super::call::{Answer, Call};
use crate::domain::machine::cctray::{Project, cc_xml};
use crate::domain::web::args::named_and_tagged;
use crate::ports::BuildQuery;

/// `builder=` (repeatable) and `category=`/`tag=` narrow the builders.
pub async fn cc(ctx: &WebContext, call: Call) -> Answer {
    let args = call.args();
    let (named, tags) = (args.all("builder"), args.tags());
    let builders = named_and_tagged(ctx.reader.builders().await?, &named, &tags);
    let mut projects = Vec::new();
    for b in builders {
        let last_q = BuildQuery { finished: Some(true), ..BuildQuery::of_builder(&b.name, 1) };
        let last = ctx.reader.builds(&last_q).await?.into_iter().next().map(std::sync::Arc::unwrap_or_clone);
        let running_q = BuildQuery { finished: Some(false), ..BuildQuery::of_builder(&b.name, 1) };
        let building = !ctx.reader.builds(&running_q).await?.is_empty();
        projects.push(Project { name: b.name, last, building });
    }
    let mut response =
        ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], cc_xml(&ctx.site, &projects)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    Ok(response)
}
