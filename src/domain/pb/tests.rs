//! The codec against bytes a real Twisted produced (`tests/fixtures/pb/golden.txt`, recorded by
//! `record_golden.py` there), and its properties: encode → decode is identity, any bytes
//! decode to items or an error (never a panic), limits hold.

use proptest::prelude::*;

use super::banana::{self, Decoder, Item, SIZE_LIMIT, decode_one, encoded};
use super::jelly::{Temporal, Value};
use super::message::{Failure, Message, ObjectId, login_response, response_matches};

const GOLDEN: &str = include_str!("../../../tests/fixtures/pb/golden.txt");

fn golden(section: &str) -> Vec<(&'static str, Vec<u8>)> {
    GOLDEN
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            (parts.next() == Some(section)).then(|| {
                let name = parts.next().expect("name");
                let hex = parts.next().expect("hex");
                let bytes =
                    (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
                (name, bytes)
            })
        })
        .collect()
}

fn golden_named(section: &str, name: &str) -> Vec<u8> {
    golden(section).into_iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{section} {name}")).1
}

#[test]
fn banana_matches_twisted_byte_for_byte() {
    let b = Item::bytes;
    let l = Item::List;
    let expected: Vec<(&str, Item)> = vec![
        ("int_0", Item::Int(0)),
        ("int_1", Item::Int(1)),
        ("int_127", Item::Int(127)),
        ("int_128", Item::Int(128)),
        ("int_300", Item::Int(300)),
        ("int_max31", Item::Int((1 << 31) - 1)),
        ("longint_2p31", Item::Int(1 << 31)),
        ("longint_2p62", Item::Int(1 << 62)),
        ("neg_1", Item::Int(-1)),
        ("neg_5", Item::Int(-5)),
        ("neg_min31", Item::Int(-(1 << 31))),
        ("longneg_below_min31", Item::Int(-(1 << 31) - 1)),
        ("float_1_5", Item::Float(1.5)),
        ("float_neg_0_1", Item::Float(-0.1)),
        ("string_empty", b("")),
        ("string_hello", b("hello")),
        ("string_binary", Item::Bytes((0..=255).collect())),
        ("vocab_list", b("list")),
        ("vocab_answer", b("answer")),
        ("vocab_uncache", b("uncache")),
        ("not_vocab_lists", b("lists")),
        ("list_empty", l(vec![])),
        (
            "list_nested",
            l(vec![Item::Int(1), l(vec![b("a"), l(vec![b("None"), Item::Int(-2)])]), l(vec![]), Item::Float(2.25)]),
        ),
        ("dialects", l(vec![b("pb"), b("none")])),
        ("version", l(vec![b("version"), Item::Int(6)])),
        ("string_long", Item::Bytes(vec![b'x'; 200])),
    ];
    assert_eq!(expected.len(), golden("banana").len(), "every recorded value is checked");
    for (name, item) in expected {
        let recorded = golden_named("banana", name);
        assert_eq!(encoded(&item, true).unwrap(), recorded, "{name}");
        assert_eq!(decode_one(&recorded, true).unwrap(), item, "{name}");
    }
}

#[test]
fn jelly_matches_twisted_byte_for_byte() {
    let t = Value::text;
    let expected: Vec<(&str, Value)> = vec![
        ("none", Value::None),
        ("true", Value::Bool(true)),
        ("false", Value::Bool(false)),
        ("unicode", t("h\u{e9}llo \u{2713}")),
        ("bytes", Value::Bytes(b"raw".to_vec())),
        ("list", Value::List(vec![Value::Int(1), Value::Bytes(b"two".to_vec()), t("three")])),
        ("tuple", Value::Tuple(vec![Value::Int(1), Value::Tuple(vec![Value::Int(2), Value::Int(3)])])),
        (
            "dict",
            Value::Dict(vec![(Value::Bytes(b"a".to_vec()), Value::Int(1)), (t("b"), Value::List(vec![Value::None]))]),
        ),
        ("dict_empty", Value::Dict(vec![])),
        ("float", Value::Float(3.25)),
        ("negative", Value::Int(-7)),
        ("set", Value::Set(vec![Value::Int(5)])),
        ("frozenset", Value::FrozenSet(vec![Value::Int(6)])),
    ];
    for (name, value) in expected {
        let recorded = golden_named("jelly", name);
        assert_eq!(encoded(&value.to_item(), true).unwrap(), recorded, "{name}");
        assert_eq!(Value::from_item(&decode_one(&recorded, true).unwrap()).unwrap(), value, "{name}");
    }
    // Shared values arrive as reference/dereference; the receiver resolves them.
    let shared = Value::from_item(&decode_one(&golden_named("jelly", "shared_list"), true).unwrap()).unwrap();
    assert_eq!(shared, Value::List(vec![Value::List(vec![Value::Int(1)]); 2]));
}

