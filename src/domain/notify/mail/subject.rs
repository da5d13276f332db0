//! The subject template (spec-notify-2 §2.7.4): Python `%(key)s` substitution over `result`,
//! `title`, `projectName` and `builder`. It is checked when the configuration is read, so a
//! typo is a config error instead of a lost mail (spec-notify-8 M7).

use crate::domain::notify::interpolate::{Piece, percent_pieces};

pub const DEFAULT_SUBJECT: &str = "buildbot %(result)s in %(title)s on %(builder)s";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Result,
    Title,
    Builder,
}

/// A checked subject template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectTemplate(Vec<Part>);

impl Default for SubjectTemplate {
    fn default() -> Self {
        Self::parse(DEFAULT_SUBJECT).unwrap_or(Self(Vec::new()))
    }
}

/// The values a subject is expanded with.
pub struct SubjectValues<'a> {
    pub result: &'a str,
    pub title: &'a str,
    pub builder: &'a str,
}

impl SubjectTemplate {
    pub fn parse(template: &str) -> Result<Self, String> {
        if template.contains(['\n', '\r']) {
            return Err("Newlines are not allowed in email subjects".to_owned());
        }
        let parts = percent_pieces(template, "%(builder)s")?.into_iter().map(|piece| match piece {
            Piece::Text(t) => Ok(Part::Text(t)),
            Piece::Key("result") => Ok(Part::Result),
            Piece::Key("title" | "projectName") => Ok(Part::Title),
            Piece::Key("builder") => Ok(Part::Builder),
            Piece::Key(other) => {
                Err(format!("unknown key %({other})s (the subject knows result, title, projectName and builder)"))
            }
        });
        Ok(Self(parts.collect::<Result<_, _>>()?))
    }

    /// The subject, on one line whatever the values hold.
    pub fn expand(&self, values: &SubjectValues) -> String {
        let mut out = String::new();
        for part in &self.0 {
            out.push_str(match part {
                Part::Text(t) => t,
                Part::Result => values.result,
                Part::Title => values.title,
                Part::Builder => values.builder,
            });
        }
        one_line(&out)
    }
}

/// `text` with every line break turned into a space: header values stay one line.
pub fn one_line(text: &str) -> String {
    text.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_subject_names_result_title_and_builder() {
        let v = SubjectValues { result: "failure", title: "MyProj", builder: "linux" };
        assert_eq!(SubjectTemplate::default().expand(&v), "buildbot failure in MyProj on linux");
        let t = SubjectTemplate::parse("100%% %(projectName)s: %(builder)s\u{e9}").unwrap();
        assert_eq!(t.expand(&v), "100% MyProj: linux\u{e9}");
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        assert_eq!(SubjectTemplate::parse("a\nb").unwrap_err(), "Newlines are not allowed in email subjects");
        assert!(SubjectTemplate::parse("%(branch)s").unwrap_err().contains("unknown key %(branch)s"));
        assert!(SubjectTemplate::parse("50% done").unwrap_err().contains("'%%'"));
    }

    #[test]
    fn values_cannot_break_the_header() {
        let v = SubjectValues { result: "x", title: "a\r\nBcc: evil@example.org", builder: "b" };
        assert!(!SubjectTemplate::default().expand(&v).contains('\n'));
    }
}
