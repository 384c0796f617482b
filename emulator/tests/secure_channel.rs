//! The card side of SCP02 and SCP03 against the loader's host side: every
//! implementation option and security level, wrong keys, wrong MACs,
//! counters and blocking.

mod common;

use common::*;
use emulator::{Card, CardProfile};
use gp::apdu::CommandApdu;
use scp::{self, ScpError, SecurityLevel};

fn levels(scp02: bool, i: u8) -> Vec<SecurityLevel> {
    SecurityLevel::ALL
        .into_iter()
        .filter(|l| !(scp02 && l.r_enc()))
        .filter(|l| !l.r_mac() || i & 0x20 != 0)
        .filter(|l| scp02 || !l.r_enc() || i & 0x40 != 0)
        .collect()
}

#[test]
fn every_protocol_option_and_level() {
    let cases = [
        (true, 0x15),
        (true, 0x55),
        (true, 0x35),
        (false, 0x00),
        (false, 0x10),
        (false, 0x70),
    ];
    for (scp02, i) in cases {
        for level in levels(scp02, i) {
            let what = format!("SCP0{} i={i:02X} level {level}", if scp02 { 2 } else { 3 });
            let mut card = card(scp02, i);
            let mut sc = open(&mut card, level);
            // Commands and responses in both directions, with and without data.
            let r = send(&mut card, &mut sc, &gp(0xCA, 0x00, 0x66, vec![]));
            assert_eq!(r.sw, 0x9000, "{what}");
            assert_eq!(r.data[0], 0x66, "{what}");
            let r = send(&mut card, &mut sc, &gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]));
            assert_eq!(r.sw, 0x9000, "{what}");
            assert!(r.data.windows(ISD.len()).any(|w| w == ISD), "{what}");
            // An error status word passes too and keeps the channel.
            let r = send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]));
            assert_eq!(r.sw, 0x6A88, "{what}");
            let r = send(&mut card, &mut sc, &gp(0xCA, 0x9F, 0x7F, vec![]));
            assert_eq!((r.sw, r.data.len()), (0x9000, 45), "{what}");
        }
    }
}

#[test]
fn initialize_update_reports_the_key_set_and_protocol() {
    let mut c = card(false, 0x70);
    select(&mut c, &ISD);
    let host =
        scp::danger::begin_with_challenge(config(aes_keys(0), SecurityLevel::C_MAC, 0x15), [0; 8]);
    let answer = c.transmit(host.command());
    assert_eq!(sw(&answer), 0x9000);
    // KDD (10), KVN, SCP, i, challenge (8), cryptogram (8), counter (3).
    assert_eq!(answer.len(), 10 + 3 + 8 + 8 + 3 + 2);
    assert_eq!(&answer[10..13], &[0x01, 0x03, 0x70]);
    // An unknown key version: referenced data not found.
    let cmd = CommandApdu::new(0x80, 0x50, 0x42, 0x00, vec![0; 8], Some(256)).unwrap();
    assert_eq!(sw(&c.transmit(&cmd.to_bytes())), 0x6A88);
    // EXTERNAL AUTHENTICATE without INITIALIZE UPDATE.
    let ea = CommandApdu::new(0x84, 0x82, 0x01, 0x00, vec![0; 16], None).unwrap();
    assert_eq!(sw(&c.transmit(&ea.to_bytes())), 0x6985);
}

#[test]
fn wrong_key_fails_on_the_host() {
    let mut c = card(true, 0x15);
    select(&mut c, &ISD);
    let wrong = other_keys(false);
    let err = open_with(&mut c, config(wrong, SecurityLevel::C_MAC, 0x15)).unwrap_err();
    assert_eq!(err, ScpError::CardCryptogram);
    let mut c = card(false, 0x10);
    select(&mut c, &ISD);
    let err = open_with(&mut c, config(other_keys(true), SecurityLevel::C_MAC, 0x15)).unwrap_err();
    assert_eq!(err, ScpError::CardCryptogram);
}

/// Keys the card does not hold.
fn other_keys(aes: bool) -> scp::keys::StaticKeys {
    let key = if aes {
        scp::keys::Key::aes(&[0x11; 16])
    } else {
        scp::keys::Key::des3(&[0x11; 16])
    };
    scp::keys::StaticKeys::single(key.unwrap(), 0)
}

