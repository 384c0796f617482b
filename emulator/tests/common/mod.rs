//! Test helpers: the host side of the loader against an emulated card, and
//! GlobalPlatform commands built by hand.
#![allow(dead_code)]

pub mod scripts;

use std::path::{Path, PathBuf};

use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use emulator::{Card, CardProfile};
use gp::apdu::{CommandApdu, ResponseApdu};
use gp::install::{p1, InstallForInstall, InstallForLoad, LoadBlocks};
use gp::Privileges;
use scp::keys::{Key, StaticKeys};
use scp::{self, HostConfig, ScpError, SecureChannel, SecurityLevel};

pub const ISD: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];
pub const HELLO_PKG: [u8; 6] = [0xF0, 0x00, 0x00, 0x00, 0x01, 0x01];
pub const HELLO_APPLET: [u8; 7] = [0xF0, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01];

/// The shared test data: `$JCT_SHARED` or `../shared` beside the workspace.
pub fn shared(rel: &str) -> PathBuf {
    std::env::var_os("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join(rel)
}

pub fn hello_cap() -> PathBuf {
    shared("converter-reference/oracle-3.0.5/hello.cap")
}

pub fn aes_keys(version: u8) -> StaticKeys {
    StaticKeys::single(Key::aes(&emulator::TEST_KEY).unwrap(), version)
}

pub fn des_keys(version: u8) -> StaticKeys {
    StaticKeys::single(Key::des3(&emulator::TEST_KEY).unwrap(), version)
}

/// A powered card: SCP03 with `i`, or SCP02 with `i` when `scp02` is set.
pub fn card(scp02: bool, i: u8) -> Card {
    let mut profile = CardProfile::default();
    let keys = if scp02 {
        profile.scp02_i = i;
        des_keys(1)
    } else {
        profile.scp03_i = i;
        aes_keys(1)
    };
    let mut card = Card::new(profile, keys).unwrap();
    card.power_on();
    card
}

pub fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

pub fn sw(response: &[u8]) -> u16 {
    ResponseApdu::parse(response).unwrap().sw
}

/// SELECT by AID, in plain.
pub fn select(card: &mut Card, aid: &[u8]) -> ResponseApdu {
    let cmd = CommandApdu::new(0x00, 0xA4, 0x04, 0x00, aid.to_vec(), Some(256)).unwrap();
    ResponseApdu::parse(&card.transmit(&cmd.to_bytes())).unwrap()
}

/// Runs INITIALIZE UPDATE and EXTERNAL AUTHENTICATE.
pub fn open_with(card: &mut Card, config: HostConfig) -> Result<SecureChannel, ScpError> {
    let host =
        scp::danger::begin_with_challenge(config, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    let answer = card.transmit(host.command());
    let auth = host.on_init_update_response(&answer)?;
    let answer = card.transmit(auth.command());
    auth.on_external_authenticate_response(&answer)
}

pub fn config(keys: StaticKeys, level: SecurityLevel, scp02_i: u8) -> HostConfig {
    let mut c = HostConfig::new(keys);
    c.security_level = level;
    c.scp02_i = scp02_i;
    c
}

/// Selects the ISD and authenticates with the test keys at `level`.
pub fn open(card: &mut Card, level: SecurityLevel) -> SecureChannel {
    assert_eq!(select(card, &ISD).sw, 0x9000);
    let (keys, i) = match card.state().key_sets[0].keys.kind() {
        scp::keys::KeyType::Des3 => (des_keys(0), card.profile().scp02_i),
        scp::keys::KeyType::Aes => (aes_keys(0), card.profile().scp03_i),
    };
    open_with(card, config(keys, level, i)).expect("authentication")
}

/// Sends a command through the channel; returns the unwrapped response.
pub fn send(card: &mut Card, sc: &mut SecureChannel, cmd: &CommandApdu) -> ResponseApdu {
    let wire = sc.wrap_apdu(cmd).unwrap();
    let answer = card.transmit(&wire);
    sc.unwrap_response(&answer).unwrap_or_else(|e| {
        panic!(
            "unwrapping the answer {} to {cmd:?}: {e}",
            hex::encode_upper(&answer)
        )
    })
}

pub fn gp(ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0x80, ins, p1, p2, data, Some(256)).unwrap()
}

pub fn get_status(card: &mut Card, sc: &mut SecureChannel, p1: u8) -> Vec<Vec<u8>> {
    use gp::registry::{parse_e3, Scope};
    let scope = Scope::from_p1(p1).unwrap();
    let mut all = Vec::new();
    let mut p2 = 0x02;
    loop {
        let r = send(card, sc, &gp(0xF2, p1, p2, vec![0x4F, 0x00]));
        if r.sw == 0x6A88 {
            break;
        }
        assert!(r.sw == 0x9000 || r.sw == 0x6310, "GET STATUS {:04X}", r.sw);
        all.extend(parse_e3(scope, &r.data).unwrap().into_iter().map(|e| e.aid));
        if r.sw == 0x9000 {
            break;
        }
        p2 = 0x03;
    }
    all
}

/// The Load File (C4 and the load file data block) of a CAP.
pub fn load_file(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let cap = Cap::from_path(path).unwrap();
    let lf = LoadFile::build(&cap, false).unwrap();
    (lf.bytes.clone(), lf.with_c4_tag())
}

pub fn install_for_load(aid: &[u8], hash: Vec<u8>) -> CommandApdu {
    let data = InstallForLoad {
        load_file_aid: aid.to_vec(),
        security_domain_aid: ISD.to_vec(),
        hash,
        ..Default::default()
    }
    .to_data()
    .unwrap();
    gp(0xE6, p1::FOR_LOAD, 0x00, data)
}

pub fn install_for_install(pkg: &[u8], module: &[u8], app: &[u8], selectable: bool) -> CommandApdu {
    let data = InstallForInstall {
        load_file_aid: pkg.to_vec(),
        module_aid: module.to_vec(),
        application_aid: app.to_vec(),
        privileges: Privileges::default(),
        parameters: InstallForInstall::applet_parameters(&[]).unwrap(),
        token: vec![],
    }
    .to_data()
    .unwrap();
    let p1 = if selectable {
        p1::FOR_INSTALL_AND_MAKE_SELECTABLE
    } else {
        p1::FOR_INSTALL
    };
    gp(0xE6, p1, 0x00, data)
}

/// INSTALL [for install and make selectable] with application parameters `c9`.
pub fn install_for_install_with(pkg: &[u8], module: &[u8], app: &[u8], c9: &[u8]) -> CommandApdu {
    let data = InstallForInstall {
        load_file_aid: pkg.to_vec(),
        module_aid: module.to_vec(),
        application_aid: app.to_vec(),
        privileges: Privileges::default(),
        parameters: InstallForInstall::applet_parameters(c9).unwrap(),
        token: vec![],
    }
    .to_data()
    .unwrap();
    gp(0xE6, p1::FOR_INSTALL_AND_MAKE_SELECTABLE, 0x00, data)
}

pub fn load_blocks(c4: &[u8]) -> Vec<CommandApdu> {
    // Small blocks make several of a small file; large files need larger
    // ones to stay within 256 blocks (past 51 KB, e.g. an extended CAP
    // file, in extended-length APDUs).
    let size = if c4.len() > 64 * 200 {
        c4.len().div_ceil(256).max(200)
    } else {
        64
    };
    let blocks = LoadBlocks::split(c4, size).unwrap();
    (0..blocks.blocks.len())
        .map(|i| {
            let (p1, p2) = blocks.p1p2(i);
            gp(0xE8, p1, p2, blocks.blocks[i].clone())
        })
        .collect()
}

/// INSTALL [for load] and every LOAD block; returns the last status word.
pub fn load_cap(card: &mut Card, sc: &mut SecureChannel, path: &Path) -> u16 {
    let cap = Cap::from_path(path).unwrap();
    let aid = cap.header().unwrap().load_file_aid().as_bytes().to_vec();
    let (_, c4) = load_file(path);
    let r = send(card, sc, &install_for_load(&aid, vec![]));
    if r.sw != 0x9000 {
        return r.sw;
    }
    let mut last = 0;
    for block in load_blocks(&c4) {
        last = send(card, sc, &block).sw;
        if last != 0x9000 {
            break;
        }
    }
    last
}

pub fn delete(aid: &[u8], related: bool) -> CommandApdu {
    let mut data = vec![0x4F, aid.len() as u8];
    data.extend_from_slice(aid);
    gp(0xE4, 0x00, if related { 0x80 } else { 0x00 }, data)
}
