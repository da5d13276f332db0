//! What a payload leaves out (StatusPush's `filter`, spec-notify-5 §5.1.3). 0.8 dropped every
//! value equal to an empty one under Python's equality, so a SUCCESS result (`0`), build
//! number 0 and every `false` vanished from the packets (spec-notify-8 S1). The default here
//! drops only what carries nothing (`null`, `[]`, `{}`) and keeps the position of every list
//! element; 0.8's rule is a compatibility switch, reproduced exactly.

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PayloadFilter {
    /// Everything is sent (`filter = false`).
    Off,
    /// In every object below the payload's own entries, a member whose value is `null`, `[]`
    /// or `{}` (once filtered) is left out; lists keep all their elements (`filter = true`).
    #[default]
    Empty,
    /// 0.8.12's rule (`filter = "0.8"`): a member equal to `""`, `false`, `0`, `null`, `[]`
    /// or `{}` is left out, and a list whose elements are all such becomes `null`.
    Lossy,
}

impl PayloadFilter {
    /// Filters each value of a payload; the payload's own entries always stay (0.8 did not
    /// filter the payload itself: `"slavename": ""` is sent as it is).
    pub fn apply(self, payload: Map<String, Value>) -> Map<String, Value> {
        match self {
            Self::Off => payload,
            Self::Empty => payload.into_iter().map(|(k, v)| (k, keep_scalars(v))).collect(),
            Self::Lossy => payload.into_iter().map(|(k, v)| (k, lossy(v))).collect(),
        }
    }
}

fn carries_nothing(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        _ => false,
    }
}

fn keep_scalars(v: Value) -> Value {
    match v {
        Value::Object(members) => Value::Object(
            members.into_iter().map(|(k, v)| (k, keep_scalars(v))).filter(|(_, v)| !carries_nothing(v)).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(keep_scalars).collect()),
        other => other,
    }
}

/// Python's `x in ("", False, None, [], {}, ())`: equality makes `0` and `0.0` empty too.
fn empty_in_python(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        Value::Bool(true) => false,
    }
}

fn lossy(v: Value) -> Value {
    match v {
        Value::Object(members) => Value::Object(
            members.into_iter().map(|(k, v)| (k, lossy(v))).filter(|(_, v)| !empty_in_python(v)).collect(),
        ),
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().map(lossy).collect();
            if items.iter().all(empty_in_python) { Value::Null } else { Value::Array(items) }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn payload(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("a payload is an object"),
        }
    }

    /// A successful step of a build numbered 0, as `/json` shows it.
    fn step() -> Value {
        json!({"step": {"name": "compile", "results": [0, []], "times": [1.5, null], "step_number": 0,
                        "hidden": false, "isFinished": true, "eta": null, "urls": {}, "text": ["compile"],
                        "statistics": {"warnings": 0}}, "slavename": ""})
    }

    #[test]
    fn the_0_8_rule_drops_successes_and_zeros_as_the_spec_says() {
        let out = PayloadFilter::Lossy.apply(payload(step()));
        assert_eq!(
            Value::Object(out),
            json!({"step": {"name": "compile", "times": [1.5, null], "isFinished": true, "text": ["compile"]},
                   "slavename": ""})
        );
        let lists = PayloadFilter::Lossy.apply(payload(json!({"a": {"l": [1, []], "m": [[], 0, ""]}, "top": []})));
        assert_eq!(Value::Object(lists), json!({"a": {"l": [1, null]}, "top": null}));
    }

    #[test]
    fn the_default_keeps_zero_false_and_every_list_element() {
        let out = PayloadFilter::Empty.apply(payload(step()));
        assert_eq!(
            Value::Object(out),
            json!({"step": {"name": "compile", "results": [0, []], "times": [1.5, null], "step_number": 0,
                            "hidden": false, "isFinished": true, "text": ["compile"], "statistics": {"warnings": 0}},
                   "slavename": ""})
        );
        assert_eq!(PayloadFilter::Off.apply(payload(step())), payload(step()));
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..3).prop_map(|n| json!(n)),
            prop_oneof![Just(0.0f64), Just(-0.0), Just(1.5)].prop_map(|f| json!(f)),
            prop_oneof![Just(""), Just("x")].prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The scalars other than null, in document order.
    fn scalars(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| scalars(i, out)),
            Value::Object(members) => members.values().for_each(|i| scalars(i, out)),
            Value::Null => {}
            other => out.push(other.clone()),
        }
    }

    /// Whether some object member at any depth carries nothing (or, `lossy`, is empty in Python).
    fn has_empty_member(v: &Value, lossy: bool) -> bool {
        match v {
            Value::Array(items) => items.iter().any(|i| has_empty_member(i, lossy)),
            Value::Object(members) => members
                .values()
                .any(|m| (if lossy { empty_in_python(m) } else { carries_nothing(m) }) || has_empty_member(m, lossy)),
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn the_default_keeps_every_value_and_drops_only_empty_members(members in prop::collection::btree_map("[a-d]", value(), 0..4)) {
            let input: Map<String, Value> = members.into_iter().collect();
            let out = PayloadFilter::Empty.apply(input.clone());
            prop_assert_eq!(out.keys().collect::<Vec<_>>(), input.keys().collect::<Vec<_>>(), "the payload's entries stay");
            let (mut before, mut after) = (Vec::new(), Vec::new());
            scalars(&Value::Object(input), &mut before);
            scalars(&Value::Object(out.clone()), &mut after);
            prop_assert_eq!(before, after, "every 0, false, \"\" and number survives, in order");
            prop_assert!(out.values().all(|v| !has_empty_member(v, false)));
            prop_assert_eq!(PayloadFilter::Empty.apply(out.clone()), out, "filtering twice changes nothing");
        }

        #[test]
        fn the_0_8_rule_leaves_no_empty_member_and_is_stable(members in prop::collection::btree_map("[a-d]", value(), 0..4)) {
            let input: Map<String, Value> = members.into_iter().collect();
            let out = PayloadFilter::Lossy.apply(input.clone());
            prop_assert_eq!(out.keys().collect::<Vec<_>>(), input.keys().collect::<Vec<_>>());
            prop_assert!(out.values().all(|v| !has_empty_member(v, true)));
            prop_assert_eq!(PayloadFilter::Lossy.apply(out.clone()), out);
        }
    }
}
