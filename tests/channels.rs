//! Logical channels, applet selection and the APDU class on the emulated
//! card, with the test applets of tests/jcvm/channels (built by javac and
//! `jct build`, installed through the real card manager): MANAGE CHANNEL,
//! the channel in the CLA, the multiselection rules of JCRE 3.0.5 chapter
//! 4 and CLEAR_ON_DESELECT per package, SELECT by partial AID (first and
//! next occurrence), 61xx/GET RESPONSE and T=0, extended length, the APDU
//! state machine's errors, the secure channel session bound to its
//! channel, and `jct emu stats`.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::scripts::{install_all, run};
use common::{hex, install_for_install_with, send};
use emulator::{Card, CardProfile};
use gp::apdu::CommandApdu;
use scp::SecurityLevel;
use support::java::{build, compile, java_files};

const MULTI: &str = "F000000001D401";
const PLAIN: &str = "F000000001D402";
const ECHO: &str = "F000000001D403";

/// The channels package: Multi (MultiSelectable), Plain (not) and Echo
/// (ExtendedLength).
fn channels_cap(w: &Path) -> PathBuf {
    let classes = compile(
        w,
        "channels",
        &java_files(Path::new("tests/jcvm/channels/src")),
        None,
    );
    build(
        w,
        &classes,
        "com.jct.channels",
        "F000000001D4",
        Some(&format!("{MULTI}=Multi")),
        &[
            "--applet",
            &format!("{PLAIN}=Plain"),
            "--applet",
            &format!("{ECHO}=Echo"),
        ],
    )
}

/// The three applets installed, in registry order Multi, Plain, Echo.
fn install(card: &mut Card, cap: &Path) {
    card.power_on();
    install_all(card, &[(cap, Some(MULTI))], &[]);
    let mut sc = common::open(card, SecurityLevel::C_MAC);
    let pkg = hex("F000000001D4");
    for aid in [PLAIN, ECHO] {
        let a = hex(aid);
        let r = send(card, &mut sc, &install_for_install_with(&pkg, &a, &a, &[]));
        assert_eq!(r.sw, 0x9000, "install {aid}: {:?}", card.last_note());
    }
    card.power_on();
}

fn channels_card(w: &Path) -> Card {
    let cap = channels_cap(w);
    let mut card = Card::new(CardProfile::default(), common::aes_keys(1)).unwrap();
    install(&mut card, &cap);
    card
}

fn sw_of(card: &mut Card, cmd: &str) -> u16 {
    let r = card.transmit(&hex(cmd));
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

#[test]
fn channels_open_close_and_the_multiselection_rules() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    // Multi's report: assigned channel, CLA channel, how it was selected
    // (1 select(), 3 select(true)) and deselected (1 deselect(), 3
    // deselect(true)), its CLEAR_ON_DESELECT byte, Plain active, itself
    // active.
    run(
        &mut card,
        &[
            ("00A4040007F000000001D401", "9000"),
            ("0010000000", "00000100000001 9000"),
            ("00110500", "9000"),
            // A command on a closed channel; a channel the card lacks.
            ("0110000000", "6881"),
            ("4010000000", "6881"),
            // Open channel 1 from channel 0: the ISD (default) there.
            ("0070000001", "01 9000"),
            ("0110000000", "6D00"),
            // Multi on channel 1 too: MultiSelectable.select(true), and the
            // package's CLEAR_ON_DESELECT memory is shared.
            ("01A4040007F000000001D401", "9000"),
            ("0110000000", "01010300050001 9000"),
            // Plain (not MultiSelectable) while its package is active on
            // channel 0: refused, Multi stays selected on channel 1.
            ("01A4040007F000000001D402", "6985"),
            ("0110000000", "01010300050001 9000"),
            // Open channel 2 by number (no data back), then 3 from channel
            // 1: channel 3 gets channel 1's applet.
            ("00700002", "9000"),
            ("02A4040007F000000001D403", "6985"),
            ("0170000001", "03 9000"),
            ("0310000000", "03030300050001 9000"),
            // No channel left; a channel the card lacks; one already open;
            // Le must be 01; P1 neither open nor close; secure messaging.
            ("0070000001", "6A81"),
            ("00700004", "6A86"),
            ("00700001", "6A86"),
            ("0070000002", "6C01"),
            ("00704001", "6A81"),
            ("04700001", "6882"),
            // Close 3: Multi stays active elsewhere, deselect(true).
            ("00708003", "9000"),
            ("0010000000", "00000303050001 9000"),
            ("0310000000", "6881"),
            ("00708001", "9000"),
            ("00708002", "9000"),
            // The basic channel cannot be closed; closing a closed one
            // is a warning.
            ("00708000", "6A81"),
            ("00708001", "6200"),
        ],
    );
    // Multi leaves its last channel: deselect(), the package's
    // CLEAR_ON_DESELECT byte is cleared.
    assert_eq!(sw_of(&mut card, "00A4040008A000000151000000"), 0x9000);
    run(
        &mut card,
        &[
            ("00A4040007F000000001D401", "9000"),
            ("0010000000", "00000101000001 9000"),
            // A SELECT opens channel 1; Plain is refused there (the channel
            // stays open, with nothing selected).
            ("01A4040007F000000001D402", "6985"),
            ("0110000000", "6A82"),
        ],
    );
    // With Multi gone from channel 0, Plain is selected on 1; now Multi is
    // refused on 0, Plain not being MultiSelectable.
    assert_eq!(sw_of(&mut card, "00A4040008A000000151000000"), 0x9000);
    run(
        &mut card,
        &[
            ("01A4040007F000000001D402", "9000"),
            ("0110000000", "010100 9000"),
            ("00A4040007F000000001D401", "6985"),
            ("00A4040007F000000001D402", "6985"),
        ],
    );
}