/// A tampered EXTERNAL AUTHENTICATE counts as a failed authentication; the
/// key set is blocked after the profile's limit, and a success in between
/// clears the count.
#[test]
fn failed_authentications_block_the_key_set() {
    let profile = CardProfile {
        max_auth_failures: 3,
        ..CardProfile::default()
    };
    let mut c = Card::new(profile, aes_keys(1)).unwrap();
    c.power_on();
    let fail_once = |c: &mut Card| -> u16 {
        let host = scp::danger::begin_with_challenge(
            config(aes_keys(0), SecurityLevel::C_MAC, 0x15),
            [7; 8],
        );
        let answer = c.transmit(host.command());
        if sw(&answer) != 0x9000 {
            return sw(&answer);
        }
        let auth = host.on_init_update_response(&answer).unwrap();
        let mut ea = auth.command().to_vec();
        ea[5] ^= 0x01; // the host cryptogram
        sw(&c.transmit(&ea))
    };
    let first = fail_once(&mut c);
    assert!(first == 0x6300 || first == 0x6982, "{first:04X}");
    assert_eq!(c.state().key_sets[0].failures, 1);
    open(&mut c, SecurityLevel::C_MAC);
    assert_eq!(c.state().key_sets[0].failures, 0);
    for _ in 0..3 {
        fail_once(&mut c);
    }
    assert_eq!(fail_once(&mut c), 0x6983);
    c.reset();
    assert_eq!(fail_once(&mut c), 0x6983, "blocking survives a reset");
}

#[test]
fn sequence_counter_increases_per_session() {
    for (scp02, i) in [(true, 0x55), (false, 0x70)] {
        let mut c = card(scp02, i);
        let before = c.state().key_sets[0].sequence_counter;
        open(&mut c, SecurityLevel::C_MAC);
        open(&mut c, SecurityLevel::C_MAC);
        assert_eq!(c.state().key_sets[0].sequence_counter, before + 2);
        select(&mut c, &ISD); // ends the session: GET DATA travels in plain
        let r = c.transmit(&[0x80, 0xCA, 0x00, 0xC1, 0x00]);
        assert_eq!(sw(&r), 0x9000);
        assert_eq!(r[0], 0xC1);
    }
}

#[test]
fn a_wrong_mac_closes_the_channel() {
    for (scp02, i) in [(true, 0x15), (false, 0x10)] {
        let mut c = card(scp02, i);
        let mut sc = open(&mut c, SecurityLevel::C_MAC);
        let mut wire = sc
            .wrap_apdu(&gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]))
            .unwrap();
        let last = wire.len() - 2;
        wire[last] ^= 0x80;
        assert_eq!(sw(&c.transmit(&wire)), 0x6982);
        // The session is over: even a correctly wrapped command is refused.
        let wire = sc
            .wrap_apdu(&gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]))
            .unwrap();
        assert_eq!(sw(&c.transmit(&wire)), 0x6982);
        // Plain commands need no session; card content management does.
        assert_eq!(sw(&c.transmit(&[0x80, 0xCA, 0x00, 0x66, 0x00])), 0x9000);
        assert_eq!(sw(&c.transmit(&hex("80F28002024F0000"))), 0x6982);
    }
}

#[test]
fn plain_commands_are_refused_inside_a_mac_session() {
    let mut c = card(false, 0x00);
    let _sc = open(&mut c, SecurityLevel::C_MAC);
    assert_eq!(sw(&c.transmit(&hex("80F28002024F0000"))), 0x6982);
}

/// The commands that change the card, each as the ISD would see it.
fn management_commands() -> Vec<(&'static str, CommandApdu)> {
    vec![
        ("INSTALL [for load]", install_for_load(&HELLO_PKG, vec![])),
        ("LOAD", gp(0xE8, 0x80, 0x00, vec![0xC4, 0x01, 0x00])),
        (
            "PUT KEY",
            gp(0xD8, 0x00, 0x81, {
                let mut d = vec![0x02, 0x88, 0x11];
                d.extend([0; 17]);
                d.extend([0x03, 0, 0, 0]);
                d
            }),
        ),
        ("DELETE", delete(&HELLO_PKG, false)),
        ("SET STATUS", gp(0xF0, 0x80, 0x0F, vec![])),
        ("STORE DATA", gp(0xE2, 0x90, 0x00, vec![0x00])),
    ]
}

fn card_with_min_level(min_level: u8) -> Card {
    let profile = CardProfile {
        min_level,
        ..CardProfile::default()
    };
    let mut c = Card::new(profile, aes_keys(1)).unwrap();
    c.power_on();
    c
}

