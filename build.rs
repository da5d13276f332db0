//! Records the versions of the main libraries from Cargo.lock, for the `/about` page.

fn main() {
    const SHOWN: &[&str] = &["axum", "hyper", "maud", "sqlx", "tokio", "serde", "chrono", "tiny-skia"];
    println!("cargo::rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
            && SHOWN.contains(&n.as_str())
            && !found.iter().any(|(f, _): &(String, String)| f == &n)
        {
            found.push((n, v.trim_matches('"').to_owned()));
        }
    }
    found.sort_by_key(|(n, _)| SHOWN.iter().position(|s| s == n));
    let list: Vec<String> = found.iter().map(|(n, v)| format!("{n}={v}")).collect();
    println!("cargo::rustc-env=BUILDSTATUS_LIBRARIES={}", list.join(","));
}
