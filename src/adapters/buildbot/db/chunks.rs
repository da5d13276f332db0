//! Buildbot's log chunks: each row holds some lines of a log, compressed by the method whose
//! code is in `compressed` (Buildbot 4.3's `LogsConnectorComponent.COMPRESSION_BYID`):
//! 0 none, 1 zlib (Buildbot calls it "gz", but writes `zlib.compress`, not the gzip
//! format), 2 bz2, 3 lz4 (block format with its size in front), 4 zstd, 5 brotli ("br").
//!
//! A stream log (type `s`) keeps the stream of every line in its first character: `o`
//! stdout, `e` stderr, `h` header.

use std::io::Read;

use crate::domain::event::Channel;

/// The most text one chunk may hold once decompressed. Buildbot writes chunks of at most
/// 64 KiB of text; a chunk that would grow past this is damaged (or hostile: 208 bytes of bz2
/// expand to 256 MiB) and is not decompressed further.
pub const MAX_CHUNK_TEXT: usize = 16 << 20;

/// The text of one chunk (at most [`MAX_CHUNK_TEXT`] bytes), or why it cannot be read.
pub fn decompress(code: i64, content: &[u8]) -> Result<Vec<u8>, String> {
    let too_big = || format!("more than {} MiB once decompressed", MAX_CHUNK_TEXT >> 20);
    let cap = MAX_CHUNK_TEXT as u64 + 1;
    let mut out = Vec::new();
    match code {
        0 => out.extend_from_slice(content),
        1 => read_all(flate2::read::ZlibDecoder::new(content).take(cap), &mut out, "zlib")?,
        2 => read_all(bzip2::read::BzDecoder::new(content).take(cap), &mut out, "bz2")?,
        3 => {
            // The block format says its size first, and the decoder allocates that much.
            let (size, _) = lz4_flex::block::uncompressed_size(content).map_err(|e| format!("lz4: {e}"))?;
            if size > MAX_CHUNK_TEXT {
                return Err(too_big());
            }
            out = lz4_flex::block::decompress_size_prepended(content).map_err(|e| format!("lz4: {e}"))?;
        }
        4 => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(content).map_err(|e| format!("zstd: {e}"))?;
            read_all(decoder.take(cap), &mut out, "zstd")?;
        }
        5 => read_all(brotli_decompressor::Decompressor::new(content, 4096).take(cap), &mut out, "brotli")?,
        other => return Err(format!("unknown compression code {other}")),
    };
    if out.len() > MAX_CHUNK_TEXT {
        return Err(too_big());
    }
    Ok(out)
}

fn read_all(mut reader: impl Read, out: &mut Vec<u8>, what: &str) -> Result<(), String> {
    reader.read_to_end(out).map(drop).map_err(|e| format!("{what}: {e}"))
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
    fn a_chunk_is_read_up_to_the_cap_and_no_further() {
        let fits = vec![b'x'; MAX_CHUNK_TEXT];
        let bomb = vec![b'x'; MAX_CHUNK_TEXT + 1];
        fn zlib(text: &[u8]) -> Vec<u8> {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            z.write_all(text).expect("write");
            z.finish().expect("zlib")
        }
        fn bz2(text: &[u8]) -> Vec<u8> {
            let mut b = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            b.write_all(text).expect("write");
            b.finish().expect("bz2")
        }
        fn zstd(text: &[u8]) -> Vec<u8> {
            ruzstd::encoding::compress_to_vec(text, ruzstd::encoding::CompressionLevel::Fastest)
        }
        type Compress = fn(&[u8]) -> Vec<u8>;
        let codecs: [(i64, Compress); 4] =
            [(1, zlib), (2, bz2), (3, lz4_flex::block::compress_prepend_size), (4, zstd)];
        for (code, compress) in codecs {
            assert_eq!(decompress(code, &compress(&fits)).expect("fits").len(), MAX_CHUNK_TEXT, "code {code}");
            let packed = compress(&bomb);
            assert!(packed.len() < 1 << 20, "code {code}: a small row");
            assert_eq!(decompress(code, &packed).unwrap_err(), "more than 16 MiB once decompressed", "code {code}");
        }
        assert!(decompress(0, &bomb).is_err(), "raw");
        // An lz4 block that only claims 4 GiB is refused before anything is allocated.
        let claim = [u32::MAX.to_le_bytes().as_slice(), b"\x10x"].concat();
        assert_eq!(decompress(3, &claim).unwrap_err(), "more than 16 MiB once decompressed");
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
