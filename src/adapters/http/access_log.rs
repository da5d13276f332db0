//! `http.log`: the request log, appended by a thread of its own that takes lines from a
//! bounded queue, so a request never waits on the disk (a line that does not fit in the queue
//! is dropped and counted). The file is rotated by size as 0.8 did: at `rotate_length` bytes it
//! becomes `http.log.1` (older ones shift to `.2`, `.3`, …) and files beyond `max_rotated` are
//! deleted.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};

/// Lines waiting for the writer at most.
const QUEUE: usize = 8192;
/// How long the writer rests after it emptied the queue. While it rests, a request queues its
/// line without waking it, so a busy server pays for one wake-up and one write per rest, not
/// one per request; a line still reaches the file within this time.
const REST: std::time::Duration = std::time::Duration::from_millis(25);

/// Where the log goes and how it rotates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessLogSettings {
    pub path: PathBuf,
    /// Bytes after which the file is rotated (0.8's `logRotateLength`; default 1,000,000).
    pub rotate_length: u64,
    /// Rotated files kept (0.8's `maxRotatedFiles`; default 10).
    pub max_rotated: u32,
}

impl AccessLogSettings {
    pub fn at(path: PathBuf) -> Self {
        Self { path, rotate_length: 1_000_000, max_rotated: 10 }
    }
}

/// The queue to the writer thread; the thread ends when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct AccessLog {
    lines: SyncSender<String>,
}

impl AccessLog {
    /// Opens (creates) the log and starts its writer.
    pub fn start(settings: AccessLogSettings) -> std::io::Result<Self> {
        let file = open(&settings.path)?;
        let (lines, queue) = sync_channel(QUEUE);
        std::thread::Builder::new().name("http.log".into()).spawn(move || write_lines(settings, file, queue))?;
        Ok(Self { lines })
    }

    /// Queues a line; false when it had to be dropped (the writer is behind, or gone).
    pub fn write(&self, line: String) -> bool {
        !matches!(self.lines.try_send(line), Err(TrySendError::Full(_) | TrySendError::Disconnected(_)))
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The writer: appends lines, flushing whenever the queue is empty (then resting), and
/// rotates by size.
fn write_lines(settings: AccessLogSettings, file: File, queue: Receiver<String>) {
    let mut size = file.metadata().map_or(0, |m| m.len());
    let mut out = BufWriter::new(file);
    let mut next = queue.recv().ok();
    while let Some(line) = next {
        if size > 0 && size + line.len() as u64 > settings.rotate_length {
            let _ = out.flush();
            match rotate(&settings) {
                Ok(file) => {
                    out = BufWriter::new(file);
                    size = 0;
                }
                Err(e) => tracing::warn!("http.log could not be rotated: {e}"),
            }
        }
        match out.write_all(line.as_bytes()) {
            Ok(()) => size += line.len() as u64,
            Err(e) => tracing::warn!("http.log: a line could not be written: {e}"),
        }
        next = match queue.try_recv() {
            Ok(line) => Some(line),
            Err(TryRecvError::Empty) => {
                let _ = out.flush();
                std::thread::sleep(REST);
                queue.recv().ok()
            }
            Err(TryRecvError::Disconnected) => None,
        };
    }
    let _ = out.flush();
}

/// `http.log.N` → `.N+1` (the oldest beyond `max_rotated` deleted), `http.log` → `.1`, and a
/// new `http.log`.
fn rotate(settings: &AccessLogSettings) -> std::io::Result<File> {
    let numbered = |n: u32| {
        let mut name = settings.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    let _ = std::fs::remove_file(numbered(settings.max_rotated.max(1)));
    for n in (1..settings.max_rotated.max(1)).rev() {
        if numbered(n).exists() {
            std::fs::rename(numbered(n), numbered(n + 1))?;
        }
    }
    if settings.max_rotated == 0 {
        std::fs::remove_file(&settings.path)?;
    } else {
        std::fs::rename(&settings.path, numbered(1))?;
    }
    open(&settings.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_and_keeps_so_many_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = AccessLogSettings { path: dir.path().join("http.log"), rotate_length: 100, max_rotated: 2 };
        let log = AccessLog::start(settings.clone()).expect("starts");
        for i in 0..12 {
            assert!(log.write(format!("{i:02} {}\n", "x".repeat(36))));
        }
        drop(log);
        // The writer thread ends once it has written everything queued.
        let start = std::time::Instant::now();
        let path = |name: &str| dir.path().join(name);
        while std::fs::read_to_string(path("http.log")).unwrap_or_default().lines().last()
            != Some(&format!("11 {}", "x".repeat(36)))
        {
            assert!(start.elapsed() < std::time::Duration::from_secs(5), "not written");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let read = |name: &str| std::fs::read_to_string(path(name)).unwrap_or_default();
        // 40-byte lines, 100-byte files: two lines a file, the newest in http.log.
        assert_eq!(read("http.log").lines().count(), 2);
        assert!(read("http.log.1").starts_with("08 ") && read("http.log.2").starts_with("06 "));
        assert!(!path("http.log.3").exists(), "older files beyond max_rotated are deleted");
    }
}
