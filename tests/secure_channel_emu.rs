//! The secure-channel applet (applets/secure-channel) and the wallet in
//! jct emu: built from source with javac and `jct build` against the 3.0.4
//! API, loaded and installed through the emulator's real card manager
//! (an SCP03 session to the ISD), then driven by jct's own host side (the
//! scp crate) at every level the applet's "i" offers, for AES-128, -192
//! and -256: the applet's KeyBuilder, AESKey, Cipher (AES ECB and CBC,
//! in place) and RandomData are the emulator's crypto natives.
//!
//! And issue 11's check: the same sessions (the wallet's, failed authentications
//! counted, PUT KEY, the front mode's ENVELOPE/WRAP too), with the card's randomness
//! and the host challenges fixed, give byte for byte the same responses
//! in jCardSim (tools/jcardsim-runner, its `random HEX` line fixing the
//! applet's RandomData) as in jct emu.
//!
//! Needs javac (and for the comparison java and the jCardSim jar):
//! skipped when missing, failed when missing under CI.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use emulator::{Card, CardProfile};
use scp::keys::{KeyType, StaticKeys};
use scp::{ChallengeSource, HostConfig, ScpError, SecureChannel, SecurityLevel};
use support::java;
use support::jcardsim::Runner;

const SC_PKG: &str = "F000000001A3";
const SC_AID: &str = "F000000001A301";
const WALLET_PKG: &str = "F000000001A4";
const WALLET_AID: &str = "F000000001A401";
const APPLET_CLASS: &str = "com.jct.securechannel.SecureChannelApplet";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

fn sw(r: &[u8]) -> u16 {
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

/// Bytes handed out in order, then a fixed sequence: the card's RNG in
/// these tests (so challenges and the applet's random bytes are known),
/// and the host's.
#[derive(Clone, Default)]
struct Scripted {
    queue: Arc<Mutex<VecDeque<u8>>>,
    next: Arc<Mutex<u8>>,
}

impl Scripted {
    fn push(&self, bytes: &[u8]) {
        self.queue.lock().unwrap().extend(bytes.iter().copied());
    }
}

impl ChallengeSource for Scripted {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        let mut q = self.queue.lock().unwrap();
        let mut n = self.next.lock().unwrap();
        for b in out {
            *b = q.pop_front().unwrap_or_else(|| {
                *n = n.wrapping_add(0x3B);
                *n
            });
        }
        Ok(())
    }
}

struct Built {
    _dir: tempfile::TempDir,
    caps: [PathBuf; 2],
    /// The classes of secure-channel and of the wallet, for jCardSim.
    classes: [PathBuf; 2],
    work: PathBuf,
}

fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !support::require::javac() {
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let api = java::api_jar(dir.path(), Some("3.0.4"));
            let sc = java::build_applet(dir.path(), &api, "secure-channel", None);
            let wallet = java::build_applet(dir.path(), &api, "wallet", Some(&sc.classes));
            Some(Built {
                caps: [sc.cap, wallet.cap],
                classes: [sc.classes, wallet.classes],
                work: dir.path().to_path_buf(),
                _dir: dir,
            })
        })
        .as_ref()
}

fn params(i: u8, keys: &[Vec<u8>; 3]) -> Vec<u8> {
    let mut p = vec![0x80, 1, 0x30];
    for (tag, k) in [0x81u8, 0x82, 0x83].into_iter().zip(keys) {
        p.extend_from_slice(&[tag, k.len() as u8]);
        p.extend_from_slice(k);
    }
    p.extend_from_slice(&[0x84, 1, i]);
    p
}

fn keys_of(len: usize) -> [Vec<u8>; 3] {
    let k = |base: u8| -> Vec<u8> {
        (0..len as u8)
            .map(|b| base.wrapping_add(b.wrapping_mul(7)))
            .collect()
    };
    [k(0x11), k(0x52), k(0x93)]
}

