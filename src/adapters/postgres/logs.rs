//! Logs in the PostgreSQL database, so that instances share the database and no file system:
//! a row per log (its sizes, whether it is finished, whether it was written whole) and its
//! content as chunks of one channel, keyed by the content offset of their first byte, at most
//! [`ROW_BYTES`] each. A read from an offset is one index probe, then a walk in order.
//!
//! The semantics are the disk store's (`adapters::logs`): a log that ends with the write
//! that starts it is "written whole", and such a write again replaces it (a round whose
//! commit failed hands its log ids out again); any other write appends. A round's writes are
//! one transaction and a few statements (arrays bound with `UNNEST`), whatever their number.
//!
//! Followers in this process are woken by the writes; a follower also looks again every
//! [`FOLLOW_POLL`], which is how it would see another instance's writes (cross-instance
//! wake-ups through LISTEN/NOTIFY are not built yet: see ARCHITECTURE.md).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::stream;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::domain::event::Channel;
use crate::ports::{LogError, LogPiece, LogSize, LogStore, LogStream, LogWrite};

/// The most content one chunk row holds, and one piece handed to a reader.
pub const ROW_BYTES: usize = 64 * 1024;
/// Rows a reader fetches at once: its memory stays below 32 × [`ROW_BYTES`].
const ROWS_PER_READ: i64 = 32;
/// Content bytes one `INSERT` of chunks carries at most.
const STATEMENT_BYTES: usize = 16 << 20;
/// How long a follower waits for a wake-up before it looks again.
const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// The logs of a [`super::PgStore`].
#[derive(Debug)]
pub struct PgLogStore {
    pool: PgPool,
    /// Writes take turns: a write reads each log's size, then appends after it.
    writes: tokio::sync::Mutex<()>,
    /// The followers' wake-ups, per log being followed (each reader forgets its log's when
    /// it is the last to go).
    followed: Followed,
}

type Followed = Arc<Mutex<HashMap<u64, Arc<Notify>>>>;

fn db(e: sqlx::Error) -> LogError {
    LogError::io(super::db(e))
}

fn id(log: u64) -> Result<i64, LogError> {
    i64::try_from(log).map_err(|_| LogError::io(format!("log id {log} is too large for PostgreSQL")))
}

/// What a write knows of a log: its row as it will be.
#[derive(Clone, Copy, Debug, Default)]
struct LogRow {
    exists: bool,
    total: i64,
    header: i64,
    finished: bool,
    whole: bool,
}

/// The rows a write adds, as the arrays `UNNEST` reads.
#[derive(Default)]
struct ChunkRows {
    log: Vec<i64>,
    start: Vec<i64>,
    channel: Vec<i16>,
    data: Vec<Vec<u8>>,
}

impl ChunkRows {
    /// Adds `data` of `channel` to `row`'s log, cut into rows of at most [`ROW_BYTES`].
    fn add(&mut self, log: i64, row: &mut LogRow, channel: Channel, data: &[u8]) {
        for part in data.chunks(ROW_BYTES) {
            self.log.push(log);
            self.start.push(row.total);
            self.channel.push(i16::from(channel.code()));
            self.data.push(part.to_vec());
            let len = part.len() as i64;
            row.total += len;
            if channel == Channel::Header {
                row.header += len;
            }
        }
    }
}

impl PgLogStore {
    pub(super) fn new(pool: PgPool) -> Self {
        Self { pool, writes: tokio::sync::Mutex::default(), followed: Followed::default() }
    }

