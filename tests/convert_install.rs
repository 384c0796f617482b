//! What `jct build` makes installs: each converter-reference package,
//! converted by jct from the class files Oracle's kit converted, is loaded
//! into the emulated card (which decodes, verifies and links it against the
//! API of its Java Card version and the packages loaded before) and its
//! applet is installed and selected.

use std::path::{Path, PathBuf};

use cap_tools::api::ApiVersion;
use cap_tools::cap::load_file::LoadFile;
use cap_tools::convert::{self, Options};
use cap_tools::{Aid, Cap};
use emulator::{Card, CardProfile};
use gp::apdu::{CommandApdu, ResponseApdu};
use gp::install::{p1, InstallForInstall, InstallForLoad, LoadBlocks};
use gp::Privileges;
use scp::keys::{Key, StaticKeys};
use scp::{self, HostConfig, SecureChannel, SecurityLevel};

const ISD: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

fn shared() -> PathBuf {
    std::env::var_os("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn reference(rel: &str) -> PathBuf {
    shared().join("converter-reference").join(rel)
}

fn aid(s: &str) -> Aid {
    Aid::from_hex(s).unwrap()
}

/// A powered card of a Java Card version with an open SCP03 channel.
fn card(api: ApiVersion) -> (Card, SecureChannel) {
    let profile = CardProfile {
        api: api.as_str().to_string(),
        ..CardProfile::default()
    };
    let key = || StaticKeys::single(Key::aes(&emulator::TEST_KEY).unwrap(), 1);
    let mut card = Card::new(profile, key()).unwrap();
    card.power_on();
    let select = CommandApdu::new(0x00, 0xA4, 0x04, 0x00, ISD.to_vec(), Some(256)).unwrap();
    assert_eq!(
        ResponseApdu::parse(&card.transmit(&select.to_bytes()))
            .unwrap()
            .sw,
        0x9000
    );
    let mut config = HostConfig::new(StaticKeys::single(
        Key::aes(&emulator::TEST_KEY).unwrap(),
        0,
    ));
    config.security_level = SecurityLevel::C_MAC;
    let host = scp::danger::begin_with_challenge(config, [1, 2, 3, 4, 5, 6, 7, 8]);
    let answer = card.transmit(host.command());
    let auth = host.on_init_update_response(&answer).unwrap();
    let answer = card.transmit(auth.command());
    let sc = auth.on_external_authenticate_response(&answer).unwrap();
    (card, sc)
}

fn send(card: &mut Card, sc: &mut SecureChannel, cmd: &CommandApdu) -> u16 {
    let wire = sc.wrap_apdu(cmd).unwrap();
    sc.unwrap_response(&card.transmit(&wire)).unwrap().sw
}

fn gp(ins: u8, p1: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0x80, ins, p1, 0x00, data, Some(256)).unwrap()
}

/// INSTALL [for load] and LOAD; panics with the card's reason on failure.
fn load(card: &mut Card, sc: &mut SecureChannel, cap: &Cap, what: &str) {
    let pkg = cap.header().unwrap().load_file_aid().as_bytes().to_vec();
    let data = InstallForLoad {
        load_file_aid: pkg,
        security_domain_aid: ISD.to_vec(),
        ..Default::default()
    }
    .to_data()
    .unwrap();
    assert_eq!(
        send(card, sc, &gp(0xE6, p1::FOR_LOAD, data)),
        0x9000,
        "{what}: INSTALL [for load]"
    );
    let c4 = LoadFile::build(cap, false).unwrap().with_c4_tag();
    let blocks = LoadBlocks::split(&c4, 200).unwrap();
    for i in 0..blocks.blocks.len() {
        let (p1, p2) = blocks.p1p2(i);
        let cmd =
            CommandApdu::new(0x80, 0xE8, p1, p2, blocks.blocks[i].clone(), Some(256)).unwrap();
        let sw = send(card, sc, &cmd);
        assert_eq!(sw, 0x9000, "{what}: LOAD block {i}: {:?}", card.last_note());
    }
}

