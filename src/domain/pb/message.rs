//! The broker's messages (spec-notify-4 §4.4.1): each top-level expression of a session after
//! the dialect choice, and the failures PB copies to a caller (§4.4.5).

use super::banana::Item;
use super::jelly::{JellyError, Value};

/// The protocol version both sides announce.
pub const VERSION: i64 = 6;

/// What a call is addressed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectId {
    /// The root object every connection starts with (`"root"`).
    Root,
    Luid(i64),
}

/// A method call's arguments, or why they could not be read (answered with an error).
pub type Arguments = Result<(Vec<Value>, Vec<(Value, Value)>), JellyError>;

#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Version(i64),
    /// `message` (or `cachemessage`, `cached` true): call `method` on `object`.
    Call {
        request_id: i64,
        object: ObjectId,
        method: String,
        answer_required: bool,
        arguments: Arguments,
        cached: bool,
    },
    Answer {
        request_id: i64,
        result: Value,
    },
    Error {
        request_id: i64,
        failure: Value,
    },
    Decref(i64),
    Decache(i64),
    Uncache(i64),
    DidNotUnderstand(String),
}

/// Why an expression is no message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A well-formed expression naming a message we do not know: answered with
    /// `didNotUnderstand`, the connection stays.
    #[error("unknown message {0:?}")]
    Unknown(String),
    #[error("malformed {0} message")]
    Malformed(&'static str),
}

impl Message {
    pub fn to_item(&self) -> Item {
        let word = Item::bytes;
        match self {
            Self::Version(v) => Item::List(vec![word("version"), Item::Int(*v)]),
            Self::Call { request_id, object, method, answer_required, arguments, cached } => {
                let (args, kwargs) = match arguments {
                    Ok((args, kwargs)) => (args.clone(), kwargs.clone()),
                    Err(_) => (Vec::new(), Vec::new()),
                };
                Item::List(vec![
                    word(if *cached { "cachemessage" } else { "message" }),
                    Item::Int(*request_id),
                    match object {
                        ObjectId::Root => word("root"),
                        ObjectId::Luid(luid) => Item::Int(*luid),
                    },
                    word(method),
                    Item::Int(i64::from(*answer_required)),
                    Value::Tuple(args).to_item(),
                    Value::Dict(kwargs).to_item(),
                ])
            }
            Self::Answer { request_id, result } => {
                Item::List(vec![word("answer"), Item::Int(*request_id), result.to_item()])
            }
            Self::Error { request_id, failure } => {
                Item::List(vec![word("error"), Item::Int(*request_id), failure.to_item()])
            }
            Self::Decref(luid) => Item::List(vec![word("decref"), Item::Int(*luid)]),
            Self::Decache(luid) => Item::List(vec![word("decache"), Item::Int(*luid)]),
            Self::Uncache(luid) => Item::List(vec![word("uncache"), Item::Int(*luid)]),
            Self::DidNotUnderstand(name) => Item::List(vec![word("didNotUnderstand"), word(name)]),
        }
    }

    pub fn from_item(item: &Item) -> Result<Self, MessageError> {
        let Item::List(items) = item else { return Err(MessageError::Malformed("top-level")) };
        let Some((Item::Bytes(name), rest)) = items.split_first() else {
            return Err(MessageError::Malformed("top-level"));
        };
        let name = String::from_utf8_lossy(name);
        let luid = |what| match rest {
            [Item::Int(n)] => Ok(*n),
            _ => Err(MessageError::Malformed(what)),
        };
        let result = |what| match rest {
            [Item::Int(id), value] => Ok((*id, Value::from_item(value).map_err(|_| MessageError::Malformed(what))?)),
            _ => Err(MessageError::Malformed(what)),
        };
        Ok(match &*name {
            "version" => Self::Version(luid("version")?),
            "message" | "cachemessage" => {
                let cached = name == "cachemessage";
                let [Item::Int(request_id), object, method, Item::Int(answer), args, kwargs] = rest else {
                    return Err(MessageError::Malformed("message"));
                };
                let object = match object {
                    Item::Int(luid) => ObjectId::Luid(*luid),
                    Item::Bytes(name) if name == b"root" => ObjectId::Root,
                    _ => return Err(MessageError::Malformed("message")),
                };
                let method = match method {
                    Item::Bytes(name) => {
                        String::from_utf8(name.clone()).map_err(|_| MessageError::Malformed("message"))?
                    }
                    _ => return Err(MessageError::Malformed("message")),
                };
                Self::Call {
                    request_id: *request_id,
                    object,
                    method,
                    answer_required: *answer != 0,
                    arguments: arguments(args, kwargs),
                    cached,
                }
            }
            "answer" => {
                let (request_id, result) = result("answer")?;
                Self::Answer { request_id, result }
            }
            "error" => {
                let (request_id, failure) = result("error")?;
                Self::Error { request_id, failure }
            }
            "decref" => Self::Decref(luid("decref")?),
            "decache" => Self::Decache(luid("decache")?),
            "uncache" => Self::Uncache(luid("uncache")?),
            "didNotUnderstand" => match rest {
                [Item::Bytes(what)] => Self::DidNotUnderstand(String::from_utf8_lossy(what).into_owned()),
                _ => return Err(MessageError::Malformed("didNotUnderstand")),
            },
            other => return Err(MessageError::Unknown(other.to_owned())),
        })
    }
}

