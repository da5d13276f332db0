//! Any bytes a PB client may send, fed in two reads: the decoder gives items or an error and
//! never panics; an item read as a message encodes again within the limits.

#![no_main]

use buildstatus::domain::pb::banana::{self, Decoder};
use buildstatus::domain::pb::message::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = usize::from(cut).min(rest.len());
    let mut decoder = Decoder::new(1 << 16);
    let mut first = true;
    for part in [&rest[..cut], &rest[cut..]] {
        decoder.feed(part);
        loop {
            match decoder.next_item() {
                Ok(Some(item)) => {
                    if first {
                        decoder.set_vocabulary(true);
                        first = false;
                    }
                    if let Ok(message) = Message::from_item(&item) {
                        // Read from a 64 KiB frame, it is far inside the encoder's limits.
                        banana::encoded(&message.to_item(), true).expect("a decoded message encodes");
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
