//! Log content: append-only, read by byte range, streamed while it grows.
//!
//! A log is a sequence of chunks, each on a channel (stdout, stderr, header). Offsets count
//! content bytes over all channels, so offset N is "after the first N bytes written".

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::domain::event::Channel;

use super::{Cause, cause};

#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error("log {0} has no content")]
    NotFound(u64),
    #[error("log storage: {0}")]
    Io(#[source] Cause),
    /// The stored bytes are not a valid log (damaged file).
    #[error("log {0} is damaged: {1}")]
    Corrupt(u64, String),
}

impl LogError {
    pub fn io(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Io(cause(e))
    }
}

/// How much a log holds: all content bytes, and those of them on the header channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSize {
    pub total: u64,
    pub header: u64,
}

impl LogSize {
    /// The bytes of the text view (stdout and stderr).
    pub fn text(self) -> u64 {
        self.total - self.header
    }
}

/// Consecutive bytes of one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPiece {
    pub channel: Channel,
    pub data: Bytes,
}

pub type LogStream = Pin<Box<dyn Stream<Item = Result<LogPiece, LogError>> + Send>>;

/// What one [`LogStore::write`] adds to one log: chunks, in order, and whether the log ends
/// with them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogWrite {
    pub log: u64,
    pub chunks: Vec<(Channel, Bytes)>,
    /// No more chunks will come; streams following the log end.
    pub finish: bool,
}

#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends to several logs at once: the hub writes a round's log content in one or two
    /// calls (the round's whole logs before its commit, the rest after), so that a history
    /// written in bulk costs a trip to the disk per round, not one per chunk.
    /// Each log's chunks are appended in order. On an error, some of the writes may be done.
    async fn write(&self, writes: Vec<LogWrite>) -> Result<(), LogError>;

    /// Appends one chunk.
    async fn append(&self, log: u64, channel: Channel, data: &[u8]) -> Result<(), LogError> {
        let chunks = vec![(channel, Bytes::copy_from_slice(data))];
        self.write(vec![LogWrite { log, chunks, finish: false }]).await
    }

    /// No more chunks will come; streams following the log end.
    async fn finish(&self, log: u64) -> Result<(), LogError> {
        self.write(vec![LogWrite { log, finish: true, ..LogWrite::default() }]).await
    }

    /// Content bytes written so far (zero for a log never written).
    async fn size(&self, log: u64) -> Result<LogSize, LogError>;

    /// The pieces covering content bytes `[from, from + len)`, cut at both ends: the first
    /// `len` bytes of [`stream`](Self::stream) from `from`, not following.
    async fn read(&self, log: u64, from: u64, len: u64) -> Result<Vec<LogPiece>, LogError> {
        let mut stream = self.stream(log, from, false);
        let (mut out, mut got) = (Vec::new(), 0u64);
        while got < len {
            let Some(piece) = stream.next().await else { break };
            let mut piece = piece?;
            let want = (len - got).min(piece.data.len() as u64) as usize;
            piece.data.truncate(want);
            got += want as u64;
            out.push(piece);
        }
        Ok(out)
    }

    /// Pieces from content byte `from` to the end; with `follow`, keeps waiting for new chunks
    /// until the log is finished. Never holds more than a bounded buffer in memory.
    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream;
}