/// Every expression of a real session decodes into a message, and encoding that message
/// gives Twisted's bytes back, in both directions. Each direction's first expression (the
/// dialect offer, the choice) is plain Banana; the vocabulary is on from then.
#[test]
fn a_recorded_twisted_session_round_trips_byte_for_byte() {
    let fresh = || (Decoder::new(1 << 20), true);
    let (mut client, mut server) = (fresh(), fresh());
    let mut count = 0;
    for (direction, bytes) in golden("session") {
        let (decoder, first) = match direction {
            "C" => &mut client,
            "S" => &mut server,
            _ => {
                (client, server) = (fresh(), fresh());
                continue;
            }
        };
        decoder.feed(&bytes);
        let mut again = Vec::new();
        while let Some(item) = decoder.next_item().unwrap() {
            if *first {
                banana::encode(&item, false, &mut again).unwrap();
                decoder.set_vocabulary(true);
                *first = false;
            } else {
                let message = Message::from_item(&item).unwrap_or_else(|e| panic!("{e}: {item:?}"));
                banana::encode(&message.to_item(), true, &mut again).unwrap();
                count += 1;
            }
        }
        assert_eq!(again, bytes, "{direction}");
    }
    assert!(count >= 20, "{count} messages");
}

#[test]
fn the_recorded_login_is_what_the_codec_reads_and_writes() {
    let sessions = golden("session");
    // The client's login call (second client read: dialect choice, version, login at once).
    let mut decoder = Decoder::new(1 << 20);
    decoder.feed(&sessions[3].1);
    decoder.set_vocabulary(true);
    let login = Message::from_item(&decoder.next_item().unwrap().unwrap()).unwrap();
    let Message::Call {
        request_id: 1,
        object: ObjectId::Root,
        method,
        answer_required: true,
        arguments: Ok((args, _)),
        ..
    } = login
    else {
        panic!("{login:?}")
    };
    assert_eq!(method, "login");
    assert_eq!(args, [Value::Bytes(b"statusClient".to_vec())]);
    // The server's challenge answer, built by us, is Twisted's.
    let challenge = b"0123456789abcdef".to_vec();
    let answer = Message::Answer {
        request_id: 1,
        result: Value::Tuple(vec![Value::Bytes(challenge.clone()), Value::Remote(1)]),
    };
    assert_eq!(encoded(&answer.to_item(), true).unwrap(), sessions[4].1);
    // The client's response proves the password, and only that one.
    let mut decoder = Decoder::new(1 << 20);
    decoder.set_vocabulary(true);
    decoder.feed(&sessions[5].1);
    let respond = Message::from_item(&decoder.next_item().unwrap().unwrap()).unwrap();
    let Message::Call { method, arguments: Ok((args, _)), .. } = respond else { panic!() };
    assert_eq!(method, "respond");
    let Value::Bytes(response) = &args[0] else { panic!("{args:?}") };
    assert_eq!(response.as_slice(), login_response(b"clientpw", &challenge));
    assert!(response_matches(response, b"clientpw", &challenge));
    assert!(!response_matches(response, b"clientpW", &challenge));
    assert_eq!(Message::from_item(&decoder.next_item().unwrap().unwrap()).unwrap(), Message::Decref(1));
}