#[test]
fn select_by_partial_aid_first_and_next_occurrence() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    run(
        &mut card,
        &[
            // First occurrence of F000000001D4: Multi.
            ("00A4040006F000000001D4", "9000"),
            ("0010000000", "00000100000001 9000"),
            // Next: Plain, then Echo (whose INS 10 is unknown), then none.
            ("00A4040206F000000001D4", "9000"),
            ("0010000000", "000000 9000"),
            ("00A4040206F000000001D4", "9000"),
            ("0010000000", "6D00"),
            ("00A4040206F000000001D4", "6A82"),
            // On channel 1 the search starts over from what it selects.
            ("0070000001", "01 9000"),
            ("01A4040206F000000001D4", "6985"),
            ("01A4040004F0000000", "6985"),
        ],
    );
    // The ISD by a prefix of its AID, with its FCI.
    let r = card.transmit(&hex("00A4040004A000000100"));
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "{:?}", card.last_note());
    assert_eq!(r[0], 0x6F);
}

#[test]
fn responses_longer_than_le_chain_with_get_response() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    assert_eq!(sw_of(&mut card, "00A4040007F000000001D401"), 0x9000);
    // 200 bytes asked with Le 40: 64 now, 61 88, the rest by GET RESPONSE.
    let r = card.transmit(&hex("004000C840"));
    assert_eq!(r.len(), 66, "{:02X?} {:?}", r, card.last_note());
    let count: Vec<u8> = (0..200).map(|i| i as u8).collect();
    assert_eq!(r[..64], count[..64]);
    assert_eq!(r[64..], [0x61, 0x88]);
    let r = card.transmit(&hex("00C0000000"));
    assert_eq!(r[..136], count[64..]);
    assert_eq!(r[136..], [0x90, 0x00]);
    // Nothing pending any more: GET RESPONSE goes to the applet.
    assert_eq!(sw_of(&mut card, "00C0000000"), 0x6D00);
    // Another command drops what was pending.
    assert_eq!(&card.transmit(&hex("004000C840"))[64..], [0x61, 0x88]);
    run(&mut card, &[("0010000000", "00000100000001 9000")]);
    assert_eq!(sw_of(&mut card, "00C0000000"), 0x6D00);
}

#[test]
fn the_apdu_class_states_errors_and_cla_bits() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    run(
        &mut card,
        &[
            ("00A4040007F000000001D401", "9000"),
            // States along a case 4 command, then the protocol (T=1).
            ("0021000002AABB00", "000203040501 9000"),
            // Protocol, in and out block sizes (T=1: IFSC/IFSD 254),
            // offset of the data, Lc, chaining, secure messaging,
            // interindustry, NAD.
            ("0030000003010203", "0100FE00FE00050003 000001 00 9000"),
            ("1030000000", "0100FE00FE00050000 010001 00 9000"),
            ("0430000000", "0100FE00FE00050000 000101 00 9000"),
            ("8030000000", "0100FE00FE00050000 000000 00 9000"),
            // Each misuse: 64 and the APDUException reason.
            ("0020010000", "6401"),
            ("0020020000", "6401"),
            ("0020030000", "6403"),
            ("0020040000", "6401"),
            ("0020050000", "6401"),
            ("0020060000", "6402"),
            ("0020070000", "6401"),
            ("0020080000", "6401"),
            ("0020090000", "6401"),
            ("00200A0000", "6401"),
            // Without ExtendedLength, more than 256 bytes is BAD_LENGTH.
            ("00A4040007F000000001D402", "9000"),
            ("0012000000", "6403"),
        ],
    );
}

