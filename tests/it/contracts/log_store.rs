//! The log store contract, against the disk store (real files), the memory store and
//! PostgreSQL (a database of its own on the tests' server).

use std::sync::Arc;

use crate::common::postgres;
use std::time::Duration;

use buildstatus::adapters::logs::DiskLogStore;
use buildstatus::adapters::memory::MemoryLogStore;
use buildstatus::adapters::postgres::PgStore;
use buildstatus::domain::event::Channel;
use buildstatus::ports::{LogError, LogSize, LogStore, LogWrite};
use bytes::Bytes;
use futures_util::StreamExt;

async fn stores() -> Vec<(Arc<dyn LogStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = DiskLogStore::open(dir.path().join("logs")).await.expect("disk store");
    let pg = PgStore::open(&postgres::database()).await.expect("postgres store").logs();
    vec![(Arc::new(disk), Some(dir)), (Arc::new(MemoryLogStore::new()), None), (pg, None)]
}

async fn collect(store: &dyn LogStore, log: u64, from: u64) -> Vec<(Channel, String)> {
    let mut out = Vec::new();
    let mut stream = store.stream(log, from, false);
    while let Some(piece) = stream.next().await {
        let piece = piece.expect("readable");
        out.push((piece.channel, String::from_utf8(piece.data.to_vec()).expect("utf8")));
    }
    out
}

#[tokio::test]
async fn chunks_are_read_back_by_channel_from_any_offset() {
    for (store, _dir) in stores().await {
        store.append(7, Channel::Header, b"make\n").await.expect("append");
        store.append(7, Channel::Stdout, b"one\n").await.expect("append");
        store.append(7, Channel::Stdout, b"two\n").await.expect("append");
        store.append(7, Channel::Stderr, b"bad\n").await.expect("append");
        store.finish(7).await.expect("finish");
        assert_eq!(store.size(7).await.expect("size"), LogSize { total: 17, header: 5 });
        assert_eq!(
            collect(store.as_ref(), 7, 0).await,
            [
                (Channel::Header, "make\n".into()),
                (Channel::Stdout, "one\ntwo\n".into()),
                (Channel::Stderr, "bad\n".into())
            ]
        );
        assert_eq!(
            collect(store.as_ref(), 7, 7).await,
            [(Channel::Stdout, "e\ntwo\n".into()), (Channel::Stderr, "bad\n".into())]
        );
        let range = store.read(7, 6, 5).await.expect("read");
        let text: Vec<(Channel, String)> =
            range.into_iter().map(|p| (p.channel, String::from_utf8_lossy(&p.data).into_owned())).collect();
        assert_eq!(text, [(Channel::Stdout, "ne\ntw".into())]);
        assert!(collect(store.as_ref(), 99, 0).await.is_empty(), "an unwritten log is empty");
        assert_eq!(store.size(99).await.expect("size"), LogSize::default());
    }
}

#[tokio::test]
async fn a_follower_sees_chunks_as_they_are_written_and_ends_with_the_log() {
    for (store, _dir) in stores().await {
        store.append(1, Channel::Stdout, b"first\n").await.expect("append");
        let mut stream = store.stream(1, 0, true);
        let first = stream.next().await.expect("a piece").expect("readable");
        assert_eq!(&first.data[..], b"first\n");
        let writer = store.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.append(1, Channel::Stdout, b"second\n").await.expect("append");
            writer.finish(1).await.expect("finish");
        });
        let second = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("in time");
        assert_eq!(&second.expect("a piece").expect("readable").data[..], b"second\n");
        let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("ends in time");
        assert!(end.is_none(), "the stream ends when the log finishes");
        task.await.expect("writer");
    }
}

