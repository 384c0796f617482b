//! org.globalplatform on the emulated card, driven by a javac-built applet
//! (tests/jcvm/gpapi, converted by `jct build` with no export file of the
//! user's: the converter links against jct's own GP table):
//!
//! - the package is on the card: GET STATUS lists A00000015100 1.6 among
//!   the load files, and the applet's CAP (importing it) installs;
//! - GPSystem: card and application life cycle, setCardContentState by
//!   GlobalPlatform's rules, lockCard/terminateCard only with the Card
//!   Lock/Card Terminate privilege;
//! - CVM: the global PIN, updated only with CVM Management, verified in
//!   ASCII and BCD, tries counted, blocked, unblocked, kept across power
//!   cycles (VALIDATED is not);
//! - SecureChannel: the host (the `scp` crate) authenticates through the
//!   applet's processSecurity with the ISD's keys, SCP03 and SCP02, then
//!   sends secured commands the applet unwraps and gets responses it
//!   wraps; a bad MAC ends the session; decryptData/encryptData agree
//!   with the host's key-data encryption.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use common::{aes_keys, des_keys, hex, open, send};
use emulator::{Card, CardProfile};
use gp::apdu::CommandApdu;
use gp::install::{p1, InstallForInstall};
use gp::Privileges;
use scp::{HostConfig, SecureChannel, SecurityLevel};
use support::java::{build, compile, java_files};

const PKG: &str = "F000000001D3";
/// The applet without privileges.
const PLAIN: &str = "F000000001D301";
/// The same applet with Card Lock, Card Terminate and CVM Management.
const TRUSTED: &str = "F000000001D302";
const GP_AID: [u8; 6] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00];

fn applet_cap(work: &Path) -> PathBuf {
    let sources = java_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jcvm/gpapi"));
    let classes = compile(work, "gptest", &sources, None);
    build(
        work,
        &classes,
        "com.jct.gptest",
        PKG,
        Some(&format!("{PLAIN}=GpTestApplet")),
        &[],
    )
}

/// A powered card (SCP03 or SCP02 keys) with the applet loaded and
/// installed twice: PLAIN without privileges, TRUSTED with 1A (Card
/// Lock, Card Terminate, CVM Management).
fn card_with_applet(cap: &Path, scp02: bool) -> Card {
    let mut profile = CardProfile::default();
    let keys = if scp02 {
        profile.scp02_i = 0x55;
        des_keys(1)
    } else {
        aes_keys(1)
    };
    install_applet(Card::new(profile, keys).unwrap(), cap)
}

/// Powers `card` and installs the two instances of the applet.
fn install_applet(mut card: Card, cap: &Path) -> Card {
    card.power_on();
    let mut isd = open(&mut card, SecurityLevel::C_MAC);
    assert_eq!(
        common::load_cap(&mut card, &mut isd, cap),
        0x9000,
        "{:?}",
        card.last_note()
    );
    for (aid, privileges) in [(PLAIN, [0u8, 0, 0]), (TRUSTED, [0x1A, 0, 0])] {
        let data = InstallForInstall {
            load_file_aid: hex(PKG),
            module_aid: hex(PLAIN),
            application_aid: hex(aid),
            privileges: Privileges(privileges),
            parameters: InstallForInstall::applet_parameters(&[]).unwrap(),
            token: vec![],
        }
        .to_data()
        .unwrap();
        let install = common::gp(0xE6, p1::FOR_INSTALL_AND_MAKE_SELECTABLE, 0, data);
        let r = send(&mut card, &mut isd, &install);
        assert_eq!(r.sw, 0x9000, "install {aid}: {:?}", card.last_note());
    }
    card
}

