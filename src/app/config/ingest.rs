//! The `[ingest]` block of `buildstatus.toml`: the event ingest API (`POST /api/v1/events`).
//! It is enabled by giving it tokens, inline (`tokens = ["..."]`) or, better kept out of the
//! config, in a file of one token per line (`tokens_file`); `create_builders` lets events start
//! builds on builders not yet known; `max_body` bounds a request.

use std::path::Path;

use super::values::{boolean, bytes, strings};
use crate::domain::ingest::Tokens;

/// The ingest API as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestConfig {
    pub tokens: Tokens,
    pub create_builders: bool,
    pub max_body: usize,
}

pub const DEFAULT_MAX_BODY: usize = 16 << 20;

/// The shortest token accepted: a guessable token would open the API to anyone.
const MIN_TOKEN: usize = 16;

/// Parses the `ingest` table; every problem is returned, each naming its key.
pub fn parse(value: &toml::Value, base: &Path) -> Result<IngestConfig, Vec<String>> {
    let Some(table) = value.as_table() else {
        return Err(vec!["ingest: expected a table ([ingest])".to_owned()]);
    };
    let mut tokens = Vec::new();
    let mut config =
        IngestConfig { tokens: Tokens::new(Vec::new()), create_builders: false, max_body: DEFAULT_MAX_BODY };
    let mut problems = Vec::new();
    for (key, value) in table {
        let result = match key.as_str() {
            "tokens" => strings(value).map(|list| tokens.extend(list)),
            "tokens_file" => match value.as_str() {
                Some(file) => match std::fs::read_to_string(base.join(file)) {
                    Ok(text) => {
                        let lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
                        tokens.extend(lines.map(str::to_owned));
                        Ok(())
                    }
                    Err(e) => Err(format!("cannot read {}: {e}", base.join(file).display())),
                },
                None => Err("expected a file name".to_owned()),
            },
            "create_builders" => boolean(value).map(|b| config.create_builders = b),
            "max_body" => bytes(value).map(|n| config.max_body = n),
            other => Err(format!("unknown key '{other}' (keys: tokens, tokens_file, create_builders, max_body)")),
        };
        if let Err(problem) = result {
            problems.push(format!("ingest.{key}: {problem}"));
        }
    }
    if tokens.is_empty() && problems.is_empty() {
        problems.push("ingest: no token: set tokens or tokens_file".to_owned());
    }
    if tokens.iter().any(|t| t.len() < MIN_TOKEN || t.chars().any(char::is_whitespace)) {
        problems.push(format!("ingest: every token must be at least {MIN_TOKEN} characters, without spaces"));
    }
    config.tokens = Tokens::new(tokens);
    if problems.is_empty() { Ok(config) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str, base: &Path) -> Result<IngestConfig, Vec<String>> {
        let table: toml::Table = text.parse().expect("toml");
        parse(&table["ingest"], base)
    }

    #[test]
    fn tokens_come_inline_or_from_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("t.txt"), "# CI\nfile-token-0123456789\n\n").expect("write");
        let c = parse_text(
            "[ingest]\ntokens = [\"inline-token-0123456789\"]\ntokens_file = \"t.txt\"\ncreate_builders = true",
            dir.path(),
        )
        .expect("valid");
        assert!(c.tokens.allows(Some("Bearer inline-token-0123456789")));
        assert!(c.tokens.allows(Some("Bearer file-token-0123456789")));
        assert!(c.create_builders);
        assert_eq!(c.max_body, DEFAULT_MAX_BODY);
    }

    #[test]
    fn problems_name_their_key() {
        let mut p = parse_text("[ingest]\ntokens = [\"short\"]\nmax_body = 0\ncolour = 1", Path::new(".")).unwrap_err();
        p.sort();
        assert_eq!(
            p,
            [
                "ingest.colour: unknown key 'colour' (keys: tokens, tokens_file, create_builders, max_body)",
                "ingest.max_body: expected a positive number of bytes",
                "ingest: every token must be at least 16 characters, without spaces",
            ]
        );
        assert_eq!(
            parse_text("[ingest]", Path::new(".")).unwrap_err(),
            ["ingest: no token: set tokens or tokens_file"]
        );
    }
}