#[tokio::test]
async fn a_damaged_log_file_is_reported_not_mistaken_for_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskLogStore::open(dir.path()).await.expect("store");
    store.append(5, Channel::Stdout, b"hello").await.expect("append");
    store.finish(5).await.expect("finish");
    let file = dir.path().join("0").join("5.log");
    let mut bytes = std::fs::read(&file).expect("the log file");
    bytes.truncate(bytes.len() - 2);
    std::fs::write(&file, &bytes).expect("write");
    let mut stream = store.stream(5, 0, false);
    assert_eq!(&stream.next().await.expect("a piece").expect("readable").data[..], b"hel");
    assert!(matches!(stream.next().await, Some(Err(LogError::Corrupt(5, _)))));
    std::fs::write(&file, [9u8, 1, 0, 0, 0, b'x']).expect("write");
    assert!(matches!(store.stream(5, 0, false).next().await, Some(Err(LogError::Corrupt(5, _)))));
}

#[tokio::test]
async fn a_large_log_streams_in_bounded_pieces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskLogStore::open(dir.path()).await.expect("store");
    let block = vec![b'x'; 1 << 20];
    for _ in 0..8 {
        store.append(3, Channel::Stdout, &block).await.expect("append");
    }
    store.finish(3).await.expect("finish");
    let mut stream = store.stream(3, 0, false);
    let (mut total, mut largest) = (0usize, 0usize);
    while let Some(piece) = stream.next().await {
        let len = piece.expect("readable").data.len();
        total += len;
        largest = largest.max(len);
    }
    assert_eq!(total, 8 << 20);
    assert!(largest <= 256 * 1024, "pieces are bounded, got {largest}");
}

fn whole(log: u64, chunks: &[(Channel, &str)]) -> LogWrite {
    let chunks = chunks.iter().map(|(c, t)| (*c, Bytes::copy_from_slice(t.as_bytes()))).collect();
    LogWrite { log, chunks, finish: true }
}

#[tokio::test]
async fn logs_written_whole_in_one_write_read_back_like_appended_ones() {
    for (store, _dir) in stores().await {
        // 1998 and 2001 fall in two buckets; 7 is left open and appended to later.
        let open = LogWrite { log: 7, chunks: vec![(Channel::Stdout, Bytes::from_static(b"a\n"))], finish: false };
        store
            .write(vec![
                whole(1998, &[(Channel::Header, "make\n"), (Channel::Stdout, "ok\n"), (Channel::Stdout, "done\n")]),
                open,
                whole(2001, &[(Channel::Stderr, "oops\n")]),
                whole(1999, &[]),
            ])
            .await
            .expect("write");
        store.append(7, Channel::Stdout, b"b\n").await.expect("append");
        store.finish(7).await.expect("finish");
        assert_eq!(
            collect(store.as_ref(), 1998, 0).await,
            [(Channel::Header, "make\n".into()), (Channel::Stdout, "ok\ndone\n".into())]
        );
        assert_eq!(collect(store.as_ref(), 1998, 6).await, [(Channel::Stdout, "k\ndone\n".into())]);
        assert_eq!(store.size(1998).await.expect("size"), LogSize { total: 13, header: 5 });
        assert_eq!(collect(store.as_ref(), 2001, 0).await, [(Channel::Stderr, "oops\n".into())]);
        assert_eq!(collect(store.as_ref(), 7, 0).await, [(Channel::Stdout, "a\nb\n".into())]);
        assert!(collect(store.as_ref(), 1999, 0).await.is_empty(), "a log finished empty has no content");
        assert!(collect(store.as_ref(), 2000, 0).await.is_empty(), "a log between packed ones was never written");
        let range = store.read(1998, 6, 4).await.expect("read");
        assert_eq!(range.iter().map(|p| &p.data[..]).collect::<Vec<_>>(), [b"k\ndo"]);
    }
}

#[tokio::test]
async fn a_follower_of_a_log_not_yet_written_sees_it_when_it_comes_whole() {
    for (store, _dir) in stores().await {
        let mut stream = store.stream(42, 0, true);
        let writer = store.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.write(vec![whole(42, &[(Channel::Stdout, "all at once\n")])]).await.expect("write");
        });
        let piece = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("in time");
        assert_eq!(&piece.expect("a piece").expect("readable").data[..], b"all at once\n");
        let end = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("ends in time");
        assert!(end.is_none(), "the stream ends with the log");
        task.await.expect("writer");
    }
}

