//! Banana, Perspective Broker's byte layer (spec-notify-4 §4.2): tokens with a base-128 prefix
//! and a type byte, nested lists, the `pb` dialect's vocabulary. An incremental decoder that
//! takes whatever a socket read gave it and never panics, whatever the bytes; an encoder that
//! refuses what the peer would refuse, before writing anything.

use std::fmt;

/// The longest string or list either side accepts (Twisted's `SIZE_LIMIT`, 640 KiB).
pub const SIZE_LIMIT: usize = 640 * 1024;
/// The most prefix bytes a token may have (Twisted's `prefixLimit`).
pub const PREFIX_LIMIT: usize = 64;
/// How deep lists may nest: Twisted has no such limit, but a deeper expression is no status
/// message, and the limit bounds the stack of whoever walks a decoded item.
pub const DEPTH_LIMIT: usize = 64;

const LIST: u8 = 0x80;
const INT: u8 = 0x81;
const STRING: u8 = 0x82;
const NEG: u8 = 0x83;
const FLOAT: u8 = 0x84;
const LONGINT: u8 = 0x85;
const LONGNEG: u8 = 0x86;
const VOCAB: u8 = 0x87;

/// The `pb` dialect's vocabulary; index 0 is unused.
pub const VOCABULARY: [&str; 32] = [
    "",
    "None",
    "class",
    "dereference",
    "reference",
    "dictionary",
    "function",
    "instance",
    "list",
    "module",
    "persistent",
    "tuple",
    "unpersistable",
    "copy",
    "cache",
    "cached",
    "remote",
    "local",
    "lcache",
    "version",
    "login",
    "password",
    "challenge",
    "logged_in",
    "not_logged_in",
    "cachemessage",
    "message",
    "answer",
    "error",
    "decref",
    "decache",
    "uncache",
];

/// The dialects a server offers, in its order of preference.
pub const DIALECTS: [&str; 2] = ["pb", "none"];

/// One Banana expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    List(Vec<Item>),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
}

