//! The secured script packet parser (loader::script): any bytes give a
//! packet or an error, never a panic. A parsed packet written back parses
//! to the same packet, its signed bytes can be computed, and checking its
//! signature against a key answers yes or no without panicking. The batch
//! file reader of card records gets the same bytes as text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loader::script::build::CardRecord;
use loader::script::packet::Packet;
use loader::script::ScriptVerifier;

/// A fixed public key (the P-256 generator), so verification runs.
const PUBLIC: &str = r#"{"format":"jct-script-key","version":1,"kind":"public","curve":"P-256","key":"046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"}"#;

fuzz_target!(|data: &[u8]| {
    let _ = CardRecord::parse_batch(&String::from_utf8_lossy(data));
    let Ok(packet) = Packet::parse(data) else {
        return;
    };
    let bytes = packet.to_bytes().expect("a parsed packet serializes");
    let again = Packet::parse(&bytes).expect("a written packet parses");
    assert_eq!(again, packet, "packet round trip");
    packet.body.signed_bytes().expect("signed bytes");
    let verifier = ScriptVerifier::from_file_bytes(PUBLIC.as_bytes()).expect("the fixed key");
    let _ = verifier.verify(&packet);
});
