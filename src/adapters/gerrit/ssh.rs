//! `gerrit review` over SSH with the OpenSSH client, run as a program with its arguments
//! (never through a shell), with the environment it inherits (an ssh-agent's keys work, G1),
//! in batch mode (it never asks for a password), and killed when the timeout passes (X5).
//!
//! Before the first review, and again every ten minutes, `gerrit version` is asked once (the
//! reviews waiting meanwhile share the answer, G3) to learn how votes are spelled; when it
//! cannot be learnt, `--label` is used. ssh's own failures (exit 255) are sorted by what it
//! said: a refused key or an unknown or changed host key is permanent (a configuration to
//! fix), anything else (a refused connection, a timeout) temporary; a `gerrit` command that
//! fails says why on its standard error, which is kept, in Gerrit's words.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::domain::notify::gerrit::Outgoing;
use crate::domain::notify::gerrit::command::{LabelStyle, parse_version, ssh_review};
use crate::ports::{ReviewApi, ReviewError};

/// How ssh treats the server's host key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostKeyChecking {
    /// Only a known host key is accepted (`StrictHostKeyChecking=yes`).
    #[default]
    Yes,
    /// A new host's key is learnt, a changed one refused (`accept-new`).
    AcceptNew,
    /// Any key is accepted (`no`): for tests only.
    No,
}

impl HostKeyChecking {
    fn option(self) -> &'static str {
        match self {
            Self::Yes => "StrictHostKeyChecking=yes",
            Self::AcceptNew => "StrictHostKeyChecking=accept-new",
            Self::No => "StrictHostKeyChecking=no",
        }
    }
}

/// Where Gerrit's SSH daemon is and who we are there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshSettings {
    /// The ssh program (`ssh`, found on the PATH).
    pub program: PathBuf,
    pub server: String,
    pub port: u16,
    pub username: String,
    /// `ssh -i`: the private key (otherwise ssh's defaults and the agent).
    pub identity_file: Option<PathBuf>,
    /// The known_hosts file (otherwise ssh's defaults).
    pub known_hosts: Option<PathBuf>,
    pub host_keys: HostKeyChecking,
    /// The longest a call may take, connection included.
    pub timeout: Duration,
}

impl SshSettings {
    pub fn new(server: &str, username: &str) -> Self {
        Self {
            program: PathBuf::from("ssh"),
            server: server.to_owned(),
            port: 29418,
            username: username.to_owned(),
            identity_file: None,
            known_hosts: None,
            host_keys: HostKeyChecking::default(),
            timeout: Duration::from_secs(30),
        }
    }

    /// ssh's arguments for running `remote` (an already quoted command line) on the server.
    pub fn argv(&self, remote: &str) -> Vec<String> {
        let mut argv = vec!["-o".to_owned(), "BatchMode=yes".to_owned()];
        argv.extend(["-o".to_owned(), format!("ConnectTimeout={}", self.timeout.as_secs().max(1))]);
        argv.extend(["-o".to_owned(), self.host_keys.option().to_owned()]);
        if let Some(file) = &self.known_hosts {
            argv.extend(["-o".to_owned(), format!("UserKnownHostsFile=\"{}\"", file.display())]);
        }
        if let Some(key) = &self.identity_file {
            argv.extend(["-i".to_owned(), key.display().to_string(), "-o".to_owned(), "IdentitiesOnly=yes".to_owned()]);
        }
        argv.extend(["-p".to_owned(), self.port.to_string(), "--".to_owned()]);
        argv.extend([format!("{}@{}", self.username, self.server), remote.to_owned()]);
        argv
    }
}

/// How long a learnt version is trusted, and a failed probe's fallback.
const VERSION_TTL: Duration = Duration::from_secs(600);
const FALLBACK_TTL: Duration = Duration::from_secs(60);

/// Gerrit's SSH daemon.
pub struct GerritSsh {
    settings: SshSettings,
    /// The label style learnt from `gerrit version`, when, and for how long.
    style: Mutex<Option<(Instant, Duration, LabelStyle)>>,
}

impl GerritSsh {
    pub fn new(settings: SshSettings) -> Self {
        Self { settings, style: Mutex::new(None) }
    }

