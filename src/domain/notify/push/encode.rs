//! HttpStatusPush's wire format (spec-notify-5 §5.2.3): a form field `packets` holding a JSON
//! array of packets, written in ASCII (every other character a `\uXXXX` escape), compact or,
//! with `debug`, indented by 2 with sorted keys; the form is `application/x-www-form-urlencoded`
//! as Python's `urlencode` wrote it (space as `+`, every byte but letters, digits and `_.-`
//! as `%XX`), with the target's extra fields after `packets`.
//!
//! A packet is written once, when it is queued (spec-notify-8 S7): what can fail, fails then.
//! A request is then the queued texts joined, so its size is known before it is built, and a
//! request never holds more than it may ([`Form::fitting`]), nor nothing (S10).

use std::fmt::Write as _;

use super::packet::Packet;

/// How packets are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// No spaces (`,` and `:` between items): 0.8's default.
    #[default]
    Compact,
    /// `debug`: an item per line, indented by 2, keys sorted.
    Pretty,
}

impl Style {
    /// Around and between the packets of the array.
    fn punctuation(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Compact => ("[", ",", "]"),
            Self::Pretty => ("[\n  ", ",\n  ", "\n]"),
        }
    }
}

/// A packet as it stands in the `packets` array: ASCII JSON in `style` (for [`Style::Pretty`],
/// indented as an element of the array).
pub fn packet_text(packet: &Packet, style: Style) -> Result<String, String> {
    let text = match style {
        Style::Compact => serde_json::to_string(packet),
        // Through a `Value`, whose maps are sorted, so the envelope's keys are too.
        Style::Pretty => serde_json::to_value(packet).and_then(|v| serde_json::to_string_pretty(&v)),
    }
    .map_err(|e| format!("packet {} cannot be written as JSON: {e}", packet.id))?;
    let text = ascii(text);
    Ok(match style {
        Style::Compact => text,
        Style::Pretty => text.replace('\n', "\n  "),
    })
}

