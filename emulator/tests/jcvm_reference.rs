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