fn arguments(args: &Item, kwargs: &Item) -> Arguments {
    let args = match Value::from_item(args)? {
        Value::Tuple(args) | Value::List(args) => args,
        _ => return Err(JellyError::Malformed("arguments")),
    };
    let kwargs = match Value::from_item(kwargs)? {
        Value::Dict(pairs) => pairs,
        _ => return Err(JellyError::Malformed("keyword arguments")),
    };
    Ok((args, kwargs))
}

/// A failure as PB copies it to the caller: enough for a stock client's errback, `check()`
/// and its unhandled-error path (§4.4.5 lists what it reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The exception's qualified class name, most specific first, then its ancestors.
    pub parents: Vec<String>,
    /// `str()` of the exception.
    pub value: String,
}

impl Failure {
    /// A failure of `class` (its first ancestors given, most specific first), below Python's
    /// own `Exception`, `BaseException` and `object`.
    pub fn new(classes: &[&str], value: impl Into<String>) -> Self {
        let mut parents: Vec<String> = classes.iter().map(|c| (*c).to_owned()).collect();
        parents.extend(["builtins.Exception", "builtins.BaseException", "builtins.object"].map(String::from));
        Self { parents, value: value.into() }
    }

    /// A failed login (`UnauthorizedLogin`, no message).
    pub fn unauthorized_login() -> Self {
        Self::new(
            &[
                "twisted.cred.error.UnauthorizedLogin",
                "twisted.cred.error.LoginFailed",
                "twisted.cred.error.Unauthorized",
            ],
            "",
        )
    }

    /// PB's own errors (an unknown object id, the reference limit).
    pub fn pb_error(message: &str) -> Self {
        Self::new(&["twisted.spread.pb.Error"], message)
    }

    /// A method a remote object lacks.
    pub fn no_such_method(method: &str) -> Self {
        Self::new(
            &["twisted.spread.flavors.NoSuchMethod", "builtins.AttributeError"],
            format!("No such method: remote_{method}"),
        )
    }

    /// A method the perspective lacks (Python's own message, as Buildbot's perspective gave).
    pub fn no_perspective_method(method: &str) -> Self {
        Self::new(
            &["builtins.AttributeError"],
            format!("'StatusClientPerspective' object has no attribute 'perspective_{method}'"),
        )
    }

    /// An unknown key (a builder name): Python quotes it.
    pub fn key_error(key: &str) -> Self {
        Self::new(&["builtins.KeyError", "builtins.LookupError"], format!("'{key}'"))
    }

    /// Arguments of the wrong number or kind.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(&["builtins.TypeError"], message)
    }

    /// A value the method refuses.
    pub fn value_error(message: impl Into<String>) -> Self {
        Self::new(&["builtins.ValueError"], message)
    }

    /// Arguments a receiver refused to unserialise.
    pub fn insecure_jelly(message: impl Into<String>) -> Self {
        Self::new(&["twisted.spread.jelly.InsecureJelly"], message)
    }

    /// The class name.
    pub fn class(&self) -> &str {
        self.parents.first().map_or("", String::as_str)
    }

    /// The copied-failure value: keys and texts as text, which Python 3 peers need (their
    /// failure's attributes are these keys) and Python 2 peers accept.
    pub fn to_value(&self) -> Value {
        let entry = |key: &str, value: Value| (Value::text(key), value);
        Value::Failure(Box::new(Value::Dict(vec![
            entry("type", Value::text(self.class())),
            entry("value", Value::text(&self.value)),
            entry("traceback", Value::text("Traceback unavailable\n")),
            entry("parents", Value::List(self.parents.iter().map(Value::text).collect())),
            entry("frames", Value::List(Vec::new())),
            entry("stack", Value::List(Vec::new())),
            entry("tb", Value::None),
            entry("captureVars", Value::Bool(false)),
            entry("unsafeTracebacks", Value::Bool(false)),
        ])))
    }
}

/// The answer to a login challenge: `MD5(MD5(password) ‖ challenge)` (§4.4.4).
pub fn login_response(password: &[u8], challenge: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let first = Md5::digest(password);
    let mut second = Md5::new();
    second.update(first);
    second.update(challenge);
    second.finalize().into()
}

/// Whether a client's response proves it knows `password`, compared in constant time.
pub fn response_matches(response: &[u8], password: &[u8], challenge: &[u8]) -> bool {
    crate::domain::hooks::verify::secrets_equal(response, &login_response(password, challenge))
}
