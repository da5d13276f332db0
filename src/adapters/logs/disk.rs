//! Logs as files: `DIR/<id / 1000>/<id>.log`, one append per chunk, for logs written over
//! time; a log written whole in one write goes into its bucket's pack (`pack.rs`) instead.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::stream;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::Growth;
use super::pack::{self, PackWriter, Region};
use super::records::{Cursor, HEADER_LEN, MAX_PIECE, encode_records};
use crate::domain::event::Channel;
use crate::ports::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};

/// Bytes read from disk per read call.
const READ_BLOCK: usize = 256 * 1024;

#[derive(Debug)]
pub struct DiskLogStore {
    dir: PathBuf,
    /// Open files and waiting readers of the logs written since start.
    open: Mutex<HashMap<u64, Arc<OpenLog>>>,
    packs: Arc<Mutex<PackWriter>>,
}

#[derive(Debug, Default)]
struct OpenLog {
    growth: Arc<Growth>,
    /// The file being appended to; used only inside blocking tasks.
    file: Mutex<Option<std::fs::File>>,
}

fn io(e: std::io::Error) -> LogError {
    LogError::io(e)
}

fn file_path(dir: &Path, log: u64) -> PathBuf {
    pack::bucket_dir(dir, log).join(format!("{log}.log"))
}

impl DiskLogStore {
    /// Uses (and creates) `dir`.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, LogError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).await.map_err(io)?;
        let packs = Arc::new(Mutex::new(PackWriter::new(dir.clone())));
        Ok(Self { dir, open: Mutex::new(HashMap::new()), packs })
    }

    fn entry(&self, log: u64) -> Arc<OpenLog> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.entry(log).or_default().clone()
    }

    fn existing(&self, log: u64) -> Option<Arc<OpenLog>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).get(&log).cloned()
    }

    /// Writes one log's part of a [`LogStore::write`]; runs on a blocking thread, which does a
    /// whole round's writes in one hop off the async runtime. A log that ends with its first
    /// write, and has no file of its own, is packed; any other is appended to its file.
    fn write_blocking(
        dir: &Path,
        packs: &Mutex<PackWriter>,
        write: &LogWrite,
        entry: Option<&OpenLog>,
    ) -> std::io::Result<()> {
        let mut records = Vec::with_capacity(write.chunks.iter().map(|(_, d)| d.len() + HEADER_LEN).sum());
        for (channel, data) in &write.chunks {
            encode_records(&mut records, *channel, data);
        }
        let path = file_path(dir, write.log);
        let mut file = entry.map(|e| e.file.lock().unwrap_or_else(|e| e.into_inner()));
        // Only a finishing write asks whether the log has a file (a stat on the write path).
        let has_file = || file.as_ref().is_some_and(|f| f.is_some()) || path.exists();
        if write.finish && !has_file() {
            // Even an empty log takes its slot: a slot left by an earlier write of this id (a
            // round whose commit failed) must not show through.
            return packs.lock().unwrap_or_else(|e| e.into_inner()).put(write.log, &records);
        }
        let mut unopened = None;
        append(file.as_deref_mut().unwrap_or(&mut unopened), &path, &records, write.finish)
    }
}

/// Appends `records` to the log file at `path`, opening it into `open` if needed; closes it
/// when the log is finished. Like the database (WAL, synchronous=NORMAL), a log survives a
/// crash of the process but is not synced at every finish: that would cost a flush per step.
fn append(open: &mut Option<std::fs::File>, path: &Path, records: &[u8], finish: bool) -> std::io::Result<()> {
    use std::io::Write;
    if open.is_none() && !records.is_empty() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        *open = Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?);
    }
    if let Some(f) = open.as_mut() {
        f.write_all(records)?;
    }
    if finish {
        open.take();
    }
    Ok(())
}

#[async_trait]
impl LogStore for DiskLogStore {
    async fn write(&self, writes: Vec<LogWrite>) -> Result<(), LogError> {
        if writes.is_empty() {
            return Ok(());
        }
        // A log that stays open gets an entry (its file, its readers); one that ends now uses
        // its entry if it has one.
        let jobs: Vec<(LogWrite, Option<Arc<OpenLog>>)> = writes
            .into_iter()
            .map(|w| {
                let entry = if w.finish { self.existing(w.log) } else { Some(self.entry(w.log)) };
                (w, entry)
            })
            .collect();
        let (dir, packs) = (self.dir.clone(), self.packs.clone());
        let (jobs, written) = tokio::task::spawn_blocking(move || {
            let written = jobs.iter().try_for_each(|(w, e)| Self::write_blocking(&dir, &packs, w, e.as_deref()));
            (jobs, written)
        })
        .await
        .map_err(LogError::io)?;
        for (write, entry) in jobs {
            if write.finish {
                // The entry as it is now: a follower may have come while the log was written.
                let now = self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(&write.log);
                if let Some(e) = now {
                    e.growth.finish();
                }
            } else if let Some(e) = entry {
                e.growth.grew();
            }
        }
        written.map_err(io)
    }