#[test]
fn extended_length_echo_of_1000_bytes() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    assert_eq!(sw_of(&mut card, "00A4040007F000000001D403"), 0x9000);
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let echo = CommandApdu::new(0x00, 0x50, 0, 0, data.clone(), Some(65536)).unwrap();
    let r = card.transmit(&echo.to_bytes());
    assert_eq!(r.len(), 1002, "{:?}", card.last_note());
    assert_eq!(r[..1000], data[..]);
    assert_eq!(r[1000..], [0x90, 0x00]);
    // The APDU's view: INITIAL, PARTIAL_INCOMING after the first chunk,
    // FULL_INCOMING at the end; data at offset 7, Lc 1000 in 4 chunks of
    // the 261-byte buffer, Ne capped at 32767.
    let states = CommandApdu::new(0x00, 0x51, 0, 0, data.clone(), Some(65536)).unwrap();
    assert_eq!(
        hex::encode_upper(card.transmit(&states.to_bytes())),
        "000102000703E800047FFF9000"
    );
    // An Lc beyond 32767 is refused before the applet runs.
    let huge = CommandApdu::new(0x00, 0x50, 0, 0, vec![0; 32768], None).unwrap();
    assert_eq!(sw_of(&mut card, &hex::encode(huge.to_bytes())), 0x6700);
    // An applet without ExtendedLength never sees an extended APDU.
    assert_eq!(sw_of(&mut card, "00A4040007F000000001D401"), 0x9000);
    assert_eq!(sw_of(&mut card, "0010000000000007"), 0x6700);
    assert_eq!(sw_of(&mut card, "0011050000000155"), 0x6700);
    // A short command to it still works.
    run(&mut card, &[("0010000000", "00000100000001 9000")]);
}

#[test]
fn t0_uses_61xx_get_response_and_6cxx() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    // The reader chooses T=0 (the ATR offers both).
    assert!(card.select_protocol(0));
    run(
        &mut card,
        &[
            ("00A4040007F000000001D401", "9000"),
            // Case 2 with Le 00 for 7 bytes: 6C07, and the same command
            // with Le 07 gets them (the applet runs once).
            ("0010000000", "6C07"),
            ("0010000007", "00000100000001 9000"),
            // Case 4: 61xx, then GET RESPONSE; too long an Le gets 6Cxx.
            ("0040000A01AA00", "610A"),
            ("00C0000010", "6C0A"),
            ("00C000000A", "00010203040506070809 9000"),
            // In T=0 the block sizes are 1 and 258; getProtocol is 0.
            ("003000000D", "0000010102000500000000 0100 9000"),
            // No extended length on T=0.
            ("00100000000007", "6700"),
            // On channel 1: GET RESPONSE on another channel drops the
            // pending data (and reaches Multi there: 6D00).
            ("0070000001", "01 9000"),
            ("01A4040007F000000001D401", "9000"),
            ("0140000501AA00", "6105"),
            ("00C0000005", "6D00"),
            ("01C0000005", "6D00"),
            ("0140000501AA00", "6105"),
            ("01C0000005", "0001020304 9000"),
        ],
    );
    // A reset returns to the profile's protocol (T=1).
    card.reset();
    run(
        &mut card,
        &[
            ("00A4040007F000000001D401", "9000"),
            ("0010000000", "00000100000001 9000"),
        ],
    );
}

/// An instance with the CardReset privilege is the basic channel's default
/// applet: selected at power on (select(), no process()), while channels
/// opened from channel 0 get the ISD.
#[test]
fn the_card_reset_privilege_makes_the_default_applet() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    let mut sc = common::open(&mut card, SecurityLevel::C_MAC);
    let data = gp::install::InstallForInstall {
        load_file_aid: hex("F000000001D4"),
        module_aid: hex(PLAIN),
        application_aid: hex("F000000001D40201"),
        privileges: gp::Privileges::default().with_default_selected(),
        parameters: gp::install::InstallForInstall::applet_parameters(&[]).unwrap(),
        token: vec![],
    }
    .to_data()
    .unwrap();
    let install = CommandApdu::new(0x80, 0xE6, 0x0C, 0x00, data, None).unwrap();
    assert_eq!(send(&mut card, &mut sc, &install).sw, 0x9000);
    card.power_on();
    run(
        &mut card,
        &[
            ("0010000000", "000000 9000"),
            ("0070000001", "01 9000"),
            ("0110000000", "6D00"),
        ],
    );
    assert_eq!(sw_of(&mut card, "00A4040008A000000151000000"), 0x9000);
}

/// The loader against a T=0 card over TCP: it follows 61xx and 6Cxx, and a
/// paged GET STATUS goes on across the GET RESPONSEs.
#[test]
fn the_loader_works_with_a_t0_card() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = channels_cap(work.path());
    let emu = support::Emu::start_profile(
        false,
        CardProfile {
            protocol: 0,
            ..CardProfile::default()
        },
    );
    let listed = emu.list();
    assert!(listed.contains("A0000000620205"), "{listed}");
    emu.jct(&["install"])
        .arg(&cap)
        .args(["--applet", MULTI])
        .assert()
        .success();
    let listed = emu.list();
    assert!(listed.contains(MULTI), "{listed}");
}

