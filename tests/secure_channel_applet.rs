//! The secure-channel applet (applets/secure-channel) and the wallet that
//! uses it (applets/wallet), built from source with javac and `jct build`
//! (the CAPs must convert and verify), then run as classes in jCardSim
//! through tools/jcardsim-runner, with jct's own host side (the scp crate,
//! unchanged) on the other end: SCP03 at every level, each "i" and each AES
//! key length, directly and through the front mode's ENVELOPE/WRAP; MAC
//! failures, the failure counter, PUT KEY, the known-answer vectors of
//! ../shared/vectors, and the wallet round trip through the Shareable
//! interface.
//!
//! Needs java, javac and the jCardSim jar: skipped when missing, failed
//! when missing under CI (see tests/support/require.rs).

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use scp::keys::{KeyType, StaticKeys};
use scp::{HostConfig, ScpError, SecureChannel, SecurityLevel};
use support::java;
use support::jcardsim::Runner as Card;

const APPLET_CLASS: &str = "com.jct.securechannel.SecureChannelApplet";
const WALLET_CLASS: &str = "com.jct.wallet.WalletApplet";
/// The applet's own AID on a real card.
const SC_AID: &str = "F000000001A301";
/// Where the harness installs it in front mode: in front of the ISD.
const ISD_AID: &str = "A000000151000000";
const WALLET_AID: &str = "F000000001A401";
const TEST_KEY: &str = support::TEST_KEY;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn hx(b: &[u8]) -> String {
    hex::encode_upper(b)
}

/// What every test needs once: the applets compiled and converted, and a
/// directory of their classes for jCardSim.
struct Built {
    _dir: tempfile::TempDir,
    /// The converted CAPs: secure-channel, wallet.
    caps: [PathBuf; 2],
    classes: PathBuf,
    logs: PathBuf,
}

fn built() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !support::jcardsim::available() {
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let api = java::api_jar(dir.path(), Some("3.0.4"));
            let sc = java::build_applet(dir.path(), &api, "secure-channel", None);
            let wallet = java::build_applet(dir.path(), &api, "wallet", Some(&sc.classes));
            // jCardSim loads both packages from one class path.
            let classes = dir.path().join("all-classes");
            for tree in [&sc.classes, &wallet.classes] {
                java::copy_tree(tree, &classes);
            }
            let logs = dir.path().join("logs");
            std::fs::create_dir_all(&logs).unwrap();
            Some(Built {
                caps: [sc.cap, wallet.cap],
                classes,
                logs,
                _dir: dir,
            })
        })
        .as_ref()
}

/// jCardSim with `installs` (AID, class, install parameters in hex), its
/// log in the build's log directory.
fn start_card(built: &Built, installs: &[(&str, &str, String)]) -> Card {
    static N: AtomicUsize = AtomicUsize::new(0);
    let log = built
        .logs
        .join(format!("runner-{}.log", N.fetch_add(1, Ordering::SeqCst)));
    let installs: Vec<(&str, &str, &str)> = installs
        .iter()
        .map(|(aid, class, params)| (*aid, *class, params.as_str()))
        .collect();
    Card::start(&[built.classes.as_path()], &installs, &log)
}

fn sw(response: &[u8]) -> u16 {
    u16::from_be_bytes([response[response.len() - 2], response[response.len() - 1]])
}

/// Install parameters (the C9 value) for the secure-channel applet.
#[derive(Clone)]
struct Params {
    kvn: u8,
    keys: Option<[Vec<u8>; 3]>,
    i: u8,
    limit: Option<u8>,
    front: bool,
    kdd: Option<[u8; 10]>,
}

impl Params {
    fn new(i: u8) -> Params {
        Params {
            kvn: 0x30,
            keys: None,
            i,
            limit: None,
            front: false,
            kdd: None,
        }
    }

    fn keys(mut self, enc: &[u8], mac: &[u8], dek: &[u8]) -> Params {
        self.keys = Some([enc.to_vec(), mac.to_vec(), dek.to_vec()]);
        self
    }

    fn hex(&self) -> String {
        let mut p = vec![0x80, 1, self.kvn];
        if let Some(keys) = &self.keys {
            for (tag, k) in [0x81u8, 0x82, 0x83].into_iter().zip(keys) {
                p.extend_from_slice(&[tag, k.len() as u8]);
                p.extend_from_slice(k);
            }
        }
        p.extend_from_slice(&[0x84, 1, self.i]);
        if let Some(limit) = self.limit {
            p.extend_from_slice(&[0x85, 1, limit]);
        }
        if self.front {
            p.extend_from_slice(&[0x86, 1, 1]);
        }
        if let Some(kdd) = self.kdd {
            p.extend_from_slice(&[0x87, 10]);
            p.extend_from_slice(&kdd);
        }
        hx(&p)
    }

