//! Pages drawn from the site's own Jinja2 templates: a page template with the built-in
//! page's data, a layout around every page, escaping, and an error that says where.

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use buildstatus::adapters::http::templates::PageTemplates;
use buildstatus::adapters::memory::MemoryClock;
use buildstatus::app::{Setup, StatusServer};

use crate::common::{self, get, snapshot};

const BUILDERS: &str = r#"{% set title = "Our builders" %}
<h1>{{ rows|length }} builders ({{ branches }})</h1>
<ul>
{%- for row in rows %}
<li class="{{ row.state }}"><a href="{{ page.root }}builders/{{ row.builder.name|quote }}">{{ row.builder.name }}</a>:
{% if row.last %}#{{ row.last.number }} {{ row.last.result }}{% else %}no build{% endif %}
{%- if row.running %}, {{ row.running|length }} running{% endif %}</li>
{%- endfor %}
</ul>
"#;

const LAYOUT: &str = r#"<!DOCTYPE html>
<html><head><title>{{ title }} | {{ page.title }}</title><link rel="stylesheet" href="{{ page.stylesheet }}"></head>
<body><nav>{% for p in page.main_pages %}<a href="{{ p.path }}">{{ p.label }}</a> {% endfor %}</nav>
<main>{{ content }}</main>
<footer>buildstatus {{ page.version }}, {{ page.now_text }}</footer></body></html>
"#;

async fn server_with(files: &[(&str, &str)]) -> (StatusServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("template");
    }
    let templates = PageTemplates::load(&[PathBuf::from(dir.path())]).expect("templates compile");
    let setup = Setup { templates: Arc::new(templates), ..Setup::default() };
    let server =
        StatusServer::start_with_clock(setup, Arc::new(MemoryClock::new(common::at(45)))).await.expect("starts");
    common::record_fixture(&server.sink()).await;
    (server, dir)
}

#[tokio::test]
async fn a_template_replaces_a_page_and_the_layout_frames_every_page() {
    let (server, _dir) = server_with(&[("builders.html", BUILDERS), ("layout.html", LAYOUT)]).await;
    let (status, builders, _) = get(&server, "/builders").await;
    assert_eq!(status, StatusCode::OK, "{builders}");
    assert!(!builders.contains("<script>alert"), "a hostile builder name is escaped: {builders}");
    snapshot("template_builders", &builders);

    // A built-in page inside the site's layout.
    let (status, builder, _) = get(&server, "/builders/linux").await;
    assert_eq!(status, StatusCode::OK);
    assert!(builder.contains("<title>Buildbot: linux | Buildbot</title>"), "{builder}");
    assert!(builder.contains("<main><div class=\"column\"><h1>Builder linux"), "{builder}");
    assert!(builder.contains("<a href=\"..&#x2f;tgrid\">T-Grid</a>"), "{builder}");
    // The pages without a template of their own are the built-in ones.
    let (_, console, _) = get(&server, "/console").await;
    assert!(console.contains("<nav>") && console.contains("class=\"DevStatusBox"), "the console in the layout");
}

#[tokio::test]
async fn a_template_that_fails_names_itself_and_its_line() {
    let broken = "<p>fine</p>\n{{ build.number }} {{ nosuch(build) }}\n";
    let (server, _dir) = server_with(&[("build.html", broken)]).await;
    let (status, body, _) = get(&server, "/builders/linux/builds/1").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("Template Error") && body.contains("template build.html, line 2"), "{body}");
    // The other pages are unaffected.
    assert_eq!(get(&server, "/builders/linux").await.0, StatusCode::OK);

    let (server, _dir) = server_with(&[("layout.html", "{{ content }}{{ page.nosuch.deeper }}")]).await;
    let (status, body, _) = get(&server, "/builders").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("template layout.html, line 1"), "{body}");
}
