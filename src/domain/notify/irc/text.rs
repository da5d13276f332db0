//! How a reply becomes lines on the wire: the spec's width rule (`403 − NICKLEN − 2 × len(dest)`,
//! counted in bytes here so that a line of multi-byte characters still fits the server's 512
//! bytes), word wrapping that never cuts a UTF-8 character, mIRC colours with two digits
//! (spec-notify-8 I9), and the spec's durations (`2m05s`).

use super::line::{clean, compose, is_channel};
use crate::domain::result::BuildResult;

/// How a text is said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Voice {
    Privmsg,
    Notice,
    /// CTCP ACTION (`/me …`).
    Action,
}

/// One text for one destination (a channel or a nick).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Say {
    pub dest: String,
    pub text: String,
    pub voice: Voice,
}

impl Say {
    pub fn new(dest: &str, text: impl Into<String>, voice: Voice) -> Self {
        Self { dest: dest.to_owned(), text: text.into(), voice }
    }
}

/// NICKLEN when the server's ISUPPORT did not say.
pub const DEFAULT_NICKLEN: usize = 9;

/// Bytes of text per line to `dest`: the spec's rule, never below 40.
pub fn width(nicklen: usize, dest: &str) -> usize {
    403usize.saturating_sub(nicklen).saturating_sub(2 * dest.len()).max(40)
}

/// `text` as the pieces of at most `width` bytes it is sent in: split at each newline, tabs
/// as spaces, wrapped at spaces (a word longer than the width is cut, between characters),
/// spaces at the wrap points dropped, empty pieces left out; CR and NUL removed.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut out = Vec::new();
    for piece in text.split('\n') {
        let piece = clean(piece).replace('\t', " ");
        let mut rest = piece.trim_matches(' ');
        while !rest.is_empty() {
            if rest.len() <= width {
                out.push(rest.to_owned());
                break;
            }
            let mut cut = width;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            // Break at the last space that fits; a word longer than the line is cut.
            let end = if rest.as_bytes()[cut] == b' ' {
                cut
            } else {
                match rest[..cut].rfind(' ') {
                    Some(space) if space > 0 => space,
                    _ => cut,
                }
            };
            out.push(rest[..end].trim_end_matches(' ').to_owned());
            rest = rest[end..].trim_start_matches(' ');
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The wire lines (without CR LF) that say `say`, wrapped for a server whose NICKLEN is
/// `nicklen`.
pub fn wire_lines(say: &Say, nicklen: usize) -> Vec<String> {
    let dest = clean(&say.dest);
    let width = width(nicklen, &dest);
    match say.voice {
        Voice::Privmsg => wrap(&say.text, width).iter().map(|t| compose("PRIVMSG", &[&dest], Some(t))).collect(),
        Voice::Notice => wrap(&say.text, width).iter().map(|t| compose("NOTICE", &[&dest], Some(t))).collect(),
        Voice::Action => wrap(&say.text, width.saturating_sub(9))
            .iter()
            .map(|t| compose("PRIVMSG", &[&dest], Some(&format!("\x01ACTION {t}\x01"))))
            .collect(),
    }
}

/// How a reply to `dest` is said: a NOTICE on a channel with `noticeOnChannel`, else PRIVMSG.
pub fn voice_for(dest: &str, notice_on_channel: bool) -> Voice {
    if notice_on_channel && is_channel(dest) { Voice::Notice } else { Voice::Privmsg }
}

/// The mIRC colour of a result: green, yellow, red, purple, aqua; red for the rest.
pub fn colour_number(result: Option<BuildResult>) -> u8 {
    match result {
        Some(BuildResult::Success) => 3,
        Some(BuildResult::Warnings) => 8,
        Some(BuildResult::Failure) => 4,
        Some(BuildResult::Exception) => 6,
        Some(BuildResult::Retry) => 11,
        _ => 4,
    }
}

/// `text` in the colour of `result`, two digits always (a text starting with a digit stays
/// itself), when `colours` is on.
pub fn coloured(text: &str, result: Option<BuildResult>, colours: bool) -> String {
    if colours { format!("\x03{:02}{text}\x03", colour_number(result)) } else { text.to_owned() }
}

/// The spec's durations: `N seconds` below a minute, `MmSSs` below an hour, else `HhMMmSSs`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s} seconds")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m{:02}s", s / 3600, (s % 3600) / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_width_rule_of_the_spec() {
        assert_eq!(width(9, "#chan"), 384);
        assert_eq!(width(30, "#a-very-long-channel-name-indeed"), 403 - 30 - 64);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("one\n\ntwo\tthree", 40), ["one", "two three"]);
        assert!(wrap("  \n ", 10).is_empty());
        assert_eq!(wrap("ééééé", 5), ["éé", "éé", "é"]);
    }

    #[test]
    fn colours_have_two_digits() {
        assert_eq!(coloured("1 failed", Some(BuildResult::Failure), true), "\x03041 failed\x03");
        assert_eq!(coloured("ok", Some(BuildResult::Success), false), "ok");
    }

    #[test]
    fn durations_as_the_spec_writes_them() {
        assert_eq!(duration(5), "5 seconds");
        assert_eq!(duration(125), "2m05s");
        assert_eq!(duration(3723), "1h02m03s");
    }

    #[test]
    fn notices_only_on_channels() {
        assert_eq!(voice_for("#c", true), Voice::Notice);
        assert_eq!(voice_for("alice", true), Voice::Privmsg);
        assert_eq!(voice_for("#c", false), Voice::Privmsg);
    }

    proptest! {
        #[test]
        fn wrapped_pieces_fit_and_keep_every_word(text in "[a-zé€ \\n\\t\\r\\x00]{0,300}", width in 4usize..60) {
            let pieces = wrap(&text, width);
            for p in &pieces {
                prop_assert!(p.len() <= width && !p.is_empty());
                prop_assert!(!p.contains(['\r', '\n', '\0']));
            }
            let words = |s: &str| s.replace(['\r', '\0'], "").split([' ', '\n', '\t']).collect::<String>();
            prop_assert_eq!(words(&pieces.concat()), words(&text));
        }

        #[test]
        fn wire_lines_fit_the_protocol(text in ".{0,2000}", dest in "[#a-z]{1,50}", nicklen in 1usize..60) {
            for say in [Voice::Privmsg, Voice::Notice, Voice::Action].map(|v| Say::new(&dest, text.clone(), v)) {
                for line in wire_lines(&say, nicklen) {
                    prop_assert!(line.len() <= 510 && !line.contains(['\r', '\n', '\0']));
                }
            }
        }
    }
}