/// A powered jct emu card (API 3.0.4) with the card RNG `rng`, both CAPs
/// loaded through the card manager and the applets installed.
fn emu_card(built: &Built, rng: &Scripted, sc_params: &[u8]) -> Card {
    let profile = CardProfile {
        api: "3.0.4".into(),
        ..CardProfile::default()
    };
    let mut card = Card::with_rng(profile, common::aes_keys(1), Box::new(rng.clone())).unwrap();
    card.power_on();
    let mut isd = common::open(&mut card, SecurityLevel::C_MAC);
    for (cap, pkg, aid, c9) in [
        (&built.caps[0], SC_PKG, SC_AID, sc_params.to_vec()),
        (&built.caps[1], WALLET_PKG, WALLET_AID, Vec::new()),
    ] {
        let sw = common::load_cap(&mut card, &mut isd, cap);
        assert_eq!(sw, 0x9000, "load {cap:?}: {:?}", card.last_note());
        let install = common::install_for_install_with(&h(pkg), &h(aid), &h(aid), &c9);
        let r = common::send(&mut card, &mut isd, &install);
        assert_eq!(r.sw, 0x9000, "install {aid}: {:?}", card.last_note());
    }
    card
}

fn levels_for(i: u8) -> Vec<SecurityLevel> {
    let mut l = vec![SecurityLevel::C_MAC, SecurityLevel::C_MAC_C_ENC];
    if i & 0x20 != 0 {
        l.push(SecurityLevel::C_MAC_R_MAC);
        l.push(SecurityLevel::C_MAC_C_ENC_R_MAC);
    }
    if i & 0x40 != 0 {
        l.push(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC);
    }
    l
}

fn key_information(len: u8) -> Vec<u8> {
    let mut t = vec![0xE0, 18];
    for id in 1..=3 {
        t.extend_from_slice(&[0xC0, 4, id, 0x30, 0x88, len]);
    }
    t
}

/// One step of a recorded run: what both cards get, and jct emu's answer.
#[derive(Debug, Clone)]
enum Step {
    /// The next random bytes the applet draws.
    Random(Vec<u8>),
    Apdu(Vec<u8>, Vec<u8>),
}

/// Runs sessions on jct emu at each level: SELECT, INITIALIZE UPDATE and
/// EXTERNAL AUTHENTICATE by jct's host side, GET DATA key information
/// (R-MAC and R-ENC when the level has them), an instruction the applet
/// lacks with C-ENC data, a command with a flipped C-MAC. Checks the
/// answers and returns the transcript.
fn sessions(card: &mut Card, rng: &Scripted, i: u8, keys: &[Vec<u8>; 3]) -> Vec<Step> {
    let mut steps = Vec::new();
    let send = |card: &mut Card, steps: &mut Vec<Step>, cmd: &[u8]| -> Vec<u8> {
        let r = card.transmit(cmd);
        steps.push(Step::Apdu(cmd.to_vec(), r.clone()));
        r
    };
    let len = keys[0].len();
    let statics = StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30).unwrap();
    for (n, level) in levels_for(i).into_iter().enumerate() {
        let what = format!("i={i:02X} AES-{} level {level}", len * 8);
        let r = send(card, &mut steps, &h(&format!("00A4040007{SC_AID}")));
        assert_eq!(r, h("9000"), "{what}: SELECT: {:?}", card.last_note());
        // The card challenge, when RandomData makes it.
        let challenge: Vec<u8> = (0..8u8).map(|b| b * 0x11 + n as u8 * 3 + i).collect();
        rng.push(&challenge);
        steps.push(Step::Random(challenge.clone()));
        let mut config = HostConfig::new(statics.clone());
        config.security_level = level;
        config.expect_scp = Some(3);
        config.check_challenge_aid = Some(h(SC_AID));
        let host_challenge = [0xA0 ^ n as u8, 1, 2, 3, 4, 5, 6, len as u8];
        let hello = scp::danger::begin_with_challenge(config, host_challenge);
        let r = send(card, &mut steps, hello.command());
        assert_eq!(
            sw(&r),
            0x9000,
            "{what}: INITIALIZE UPDATE {:?}",
            card.last_note()
        );
        if i & 0x10 == 0 {
            assert_eq!(
                &r[13..21],
                &challenge[..],
                "{what}: the card challenge is RandomData's"
            );
        }
        let auth = hello.on_init_update_response(&r).unwrap();
        let r = send(card, &mut steps, auth.command());
        let mut sc: SecureChannel = auth
            .on_external_authenticate_response(&r)
            .unwrap_or_else(|e| panic!("{what}: {e} ({:?})", card.last_note()));
        let wire = sc.wrap(&h("80CA00E000")).unwrap();
        let r = send(card, &mut steps, &wire);
        let mut expected = key_information(len as u8);
        expected.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(sc.unwrap(&r).unwrap(), expected, "{what}");
        let wire = sc.wrap(&h("80F24000024F0000")).unwrap();
        let r = send(card, &mut steps, &wire);
        assert_eq!(sc.unwrap(&r).unwrap(), h("6D00"), "{what}");
        let mut wire = sc.wrap(&h("80CA00E000")).unwrap();
        let last = wire.len() - 2;
        wire[last] ^= 1;
        let r = send(card, &mut steps, &wire);
        assert_eq!(r, h("6982"), "{what}: a flipped C-MAC");
    }
    steps
}

