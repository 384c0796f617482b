//! Real applets of the shared CAP corpus (built by Oracle's converter from
//! their authors' sources) install in the emulated card and answer their
//! documented commands:
//!
//! - JCAlgTest 1.8.2 for Java Card 3.0.5 (crocs-muni/JCAlgTest): GET
//!   VERSION (B0 E1) answers "1.8.2_jc305", JCSYSTEM INFO (B0 73) the
//!   card's Java Card version and object deletion support;
//! - OpenJavaCard's demo applet (OpenJavaCard/openjavacard-libraries,
//!   with its BER, debug and Fortuna libraries loaded first): the Fortuna
//!   reset and the refusals it documents.
//!
//! The applets fetched from GitHub and built by jct are run by
//! scripts/real-applets.sh (network, not under CI); see README.md.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use common::scripts::{card_with, install_all, run};

fn corpus(name: &str) -> PathBuf {
    support::shared().join("cap-corpus").join(name)
}

#[test]
fn jcalgtest_answers_its_version_and_card_info() {
    let mut card = card_with(&[], "3.0.5");
    // The applet reads one byte past its application parameters (its
    // "proprietary data"): with none it throws ArrayIndexOutOfBounds on a
    // card whose install array holds the parameters only, so it is
    // installed with one parameter byte (not 66: no early allocation).
    install_all(
        &mut card,
        &[(
            &corpus("jcalgtest-AlgTest_v1.8.2_jc305.cap"),
            Some("4A43416C675465737431"),
        )],
        &[0x00],
    );
    run(
        &mut card,
        &[
            ("00A404000A4A43416C675465737431", "9000"),
            // "1.8.2_jc305"
            ("B0E1000000", "312E382E325F6A63333035 9000"),
            ("B0E1000000", "312E382E325F6A63333035 9000"),
            ("B0FF000000", "6D00"),
        ],
    );
    // JCSYSTEM INFO: version 0305, object deletion supported, then memory
    // figures that depend on the card's sizes.
    let r = card.transmit(&common::hex("B073000000"));
    assert_eq!(&r[..3], &[0x03, 0x05, 0x01], "{}", hex::encode_upper(&r));
    assert_eq!(&r[r.len() - 2..], &[0x90, 0x00]);
}

#[test]
fn openjavacard_demo_installs_with_its_libraries_and_answers() {
    let mut card = card_with(&[], "3.0.5");
    for lib in [
        "openjavacard-lib-ber.cap",
        "openjavacard-lib-debug.cap",
        "openjavacard-lib-fortuna.cap",
    ] {
        install_all(&mut card, &[(&corpus(lib), None)], &[]);
    }
    install_all(
        &mut card,
        &[(&corpus("openjavacard-app-demo.cap"), Some("A00000FFFFF001"))],
        &[],
    );
    run(
        &mut card,
        &[
            ("00A4040007A00000FFFFF001", "9000"),
            // INS_FORTUNA_RESET.
            ("8000000000", "9000"),
            // Secure messaging is refused; unknown instructions too.
            ("8400000000", "6882"),
            ("80FF000000", "6D00"),
        ],
    );
}