/// Sends a plain command; returns (data, SW).
fn cmd(card: &mut Card, apdu: &str) -> (Vec<u8>, u16) {
    let r = card.transmit(&hex(apdu));
    let (data, sw) = r.split_at(r.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}

fn ok(card: &mut Card, apdu: &str) -> Vec<u8> {
    let (data, sw) = cmd(card, apdu);
    assert_eq!(sw, 0x9000, "{apdu}: {:?}", card.last_note());
    data
}

fn select(card: &mut Card, aid: &str) {
    assert_eq!(common::select(card, &hex(aid)).sw, 0x9000, "select {aid}");
}

/// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE sent to the selected
/// applet, which hands them to its SecureChannel.
fn authenticate(card: &mut Card, level: SecurityLevel) -> SecureChannel {
    let config = host_config(card, level);
    let host =
        scp::danger::begin_with_challenge(config, [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    let answer = card.transmit(host.command());
    let auth = host
        .on_init_update_response(&answer)
        .unwrap_or_else(|e| panic!("INITIALIZE UPDATE: {e}: {:?}", card.last_note()));
    let answer = card.transmit(auth.command());
    auth.on_external_authenticate_response(&answer)
        .unwrap_or_else(|e| panic!("EXTERNAL AUTHENTICATE: {e}: {:?}", card.last_note()))
}

fn host_config(card: &Card, level: SecurityLevel) -> HostConfig {
    let (keys, i) = match card.state().key_sets[0].keys.kind() {
        scp::keys::KeyType::Des3 => (des_keys(0), card.profile().scp02_i),
        scp::keys::KeyType::Aes => (aes_keys(0), card.profile().scp03_i),
    };
    common::config(keys, level, i)
}

#[test]
fn the_converter_links_and_the_card_offers_org_globalplatform() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = applet_cap(work.path());
    let parsed = Cap::from_path(&cap).unwrap();
    let imports: Vec<(Vec<u8>, (u8, u8))> = match parsed.component(Tag::Import) {
        Some(Component::Import(i)) => i
            .packages
            .iter()
            .map(|p| (p.aid.as_bytes().to_vec(), p.version()))
            .collect(),
        _ => Vec::new(),
    };
    assert!(
        imports.contains(&(GP_AID.to_vec(), (1, 6))),
        "{imports:02X?}"
    );

    let mut card = card_with_applet(&cap, false);
    // GET STATUS of the load files lists the package, version 1.6.
    let mut isd = open(&mut card, SecurityLevel::C_MAC);
    let scope = gp::registry::Scope::from_p1(0x20).unwrap();
    let mut entries = Vec::new();
    let mut p2 = 0x02;
    loop {
        let r = send(
            &mut card,
            &mut isd,
            &common::gp(0xF2, 0x20, p2, vec![0x4F, 0x00]),
        );
        assert!(r.sw == 0x9000 || r.sw == 0x6310, "{:04X}", r.sw);
        entries.extend(gp::registry::parse_e3(scope, &r.data).unwrap());
        if r.sw == 0x9000 {
            break;
        }
        p2 = 0x03;
    }
    let entry = entries
        .iter()
        .find(|e| e.aid == GP_AID)
        .expect("A00000015100 listed");
    assert_eq!(entry.version.as_deref(), Some(&[1u8, 6][..]));

    // The user's own export file still takes precedence: linked against
    // GlobalPlatform's 1.7, the CAP imports 1.7, which this card (1.6)
    // does not have: 6A88, the note naming the package.
    let gp17 = support::shared().join("exp-corpus/globalplatform/org.globalplatform-1.7.exp");
    let other = work.path().join("gp17");
    std::fs::create_dir_all(&other).unwrap();
    let sources = java_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jcvm/gpapi"));
    let classes = compile(&other, "gptest", &sources, None);
    let exportpath = gp17.to_string_lossy().to_string();
    let cap17 = build(
        &other,
        &classes,
        "com.jct.gptest",
        PKG,
        Some(&format!("{PLAIN}=GpTestApplet")),
        &["--exportpath", &exportpath],
    );
    let parsed = Cap::from_path(&cap17).unwrap();
    let Some(Component::Import(imports)) = parsed.component(Tag::Import) else {
        panic!("no Import component");
    };
    assert!(imports
        .packages
        .iter()
        .any(|p| p.aid.as_bytes() == GP_AID && p.version() == (1, 7)));
    let mut fresh = Card::new(CardProfile::default(), aes_keys(1)).unwrap();
    fresh.power_on();
    let mut isd = open(&mut fresh, SecurityLevel::C_MAC);
    assert_eq!(common::load_cap(&mut fresh, &mut isd, &cap17), 0x6A88);
    let note = fresh.last_note().unwrap_or_default().to_string();
    assert!(
        note.contains("org.globalplatform") && note.contains("1.6"),
        "{note}"
    );
}

/// The imports of a CAP: (AID, version).
fn imports_of(cap: &Path) -> Vec<(Vec<u8>, (u8, u8))> {
    match Cap::from_path(cap).unwrap().component(Tag::Import) {
        Some(Component::Import(i)) => i
            .packages
            .iter()
            .map(|p| (p.aid.as_bytes().to_vec(), p.version()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The load files GET STATUS lists (P1 20), every page.
fn load_files(card: &mut Card) -> Vec<gp::registry::Entry> {
    let mut isd = open(card, SecurityLevel::C_MAC);
    let scope = gp::registry::Scope::from_p1(0x20).unwrap();
    let mut entries = Vec::new();
    let mut p2 = 0x02;
    loop {
        let r = send(
            card,
            &mut isd,
            &common::gp(0xF2, 0x20, p2, vec![0x4F, 0x00]),
        );
        assert!(r.sw == 0x9000 || r.sw == 0x6310, "{:04X}", r.sw);
        entries.extend(gp::registry::parse_e3(scope, &r.data).unwrap());
        if r.sw == 0x9000 {
            return entries;
        }
        p2 = 0x03;
    }
}

/// Every version of org.globalplatform is jct's to convert against: an
/// applet converted for Java Card 2.2.2 imports 1.0 (what GP 2.1.1 cards
/// offer) and org.globalplatform.securechannel 1.1, and links and runs on
/// the cards of every API version (1.0, 1.5, 1.6, 1.7: an import's minor
/// version at most the card's); `--gp-api 1.2` makes the GP test applet
/// import 1.2, and it answers on a 1.6 card as the 1.6 build does.
#[test]
fn older_globalplatform_imports_link_on_newer_cards() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = java_files(&root.join("tests/jcvm/gpold"));
    let classes = compile(work.path(), "gpold", &sources, None);
    let old = build(
        work.path(),
        &classes,
        "com.jct.gpold",
        "F000000001D4",
        Some("F000000001D401=GpOldApplet"),
        &["--target", "2.2.2"],
    );
    let imports = imports_of(&old);
    assert!(
        imports.contains(&(GP_AID.to_vec(), (1, 0))),
        "{imports:02X?}"
    );
    assert!(
        imports.contains(&(vec![0xA0, 0, 0, 1, 0x51, 0x03], (1, 1))),
        "{imports:02X?}"
    );
    for (api, gp) in [("2.2.2", 0), ("3.0.4", 5), ("3.0.5", 6), ("3.2.0", 7)] {
        let profile = CardProfile {
            api: api.into(),
            ..CardProfile::default()
        };
        let mut card = Card::new(profile, aes_keys(1)).unwrap();
        card.power_on();
        let files = load_files(&mut card);
        let version = |aid: &[u8]| {
            files
                .iter()
                .find(|e| e.aid == aid)
                .and_then(|e| e.version.clone())
        };
        assert_eq!(version(&GP_AID), Some(vec![1, gp]), "{api}");
        assert_eq!(
            version(&[0xA0, 0, 0, 1, 0x51, 0x03]),
            Some(vec![1, 1]),
            "{api}"
        );
        let mut isd = open(&mut card, SecurityLevel::C_MAC);
        assert_eq!(
            common::load_cap(&mut card, &mut isd, &old),
            0x9000,
            "{api}: {:?}",
            card.last_note()
        );
        let data = InstallForInstall {
            load_file_aid: hex("F000000001D4"),
            module_aid: hex("F000000001D401"),
            application_aid: hex("F000000001D401"),
            privileges: Privileges([0, 0, 0]),
            parameters: InstallForInstall::applet_parameters(&[]).unwrap(),
            token: vec![],
        }
        .to_data()
        .unwrap();
        let install = common::gp(0xE6, p1::FOR_INSTALL_AND_MAKE_SELECTABLE, 0, data);
        let r = send(&mut card, &mut isd, &install);
        assert_eq!(r.sw, 0x9000, "{api}: {:?}", card.last_note());
        select(&mut card, "F000000001D401");
        // OP_READY; no secure channel (level 0), and the ISD's session
        // object is a SecureChannel, not a SecureChannelProtocol.
        assert_eq!(ok(&mut card, "8020000000"), [0x01], "{api}");
        assert_eq!(ok(&mut card, "8022000000"), [0x00, 0x00], "{api}");
    }

    // The GP test applet against 1.2 and against 3.0.5's 1.6: the same
    // answers on a 1.6 card.
    let mut answers = Vec::new();
    for (dir, extra, want) in [("gp12", &["--gp-api", "1.2"][..], 2), ("gp16", &[][..], 6)] {
        let other = work.path().join(dir);
        std::fs::create_dir_all(&other).unwrap();
        let sources = java_files(&root.join("tests/jcvm/gpapi"));
        let classes = compile(&other, "gptest", &sources, None);
        let cap = build(
            &other,
            &classes,
            "com.jct.gptest",
            PKG,
            Some(&format!("{PLAIN}=GpTestApplet")),
            extra,
        );
        assert!(imports_of(&cap).contains(&(GP_AID.to_vec(), (1, want))));
        let mut card = card_with_applet(&cap, false);
        select(&mut card, TRUSTED);
        answers.push(
            ["8020000000", "804A000000", "8034000000", "80221F0000"].map(|c| ok(&mut card, c)),
        );
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0][0], [0x01, 0x07]);
}

/// A member a later org.globalplatform adds (GPSystem.getCardInfo, 1.7):
/// converting against 1.6 refuses it naming the version that has it; the
/// 3.2.0 target's own 1.7 converts it, and a 1.6 card refuses the import.
#[test]
fn a_member_of_a_later_globalplatform_names_the_version_it_needs() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let api = support::java::api_jar(work.path(), Some("3.2.0"));
    let classes = work.path().join("gpnew-classes");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    support::java::javac(
        &api,
        None,
        &classes,
        &java_files(&root.join("tests/jcvm/gpnew")),
    );
    let out = assert_cmd::Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&classes)
        .args([
            "--package",
            "com.jct.gpnew",
            "--package-aid",
            "F000000001D6",
        ])
        .args(["--version", "1.0", "--applet", "F000000001D601=GpNewApplet"])
        .arg("-o")
        .arg(work.path().join("refused.cap"))
        .args(["--target", "3.2.0", "--gp-api", "1.6"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("GPSystem.getCardInfo") && stderr.contains("--gp-api 1.7"),
        "{stderr}"
    );
    let cap = build(
        work.path(),
        &classes,
        "com.jct.gpnew",
        "F000000001D6",
        Some("F000000001D601=GpNewApplet"),
        &["--target", "3.2.0"],
    );
    assert!(imports_of(&cap).contains(&(GP_AID.to_vec(), (1, 7))));
    let mut card = Card::new(CardProfile::default(), aes_keys(1)).unwrap();
    card.power_on();
    let mut isd = open(&mut card, SecurityLevel::C_MAC);
    assert_ne!(common::load_cap(&mut card, &mut isd, &cap), 0x9000);
}

#[test]
fn gpsystem_life_cycles_and_privileges() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = applet_cap(work.path());
    let mut card = card_with_applet(&cap, false);
    select(&mut card, PLAIN);
    // OP_READY, SELECTABLE.
    assert_eq!(ok(&mut card, "8020000000"), [0x01, 0x07]);
    // No lock or terminate without the privileges.
    assert_eq!(ok(&mut card, "8024000000"), [0x00]);
    assert_eq!(ok(&mut card, "8026000000"), [0x00]);
    // Application-specific states: 0F yes, 05 (low bits not 111) no.
    assert_eq!(ok(&mut card, "80220F0000"), [0x01, 0x0F]);
    assert_eq!(ok(&mut card, "8022050000"), [0x00, 0x0F]);
    assert_eq!(ok(&mut card, "80221F0000"), [0x01, 0x1F]);
    // Its registry entry: no privileges, the state just set.
    assert_eq!(ok(&mut card, "804A000000"), [0x1F, 0, 0, 0, 0, 5, 1, 1]);
    // The registry has it: GET STATUS shows the new life cycle.
    let mut isd = open(&mut card, SecurityLevel::C_MAC);
    let r = send(
        &mut card,
        &mut isd,
        &common::gp(0xF2, 0x40, 0x02, vec![0x4F, 0x00]),
    );
    let apps =
        gp::registry::parse_e3(gp::registry::Scope::from_p1(0x40).unwrap(), &r.data).unwrap();
    let plain = apps.iter().find(|e| e.aid == hex(PLAIN)).unwrap();
    assert_eq!(plain.life_cycle, 0x1F);
    // SECURED by the ISD, then locked by the trusted instance.
    let r = send(&mut card, &mut isd, &common::gp(0xF0, 0x80, 0x0F, vec![]));
    assert_eq!(r.sw, 0x9000, "{:?}", card.last_note());
    select(&mut card, TRUSTED);
    assert_eq!(ok(&mut card, "8020000000"), [0x0F, 0x07]);
    assert_eq!(ok(&mut card, "8024000000"), [0x01]);
    assert_eq!(ok(&mut card, "8020000000"), [0x7F, 0x07]);
    assert_eq!(card.state().life_cycle, 0x7F);
    // Locking a locked card: refused.
    assert_eq!(ok(&mut card, "8024000000"), [0x00]);
    // The registry entry: its own, with its privileges; none of others.
    assert_eq!(ok(&mut card, "804A000000"), [0x07, 1, 0x1A, 0, 0, 5, 1, 1]);
    assert_eq!(ok(&mut card, "804C000007F000000001D301"), [1]);
    assert_eq!(ok(&mut card, "804E0F0000"), [1, 0x0F]);
    assert_eq!(ok(&mut card, "804E030000"), [0, 0x0F]);
    // A null CVM for identifiers the card has no CVM for.
    assert_eq!(ok(&mut card, "8048000000"), [0x01]);
    // Terminate: the card state is written.
    assert_eq!(ok(&mut card, "8026000000"), [0x01]);
    assert_eq!(card.state().life_cycle, 0xFF);
}

#[test]
fn cvm_is_a_global_pin() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = applet_cap(work.path());
    let mut card = card_with_applet(&cap, false);
    select(&mut card, PLAIN);
    // result, active, submitted, verified, blocked, tries.
    assert_eq!(ok(&mut card, "8034000000"), [0, 0, 0, 0, 0, 3]);
    // No CVM Management: the value cannot be set.
    assert_eq!(ok(&mut card, "803001000431323334"), [0, 0, 0, 0, 0, 3]);
    select(&mut card, TRUSTED);
    assert_eq!(ok(&mut card, "803001000431323334"), [1, 1, 0, 0, 0, 3]);
    // BCD with a letter fails the editing checks.
    assert_eq!(ok(&mut card, "80300200021A34"), [0, 1, 0, 0, 0, 3]);
    // The PIN is global: the other instance verifies it, in BCD.
    select(&mut card, PLAIN);
    assert_eq!(ok(&mut card, "80320200021234"), [0, 1, 1, 1, 0, 3]);
    // HEX never matches an ASCII value; the counter goes down.
    assert_eq!(ok(&mut card, "803203000431323334"), [0xFF, 1, 1, 0, 0, 2]);
    // resetState back to ACTIVE: not submitted any more.
    assert_eq!(ok(&mut card, "8036000000"), [1, 1, 0, 0, 0, 2]);
    // Powered off and on: the counter stays, VALIDATED does not.
    assert_eq!(ok(&mut card, "803201000431323334"), [0, 1, 1, 1, 0, 3]);
    assert_eq!(ok(&mut card, "803201000439393939"), [0xFF, 1, 1, 0, 0, 2]);
    card.power_off();
    card.power_on();
    select(&mut card, PLAIN);
    assert_eq!(ok(&mut card, "8034000000"), [0, 1, 0, 0, 0, 2]);
    // Two more failures block it; then even the right PIN fails.
    assert_eq!(ok(&mut card, "803201000439393939"), [0xFF, 1, 1, 0, 0, 1]);
    assert_eq!(ok(&mut card, "803201000439393939"), [0xFF, 1, 1, 0, 1, 0]);
    assert_eq!(ok(&mut card, "803201000431323334"), [0xFF, 1, 1, 0, 1, 0]);
    assert_eq!(ok(&mut card, "8036000000"), [0, 1, 1, 0, 1, 0]);
    // Unblocking needs the privilege.
    assert_eq!(ok(&mut card, "8038000000"), [0, 1, 1, 0, 1, 0]);
    select(&mut card, TRUSTED);
    assert_eq!(ok(&mut card, "8038000000"), [1, 1, 0, 0, 0, 3]);
    assert_eq!(ok(&mut card, "803A050000"), [1, 1, 0, 0, 0, 5]);
    assert_eq!(ok(&mut card, "803C000000"), [1, 1, 0, 0, 1, 5]);
    assert_eq!(card.state().cvm.tries, 5);
    assert!(card.state().cvm.blocked);
}

#[test]
fn the_global_pin_survives_a_restart_of_the_emulator() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = applet_cap(work.path());
    let state = work.path().join("card");
    let open_card = || Card::open(&state, CardProfile::default(), aes_keys(1)).unwrap();
    let mut card = install_applet(open_card(), &cap);
    select(&mut card, TRUSTED);
    assert_eq!(ok(&mut card, "803003000412345678"), [1, 1, 0, 0, 0, 3]);
    assert_eq!(ok(&mut card, "803203000400000000"), [0xFF, 1, 1, 0, 0, 2]);
    drop(card);
    let mut card = open_card();
    card.power_on();
    select(&mut card, PLAIN);
    assert_eq!(ok(&mut card, "8034000000"), [0, 1, 0, 0, 0, 2]);
    assert_eq!(ok(&mut card, "803203000412345678"), [0, 1, 1, 1, 0, 3]);
}