/// A wallet session through the service's Shareable interface: SELECT
/// the wallet, the handshake (relayed to the service), CREDIT, GET
/// BALANCE, DEBIT and a refused DEBIT, at the highest level `i` offers.
fn wallet_session(card: &mut Card, rng: &Scripted, i: u8, keys: &[Vec<u8>; 3]) -> Vec<Step> {
    let mut steps = Vec::new();
    let send = |card: &mut Card, steps: &mut Vec<Step>, cmd: &[u8]| -> Vec<u8> {
        let r = card.transmit(cmd);
        steps.push(Step::Apdu(cmd.to_vec(), r.clone()));
        r
    };
    let r = send(card, &mut steps, &h(&format!("00A4040007{WALLET_AID}")));
    assert_eq!(r, h("9000"), "{:?}", card.last_note());
    let challenge = h("C0C1C2C3C4C5C6C7");
    rng.push(&challenge);
    steps.push(Step::Random(challenge));
    let statics = StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30).unwrap();
    let mut config = HostConfig::new(statics);
    config.security_level = *levels_for(i).last().unwrap();
    let hello = scp::danger::begin_with_challenge(config, [9, 8, 7, 6, 5, 4, 3, 2]);
    let r = send(card, &mut steps, hello.command());
    let auth = hello.on_init_update_response(&r).unwrap();
    let r = send(card, &mut steps, auth.command());
    let mut sc = auth.on_external_authenticate_response(&r).unwrap();
    for (cmd, answer) in [
        ("801200000200 2A", "002A9000"),
        ("8010000000", "002A9000"),
        ("801400000200 0A", "00209000"),
        ("801400000200 21", "6985"),
    ] {
        let wire = sc.wrap(&h(cmd)).unwrap();
        let r = send(card, &mut steps, &wire);
        assert_eq!(
            sc.unwrap(&r).unwrap(),
            h(answer),
            "{cmd}: {:?}",
            card.last_note()
        );
    }
    steps
}

