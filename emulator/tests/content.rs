//! Card content management end to end: load, install, list, select,
//! delete — and every way a load can go wrong leaving nothing behind.

mod common;

use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use common::*;
use gp::apdu::CommandApdu;
use scp::SecurityLevel;
use sha2::{Digest, Sha256};

#[test]
fn load_install_list_select_delete() {
    for (scp02, i, level) in [
        (true, 0x15, SecurityLevel::C_MAC_C_ENC),
        (true, 0x75, SecurityLevel::C_MAC_R_MAC),
        (false, 0x70, SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC),
        (false, 0x00, SecurityLevel::C_MAC),
    ] {
        let mut card = card(scp02, i);
        let mut sc = open(&mut card, level);
        // INSTALL [for load] with the SHA-256 of the Load File Data Block.
        let (block, c4) = load_file(&hello_cap());
        let r = send(
            &mut card,
            &mut sc,
            &install_for_load(&HELLO_PKG, Sha256::digest(&block).to_vec()),
        );
        assert_eq!((r.sw, r.data.as_slice()), (0x9000, &[0x00][..]));
        let blocks = load_blocks(&c4);
        assert!(blocks.len() > 1);
        for b in &blocks {
            assert_eq!(send(&mut card, &mut sc, b).sw, 0x9000);
        }
        assert!(card.state().package(&HELLO_PKG).is_some());
        assert_eq!(card.state().package(&HELLO_PKG).unwrap().load_file, block);
        let r = send(
            &mut card,
            &mut sc,
            &install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, true),
        );
        assert_eq!(r.sw, 0x9000);
        assert_eq!(
            get_status(&mut card, &mut sc, 0x40),
            vec![HELLO_APPLET.to_vec()]
        );
        let files = get_status(&mut card, &mut sc, 0x20);
        assert!(files.contains(&HELLO_PKG.to_vec()));
        assert!(
            files.contains(&hex("A0000000620101")),
            "API packages in ROM are listed"
        );
        // The applet is selectable; SELECT ends the ISD session.
        let r = select(&mut card, &HELLO_APPLET);
        assert_eq!((r.sw, r.data.len()), (0x9000, 0));
        // The applet runs: INS 01 greets, an unknown INS is 6D00.
        assert_eq!(
            card.transmit(&[0x00, 0x01, 0x02, 0x03]),
            b"Hello\x90\x00".to_vec()
        );
        assert_eq!(sw(&card.transmit(&[0x00, 0x03, 0x00, 0x00])), 0x6D00);
        // Partial AID: the first match is the applet's package prefix.
        assert_eq!(select(&mut card, &HELLO_APPLET[..5]).sw, 0x9000);
        let mut sc = open(&mut card, level);
        assert_eq!(
            send(&mut card, &mut sc, &delete(&HELLO_PKG, false)).sw,
            0x6985,
            "instances exist"
        );
        let r = send(&mut card, &mut sc, &delete(&HELLO_PKG, true));
        assert_eq!(r.sw, 0x9000);
        assert!(!get_status(&mut card, &mut sc, 0x20).contains(&HELLO_PKG.to_vec()));
        assert_eq!(
            send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00])).sw,
            0x6A88
        );
        assert_eq!(select(&mut card, &HELLO_APPLET).sw, 0x6A82);
    }
}

