//! Parsing of the record format shared by the stores: turns a byte buffer of records into
//! pieces of content, merging neighbouring records of one channel and skipping to an offset.

use bytes::{Buf, BytesMut};

use crate::domain::event::Channel;
use crate::ports::LogPiece;

pub const HEADER_LEN: usize = 5;
/// The most content one piece carries; bounds memory per reader.
pub const MAX_PIECE: usize = 256 * 1024;

pub fn encode_header(channel: Channel, len: u32) -> [u8; HEADER_LEN] {
    let l = len.to_le_bytes();
    [channel.code(), l[0], l[1], l[2], l[3]]
}

/// Appends `data` to `out` as records of `channel` (more than one when it is longer than a
/// record can say; readers merge them again).
pub fn encode_records(out: &mut Vec<u8>, channel: Channel, data: &[u8]) {
    for part in data.chunks(u32::MAX as usize) {
        out.extend_from_slice(&encode_header(channel, part.len() as u32));
        out.extend_from_slice(part);
    }
}

/// Where a reader is within the record stream.
#[derive(Debug)]
pub struct Cursor {
    /// Content bytes passed so far (delivered or skipped).
    pub position: u64,
    /// Deliver nothing before this content offset.
    pub from: u64,
    /// The record being read: its channel and the bytes of it still to come.
    current: Option<(Channel, u64)>,
}

/// A record header that names no channel: the data is not a log.
#[derive(Debug, PartialEq, Eq)]
pub struct BadChannel(pub u8);

impl Cursor {
    pub fn new(from: u64) -> Self {
        Self { position: 0, from, current: None }
    }

    /// True when the stream ended in the middle of a record.
    pub fn mid_record(&self, buf: &BytesMut) -> bool {
        self.current.is_some() || !buf.is_empty()
    }

    /// Takes as much content as `buf` holds (up to [`MAX_PIECE`], one channel), consuming it.
    /// `None` when `buf` holds no complete header and no content of the current record.
    pub fn next_piece(&mut self, buf: &mut BytesMut) -> Result<Option<LogPiece>, BadChannel> {
        let mut out: Option<(Channel, BytesMut)> = None;
        loop {
            let (channel, remaining) = match self.current {
                Some(c) => c,
                None => {
                    if buf.len() < HEADER_LEN {
                        break;
                    }
                    let channel = Channel::from_code(buf[0]).ok_or(BadChannel(buf[0]))?;
                    let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]);
                    buf.advance(HEADER_LEN);
                    self.current = Some((channel, u64::from(len)));
                    (channel, u64::from(len))
                }
            };
            if remaining == 0 {
                self.current = None;
                continue;
            }
            if out.as_ref().is_some_and(|(c, data)| *c != channel || data.len() >= MAX_PIECE) {
                break;
            }
            let room = out.as_ref().map_or(MAX_PIECE, |(_, d)| MAX_PIECE - d.len());
            let take = remaining.min(buf.len() as u64).min(room as u64) as usize;
            if take == 0 {
                break;
            }
            let mut chunk = buf.split_to(take);
            let left = remaining - take as u64;
            self.current = (left > 0).then_some((channel, left));
            // Skip what lies before `from`.
            let skip = self.from.saturating_sub(self.position).min(take as u64) as usize;
            self.position += take as u64;
            if skip == chunk.len() {
                continue;
            }
            chunk.advance(skip);
            match &mut out {
                Some((_, data)) => data.extend_from_slice(&chunk),
                None => out = Some((channel, chunk)),
            }
        }
        Ok(out.map(|(channel, data)| LogPiece { channel, data: data.freeze() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(parts: &[(Channel, &str)]) -> BytesMut {
        let mut buf = BytesMut::new();
        for (c, t) in parts {
            buf.extend_from_slice(&encode_header(*c, t.len() as u32));
            buf.extend_from_slice(t.as_bytes());
        }
        buf
    }

    fn all(buf: &mut BytesMut, from: u64) -> Vec<(Channel, String)> {
        let mut cursor = Cursor::new(from);
        let mut out = Vec::new();
        while let Some(p) = cursor.next_piece(buf).unwrap() {
            out.push((p.channel, String::from_utf8(p.data.to_vec()).unwrap()));
        }
        out
    }

    #[test]
    fn neighbouring_records_of_a_channel_merge_and_offsets_skip() {
        use Channel::*;
        let parts = [(Header, "cmd\n"), (Stdout, "a"), (Stdout, "bc"), (Stderr, "E"), (Stdout, "d")];
        assert_eq!(
            all(&mut records(&parts), 0),
            [(Header, "cmd\n".into()), (Stdout, "abc".into()), (Stderr, "E".into()), (Stdout, "d".into())]
        );
        assert_eq!(all(&mut records(&parts), 5), [(Stdout, "bc".into()), (Stderr, "E".into()), (Stdout, "d".into())]);
        assert_eq!(all(&mut records(&parts), 99), []);
    }

    #[test]
    fn a_partial_record_is_delivered_as_far_as_it_goes() {
        let mut buf = records(&[(Channel::Stdout, "hello")]);
        buf.truncate(HEADER_LEN + 2);
        let mut cursor = Cursor::new(0);
        let piece = cursor.next_piece(&mut buf).unwrap().unwrap();
        assert_eq!(&piece.data[..], b"he");
        assert!(cursor.mid_record(&buf));
        buf.extend_from_slice(b"llo");
        assert_eq!(&cursor.next_piece(&mut buf).unwrap().unwrap().data[..], b"llo");
        assert!(!cursor.mid_record(&buf));
    }

    #[test]
    fn a_bad_channel_is_reported() {
        let mut buf = BytesMut::from(&[9u8, 1, 0, 0, 0, b'x'][..]);
        assert_eq!(Cursor::new(0).next_piece(&mut buf), Err(BadChannel(9)));
    }
}
