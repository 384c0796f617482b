//! The converter-reference packages run in the emulator from the CAP files
//! Oracle's converters made (kits 3.0.5 and 3.2.0), installed through the
//! real card manager, each answering an APDU script written from its
//! source (see common/scripts.rs). The same scripts run on jct build's
//! output in the workspace test tests/jcvm_applets.rs.
//!
//! Not run: crypto (it needs javacard.security and javacardx.crypto,
//! which the emulator does not implement yet; a later issue).

mod common;

use std::path::PathBuf;

use common::scripts::{self, card_with, install_all, run};
use common::*;

fn oracle(kit: &str, name: &str) -> PathBuf {
    shared(&format!("converter-reference/oracle-{kit}/{name}.cap"))
}

#[test]
fn hello() {
    for kit in ["3.0.5", "3.2.0"] {
        let cap = oracle(kit, "hello");
        let mut card = card_with(&[(&cap, Some("F0000000010101"))], kit);
        run(&mut card, scripts::HELLO);
    }
}

#[test]
fn arith() {
    for kit in ["3.0.5", "3.2.0"] {
        let cap = oracle(kit, "arith");
        let mut card = card_with(&[], kit);
        install_all(&mut card, &[(&cap, Some("F0000000010201"))], &[0xAB]);
        run(&mut card, scripts::ARITH);
        // mem (32), words (16), refs (2 references), scratch (4), the
        // static arrays, the applet: all in persistent memory.
        let usage = card.heap_usage();
        assert!(usage.persistent > 32 + 16 + 4 + 4 && usage.persistent < usage.persistent_limit);
        assert!(usage.transient >= 261, "the APDU buffer is transient");
    }
}

#[test]
fn ints() {
    let cap = oracle("3.0.5", "ints");
    let mut card = card_with(&[(&cap, Some("F0000000010501"))], "3.0.5");
    run(&mut card, scripts::INTS);
}

#[test]
fn oop_with_lib() {
    let lib = oracle("3.2.0", "lib");
    let oop = oracle("3.2.0", "oop");
    let mut card = card_with(&[(&lib, None), (&oop, Some("F0000000010301"))], "3.2.0");
    run(&mut card, scripts::OOP);
}

/// Every CAP of the corpus (Oracle converters, API 2.1.2 to 3.0.5) links
/// at LOAD; the applets that need only javacard.framework install and
/// run.
#[test]
fn corpus_links_and_framework_applets_install() {
    use scp::SecurityLevel;
    let dir = shared("cap-corpus");
    let corpus = |name: &str| dir.join(name);
    let mut card = card_with(&[], "3.0.5");
    // Libraries first, in dependency order.
    for lib in [
        "openjavacard-lib-ber.cap",
        "openjavacard-lib-debug.cap",
        "openjavacard-lib-fortuna.cap",
    ] {
        install_all(&mut card, &[(&corpus(lib), None)], &[]);
    }
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    for name in [
        "openjavacard-app-demo.cap",
        "openjavacard-svc-debug.cap",
        "gppro-Empty_2.2.1.cap",
        "jcalgtest-AlgTest_v1.8.2_jc305.cap",
    ] {
        assert_eq!(
            load_cap(&mut card, &mut sc, &corpus(name)),
            0x9000,
            "{name}: {:?}",
            card.last_note()
        );
    }
    // Same package AID in several files: one card each.
    for name in [
        "jcaidscan-test_211.cap",
        "jcaidscan-test_305.cap",
        "jcalgtest-AlgTest_v1.2.1_jc2.1.2.cap",
    ] {
        let mut c = card_with(&[], "3.0.5");
        let mut s = open(&mut c, SecurityLevel::C_MAC);
        assert_eq!(
            load_cap(&mut c, &mut s, &corpus(name)),
            0x9000,
            "{name}: {:?}",
            c.last_note()
        );
    }
    // gppro's Empty applet registers; its process() throws
    // CryptoException(6666) even for SELECT: uncaught and not an
    // ISOException, so the card answers 6F00.
    let empty = hex("0102030405060708");
    let r = send(
        &mut card,
        &mut sc,
        &install_for_install_with(&hex("0102030405"), &empty, &empty, &[]),
    );
    assert_eq!(r.sw, 0x9000, "{:?}", card.last_note());
    assert_eq!(select(&mut card, &empty).sw, 0x6F00);
    let note = card.last_note().unwrap_or_default();
    assert!(note.contains("CryptoException (reason 6666)"), "{note}");
}

/// A SELECT the JCRE does not take goes to the selected applet's
/// process() (hello answers an unknown INS with 6D00); with the ISD
/// selected it is the card manager's 6A86 / 6A82.
#[test]
fn selects_the_jcre_does_not_take_reach_the_applet() {
    let cap = oracle("3.0.5", "hello");
    let mut card = card_with(&[(&cap, Some("F0000000010101"))], "3.0.5");
    run(
        &mut card,
        &[
            ("00A40000023F00", "6A86"),
            ("00A4040005A0A0A0A0A0", "6A82"),
            ("00A4040007F0000000010101", "9000"),
            ("00A40000023F00", "6D00"),
            ("00A4040005A0A0A0A0A0", "6D00"),
            // Still selected: the counter field goes on.
            ("0002000000", "00019000"),
        ],
    );
}
