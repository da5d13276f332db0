//! Mail address parsing (the notifier's `extraRecipients`, `fromaddr`, users' addresses):
//! whatever `is_valid` accepts, its bare address is valid too, and the mail library takes it
//! (else the mail to it would fail to build, taking the other recipients with it).

#![no_main]

use buildstatus::domain::notify::mail::address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let bare = address::bare(text);
    let _ = address::display_name(text);
    if address::is_valid(text) {
        assert!(address::is_valid(bare), "the bare address of a valid one is not valid: {bare:?}");
        assert!(bare.parse::<lettre::Address>().is_ok(), "valid here, refused by lettre: {bare:?}");
    }
});
