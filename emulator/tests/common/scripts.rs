//! APDU scripts for the converter-reference applets and jct's own applets,
//! written from their Java sources: each step is a command and the whole
//! expected response (data and status word), in hex.

use std::path::Path;

use emulator::{Card, CardProfile};
use scp::SecurityLevel;

use super::{aes_keys, hex, install_for_install_with, load_cap, open, send};

pub type Script = &'static [(&'static str, &'static str)];

/// A powered card of API `api` holding the CAPs (in order), each applet
/// installed under its own AID with the C9 parameters given.
pub fn card_with(caps: &[(&Path, Option<&str>)], api: &str) -> Card {
    let profile = CardProfile {
        api: api.into(),
        ..CardProfile::default()
    };
    let mut card = Card::new(profile, aes_keys(1)).unwrap();
    card.power_on();
    install_all(&mut card, caps, &[]);
    card
}

/// Loads each CAP and installs its applet (if any) with parameters `c9`.
pub fn install_all(card: &mut Card, caps: &[(&Path, Option<&str>)], c9: &[u8]) {
    let mut sc = open(card, SecurityLevel::C_MAC);
    for (cap, applet) in caps {
        let sw = load_cap(card, &mut sc, cap);
        assert_eq!(sw, 0x9000, "load {cap:?}: {:?}", card.last_note());
        if let Some(applet) = applet {
            let a = hex(applet);
            let pkg = a[..a.len() - 1].to_vec();
            let r = send(card, &mut sc, &install_for_install_with(&pkg, &a, &a, c9));
            assert_eq!(r.sw, 0x9000, "install {applet}: {:?}", card.last_note());
        }
    }
}

/// Sends each command and checks the whole response.
pub fn run(card: &mut Card, steps: &[(&str, &str)]) {
    for (cmd, want) in steps {
        let got = hex::encode_upper(card.transmit(&hex(cmd)));
        assert_eq!(
            got,
            want.replace(' ', ""),
            "command {cmd}: {:?}",
            card.last_note()
        );
    }
}

/// converter-reference hello: INS 01 greets, INS 02 counts in a field.
pub const HELLO: Script = &[
    ("00A4040007F0000000010101", "9000"),
    ("8001000000", "48656C6C6F 9000"),
    ("0002000000", "0001 9000"),
    ("0002000000", "0002 9000"),
    ("0003000000", "6D00"),
];

/// converter-reference arith, installed with C9 = AB (its field b).
pub const ARITH: Script = &[
    ("00A4040007F0000000010201", "9000"),
    // fib(P1), wrapping in shorts.
    ("8010000000", "0000AB 9000"),
    ("80100A0000", "0037AB 9000"),
    ("8010180000", "B520AB 9000"),
    ("8010190000", "2511AB 9000"),
    // mix(getShort(data), P2).
    ("8011000502 1234", "821EAB 9000"),
    ("801100FD02 FFFE", "801CAB 9000"),
    ("8011007F02 7FFF", "806DAB 9000"),
    ("8011008002 0100", "BF58AB 9000"),
    // Static arrays initialised from the StaticField component.
    ("8012070000", "0022AB 9000"),
    ("80120F0000", "0022AB 9000"),
    ("8012000000", "0001AB 9000"),
    ("8013010000", "BEEFAB 9000"),
    ("8013020000", "FFFFAB 9000"),
    // A static counter, an instance short and boolean.
    ("8014000000", "0001AB 9000"),
    ("8014000002 AAAA", "0002AB 9000"),
    ("8014000000", "0003AB 9000"),
    // Sum of the data bytes (unsigned).
    ("8015000003 0102FF", "0102AB 9000"),
    // lookupswitch on a byte.
    ("8020000000", "0001AB 9000"),
    ("8040000000", "0002AB 9000"),
    ("807F000000", "0003AB 9000"),
    ("8090000000", "0004AB 9000"),
    ("8055000000", "6D00"),
];

/// converter-reference ints (int arithmetic, int[] fields).
pub const INTS: Script = &[
    ("00A4040007F0000000010501", "9000"),
    ("8000010200", "012490C4 9000"),
    ("8000FF0000", "226D8816 9000"),
    ("8000123400", "3FD1FF9A 9000"),
    ("800080FF00", "3A6EF300 9000"),
];

/// converter-reference oop (with lib): inheritance, super calls, an
/// interface of another package, instanceof/checkcast, exceptions caught
/// and rethrown, finally.
pub const OOP: Script = &[
    ("00A4040007F0000000010301", "9000"),
    // Counter (lib) starts at 5.
    ("8001000000", "0006 9000"),
    ("8001000000", "0007 9000"),
    // area * 16 + kind through the Shape interface.
    ("8002000000", "0091 9000"),
    ("8002010000", "00E2 9000"),
    ("8002020000", "0641 9000"),
    // Index 3 and -128: ArrayIndexOutOfBoundsException caught -> 6B00.
    ("8002030000", "6B00"),
    ("8002800000", "6B00"),
    // A CardRuntimeException subclass caught, its reason rethrown.
    ("8003000000", "6F42"),
    // Util2.clamp of lib through serve().
    ("8004010000", "0100 9000"),
    ("80047FFF00", "03E8 9000"),
    ("8004FF0000", "0000 9000"),
    // instanceof and checkcast.
    ("8005000000", "0004 9000"),
    ("8005010000", "0004 9000"),
    ("8005020000", "000B 9000"),
    ("8005050000", "000B 9000"),
    ("8005FE0000", "6B00"),
    // An ISOException passes the handlers (finally runs).
    ("8009000000", "6D00"),
    ("8001000000", "0008 9000"),
];