#[test]
fn select_isd_answers_fci_and_partial_next() {
    let mut card = card(false, 0x70);
    let r = select(&mut card, &ISD);
    assert_eq!(r.sw, 0x9000);
    assert_eq!(r.data[0], 0x6F);
    assert_eq!(&r.data[2..4], &[0x84, 0x08]);
    assert!(r.data.windows(3).any(|w| w == [0x9F, 0x65, 0x01]));
    assert!(
        r.data.windows(3).any(|w| w == [0x04, 0x03, 0x70]),
        "SCP03 i=70 in the recognition data"
    );
    // Install two instances of hello, then walk them with "next occurrence".
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    let a = hex("F000000001010101");
    let b = hex("F000000001010102");
    for app in [&a, &b] {
        assert_eq!(
            send(
                &mut card,
                &mut sc,
                &install_for_install(&HELLO_PKG, &HELLO_APPLET, app, true)
            )
            .sw,
            0x9000
        );
    }
    let next = |card: &mut emulator::Card, aid: &[u8]| {
        let cmd = CommandApdu::new(0x00, 0xA4, 0x04, 0x02, aid.to_vec(), Some(256)).unwrap();
        sw(&card.transmit(&cmd.to_bytes()))
    };
    // The first match of the prefix is a; the next one b; then none.
    assert_eq!(select(&mut card, &a[..6]).sw, 0x9000);
    assert_eq!(next(&mut card, &a[..6]), 0x9000);
    assert_eq!(next(&mut card, &a[..6]), 0x6A82);
    // From b, there is no next; from a, b is.
    assert_eq!(select(&mut card, &b).sw, 0x9000);
    assert_eq!(next(&mut card, &a[..6]), 0x6A82);
    assert_eq!(select(&mut card, &a).sw, 0x9000);
    assert_eq!(next(&mut card, &b), 0x9000);
    // No data selects the ISD.
    let r = gp::apdu::ResponseApdu::parse(&card.transmit(&[0x00, 0xA4, 0x04, 0x00])).unwrap();
    assert_eq!((r.sw, r.data[0]), (0x9000, 0x6F));
}

#[test]
fn a_flipped_mac_in_one_load_block_leaves_nothing() {
    let mut card = card(true, 0x15);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let (_, c4) = load_file(&hello_cap());
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    let blocks = load_blocks(&c4);
    assert_eq!(send(&mut card, &mut sc, &blocks[0]).sw, 0x9000);
    let mut wire = sc.wrap_apdu(&blocks[1]).unwrap();
    let n = wire.len();
    wire[n - 2] ^= 0x01; // last byte of the C-MAC, before Le
    assert_eq!(sw(&card.transmit(&wire)), 0x6982);
    // The rest of the blocks find no session, then no load.
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    for b in &blocks[2..] {
        assert_eq!(send(&mut card, &mut sc, b).sw, 0x6985);
    }
    assert!(card.state().packages.is_empty());
    assert!(!get_status(&mut card, &mut sc, 0x20).contains(&HELLO_PKG.to_vec()));
}

#[test]
fn a_reset_in_the_middle_of_a_load_leaves_nothing() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let (_, c4) = load_file(&hello_cap());
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    let blocks = load_blocks(&c4);
    assert_eq!(send(&mut card, &mut sc, &blocks[0]).sw, 0x9000);
    card.reset();
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(send(&mut card, &mut sc, &blocks[1]).sw, 0x6985);
    assert!(card.state().packages.is_empty());
    // Loading again from the start works.
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    assert!(card.state().package(&HELLO_PKG).is_some());
}

