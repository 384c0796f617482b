//! The control socket's messages (perso::control), as a station or a key
//! server reads them off the network: any bytes give a message or an
//! error, never a panic. A parsed message written back parses to the same
//! message and fits a control frame when its input did; the card label
//! the key server logs is computed without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perso::control::{JobResult, Message};
use perso::frame::MAX_CONTROL;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<JobResult>(data);
    let Ok(message) = Message::from_bytes(data) else {
        return;
    };
    let bytes = message.to_bytes();
    assert!(!bytes.is_empty(), "a message serializes");
    let again = Message::from_bytes(&bytes).expect("a written message parses");
    assert_eq!(again, message, "decode(encode(x)) == x");
    if data.len() <= MAX_CONTROL / 8 {
        // JSON written back is at most a few times its input (escapes).
        message.to_frame().expect("a message read from a frame fits one");
    }
    if let Message::Request { card, .. } = &message {
        assert!(!card.label().is_empty());
    }
});