/// Failed authentications, counted, then a good session that replaces the
/// key set with PUT KEY (version 31, key data under the DEK, KCVs back)
/// and a session under the new keys.
fn keys_and_failures(card: &mut Card, rng: &Scripted, i: u8, keys: &[Vec<u8>; 3]) -> Vec<Step> {
    let mut steps = Vec::new();
    let send = |card: &mut Card, steps: &mut Vec<Step>, cmd: &[u8]| -> Vec<u8> {
        let r = card.transmit(cmd);
        steps.push(Step::Apdu(cmd.to_vec(), r.clone()));
        r
    };
    let statics = |k: &[Vec<u8>; 3], kvn: u8| {
        StaticKeys::from_bytes(KeyType::Aes, &k[0], &k[1], &k[2], kvn).unwrap()
    };
    let level = *levels_for(i).last().unwrap();
    let handshake = |card: &mut Card,
                     steps: &mut Vec<Step>,
                     keys: StaticKeys,
                     n: u8,
                     spoil: bool|
     -> Option<SecureChannel> {
        let r = send(card, steps, &h(&format!("00A4040007{SC_AID}")));
        assert_eq!(r, h("9000"));
        let challenge: Vec<u8> = (0..8u8).map(|b| b ^ n ^ 0x5A).collect();
        rng.push(&challenge);
        steps.push(Step::Random(challenge));
        let mut config = HostConfig::new(keys);
        config.security_level = level;
        let hello = scp::danger::begin_with_challenge(config, [n, 2, 3, 4, 5, 6, 7, 8]);
        let r = send(card, steps, hello.command());
        assert_eq!(sw(&r), 0x9000, "INITIALIZE UPDATE {:?}", card.last_note());
        let auth = hello.on_init_update_response(&r).unwrap();
        let mut command = auth.command().to_vec();
        if spoil {
            // A wrong host cryptogram: counted as a failed authentication.
            command[5] ^= 0x01;
            let r = send(card, steps, &command);
            assert_eq!(r, h("6300"), "a wrong host cryptogram");
            return None;
        }
        let r = send(card, steps, &command);
        Some(auth.on_external_authenticate_response(&r).unwrap())
    };
    for n in 0..2 {
        assert!(handshake(card, &mut steps, statics(keys, 0x30), n, true).is_none());
    }
    let mut sc = handshake(card, &mut steps, statics(keys, 0x30), 2, false).unwrap();
    let new = keys_of(32).map(|k| k.iter().map(|b| b ^ 0xA5).collect::<Vec<u8>>());
    let (data, kcvs) = loader::client::put_key_data(&statics(&new, 0x31), &sc).unwrap();
    let command = gp::commands::put_key(0x30, 1, &data).unwrap().to_bytes();
    let r = send(card, &mut steps, &sc.wrap(&command).unwrap());
    let mut answer = kcvs;
    answer.extend_from_slice(&[0x90, 0x00]);
    assert_eq!(
        sc.unwrap(&r).unwrap(),
        answer,
        "PUT KEY: the new KVN and KCVs"
    );
    let mut sc = handshake(card, &mut steps, statics(&new, 0x31), 3, false).unwrap();
    let r = send(card, &mut steps, &sc.wrap(&h("80CA00E000")).unwrap());
    assert_eq!(sw(&sc.unwrap(&r).unwrap()), 0x9000);
    steps
}

/// The front mode (install parameter 86 01 01) the harness uses: the
/// handshake and a command the applet answers itself through ENVELOPE, and
/// a command it verifies and hands back (01 || level || plain APDU), whose
/// response goes through WRAP.
fn front_mode(card: &mut Card, rng: &Scripted, i: u8, keys: &[Vec<u8>; 3]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut send = |card: &mut Card, cmd: &[u8]| -> Vec<u8> {
        let r = card.transmit(cmd);
        steps.push(Step::Apdu(cmd.to_vec(), r.clone()));
        r
    };
    let extended = |ins: u8, data: &[u8]| {
        let mut c = vec![0x80, ins, 0x00, 0x00, 0x00];
        c.extend_from_slice(&(data.len() as u16).to_be_bytes());
        c.extend_from_slice(data);
        c.extend_from_slice(&[0x00, 0x00]);
        c
    };
    // ENVELOPE: `00 || answer` (the applet answered) or `01 || level ||
    // plain` (to be executed), then the envelope's own 9000.
    let mut envelope = |card: &mut Card, wire: &[u8]| -> Vec<u8> {
        let r = send(card, &extended(0xE0, wire));
        assert_eq!(
            r[r.len() - 2..],
            [0x90, 0x00],
            "ENVELOPE {:?}",
            card.last_note()
        );
        r[..r.len() - 2].to_vec()
    };
    let r = card.transmit(&h(&format!("00A4040007{SC_AID}")));
    assert_eq!(r, h("9000"));
    let challenge = h("F0F1F2F3F4F5F6F7");
    rng.push(&challenge);
    let statics = StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30).unwrap();
    let mut config = HostConfig::new(statics);
    config.security_level = *levels_for(i).last().unwrap();
    let hello = scp::danger::begin_with_challenge(config, [7, 7, 7, 7, 1, 2, 3, 4]);
    let r = envelope(card, hello.command());
    assert_eq!(r[0], 0x00);
    let auth = hello.on_init_update_response(&r[1..]).unwrap();
    let r = envelope(card, auth.command());
    let mut sc = auth.on_external_authenticate_response(&r[1..]).unwrap();
    let r = envelope(card, &sc.wrap(&h("80CA00E000")).unwrap());
    assert_eq!(r[0], 0x00);
    assert_eq!(sw(&sc.unwrap(&r[1..]).unwrap()), 0x9000);
    let plain = h("80E400800A4F08A00100015141434C00");
    let r = envelope(card, &sc.wrap(&plain).unwrap());
    assert_eq!(r[0], 0x01, "forwarded");
    assert_eq!(
        &r[2..],
        &plain[..plain.len() - 1],
        "the plain command, without Le"
    );
    let r = send(card, &extended(0xE2, &h("009000")));
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "WRAP");
    assert_eq!(sc.unwrap(&r[..r.len() - 2]).unwrap(), h("009000"));
    steps.insert(0, Step::Random(challenge));
    steps.insert(0, Step::Apdu(h(&format!("00A4040007{SC_AID}")), h("9000")));
    steps
}

