//! IRC lines as the server sends them and as the bot writes them (RFC 1459 framing with IRCv3
//! message tags). Reading never fails loudly: a line that is not a message is `None`, and the
//! caller logs and skips it, so no server line can stop the bot. Writing removes CR, LF and
//! NUL from every parameter, so no text can end a line early or smuggle in a command.

use std::borrow::Cow;

/// The most bytes of one line on the wire, CR LF included (RFC 1459 §2.3).
pub const MAX_LINE: usize = 512;

/// One message from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// IRCv3 tags (`@a=b;c`), unparsed: the bot reads none.
    pub tags: Option<&'a str>,
    /// Who sent it: `nick!user@host` or a server name.
    pub prefix: Option<&'a str>,
    /// A word (`PRIVMSG`) or a three-digit numeric, as sent.
    pub command: &'a str,
    pub params: Vec<&'a str>,
}

impl<'a> Line<'a> {
    /// Reads one line (its CR LF, if any, is ignored); `None` when it holds no command.
    pub fn parse(raw: &'a str) -> Option<Self> {
        let mut rest = raw.trim_end_matches(['\r', '\n']);
        let word = |rest: &mut &'a str| -> &'a str {
            let trimmed = rest.trim_start_matches(' ');
            let end = trimmed.find(' ').unwrap_or(trimmed.len());
            let (w, r) = trimmed.split_at(end);
            *rest = r;
            w
        };
        let tags = match rest.strip_prefix('@') {
            Some(after) => {
                rest = after;
                Some(word(&mut rest))
            }
            None => None,
        };
        rest = rest.trim_start_matches(' ');
        let prefix = match rest.strip_prefix(':') {
            Some(after) => {
                rest = after;
                Some(word(&mut rest))
            }
            None => None,
        };
        let command = word(&mut rest);
        if command.is_empty() || !command.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                params.push(trailing);
                break;
            }
            params.push(word(&mut rest));
        }
        Some(Self { tags, prefix, command, params })
    }

    /// The `i`th parameter, if sent.
    pub fn param(&self, i: usize) -> Option<&'a str> {
        self.params.get(i).copied()
    }

    /// The sender's nick: the prefix up to `!` (a server's name when a server sent it).
    pub fn nick(&self) -> Option<&'a str> {
        self.prefix.map(|p| p.split(['!', '@']).next().unwrap_or(p))
    }

    /// Whether the command is `name` (IRC commands are case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.command.eq_ignore_ascii_case(name)
    }
}

/// `text` without CR, LF and NUL: what may stand inside one line.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.contains(['\r', '\n', '\0']) {
        Cow::Owned(text.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A line to send, without its CR LF: `verb`, the `middle` parameters (each cleaned, and with
/// spaces and a leading `:` removed so that each stays one parameter), and a `trailing` one
/// (cleaned), if any. The result is cut, on a character boundary, to fit [`MAX_LINE`].
pub fn compose(verb: &str, middle: &[&str], trailing: Option<&str>) -> String {
    let mut line = clean(verb).into_owned();
    for param in middle {
        let param: String = clean(param).chars().filter(|c| *c != ' ').collect();
        let param = param.trim_start_matches(':');
        if !param.is_empty() {
            line.push(' ');
            line.push_str(param);
        }
    }
    if let Some(text) = trailing {
        line.push_str(" :");
        line.push_str(&clean(text));
    }
    truncate(&mut line, MAX_LINE - 2);
    line
}

/// Cuts `text` to at most `max` bytes without cutting a character.
pub fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// IRC's case folding (`rfc1459`: `[]\~` are the upper case of `{}|^`), for comparing nicks
/// and channel names.
pub fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '[' => '{',
            ']' => '}',
            '\\' => '|',
            '~' => '^',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Whether `name` is a channel (its first character is one of `#&!+`).
pub fn is_channel(name: &str) -> bool {
    name.starts_with(['#', '&', '!', '+'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_line_is_read() {
        let line = Line::parse("@time=x :alice!a@host PRIVMSG #chan :bb: status  all\r\n").unwrap();
        assert_eq!(line.tags, Some("time=x"));
        assert_eq!(line.nick(), Some("alice"));
        assert!(line.is("privmsg"));
        assert_eq!(line.params, ["#chan", "bb: status  all"]);
        assert_eq!(Line::parse("PING :irc.local").unwrap().params, ["irc.local"]);
        assert_eq!(
            Line::parse(":srv 005 bb NICKLEN=30 :are supported").unwrap().params,
            ["bb", "NICKLEN=30", "are supported"]
        );
    }

    #[test]
    fn lines_without_a_command_are_none() {
        for raw in ["", ":prefix", "@tags", "@t :p", "   ", ":p !!! x", "\r\n"] {
            assert_eq!(Line::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn composing_removes_what_could_end_or_split_a_line() {
        let line = compose("PRIVMSG", &["#c h\r\nQUIT"], Some("hi\r\nQUIT :bye\0"));
        assert_eq!(line, "PRIVMSG #chQUIT :hiQUIT :bye");
        let long = compose("PRIVMSG", &["#c"], Some(&"é".repeat(400)));
        assert!(long.len() <= 510 && long.is_char_boundary(long.len()));
    }

    #[test]
    fn folding_follows_rfc1459() {
        assert_eq!(fold("Bot[1]\\~"), "bot{1}|^");
    }

    proptest! {
        #[test]
        fn any_text_reads_without_panic_and_composes_to_one_line(raw in ".*", text in ".*") {
            let _ = Line::parse(&raw);
            let line = compose("PRIVMSG", &[&raw], Some(&text));
            prop_assert!(!line.contains(['\r', '\n', '\0']) && line.len() <= MAX_LINE - 2);
        }
    }
}
