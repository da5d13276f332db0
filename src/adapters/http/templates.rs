//! Pages replaced by the site's own Jinja2 templates (minijinja), as 0.8's `templates/`
//! directory and `jinja_loaders` allowed.
//!
//! Every `*.html` file under the template directories is compiled when the configuration is
//! read (a syntax error is a configuration problem naming the file and line); the first
//! directory that has a name wins. A page whose template exists is drawn from it, with the
//! data the built-in page draws (the context documented per page in the README) and `page`
//! (the request's root, time and the site's settings); its output is the page's content,
//! framed by the layout, and `{% set title = "…" %}` names the page. `layout.html` replaces
//! the frame of every page, built-in or not: it receives `title`, `content` (the page's HTML,
//! marked safe) and `page`. Values are escaped (autoescape on `.html`); an error while
//! rendering is a 500 page naming the template and line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use maud::{Markup, PreEscaped};
use minijinja::value::Value;
use minijinja::{Environment, context};

use crate::domain::auth::{Action, Subject};
use crate::domain::web::layout::{Layout, Page, VERSION, alternate_feeds, main_pages};
use crate::domain::web::text::{long_time, quote};

/// The name of the template that replaces the layout.
pub const LAYOUT: &str = "layout.html";

/// The site's templates (none by default: every page is the built-in one).
pub struct PageTemplates {
    env: Environment<'static>,
    names: BTreeSet<String>,
}

impl Default for PageTemplates {
    /// No templates yet; the filters a page template needs besides Jinja2's (`quote`: a
    /// path segment, as the built-in pages write builder and worker names in links).
    fn default() -> Self {
        let mut env = Environment::new();
        env.add_filter("quote", |segment: String| quote(&segment));
        Self { env, names: BTreeSet::new() }
    }
}

impl std::fmt::Debug for PageTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTemplates").field("names", &self.names).finish()
    }
}

impl PageTemplates {
    /// Compiles every `*.html` under `dirs` (recursively, named by their path below their
    /// directory: `builders.html`, `macros/boxes.html`). Every problem is reported, each
    /// naming the file.
    pub fn load(dirs: &[PathBuf]) -> Result<Self, Vec<String>> {
        let mut templates = Self::default();
        let mut problems = Vec::new();
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let mut found = Vec::new();
            if let Err(e) = html_files(dir, dir, &mut found) {
                problems.push(format!("{}: {e}", dir.display()));
            }
            for (name, path) in found {
                if templates.names.contains(&name) {
                    continue;
                }
                match std::fs::read_to_string(&path) {
                    Ok(source) => match templates.env.add_template_owned(name.clone(), source) {
                        Ok(()) => {
                            templates.names.insert(name);
                        }
                        Err(e) => problems.push(format!("{}: {}", path.display(), describe(&e))),
                    },
                    Err(e) => problems.push(format!("{}: {e}", path.display())),
                }
            }
        }
        if problems.is_empty() { Ok(templates) } else { Err(problems) }
    }

    /// Whether the site replaces the template `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The templates the site has, by name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Draws the page template `name` with `data` and `page`: (its title, its content).
    pub fn render_page(&self, name: &str, page: &Page, data: Value) -> Result<(Option<String>, String), String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        let ctx = context! { page => page_context(page), ..data };
        let captured = template.render_captured(ctx).map_err(|e| describe(&e))?;
        let title = captured.state().lookup("title").filter(|t| !t.is_undefined() && !t.is_none());
        Ok((title.map(|t| t.to_string()), captured.output().to_owned()))
    }

    /// The layout for one request, when the site replaces it.
    pub fn layout(&self) -> Option<TemplateLayout<'_>> {
        self.has(LAYOUT).then(|| TemplateLayout { templates: self, failed: OnceLock::new() })
    }
}

/// `layout.html` framing the pages of one request; a failure is kept for the request to answer
/// with (the frame itself cannot fail).
#[derive(Debug)]
pub struct TemplateLayout<'a> {
    templates: &'a PageTemplates,
    failed: OnceLock<String>,
}