#[tokio::test]
async fn a_thousand_logs_written_whole_share_one_pack_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskLogStore::open(dir.path()).await.expect("store");
    let text = |log: u64| format!("log {log}\n");
    let writes: Vec<LogWrite> = (1000..2000).map(|log| whole(log, &[(Channel::Stdout, &text(log))])).collect();
    store.write(writes).await.expect("write");
    drop(store);
    let files = std::fs::read_dir(dir.path().join("1")).expect("the bucket").count();
    assert!(files <= 2, "the bucket holds a pack and its index, not a file per log ({files} entries)");
    let store = DiskLogStore::open(dir.path()).await.expect("store again");
    for log in [1000, 1001, 1500, 1999] {
        assert_eq!(collect(&store, log, 0).await, [(Channel::Stdout, text(log))]);
        assert_eq!(store.size(log).await.expect("size").total, text(log).len() as u64);
    }
}

#[tokio::test]
async fn a_damaged_pack_is_reported_for_the_log_that_is_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskLogStore::open(dir.path()).await.expect("store");
    store
        .write(vec![whole(1, &[(Channel::Stdout, "first\n")]), whole(2, &[(Channel::Stdout, "second\n")])])
        .await
        .expect("write");
    let pack = dir.path().join("0").join("pack");
    let mut bytes = std::fs::read(&pack).expect("the pack");
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&pack, &bytes).expect("write");
    assert_eq!(collect(&store, 1, 0).await, [(Channel::Stdout, "first\n".into())]);
    let mut stream = store.stream(2, 0, false);
    assert_eq!(&stream.next().await.expect("a piece").expect("readable").data[..], b"seco");
    assert!(matches!(stream.next().await, Some(Err(LogError::Corrupt(2, _)))));
}

#[tokio::test]
async fn a_log_written_whole_again_replaces_what_was_there_even_with_nothing() {
    // What happens when a round's commit failed after its history's logs were packed: the ids
    // are handed out again, and the new content (here: none) is what the log holds.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DiskLogStore::open(dir.path()).await.expect("store");
    store.write(vec![whole(8, &[(Channel::Stdout, "from a round that failed\n")])]).await.expect("write");
    store.write(vec![whole(8, &[(Channel::Stdout, "again\n")])]).await.expect("write");
    assert_eq!(collect(&store, 8, 0).await, [(Channel::Stdout, "again\n".into())]);
    store.write(vec![whole(8, &[])]).await.expect("write");
    assert!(collect(&store, 8, 0).await.is_empty(), "an empty log shows nothing of the old");
    assert_eq!(store.size(8).await.expect("size"), LogSize::default());
}

#[tokio::test]
async fn a_log_of_20_mib_written_whole_at_once_reads_back_whole_in_bounded_pieces() {
    for (i, (store, _dir)) in stores().await.into_iter().enumerate() {
        // The memory store (second) hands out the chunks it holds, as large as they came.
        let bounded = i != 1;
        let chunks: Vec<(Channel, Bytes)> =
            (0..20u8).map(|i| (Channel::Stdout, Bytes::from(vec![b'a' + i; 1 << 20]))).collect();
        store.write(vec![LogWrite { log: 77, chunks, finish: true }]).await.expect("write");
        assert_eq!(store.size(77).await.expect("size").total, 20 << 20);
        let mut stream = store.stream(77, 0, false);
        let (mut total, mut largest, mut last) = (0usize, 0usize, b'a');
        while let Some(piece) = stream.next().await {
            let piece = piece.expect("readable");
            assert!(piece.data.iter().all(|b| *b >= last), "in order");
            last = *piece.data.last().expect("not empty");
            total += piece.data.len();
            largest = largest.max(piece.data.len());
        }
        assert_eq!((total, last), (20 << 20, b'a' + 19));
        assert!(!bounded || largest <= 256 * 1024, "pieces are bounded, got {largest}");
    }
}
