//! The data directory belongs to one process at a time. The hub is the one writer: it numbers
//! events and logs from what it holds in memory, so a second `serve`, or an `import-buildbot`
//! while a server runs, would hand out the same numbers twice and write logs over each other.
//! An exclusive lock on `DIR/lock` (released by the system when the process ends, however it
//! ends) makes the second one stop at start, saying which process holds the directory.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// How long a lock this process itself held is waited for (see `acquire`).
const OWN_RELEASE: std::time::Duration = std::time::Duration::from_secs(2);
const POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Held while the directory is in use.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the directory (its pid, when it wrote one).
    #[error("the data directory {dir} is in use by {}: stop it first (one process writes a directory)", holder(*pid))]
    InUse { dir: String, pid: Option<u32> },
    #[error("cannot lock the data directory: {0}")]
    Io(#[source] std::io::Error),
}

fn holder(pid: Option<u32>) -> String {
    pid.map_or_else(|| "another buildstatus process".to_owned(), |p| format!("buildstatus process {p}"))
}

impl DataDirLock {
    /// Takes `dir` (which exists) for this process, or says who has it.
    pub async fn acquire(dir: &Path) -> Result<Self, LockError> {
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("lock"))
            .map_err(LockError::Io)?;
        let mut waited = std::time::Duration::ZERO;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    file.rewind().map_err(LockError::Io)?;
                    let _ = file.read_to_string(&mut holder);
                    let pid = holder.trim().parse().ok();
                    // Our own process released it just now (a server of an embedder stopped):
                    // a child being started at that moment holds a copy of the descriptor,
                    // and the lock with it, until it executes its program.
                    if pid == Some(std::process::id()) && waited < OWN_RELEASE {
                        tokio::time::sleep(POLL).await;
                        waited += POLL;
                        continue;
                    }
                    return Err(LockError::InUse { dir: dir.display().to_string(), pid });
                }
                Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
            }
        }
        file.set_len(0).map_err(LockError::Io)?;
        file.rewind().map_err(LockError::Io)?;
        write!(file, "{}", std::process::id()).map_err(LockError::Io)?;
        Ok(Self { _file: file })
    }
}