#[test]
fn scp03_sessions_with_jcts_host_side_at_every_level_i_and_aes_length() {
    let Some(built) = built() else { return };
    for i in [0x00u8, 0x10, 0x70] {
        for len in [16usize, 24, 32] {
            let keys = keys_of(len);
            let rng = Scripted::default();
            let mut card = emu_card(built, &rng, &params(i, &keys));
            sessions(&mut card, &rng, i, &keys);
            // The pseudo-random challenge's counter went up once per session.
            if i & 0x10 != 0 {
                card.transmit(&h(&format!("00A4040007{SC_AID}")));
                let config = {
                    let statics =
                        StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30)
                            .unwrap();
                    let mut c = HostConfig::new(statics);
                    c.expect_scp = Some(3);
                    c.check_challenge_aid = Some(h(SC_AID));
                    c
                };
                let hello = scp::begin(config).unwrap();
                let r = card.transmit(hello.command());
                let auth = hello.on_init_update_response(&r).unwrap();
                assert_eq!(
                    auth.info().sequence_counter(),
                    Some(levels_for(i).len() as u32),
                    "i={i:02X}"
                );
            }
        }
    }
}

#[test]
fn session_keys_are_transient_and_a_reset_closes_the_session() {
    let Some(built) = built() else { return };
    let keys = keys_of(16);
    let rng = Scripted::default();
    let mut card = emu_card(built, &rng, &params(0x70, &keys));
    let statics = StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30).unwrap();
    card.transmit(&h(&format!("00A4040007{SC_AID}")));
    let mut config = HostConfig::new(statics);
    config.security_level = SecurityLevel::C_MAC;
    let hello = scp::begin(config).unwrap();
    let r = card.transmit(hello.command());
    let auth = hello.on_init_update_response(&r).unwrap();
    let r = card.transmit(auth.command());
    let mut sc = auth.on_external_authenticate_response(&r).unwrap();
    let wire = sc.wrap(&h("80CA00E000")).unwrap();
    assert_eq!(sw(&card.transmit(&wire)), 0x9000);
    // After a power cycle the session keys (TYPE_AES_TRANSIENT_RESET) and
    // the session state are gone: the next MACed command is refused.
    card.reset();
    card.transmit(&h(&format!("00A4040007{SC_AID}")));
    let wire = sc.wrap(&h("80CA00E000")).unwrap();
    assert_eq!(card.transmit(&wire), h("6982"));
}

#[test]
fn the_wallet_reaches_the_service_through_the_shareable_interface() {
    let Some(built) = built() else { return };
    let keys = keys_of(16);
    let rng = Scripted::default();
    let mut card = emu_card(built, &rng, &params(0x70, &keys));
    let r = card.transmit(&h(&format!("00A4040007{WALLET_AID}")));
    assert_eq!(r, h("9000"), "{:?}", card.last_note());
    let statics = StaticKeys::from_bytes(KeyType::Aes, &keys[0], &keys[1], &keys[2], 0x30).unwrap();
    let mut config = HostConfig::new(statics);
    config.security_level = SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC;
    let hello = scp::begin(config).unwrap();
    let r = card.transmit(hello.command());
    let auth = hello.on_init_update_response(&r).unwrap();
    let r = card.transmit(auth.command());
    let mut sc = auth.on_external_authenticate_response(&r).unwrap();
    for (cmd, answer) in [
        ("801200000200 2A", "002A9000"),
        ("8010000000", "002A9000"),
        ("801400000200 0A", "00209000"),
        ("801400000200 21", "6985"),
        ("8010000000", "00209000"),
    ] {
        let wire = sc.wrap(&h(cmd)).unwrap();
        let r = card.transmit(&wire);
        assert_eq!(
            sc.unwrap(&r).unwrap(),
            h(answer),
            "{cmd}: {:?}",
            card.last_note()
        );
    }
    // Without a session, CREDIT is refused; the balance stays.
    let r = card.transmit(&h(&format!("00A4040007{WALLET_AID}")));
    assert_eq!(r, h("9000"));
    assert_eq!(card.transmit(&h("801200000200 2A")), h("6982"));
    assert_eq!(card.transmit(&h("8010000000")), h("00209000"));
}