    async fn size(&self, log: u64) -> Result<LogSize, LogError> {
        let Some((mut file, region)) = open_log(&self.dir, log).await? else { return Ok(LogSize::default()) };
        let region = match region {
            Some(r) => r,
            None => Region { offset: 0, len: file.metadata().await.map_err(io)?.len() },
        };
        let end = region.offset.checked_add(region.len).ok_or_else(|| corrupt_index(log))?;
        let mut at = region.offset;
        let mut size = LogSize::default();
        let mut header = [0u8; HEADER_LEN];
        while at + HEADER_LEN as u64 <= end {
            file.seek(SeekFrom::Start(at)).await.map_err(io)?;
            file.read_exact(&mut header).await.map_err(io)?;
            let len = u64::from(u32::from_le_bytes([header[1], header[2], header[3], header[4]]));
            let available = (end - at - HEADER_LEN as u64).min(len);
            size.total += available;
            if header[0] == Channel::Header.code() {
                size.header += available;
            }
            at += HEADER_LEN as u64 + len;
        }
        Ok(size)
    }

    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream {
        let growth = follow.then(|| self.entry(log).growth.clone());
        let reader = Reader {
            log,
            dir: self.dir.clone(),
            file: None,
            left: None,
            buf: BytesMut::new(),
            cursor: Cursor::new(from),
            growth,
            done: false,
        };
        Box::pin(stream::unfold(reader, |mut r| async move {
            let item = r.next().await?;
            Some((item, r))
        }))
    }
}

fn corrupt_index(log: u64) -> LogError {
    LogError::Corrupt(log, "its pack index names a region past any file".to_owned())
}

/// A log's own file (`None` region: it may still grow), or its pack placed at the start of
/// its region; `None` for a log never written.
async fn open_log(dir: &Path, log: u64) -> Result<Option<(File, Option<Region>)>, LogError> {
    match File::open(file_path(dir, log)).await {
        Ok(f) => return Ok(Some((f, None))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let Some(region) = pack::find(dir, log).await.map_err(io)? else { return Ok(None) };
    let mut f = File::open(pack::pack_path(dir, log)).await.map_err(io)?;
    f.seek(SeekFrom::Start(region.offset)).await.map_err(io)?;
    Ok(Some((f, Some(region))))
}

/// One streaming read of a log.
struct Reader {
    log: u64,
    dir: PathBuf,
    /// The log's file, or its pack placed at the log's records.
    file: Option<File>,
    /// In a pack: the log's bytes not read yet (a file of its own is read to its end).
    left: Option<u64>,
    buf: BytesMut,
    cursor: Cursor,
    /// Set when following a log that may still grow.
    growth: Option<Arc<Growth>>,
    done: bool,
}

impl Reader {
    async fn next(&mut self) -> Option<Result<LogPiece, LogError>> {
        if self.done {
            return None;
        }
        let result = self.next_piece().await.transpose();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }

    async fn next_piece(&mut self) -> Result<Option<LogPiece>, LogError> {
        loop {
            match self.cursor.next_piece(&mut self.buf) {
                Ok(Some(piece)) => return Ok(Some(piece)),
                Ok(None) => {}
                Err(bad) => return Err(LogError::Corrupt(self.log, format!("unknown channel {}", bad.0))),
            }
            // Read "finished" before the file, so a last chunk written just before the
            // finish is never missed.
            let growing = self.growth.as_ref().is_some_and(|g| !g.is_finished());
            if self.fill().await? > 0 {
                continue;
            }
            match &self.growth {
                Some(g) if growing => g.wait().await,
                _ if self.cursor.mid_record(&self.buf) => {
                    return Err(LogError::Corrupt(self.log, "the file ends inside a record".to_owned()));
                }
                _ => return Ok(None),
            }
        }
    }

    /// Reads the next block; 0 at the end of the log (or when it does not exist yet).
    async fn fill(&mut self) -> Result<usize, LogError> {
        if self.file.is_none() {
            let Some((file, region)) = open_log(&self.dir, self.log).await? else { return Ok(0) };
            self.file = Some(file);
            self.left = region.map(|r| r.len);
            if region.is_some() {
                // A packed log was written whole: there is nothing to wait for.
                self.growth = None;
            }
        }
        let Some(file) = self.file.as_mut() else { return Ok(0) };
        self.buf.reserve(READ_BLOCK.max(MAX_PIECE));
        match &mut self.left {
            None => file.read_buf(&mut self.buf).await.map_err(io),
            Some(left) => {
                let n = file.take(*left).read_buf(&mut self.buf).await.map_err(io)?;
                *left -= n as u64;
                Ok(n)
            }
        }
    }
}
