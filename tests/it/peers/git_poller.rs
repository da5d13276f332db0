//! The Git poller against real repositories made here with `git`: new commits become changes
//! with their author, files, message, time and revision, once each and in order; a failed
//! store loses nothing; and in the running binary, the `poller` hook makes it poll at once.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use buildstatus::adapters::git_poller::{GitPoller, GitPollerSettings};
use buildstatus::adapters::memory::MemoryChanges;

/// Runs `git ARGS` in `dir`, as author `who` at `time` (seconds since 1970).
fn git(dir: &Path, args: &[&str], who: (&str, &str), time: i64) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", "CI")
        .env("GIT_COMMITTER_EMAIL", "ci@example.org")
        .env("GIT_AUTHOR_DATE", format!("@{time} +0200"))
        .env("GIT_COMMITTER_DATE", format!("@{time} +0200"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

const ANN: (&str, &str) = ("Ann Lee", "ann@example.org");
const ZOE: (&str, &str) = ("Zoë Ångström", "zoe@example.org");

fn repository() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("widget");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "--quiet", "--initial-branch=main"], ANN, 0);
    std::fs::write(repo.join("util.c"), "int util;\n").expect("write");
    std::fs::write(repo.join("old.txt"), "old\n").expect("write");
    git(&repo, &["add", "."], ANN, 0);
    git(&repo, &["commit", "--quiet", "-m", "Initial import"], ANN, 1_750_000_000);
    (dir, repo)
}

fn settings(repo: &Path) -> GitPollerSettings {
    GitPollerSettings {
        name: "widget".into(),
        repository: repo.to_string_lossy().into_owned(),
        branches: vec!["main".into()],
        interval: Duration::from_secs(3600),
        poll_at_launch: false,
        project: "widget".into(),
        category: None,
        codebase: String::new(),
        skip_ci: true,
    }
}

#[tokio::test]
async fn new_commits_become_changes_once_each_and_in_order() {
    let (dir, repo) = repository();
    let poller = GitPoller::new(settings(&repo), dir.path().join("work"));
    let sink = MemoryChanges::new();
    assert_eq!(poller.poll(&sink).await.expect("first poll"), 0, "the first poll only records where main is");
    git(&repo, &["mv", "util.c", "parser.c"], ZOE, 0);
    git(&repo, &["rm", "--quiet", "old.txt"], ZOE, 0);
    git(&repo, &["commit", "--quiet", "-m", "Rename util to parser\n\nAnd drop old.txt."], ZOE, 1_750_000_100);
    let first = git(&repo, &["rev-parse", "HEAD"], ANN, 0);
    std::fs::write(repo.join("parser.c"), "int parse;\n").expect("write");
    git(&repo, &["commit", "--quiet", "-am", "Docs only [ci skip]"], ANN, 1_750_000_150);
    std::fs::write(repo.join("new file.c"), "x\n").expect("write");
    git(&repo, &["add", "."], ANN, 0);
    git(&repo, &["commit", "--quiet", "-m", "Add a file with a space"], ANN, 1_750_000_200);
    let second = git(&repo, &["rev-parse", "HEAD"], ANN, 0);
    git(&repo, &["commit", "--quiet", "--allow-empty", "-m", "Empty"], ZOE, 1_750_000_250);
    std::fs::write(repo.join("line\nbreak"), "x\n").expect("write");
    git(&repo, &["add", "."], ANN, 0);
    git(&repo, &["commit", "--quiet", "-m", "A newline in a file name"], ANN, 1_750_000_300);
    assert_eq!(poller.poll(&sink).await.expect("poll"), 4, "the [ci skip] commit is left out");
    let changes = sink.changes();
    assert_eq!(changes.len(), 4);
    let c = &changes[0];
    assert_eq!(c.who, "Zoë Ångström <zoe@example.org>");
    assert_eq!(c.revision.as_deref(), Some(first.as_str()));
    assert_eq!(c.comments, "Rename util to parser\n\nAnd drop old.txt.");
    assert_eq!(c.files, ["old.txt", "parser.c", "util.c"]);
    assert_eq!(c.when.timestamp(), 1_750_000_100);
    assert_eq!((c.branch.as_deref(), c.project.as_str()), (Some("main"), "widget"));
    assert_eq!(c.repository, repo.to_string_lossy());
    assert_eq!(changes[1].revision.as_deref(), Some(second.as_str()));
    assert_eq!(changes[1].files, ["new file.c"]);
    assert_eq!((changes[2].comments.as_str(), changes[2].files.len()), ("Empty", 0));
    assert_eq!(changes[2].who, "Zoë Ångström <zoe@example.org>");
    assert_eq!(
        (changes[3].comments.as_str(), &changes[3].files[..]),
        ("A newline in a file name", &["line\nbreak".to_owned()][..])
    );
    assert_eq!(poller.poll(&sink).await.expect("poll"), 0, "nothing is reported twice");
    assert_eq!(sink.changes().len(), 4);
}

