use super::*;
use proptest::prelude::*;

fn identity() -> Identity {
    Identity {
        nick: "bb".into(),
        server_password: Some("srv".into()),
        sasl: None,
        nickserv_password: Some("ns pw".into()),
        channels: vec![ChannelSpec::new("builds", None), ChannelSpec::new("#secret", Some("k3y"))],
        realname: String::new(),
    }
}

fn sent(out: &[Out]) -> Vec<&str> {
    out.iter().filter_map(|o| if let Out::Send(l) = o { Some(l.as_str()) } else { None }).collect()
}

#[test]
fn registration_collision_and_welcome() {
    let mut s = Session::new(identity());
    assert_eq!(sent(&s.start()), ["PASS :srv", "NICK bb", "USER bb 0 * :buildstatus"]);
    assert_eq!(sent(&s.on_line(":srv 433 * bb :Nickname is already in use")), ["NICK bb_"]);
    assert_eq!(sent(&s.on_line(":srv 433 * bb_ :Nickname is already in use")), ["NICK bb__"]);
    let out = s.on_line(":srv 001 bb__ :Welcome");
    assert_eq!(out[0], Out::Registered("bb__".into()));
    assert_eq!(sent(&out), ["PRIVMSG NickServ :IDENTIFY ns pw", "JOIN #builds", "JOIN #secret k3y"]);
    assert_eq!(s.server(), Some("srv"));
    assert!(sent(&s.on_line(":srv 433 * x :in use")).is_empty(), "no renaming once registered");
    s.on_line(":srv 005 bb__ CHANTYPES=# NICKLEN=30 :are supported");
    assert_eq!(s.nicklen(), 30);
    assert_eq!(sent(&s.on_line("PING :srv")), ["PONG :srv"]);
    assert_eq!(s.on_line(":bb__!u@h JOIN :#builds"), [Out::Joined("#builds".into())]);
    assert_eq!(
        s.on_line(":op!u@h KICK #builds BB__ :out"),
        [Out::Kicked { channel: "#builds".into(), by: "op".into(), reason: "out".into() }]
    );
}

#[test]
fn sasl_plain_is_negotiated_before_registration_ends() {
    let mut s =
        Session::new(Identity { sasl: Some(("acct".into(), "pw".into())), server_password: None, ..identity() });
    assert_eq!(sent(&s.start())[0], "CAP REQ :sasl");
    assert_eq!(sent(&s.on_line(":srv CAP * ACK :sasl")), ["AUTHENTICATE PLAIN"]);
    // base64("acct\0acct\0pw")
    assert_eq!(sent(&s.on_line("AUTHENTICATE +")), ["AUTHENTICATE YWNjdABhY2N0AHB3"]);
    let out = s.on_line(":srv 903 * :SASL authentication successful");
    assert_eq!(out[0], Out::LoggedIn);
    assert_eq!(sent(&out), ["CAP END"]);
    let mut refused = Session::new(Identity { sasl: Some(("a".into(), "b".into())), ..identity() });
    refused.start();
    let out = refused.on_line(":srv CAP * NAK :sasl");
    assert!(matches!(&out[0], Out::Problem(p) if p.contains("SASL")));
    assert_eq!(sent(&out), ["CAP END"]);
}

#[test]
fn long_sasl_payloads_go_in_pieces() {
    let mut s = Session::new(Identity { sasl: Some(("a".into(), "p".repeat(600))), ..identity() });
    s.start();
    s.on_line("CAP * ACK sasl");
    let pieces = s.on_line("AUTHENTICATE +");
    // 604 bytes are 808 in base64: 400, 400 and 8.
    let lens: Vec<usize> = sent(&pieces).iter().map(|l| l.len() - "AUTHENTICATE ".len()).collect();
    assert_eq!(lens, [400, 400, 8]);
}

#[test]
fn chat_and_ctcp() {
    let mut s = Session::new(identity());
    let out = s.on_line(":alice!a@h PRIVMSG #builds :bb: status");
    assert_eq!(
        out,
        [Out::Chat(Chat { from: "alice".into(), target: "#builds".into(), text: "bb: status".into(), action: false })]
    );
    let out = s.on_line(":alice!a@h PRIVMSG bb :\x01ACTION hugs bb\x01");
    assert!(matches!(&out[0], Out::Chat(c) if c.action && c.text == "hugs bb"));
    assert!(
        sent(&s.on_line(":alice!a@h PRIVMSG bb :\x01VERSION\x01"))[0]
            .starts_with("NOTICE alice :\x01VERSION buildstatus")
    );
    assert!(matches!(&s.on_line("ERROR :Closing link")[0], Out::Closing(_)));
    assert!(
        matches!(&s.on_line(":srv 475 bb #secret :Cannot join channel (+k)")[0], Out::Problem(p) if p.contains("#secret"))
    );
}

proptest! {
    /// The bot's line handler: any line (malformed, huge, binary-ish) is handled without a
    /// panic, and whatever it sends is one clean line.
    #[test]
    fn any_server_line_is_handled(lines in proptest::collection::vec(
        prop_oneof![
            ".*",
            "(@[a-z=;]{0,10} )?(:[a-zA-Z!@.]{0,12} )?(PRIVMSG|NOTICE|PING|CAP|AUTHENTICATE|001|005|433|903|904|JOIN|KICK|NICK|ERROR|475)( [^\\r\\n]{0,20}){0,4}( :.{0,40})?",
            "[\\x00-\\x7f]{0,600}",
        ],
        1..20,
    ), sasl in any::<bool>()) {
        let mut s = Session::new(Identity { sasl: sasl.then(|| ("a".to_owned(), "b".to_owned())), ..identity() });
        s.start();
        for raw in &lines {
            for out in s.on_line(raw) {
                if let Out::Send(line) = out {
                    prop_assert!(!line.contains(['\r', '\n', '\0']) && line.len() <= 510, "{line:?}");
                }
            }
        }
    }
}
