//! A PostgreSQL server of the tests' (and benchmarks') own on 127.0.0.1: `initdb` in a temporary directory (as
//! the `postgres` user when the tests run as root), started with `pg_ctl`. One helper for every
//! test that needs PostgreSQL: the import of a Buildbot database on PostgreSQL starts a server
//! of its own ([`Postgres::start`]); the store tests share one server per test process and take
//! a fresh database each ([`database`]), so that a hundred store tests do not run a hundred
//! `initdb`s.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running server; stopped when dropped.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
    /// Settings of this server beyond the defaults (`-c NAME=VALUE` each).
    settings: Vec<String>,
}

impl Postgres {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts a server of its own (with only the `postgres` database), with PostgreSQL's
    /// default settings (durable commits, as a site runs it).
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Postgres::start`] with `settings` (`NAME=VALUE`) beyond the defaults.
    pub fn start_with(settings: &[&str]) -> Self {
        let root = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
            .map(|d| {
                d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect()
            })
            .unwrap_or_default();
        versions.sort();
        let bin = versions.pop().expect("PostgreSQL is not installed under /usr/lib/postgresql (.ci/run installs it)");
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        let as_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::tempdir().expect("tempdir");
        if as_root {
            let chown = Command::new("chown").arg("postgres").arg(dir.path()).status().expect("chown runs");
            assert!(chown.success(), "chown postgres");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let settings = settings.iter().map(|s| format!("-c {s}")).collect();
        let pg = Self { bin, dir, port, as_root, settings };
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-A", "trust", "-U", "postgres"])
            .output()
            .expect("initdb");
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the server (again, after [`Postgres::stop_now`]) on its port, and waits for it.
    pub fn start_again(&self) {
        // Enough connections for the store tests running in parallel (each store opens a pool).
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 {}",
            self.port,
            self.dir.path().display(),
            self.settings.join(" ")
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Stops the server at once, as a crash or a cut network would (its clients' connections
    /// end without a goodbye).
    pub fn stop_now(&self) {
        let _ = self.command("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "-w", "stop"]).output();
    }

    /// Runs `statement` on `database`.
    pub fn psql(&self, database: &str, statement: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", database, "-c", statement])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{statement}: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn url(&self, driver: &str, database: &str) -> String {
        format!("{driver}://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop_now();
    }
}

static SHARED: OnceLock<Postgres> = OnceLock::new();

/// Stops the shared server and removes its directory when the test process exits (a static
/// is never dropped).
extern "C" fn stop_shared() {
    if let Some(pg) = SHARED.get() {
        pg.stop_now();
        let _ = std::fs::remove_dir_all(pg.dir.path());
    }
}

/// The server the store tests share, started by the first of them.
pub fn shared() -> &'static Postgres {
    SHARED.get_or_init(|| {
        // The store tests check behaviour, not durability against power loss: no flushes.
        let pg = Postgres::start_with(&["fsync=off"]);
        // SAFETY: registers a plain function, run once at exit.
        unsafe { libc::atexit(stop_shared) };
        pg
    })
}

/// The URL of a new, empty database on the shared server.
pub fn database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let pg = shared();
    let name = format!("store_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    pg.psql("postgres", &format!("CREATE DATABASE {name}"));
    pg.url("postgresql", &name)
}
