//! What the README's install section uses: the shells' completion scripts, the systemd
//! unit's command line, and `init`.

use std::process::Command;

#[test]
fn bash_completes_the_subcommands_from_the_generated_script() {
    let script = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["completions", "bash"]).output().expect("runs");
    assert!(script.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("buildstatus.bash");
    std::fs::write(&file, &script.stdout).expect("script");
    // Load it as bash-completion would, and ask for the completions of `buildstatus se`.
    let probe = format!(
        "source {}; COMP_WORDS=(buildstatus se); COMP_CWORD=1; COMP_LINE='buildstatus se'; COMP_POINT=14; \
         _buildstatus buildstatus se buildstatus; echo \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().expect("bash runs");
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.split_whitespace().any(|w| w == "serve"), "{offered} {}", String::from_utf8_lossy(&out.stderr));
    assert!(offered.split_whitespace().any(|w| w == "send"), "{offered}");
    for shell in ["zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["completions", shell]).output().expect("runs");
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("check-config"), "{shell}");
    }
}

#[test]
fn the_systemd_unit_starts_a_command_the_binary_has() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/buildstatus.service")).expect("unit");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("an ExecStart line");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args[..2], ["serve", "--config"], "{exec}");
    let help = Command::new(env!("CARGO_BIN_EXE_buildstatus")).args(["serve", "--help"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
}

/// `buildstatus init DIR` writes a directory a server runs from, and never overwrites.
#[tokio::test]
async fn init_writes_a_directory_to_start_from_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("ci");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("init").arg(&site).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["buildstatus.toml", "public_html/robots.txt", "public_html/default.css", "templates/README.txt"] {
        assert!(site.join(file).is_file(), "{file} written");
    }
    let config = site.join("buildstatus.toml");
    let check =
        Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("check-config").arg(&config).output().expect("runs");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // The samples work once renamed: the server draws its pages with them.
    std::fs::rename(site.join("templates/layout.html.sample"), site.join("templates/layout.html")).expect("rename");
    std::fs::rename(site.join("templates/builders.html.sample"), site.join("templates/builders.html")).expect("rename");
    std::fs::write(site.join("public_html/robots.txt"), "User-agent: *\nDisallow: /mine\n").expect("edit");
    let config_arg = config.to_str().expect("path").to_owned();
    let server = crate::common::start_binary_listening(
        &["demo", "--history", "20", "--config", &config_arg],
        &["127.0.0.1:0"],
        tempfile::tempdir().expect("tempdir"),
    );
    let builders = reqwest::get(format!("{}/builders", server.base)).await.expect("answers");
    assert_eq!(builders.status(), 200);
    let builders = builders.text().await.expect("text");
    assert!(builders.contains("<h1>Builders: ALL</h1>") && builders.contains("class=\"LastBuild box"), "{builders}");
    assert!(builders.contains("<div class=\"footer\">"), "in the sample layout: {builders}");
    let robots =
        reqwest::get(format!("{}/robots.txt", server.base)).await.expect("answers").text().await.expect("text");
    assert!(robots.contains("Disallow: /mine"), "public_html/ is served: {robots}");
    drop(server);

    // Into a directory that has any of its files: refused, naming them, nothing written.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("buildstatus.toml"), "title = \"Mine\"\n").expect("write");
    std::fs::write(other.join("notes.txt"), "kept").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("init").arg(&other).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("buildstatus.toml") && err.contains("never overwrites"), "{err}");
    assert_eq!(std::fs::read_to_string(other.join("buildstatus.toml")).expect("read"), "title = \"Mine\"\n");
    assert!(!other.join("public_html").exists() && !other.join("templates").exists(), "nothing written");
    // An unrelated file is no reason to refuse.
    let third = dir.path().join("third");
    std::fs::create_dir_all(&third).expect("mkdir");
    std::fs::write(third.join("notes.txt"), "kept").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_buildstatus")).arg("init").arg(&third).output().expect("runs");
    assert!(out.status.success() && third.join("buildstatus.toml").is_file());
}