    fn followed(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Notify>>> {
        self.followed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the followers of `log`; a finished log's are woken a last time and forgotten.
    fn wake(&self, log: u64, finished: bool) {
        let mut followed = self.followed();
        let notify = if finished { followed.remove(&log) } else { followed.get(&log).cloned() };
        if let Some(n) = notify {
            n.notify_waiters();
        }
    }
}

#[async_trait]
impl LogStore for PgLogStore {
    async fn write(&self, writes: Vec<LogWrite>) -> Result<(), LogError> {
        if writes.is_empty() {
            return Ok(());
        }
        let _turn = self.writes.lock().await;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let ids = writes.iter().map(|w| id(w.log)).collect::<Result<Vec<_>, _>>()?;
        let found: Vec<(i64, i64, i64, bool, bool)> =
            sqlx::query_as("SELECT id, total, header, finished, whole FROM logs WHERE id = ANY($1) FOR UPDATE")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        let mut rows: HashMap<i64, LogRow> = found
            .into_iter()
            .map(|(id, total, header, finished, whole)| (id, LogRow { exists: true, total, header, finished, whole }))
            .collect();
        let (mut chunks, mut replaced) = (ChunkRows::default(), Vec::new());
        for (write, &log) in writes.iter().zip(&ids) {
            let row = rows.entry(log).or_default();
            let written = write.chunks.iter().any(|(_, d)| !d.is_empty());
            if write.finish && (!row.exists || row.whole) {
                // Written whole: what an earlier whole write left goes.
                if row.exists {
                    replaced.push(log);
                    chunks.remove(log);
                }
                *row = LogRow { exists: true, finished: true, whole: true, ..LogRow::default() };
            } else if written || write.finish {
                row.whole = false;
                row.exists = true;
                row.finished |= write.finish;
            }
            for (channel, data) in &write.chunks {
                chunks.add(log, row, *channel, data);
            }
        }
        if !replaced.is_empty() {
            sqlx::query("DELETE FROM log_chunks WHERE log = ANY($1)")
                .bind(&replaced)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        for rows in chunks.statements() {
            sqlx::query(
                "INSERT INTO log_chunks (log, start, channel, data) \
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::smallint[], $4::bytea[])",
            )
            .bind(&chunks.log[rows.clone()])
            .bind(&chunks.start[rows.clone()])
            .bind(&chunks.channel[rows.clone()])
            .bind(&chunks.data[rows])
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        let stored: Vec<(i64, LogRow)> = rows.into_iter().filter(|(_, r)| r.exists).collect();
        if !stored.is_empty() {
            sqlx::query(
                "INSERT INTO logs (id, total, header, finished, whole) \
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::boolean[], $5::boolean[]) \
                 ON CONFLICT (id) DO UPDATE SET total = excluded.total, header = excluded.header, \
                 finished = excluded.finished, whole = excluded.whole",
            )
            .bind(stored.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(stored.iter().map(|(_, r)| r.total).collect::<Vec<_>>())
            .bind(stored.iter().map(|(_, r)| r.header).collect::<Vec<_>>())
            .bind(stored.iter().map(|(_, r)| r.finished).collect::<Vec<_>>())
            .bind(stored.iter().map(|(_, r)| r.whole).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        for write in &writes {
            self.wake(write.log, write.finish);
        }
        Ok(())
    }

    async fn size(&self, log: u64) -> Result<LogSize, LogError> {
        let Ok(log) = i64::try_from(log) else { return Ok(LogSize::default()) };
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT total, header FROM logs WHERE id = $1")
            .bind(log)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let (total, header) = row.unwrap_or_default();
        Ok(LogSize { total: u64::try_from(total).unwrap_or(0), header: u64::try_from(header).unwrap_or(0) })
    }

    fn stream(&self, log: u64, from: u64, follow: bool) -> LogStream {
        let wake = follow.then(|| self.followed().entry(log).or_default().clone());
        let followed = self.followed.clone();
        let reader =
            Reader { pool: self.pool.clone(), log, position: from, follow, wake, followed, ready: VecDeque::new() };
        Box::pin(stream::unfold(reader, |mut reader| async move {
            match reader.next().await {
                Ok(Some(piece)) => Some((Ok(piece), reader)),
                Ok(None) => None,
                Err(e) => {
                    reader.follow = false;
                    reader.position = u64::MAX;
                    Some((Err(e), reader))
                }
            }
        }))
    }
}

impl ChunkRows {
    /// The rows in runs of at most [`STATEMENT_BYTES`] of content, one `INSERT` each: a round
    /// of imported history may carry hundreds of megabytes of logs, and one statement's
    /// message must stay far below PostgreSQL's 1 GB.
    fn statements(&self) -> Vec<std::ops::Range<usize>> {
        let (mut runs, mut start, mut bytes) = (Vec::new(), 0, 0);
        for (i, data) in self.data.iter().enumerate() {
            if bytes > 0 && bytes + data.len() > STATEMENT_BYTES {
                runs.push(start..i);
                (start, bytes) = (i, 0);
            }
            bytes += data.len();
        }
        if start < self.data.len() {
            runs.push(start..self.data.len());
        }
        runs
    }

    /// Forgets the rows added to `log` so far (a later whole write of it replaces them).
    fn remove(&mut self, log: i64) {
        let keep: Vec<bool> = self.log.iter().map(|l| *l != log).collect();
        let mut k = keep.iter();
        self.log.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.start.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.channel.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.data.retain(|_| *k.next().unwrap_or(&true));
    }
}

/// One reader of a log: where it is, and the pieces fetched and not yet handed out.
struct Reader {
    pool: PgPool,
    log: u64,
    /// The content offset of the next byte to hand out.
    position: u64,
    follow: bool,
    wake: Option<Arc<Notify>>,
    followed: Followed,
    ready: VecDeque<LogPiece>,
}

impl Drop for Reader {
    /// The last follower of a log forgets its wake-up (a finished log's went with its end).
    fn drop(&mut self) {
        if let Some(wake) = self.wake.take() {
            let mut followed = self.followed.lock().unwrap_or_else(|e| e.into_inner());
            // Held by the map and by this reader only: nobody else follows the log.
            if followed.get(&self.log).is_some_and(|w| Arc::ptr_eq(w, &wake)) && Arc::strong_count(&wake) == 2 {
                followed.remove(&self.log);
            }
        }
    }
}

impl Reader {
    /// The next piece; `None` at the end (for a follower: once the log is finished).
    async fn next(&mut self) -> Result<Option<LogPiece>, LogError> {
        loop {
            if let Some(piece) = self.ready.pop_front() {
                return Ok(Some(piece));
            }
            if self.position == u64::MAX {
                return Ok(None);
            }
            let wake = self.wake.clone();
            let woken = wake.as_ref().map(|w| w.notified());
            let mut woken = woken.map(Box::pin);
            if let Some(w) = woken.as_mut() {
                // Registered before looking, so that a write after the look wakes the wait.
                w.as_mut().enable();
            }
            let finished = self.fetch().await?;
            if !self.ready.is_empty() {
                continue;
            }
            if finished || !self.follow {
                return Ok(None);
            }
            if let Some(w) = woken {
                let _ = tokio::time::timeout(FOLLOW_POLL, w).await;
            }
        }
    }

    /// Fetches the rows from the reader's position into `ready` (joining neighbours of one
    /// channel up to [`ROW_BYTES`]); whether the log was finished before they were read.
    async fn fetch(&mut self) -> Result<bool, LogError> {
        let (Ok(log), Ok(from)) = (i64::try_from(self.log), i64::try_from(self.position)) else { return Ok(true) };
        let finished: Option<bool> = sqlx::query_scalar("SELECT finished FROM logs WHERE id = $1")
            .bind(log)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let rows: Vec<(i64, i16, Vec<u8>)> = sqlx::query_as(
            "SELECT start, channel, data FROM log_chunks WHERE log = $1 AND start >= \
             COALESCE((SELECT MAX(start) FROM log_chunks WHERE log = $1 AND start <= $2), 0) \
             ORDER BY start LIMIT $3",
        )
        .bind(log)
        .bind(from)
        .bind(ROWS_PER_READ)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut joined: Option<(Channel, BytesMut)> = None;
        for (start, code, data) in rows {
            let channel = u8::try_from(code)
                .ok()
                .and_then(Channel::from_code)
                .ok_or_else(|| LogError::Corrupt(self.log, format!("chunk at {start}: channel {code}")))?;
            let end = start + data.len() as i64;
            if end <= from || start > i64::try_from(self.position).unwrap_or(i64::MAX) {
                // Before the reader's position, or after a gap (never written so): stop.
                if end <= from {
                    continue;
                }
                return Err(LogError::Corrupt(self.log, format!("no content between {} and {start}", self.position)));
            }
            let skip = usize::try_from(i64::try_from(self.position).unwrap_or(i64::MAX) - start).unwrap_or(0);
            let part = &data[skip.min(data.len())..];
            self.position = u64::try_from(end).unwrap_or(u64::MAX);
            match &mut joined {
                Some((c, bytes)) if *c == channel && bytes.len() + part.len() <= ROW_BYTES => {
                    bytes.extend_from_slice(part)
                }
                _ => {
                    if let Some((c, bytes)) = joined.take() {
                        self.ready.push_back(LogPiece { channel: c, data: bytes.freeze() });
                    }
                    joined = Some((channel, BytesMut::from(part)));
                }
            }
        }
        if let Some((channel, bytes)) = joined {
            self.ready.push_back(LogPiece { channel, data: Bytes::from(bytes) });
        }
        Ok(finished.unwrap_or(false))
    }
}
