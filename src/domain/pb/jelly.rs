//! Jelly, Perspective Broker's value layer (spec-notify-4 §4.3): the values a status session
//! carries, to and from Banana items. The receiver accepts exactly what a stock Twisted peer
//! accepts (the built-in forms and the one copyable class PB registers, its failures) and
//! refuses the rest, as Twisted's "insecure jelly".

use std::collections::HashMap;

use super::banana::Item;

/// The one dotted type a receiver accepts: a failure copied from the peer.
pub const COPYABLE_FAILURE: &str = "twisted.spread.pb.CopyableFailure";

/// How much a received expression's `dereference`s may copy, in values and string bytes. Twisted
/// shares a referenced object; we copy it, so without a bound a few hundred bytes of nested
/// references would expand to gigabytes. What a frame holds without references is bounded by
/// the frame limit already; this allows as much again.
pub const COPY_LIMIT: usize = super::banana::SIZE_LIMIT;

/// A jellied value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A byte string (Python 2 `str`, Python 3 `bytes`): bare on the wire.
    Bytes(Vec<u8>),
    /// Text (`["unicode", utf-8]`).
    Text(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// Pairs in the order they came or go.
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    FrozenSet(Vec<Value>),
    /// `datetime`, `date`, `time`, `timedelta`: the tag and its space-separated fields.
    Temporal {
        kind: Temporal,
        fields: String,
    },
    /// `["decimal", digits, exponent]`.
    Decimal {
        digits: i64,
        exponent: i64,
    },
    /// An object the sender exports (`["remote", luid]`): the receiver may call it.
    Remote(i64),
    /// One of the receiver's own objects, sent back (`["local", luid]`).
    Local(i64),
    /// What the sender could not serialise; the receiver gets a placeholder.
    Unpersistable(String),
    /// A copied failure: its state dictionary.
    Failure(Box<Value>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Temporal {
    DateTime,
    Date,
    Time,
    TimeDelta,
}

impl Temporal {
    const ALL: [(Self, &'static str); 4] =
        [(Self::DateTime, "datetime"), (Self::Date, "date"), (Self::Time, "time"), (Self::TimeDelta, "timedelta")];

    fn tag(self) -> &'static str {
        Self::ALL.iter().find(|(t, _)| *t == self).map_or("", |(_, tag)| tag)
    }
}

/// Why a received value was refused ("insecure jelly" or malformed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JellyError {
    #[error("insecure jelly: type {0:?} is not allowed")]
    Insecure(String),
    #[error("malformed {0} form")]
    Malformed(&'static str),
    #[error("dereference of unknown reference {0}")]
    UnknownReference(i64),
    #[error("references expand past {COPY_LIMIT} values and bytes")]
    ReferencesTooLarge,
}

impl Value {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// A string position: raw bytes or text alike (spec §4.3: a receiver accepts both).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// A number position: an int or a float.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Self::Int(n) => Some(*n as f64),
            Self::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The Banana item this value travels as.
    pub fn to_item(&self) -> Item {
        let tagged = |tag: &str, rest: &[Value]| {
            let mut items = Vec::with_capacity(rest.len() + 1);
            items.push(Item::bytes(tag));
            items.extend(rest.iter().map(Value::to_item));
            Item::List(items)
        };
        match self {
            Self::None => Item::List(vec![Item::bytes("None")]),
            Self::Bool(b) => Item::List(vec![Item::bytes("boolean"), Item::bytes(if *b { "true" } else { "false" })]),
            Self::Int(n) => Item::Int(*n),
            Self::Float(f) => Item::Float(*f),
            Self::Bytes(bytes) => Item::Bytes(bytes.clone()),
            Self::Text(text) => Item::List(vec![Item::bytes("unicode"), Item::bytes(text)]),
            Self::List(items) => tagged("list", items),
            Self::Tuple(items) => tagged("tuple", items),
            Self::Set(items) => tagged("set", items),
            Self::FrozenSet(items) => tagged("frozenset", items),
            Self::Dict(pairs) => {
                let mut items = Vec::with_capacity(pairs.len() + 1);
                items.push(Item::bytes("dictionary"));
                items.extend(pairs.iter().map(|(k, v)| Item::List(vec![k.to_item(), v.to_item()])));
                Item::List(items)
            }
            Self::Temporal { kind, fields } => Item::List(vec![Item::bytes(kind.tag()), Item::bytes(fields)]),
            Self::Decimal { digits, exponent } => {
                Item::List(vec![Item::bytes("decimal"), Item::Int(*digits), Item::Int(*exponent)])
            }
            Self::Remote(luid) => Item::List(vec![Item::bytes("remote"), Item::Int(*luid)]),
            Self::Local(luid) => Item::List(vec![Item::bytes("local"), Item::Int(*luid)]),
            Self::Unpersistable(reason) => Item::List(vec![Item::bytes("unpersistable"), Item::bytes(reason)]),
            Self::Failure(state) => Item::List(vec![Item::bytes(COPYABLE_FAILURE), state.to_item()]),
        }
    }

    /// The value a received item stands for.
    pub fn from_item(item: &Item) -> Result<Self, JellyError> {
        Reader::default().read(item)
    }

    /// Values and string bytes in this value, what a copy of it costs.
    fn size(&self) -> usize {
        let all = |values: &[Value]| values.iter().map(Value::size).sum::<usize>();
        1 + match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::Text(text) | Self::Unpersistable(text) | Self::Temporal { fields: text, .. } => text.len(),
            Self::List(items) | Self::Tuple(items) | Self::Set(items) | Self::FrozenSet(items) => all(items),
            Self::Dict(pairs) => pairs.iter().map(|(k, v)| k.size() + v.size()).sum(),
            Self::Failure(state) => state.size(),
            Self::None | Self::Bool(_) | Self::Int(_) | Self::Float(_) | Self::Decimal { .. } => 0,
            Self::Remote(_) | Self::Local(_) => 0,
        }
    }
}

/// Reads one expression, remembering its `reference` forms (and their sizes) for later
/// `dereference`s, which copy them within [`COPY_LIMIT`].
#[derive(Default)]
struct Reader {
    references: HashMap<i64, (Value, usize)>,
    copied: usize,
}

impl Reader {
    fn read(&mut self, item: &Item) -> Result<Value, JellyError> {
        let items = match item {
            Item::Int(n) => return Ok(Value::Int(*n)),
            Item::Float(f) => return Ok(Value::Float(*f)),
            Item::Bytes(bytes) => return Ok(Value::Bytes(bytes.clone())),
            Item::List(items) => items,
        };
        let Some((Item::Bytes(tag), rest)) = items.split_first() else {
            return Err(JellyError::Malformed("untagged list"));
        };
        let tag = String::from_utf8_lossy(tag);
        let one_bytes = |what: &'static str| match rest {
            [Item::Bytes(bytes)] => Ok(bytes.clone()),
            _ => Err(JellyError::Malformed(what)),
        };
        let one_int = |what: &'static str| match rest {
            [Item::Int(n)] => Ok(*n),
            _ => Err(JellyError::Malformed(what)),
        };
        Ok(match &*tag {
            "None" if rest.is_empty() => Value::None,
            "boolean" => match one_bytes("boolean")?.as_slice() {
                b"true" => Value::Bool(true),
                b"false" => Value::Bool(false),
                _ => return Err(JellyError::Malformed("boolean")),
            },
            "unicode" => {
                Value::Text(String::from_utf8(one_bytes("unicode")?).map_err(|_| JellyError::Malformed("unicode"))?)
            }
            "list" => Value::List(self.all(rest)?),
            "tuple" => Value::Tuple(self.all(rest)?),
            "set" => Value::Set(self.all(rest)?),
            "frozenset" => Value::FrozenSet(self.all(rest)?),
            "dictionary" => Value::Dict(
                rest.iter()
                    .map(|pair| match pair {
                        Item::List(kv) if kv.len() == 2 => Ok((self.read(&kv[0])?, self.read(&kv[1])?)),
                        _ => Err(JellyError::Malformed("dictionary")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "datetime" | "date" | "time" | "timedelta" => {
                let kind = Temporal::ALL.iter().find(|(_, t)| *t == tag).map(|(k, _)| *k).expect("matched");
                let fields =
                    String::from_utf8(one_bytes("temporal")?).map_err(|_| JellyError::Malformed("temporal"))?;
                Value::Temporal { kind, fields }
            }
            "decimal" => match rest {
                [Item::Int(digits), Item::Int(exponent)] => Value::Decimal { digits: *digits, exponent: *exponent },
                _ => return Err(JellyError::Malformed("decimal")),
            },
            "remote" => Value::Remote(one_int("remote")?),
            "local" => Value::Local(one_int("local")?),
            "unpersistable" => Value::Unpersistable(String::from_utf8_lossy(&one_bytes("unpersistable")?).into_owned()),
            "reference" => match rest {
                [Item::Int(id), form] => {
                    let value = self.read(form)?;
                    self.references.insert(*id, (value.clone(), value.size()));
                    value
                }
                _ => return Err(JellyError::Malformed("reference")),
            },
            "dereference" => {
                let id = one_int("dereference")?;
                let (value, size) = self.references.get(&id).ok_or(JellyError::UnknownReference(id))?;
                // Counted before copying: the copy itself is what must stay bounded.
                self.copied = self.copied.saturating_add(*size);
                if self.copied > COPY_LIMIT {
                    return Err(JellyError::ReferencesTooLarge);
                }
                value.clone()
            }
            COPYABLE_FAILURE => match rest {
                [state] => Value::Failure(Box::new(self.read(state)?)),
                _ => return Err(JellyError::Malformed("failure")),
            },
            other => return Err(JellyError::Insecure(other.to_owned())),
        })
    }

    fn all(&mut self, items: &[Item]) -> Result<Vec<Value>, JellyError> {
        items.iter().map(|item| self.read(item)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_accepts_both_string_forms_and_refuses_unknown_types() {
        assert_eq!(Value::from_item(&Item::bytes("x")).unwrap().as_str(), Some("x"));
        let text = Value::text("é").to_item();
        assert_eq!(Value::from_item(&text).unwrap().as_str(), Some("é"));
        let instance = Item::List(vec![Item::bytes("instance"), Item::bytes("os.system")]);
        assert_eq!(Value::from_item(&instance), Err(JellyError::Insecure("instance".into())));
        let dangling = Item::List(vec![Item::bytes("dereference"), Item::Int(4)]);
        assert_eq!(Value::from_item(&dangling), Err(JellyError::UnknownReference(4)));
    }

    /// Each level a list of 16 dereferences of the level below: 20 levels are about 2 KiB on
    /// the wire and 16^20 values once copied: the fuzz target aborted out of memory on it
    /// before this limit (it is a fuzz seed too: fuzz/seeds/pb_decode/regression_*).
    #[test]
    fn references_that_expand_without_bound_are_refused() {
        let word = Item::bytes;
        let reference = |id: i64, form: Item| Item::List(vec![word("reference"), Item::Int(id), form]);
        let dereference = |id: i64| Item::List(vec![word("dereference"), Item::Int(id)]);
        let mut levels = vec![reference(0, Item::Bytes(vec![b'x'; 64]))];
        for id in 1..20 {
            let mut list = vec![word("list")];
            list.extend((0..16).map(|_| dereference(id - 1)));
            levels.push(reference(id, Item::List(list)));
        }
        let bomb = Item::List([vec![word("list")], levels].concat());
        assert!(super::super::banana::encoded(&bomb, true).unwrap().len() < 2200);
        assert_eq!(Value::from_item(&bomb), Err(JellyError::ReferencesTooLarge));

        // Sharing that copies little is still read (Twisted's own shared_list form).
        let shared =
            Item::List(vec![word("list"), reference(1, Item::List(vec![word("list"), Item::Int(1)])), dereference(1)]);
        let one = Value::List(vec![Value::Int(1)]);
        assert_eq!(Value::from_item(&shared), Ok(Value::List(vec![one.clone(), one])));
    }
}
