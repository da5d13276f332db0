//! Logs in memory: the same contract as the disk store, for tests and embedding without a disk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::stream;

use super::records::{Cursor, encode_records};
use super::{Growth, take_range};
use crate::domain::event::Channel;
use crate::ports::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};

#[derive(Debug, Default)]
pub struct MemoryLogStore {
    logs: Mutex<HashMap<u64, Arc<MemLog>>>,
}

#[derive(Debug, Default)]
struct MemLog {
    records: Mutex<Vec<u8>>,
    growth: Arc<Growth>,
}

impl MemoryLogStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self, id: u64) -> Arc<MemLog> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_default().clone()
    }
}

impl MemLog {
    fn bytes_from(&self, at: usize) -> BytesMut {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        BytesMut::from(&records[at.min(records.len())..])
    }
}

#[async_trait]
impl LogStore for MemoryLogStore {
    async fn write(&self, writes: Vec<LogWrite>) -> Result<(), LogError> {
        for write in writes {
            let entry = self.log(write.log);
            {
                let mut records = entry.records.lock().unwrap_or_else(|e| e.into_inner());
                for (channel, data) in &write.chunks {
                    encode_records(&mut records, *channel, data);
                }
            }
            if write.finish {
                entry.growth.finish();
            } else {
                entry.growth.grew();
            }
        }
        Ok(())
    }

    async fn size(&self, log: u64) -> Result<LogSize, LogError> {
        let mut buf = self.log(log).bytes_from(0);
        let mut cursor = Cursor::new(0);
        let mut size = LogSize::default();
        while let Some(piece) =
            cursor.next_piece(&mut buf).map_err(|b| LogError::Corrupt(log, format!("channel {}", b.0)))?
        {
            size.total += piece.data.len() as u64;
            if piece.channel == Channel::Header {
                size.header += piece.data.len() as u64;
            }
        }
        Ok(size)
    }

    async fn read(&self, log: u64, from: u64, len: u64) -> Result<Vec<LogPiece>, LogError> {
        take_range(self.stream(log, from, false), len).await
    }

    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream {
        let entry = self.log(log);
        let state = (entry, Cursor::new(from), 0usize, follow, false);
        Box::pin(stream::unfold(state, move |(entry, mut cursor, mut read, follow, done)| async move {
            if done {
                return None;
            }
            loop {
                let growing = follow && !entry.growth.is_finished();
                let mut buf = entry.bytes_from(read);
                let before = buf.len();
                match cursor.next_piece(&mut buf) {
                    Ok(Some(piece)) => {
                        read += before - buf.len();
                        return Some((Ok(piece), (entry, cursor, read, follow, false)));
                    }
                    Ok(None) => {}
                    Err(b) => {
                        return Some((
                            Err(LogError::Corrupt(log, format!("channel {}", b.0))),
                            (entry, cursor, read, follow, true),
                        ));
                    }
                }
                read += before - buf.len();
                if !growing {
                    return None;
                }
                entry.growth.wait().await;
            }
        }))
    }
}