/// `json` with each non-ASCII character written as `\uXXXX` (two, a surrogate pair, beyond
/// the BMP). JSON text holds such characters only inside strings, where the escape means the
/// same character.
fn ascii(json: String) -> String {
    if json.is_ascii() {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// Whether Python's `quote_plus` leaves the byte as it is.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Appends `text` form-encoded (a table, not `write!`: a request's body is every byte of up
/// to 200 packets).
pub fn form_escape_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b if unreserved(b) => out.push(char::from(b)),
            b => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

/// The length of `text` form-encoded.
pub fn form_len(text: &str) -> usize {
    text.bytes().map(|b| if b == b' ' || unreserved(b) { 1 } else { 3 }).sum()
}

/// The body of a POST: `packets` and the extra fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub style: Style,
    /// `extra_post_params`, sent after `packets` in this order.
    pub extra: Vec<(String, String)>,
}

impl Form {
    /// The bytes of everything but the packets themselves.
    fn frame_len(&self) -> usize {
        let (open, _, close) = self.style.punctuation();
        let extra: usize = self.extra.iter().map(|(k, v)| 2 + form_len(k) + form_len(v)).sum();
        "packets=".len() + form_len(open) + form_len(close) + extra
    }

    /// The length of the body holding `packets` (each as [`packet_text`] wrote it).
    pub fn len<S: AsRef<str>>(&self, packets: &[S]) -> usize {
        let separators = packets.len().saturating_sub(1) * form_len(self.style.punctuation().1);
        self.frame_len() + separators + packets.iter().map(|p| form_len(p.as_ref())).sum::<usize>()
    }

    /// How many of `packets`, from the first, go in one body of fewer than `limit` bytes
    /// (0.8 compared with `<`; no limit: any size), at most `max`. 0 when the first one
    /// alone is too large: it can never be sent.
    pub fn fitting<S: AsRef<str>>(&self, packets: &[S], limit: Option<usize>, max: usize) -> usize {
        let Some(limit) = limit else { return packets.len().min(max) };
        let separator = form_len(self.style.punctuation().1);
        let mut size = self.frame_len();
        for (n, packet) in packets.iter().take(max).enumerate() {
            size += form_len(packet.as_ref()) + if n > 0 { separator } else { 0 };
            if size >= limit {
                return n;
            }
        }
        packets.len().min(max)
    }

    /// The body holding `packets`.
    pub fn body<S: AsRef<str>>(&self, packets: &[S]) -> String {
        let (open, separator, close) = self.style.punctuation();
        let mut out = String::with_capacity(self.len(packets));
        out.push_str("packets=");
        form_escape_into(&mut out, open);
        for (n, packet) in packets.iter().enumerate() {
            if n > 0 {
                form_escape_into(&mut out, separator);
            }
            form_escape_into(&mut out, packet.as_ref());
        }
        form_escape_into(&mut out, close);
        for (key, value) in &self.extra {
            out.push('&');
            form_escape_into(&mut out, key);
            out.push('=');
            form_escape_into(&mut out, value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notify::push::events::EventName;
    use crate::domain::notify::push::packet::{Draft, Envelope};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn packet(id: u64, text: &str) -> Packet {
        let envelope = Envelope { project: "Prøject".into(), started: "2015-05-30 08:00:00".into() };
        let t = chrono::DateTime::from_timestamp(1_433_161_296, 0).expect("time");
        envelope.packet(id, t, Draft::new(EventName::SlavePaused, [("slavename", json!(text))]))
    }

    /// Reads a form body back, as a receiver does: its fields, `+` and `%XX` decoded.
    fn decode(body: &str) -> Vec<(String, String)> {
        let unescape = |s: &str| {
            let (bytes, mut out, mut i) = (s.as_bytes(), Vec::new(), 0);
            while i < bytes.len() {
                match bytes[i] {
                    b'+' => out.push(b' '),
                    b'%' => {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            String::from_utf8(out).expect("utf-8")
        };
        body.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("k=v");
                (unescape(k), unescape(v))
            })
            .collect()
    }

    #[test]
    fn a_body_is_0_8s_form_with_ascii_json() {
        let form = Form { style: Style::Compact, extra: vec![("key".into(), "a b~é".into())] };
        let texts = [packet_text(&packet(1, "w1"), Style::Compact).expect("json")];
        assert!(texts[0].is_ascii() && texts[0].contains(r#""project":"Pr\u00f8ject""#), "{}", texts[0]);
        let body = form.body(&texts);
        assert!(body.starts_with("packets=%5B%7B%22id%22%3A1%2C%22timestamp%22%3A%222015-06-01+12%3A21%3A36%22"));
        assert!(body.ends_with("%5D&key=a+b%7E%C3%A9"), "{body}");
        assert_eq!(form.len(&texts), body.len());
    }

    #[test]
    fn debug_is_indented_with_sorted_keys() {
        let text = packet_text(&packet(2, "w"), Style::Pretty).expect("json");
        let form = Form { style: Style::Pretty, extra: vec![] };
        let fields = decode(&form.body(&[text.clone(), text]));
        let json = &fields[0].1;
        assert!(json.starts_with("[\n  {\n    \"event\": \"slavePaused\",\n    \"id\": 2,\n"), "{json}");
        assert!(json.contains("\n  },\n  {\n"), "{json}");
        let first = json.split("\n  },").next().expect("a packet");
        let keys: Vec<&str> = first.lines().filter(|l| l.starts_with("    \"")).map(|l| l.trim()).collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "sorted keys, like 0.8's sort_keys=True");
        assert_eq!(serde_json::from_str::<Value>(json).expect("json").as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn beyond_the_bmp_is_a_surrogate_pair() {
        let text = packet_text(&packet(3, "🦀"), Style::Compact).expect("json");
        assert!(text.contains(r#""slavename":"\ud83e\udd80""#), "{text}");
        let back: Packet = serde_json::from_str(&text).expect("json");
        assert_eq!(back.payload["slavename"], json!("🦀"));
    }

    fn texts() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-z é\u{1F980}+&=%~]{0,60}", 0..12).prop_map(|names| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| packet_text(&packet(i as u64 + 1, n), Style::Compact).expect("json"))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn what_fits_is_as_many_as_fit_below_the_limit(texts in texts(), limit in 0usize..4000, max in 1usize..15,
                                                       pretty in any::<bool>()) {
            let style = if pretty { Style::Pretty } else { Style::Compact };
            let form = Form { style, extra: vec![("token".into(), "s3 cret".into())] };
            let n = form.fitting(&texts, Some(limit), max);
            prop_assert!(n <= max && n <= texts.len());
            if n > 0 {
                prop_assert!(form.body(&texts[..n]).len() < limit, "a body is below the limit");
            }
            if n < max.min(texts.len()) {
                prop_assert!(form.len(&texts[..=n]) >= limit, "one more would not fit");
            }
            prop_assert_eq!(form.fitting(&texts, None, max), max.min(texts.len()));
        }

        #[test]
        fn a_body_reads_back_as_its_packets(texts in texts(), pretty in any::<bool>()) {
            let style = if pretty { Style::Pretty } else { Style::Compact };
            let form = Form { style, extra: vec![("x y".into(), "ü&=".into())] };
            let body = form.body(&texts);
            prop_assert!(body.bytes().all(|b| unreserved(b) || b"+%&=".contains(&b)), "{}", body);
            prop_assert_eq!(body.len(), form.len(&texts));
            let fields = decode(&body);
            prop_assert_eq!(&fields[1], &("x y".to_owned(), "ü&=".to_owned()));
            let packets: Vec<Packet> = serde_json::from_str(&fields[0].1).expect("a JSON array of packets");
            let expected: Vec<Packet> = texts.iter().map(|t| serde_json::from_str(t).expect("packet")).collect();
            prop_assert_eq!(packets, expected);
        }
    }
}