impl TemplateLayout<'_> {
    /// Why the layout could not be drawn, if it could not.
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }
}

impl Layout for TemplateLayout<'_> {
    fn frame(&self, page: &Page, title: &str, content: Markup) -> Markup {
        let ctx = context! {
            title => title,
            content => Value::from_safe_string(content.into_string()),
            page => page_context(page),
        };
        let drawn = self.templates.env.get_template(LAYOUT).and_then(|t| t.render(ctx));
        match drawn {
            Ok(html) => PreEscaped(html),
            Err(e) => {
                let _ = self.failed.set(describe(&e));
                PreEscaped(String::new())
            }
        }
    }
}

/// What every template reads as `page`.
fn page_context(page: &Page) -> Value {
    let site = page.site;
    let links: Vec<Value> = main_pages(site)
        .map(|&(path, label, what)| context! { path => format!("{}{path}", page.root), label, what })
        .collect();
    let feeds: Vec<Value> = alternate_feeds(site)
        .map(|(path, mime, name)| context! { path => format!("{}{path}", page.root), mime, name })
        .collect();
    context! {
        root => &page.root,
        now => page.now.to_rfc3339(),
        now_text => long_time(page.now),
        reload => page.reload,
        alert => &page.alert,
        live => page.live,
        stylesheet => format!("{}default.css", page.root),
        title => &site.title,
        title_url => &site.title_url,
        buildbot_url => &site.buildbot_url,
        show_users_page => page.may(Action::ShowUsersPage, &Subject::Nothing),
        main_pages => links,
        feeds,
        version => VERSION,
    }
}

/// An error in words, with the template and line it happened at.
fn describe(e: &minijinja::Error) -> String {
    let what = e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    match (e.name(), e.line()) {
        (Some(name), Some(line)) => format!("template {name}, line {line}: {what}"),
        (Some(name), None) => format!("template {name}: {what}"),
        _ => what,
    }
}

fn html_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            html_files(root, &path, out)?;
        } else if path.extension().is_some_and(|x| x == "html") {
            let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((name, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::web::layout::Site;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn the_first_directory_wins_and_syntax_errors_name_file_and_line() {
        let a = dir_with(&[("builders.html", "A"), ("macros/x.html", "{% macro m() %}m{% endmacro %}")]);
        let b = dir_with(&[("builders.html", "B"), ("about.html", "about")]);
        let t = PageTemplates::load(&[a.path().into(), b.path().into()]).unwrap();
        assert_eq!(t.names().collect::<Vec<_>>(), ["about.html", "builders.html", "macros/x.html"]);
        let site = Site::default();
        let page = Page::plain(&site, "/builders", chrono::DateTime::UNIX_EPOCH);
        assert_eq!(t.render_page("builders.html", &page, Value::UNDEFINED).unwrap().1, "A");

        let bad = dir_with(&[("builders.html", "ok\n{% for x in %}\n")]);
        let problems = PageTemplates::load(&[bad.path().into()]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("builders.html") && problems[0].contains("line 2"), "{problems:?}");
    }

    #[test]
    fn values_are_escaped_the_title_is_set_and_runtime_errors_say_where() {
        let dir = dir_with(&[
            ("builders.html", "{% set title = 'Our ' ~ branches %}<p>{{ branches }}</p>"),
            ("broken.html", "line one\n{{ 1 / 0 }}"),
        ]);
        let t = PageTemplates::load(&[dir.path().into()]).unwrap();
        let site = Site::default();
        let page = Page::plain(&site, "/builders", chrono::DateTime::UNIX_EPOCH);
        let (title, body) = t.render_page("builders.html", &page, context! { branches => "<b>" }).unwrap();
        assert_eq!((title.as_deref(), body.as_str()), (Some("Our <b>"), "<p>&lt;b&gt;</p>"));
        let err = t.render_page("broken.html", &page, Value::UNDEFINED).unwrap_err();
        assert!(err.starts_with("template broken.html, line 2:"), "{err}");
    }
}