/// The echo command through the applet's secure channel at `level`.
fn echo(card: &mut Card, sc: &mut SecureChannel, level: SecurityLevel) {
    let data = vec![0xA5, 0x5A, 0x00, 0xFF, 0x10];
    let c = CommandApdu::new(0x80, 0x10, 0x00, 0x00, data.clone(), Some(256)).unwrap();
    let r = send(card, sc, &c);
    assert_eq!(r.sw, 0x9000, "{:?}", card.last_note());
    let mut want = data;
    want.push(0x80 | level.byte());
    assert_eq!(r.data, want, "{level:?}");
}

#[test]
fn an_applet_runs_a_secure_channel_with_its_security_domain_keys() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let cap = applet_cap(work.path());
    for scp02 in [false, true] {
        let levels = if scp02 {
            // i=55 has no R-MAC.
            vec![SecurityLevel::C_MAC, SecurityLevel::C_MAC_C_ENC]
        } else {
            vec![
                SecurityLevel::C_MAC,
                SecurityLevel::C_MAC_C_ENC,
                SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
            ]
        };
        let mut card = card_with_applet(&cap, scp02);
        for level in levels {
            select(&mut card, PLAIN);
            // No session yet: level 00; a secured command is refused.
            assert_eq!(ok(&mut card, "8040000000"), [0x00]);
            assert_eq!(cmd(&mut card, "8410000008 0102030405060708").1, 0x6982);
            let mut sc = authenticate(&mut card, level);
            for _ in 0..3 {
                echo(&mut card, &mut sc, level);
            }
            // decryptData undoes the host's key-data encryption.
            let secret: Vec<u8> = (0u8..16).collect();
            let sealed = sc.encrypt_key_data(&secret).unwrap();
            let c = CommandApdu::new(0x80, 0x42, 0, 0, sealed.clone(), Some(256)).unwrap();
            let r = send(&mut card, &mut sc, &c);
            assert_eq!(
                (r.sw, r.data),
                (0x9000, secret.clone()),
                "{:?}",
                card.last_note()
            );
            // encryptData is its inverse.
            let c = CommandApdu::new(0x80, 0x44, 0, 0, secret.clone(), Some(256)).unwrap();
            let r = send(&mut card, &mut sc, &c);
            assert_eq!((r.sw, r.data), (0x9000, sealed), "{:?}", card.last_note());
            // Not whole blocks: 6700.
            let c = CommandApdu::new(0x80, 0x42, 0, 0, vec![1, 2, 3], Some(256)).unwrap();
            let wire = sc.wrap_apdu(&c).unwrap();
            assert_eq!(common::sw(&card.transmit(&wire)), 0x6700);
            // A flipped MAC byte: 6982 and the session is gone.
            let mut sc = authenticate(&mut card, level);
            echo(&mut card, &mut sc, level);
            let c = CommandApdu::new(0x80, 0x10, 0, 0, vec![1, 2], Some(256)).unwrap();
            let mut wire = sc.wrap_apdu(&c).unwrap();
            let last = wire.len() - 2;
            wire[last] ^= 0x01;
            assert_eq!(common::sw(&card.transmit(&wire)), 0x6982);
            assert_eq!(ok(&mut card, "8040000000"), [0x00]);
            // resetSecurity ends a session too.
            let mut sc = authenticate(&mut card, level);
            echo(&mut card, &mut sc, level);
            assert_eq!(ok(&mut card, "8046000000"), [0x00]);
        }
        // Failed authentications count against the ISD's key set.
        select(&mut card, PLAIN);
        let before = card.state().key_sets[0].failures;
        let wrong = if scp02 {
            scp::keys::StaticKeys::single(scp::keys::Key::des3(&[0x11; 16]).unwrap(), 0)
        } else {
            scp::keys::StaticKeys::single(scp::keys::Key::aes(&[0x11; 16]).unwrap(), 0)
        };
        let i = if scp02 { 0x55 } else { card.profile().scp03_i };
        let host = scp::danger::begin_with_challenge(
            common::config(wrong, SecurityLevel::C_MAC, i),
            [9; 8],
        );
        let answer = card.transmit(host.command());
        assert!(host.on_init_update_response(&answer).is_err());
        // The host saw a wrong card cryptogram; a forged EXTERNAL
        // AUTHENTICATE is refused and counted.
        assert_eq!(
            cmd(&mut card, "8482010010 00000000000000000000000000000000").1,
            0x6300
        );
        assert_eq!(card.state().key_sets[0].failures, before + 1);
    }
}
