//! Logs as files: `DIR/<id / 1000>/<id>.log`, one append per chunk.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::stream;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::records::{Cursor, HEADER_LEN, MAX_PIECE, encode_header};
use super::{Growth, take_range};
use crate::domain::event::Channel;
use crate::ports::{LogError, LogPiece, LogSize, LogStore, LogStream};

/// Bytes read from disk per read call.
const READ_BLOCK: usize = 256 * 1024;

#[derive(Debug)]
pub struct DiskLogStore {
    dir: PathBuf,
    /// Open files and waiting readers of the logs written since start.
    open: Mutex<HashMap<u64, Arc<OpenLog>>>,
}

#[derive(Debug, Default)]
struct OpenLog {
    growth: Arc<Growth>,
    /// The file being appended to; used only inside blocking tasks.
    file: Mutex<Option<std::fs::File>>,
}

fn io(e: std::io::Error) -> LogError {
    LogError::Io(e.to_string())
}

impl DiskLogStore {
    /// Uses (and creates) `dir`.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, LogError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).await.map_err(io)?;
        Ok(Self { dir, open: Mutex::new(HashMap::new()) })
    }

    fn path(&self, log: u64) -> PathBuf {
        self.dir.join((log / 1000).to_string()).join(format!("{log}.log"))
    }

    fn entry(&self, log: u64) -> Arc<OpenLog> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.entry(log).or_default().clone()
    }

    /// Appends one record, opening the file on first use. Runs on a blocking thread, so
    /// that an append is one hop off the async runtime, not one per file operation.
    fn append_blocking(entry: &OpenLog, path: &Path, channel: Channel, data: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = entry.file.lock().unwrap_or_else(|e| e.into_inner());
        if file.is_none() {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            *file = Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?);
        }
        let Some(f) = file.as_mut() else { return Err(std::io::Error::other("log file not open")) };
        // Records longer than u32 are split; readers merge them again.
        for part in data.chunks(u32::MAX as usize) {
            let mut record = Vec::with_capacity(HEADER_LEN + part.len());
            record.extend_from_slice(&encode_header(channel, part.len() as u32));
            record.extend_from_slice(part);
            f.write_all(&record)?;
        }
        Ok(())
    }
}

#[async_trait]
impl LogStore for DiskLogStore {
    async fn append(&self, log: u64, channel: Channel, data: &[u8]) -> Result<(), LogError> {
        let entry = self.entry(log);
        let (path, data, writer) = (self.path(log), data.to_vec(), entry.clone());
        tokio::task::spawn_blocking(move || Self::append_blocking(&writer, &path, channel, &data))
            .await
            .map_err(|e| LogError::Io(e.to_string()))?
            .map_err(io)?;
        entry.growth.grew();
        Ok(())
    }

    async fn finish(&self, log: u64) -> Result<(), LogError> {
        let entry = self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(&log);
        // Like the database (WAL, synchronous=NORMAL), a log survives a crash of the process
        // but is not synced to disk at every finish: that would cost a disk flush per step.
        if let Some(entry) = entry {
            entry.file.lock().unwrap_or_else(|e| e.into_inner()).take();
            entry.growth.finish();
        }
        Ok(())
    }

    async fn size(&self, log: u64) -> Result<LogSize, LogError> {
        let mut file = match File::open(self.path(log)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LogSize::default()),
            Err(e) => return Err(io(e)),
        };
        let length = file.metadata().await.map_err(io)?.len();
        let (mut at, mut size) = (0u64, LogSize::default());
        let mut header = [0u8; HEADER_LEN];
        while at + HEADER_LEN as u64 <= length {
            file.seek(SeekFrom::Start(at)).await.map_err(io)?;
            file.read_exact(&mut header).await.map_err(io)?;
            let len = u64::from(u32::from_le_bytes([header[1], header[2], header[3], header[4]]));
            let available = (length - at - HEADER_LEN as u64).min(len);
            size.total += available;
            if header[0] == Channel::Header.code() {
                size.header += available;
            }
            at += HEADER_LEN as u64 + len;
        }
        Ok(size)
    }

    async fn read(&self, log: u64, from: u64, len: u64) -> Result<Vec<LogPiece>, LogError> {
        take_range(self.stream(log, from, false), len).await
    }

    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream {
        let growth = follow.then(|| self.entry(log).growth.clone());
        let reader = Reader {
            log,
            path: self.path(log),
            file: None,
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

/// One streaming read of a log file.
struct Reader {
    log: u64,
    path: PathBuf,
    file: Option<File>,
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

    /// Reads the next block; 0 at the end of the file (or when it does not exist yet).
    async fn fill(&mut self) -> Result<usize, LogError> {
        if self.file.is_none() {
            match File::open(&self.path).await {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                Err(e) => return Err(io(e)),
            }
        }
        let Some(file) = self.file.as_mut() else { return Ok(0) };
        self.buf.reserve(READ_BLOCK.max(MAX_PIECE));
        file.read_buf(&mut self.buf).await.map_err(io)
    }
}
