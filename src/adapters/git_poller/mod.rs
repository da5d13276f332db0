//! A Git poller change source: fetches the configured branches of a repository (a local path
//! or any URL `git` can fetch) into a bare working repository, and turns the commits it has not
//! seen into changes with their author, files, message, time and revision.
//!
//! Technology: the `git` command line through `tokio::process`, with an argument vector —
//! never a shell — and no terminal prompts. Guarantees: nothing is lost or repeated. Each
//! branch's last seen commit is a ref in the working repository (`refs/buildstatus/BRANCH`),
//! moved only after the changes were stored; fetched commits wait in `refs/buildstatus-fetch/`.
//! The first poll of a branch only records where it is (like Buildbot's GitPoller), so a new
//! poller does not report the whole history. Tests run it against repositories they create
//! with `git`.

mod commits;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use self::commits::{Commit, DIFF_TREE_ARGS};
use crate::domain::hooks::{NewChange, says_skip_ci};
use crate::ports::ChangeSink;

/// One `[[git_poller]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitPollerSettings {
    /// How pages and the `poller` hook name it (default: the repository).
    pub name: String,
    /// A local path or a URL.
    pub repository: String,
    pub branches: Vec<String>,
    pub interval: Duration,
    pub poll_at_launch: bool,
    pub project: String,
    pub category: Option<String>,
    pub codebase: String,
    /// Leave out commits whose message says `[ci skip]` or `[skip ci]`.
    pub skip_ci: bool,
}

impl GitPollerSettings {
    /// How `/changes` lists it.
    pub fn describe(&self) -> String {
        format!(
            "GitPoller watching the remote git repository {}, branches: {}",
            self.repository,
            self.branches.join(", ")
        )
    }
}

/// Why a poll failed; nothing was recorded for the branch it failed on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PollError(pub String);

/// Longest a single `git` command may run (a hung remote must not stop polling for good).
const GIT_TIMEOUT: Duration = Duration::from_secs(300);

pub struct GitPoller {
    pub settings: GitPollerSettings,
    workdir: PathBuf,
}

impl GitPoller {
    /// A poller keeping its working repository in `workdir` (created on first poll).
    pub fn new(settings: GitPollerSettings, workdir: PathBuf) -> Self {
        Self { settings, workdir }
    }

    /// Fetches every branch and stores the new commits through `sink`; returns how many
    /// changes were added. A failing branch does not stop the others; the first error is
    /// returned after all were tried.
    pub async fn poll(&self, sink: &dyn ChangeSink) -> Result<usize, PollError> {
        self.prepare().await?;
        let mut added = 0;
        let mut first_error = None;
        for branch in &self.settings.branches {
            match self.poll_branch(branch, sink).await {
                Ok(n) => added += n,
                Err(e) => {
                    first_error.get_or_insert(PollError(format!("branch '{branch}': {e}")));
                }
            }
        }
        match first_error {
            None => Ok(added),
            Some(e) => Err(e),
        }
    }

    async fn prepare(&self) -> Result<(), PollError> {
        if self.workdir.join("HEAD").exists() {
            return Ok(());
        }
        tokio::fs::create_dir_all(&self.workdir)
            .await
            .map_err(|e| PollError(format!("cannot create {}: {e}", self.workdir.display())))?;
        let dir = self.workdir.as_os_str().to_owned();
        run_git(None, &["init".as_ref(), "--bare".as_ref(), "--quiet".as_ref(), dir.as_os_str()]).await?;
        Ok(())
    }

    async fn git(&self, args: &[&str]) -> Result<String, PollError> {
        let dir = self.workdir.as_path();
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        run_git(Some(dir), &args).await
    }

    async fn poll_branch(&self, branch: &str, sink: &dyn ChangeSink) -> Result<usize, PollError> {
        let fetched = format!("refs/buildstatus-fetch/{branch}");
        let seen = format!("refs/buildstatus/{branch}");
        let refspec = format!("+refs/heads/{branch}:{fetched}");
        self.git(&["fetch", "--quiet", "--no-tags", &self.settings.repository, &refspec]).await?;
        let head = self.git(&["rev-parse", "--verify", &format!("{fetched}^{{commit}}")]).await?.trim().to_owned();
        let previous = self.git(&["rev-parse", "--verify", "--quiet", &seen]).await.ok().map(|s| s.trim().to_owned());
        let Some(previous) = previous.filter(|p| !p.is_empty()) else {
            self.git(&["update-ref", &seen, &head]).await?;
            return Ok(0);
        };
        if previous == head {
            return Ok(0);
        }
        let revisions = self.git(&["rev-list", "--reverse", "--topo-order", &format!("{previous}..{head}")]).await?;
        let revisions: Vec<&str> = revisions.split_whitespace().collect();
        let changes: Vec<NewChange> = self
            .commits(&revisions)
            .await?
            .into_iter()
            .filter(|commit| !(self.settings.skip_ci && says_skip_ci(&commit.message)))
            .map(|commit| self.change(branch, commit))
            .collect();
        let added = changes.len();
        sink.add_changes(changes).await.map_err(|e| PollError(e.to_string()))?;
        self.git(&["update-ref", &seen, &head, &previous]).await?;
        Ok(added)
    }

    /// The new commits, read by one `git` for them all (a push of a thousand commits is one
    /// process, not two thousand).
    async fn commits(&self, revisions: &[&str]) -> Result<Vec<Commit>, PollError> {
        if revisions.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = revisions.join("\n");
        input.push('\n');
        let args: Vec<&std::ffi::OsStr> = DIFF_TREE_ARGS.iter().map(|a| a.as_ref()).collect();
        let output = run_git_with_input(Some(&self.workdir), &args, input.into_bytes()).await?;
        commits::parse(&output, revisions).map_err(PollError)
    }

    fn change(&self, branch: &str, commit: Commit) -> NewChange {
        let mut change = NewChange::new(commit.who, commit.when);
        change.files = commit.files;
        change.comments = commit.message;
        change.revision = Some(commit.revision);
        change.branch = Some(branch.to_owned());
        change.category = self.settings.category.clone();
        change.repository = self.settings.repository.clone();
        change.project = self.settings.project.clone();
        change.codebase = self.settings.codebase.clone();
        change
    }
}

/// Runs `git ARGS` (in `dir` as its `--git-dir`); its standard output, or an error with its
/// standard error.
async fn run_git(dir: Option<&Path>, args: &[&std::ffi::OsStr]) -> Result<String, PollError> {
    run_git_with_input(dir, args, Vec::new()).await
}

/// [`run_git`], with `input` on its standard input (written while its output is read, so
/// that neither pipe can fill up and stop both sides).
async fn run_git_with_input(
    dir: Option<&Path>,
    args: &[&std::ffi::OsStr],
    input: Vec<u8>,
) -> Result<String, PollError> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("--git-dir").arg(dir);
    }
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(if input.is_empty() { Stdio::null() } else { Stdio::piped() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let shown = args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
    let run = async {
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let write = async move {
            if let Some(mut stdin) = stdin {
                // git stops reading when it fails; its error is the one to report.
                let _ = stdin.write_all(&input).await;
            }
        };
        let ((), output) = tokio::join!(write, child.wait_with_output());
        output
    };
    let output = tokio::time::timeout(GIT_TIMEOUT, run)
        .await
        .map_err(|_| PollError(format!("git {shown}: no answer in {} s", GIT_TIMEOUT.as_secs())))?
        .map_err(|e| PollError(format!("git {shown}: cannot run git: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(PollError(format!("git {shown}: {}", stderr.trim())));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
