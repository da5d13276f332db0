//! The log store contract, against the disk store (real files) and the memory store.

use std::sync::Arc;
use std::time::Duration;

use buildstatus::adapters::logs::{DiskLogStore, MemoryLogStore};
use buildstatus::domain::event::Channel;
use buildstatus::ports::{LogError, LogSize, LogStore};
use futures_util::StreamExt;

async fn stores() -> Vec<(Arc<dyn LogStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = DiskLogStore::open(dir.path().join("logs")).await.expect("disk store");
    vec![(Arc::new(disk), Some(dir)), (Arc::new(MemoryLogStore::new()), None)]
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
