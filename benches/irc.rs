//! IRC bot performance (issue 15): `irc/finished_100_contacts` decides, for one finished build,
//! which of 100 contacts (channels and private nicks with assorted `notify` events) are told,
//! formats the message and splits every line for the wire (target: ≤ 100 µs). The rate of
//! `status all` on 500 builders is measured against InspIRCd by the test
//! `peers::irc::inspircd::status_all_on_500_builders_comes_at_the_configured_rate_without_a_flood_kill`.
//!
//! `cargo bench --bench irc`

use buildstatus::domain::notify::irc::announce::{BuildFacts, Contact, Contacts, Recent, Style, finished_says};
use buildstatus::domain::notify::irc::events::EventSet;
use buildstatus::domain::notify::irc::text::wire_lines;
use buildstatus::domain::result::BuildResult;
use criterion::{Criterion, criterion_group, criterion_main};

fn contacts() -> Contacts {
    let sets = [
        vec!["finished"],
        vec!["failure", "exception"],
        vec!["successToFailure", "failureToSuccess"],
        vec!["started"],
        vec!["success", "warnings"],
    ];
    (0..100)
        .map(|i| {
            let name = if i % 2 == 0 { format!("#channel-{i}") } else { format!("user{i}") };
            let notify = EventSet::parse(sets[i % sets.len()].iter().copied()).unwrap_or_default();
            (name, Contact { notify, muted: i % 17 == 0 })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let contacts = contacts();
    let text = vec!["failed".to_owned(), "compile".to_owned(), "test".to_owned()];
    let revisions = vec!["a1b2c3d4e5f6a7b8".to_owned(), "0123456789abcdef".to_owned()];
    let blamelist = vec!["Ann Lee <ann@example.org>".to_owned(), "bob".to_owned()];
    let facts = BuildFacts {
        builder: "linux-x86_64",
        number: 1234,
        text: &text,
        revisions: &revisions,
        url: Some("https://ci.example.org/builders/linux-x86_64/builds/1234"),
        blamelist: &blamelist,
    };
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let watchers = vec!["#channel-2".to_owned(), "user3".to_owned()];
    let told = finished_says(
        &contacts,
        &watchers,
        &mut Recent::default(),
        &facts,
        BuildResult::Failure,
        Some(BuildResult::Success),
        Style::default(),
        now,
    );
    println!(
        "{} of 100 contacts told ({} lines)",
        told.len(),
        told.iter().map(|s| wire_lines(s, 9).len()).sum::<usize>()
    );
    c.bench_function("irc/finished_100_contacts", |b| {
        b.iter(|| {
            let mut recent = Recent::default();
            let says = finished_says(
                &contacts,
                &watchers,
                &mut recent,
                &facts,
                BuildResult::Failure,
                Some(BuildResult::Success),
                Style::default(),
                now,
            );
            says.iter().map(|s| wire_lines(s, 9).len()).sum::<usize>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
