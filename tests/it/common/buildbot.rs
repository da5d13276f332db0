//! Buildbot 4.3 as a test peer: the Python virtualenv `.ci/run` installs it into (or the one
//! `BUILDSTATUS_BUILDBOT_VENV` names). Tests that need it fail, never skip, without it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};

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

/// How many Buildbot setups (a master with its worker, or a database being written) run at
/// once. Each takes most of a core while it starts; on a two-core machine more of them at
/// once only make every one of them late, past the deadlines of the tests that wait on them.
const SETUPS_AT_ONCE: usize = 3;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// A place among the Buildbot setups allowed to run at once; held while the setup runs.
pub struct Slot(());

/// Waits for a [`Slot`]. Hold at most one at a time: a test that waits for a second while
/// holding one could wait for ever.
pub fn slot() -> Slot {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    while *running >= SETUPS_AT_ONCE {
        running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
    }
    *running += 1;
    Slot(())
}

impl Drop for Slot {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        FREED.notify_one();
    }
}
