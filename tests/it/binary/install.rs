//! What the README's install section uses: the shells' completion scripts, and the systemd
//! unit's command line.

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