#[test]
fn a_copied_failure_reads_like_twisteds() {
    // Twisted's failure for a wrong password: we read its class list and message.
    let sessions = golden("session");
    let last = &sessions.last().unwrap().1;
    let mut decoder = Decoder::new(1 << 20);
    decoder.set_vocabulary(true);
    decoder.feed(last);
    let Message::Error { failure: Value::Failure(state), .. } =
        Message::from_item(&decoder.next_item().unwrap().unwrap()).unwrap()
    else {
        panic!()
    };
    let Value::Dict(pairs) = *state else { panic!() };
    let get = |key: &str| pairs.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v.clone()).unwrap();
    let ours = Failure::unauthorized_login();
    let Value::Failure(our_state) = ours.to_value() else { panic!() };
    let Value::Dict(our_pairs) = *our_state else { panic!() };
    for (key, value) in our_pairs {
        let key = key.as_str().unwrap().to_owned();
        // Twisted sends some of these as bytes, some as text: a receiver takes both.
        match (get(&key), &value) {
            (theirs, Value::Text(ours)) => assert_eq!(theirs.as_str(), Some(ours.as_str()), "{key}"),
            (Value::List(theirs), Value::List(ours)) => {
                let theirs: Vec<_> = theirs.iter().map(Value::as_str).collect();
                let ours: Vec<_> = ours.iter().map(Value::as_str).collect();
                assert_eq!(theirs, ours, "{key}");
            }
            (theirs, ours) => assert_eq!(&theirs, ours, "{key}"),
        }
    }
}

fn arbitrary_item() -> impl Strategy<Value = Item> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Item::Int),
        any::<f64>().prop_filter("NaN is never equal", |f| !f.is_nan()).prop_map(Item::Float),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
        proptest::sample::select(banana::VOCABULARY[1..].to_vec()).prop_map(Item::bytes),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| proptest::collection::vec(inner, 0..8).prop_map(Item::List))
}

fn arbitrary_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_filter("NaN is never equal", |f| !f.is_nan()).prop_map(Value::Float),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        ".{0,12}".prop_map(Value::Text),
        (1i64..1025).prop_map(Value::Remote),
        (1i64..1025).prop_map(Value::Local),
        "[ -~]{0,20}".prop_map(Value::Unpersistable),
        "[0-9 ]{0,20}".prop_map(|fields| Value::Temporal { kind: Temporal::DateTime, fields }),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Set),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Dict),
            inner.prop_map(|state| Value::Failure(Box::new(state))),
        ]
    })
}

proptest! {
    #[test]
    fn banana_encode_then_decode_is_identity(item in arbitrary_item(), vocabulary in any::<bool>()) {
        let bytes = encoded(&item, vocabulary).unwrap();
        prop_assert_eq!(decode_one(&bytes, vocabulary).unwrap(), item);
    }

    #[test]
    fn jelly_encode_then_decode_is_identity(value in arbitrary_value()) {
        let bytes = encoded(&value.to_item(), true).unwrap();
        prop_assert_eq!(Value::from_item(&decode_one(&bytes, true).unwrap()).unwrap(), value);
    }

    #[test]
    fn messages_encode_then_decode_is_identity(args in proptest::collection::vec(arbitrary_value(), 0..4), id in 1i64..1 << 40, method in "[a-zA-Z_]{1,20}") {
        for message in [
            Message::Call { request_id: id, object: ObjectId::Luid(id), method: method.clone(), answer_required: id % 2 == 0, arguments: Ok((args.clone(), vec![(Value::text("k"), Value::Int(id))])), cached: false },
            Message::Answer { request_id: id, result: Value::Tuple(args.clone()) },
            Message::Error { request_id: id, failure: Failure::key_error(&method).to_value() },
            Message::Decref(id),
            Message::Version(6),
        ] {
            let bytes = encoded(&message.to_item(), true).unwrap();
            prop_assert_eq!(Message::from_item(&decode_one(&bytes, true).unwrap()).unwrap(), message);
        }
    }

    /// Any bytes, cut anywhere: items or an error, never a panic, never more than the limit.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let mut decoder = Decoder::new(256);
        decoder.set_vocabulary(true);
        let cut = cut.min(bytes.len());
        'feed: for part in [&bytes[..cut], &bytes[cut..]] {
            decoder.feed(part);
            loop {
                match decoder.next_item() {
                    Ok(Some(item)) => {
                        prop_assert!(encoded(&item, true).map_or(true, |b| b.len() <= 256 + 64));
                        if let Ok(message) = Message::from_item(&item) {
                            let _ = encoded(&message.to_item(), true);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
    }

    /// Mutations of real traffic (the fuzzer's seeds) never panic either.
    #[test]
    fn mutated_twisted_traffic_never_panics(index in 0usize..64, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let sessions = golden("session");
        let mut bytes = sessions[index % sessions.len()].1.clone();
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let mut decoder = Decoder::new(SIZE_LIMIT);
        decoder.set_vocabulary(true);
        decoder.feed(&bytes);
        while let Ok(Some(item)) = decoder.next_item() {
            let _ = Message::from_item(&item);
        }
    }
}
