//! Buildbot 4.3 as a test peer: the Python virtualenv `.ci/run` installs it into (or the one
//! `BUILDSTATUS_BUILDBOT_VENV` names). Tests that need it fail, never skip, without it.

use std::path::PathBuf;

pub fn venv() -> PathBuf {
    let venv = std::env::var_os("BUILDSTATUS_BUILDBOT_VENV")
        .map_or_else(|| PathBuf::from("/var/tmp/buildstatus-buildbot-venv"), PathBuf::from);
    assert!(
        venv.join("bin/buildbot").exists(),
        "Buildbot 4.3 is not installed in {} (run .ci/run, or set BUILDSTATUS_BUILDBOT_VENV)",
        venv.display()
    );
    venv
}

#[allow(dead_code)] // not every test that uses Buildbot runs Python itself
pub fn python() -> PathBuf {
    venv().join("bin/python")
}