/// INSTALL [for install and make selectable].
fn install(card: &mut Card, sc: &mut SecureChannel, pkg: &str, applet: &str) {
    let data = InstallForInstall {
        load_file_aid: aid(pkg).as_bytes().to_vec(),
        module_aid: aid(applet).as_bytes().to_vec(),
        application_aid: aid(applet).as_bytes().to_vec(),
        privileges: Privileges::default(),
        parameters: InstallForInstall::applet_parameters(&[]).unwrap(),
        token: vec![],
    }
    .to_data()
    .unwrap();
    let sw = send(
        card,
        sc,
        &gp(0xE6, p1::FOR_INSTALL_AND_MAKE_SELECTABLE, data),
    );
    assert_eq!(
        sw,
        0x9000,
        "{applet}: INSTALL [for install]: {:?}",
        card.last_note()
    );
}

/// SELECT by AID (this ends the secure channel with the ISD).
fn select(card: &mut Card, applet: &str) {
    let select = CommandApdu::new(
        0x00,
        0xA4,
        0x04,
        0x00,
        aid(applet).as_bytes().to_vec(),
        Some(256),
    )
    .unwrap();
    assert_eq!(
        ResponseApdu::parse(&card.transmit(&select.to_bytes()))
            .unwrap()
            .sw,
        0x9000,
        "{applet}: SELECT"
    );
}

