//! Buildbot 4.3 as a test peer: the Python virtualenv `.ci/run` installs it into (or the one
//! `BUILDSTATUS_BUILDBOT_VENV` names). Tests that need it fail, never skip, without it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

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

pub fn python() -> PathBuf {
    venv().join("bin/python")
}

/// A peer process; stopped (killed and reaped) when dropped, so also when a test fails.
pub struct Peer(pub Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("address").port()
}

/// `program start --nodaemon .` (a Buildbot master or worker) in `dir`, its output into `log`.
pub fn start(program: &Path, dir: &Path, log: &Path) -> Peer {
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(program)
        .args(["start", "--nodaemon", "."])
        .current_dir(dir)
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("starts");
    Peer(child)
}