/// More revisions than a pipe holds go to one `git`, and more output than a pipe holds comes
/// back: neither side may wait on the other.
#[tokio::test]
async fn a_push_of_thousands_of_commits_is_read_whole() {
    let (dir, repo) = repository();
    let poller = GitPoller::new(settings(&repo), dir.path().join("work"));
    let sink = MemoryChanges::new();
    poller.poll(&sink).await.expect("first poll");
    let count = 3000;
    let mut stream = String::new();
    for i in 0..count {
        let message = format!("Commit {i}\n");
        let content = format!("{i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor Ann Lee <ann@example.org> {time} +0000\n\
             committer CI <ci@example.org> {time} +0000\ndata {}\n{message}",
            message.len(),
            time = 1_750_000_000 + i,
        ));
        if i == 0 {
            stream.push_str("from refs/heads/main^0\n");
        }
        stream.push_str(&format!("M 100644 inline dir/file-{i:04}.txt\ndata {}\n{content}\n", content.len()));
    }
    let mut import = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&repo)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import");
    std::io::Write::write_all(&mut import.stdin.take().expect("stdin"), stream.as_bytes()).expect("write");
    assert!(import.wait().expect("fast-import ends").success());
    assert_eq!(poller.poll(&sink).await.expect("poll"), count as usize);
    let changes = sink.changes();
    for (i, change) in changes.iter().enumerate() {
        assert_eq!(change.comments, format!("Commit {i}"));
        assert_eq!(change.files, [format!("dir/file-{i:04}.txt")]);
        assert_eq!(change.when.timestamp(), 1_750_000_000 + i as i64);
    }
}

#[tokio::test]
async fn a_failed_store_loses_nothing_and_a_bad_branch_is_reported() {
    let (dir, repo) = repository();
    let poller = GitPoller::new(settings(&repo), dir.path().join("work"));
    let sink = MemoryChanges::new();
    poller.poll(&sink).await.expect("first poll");
    std::fs::write(repo.join("a.c"), "a\n").expect("write");
    git(&repo, &["add", "."], ANN, 0);
    git(&repo, &["commit", "--quiet", "-m", "Add a.c"], ANN, 1_750_000_300);
    sink.fail_next();
    let failed = poller.poll(&sink).await.expect_err("the store failed");
    assert!(failed.to_string().contains("changes not stored"), "{failed}");
    assert!(sink.changes().is_empty());
    assert_eq!(poller.poll(&sink).await.expect("poll"), 1, "the commit is reported on the next poll");
    assert_eq!(sink.changes()[0].comments, "Add a.c");

    let mut missing = settings(&repo);
    missing.branches = vec!["main".into(), "no-such-branch".into()];
    let poller = GitPoller::new(missing, dir.path().join("work2"));
    let error = poller.poll(&sink).await.expect_err("a missing branch");
    assert!(error.to_string().starts_with("branch 'no-such-branch': git fetch"), "{error}");
}

#[tokio::test]
async fn the_poller_hook_makes_the_binary_poll_now() {
    let (dir, repo) = repository();
    let config = dir.path().join("buildstatus.toml");
    let text = format!(
        "[change_hook.poller]\nallow_unauthenticated = true\nallowed = [\"widget\"]\n\n\
         [[git_poller]]\nname = \"widget\"\nrepository = \"{}\"\nbranches = [\"main\"]\ninterval = 3600\npoll_at_launch = true\n",
        repo.display()
    );
    std::fs::write(&config, text).expect("write");
    let server = common::start_binary(&["serve", "--config", config.to_str().expect("a path")]);
    let http = reqwest::Client::new();
    let changes = format!("{}/changes", server.base);
    let page = http.get(&changes).send().await.expect("page").text().await.expect("body");
    assert!(page.contains("GitPoller watching the remote git repository"), "{page}");
    // The launch poll records where main is; wait for it before committing.
    let work = server.dir.path().join("data").join("gitpoller");
    let mut recorded = false;
    for _ in 0..200 {
        let found = std::fs::read_dir(&work).ok().and_then(|mut d| d.next()).and_then(|e| e.ok()).map(|e| e.path());
        if let Some(w) = found
            && Command::new("git")
                .args(["--git-dir"])
                .arg(&w)
                .args(["rev-parse", "--verify", "--quiet", "refs/buildstatus/main"])
                .output()
                .is_ok_and(|o| o.status.success())
        {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recorded, "the launch poll recorded main");
    std::fs::write(repo.join("hook.c"), "poked\n").expect("write");
    git(&repo, &["add", "."], ZOE, 0);
    git(&repo, &["commit", "--quiet", "-m", "Poked by the hook"], ZOE, 1_750_000_400);
    let poke = http.post(format!("{}/change_hook/poller", server.base)).send().await.expect("answer");
    assert_eq!(poke.status().as_u16(), 200);
    assert_eq!(poke.text().await.expect("body"), "no changes; polling: widget\n");
    let mut seen = String::new();
    for _ in 0..200 {
        seen = http.get(&changes).send().await.expect("page").text().await.expect("body");
        if seen.contains("Poked by the hook") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.contains("Poked by the hook") && seen.contains("Zoë Ångström"), "{seen}");
    let refused = http.post(format!("{}/change_hook/poller?poller=other", server.base)).send().await.expect("answer");
    assert_eq!(refused.status().as_u16(), 400);
}
