//! Route and query parsing: a request line's path goes through the web server's real route
//! lookup (`fuzzing::route_lookup`: the table `dispatch` uses), its query through `Args` and
//! every typed reading the pages make of it (counts, rows, flags, branches, tags, property
//! filters, build numbers). Input: `METHOD path?query` (the first space splits the method).
//! Nothing panics; a refused method is one the route does not take; a link made from the
//! arguments reads back as them.

#![no_main]

use buildstatus::domain::web::args::Args;
use buildstatus::domain::web::route::{BuildNumber, Lookup, segments};
use buildstatus::fuzzing::route_lookup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (method, target) = text.split_once(' ').unwrap_or(("GET", text));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let _ = segments(path);
    match route_lookup(path, method).expect("the route table reads") {
        Lookup::Found { params, .. } => {
            for name in ["builder", "number", "step", "log", "test", "worker", "uid", "file"] {
                if let Some(value) = params.one(name) {
                    let _ = BuildNumber::parse(value).resolve(Some(7));
                }
            }
            for name in ["path", "ignored", "file", "rest"] {
                let _ = params.rest(name);
            }
        }
        Lookup::WrongMethod(methods) => assert!(!methods.allows(method), "{method} refused though allowed"),
        Lookup::NotFound => {}
    }
    let args = Args::parse(query);
    // A "next page" link keeps every other argument as it was read.
    let next = Args::parse(&args.with("num", Some("2")));
    let kept = args.pairs().filter(|(k, v)| *k != "num" && !v.is_empty()).chain([("num", "2")]);
    assert_eq!(next.pairs().collect::<Vec<_>>(), kept.collect::<Vec<_>>(), "a link lost an argument");
    for name in ["numbuilds", "num_events", "rows", "length", "last_time", "first_time"] {
        let _ = args.count(name, 20);
        let _ = args.rows(name, 20);
        let _ = args.flag(name, true);
        let _ = args.all(name);
    }
    let _ = args.tags();
    let branches = args.branches();
    let _ = branches.describe();
    let _ = branches.is_all();
    let _ = branches.matches(Some("main"));
    let _ = args.property_filters();
});