    /// Runs `remote` on the server; its standard output.
    async fn run(&self, remote: &str) -> Result<String, ReviewError> {
        let s = &self.settings;
        tracing::debug!("gerrit: {} {}@{}:{} {remote}", s.program.display(), s.username, s.server, s.port);
        let child = Command::new(&s.program)
            .args(s.argv(remote))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ReviewError::Permanent(format!("cannot run {}: {e}", s.program.display())))?;
        let output = match tokio::time::timeout(s.timeout, child.wait_with_output()).await {
            Ok(done) => done.map_err(|e| ReviewError::Temporary(format!("ssh: {e}")))?,
            Err(_) => return Err(ReviewError::Temporary(format!("ssh timed out after {} s", s.timeout.as_secs()))),
        };
        let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        match output.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
            Some(255) => Err(ssh_failure(&said, s)),
            code => {
                let code = code.map_or("a signal".to_owned(), |c| format!("status {c}"));
                Err(ReviewError::Permanent(format!("gerrit on {} ended with {code}: {said}", s.server)))
            }
        }
    }

    /// How votes are spelled on this server: asked once per [`VERSION_TTL`], the reviews
    /// meanwhile waiting for the one answer.
    pub async fn label_style(&self) -> LabelStyle {
        let mut cached = self.style.lock().await;
        if let Some((at, ttl, style)) = *cached
            && at.elapsed() < ttl
        {
            return style;
        }
        let (ttl, style) = match self.run("gerrit version").await {
            Ok(out) => match parse_version(&out) {
                Some(version) => (VERSION_TTL, LabelStyle::of(Some(&version))),
                None => {
                    tracing::warn!(
                        "gerrit on {}: cannot interpret '{}'; using --label",
                        self.settings.server,
                        out.trim()
                    );
                    (VERSION_TTL, LabelStyle::Labels)
                }
            },
            Err(e) => {
                tracing::warn!("gerrit on {}: gerrit version failed ({e}); using --label", self.settings.server);
                (FALLBACK_TTL, LabelStyle::Labels)
            }
        };
        *cached = Some((Instant::now(), ttl, style));
        style
    }
}

/// An ssh failure (exit 255) sorted by what ssh said.
fn ssh_failure(said: &str, s: &SshSettings) -> ReviewError {
    let place = format!("ssh to {}@{}:{}", s.username, s.server, s.port);
    let lower = said.to_ascii_lowercase();
    if lower.contains("permission denied") {
        ReviewError::Permanent(format!("{place}: the server refused the user or key ({said})"))
    } else if lower.contains("host key verification failed") || lower.contains("identification has changed") {
        ReviewError::Permanent(format!("{place}: the server's host key is not the known one ({said})"))
    } else {
        ReviewError::Temporary(format!("{place}: {said}"))
    }
}

#[async_trait]
impl ReviewApi for GerritSsh {
    async fn post_review(&self, review: &Outgoing) -> Result<(), ReviewError> {
        let style = self.label_style().await;
        let command = ssh_review(&review.target, &review.review, style).map_err(ReviewError::Permanent)?;
        if !command.skipped.is_empty() {
            tracing::warn!(
                "gerrit on {}: this Gerrit predates --label; not sent: {}",
                self.settings.server,
                command.skipped.join(", ")
            );
        }
        self.run(&command.line()).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_gets_options_then_the_destination_then_the_remote_line() {
        let mut s = SshSettings::new("gerrit.example.org", "buildbot");
        s.identity_file = Some(PathBuf::from("/keys/id"));
        s.known_hosts = Some(PathBuf::from("/keys/known hosts"));
        assert_eq!(
            s.argv("gerrit version"),
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=30",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "UserKnownHostsFile=\"/keys/known hosts\"",
                "-i",
                "/keys/id",
                "-o",
                "IdentitiesOnly=yes",
                "-p",
                "29418",
                "--",
                "buildbot@gerrit.example.org",
                "gerrit version"
            ]
        );
    }

    #[test]
    fn ssh_failures_are_sorted_by_what_ssh_said() {
        let s = SshSettings::new("g", "u");
        assert!(matches!(ssh_failure("u@g: Permission denied (publickey).", &s), ReviewError::Permanent(_)));
        assert!(matches!(ssh_failure("Host key verification failed.", &s), ReviewError::Permanent(_)));
        assert!(matches!(
            ssh_failure("connect to host g port 29418: Connection refused", &s),
            ReviewError::Temporary(_)
        ));
    }
}