impl Item {
    pub fn bytes(text: &str) -> Self {
        Self::Bytes(text.as_bytes().to_vec())
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// Why bytes could not be decoded (the connection is then dropped) or a value not encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BananaError {
    #[error("more than {PREFIX_LIMIT} bytes of prefix")]
    PrefixTooLong,
    #[error("a list of {0} items is longer than {SIZE_LIMIT}")]
    ListTooLong(u64),
    #[error("a string of {0} bytes is longer than {SIZE_LIMIT}")]
    StringTooLong(u64),
    #[error("lists nested deeper than {DEPTH_LIMIT}")]
    TooDeep,
    #[error("an expression larger than the frame limit of {0} bytes")]
    FrameTooLarge(usize),
    #[error("an integer outside the 64-bit range")]
    IntegerTooLarge,
    #[error("vocabulary index {0} is unknown")]
    UnknownVocabulary(u64),
    #[error("a vocabulary token outside dialect pb")]
    VocabularyOutsideDialect,
    #[error("unknown type byte {0:#04x}")]
    UnknownType(u8),
}

/// Appends the encoding of `item`. `vocabulary` is true once dialect `pb` is chosen.
/// Nothing is appended when the item (or anything in it) is too long for the peer.
pub fn encode(item: &Item, vocabulary: bool, out: &mut Vec<u8>) -> Result<(), BananaError> {
    let start = out.len();
    let result = encode_into(item, vocabulary, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_into(item: &Item, vocabulary: bool, out: &mut Vec<u8>) -> Result<(), BananaError> {
    match item {
        Item::List(items) => {
            if items.len() > SIZE_LIMIT {
                return Err(BananaError::ListTooLong(items.len() as u64));
            }
            prefix(items.len() as u64, out);
            out.push(LIST);
            for item in items {
                encode_into(item, vocabulary, out)?;
            }
        }
        Item::Int(n) => {
            let magnitude = n.unsigned_abs();
            prefix(magnitude, out);
            out.push(match (*n >= 0, magnitude < 1 << 31 || (*n < 0 && magnitude == 1 << 31)) {
                (true, true) => INT,
                (true, false) => LONGINT,
                (false, true) => NEG,
                (false, false) => LONGNEG,
            });
        }
        Item::Float(f) => {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Item::Bytes(bytes) => {
            if let Some(index) = vocabulary.then(|| vocabulary_index(bytes)).flatten() {
                prefix(index as u64, out);
                out.push(VOCAB);
            } else {
                if bytes.len() > SIZE_LIMIT {
                    return Err(BananaError::StringTooLong(bytes.len() as u64));
                }
                prefix(bytes.len() as u64, out);
                out.push(STRING);
                out.extend_from_slice(bytes);
            }
        }
    }
    Ok(())
}

fn vocabulary_index(bytes: &[u8]) -> Option<usize> {
    VOCABULARY.iter().skip(1).position(|word| word.as_bytes() == bytes).map(|i| i + 1)
}

/// Base 128, least significant digit first; zero is one `0x00`.
fn prefix(mut n: u64, out: &mut Vec<u8>) {
    if n == 0 {
        out.push(0);
    }
    while n > 0 {
        out.push((n & 0x7f) as u8);
        n >>= 7;
    }
}

/// Encodes `item` into a fresh buffer.
pub fn encoded(item: &Item, vocabulary: bool) -> Result<Vec<u8>, BananaError> {
    let mut out = Vec::new();
    encode(item, vocabulary, &mut out)?;
    Ok(out)
}

/// Turns a byte stream into expressions, across reads of any size.
pub struct Decoder {
    buffer: Vec<u8>,
    /// Where the next token starts in `buffer`.
    position: usize,
    /// Open lists: items still expected, items so far.
    open: Vec<(usize, Vec<Item>)>,
    vocabulary: bool,
    frame_limit: usize,
    /// Bytes of the expression under way, for the frame limit.
    frame_bytes: usize,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder").field("buffered", &(self.buffer.len() - self.position)).finish()
    }
}

impl Decoder {
    /// A decoder refusing any expression larger than `frame_limit` bytes on the wire.
    pub fn new(frame_limit: usize) -> Self {
        Self { buffer: Vec::new(), position: 0, open: Vec::new(), vocabulary: false, frame_limit, frame_bytes: 0 }
    }

    /// Turns the vocabulary on (dialect `pb` chosen) or off.
    pub fn set_vocabulary(&mut self, on: bool) {
        self.vocabulary = on;
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.position > 0 && self.position == self.buffer.len() {
            self.buffer.clear();
            self.position = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete top-level expression, `None` when more bytes are needed. After an
    /// error the stream is unusable (the connection must be dropped).
    pub fn next_item(&mut self) -> Result<Option<Item>, BananaError> {
        loop {
            let Some((item, used)) = self.token()? else {
                self.compact();
                return Ok(None);
            };
            self.position += used;
            self.frame_bytes += used;
            if self.frame_bytes > self.frame_limit {
                return Err(BananaError::FrameTooLarge(self.frame_limit));
            }
            let mut completed = match item {
                Token::Open(count) => {
                    if self.open.len() >= DEPTH_LIMIT {
                        return Err(BananaError::TooDeep);
                    }
                    self.open.push((count, Vec::with_capacity(count.min(64))));
                    None
                }
                Token::Item(item) => Some(item),
            };
            // Close every list that is now full, innermost first.
            loop {
                match (completed.take(), self.open.last_mut()) {
                    (Some(item), Some((_, items))) => items.push(item),
                    (Some(item), None) => {
                        self.frame_bytes = 0;
                        return Ok(Some(item));
                    }
                    (None, _) => {}
                }
                match self.open.last() {
                    Some((count, items)) if items.len() == *count => {
                        let (_, items) = self.open.pop().expect("checked above");
                        completed = Some(Item::List(items));
                    }
                    _ => break,
                }
            }
        }
    }

    fn compact(&mut self) {
        if self.position > 0 {
            self.buffer.drain(..self.position);
            self.position = 0;
        }
    }

    /// Reads one token at `position`: it and how many bytes it took, or `None` if incomplete.
    fn token(&self) -> Result<Option<(Token, usize)>, BananaError> {
        let rest = &self.buffer[self.position..];
        let Some(type_at) = rest.iter().position(|b| *b >= 0x80) else {
            return if rest.len() > PREFIX_LIMIT { Err(BananaError::PrefixTooLong) } else { Ok(None) };
        };
        if type_at > PREFIX_LIMIT {
            return Err(BananaError::PrefixTooLong);
        }
        let number = read_prefix(&rest[..type_at]);
        let after = type_at + 1;
        let small = |n: Option<u64>| n.and_then(|n| i64::try_from(n).ok()).ok_or(BananaError::IntegerTooLarge);
        let token = match rest[type_at] {
            LIST => {
                let count = number.filter(|n| *n <= SIZE_LIMIT as u64);
                Token::Open(count.ok_or(BananaError::ListTooLong(number.unwrap_or(u64::MAX)))? as usize)
            }
            STRING => {
                let length = number.filter(|n| *n <= SIZE_LIMIT as u64);
                let length = length.ok_or(BananaError::StringTooLong(number.unwrap_or(u64::MAX)))? as usize;
                // Refused from its header: a peer never makes us buffer what we would refuse.
                if self.frame_bytes.saturating_add(after + length) > self.frame_limit {
                    return Err(BananaError::FrameTooLarge(self.frame_limit));
                }
                if rest.len() < after + length {
                    return Ok(None);
                }
                return Ok(Some((Token::Item(Item::Bytes(rest[after..after + length].to_vec())), after + length)));
            }
            INT | LONGINT => Token::Item(Item::Int(small(number)?)),
            NEG | LONGNEG => {
                let magnitude = number.ok_or(BananaError::IntegerTooLarge)?;
                Token::Item(Item::Int(0i64.checked_sub_unsigned(magnitude).ok_or(BananaError::IntegerTooLarge)?))
            }
            FLOAT => {
                let Some(bits) = rest.get(after..after + 8) else { return Ok(None) };
                let bits: [u8; 8] = bits.try_into().expect("eight bytes");
                return Ok(Some((Token::Item(Item::Float(f64::from_be_bytes(bits))), after + 8)));
            }
            VOCAB => {
                if !self.vocabulary {
                    return Err(BananaError::VocabularyOutsideDialect);
                }
                let index = number.unwrap_or(u64::MAX);
                let word = usize::try_from(index)
                    .ok()
                    .filter(|i| *i >= 1)
                    .and_then(|i| VOCABULARY.get(i))
                    .ok_or(BananaError::UnknownVocabulary(index))?;
                Token::Item(Item::bytes(word))
            }
            other => return Err(BananaError::UnknownType(other)),
        };
        Ok(Some((token, after)))
    }
}

enum Token {
    Open(usize),
    Item(Item),
}

/// The prefix's value, `None` past 64 bits.
fn read_prefix(digits: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, digit) in digits.iter().enumerate() {
        if *digit == 0 {
            continue;
        }
        let shift = u32::try_from(7 * i).ok().filter(|s| *s < 64)?;
        let part = u64::from(*digit).checked_shl(shift)?;
        if part >> shift != u64::from(*digit) {
            return None;
        }
        value = value.checked_add(part)?;
    }
    Some(value)
}

/// Decodes exactly one expression from `bytes` (tests and tools; a connection uses
/// [`Decoder`]). Trailing bytes or an incomplete expression are errors too.
pub fn decode_one(bytes: &[u8], vocabulary: bool) -> Result<Item, DecodeOneError> {
    let mut decoder = Decoder::new(usize::MAX);
    decoder.set_vocabulary(vocabulary);
    decoder.feed(bytes);
    let item = decoder.next_item()?.ok_or(DecodeOneError::Incomplete)?;
    if decoder.position != decoder.buffer.len() {
        return Err(DecodeOneError::Trailing);
    }
    Ok(item)
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeOneError {
    #[error(transparent)]
    Banana(#[from] BananaError),
    #[error("the expression is incomplete")]
    Incomplete,
    #[error("bytes follow the expression")]
    Trailing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_specs_worked_encodings() {
        let cases = [
            (Item::Int(0), "00 81"),
            (Item::Int(300), "2c 02 81"),
            (Item::Int(-5), "05 83"),
            (Item::Int(1 << 31), "00 00 00 00 08 85"),
            (Item::Float(1.5), "84 3f f8 00 00 00 00 00 00"),
            (Item::List(vec![Item::bytes("version"), Item::Int(6)]), "02 80 13 87 06 81"),
            (
                Item::List(vec![Item::bytes("answer"), Item::Int(1), Item::List(vec![Item::bytes("None")])]),
                "03 80 1b 87 01 81 01 80 01 87",
            ),
            (Item::List(vec![Item::bytes("decref"), Item::Int(3)]), "02 80 1d 87 03 81"),
        ];
        for (item, expected) in cases {
            assert_eq!(hex(&encoded(&item, true).unwrap()), expected, "{item:?}");
            let bytes: Vec<u8> = expected.split(' ').map(|h| u8::from_str_radix(h, 16).unwrap()).collect();
            assert_eq!(decode_one(&bytes, true).unwrap(), item);
        }
    }

    #[test]
    fn an_empty_prefix_reads_as_zero_and_the_vocabulary_needs_the_dialect() {
        assert_eq!(decode_one(&[0x81], false).unwrap(), Item::Int(0));
        assert_eq!(decode_one(&[0x08, 0x87], false), Err(BananaError::VocabularyOutsideDialect.into()));
        assert_eq!(encoded(&Item::bytes("list"), false).unwrap(), b"\x04\x82list");
    }

    #[test]
    fn limits_are_refused_before_buffering() {
        // A string announcing 640 KiB + 1 is refused from its header alone.
        let mut header = Vec::new();
        prefix(SIZE_LIMIT as u64 + 1, &mut header);
        header.push(STRING);
        assert_eq!(decode_one(&header, true), Err(BananaError::StringTooLong(SIZE_LIMIT as u64 + 1).into()));
        assert_eq!(decode_one(&[1; 65], true), Err(BananaError::PrefixTooLong.into()));
        let deep = [0x01, 0x80].repeat(DEPTH_LIMIT + 1);
        assert_eq!(decode_one(&deep, true), Err(BananaError::TooDeep.into()));
        let long = Item::Bytes(vec![b'x'; SIZE_LIMIT + 1]);
        let mut out = vec![1, 2];
        assert_eq!(
            encode(&Item::List(vec![Item::Int(1), long]), true, &mut out),
            Err(BananaError::StringTooLong(SIZE_LIMIT as u64 + 1))
        );
        assert_eq!(out, [1, 2], "nothing partial is written");
    }

    #[test]
    fn the_frame_limit_counts_the_whole_expression() {
        let item = Item::List(vec![Item::Bytes(vec![b'x'; 100]); 3]);
        let bytes = encoded(&item, true).unwrap();
        let mut decoder = Decoder::new(200);
        decoder.feed(&bytes);
        assert_eq!(decoder.next_item(), Err(BananaError::FrameTooLarge(200)));
        let mut decoder = Decoder::new(bytes.len());
        decoder.feed(&bytes);
        decoder.feed(&bytes);
        assert_eq!(decoder.next_item().unwrap(), Some(item.clone()));
        assert_eq!(decoder.next_item().unwrap(), Some(item), "the count starts again per expression");
    }

    #[test]
    fn a_stream_split_anywhere_decodes_the_same() {
        let items = [
            Item::List(vec![Item::bytes("message"), Item::Int(1), Item::Float(-0.25), Item::Bytes(vec![0xff; 10])]),
            Item::Int(i64::MIN),
            Item::List(vec![]),
        ];
        let bytes: Vec<u8> = items.iter().flat_map(|i| encoded(i, true).unwrap()).collect();
        for split in 0..=bytes.len() {
            let mut decoder = Decoder::new(1 << 20);
            decoder.set_vocabulary(true);
            let mut got = Vec::new();
            for part in [&bytes[..split], &bytes[split..]] {
                decoder.feed(part);
                while let Some(item) = decoder.next_item().unwrap() {
                    got.push(item);
                }
            }
            assert_eq!(got, items, "split at {split}");
        }
    }
}
