//! The HTML view of a log (spec-web-pages §5.7): a header, every chunk as escaped spans with
//! ANSI colour classes, and a footer. The pieces are separate so the server can stream a
//! growing log: header first, chunks as they come, footer when the log finishes.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::event::Channel;

pub fn header(root: &str, builder: &str, number: u32, step: &str, log: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Log File contents" }
                link rel="stylesheet" href={ (root) "default.css" } type="text/css";
                // Keeps the view at the bottom while the reader is there (a file: no inline script).
                script src={ (root) "log.js" } {}
            }
            body.log {
                p {
                    (builder) " #" (number) " › " (step) " › " (log) " "
                    a href={ (super::text::path::log(root, builder, number, step, log)) "/text" } { "(view as text)" }
                }
                (PreEscaped("<pre>"))
            }
        }
    }
    .into_string()
    .replace("</body></html>", "")
}

/// Closes the page.
pub const FOOTER: &str = "</pre></body></html>";

/// One chunk as spans. The text is split at every `ESC [`: a following SGR sequence
/// (`digits;digits…m`) becomes `ansiN` classes of that piece; other CSI sequences are dropped;
/// an `ESC [` that starts no sequence stays as text.
pub fn chunk(channel: Channel, text: &str) -> Markup {
    let class = channel.css_class();
    let mut pieces = text.split("\x1b[");
    let first = pieces.next().unwrap_or_default();
    html! {
        @if !first.is_empty() { span class=(class) { (first) } }
        @for piece in pieces {
            @let (classes, rest) = ansi(piece);
            @if !rest.is_empty() { span class={ (class) (classes) } { (rest) } }
        }
    }
}

/// Splits an ANSI control sequence off the start of `piece`: returns the extra classes and
/// the text after it.
fn ansi(piece: &str) -> (String, std::borrow::Cow<'_, str>) {
    let params_end = piece.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(piece.len());
    let params = &piece[..params_end];
    let valid_params = params.is_empty() || params.split(';').all(|p| !p.is_empty());
    match piece[params_end..].chars().next() {
        Some(letter) if letter.is_ascii_alphabetic() && valid_params => {
            let rest = &piece[params_end + 1..];
            let classes = if letter == 'm' {
                params.split(';').filter_map(|n| n.parse::<u32>().ok()).map(|n| format!(" ansi{n}")).collect()
            } else {
                String::new()
            };
            (classes, rest.into())
        }
        _ => (String::new(), format!("\x1b[{piece}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_escaped_and_coloured_by_channel_and_sgr() {
        let html = chunk(Channel::Stderr, "a<b>\x1b[1;31mred\x1b[0m\x1b[2Kplain\x1b[ x").into_string();
        assert_eq!(
            html,
            "<span class=\"stderr\">a&lt;b&gt;</span><span class=\"stderr ansi1 ansi31\">red</span>\
             <span class=\"stderr\">plain</span><span class=\"stderr\">\u{1b}[ x</span>"
        );
    }

    #[test]
    fn the_header_leaves_the_pre_open_for_streaming() {
        let h = header("../../../../../../", "lin<ux", 3, "make", "stdio");
        assert!(h.ends_with("<pre>"), "{h}");
        assert!(h.contains("lin&lt;ux"));
        assert!(h.contains("href=\"../../../../../../builders/lin%3Cux/builds/3/steps/make/logs/stdio/text\""), "{h}");
    }
}