/// By default card content management needs C-MAC: an authenticated
/// session at level 00 may read (GET STATUS, GET DATA) but every command
/// that changes the card answers 6982 and changes nothing.
#[test]
fn content_management_needs_c_mac_by_default() {
    assert_eq!(CardProfile::default().min_level, 0x01);
    let mut c = card(false, 0x70);
    let before = c.state().clone();
    for (what, cmd) in management_commands() {
        let mut sc = open(&mut c, SecurityLevel::NONE);
        assert_eq!(send(&mut c, &mut sc, &cmd).sw, 0x6982, "{what} at level 00");
        assert!(
            c.last_note().is_some_and(|n| n.contains("security level")),
            "{what}: {:?}",
            c.last_note()
        );
    }
    assert_eq!(c.state().card_life_cycle(), before.card_life_cycle());
    assert_eq!(c.state().key_sets.len(), before.key_sets.len());
    // Reading stays open at the session's level.
    let mut sc = open(&mut c, SecurityLevel::NONE);
    let r = send(&mut c, &mut sc, &gp(0xF2, 0x80, 0x02, vec![0x4F, 0x00]));
    assert_eq!(r.sw, 0x9000);
    assert_eq!(
        send(&mut c, &mut sc, &gp(0xCA, 0x00, 0x66, vec![])).sw,
        0x9000
    );
    // At C-MAC the same commands reach their own checks.
    let mut sc = open(&mut c, SecurityLevel::C_MAC);
    assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6A88);
    // STORE DATA reaches its own check: with no INSTALL [for
    // personalization] in this session it goes to the ISD's certificate
    // store, which refuses a block that is not A6 {83} BF21 {chain}.
    assert_eq!(
        send(&mut c, &mut sc, &gp(0xE2, 0x90, 0x00, vec![0x00])).sw,
        0x6A80
    );
    assert_eq!(load_cap(&mut c, &mut sc, &hello_cap()), 0x9000);
}

/// A profile can demand more: every protection of the minimum must be on
/// (C-MAC+C-ENC is not enough where C-MAC+R-MAC is required), and 00
/// opens content management to unprotected sessions.
#[test]
fn the_minimum_level_comes_from_the_profile() {
    let mut c = card_with_min_level(0x03);
    let mut sc = open(&mut c, SecurityLevel::C_MAC);
    assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6982);
    let mut sc = open(&mut c, SecurityLevel::C_MAC_C_ENC);
    assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6A88);

    let mut c = card_with_min_level(0x11);
    let mut sc = open(&mut c, SecurityLevel::C_MAC_C_ENC);
    assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6982);
    let mut sc = open(&mut c, SecurityLevel::C_MAC_C_ENC_R_MAC);
    assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6A88);

    let mut c = card_with_min_level(0x00);
    let mut sc = open(&mut c, SecurityLevel::NONE);
    assert_eq!(load_cap(&mut c, &mut sc, &hello_cap()), 0x9000);

    // A byte that is no GlobalPlatform level cannot make a card.
    let made = Card::new(
        CardProfile {
            min_level: 0x02,
            ..CardProfile::default()
        },
        aes_keys(1),
    );
    let Err(err) = made else {
        panic!("a card with minimum level 02 was made");
    };
    assert!(err.to_string().contains("02"), "{err}");
}

/// With R-MAC on, the refusal is protected like any response (SCP02 MACs
/// it; SCP03 sends the bare status word, Amendment D) and the host accepts it.
#[test]
fn a_refusal_below_the_minimum_keeps_the_channel_in_step() {
    for (scp02, i, level) in [
        (true, 0x35, SecurityLevel::C_MAC_R_MAC),
        (false, 0x70, SecurityLevel::C_MAC_R_MAC),
    ] {
        let profile = CardProfile {
            min_level: 0x03,
            scp02_i: if scp02 { i } else { 0x15 },
            scp03_i: if scp02 { 0x70 } else { i },
            ..CardProfile::default()
        };
        let keys = if scp02 { des_keys(1) } else { aes_keys(1) };
        let mut c = Card::new(profile, keys).unwrap();
        c.power_on();
        let mut sc = open(&mut c, level);
        assert_eq!(send(&mut c, &mut sc, &delete(&HELLO_PKG, false)).sw, 0x6982);
        assert_eq!(
            send(&mut c, &mut sc, &gp(0xCA, 0x00, 0x66, vec![])).sw,
            0x9000
        );
    }
}
