//! The architecture's rules, checked on the source tree (ARCHITECTURE.md states them):
//!
//! - `src/domain` is deterministic: no I/O, no async, no clock, no randomness, and it imports
//!   nothing of the other layers;
//! - `src/ports` imports only the domain;
//! - an adapter imports ports and domain: never `app`, never another adapter.
//!
//! Each file is read as text with its comments and string literals blanked out, so a rule
//! named in a doc comment is not a violation; `checker_finds_each_kind_of_violation` shows
//! every rule firing on a file that breaks it.

use std::path::{Path, PathBuf};

/// What the deterministic core may not name, and why.
const NOT_IN_DOMAIN: &[(&str, &str)] = &[
    ("crate::adapters", "imports an adapter"),
    ("crate::app", "imports the app"),
    ("crate::ports", "imports a port"),
    ("tokio", "is async (tokio)"),
    ("async_trait", "is async (async_trait)"),
    ("futures_util", "is async (futures)"),
    ("async fn", "is async"),
    (".await", "is async"),
    ("std::fs", "does file I/O"),
    ("std::net", "does network I/O"),
    ("std::process", "runs processes"),
    ("std::thread", "starts threads"),
    ("std::env", "reads the environment"),
    ("std::io::stdin", "reads input"),
    ("Instant::now", "reads the clock"),
    ("SystemTime", "reads the clock"),
    ("Utc::now", "reads the clock"),
    ("Local::now", "reads the clock"),
    ("chrono::Local", "reads the local time zone"),
    ("rand::", "uses randomness"),
    ("getrandom", "uses randomness"),
    ("RandomState", "uses randomness"),
    ("reqwest", "does network I/O"),
    ("sqlx", "uses a database"),
    ("lettre", "sends mail"),
];

const NOT_IN_PORTS: &[(&str, &str)] = &[("crate::adapters", "imports an adapter"), ("crate::app", "imports the app")];

/// One broken rule: the file, its line, and what is wrong.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    what: String,
}

/// `text` with every comment and string literal replaced by spaces, lines kept.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let at = |k: usize| chars.get(k).copied();
    while i < chars.len() {
        match chars[i] {
            '/' if at(i + 1) == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(' ');
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                    } else if chars[i] == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                        continue;
                    }
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            'r' if (at(i + 1) == Some('"') || at(i + 1) == Some('#')) && (i == 0 || !is_ident(chars[i - 1])) => {
                // A raw string: r"…", r#"…"#, …
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(chars[i]);
                    i += 1;
                    continue;
                }
                let end: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let body_start = j + 1;
                let body: String = chars[body_start..].iter().collect();
                let len = body.find(&end).map_or(chars.len() - body_start, |n| body[..n].chars().count());
                for c in &chars[i..(body_start + len + end.chars().count()).min(chars.len())] {
                    out.push(blank(*c));
                }
                i = body_start + len + end.chars().count();
            }
            '"' => {
                out.push(' ');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        out.push(' ');
                        i += 1;
                    }
                    if i < chars.len() {
                        out.push(blank(chars[i]));
                        i += 1;
                    }
                }
                out.push(' ');
                i += 1;
            }
            '\'' if at(i + 2) == Some('\'') || (at(i + 1) == Some('\\') && at(i + 3) == Some('\'')) => {
                // A char literal ('"', '\n'); lifetimes ('a) are left alone.
                let len = if at(i + 1) == Some('\\') { 4 } else { 3 };
                out.push_str(&" ".repeat(len));
                i += len;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `needle` occurs in `line` on its own (not inside a longer name).
fn names(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].chars().next();
        let starts_clean = !needle.starts_with(is_ident) || before.is_none_or(|c| !is_ident(c));
        let ends_clean = !needle.ends_with(is_ident) || after.is_none_or(|c| !is_ident(c));
        starts_clean && ends_clean
    })
}

/// The rules broken by the file at `path` (relative to `src/`), whose text is `text`.
fn check(path: &str, text: &str) -> Vec<Violation> {
    let mut parts = path.split('/');
    let (layer, module) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let module = module.trim_end_matches(".rs");
    // A grouped import (`crate::{app, ports}`) would hide which layer it reaches.
    let mut rules: Vec<(String, String)> = vec![
        ("crate::{".to_owned(), "imports layers in a group: name each path".to_owned()),
        ("crate::adapters::{".to_owned(), "imports adapters in a group: name each path".to_owned()),
    ];
    if layer == "app" || layer == "lib.rs" || layer == "main.rs" {
        rules.clear();
    }
    match layer {
        "domain" => rules.extend(NOT_IN_DOMAIN.iter().map(|(n, w)| ((*n).to_owned(), (*w).to_owned()))),
        "ports" => rules.extend(NOT_IN_PORTS.iter().map(|(n, w)| ((*n).to_owned(), (*w).to_owned()))),
        "adapters" if module != "mod" => {
            rules.push(("crate::app".to_owned(), "imports the app".to_owned()));
            for other in adapters().into_iter().filter(|a| a != module) {
                rules.push((format!("crate::adapters::{other}"), format!("imports the {other} adapter")));
            }
        }
        _ => {}
    }
    let code = code_only(text);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for (needle, what) in &rules {
            if names(line, needle) {
                found.push(Violation { file: path.to_owned(), line: n + 1, what: format!("{what} (`{needle}`)") });
            }
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The adapters: each folder or module of `src/adapters`.
fn adapters() -> Vec<String> {
    let dir = src().join("adapters");
    let entries = std::fs::read_dir(&dir).expect("src/adapters is readable");
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().trim_end_matches(".rs").to_owned())
        .filter(|n| n != "mod")
        .collect();
    names.sort();
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_layers_import_only_what_the_architecture_allows() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under src").to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("a readable source file");
        violations.extend(check(&relative, &text));
    }
    assert!(files.len() > 100, "the tree was read: {} files", files.len());
    let listed: Vec<String> = violations.iter().map(|v| format!("src/{}:{}: {}", v.file, v.line, v.what)).collect();
    assert!(listed.is_empty(), "architecture rules broken:\n{}", listed.join("\n"));
}

#[test]
fn checker_finds_each_kind_of_violation() {
    let domain = "use std::fs;\nfn f() { let t = chrono::Utc::now(); }\nasync fn g() { x.await }\n";
    let found: Vec<usize> = check("domain/model.rs", domain).iter().map(|v| v.line).collect();
    assert_eq!(found, [1, 2, 3, 3]);
    assert_eq!(check("ports/store.rs", "use crate::adapters::sqlite::SqliteStore;").len(), 1);
    assert_eq!(check("adapters/http/mod.rs", "use crate::app::Hub;").len(), 1);
    let other = check("adapters/http/pages.rs", "use crate::adapters::sqlite::SqliteStore;");
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0].what.contains("sqlite adapter"), "{other:?}");
    // Its own folder, the shared ports, comments and strings are fine.
    assert!(check("adapters/http/pages.rs", "use crate::adapters::http::views;").is_empty());
    assert!(check("domain/model.rs", "// std::fs is not used\nlet s = \"tokio\";\nlet r = r#\"sqlx\"#;").is_empty());
    assert!(check("domain/model.rs", "fn tokio_like() {}\nlet futures_utility = 1;").is_empty());
    assert!(check("app/mod.rs", "use crate::adapters::sqlite::SqliteStore;").is_empty(), "app wires everything");
    assert_eq!(check("ports/store.rs", "use crate::{app, domain};").len(), 1, "a group hides a layer");
}