#[test]
fn a_wallet_whose_service_is_not_on_the_card_refuses_selection() {
    let Some(built) = built() else { return };
    let rng = Scripted::default();
    let mut card = emu_card(built, &rng, &params(0x70, &keys_of(16)));
    // A second wallet pointed at a service AID no applet has: with neither
    // it nor the fallback (the ISD's AID) giving a Shareable object,
    // select() refuses (applets/README.md).
    let mut isd = common::open(&mut card, SecurityLevel::C_MAC);
    let other = "F000000001A402";
    let install = common::install_for_install_with(
        &h(WALLET_PKG),
        &h(WALLET_AID),
        &h(other),
        &h("0107F000000001A3FF"),
    );
    let r = common::send(&mut card, &mut isd, &install);
    assert_eq!(r.sw, 0x9000, "{:?}", card.last_note());
    let r = card.transmit(&h(&format!("00A4040007{other}")));
    assert_eq!(r, h("6999"), "{:?}", card.last_note());
}

/// jCardSim with the secure-channel applet (install parameters `params`)
/// and the wallet, from the classes javac made.
fn start_sim(built: &Built, params: &[u8]) -> Runner {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = built
        .work
        .join(format!("runner-{}.log", N.fetch_add(1, Ordering::SeqCst)));
    let params = hx(params);
    Runner::start(
        &[built.classes[0].as_path(), built.classes[1].as_path()],
        &[
            (SC_AID, APPLET_CLASS, params.as_str()),
            (WALLET_AID, "com.jct.wallet.WalletApplet", ""),
        ],
        &log,
    )
}

#[test]
fn jct_emu_and_jcardsim_answer_the_same_transcripts_byte_for_byte() {
    let Some(built) = built() else { return };
    if !support::jcardsim::available() {
        return;
    }
    for i in [0x00u8, 0x10, 0x70] {
        for len in [16usize, 24, 32] {
            let keys = keys_of(len);
            let p = params(i, &keys);
            let rng = Scripted::default();
            let mut card = emu_card(built, &rng, &p);
            let mut steps = sessions(&mut card, &rng, i, &keys);
            steps.extend(wallet_session(&mut card, &rng, i, &keys));
            steps.extend(keys_and_failures(&mut card, &rng, i, &keys));
            let mut sim = start_sim(built, &p);
            replay(&mut sim, &steps, &format!("i={i:02X} AES-{}", len * 8));
            // The harness's front mode, on a card installed for it.
            let mut p = p;
            p.extend_from_slice(&[0x86, 1, 1]);
            let rng = Scripted::default();
            let mut card = emu_card(built, &rng, &p);
            let steps = front_mode(&mut card, &rng, i, &keys);
            let mut sim = start_sim(built, &p);
            replay(
                &mut sim,
                &steps,
                &format!("front mode i={i:02X} AES-{}", len * 8),
            );
        }
    }
}

/// Plays `steps` to jCardSim: every answer must be jct emu's.
fn replay(sim: &mut Runner, steps: &[Step], what: &str) {
    for step in steps {
        match step {
            Step::Random(bytes) => {
                assert_eq!(sim.line(&format!("random {}", hx(bytes))), "9000");
            }
            Step::Apdu(cmd, emu) => {
                let theirs = sim.line(&hx(cmd));
                assert_eq!(hx(emu), theirs, "{what}: {} answered differently", hx(cmd));
            }
        }
    }
}