    fn static_keys(&self) -> StaticKeys {
        let test = h(TEST_KEY);
        let [enc, mac, dek] = self
            .keys
            .clone()
            .unwrap_or_else(|| [test.clone(), test.clone(), test]);
        StaticKeys::from_bytes(KeyType::Aes, &enc, &mac, &dek, self.kvn).unwrap()
    }
}

/// How the test reaches the applet: directly, or as the harness does in
/// front mode (every host command in an ENVELOPE; forwarded ones answered
/// by the test, playing the harness, and protected through WRAP).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Route {
    Direct,
    Front,
}

/// ENVELOPE or WRAP: extended case 4.
fn front_command(ins: u8, data: &[u8]) -> Vec<u8> {
    let mut c = vec![0x80, ins, 0, 0, 0];
    c.extend_from_slice(&(data.len() as u16).to_be_bytes());
    c.extend_from_slice(data);
    c.extend_from_slice(&[0, 0]);
    c
}

/// What ENVELOPE answered.
#[derive(Debug, PartialEq)]
enum Enveloped {
    /// The applet answered: response data || SW, as the host gets it.
    Answered(Vec<u8>),
    /// The harness must execute this plain command at this level.
    Forward { level: u8, plain: Vec<u8> },
}

fn envelope(card: &mut Card, wire: &[u8]) -> Enveloped {
    let r = card.transmit(&front_command(0xE0, wire));
    assert_eq!(
        sw(&r),
        0x9000,
        "ENVELOPE of {} answered {}",
        hx(wire),
        hx(&r)
    );
    let body = &r[..r.len() - 2];
    match body[0] {
        0 => Enveloped::Answered(body[1..].to_vec()),
        1 => Enveloped::Forward {
            level: body[1],
            plain: body[2..].to_vec(),
        },
        other => panic!("ENVELOPE answered kind {other:02X}: {}", hx(&r)),
    }
}

fn wrap_for_harness(card: &mut Card, response: &[u8]) -> Vec<u8> {
    let r = card.transmit(&front_command(0xE2, response));
    assert_eq!(
        sw(&r),
        0x9000,
        "WRAP of {} answered {}",
        hx(response),
        hx(&r)
    );
    r[..r.len() - 2].to_vec()
}

/// Sends a command the applet answers itself, by either route.
fn exchange(card: &mut Card, route: Route, wire: &[u8]) -> Vec<u8> {
    match route {
        Route::Direct => card.transmit(wire),
        Route::Front => match envelope(card, wire) {
            Enveloped::Answered(r) => r,
            other => panic!("{} was forwarded: {other:?}", hx(wire)),
        },
    }
}

/// Opens a session with jct's host side; returns the channel.
fn open(card: &mut Card, route: Route, config: HostConfig) -> Result<SecureChannel, ScpError> {
    let hello = scp::begin(config)?;
    let response = exchange(card, route, hello.command());
    let auth = hello.on_init_update_response(&response)?;
    let response = exchange(card, route, auth.command());
    auth.on_external_authenticate_response(&response)
}

fn host(params: &Params, level: SecurityLevel, aid: &str) -> HostConfig {
    let mut config = HostConfig::new(params.static_keys());
    config.security_level = level;
    config.expect_scp = Some(3);
    config.check_challenge_aid = Some(h(aid));
    config
}