#[test]
fn broken_load_sequences_leave_nothing() {
    let (block, c4) = load_file(&hello_cap());
    let blocks = load_blocks(&c4);
    type Breaker = fn(&mut emulator::Card, &mut scp::SecureChannel, &[CommandApdu]) -> u16;
    let cases: Vec<(&str, Breaker, u16)> = vec![
        (
            "block number skipped",
            |c, sc, b| {
                let mut skipped = b[2].clone();
                skipped = gp(0xE8, skipped.p1(), 5, skipped.data().to_vec());
                send(c, sc, &skipped).sw
            },
            0x6985,
        ),
        (
            "a new INSTALL in between",
            |c, sc, _| send(c, sc, &install_for_load(&HELLO_PKG, vec![])).sw,
            0x9000,
        ),
        (
            "early last block",
            |c, sc, b| send(c, sc, &gp(0xE8, 0x80, 1, b[1].data().to_vec())).sw,
            0x6A80,
        ),
        (
            "wrong P1",
            |c, sc, b| send(c, sc, &gp(0xE8, 0x01, 1, b[1].data().to_vec())).sw,
            0x6A86,
        ),
    ];
    for (what, breaker, expected) in cases {
        let mut card = card(false, 0x10);
        let mut sc = open(&mut card, SecurityLevel::C_MAC);
        assert_eq!(
            send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
            0x9000
        );
        assert_eq!(send(&mut card, &mut sc, &blocks[0]).sw, 0x9000);
        assert_eq!(breaker(&mut card, &mut sc, &blocks), expected, "{what}");
        for b in &blocks[1..] {
            send(&mut card, &mut sc, b);
        }
        assert!(card.state().packages.is_empty(), "{what}");
    }
    // A C4 length that disagrees with what was received.
    let mut card = card(false, 0x10);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let mut short = c4.clone();
    short.truncate(c4.len() - 1);
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &gp(0xE8, 0x80, 0, short[..64.min(short.len())].to_vec())
        )
        .sw,
        0x6A80
    );
    // A wrong hash.
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_load(&HELLO_PKG, vec![0xAB; 20])
        )
        .sw,
        0x9000
    );
    for b in &blocks[..blocks.len() - 1] {
        assert_eq!(send(&mut card, &mut sc, b).sw, 0x9000);
    }
    assert_eq!(send(&mut card, &mut sc, blocks.last().unwrap()).sw, 0x6A80);
    // A load file whose package AID is not the announced one.
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_load(&hex("F000000001FF"), vec![])
        )
        .sw,
        0x9000
    );
    for (n, b) in blocks.iter().enumerate() {
        let r = send(&mut card, &mut sc, b).sw;
        assert_eq!(
            r,
            if n + 1 == blocks.len() {
                0x6A80
            } else {
                0x9000
            }
        );
    }
    assert!(card.state().packages.is_empty());
    // And the right SHA-1 is accepted.
    let sha1 = LoadFile { bytes: block }.digest().sha1;
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_load(&HELLO_PKG, hex(&sha1))
        )
        .sw,
        0x9000
    );
    for b in &blocks {
        assert_eq!(send(&mut card, &mut sc, b).sw, 0x9000);
    }
    assert_eq!(card.state().packages.len(), 1);
}

fn corpus(name: &str) -> std::path::PathBuf {
    shared(&format!("cap-corpus/{name}"))
}

#[test]
fn libraries_link_and_cannot_be_deleted_while_imported() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC_C_ENC);
    // The demo imports three libraries: without them it does not link.
    assert_eq!(
        load_cap(&mut card, &mut sc, &corpus("openjavacard-app-demo.cap")),
        0x6A88
    );
    assert!(card.state().packages.is_empty());
    for lib in [
        "openjavacard-lib-ber.cap",
        "openjavacard-lib-debug.cap",
        "openjavacard-lib-fortuna.cap",
    ] {
        assert_eq!(load_cap(&mut card, &mut sc, &corpus(lib)), 0x9000, "{lib}");
    }
    assert_eq!(
        load_cap(&mut card, &mut sc, &corpus("openjavacard-app-demo.cap")),
        0x9000
    );
    let ber = hex("A00000FFFFA0");
    assert_eq!(send(&mut card, &mut sc, &delete(&ber, false)).sw, 0x6985);
    assert_eq!(send(&mut card, &mut sc, &delete(&ber, true)).sw, 0x6985);
    assert!(card.state().package(&ber).is_some());
    // Once the importer is gone, the library goes too.
    assert_eq!(
        send(&mut card, &mut sc, &delete(&hex("A00000FFFFF0"), true)).sw,
        0x9000
    );
    assert_eq!(send(&mut card, &mut sc, &delete(&ber, false)).sw, 0x9000);
    // API packages in ROM and the ISD stay; unknown AIDs are not found.
    assert_eq!(
        send(&mut card, &mut sc, &delete(&hex("A0000000620101"), false)).sw,
        0x6985
    );
    assert_eq!(send(&mut card, &mut sc, &delete(&ISD, false)).sw, 0x6985);
    assert_eq!(
        send(&mut card, &mut sc, &delete(&hex("0102030405"), false)).sw,
        0x6A88
    );
}

