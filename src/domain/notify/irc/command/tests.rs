use super::*;
use proptest::prelude::*;

fn chat(target: &str, text: &str) -> Chat {
    Chat { from: "Alice".into(), target: target.into(), text: text.into(), action: false }
}

#[test]
fn the_bot_is_addressed_in_every_form() {
    let a = |t: &str| addressed(&chat("#Proj", t), "bb").map(|a| (a.contact, a.text, a.loose));
    assert_eq!(a("bb: status"), Some(("#proj".into(), "status".into(), false)));
    assert_eq!(a("BB, status all"), Some(("#proj".into(), "status all".into(), false)));
    assert_eq!(a("bb : status"), Some(("#proj".into(), "status".into(), false)));
    assert_eq!(a("bb status"), Some(("#proj".into(), "status".into(), true)));
    assert_eq!(a("bbq: status"), None);
    assert_eq!(a("hello bb: status"), None);
    assert_eq!(a("bb"), None);
    let private = addressed(&chat("bb", "  last all"), "bb").unwrap();
    assert_eq!((private.contact.as_str(), private.text.as_str()), ("alice", "last all"));
    assert_eq!(addressed(&Chat { action: true, ..chat("#p", "bb: status") }, "bb"), None);
}

#[test]
fn words_are_shell_like() {
    assert_eq!(words(r#"a "b c" 'd e' f\ g"#).unwrap(), ["a", "b c", "d e", "f g"]);
    assert_eq!(words("'open").unwrap_err(), "No closing quotation");
    assert!(words("   ").unwrap().is_empty());
}

#[test]
fn commands_are_case_insensitive_and_empty_lines_are_nothing() {
    assert_eq!(parse("STATUS linux"), Parsed::Command(Command::Status(Which::One("linux".into()))));
    assert_eq!(parse("Status"), Parsed::Command(Command::Status(Which::All)));
    assert_eq!(parse(""), Parsed::Nothing);
    assert_eq!(parse("   "), Parsed::Nothing);
    assert_eq!(parse("frobnicate #evil"), Parsed::Unknown("frobnicate".into()));
    assert_eq!(parse("It's You !!"), Parsed::Command(Command::Silly(SILLY[1].1)));
}

#[test]
fn usages_name_the_problem() {
    let usage = |t: &str| match parse(t) {
        Parsed::Usage(u) => u,
        other => panic!("{t}: {other:?}"),
    };
    assert_eq!(usage("list"), "try 'list builders'");
    assert_eq!(usage("list workers"), "try 'list builders'");
    assert_eq!(usage("status a b"), "try 'status <builder>'");
    assert_eq!(usage("last a b"), "try 'last <builder>'");
    assert_eq!(usage("watch"), "try 'watch <builder>'");
    assert_eq!(usage("notify"), "try 'notify on|off|list <EVENT>'");
    assert_eq!(usage("notify maybe"), "try 'notify on|off <EVENT>'");
    assert_eq!(usage("notify on retry"), "try 'notify on|off <EVENT>'");
    assert_eq!(usage("shutdown later"), "try 'shutdown check|start|stop|now'");
    assert_eq!(usage("force"), FORCE_USAGE);
    assert_eq!(usage("force rebuild x"), FORCE_USAGE);
    assert_eq!(usage("force build"), format!("you must provide a Builder, {FORCE_USAGE}"));
    assert_eq!(usage("force build --builder=a b"), "--builder provided in two ways");
    assert_eq!(usage("force build --reason=x a y"), "--reason provided in two ways");
    assert_eq!(usage("force build --help a"), format!("no such option '--help'; {FORCE_USAGE}"));
    assert_eq!(usage("force build --branch='a b' x"), "sorry, bad branch 'a b'");
    assert_eq!(usage("force build --revision=a;b x"), "sorry, bad revision 'a;b'");
    assert_eq!(usage("force build --props=a=1,b x"), "sorry, malformed --props: 'b' is not NAME=VALUE");
    assert_eq!(usage("force build --props=a=$x x"), "sorry, bad property name='a', value='$x'");
    assert_eq!(usage("stop build linux"), "try 'stop build WHICH <REASON>'");
    assert_eq!(usage("stop linux now"), "try 'stop build WHICH <REASON>'");
    assert_eq!(usage("status 'linux"), "No closing quotation");
}

#[test]
fn force_reads_options_in_both_forms() {
    let Parsed::Command(Command::Force(f)) =
        parse("force build --branch=main --revision abc123 --props=a=1,b=x:y,a=2 linux fix the thing")
    else {
        panic!()
    };
    assert_eq!(f.builder, "linux");
    assert_eq!((f.branch.as_deref(), f.revision.as_deref()), (Some("main"), Some("abc123")));
    assert_eq!(f.properties, [("b".to_owned(), "x:y".to_owned()), ("a".to_owned(), "2".to_owned())]);
    assert_eq!(f.reason.as_deref(), Some("fix the thing"));
    let Parsed::Command(Command::Force(f)) = parse("force build --builder=linux") else { panic!() };
    assert_eq!((f.builder.as_str(), f.reason), ("linux", None));
}

#[test]
fn stop_takes_the_whole_reason_and_an_optional_number() {
    assert_eq!(
        parse("stop build linux it is broken"),
        Parsed::Command(Command::Stop { builder: "linux".into(), number: None, reason: "it is broken".into() })
    );
    assert_eq!(
        parse("stop build linux #7 oops"),
        Parsed::Command(Command::Stop { builder: "linux".into(), number: Some(7), reason: "oops".into() })
    );
}

#[test]
fn notify_reads_its_events() {
    let on = |names: &[&str]| {
        Parsed::Command(Command::Notify(NotifyAction::On(EventSet::parse(names.iter().copied()).unwrap())))
    };
    assert_eq!(parse("notify on"), on(&["started", "finished"]));
    assert_eq!(parse("notify on failure successToFailure"), on(&["failure", "successToFailure"]));
    assert_eq!(parse("notify off"), Parsed::Command(Command::Notify(NotifyAction::Off(None))));
    assert_eq!(parse("notify list"), Parsed::Command(Command::Notify(NotifyAction::List)));
}

proptest! {
    #[test]
    fn any_text_parses_without_panic(text in ".*", nick in "[a-zA-Z\\[\\]]{1,9}") {
        let _ = parse(&text);
        let _ = addressed(&chat("#c", &text), &nick);
        let _ = words(&text);
    }
}

#[test]
fn join_and_leave_read_a_channel() {
    assert_eq!(parse("join #x"), Parsed::Command(Command::Join(ChannelSpec::new("#x", None))));
    assert_eq!(parse("JOIN x k3y"), Parsed::Command(Command::Join(ChannelSpec::new("#x", Some("k3y")))));
    assert_eq!(parse("leave x"), Parsed::Command(Command::Leave("#x".into())));
    assert_eq!(parse("join"), Parsed::Usage("try 'join <channel> [<key>]'".into()));
    assert_eq!(parse("leave #a #b"), Parsed::Usage("try 'leave <channel>'".into()));
}
