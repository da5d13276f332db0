//! Logs in memory: the same contract as the disk store, for tests and servers that keep
//! nothing. A log is its list of chunks; a growing log's followers wait on a watch channel
//! that counts writes, so a write between a reader's look and its wait is never missed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::stream;
use tokio::sync::watch;

use crate::domain::event::Channel;
use crate::ports::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};

/// A piece stops growing past this many bytes.
const PIECE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct MemoryLogStore {
    logs: Mutex<HashMap<u64, Arc<MemLog>>>,
}

#[derive(Debug)]
struct MemLog {
    chunks: Mutex<Chunks>,
    /// Bumped after every write; followers wait for it to change.
    writes: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Chunks {
    pieces: Vec<LogPiece>,
    finished: bool,
}

impl Default for MemLog {
    fn default() -> Self {
        Self { chunks: Mutex::default(), writes: watch::Sender::new(0) }
    }
}

impl MemLog {
    fn chunks(&self) -> MutexGuard<'_, Chunks> {
        self.chunks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryLogStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self, id: u64) -> Arc<MemLog> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().clone()
    }
}

/// Where a reader is: the next piece's index, and content bytes to skip in it.
struct Reader {
    log: Arc<MemLog>,
    writes: watch::Receiver<u64>,
    index: usize,
    skip: u64,
    follow: bool,
}

impl Reader {
    /// The next piece (consecutive chunks of one channel joined, up to [`PIECE`] bytes, as
    /// the disk store reads them), or whether the log is finished when there is none yet.
    fn next_piece(&mut self) -> Result<LogPiece, bool> {
        let chunks = self.log.chunks();
        let mut joined: Option<(Channel, BytesMut)> = None;
        while let Some(piece) = chunks.pieces.get(self.index) {
            let len = piece.data.len() as u64;
            if self.skip >= len {
                self.skip -= len;
                self.index += 1;
                continue;
            }
            let data = &piece.data[usize::try_from(self.skip).unwrap_or(usize::MAX)..];
            match &mut joined {
                None => joined = Some((piece.channel, BytesMut::from(data))),
                Some((channel, bytes)) if *channel == piece.channel && bytes.len() < PIECE => {
                    bytes.extend_from_slice(data)
                }
                Some(_) => break,
            }
            self.skip = 0;
            self.index += 1;
        }
        match joined {
            Some((channel, data)) => Ok(LogPiece { channel, data: data.freeze() }),
            None => Err(chunks.finished),
        }
    }
}

#[async_trait]
impl LogStore for MemoryLogStore {
    async fn write(&self, writes: Vec<LogWrite>) -> Result<(), LogError> {
        for write in writes {
            let log = self.log(write.log);
            {
                let mut chunks = log.chunks();
                let new = write.chunks.into_iter().filter(|(_, data)| !data.is_empty());
                chunks.pieces.extend(new.map(|(channel, data)| LogPiece { channel, data }));
                chunks.finished |= write.finish;
            }
            log.writes.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    async fn size(&self, log: u64) -> Result<LogSize, LogError> {
        let log = self.log(log);
        let chunks = log.chunks();
        let mut size = LogSize::default();
        for piece in &chunks.pieces {
            size.total += piece.data.len() as u64;
            if piece.channel == Channel::Header {
                size.header += piece.data.len() as u64;
            }
        }
        Ok(size)
    }

    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream {
        let log = self.log(log);
        let writes = log.writes.subscribe();
        let reader = Reader { log, writes, index: 0, skip: from, follow };
        Box::pin(stream::unfold(reader, |mut reader| async move {
            loop {
                // Marked seen before looking, so a write after the look wakes the wait below.
                reader.writes.borrow_and_update();
                match reader.next_piece() {
                    Ok(piece) => return Some((Ok(piece), reader)),
                    Err(finished) if finished || !reader.follow => return None,
                    Err(_) => {
                        if reader.writes.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            }
        }))
    }
}