#[test]
fn imports_follow_the_api_version() {
    // AlgTest for 3.0.5 needs javacard.framework 1.6: a 2.2.2 card has 1.3.
    let profile = emulator::CardProfile {
        api: "2.2.2".into(),
        ..Default::default()
    };
    let mut card = emulator::Card::new(profile, aes_keys(1)).unwrap();
    card.power_on();
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(
        load_cap(
            &mut card,
            &mut sc,
            &corpus("jcalgtest-AlgTest_v1.8.2_jc305.cap")
        ),
        0x6A88
    );
    assert_eq!(
        load_cap(
            &mut card,
            &mut sc,
            &corpus("jcalgtest-AlgTest_v1.7.3_jc222.cap")
        ),
        0x9000
    );
    // A CAP 2.3 file needs Java Card 3.1 or later.
    let mut card = card_305();
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(
        load_cap(
            &mut card,
            &mut sc,
            &shared("converter-reference/oracle-3.2.0/hello.cap")
        ),
        0x6A80
    );
}

fn card_305() -> emulator::Card {
    card(false, 0x70)
}

#[test]
fn install_errors() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    // The same package twice.
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x6985
    );
    // Unknown load file, unknown applet class, bad AID.
    let inst = |pkg: &[u8], module: &[u8], app: &[u8]| install_for_install(pkg, module, app, true);
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &inst(&hex("F0000000FF"), &HELLO_APPLET, &HELLO_APPLET)
        )
        .sw,
        0x6A88
    );
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &inst(&HELLO_PKG, &hex("F0000000010199"), &HELLO_APPLET)
        )
        .sw,
        0x6A88
    );
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &inst(&HELLO_PKG, &HELLO_APPLET, &[1, 2])
        )
        .sw,
        0x6A80
    );
    // Install then make selectable in two steps.
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, false)
        )
        .sw,
        0x9000
    );
    assert_eq!(
        card.state().instance(&HELLO_APPLET).unwrap().life_cycle,
        0x03
    );
    assert_eq!(
        send(
            &mut card,
            &mut sc,
            &inst(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET)
        )
        .sw,
        0x6985,
        "AID taken"
    );
    let ms = gp::InstallForInstall {
        application_aid: HELLO_APPLET.to_vec(),
        ..Default::default()
    };
    let ms = gp(0xE6, 0x08, 0x00, ms.to_data().unwrap());
    assert_eq!(send(&mut card, &mut sc, &ms).sw, 0x9000);
    assert_eq!(
        card.state().instance(&HELLO_APPLET).unwrap().life_cycle,
        0x07
    );
    assert_eq!(send(&mut card, &mut sc, &ms).sw, 0x6985);
    // Malformed data, unsupported P1, no session.
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE6, 0x02, 0x00, vec![0x05, 1, 2])).sw,
        0x6A80
    );
    // P1 40 (registry update) is not supported; P1 10 (extradition) and
    // P1 20 (personalization) are, and refuse malformed data.
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE6, 0x40, 0x00, vec![0x00])).sw,
        0x6A86
    );
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE6, 0x10, 0x00, vec![0x00])).sw,
        0x6A80
    );
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE6, 0x20, 0x00, vec![0x00])).sw,
        0x6A80
    );
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE8, 0x80, 0x00, vec![0xC4, 0x00])).sw,
        0x6985
    );
    select(&mut card, &ISD);
    assert_eq!(
        sw(&card.transmit(&install_for_load(&hex("F000000002"), vec![]).to_bytes())),
        0x6982
    );
}

#[test]
fn get_status_pages_and_filters() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC_R_MAC);
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    for n in 0..20u8 {
        let mut app = HELLO_APPLET.to_vec();
        app.push(n);
        assert_eq!(
            send(
                &mut card,
                &mut sc,
                &install_for_install(&HELLO_PKG, &HELLO_APPLET, &app, n % 2 == 0)
            )
            .sw,
            0x9000
        );
    }
    let first = send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]));
    assert_eq!(first.sw, 0x6310);
    assert_eq!(get_status(&mut card, &mut sc, 0x40).len(), 20);
    // 'Next' without a paged request before it.
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x03, vec![0x4F, 0x00])).sw,
        0x6985
    );
    // Search by AID prefix; legacy format.
    let mut wanted = HELLO_APPLET.to_vec();
    wanted.push(7);
    let mut criteria = vec![0x4F, wanted.len() as u8];
    criteria.extend_from_slice(&wanted);
    let r = send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x00, criteria));
    assert_eq!(r.sw, 0x9000);
    let entries = gp::registry::parse_legacy(gp::registry::Scope::Applications, &r.data).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].aid.clone(), entries[0].life_cycle),
        (wanted, 0x03)
    );
    // Modules of load files (P1 10).
    let r = send(
        &mut card,
        &mut sc,
        &gp(0xF2, 0x10, 0x02, vec![0x4F, 0x06, 0xF0, 0, 0, 0, 1, 1]),
    );
    let e = gp::registry::parse_e3(gp::registry::Scope::LoadFilesAndModules, &r.data).unwrap();
    assert_eq!(e[0].modules, vec![HELLO_APPLET.to_vec()]);
    assert_eq!(e[0].version, Some(vec![1, 0]));
    // Bad P1, P2, data.
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xF2, 0x41, 0x02, vec![0x4F, 0x00])).sw,
        0x6A86
    );
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x06, vec![0x4F, 0x00])).sw,
        0x6A86
    );
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xF2, 0x40, 0x02, vec![0x4F, 0x05])).sw,
        0x6A80
    );
}

