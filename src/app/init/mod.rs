//! `buildstatus init DIR`: a directory to start from — a `buildstatus.toml` naming every key at
//! its default with what it means, `public_html/` with the built-in static files to edit, and
//! `templates/` with samples — written only where nothing is: it never overwrites a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::web::assets;

/// What `init` writes, by path below the directory.
const FILES: &[(&str, &[u8])] = &[
    ("buildstatus.toml", include_bytes!("buildstatus.toml")),
    ("public_html/default.css", assets::DEFAULT_CSS.as_bytes()),
    ("public_html/favicon.ico", assets::FAVICON_ICO),
    ("public_html/robots.txt", assets::ROBOTS_TXT.as_bytes()),
    ("templates/README.txt", include_bytes!("README.txt")),
    ("templates/layout.html.sample", include_bytes!("layout.html.sample")),
    ("templates/builders.html.sample", include_bytes!("builders.html.sample")),
];

/// Why `init` wrote nothing (or, after a failed write, stopped).
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exist(s); init never overwrites, so nothing was written: {}", .0.len(), list(.0))]
    Exists(Vec<PathBuf>),
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
}

fn list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Writes the starting files into `dir` (created if missing) and returns their paths. When any
/// of them exists already, nothing is written.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let targets: Vec<PathBuf> = FILES.iter().map(|(name, _)| dir.join(name)).collect();
    let existing: Vec<PathBuf> = targets.iter().filter(|p| p.symlink_metadata().is_ok()).cloned().collect();
    if !existing.is_empty() {
        return Err(InitError::Exists(existing));
    }
    for (path, (_, content)) in targets.iter().zip(FILES) {
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| InitError::Io(parent.to_owned(), e))?;
        // create_new: a file that appeared since the check is still not overwritten.
        let mut file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| InitError::Io(path.clone(), e))?;
        file.write_all(content).map_err(|e| InitError::Io(path.clone(), e))?;
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::config::Config;

    /// The sample with every setting line ("# key = …", "# [block]") made active.
    fn every_setting_on(sample: &str) -> String {
        sample
            .lines()
            .filter(|l| !l.starts_with("##"))
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_sample_is_the_defaults_and_every_setting_in_it_is_valid() {
        let sample = std::str::from_utf8(FILES[0].1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let as_is = Config::parse(sample, dir.path()).expect("the sample as written");
        let defaults = Config::defaults(dir.path());
        assert_eq!(as_is.server.site, defaults.server.site, "commented out, it changes nothing");
        let all_on = every_setting_on(sample);
        if let Err(problems) = Config::parse(&all_on, dir.path()) {
            panic!("every setting of the sample, turned on, is valid: {problems:#?}\n{all_on}");
        }
    }

    #[test]
    fn the_sample_names_every_key_of_the_readme_and_every_block() {
        let sample = std::str::from_utf8(FILES[0].1).unwrap();
        let readme = include_str!("../../../README.md");
        let configuration = readme.split("### Configuration (`buildstatus.toml`)").nth(1).unwrap();
        let table = configuration.split("\n\n").nth(2).unwrap();
        let mut keys: Vec<&str> = Vec::new();
        for row in table.lines().filter(|l| l.starts_with("| `")) {
            let first_cell = row.split('|').nth(1).unwrap();
            // The first name of a cell is the key; "(or …)" names an alias.
            let names = first_cell.split(" (or").next().unwrap();
            keys.extend(names.split('`').skip(1).step_by(2));
        }
        assert!(keys.len() >= 20, "{keys:?}");
        for key in keys {
            assert!(sample.contains(&format!("# {key} = ")), "the sample lacks {key}");
        }
        for block in crate::app::config::block_names() {
            assert!(
                sample.contains(&format!("# [{block}]")) || sample.contains(&format!("# [[{block}]]")),
                "the sample lacks [{block}]"
            );
        }
    }
}
