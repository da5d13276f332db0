//! The log HTML renderer on any chunk text, on each channel: the markup is only spans around
//! escaped text (no tag of the log's own survives); the page's header escapes its names.

#![no_main]

use buildstatus::domain::event::Channel;
use buildstatus::domain::web::log_html;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let channel = [Channel::Stdout, Channel::Stderr, Channel::Header][usize::from(which % 3)];
    let html = log_html::chunk(channel, text).into_string();
    // What is left once the renderer's own tags are removed is text: no `<` or `>`.
    let mut outside = String::new();
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        outside.push_str(&rest[..open]);
        let tag = &rest[open..];
        let end = tag.find('>').expect("a tag the renderer opened is closed");
        let name = &tag[..=end];
        assert!(
            name == "</span>" || (name.starts_with("<span class=\"") && name[13..].find('"') == Some(name.len() - 15)),
            "a tag the renderer does not write: {name:?}"
        );
        rest = &tag[end + 1..];
    }
    outside.push_str(rest);
    assert!(!outside.contains('>'), "an unescaped > in {html:?}");
    // The page's header names the builder, step and log from the URL: whatever they are, it
    // has the same tags and attributes as with plain names (no `<`, `>` or `"` of theirs).
    let header = log_html::header("../../", text, 7, text, text);
    let plain = log_html::header("../../", "b", 7, "s", "l");
    for c in ['<', '>', '"'] {
        assert_eq!(header.matches(c).count(), plain.matches(c).count(), "{c} from the names in {header:?}");
    }
});