#[test]
fn load_file_parse_errors_answer_6a80() {
    let mut card = card(false, 0x70);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let (mut block, _) = load_file(&hello_cap());
    block[3] ^= 0xFF; // the Header's magic
    let lf = LoadFile { bytes: block };
    assert_eq!(
        send(&mut card, &mut sc, &install_for_load(&HELLO_PKG, vec![])).sw,
        0x9000
    );
    let blocks = load_blocks(&lf.with_c4_tag());
    let mut last = 0;
    for b in &blocks {
        last = send(&mut card, &mut sc, b).sw;
    }
    assert_eq!(last, 0x6A80);
    assert!(card.state().packages.is_empty());
    let _ = Cap::from_path(hello_cap()).unwrap();
}

#[test]
fn memory_limits_answer_6a84() {
    let profile = emulator::CardProfile {
        memory: 300,
        ..Default::default()
    };
    let mut card = emulator::Card::new(profile, aes_keys(1)).unwrap();
    card.power_on();
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    // Announced in the load parameters (EF / C6: non-volatile code space).
    let data = gp::InstallForLoad {
        load_file_aid: HELLO_PKG.to_vec(),
        parameters: vec![0xEF, 0x04, 0xC6, 0x02, 0x10, 0x00],
        ..Default::default()
    }
    .to_data()
    .unwrap();
    assert_eq!(
        send(&mut card, &mut sc, &gp(0xE6, 0x02, 0x00, data)).sw,
        0x6A84
    );
    // Found out while loading: hello's load file is larger than 300 bytes.
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x6A84);
    assert!(card.state().packages.is_empty());
}

/// GET DATA FF21 tells the free memory a LOAD may still take, the
/// installed applications and the free RAM, and follows the card's
/// content: a load takes exactly its load file's bytes from it.
#[test]
fn extended_card_resources_follow_the_content() {
    let mut card = card(false, 0x00);
    let mut sc = open(&mut card, SecurityLevel::C_MAC);
    let resources = |card: &mut emulator::Card, sc: &mut scp::SecureChannel| {
        let r = send(card, sc, &gp(0xCA, 0xFF, 0x21, vec![]));
        assert_eq!(r.sw, 0x9000);
        gp::cardinfo::decode_card_resources(&r.data).unwrap()
    };
    let before = resources(&mut card, &mut sc);
    let total = card.profile().memory as u64;
    assert_eq!(before.free_non_volatile, Some(total));
    assert_eq!(before.installed_applications, Some(0));
    let ram = card.heap_usage();
    assert_eq!(
        before.free_volatile,
        Some((ram.transient_limit - ram.transient) as u64)
    );
    assert_eq!(load_cap(&mut card, &mut sc, &hello_cap()), 0x9000);
    let r = send(
        &mut card,
        &mut sc,
        &install_for_install(&HELLO_PKG, &HELLO_APPLET, &HELLO_APPLET, true),
    );
    assert_eq!(r.sw, 0x9000);
    let after = resources(&mut card, &mut sc);
    let (block, _) = load_file(&hello_cap());
    assert_eq!(after.free_non_volatile, Some(total - block.len() as u64));
    assert_eq!(after.installed_applications, Some(1));
}