#[test]
fn the_secure_channel_session_belongs_to_its_channel() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    let mut sc = common::open(&mut card, SecurityLevel::C_MAC);
    let get_status = CommandApdu::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00], Some(256)).unwrap();
    assert_eq!(send(&mut card, &mut sc, &get_status).sw, 0x9000);
    run(
        &mut card,
        &[
            ("0070000001", "01 9000"),
            // Channel 1 has the ISD but no session: secured commands fail.
            ("85F240020A4F000102030405060708", "6982"),
        ],
    );
    // A new INITIALIZE UPDATE on channel 1 does not end channel 0's session.
    let r = card.transmit(&hex("81500000081122334455667788 00"));
    assert_eq!(&r[r.len() - 2..], [0x90, 0x00], "{:?}", card.last_note());
    assert_eq!(send(&mut card, &mut sc, &get_status).sw, 0x9000);
    // Selecting on channel 1 neither.
    assert_eq!(sw_of(&mut card, "01A4040007F000000001D401"), 0x9000);
    assert_eq!(send(&mut card, &mut sc, &get_status).sw, 0x9000);
    // Multi is active on channel 1: nothing of its package can be deleted.
    let mut delete = vec![0x4F, 0x07];
    delete.extend_from_slice(&hex(PLAIN));
    let delete = CommandApdu::new(0x80, 0xE4, 0, 0, delete, None).unwrap();
    assert_eq!(send(&mut card, &mut sc, &delete).sw, 0x6985);
    assert_eq!(send(&mut card, &mut sc, &get_status).sw, 0x9000);
    // Selecting on channel 0 ends it.
    assert_eq!(sw_of(&mut card, "00A4040007F000000001D401"), 0x9000);
    assert_eq!(sw_of(&mut card, "00A4040008A000000151000000"), 0x9000);
    let wire = sc.wrap_apdu(&get_status).unwrap();
    let r = card.transmit(&wire);
    assert_eq!(&r[r.len() - 2..], [0x69, 0x82]);
}

#[test]
fn stats_show_each_package_memory() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = channels_cap(work.path());
    let state = work.path().join("state");
    {
        let mut card = Card::open(&state, CardProfile::default(), common::aes_keys(1)).unwrap();
        install(&mut card, &cap);
    }
    let out = Command::cargo_bin("jct")
        .unwrap()
        .args(["emu", "stats", "--json", "--state"])
        .arg(&state)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let pkg = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["aid"] == "F000000001D4")
        .expect("the channels package");
    assert_eq!(pkg["applets"].as_array().unwrap().len(), 3);
    // Echo's 1100-byte CLEAR_ON_DESELECT array and the two 1-byte ones.
    assert_eq!(pkg["clear_on_deselect"], 3 * 8 + 1100 + 2);
    assert!(pkg["persistent"].as_u64().unwrap() > 0);
    assert!(v["persistent"]["used"].as_u64().unwrap() >= pkg["persistent"].as_u64().unwrap());
    let text = Command::cargo_bin("jct")
        .unwrap()
        .args(["emu", "stats", "--state"])
        .arg(&state)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("F000000001D4"), "{text}");
    assert!(text.contains("F000000001D403"), "{text}");
    // A directory that holds no card is an error, not an empty report.
    Command::cargo_bin("jct")
        .unwrap()
        .args(["emu", "stats", "--state"])
        .arg(work.path().join("none"))
        .assert()
        .failure();
}

/// A SELECT of the applet already selected on the channel re-selects it:
/// deselected first like any other (JCRE 3.0.5 4.6, 5.1: its
/// CLEAR_ON_DESELECT byte is cleared), then Applet.reSelectingApplet() is
/// true in its SELECT; a SELECT after another applet is a plain selection.
#[test]
fn a_second_select_of_the_same_applet_re_selects_it() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut card = channels_card(work.path());
    run(
        &mut card,
        &[
            ("00A4040007F000000001D402", "9000"),
            ("0011070000", "9000"),
            ("0010000000", "000007 9000"),
            // Again: cleared by the deselection, then bit 0x40 from
            // reSelectingApplet().
            ("00A4040007F000000001D402", "9000"),
            ("0010000000", "000040 9000"),
            // Another applet in between: deselected, cleared, not a re-select.
            ("00A4040007F000000001D403", "9000"),
            ("00A4040007F000000001D402", "9000"),
            ("0010000000", "000000 9000"),
        ],
    );
}
