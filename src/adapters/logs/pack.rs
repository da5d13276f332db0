//! Packs: the logs of one bucket (ids `1000·b` to `1000·b + 999`) that were written whole,
//! kept in one file instead of one file each.
//!
//! A log whose content arrives together with its end (every imported log, and a short step's
//! log written within one round) goes into its bucket's pack: creating ten thousand small
//! files costs far more than writing the same bytes into one. `DIR/<b>/pack` holds the logs'
//! records one after another; `DIR/<b>/index` has a 16-byte slot per log of the bucket,
//! `[offset: u64 LE][length: u64 LE]`, written after the records, so a slot never names bytes
//! that are not there. A zero slot, or one past the end of the index, is a log not packed.
//! A crash between the two writes leaves unreachable bytes in the pack, nothing else.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// Logs per bucket (and per directory).
pub const BUCKET: u64 = 1000;
const SLOT: u64 = 16;

/// The bucket directory of `log`.
pub fn bucket_dir(dir: &Path, log: u64) -> PathBuf {
    dir.join((log / BUCKET).to_string())
}

pub fn pack_path(dir: &Path, log: u64) -> PathBuf {
    bucket_dir(dir, log).join("pack")
}

fn index_path(dir: &Path, log: u64) -> PathBuf {
    bucket_dir(dir, log).join("index")
}

/// Where a packed log's records lie in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub offset: u64,
    pub len: u64,
}

/// Appends logs to packs. There is one per store, used by one writer at a time; it keeps the
/// last bucket's files open, since logs are numbered in order.
#[derive(Debug)]
pub struct PackWriter {
    dir: PathBuf,
    open: Option<(u64, File, File)>,
}

impl PackWriter {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, open: None }
    }

    /// Packs `records` (a whole log, in the record format) as `log`.
    pub fn put(&mut self, log: u64, records: &[u8]) -> io::Result<()> {
        let bucket = log / BUCKET;
        if self.open.as_ref().is_none_or(|(b, _, _)| *b != bucket) {
            self.open = None;
            fs::create_dir_all(bucket_dir(&self.dir, log))?;
            let pack = OpenOptions::new().create(true).append(true).open(pack_path(&self.dir, log))?;
            let index = OpenOptions::new().create(true).truncate(false).write(true).open(index_path(&self.dir, log))?;
            self.open = Some((bucket, pack, index));
        }
        let Some((_, pack, index)) = self.open.as_mut() else { return Err(io::Error::other("pack not open")) };
        let offset = pack.metadata()?.len();
        pack.write_all(records)?;
        let mut slot = [0u8; SLOT as usize];
        slot[..8].copy_from_slice(&offset.to_le_bytes());
        slot[8..].copy_from_slice(&(records.len() as u64).to_le_bytes());
        index.seek(SeekFrom::Start((log % BUCKET) * SLOT))?;
        index.write_all(&slot)
    }
}

/// Where `log` lies in its bucket's pack; `None` when it is not packed.
pub async fn find(dir: &Path, log: u64) -> io::Result<Option<Region>> {
    let mut index = match tokio::fs::File::open(index_path(dir, log)).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    index.seek(SeekFrom::Start((log % BUCKET) * SLOT)).await?;
    let mut slot = [0u8; SLOT as usize];
    match index.read_exact(&mut slot).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let [o0, o1, o2, o3, o4, o5, o6, o7, l0, l1, l2, l3, l4, l5, l6, l7] = slot;
    let region = Region {
        offset: u64::from_le_bytes([o0, o1, o2, o3, o4, o5, o6, o7]),
        len: u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
    };
    Ok((region.len > 0).then_some(region))
}
