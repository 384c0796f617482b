//! `jct keys probe` against jct emu cards: the right candidate and
//! diversification are found from INITIALIZE UPDATE answers alone, and no
//! authentication try is spent, however often it runs and whatever it
//! tries (the card's failure counter is read back).

mod support;

use std::path::Path;

use assert_cmd::Command;
use emulator::{Card, CardProfile};
use scp::keys::{Diversification, Key, StaticKeys};
use scp::{ChallengeSource, ScpError};
use support::{Emu, XorShift};

const MASTER: &str = "11223344556677881122334455667788";

/// A reproducible card RNG: two cards made with one seed get the same
/// serial number, hence the same key diversification data.
struct Seeded(XorShift);

impl ChallengeSource for Seeded {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), ScpError> {
        for b in out {
            *b = self.0.next() as u8;
        }
        Ok(())
    }
}

/// A card whose key set is `master` diversified by `method` for its own
/// KDD, allowing three failed authentications.
fn diversified_card(scp02: bool, method: Diversification) -> Emu {
    let profile = CardProfile {
        scp02_i: 0x55,
        max_auth_failures: 3,
        ..CardProfile::default()
    };
    let key = |b: &[u8]| {
        if scp02 {
            Key::des3(b).unwrap()
        } else {
            Key::aes(b).unwrap()
        }
    };
    let master = StaticKeys::single(key(&hex::decode(MASTER).unwrap()), 1);
    let seed = 0x5EED_0001;
    let probe_card = Card::with_rng(
        profile.clone(),
        master.clone(),
        Box::new(Seeded(XorShift(seed))),
    )
    .unwrap();
    let kdd = emulator::recognition::kdd(probe_card.state());
    let keys = master.diversify(method, &kdd).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let card = Card::open_with_rng(
        dir.path().join("card.json"),
        profile,
        keys,
        Box::new(Seeded(XorShift(seed))),
    )
    .unwrap();
    assert_eq!(emulator::recognition::kdd(card.state()), kdd);
    Emu::serve(card, dir)
}

fn probe(emu: &Emu, args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("jct")
        .unwrap()
        .args(["keys", "probe", "--emu", &emu.addr])
        .args(args)
        .env_remove("JCT_KEY")
        .env_remove("JCT_EMU")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn candidates_file(dir: &Path, text: &str) -> String {
    let path = dir.join("keys.txt");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_default_test_key_is_found_on_a_plain_card() {
    for scp02 in [false, true] {
        let emu = Emu::start(scp02, "3.0.5");
        let (ok, out, err) = probe(&emu, &[]);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains("match: gp-test-key (diversification none"),
            "{out}"
        );
        assert!(out.contains("no authentication try was spent"), "{out}");
    }
}

#[test]
fn a_diversified_master_is_found_with_its_method_and_no_try_is_spent() {
    let dir = tempfile::tempdir().unwrap();
    let file = candidates_file(
        dir.path(),
        &format!("# issuer keys\nwrong 00112233445566778899AABBCCDDEEFF\nissuer {MASTER}  # the master\n"),
    );
    for (scp02, method, name) in [
        (true, Diversification::EmvCps11, "emv"),
        (true, Diversification::Visa2, "visa2"),
        (false, Diversification::Kdf3, "kdf3"),
        (false, Diversification::None, "none"),
    ] {
        let emu = diversified_card(scp02, method);
        // Far more probes than the card allows failed authentications.
        for _ in 0..5 {
            let (ok, out, err) = probe(&emu, &["--candidates", &file, "--json"]);
            assert!(ok, "{name}: {out}{err}");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let matches = v["probes"][0]["matches"].as_array().unwrap();
            assert_eq!(matches.len(), 1, "{name}: {out}");
            assert_eq!(matches[0]["candidate"], "issuer", "{name}");
            assert_eq!(matches[0]["diversification"], name);
            assert_eq!(v["external_authenticate_sent"], false);
            assert!(v["probes"][0]["tried"].as_u64().unwrap() >= 6, "{out}");
        }
        // The card still takes the right keys: nothing was counted (three
        // failures would have blocked the key set).
        let (ok, out, err) = probe(&emu, &["--candidates", &file, "--no-defaults", "--confirm"]);
        assert!(ok, "{name}: {out}{err}");
        assert!(
            out.contains("confirmed: a secure channel opened with issuer"),
            "{out}"
        );
    }
}

#[test]
fn unknown_keys_fail_clearly_and_spend_nothing() {
    let emu = diversified_card(false, Diversification::Kdf3);
    for _ in 0..5 {
        let (ok, out, err) = probe(&emu, &[]);
        assert!(!ok, "{out}");
        assert!(out.contains("no match"), "{out}");
        assert!(err.contains("no candidate matches"), "{err}");
        assert!(err.contains("no authentication try spent"), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = candidates_file(dir.path(), &format!("issuer {MASTER}\n"));
    let (ok, out, err) = probe(&emu, &["--candidates", &file, "--confirm"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("diversification kdf3"), "{out}");
}

#[test]
fn a_bad_candidates_file_names_the_line() {
    let emu = Emu::start(false, "3.0.5");
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        (
            "ok 404142434445464748494A4B4C4D4E4F\nbad XYZ\n",
            "keys.txt:2: 'XYZ' is not hex",
        ),
        ("short 0102\n", "keys.txt:1: a 2-byte key"),
        (
            "a b c\n",
            "keys.txt:1: expected `LABEL KEY` or `LABEL ENC MAC DEK`, got 3 fields",
        ),
    ] {
        let file = candidates_file(dir.path(), text);
        let (ok, _, err) = probe(&emu, &["--candidates", &file]);
        assert!(!ok);
        assert!(err.contains(want), "{err}");
    }
    let (ok, _, err) = probe(&emu, &["--no-defaults"]);
    assert!(!ok);
    assert!(err.contains("no candidate keys"), "{err}");
}