fn key_information(kvn: u8, len: u8) -> Vec<u8> {
    let mut t = vec![0xE0, 18];
    for id in 1..=3 {
        t.extend_from_slice(&[0xC0, 4, id, kvn, 0x88, len]);
    }
    t
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

fn keys_of(len: usize) -> [Vec<u8>; 3] {
    let k = |base: u8| -> Vec<u8> {
        (0..len as u8)
            .map(|b| base.wrapping_add(b.wrapping_mul(7)))
            .collect()
    };
    [k(0x11), k(0x52), k(0x93)]
}

#[test]
fn the_caps_load_and_install_on_jcts_emulator() {
    let Some(built) = built() else { return };
    // The same CAPs a real card gets: the wallet links against the
    // secure-channel package, so that one goes first.
    let emu = support::Emu::start(false, "3.0.5");
    let [sc, wallet] = &built.caps;
    emu.jct(&["install", sc.to_str().unwrap(), "--mode", "enc"])
        .args(["--params", &Params::new(0x70).hex()])
        .assert()
        .success()
        .stderr(predicates::str::contains(format!("installed {SC_AID}")));
    emu.jct(&["install", wallet.to_str().unwrap(), "--mode", "enc"])
        .assert()
        .success()
        .stderr(predicates::str::contains(format!("installed {WALLET_AID}")));
    let list = emu.list();
    for aid in ["F000000001A3", SC_AID, "F000000001A4", WALLET_AID] {
        assert!(list.contains(aid), "{aid} missing from:\n{list}");
    }
}

#[test]
fn scp03_at_every_level_with_each_i_and_key_length_directly_and_in_front_mode() {
    let Some(built) = built() else { return };
    for route in [Route::Direct, Route::Front] {
        let aid = if route == Route::Front {
            ISD_AID
        } else {
            SC_AID
        };
        for i in [0x00u8, 0x10, 0x70] {
            for len in [16usize, 24, 32] {
                let [enc, mac, dek] = keys_of(len);
                let mut params = Params::new(i).keys(&enc, &mac, &dek);
                params.front = route == Route::Front;
                let mut card = start_card(built, &[(aid, APPLET_CLASS, params.hex())]);
                assert_eq!(card.select(aid), h("9000"));
                let mut counters = Vec::new();
                for level in levels_for(i) {
                    let what = format!("{route:?} i={i:02X} AES-{} level {level}", len * 8);
                    let mut sc = open(&mut card, route, host(&params, level, aid))
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    counters.push(sc.info().sequence_counter());
                    // GET DATA key information, which the applet answers itself.
                    let wire = sc.wrap(&h("80CA00E000")).unwrap();
                    let response = exchange(&mut card, route, &wire);
                    let plain = sc.unwrap(&response).unwrap();
                    let mut expected = key_information(0x30, len as u8);
                    expected.extend_from_slice(&[0x90, 0x00]);
                    assert_eq!(plain, expected, "{what}");
                    if route == Route::Front {
                        // A DELETE the harness executes: the applet strips the
                        // secure messaging, the harness answers, WRAP protects.
                        let delete = h("80E400800A4F08F00000000101020300");
                        let wire = sc.wrap(&delete).unwrap();
                        match envelope(&mut card, &wire) {
                            Enveloped::Forward { level: l, plain } => {
                                assert_eq!(l, level.byte(), "{what}");
                                assert_eq!(plain, delete[..delete.len() - 1], "{what}");
                            }
                            other => panic!("{what}: DELETE not forwarded: {other:?}"),
                        }
                        let protected = wrap_for_harness(&mut card, &h("009000"));
                        assert_eq!(sc.unwrap(&protected).unwrap(), h("009000"), "{what}");
                        // An error the harness answers travels bare.
                        let wire = sc.wrap(&delete).unwrap();
                        assert!(matches!(
                            envelope(&mut card, &wire),
                            Enveloped::Forward { .. }
                        ));
                        let protected = wrap_for_harness(&mut card, &h("6A88"));
                        assert_eq!(protected, h("6A88"), "{what}");
                        assert_eq!(sc.unwrap(&protected).unwrap(), h("6A88"), "{what}");
                    } else {
                        // An instruction the applet does not have, answered
                        // under the session's protection.
                        let wire = sc.wrap(&h("80F24000024F0000")).unwrap();
                        let response = card.transmit(&wire);
                        assert_eq!(sc.unwrap(&response).unwrap(), h("6D00"), "{what}");
                    }
                    // Still open: the chain went on through all of it.
                    let wire = sc.wrap(&h("80CA00E000")).unwrap();
                    let response = exchange(&mut card, route, &wire);
                    assert_eq!(sw(&sc.unwrap(&response).unwrap()), 0x9000, "{what}");
                }
                // A pseudo-random challenge comes with a counter that
                // advances by one per INITIALIZE UPDATE.
                if i & 0x10 != 0 {
                    let numbers: Vec<u32> = counters.iter().map(|c| c.unwrap()).collect();
                    let expected: Vec<u32> = (0..numbers.len() as u32).collect();
                    assert_eq!(numbers, expected, "i={i:02X}");
                } else {
                    assert!(counters.iter().all(Option::is_none));
                }
            }
        }
    }
}

#[test]
fn levels_the_i_does_not_offer_are_refused_by_the_card() {
    let Some(built) = built() else { return };
    let params = Params::new(0x10);
    let mut card = start_card(built, &[(SC_AID, APPLET_CLASS, params.hex())]);
    card.select(SC_AID);
    // The host side would refuse to ask, so the test asks with the
    // cryptogram and C-MAC of an offered level, changing only P1: the card
    // looks at the level first.
    let hello = scp::begin(host(&params, SecurityLevel::C_MAC, SC_AID)).unwrap();
    let r = card.transmit(hello.command());
    let auth = hello.on_init_update_response(&r).unwrap();
    let mut ea = auth.command().to_vec();
    ea[2] = 0x13;
    assert_eq!(card.transmit(&ea), h("6A86"));
    // The handshake is used up.
    assert_eq!(card.transmit(auth.command()), h("6985"));
}

#[test]
fn known_answer_vectors_of_scp03_level_03() {
    let Some(built) = built() else { return };
    // ../shared/vectors/globalplatform-kat.md, "SCP03 with C-ENC and C-MAC":
    // the card's pseudo-random challenge at counter 000015 for the ISD's AID.
    let mut params = Params::new(0x70).keys(
        &h("F995D0A069335C7DF42E590317FFEA6D"),
        &h("58563362EC5A4541ABCD32B34B1EAE7D"),
        &h("0A02A6D687406DCFA09DC70B3EDB7E38"),
    );
    params.front = true;
    let mut card = start_card(built, &[(ISD_AID, APPLET_CLASS, params.hex())]);
    card.select(ISD_AID);
    let init = h("8050300008B2BDE1A2DC66BD5600");
    for n in 0..0x15u32 {
        let r = exchange(&mut card, Route::Front, &init);
        assert_eq!(r[29..32], n.to_be_bytes()[1..], "counter {n}");
    }
    // GET DATA C1: the counter the next INITIALIZE UPDATE will use, which
    // offline secured scripts are built for.
    assert_eq!(
        exchange(&mut card, Route::Front, &h("80CA00C100")),
        h("C103000015 9000")
    );
    let r = exchange(&mut card, Route::Front, &init);
    assert_eq!(
        r,
        h("00000000000000000000 300370 C40932A6FEFEAEB2 E127185170F45FCA 000015 9000")
    );
    let r = exchange(
        &mut card,
        Route::Front,
        &h("848203001059D54D932423D29F6313C970875F8C2F"),
    );
    assert_eq!(r, h("9000"));
    let wire = h("84E400801829F06AEC3180B3EFE91FF662310B945DE0D5FE66AD67A5B6");
    assert_eq!(
        envelope(&mut card, &wire),
        Enveloped::Forward {
            level: 0x03,
            // The vector's command without its Le: forwarded commands carry none.
            plain: h("80E400800A4F08A00100015141434C"),
        }
    );
    // The same vector directly: the applet checks it and, not executing
    // DELETE itself, answers 6D00.
    params.front = false;
    let mut card = start_card(built, &[(ISD_AID, APPLET_CLASS, params.hex())]);
    card.select(ISD_AID);
    for _ in 0..0x15 {
        card.transmit(&init);
    }
    assert_eq!(card.transmit(&h("00CA00C100")), h("C103000015 9000"));
    assert_eq!(card.transmit(&init)[13..21], h("C40932A6FEFEAEB2"));
    assert_eq!(
        card.transmit(&h("848203001059D54D932423D29F6313C970875F8C2F")),
        h("9000")
    );
    assert_eq!(card.transmit(&wire), h("6D00"));
    // Front mode INS are unknown outside front mode.
    assert_eq!(card.transmit(&front_command(0xE0, &init)), h("6982"));
}

#[test]
fn known_answer_vectors_of_scp03_level_33() {
    let Some(built) = built() else { return };
    // ../shared/vectors/globalplatform-kat.md, "SCP03 with R-MAC and R-ENC":
    // keys 40..4F and a card challenge the runner's random hook fixes.
    let mut params = Params::new(0x60);
    params.front = true;
    let mut card = start_card(built, &[(ISD_AID, APPLET_CLASS, params.hex())]);
    card.select(ISD_AID);
    assert_eq!(card.line("random 08090A0B0C0D0E0F"), "9000");
    let r = exchange(&mut card, Route::Front, &h("8050300008000102030405060700"));
    assert_eq!(
        r,
        h("00000000000000000000 300360 08090A0B0C0D0E0F 114F6BC5052C5228 9000")
    );
    let r = exchange(
        &mut card,
        Route::Front,
        &h("8482330010FAFA93C2EDE62463CB51E38EC18EB00B"),
    );
    assert_eq!(r, h("9000"));
    let wire = h("84E6000018199DD7FF46730B64AC254C903EC573505C4291BB0B788746");
    assert_eq!(
        envelope(&mut card, &wire),
        Enveloped::Forward {
            level: 0x33,
            plain: h("80E60000050102030405"),
        }
    );
    assert_eq!(
        wrap_for_harness(&mut card, &h("00A404009000")),
        h("4C7F4E27E4F90AA7B13C60860F69FCD0989A968B68138D8E9000")
    );
    // A second WRAP for the same command has nothing to protect.
    let r = card.transmit(&front_command(0xE2, &h("9000")));
    assert_eq!(r, h("6985"));
}

#[test]
fn a_flipped_mac_answers_6982_and_closes_the_session() {
    let Some(built) = built() else { return };
    for route in [Route::Direct, Route::Front] {
        let aid = if route == Route::Front {
            ISD_AID
        } else {
            SC_AID
        };
        let mut params = Params::new(0x70);
        params.front = route == Route::Front;
        let mut card = start_card(built, &[(aid, APPLET_CLASS, params.hex())]);
        card.select(aid);
        for level in [SecurityLevel::C_MAC, SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC] {
            let mut sc = open(&mut card, route, host(&params, level, aid)).unwrap();
            let mut wire = sc.wrap(&h("80CA00E000")).unwrap();
            let last = wire.len() - 2;
            wire[last] ^= 0x01;
            assert_eq!(exchange(&mut card, route, &wire), h("6982"), "{route:?}");
            // Closed: a correct command of the same chain is refused too.
            let mut sc = open(&mut card, route, host(&params, level, aid)).unwrap();
            let good = sc.wrap(&h("80CA00E000")).unwrap();
            let mut bad = sc.wrap(&h("80CA00E000")).unwrap();
            bad[5] ^= 0x80;
            assert_eq!(sw(&exchange(&mut card, route, &good)), 0x9000);
            assert_eq!(exchange(&mut card, route, &bad), h("6982"));
            let next = sc.wrap(&h("80CA00E000")).unwrap();
            assert_eq!(exchange(&mut card, route, &next), h("6982"));
            // A command without secure messaging inside a C-MAC session.
            let mut sc = open(&mut card, route, host(&params, level, aid)).unwrap();
            assert_eq!(exchange(&mut card, route, &h("80CA00E000")), h("6982"));
            let next = sc.wrap(&h("80CA00E000")).unwrap();
            assert_eq!(exchange(&mut card, route, &next), h("6982"));
            // Without a session, plain GET DATA works and secured is refused.
            assert_eq!(sw(&exchange(&mut card, route, &h("80CA00E000"))), 0x9000);
            assert_eq!(exchange(&mut card, route, &next), h("6982"));
        }
        if route == Route::Front {
            // A forwarded command's MAC is checked before it is forwarded.
            let mut sc = open(
                &mut card,
                route,
                host(&params, SecurityLevel::C_MAC_R_MAC, aid),
            )
            .unwrap();
            let mut wire = sc.wrap(&h("80E60C0003010203")).unwrap();
            wire[6] ^= 0x10;
            assert_eq!(envelope(&mut card, &wire), Enveloped::Answered(h("6982")));
            // WRAP without a pending command in an R-MAC session: nothing to protect.
            let r = card.transmit(&front_command(0xE2, &h("9000")));
            assert_eq!(r, h("90009000"), "no session, no protection");
        }
    }
}

#[test]
fn malformed_and_misplaced_commands_get_the_status_words_of_jcts_card_side() {
    let Some(built) = built() else { return };
    for route in [Route::Direct, Route::Front] {
        let aid = if route == Route::Front {
            ISD_AID
        } else {
            SC_AID
        };
        let mut params = Params::new(0x70);
        params.front = route == Route::Front;
        let mut card = start_card(built, &[(aid, APPLET_CLASS, params.hex())]);
        card.select(aid);
        let mut ask = |c: &str| exchange(&mut card, route, &h(c));
        // INITIALIZE UPDATE: unknown key version, P2, length, CLA.
        assert_eq!(ask("8050310008000102030405060700"), h("6A88"));
        assert_eq!(ask("8050300108000102030405060700"), h("6A86"));
        assert_eq!(ask("80503000070001020304050600"), h("6700"));
        assert_eq!(ask("8450300008000102030405060700"), h("6982"));
        assert_eq!(ask("0050300008000102030405060700"), h("6E00"));
        // EXTERNAL AUTHENTICATE without INITIALIZE UPDATE.
        assert_eq!(ask("848201001000000000000000000000000000000000"), h("6985"));
        // GET DATA: another tag is not the applet's (the harness's, in front mode).
        if route == Route::Direct {
            assert_eq!(ask("80CA006600"), h("6A88"));
            assert_eq!(ask("80E0000000"), h("6D00"));
            assert_eq!(ask("80E2000000"), h("6D00"));
        } else {
            assert_eq!(
                envelope(&mut card, &h("80CA006600")),
                Enveloped::Forward {
                    level: 0,
                    plain: h("80CA0066"),
                }
            );
            // What jct's ISD refuses before looking further.
            assert_eq!(
                envelope(&mut card, &h("FFCA00E000")),
                Enveloped::Answered(h("6E00"))
            );
            assert_eq!(
                envelope(&mut card, &h("81CA00E000")),
                Enveloped::Answered(h("6881"))
            );
            assert_eq!(
                envelope(&mut card, &h("80CA00E00500")),
                Enveloped::Answered(h("6700"))
            );
            assert_eq!(
                envelope(&mut card, &h("80CA")),
                Enveloped::Answered(h("6700"))
            );
            // A plain SELECT is forwarded as it is, with the session's level.
            let mut sc = open(&mut card, route, host(&params, SecurityLevel::C_MAC, aid)).unwrap();
            assert_eq!(
                envelope(&mut card, &h("00A4040008A000000151000000")),
                Enveloped::Forward {
                    level: 0x01,
                    plain: h("00A4040008A000000151000000"),
                }
            );
            // ... and leaves the session open.
            let r = exchange(&mut card, route, &sc.wrap(&h("80CA00E000")).unwrap());
            assert_eq!(sw(&sc.unwrap(&r).unwrap()), 0x9000);
            // Re-selecting the applet ends it.
            card.select(aid);
            let r = exchange(&mut card, route, &sc.wrap(&h("80CA00E000")).unwrap());
            assert_eq!(r, h("6982"));
            // Front mode commands: P1 P2 00 00 only.
            assert_eq!(card.transmit(&h("80E0010000000100")), h("6A86"));
        }
    }
}

#[test]
fn failed_authentications_are_counted_and_block_the_key_set() {
    let Some(built) = built() else { return };
    let mut params = Params::new(0x10);
    params.limit = Some(3);
    let mut card = start_card(built, &[(SC_AID, APPLET_CLASS, params.hex())]);
    card.select(SC_AID);
    let config = || host(&params, SecurityLevel::C_MAC, SC_AID);
    // A wrong host cryptogram: what a host without the keys would send.
    let fail = |card: &mut Card| {
        let hello = scp::begin(config()).unwrap();
        let r = card.transmit(hello.command());
        let auth = hello.on_init_update_response(&r).unwrap();
        let mut ea = auth.command().to_vec();
        ea[5] ^= 0xFF;
        card.transmit(&ea)
    };
    assert_eq!(fail(&mut card), h("6300"));
    assert_eq!(fail(&mut card), h("6300"));
    // A success sets the count back to zero.
    open(&mut card, Route::Direct, config()).unwrap();
    assert_eq!(fail(&mut card), h("6300"));
    assert_eq!(fail(&mut card), h("6300"));
    // The count survives a power cycle.
    card.reset();
    card.select(SC_AID);
    assert_eq!(fail(&mut card), h("6300"));
    let hello = scp::begin(config()).unwrap();
    assert_eq!(card.transmit(hello.command()), h("6983"));
    card.reset();
    card.select(SC_AID);
    let err = open(&mut card, Route::Direct, config()).unwrap_err();
    assert!(matches!(err, ScpError::Status { sw: 0x6983, .. }), "{err}");
    // A wrong C-MAC on EXTERNAL AUTHENTICATE counts as well.
    let mut params = Params::new(0x00);
    params.limit = Some(1);
    let mut card = start_card(built, &[(SC_AID, APPLET_CLASS, params.hex())]);
    card.select(SC_AID);
    let hello = scp::begin(host(&params, SecurityLevel::C_MAC, SC_AID)).unwrap();
    let r = card.transmit(hello.command());
    let auth = hello.on_init_update_response(&r).unwrap();
    let mut ea = auth.command().to_vec();
    let last = ea.len() - 1;
    ea[last] ^= 0x01;
    assert_eq!(card.transmit(&ea), h("6982"));
    let hello = scp::begin(host(&params, SecurityLevel::C_MAC, SC_AID)).unwrap();
    assert_eq!(card.transmit(hello.command()), h("6983"));
}

#[test]
fn put_key_replaces_the_key_set() {
    let Some(built) = built() else { return };
    for route in [Route::Direct, Route::Front] {
        let aid = if route == Route::Front {
            ISD_AID
        } else {
            SC_AID
        };
        let mut params = Params::new(0x70);
        params.front = route == Route::Front;
        let mut card = start_card(built, &[(aid, APPLET_CLASS, params.hex())]);
        card.select(aid);
        // Not without a C-MAC session.
        let mut sc = open(&mut card, route, host(&params, SecurityLevel::NONE, aid)).unwrap();
        let new = {
            let [enc, mac, dek] = keys_of(32);
            Params::new(0x70).keys(&enc, &mac, &dek)
        };
        let mut new = new;
        new.kvn = 0x31;
        let (data, _) = loader::client::put_key_data(&new.static_keys(), &sc).unwrap();
        let command = gp::commands::put_key(0x30, 1, &data).unwrap().to_bytes();
        assert_eq!(
            exchange(&mut card, route, &sc.wrap(&command).unwrap()),
            h("6982")
        );

        for level in [
            SecurityLevel::C_MAC_C_ENC,
            SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
        ] {
            let mut sc = open(&mut card, route, host(&params, level, aid)).unwrap();
            // A wrong check value is refused and changes nothing.
            let (mut bad, _) = loader::client::put_key_data(&new.static_keys(), &sc).unwrap();
            let kcv_at = bad.len() - 1;
            bad[kcv_at] ^= 0x01;
            let command = gp::commands::put_key(0x30, 1, &bad).unwrap().to_bytes();
            let r = exchange(&mut card, route, &sc.wrap(&command).unwrap());
            assert_eq!(sc.unwrap(&r).unwrap(), h("9485"), "{route:?} {level}");
            // P1 names a key set the card does not have.
            let (data, _) = loader::client::put_key_data(&new.static_keys(), &sc).unwrap();
            let command = gp::commands::put_key(0x20, 1, &data).unwrap().to_bytes();
            let r = exchange(&mut card, route, &sc.wrap(&command).unwrap());
            assert_eq!(sc.unwrap(&r).unwrap(), h("6A88"));
        }
        let mut sc = open(
            &mut card,
            route,
            host(&params, SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC, aid),
        )
        .unwrap();
        let (data, expected) = loader::client::put_key_data(&new.static_keys(), &sc).unwrap();
        let command = gp::commands::put_key(0x30, 1, &data).unwrap().to_bytes();
        let r = exchange(&mut card, route, &sc.wrap(&command).unwrap());
        let mut answer = expected.clone();
        answer.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(
            sc.unwrap(&r).unwrap(),
            answer,
            "{route:?}: new KVN and KCVs"
        );
        // The session goes on under its session keys.
        let r = exchange(&mut card, route, &sc.wrap(&h("80CA00E000")).unwrap());
        let mut info = key_information(0x31, 32);
        info.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(sc.unwrap(&r).unwrap(), info);
        // The old keys are gone (their version too), the new ones open sessions,
        // and the counter started again with them.
        let err = open(&mut card, route, host(&params, SecurityLevel::C_MAC, aid)).unwrap_err();
        assert!(matches!(err, ScpError::Status { sw: 0x6A88, .. }), "{err}");
        let sc = open(
            &mut card,
            route,
            host(&new, SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC, aid),
        )
        .unwrap();
        assert_eq!(sc.info().sequence_counter(), Some(0));
        assert_eq!(sc.info().key_version, 0x31);
        // Replace the MAC key alone (P2 02, one key): KVN 32, a 16-byte MAC key.
        let mut sc = sc;
        let single = StaticKeys::from_bytes(
            KeyType::Aes,
            &keys_of(16)[1],
            &keys_of(16)[1],
            &keys_of(16)[1],
            0x32,
        )
        .unwrap();
        let (data, _) = loader::client::put_key_data(&single, &sc).unwrap();
        // The first key block only: version byte, then one key.
        let one_key = &data[..1 + 2 + 1 + 16 + 4];
        let command = gp::commands::put_key(0x31, 2, one_key).unwrap().to_bytes();
        let mut command = command;
        command[3] = 0x02; // one key, id 2
        let r = exchange(&mut card, route, &sc.wrap(&command).unwrap());
        let plain = sc.unwrap(&r).unwrap();
        assert_eq!(sw(&plain), 0x9000, "{}", hx(&plain));
        assert_eq!(plain[..1], [0x32]);
        let [enc, _, dek] = keys_of(32);
        let mixed = Params {
            kvn: 0x32,
            ..Params::new(0x70).keys(&enc, &keys_of(16)[1], &dek)
        };
        let mut sc = open(&mut card, route, host(&mixed, SecurityLevel::C_MAC, aid)).unwrap();
        let r = exchange(&mut card, route, &sc.wrap(&h("80CA00E000")).unwrap());
        assert_eq!(
            sc.unwrap(&r).unwrap(),
            h("E012 C004013288 20 C004023288 10 C004033288 20 9000")
        );
        // Back to the test key, a new version (P1 00): the card's check
        // values are the vector's AES KCV of 40..4F, 504A77.
        let back = Params {
            kvn: 0x33,
            ..Params::new(0x70)
        };
        let (data, _) = loader::client::put_key_data(&back.static_keys(), &sc).unwrap();
        let command = gp::commands::put_key(0x00, 1, &data).unwrap().to_bytes();
        let r = exchange(&mut card, route, &sc.wrap(&command).unwrap());
        assert_eq!(sc.unwrap(&r).unwrap(), h("33 504A77 504A77 504A77 9000"));
        open(&mut card, route, host(&back, SecurityLevel::C_MAC, aid)).unwrap();
    }
}

#[test]
fn the_wallet_leaves_its_secure_messaging_to_the_service() {
    let Some(built) = built() else { return };
    let params = Params::new(0x70);
    // A PIN of 31 32 33 34 ("1234").
    let wallet_params = "020431323334".to_string();
    let mut card = start_card(
        built,
        &[
            (SC_AID, APPLET_CLASS, params.hex()),
            (WALLET_AID, WALLET_CLASS, wallet_params),
        ],
    );
    assert_eq!(card.select(WALLET_AID), h("9000"));
    assert_eq!(card.transmit(&h("8010000002")), h("00009000"));
    // Changing the balance needs a C-MAC session.
    assert_eq!(card.transmit(&h("801200000200FF")), h("6982"));
    let config = |level| host(&params, level, SC_AID);
    let mut sc = open(
        &mut card,
        Route::Direct,
        config(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC),
    )
    .unwrap();
    let send = |card: &mut Card, sc: &mut SecureChannel, c: &str| {
        let r = card.transmit(&sc.wrap(&h(c)).unwrap());
        sc.unwrap(&r).unwrap()
    };
    assert_eq!(send(&mut card, &mut sc, "80120000020100"), h("01009000"));
    assert_eq!(send(&mut card, &mut sc, "8010000002"), h("01009000"));
    // DEBIT needs the PIN; a wrong one is a warning, protected like a success.
    assert_eq!(send(&mut card, &mut sc, "80140000020040"), h("6982"));
    let mut sc = open(
        &mut card,
        Route::Direct,
        config(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC),
    )
    .unwrap();
    assert_eq!(send(&mut card, &mut sc, "002000800431323335"), h("63C2"));
    assert_eq!(send(&mut card, &mut sc, "002000800431323334"), h("9000"));
    assert_eq!(send(&mut card, &mut sc, "80140000020040"), h("00C09000"));
    assert_eq!(send(&mut card, &mut sc, "80140000020100"), h("6985"));
    // A flipped MAC: 6982, and the session is closed.
    let mut wire = sc.wrap(&h("80120000020001")).unwrap();
    let last = wire.len() - 1;
    wire[last] ^= 0x01;
    assert_eq!(card.transmit(&wire), h("6982"));
    let wire = sc.wrap(&h("80120000020001")).unwrap();
    assert_eq!(card.transmit(&wire), h("6982"));
    // A C-MAC-only session is enough; the balance persisted.
    let mut sc = open(&mut card, Route::Direct, config(SecurityLevel::C_MAC)).unwrap();
    assert_eq!(send(&mut card, &mut sc, "80120000020001"), h("00C19000"));
    // Selecting ends the session: the wallet resets it on selection.
    assert_eq!(card.select(WALLET_AID), h("9000"));
    let wire = sc.wrap(&h("80120000020001")).unwrap();
    assert_eq!(card.transmit(&wire), h("6982"));
    assert_eq!(card.transmit(&h("8010000002")), h("00C19000"));
    // A session opened on the secure-channel applet is not the wallet's.
    card.select(SC_AID);
    let _sc = open(&mut card, Route::Direct, config(SecurityLevel::C_MAC)).unwrap();
    card.select(WALLET_AID);
    assert_eq!(card.transmit(&h("801200000200FF")), h("6982"));
}