/// Converts a reference package from the class files in Oracle's CAP.
fn build(
    name: &str,
    pkg_aid: &str,
    applet: Option<(&str, &str)>,
    target: ApiVersion,
    exp: Option<&Path>,
) -> convert::Output {
    let package = format!("com.example.{name}");
    let classes =
        convert::load_classes(&reference(&format!("oracle-3.2.0/{name}.cap")), &package).unwrap();
    let mut o = Options::new(&package, aid(pkg_aid), (1, 0));
    o.target = target;
    if let Some((a, c)) = applet {
        o.applets.push((aid(a), c.to_string()));
    }
    o.export_path.extend(exp.map(Path::to_path_buf));
    convert::convert(&classes, &o).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn converted_applets_install_on_every_api_they_target() {
    let apps = [
        ("hello", "F00000000101", "F0000000010101", "HelloApplet"),
        ("arith", "F00000000102", "F0000000010201", "ArithApplet"),
    ];
    for api in ApiVersion::ALL {
        let (mut card, mut sc) = card(api);
        for (name, pkg, applet, class) in apps {
            let out = build(name, pkg, Some((applet, class)), api, None);
            load(&mut card, &mut sc, &out.cap, name);
            install(&mut card, &mut sc, pkg, applet);
        }
        // crypto's install() builds an AES key, a Cipher, a Signature, a
        // MessageDigest and a RandomData through jct emu's crypto natives;
        // its INS 28 answers SHA-256 (FIPS 180 "abc").
        let out = build(
            "crypto",
            "F00000000104",
            Some(("F0000000010401", "CryptoApplet")),
            api,
            None,
        );
        load(&mut card, &mut sc, &out.cap, "crypto");
        install(&mut card, &mut sc, "F00000000104", "F0000000010401");
        select(&mut card, "F0000000010401");
        let r = card.transmit(&hex::decode("8028000003616263").unwrap());
        assert_eq!(
            hex::encode(r),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad9000",
            "{api:?}: {:?}",
            card.last_note()
        );
        for (_, _, applet, _) in apps {
            select(&mut card, applet);
        }
    }
}

#[test]
fn a_converted_library_and_its_client_install() {
    let dir = tempfile::tempdir().unwrap();
    for api in [ApiVersion::V3_0_5, ApiVersion::V3_2_0] {
        let lib = build("lib", "F0000000014C", None, api, None);
        let exp = dir.path().join("lib.exp");
        std::fs::write(
            &exp,
            lib.export
                .as_ref()
                .expect("a library has an export file")
                .encode()
                .unwrap(),
        )
        .unwrap();
        let oop = build(
            "oop",
            "F00000000103",
            Some(("F0000000010301", "OopApplet")),
            api,
            Some(&exp),
        );
        let (mut card, mut sc) = card(api);
        load(&mut card, &mut sc, &lib.cap, "lib");
        load(&mut card, &mut sc, &oop.cap, "oop");
        install(&mut card, &mut sc, "F00000000103", "F0000000010301");
        select(&mut card, "F0000000010301");
    }
}

/// CAP 2.3 (the default for 3.2.0) and CAP 2.2 load, link and run (a 3.0.5
/// card refuses CAP 2.3, as a card of that version would): the
/// emulated card reads the 2.3 Directory (13 sizes, Static Resources u4)
/// and the Class component's token mapping, and the applets answer as they
/// do from CAP 2.1 — oop through virtual calls across its class hierarchy
/// and into the library.
#[test]
fn cap_2_3_and_2_2_install_and_run() {
    use cap_tools::cap::Format;
    let dir = tempfile::tempdir().unwrap();
    for (api, format) in [
        (ApiVersion::V3_2_0, None),
        (ApiVersion::V3_0_5, Some(Format::V2_2)),
        (ApiVersion::V3_2_0, Some(Format::V2_2)),
        // Forced extended: one Method block each, the library's static
        // methods and classes exported per package with their blocks.
        (ApiVersion::V3_2_0, Some(Format::V2_3_EXTENDED)),
    ] {
        let with = |out: convert::Output, name: &str| {
            assert_eq!(out.cap.format, format.unwrap_or(Format::V2_3), "{name}");
            out
        };
        let build_in = |name: &str, pkg: &str, applet, exp: Option<&Path>| {
            let package = format!("com.example.{name}");
            let classes =
                convert::load_classes(&reference(&format!("oracle-3.2.0/{name}.cap")), &package)
                    .unwrap();
            let mut o = Options::new(&package, aid(pkg), (1, 0));
            o.target = api;
            o.cap_format = format;
            if let Some((a, c)) = applet {
                o.applets.push((aid(a), String::from(c)));
            }
            o.export_path.extend(exp.map(Path::to_path_buf));
            with(
                convert::convert(&classes, &o).unwrap_or_else(|e| panic!("{name}: {e}")),
                name,
            )
        };
        let lib = build_in("lib", "F0000000014C", None::<(&str, &str)>, None);
        let exp = dir.path().join("lib.exp");
        let lib_exp = lib.export.as_ref().unwrap();
        assert_eq!(
            lib_exp.format(),
            if format == Some(Format::V2_2) {
                "2.1"
            } else {
                "2.3"
            }
        );
        std::fs::write(&exp, lib_exp.encode().unwrap()).unwrap();
        let oop = build_in(
            "oop",
            "F00000000103",
            Some(("F0000000010301", "OopApplet")),
            Some(&exp),
        );
        let crypto = build_in(
            "crypto",
            "F00000000104",
            Some(("F0000000010401", "CryptoApplet")),
            None,
        );
        let (mut card, mut sc) = card(api);
        load(&mut card, &mut sc, &lib.cap, "lib");
        load(&mut card, &mut sc, &oop.cap, "oop");
        load(&mut card, &mut sc, &crypto.cap, "crypto");
        install(&mut card, &mut sc, "F00000000103", "F0000000010301");
        install(&mut card, &mut sc, "F00000000104", "F0000000010401");
        select(&mut card, "F0000000010301");
        // INS 01: the library Counter, started at 5, incremented.
        let r = card.transmit(&hex::decode("8001000002").unwrap());
        assert_eq!(
            hex::encode(&r),
            "00069000",
            "{format:?}: {:?}",
            card.last_note()
        );
        // INS 02, P1 1: Rect(2, 7): area 14 * 16 + kind 2, by virtual calls
        // through Square and Base into the Shape interface of lib.
        let r = card.transmit(&hex::decode("8002010002").unwrap());
        assert_eq!(
            hex::encode(&r),
            "00e29000",
            "{format:?}: {:?}",
            card.last_note()
        );
        select(&mut card, "F0000000010401");
        let r = card.transmit(&hex::decode("8028000003616263").unwrap());
        assert_eq!(
            hex::encode(r),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad9000",
            "{format:?}: {:?}",
            card.last_note()
        );
    }
}
