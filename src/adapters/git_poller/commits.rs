//! Reading many commits with one `git` process: `git diff-tree --stdin` is given the new
//! revisions, oldest first, and prints for each its author, time, message and changed files,
//! NUL-separated ([`DIFF_TREE_ARGS`]). This module turns that output into commits.
//!
//! Why it can be read without doubt: every record starts with an empty field, which no path
//! can be, followed by the commit id, which must be the next revision asked for; after the
//! message come the paths, the first one behind the newline git puts before a commit's diff.
//! A record that does not fit is an error naming the revision, never a guess.

use crate::domain::model::Timestamp;

/// The arguments that make `git diff-tree` print what [`parse`] reads (`--always`: a commit
/// that changes no file still gets its record).
pub const DIFF_TREE_ARGS: [&str; 8] = [
    "diff-tree",
    "--stdin",
    "-r",
    "--root",
    "--name-only",
    "-z",
    "--always",
    "--format=%x00%H%x00%an%x00%ae%x00%ct%x00%B",
];

/// One commit as `git diff-tree` printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub revision: String,
    /// `Name <email>`, or the name alone when the email is empty.
    pub who: String,
    pub when: Timestamp,
    /// The whole message, without its trailing whitespace.
    pub message: String,
    pub files: Vec<String>,
}

/// The commits of `output`, which must be exactly `revisions`, in that order.
pub fn parse(output: &str, revisions: &[&str]) -> Result<Vec<Commit>, String> {
    let mut fields = output.split('\0').peekable();
    let mut commits = Vec::with_capacity(revisions.len());
    for &revision in revisions {
        let unreadable = |what: &str| format!("git diff-tree gave an unreadable record for {revision}: {what}");
        if fields.next() != Some("") {
            return Err(unreadable("it does not start where the previous one ended"));
        }
        let mut header = [""; 5];
        for field in &mut header {
            *field = fields.next().ok_or_else(|| unreadable("it is cut short"))?;
        }
        let [id, name, email, time, message] = header;
        if id != revision {
            return Err(unreadable(&format!("it is the record of '{id}'")));
        }
        let when = time
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .ok_or_else(|| unreadable(&format!("'{time}' is not a commit time")))?;
        let mut files = Vec::new();
        while let Some(path) = fields.next_if(|f| !f.is_empty()) {
            let path = if files.is_empty() { path.strip_prefix('\n').unwrap_or(path) } else { path };
            files.push(path.to_owned());
        }
        let who = if email.is_empty() { name.to_owned() } else { format!("{name} <{email}>") };
        commits.push(Commit {
            revision: revision.to_owned(),
            who,
            when,
            message: message.trim_end().to_owned(),
            files,
        });
    }
    // The output ends with the last path's terminator, or with the last message's.
    match fields.next() {
        None | Some("") if fields.next().is_none() => Ok(commits),
        _ => Err("git diff-tree printed more records than revisions were asked for".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What git 2.47 printed for three commits: an empty root with a two-line message, one
    /// adding `d/g` and `f 1` by an author without email, one removing `f 1`.
    const THREE: &str = "\0aaa\0A B\0a@b\x001795629854\0root\nwith body\n\0\0bbb\0C\0\x001795629854\0two\n\0\nd/g\0f 1\0\0ccc\0E\0e@f\x001795629854\0three\n\0\nf 1\0";

    #[test]
    fn reads_every_commit_with_its_files() {
        let commits = parse(THREE, &["aaa", "bbb", "ccc"]).expect("readable");
        let at = chrono::DateTime::from_timestamp(1_795_629_854, 0).expect("time");
        assert_eq!(
            commits[0],
            Commit {
                revision: "aaa".into(),
                who: "A B <a@b>".into(),
                when: at,
                message: "root\nwith body".into(),
                files: vec![]
            }
        );
        assert_eq!((commits[1].who.as_str(), &commits[1].files[..]), ("C", &["d/g".to_owned(), "f 1".to_owned()][..]));
        assert_eq!((commits[2].message.as_str(), &commits[2].files[..]), ("three", &["f 1".to_owned()][..]));
    }

    #[test]
    fn hostile_paths_and_messages_stay_what_they_are() {
        // A path that starts with a newline, or looks like a commit id, is still a path.
        let out = "\0aaa\0A\0a@b\x001\0msg\0\n\nodd\0bbb\0\0bbb\0B\0b@c\x002\0\0\nx\0";
        let commits = parse(out, &["aaa", "bbb"]).expect("readable");
        assert_eq!(commits[0].files, ["\nodd", "bbb"]);
        assert_eq!((commits[1].message.as_str(), &commits[1].files[..]), ("", &["x".to_owned()][..]));
    }

    #[test]
    fn a_record_that_does_not_fit_is_an_error() {
        let wrong_order = parse(THREE, &["bbb", "aaa", "ccc"]).expect_err("out of order");
        assert!(wrong_order.contains("record for bbb: it is the record of 'aaa'"), "{wrong_order}");
        let short = parse(&THREE[..20], &["aaa"]).expect_err("cut");
        assert!(short.contains("cut short"), "{short}");
        let time = parse("\0aaa\0A\0\0soon\0m\0", &["aaa"]).expect_err("time");
        assert!(time.contains("'soon' is not a commit time"), "{time}");
        let extra = parse(THREE, &["aaa", "bbb"]).expect_err("extra");
        assert!(extra.contains("more records"), "{extra}");
    }
}
