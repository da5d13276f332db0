//! The IRC bot on any server line: the session reads it (registration, SASL, pings, chat),
//! and any chat addressed to it is read as a command. Nothing panics, and what the bot would
//! send is one line each (no CR, LF or NUL smuggled from the input).

#![no_main]

use buildstatus::domain::notify::irc::command::{self, addressed};
use buildstatus::domain::notify::irc::session::{ChannelSpec, Identity, Out, Session};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut session = Session::new(Identity {
        nick: "bb".into(),
        server_password: Some("srv".into()),
        sasl: Some(("acct".into(), "pw".into())),
        nickserv_password: Some("ns pw".into()),
        channels: vec![ChannelSpec::new("builds", None), ChannelSpec::new("#secret", Some("k3y"))],
        realname: String::new(),
    });
    let _ = session.start();
    // Each line as the connection hands it over, one at a time.
    for line in text.split('\n') {
        for out in session.on_line(line) {
            match out {
                Out::Send(sent) => assert!(!sent.contains(['\r', '\n', '\0']), "sent {sent:?}"),
                Out::Chat(chat) => {
                    if let Some(said) = addressed(&chat, session.nick()) {
                        let _ = command::parse(&said.text);
                        let _ = command::words(&said.text);
                    }
                }
                _ => {}
            }
        }
    }
});
