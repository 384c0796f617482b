//! The personalization socket's messages (perso::wire): any frame body
//! gives a message or an error for both directions, never a panic; a
//! parsed message written back is the same bytes (ERROR's text after
//! UTF-8 repair) and parses to the same message, and a message read from
//! a personalization frame fits one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perso::frame::MAX_PERSO;
use perso::wire::{Down, Up};

fuzz_target!(|data: &[u8]| {
    if let Ok(up) = Up::parse(data) {
        let bytes = up.to_bytes();
        assert_eq!(bytes, data, "an Up message is its bytes");
        assert_eq!(Up::parse(&bytes).expect("written back parses"), up);
        if data.len() <= MAX_PERSO {
            up.to_frame().expect("fits a frame");
        }
    }
    if let Ok(down) = Down::parse(data) {
        let bytes = down.to_bytes();
        if !matches!(down, Down::Error(_)) {
            assert_eq!(bytes, data, "a Down message is its bytes");
        }
        assert_eq!(Down::parse(&bytes).expect("written back parses"), down);
        if let Down::Response(r) = &down {
            assert!(r.len() >= 2, "a response has its status word");
        }
    }
});
