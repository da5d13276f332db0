//! Buildbot's log chunks: each row holds some lines of a log, compressed by the method whose
//! code is in `compressed` (Buildbot 4.3's `LogsConnectorComponent.COMPRESSION_BYID`):
//! 0 none, 1 zlib (Buildbot calls it "gz", but writes `zlib.compress`, not the gzip
//! format), 2 bz2, 3 lz4 (block format with its size in front), 4 zstd, 5 brotli ("br").
//!
//! A stream log (type `s`) keeps the stream of every line in its first character: `o`
//! stdout, `e` stderr, `h` header.

use std::io::Read;

use crate::domain::event::Channel;

/// The text of one chunk, or why it cannot be read.
pub fn decompress(code: i64, content: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match code {
        0 => return Ok(content.to_vec()),
        1 => flate2::read::ZlibDecoder::new(content).read_to_end(&mut out).map_err(|e| format!("zlib: {e}"))?,
        2 => bzip2::read::BzDecoder::new(content).read_to_end(&mut out).map_err(|e| format!("bz2: {e}"))?,
        3 => return lz4_flex::block::decompress_size_prepended(content).map_err(|e| format!("lz4: {e}")),
        4 => ruzstd::decoding::StreamingDecoder::new(content)
            .map_err(|e| format!("zstd: {e}"))?
            .read_to_end(&mut out)
            .map_err(|e| format!("zstd: {e}"))?,
        5 => brotli_decompressor::Decompressor::new(content, 4096)
            .read_to_end(&mut out)
            .map_err(|e| format!("brotli: {e}"))?,
        other => return Err(format!("unknown compression code {other}")),
    };
    Ok(out)
}

/// Splits a chunk's text into runs of one channel, in order. `stream` is whether the log is
/// a stream log; other logs are all stdout. A line without a known prefix is kept whole.
pub fn channels(text: &str, stream: bool) -> Vec<(Channel, String)> {
    if !stream {
        return vec![(Channel::Stdout, text.to_owned())];
    }
    let mut runs: Vec<(Channel, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let (channel, rest) = match line.as_bytes().first() {
            Some(b'o') => (Channel::Stdout, &line[1..]),
            Some(b'e') => (Channel::Stderr, &line[1..]),
            Some(b'h') => (Channel::Header, &line[1..]),
            _ => (Channel::Stdout, line),
        };
        match runs.last_mut() {
            Some((c, run)) if *c == channel => run.push_str(rest),
            _ => runs.push((channel, rest.to_owned())),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn zlib_and_bz2_chunks_are_read_and_garbage_is_an_error() {
        let text = b"hello\nworld\n".repeat(20);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&text).expect("write");
        assert_eq!(decompress(1, &z.finish().expect("zlib")).expect("read"), text);
        let mut b = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        b.write_all(&text).expect("write");
        assert_eq!(decompress(2, &b.finish().expect("bz2")).expect("read"), text);
        assert_eq!(decompress(0, b"raw").expect("raw"), b"raw");
        assert!(decompress(1, b"\x00not zlib").unwrap_err().starts_with("zlib"));
        assert!(decompress(9, b"").unwrap_err().contains("unknown compression code 9"));
    }

    #[test]
    fn stream_lines_go_to_their_channel() {
        let runs = channels("h$ make\nobuilt\noall\neoops\nhexit 0\nxodd\n", true);
        assert_eq!(
            runs,
            [
                (Channel::Header, "$ make\n".to_owned()),
                (Channel::Stdout, "built\nall\n".to_owned()),
                (Channel::Stderr, "oops\n".to_owned()),
                (Channel::Header, "exit 0\n".to_owned()),
                (Channel::Stdout, "xodd\n".to_owned()),
            ]
        );
        assert_eq!(channels("<b>x</b>", false), [(Channel::Stdout, "<b>x</b>".to_owned())]);
    }
}
