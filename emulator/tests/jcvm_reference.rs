//! The converter-reference packages run in the emulator from Oracle's CAP
//! files, installed through the real card manager: an APDU script per
//! applet, written from its source, with the answers the source implies.

mod common;

use std::path::PathBuf;

use common::*;
use emulator::Card;
use scp::SecurityLevel;

/// Loads and installs every CAP (in order; libraries have no applet).
fn card_with(caps: &[(PathBuf, Option<&str>)], api: &str) -> Card {
    let mut profile = emulator::CardProfile::default();
    profile.api = api.into();
    let mut card = Card::new(profile, aes_keys(1)).unwrap();
    card.power_on();
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    for (cap, applet) in caps {
        let sw = load_cap(&mut card, &mut sc, cap);
        assert_eq!(sw, 0x9000, "load {cap:?}: {:?}", card.last_note());
        if let Some(applet) = applet {
            let a = hex(applet);
            let pkg = a[..a.len() - 1].to_vec();
            let r = send(&mut card, &mut sc, &install_for_install(&pkg, &a, &a, true));
            assert_eq!(r.sw, 0x9000, "install {applet}: {:?}", card.last_note());
        }
    }
    card
}

/// Sends each command (hex) and checks the whole response (hex, data and SW).
fn script(card: &mut Card, steps: &[(&str, &str)]) {
    for (cmd, want) in steps {
        let got = hex::encode_upper(card.transmit(&hex(cmd)));
        assert_eq!(got, want.replace(' ', ""), "command {cmd}: {:?}", card.last_note());
    }
}

fn oracle(kit: &str, name: &str) -> PathBuf {
    shared(&format!("converter-reference/oracle-{kit}/{name}.cap"))
}

#[test]
fn hello_oracle() {
    for kit in ["3.0.5", "3.2.0"] {
        let api = kit;
        let mut card = card_with(&[(oracle(kit, "hello"), Some("F0000000010101"))], api);
        script(
            &mut card,
            &[
                ("00A4040007F0000000010101", "9000"),
                ("8001000000", "48656C6C6F9000"),
                ("0002000000", "00019000"),
                ("0002000000", "00029000"),
                ("0003000000", "6D00"),
            ],
        );
    }
}
