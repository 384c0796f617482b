//! DAP verification end to end: `jct dap sign` makes the DAP file, `jct
//! load --dap` sends its hash in INSTALL [for load] and its E2 block before
//! C4, and the jct emulator's ISD (with the DAP Verification or Mandated
//! DAP Verification privilege) accepts a good DAP, refuses a wrong one
//! (6A80) and a missing one (6985), leaving nothing loaded — for each of
//! the DES, AES, RSA and ECC schemes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use emulator::dap::DapPolicy;
use emulator::{Card, CardProfile};
use scp::dap::{DapKey, DapType};
use scp::keys::{Key, StaticKeys};

mod support;

use support::{shared, Emu, TEST_KEY};

const HELLO_AID: &str = "F00000000101";

fn hello() -> String {
    shared()
        .join("converter-reference/oracle-3.0.5/hello.cap")
        .display()
        .to_string()
}

fn key_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scp/tests/data")
        .join(name)
}

/// An emulator whose ISD verifies DAPs with `verify` (a key file or hex).
fn emu(ty: DapType, verify: &str, mandated: bool) -> (Emu, String) {
    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::single(Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap(), 1);
    let mut card = Card::open(dir.path().join("card.json"), CardProfile::default(), keys).unwrap();
    let material = match std::fs::read_to_string(verify) {
        Ok(text) => text,
        Err(_) => verify.to_string(),
    };
    let key = DapKey::parse(ty, &material).unwrap();
    let isd = hex::encode_upper(card.state().isd_aid());
    card.set_dap(Some(DapPolicy { key, mandated })).unwrap();
    (Emu::serve(card, dir), isd)
}

fn sign(ty: &str, key: &str, sd: &str, hash: &str, out: &Path) {
    let o = Command::cargo_bin("jct")
        .unwrap()
        .args(["dap", "sign", "--key", key, "--type", ty, "--sd", sd])
        .args(["--hash", hash, &hello(), "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "jct dap sign: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The DAP file at `path` with one bit of its signature flipped.
fn tampered(path: &Path) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut sig = hex::decode(v["signature"].as_str().unwrap()).unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 0x01;
    v["signature"] = serde_json::Value::String(hex::encode_upper(sig));
    let out = path.with_extension("bad");
    std::fs::write(&out, v.to_string()).unwrap();
    out
}

/// `jct load` of hello with the DAP file `dap`; without one, with the
/// hash alone (`--hash`) when `hash` is given.
fn load_with(emu: &Emu, dap: Option<&Path>, hash: Option<&str>) -> std::process::Output {
    let mut args = vec!["load".to_string(), hello()];
    if let Some(d) = dap {
        args.push("--dap".into());
        args.push(d.display().to_string());
    }
    if let Some(h) = hash {
        args.push("--hash".into());
        args.push(h.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    emu.jct(&args).output().unwrap()
}

fn load(emu: &Emu, dap: Option<&Path>) -> std::process::Output {
    load_with(emu, dap, None)
}

fn refused(o: &std::process::Output, sw: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the load passed");
    assert!(err.contains(sw), "{sw} expected in: {err}");
}

/// Wrong and missing DAPs are refused with nothing left; the good one loads.
fn scheme(ty: DapType, sign_key: &str, verify_key: &str, hash: &str, mandated: bool) {
    let (emu, isd) = emu(ty, verify_key, mandated);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("hello.dap");
    sign(ty.name(), sign_key, &isd, hash, &good);
    // No hash at all: INSTALL [for load] is refused (the DAP signs the hash).
    refused(&load(&emu, None), "6A80");
    // The hash without a DAP block: the last LOAD is refused.
    refused(&load_with(&emu, None, Some(hash)), "6985");
    assert!(!emu.list().contains(HELLO_AID));
    refused(&load(&emu, Some(&tampered(&good))), "6A80");
    assert!(!emu.list().contains(HELLO_AID));
    // A DAP for another security domain is no DAP for the ISD.
    let other = dir.path().join("other.dap");
    sign(ty.name(), sign_key, "A0000000990001", hash, &other);
    refused(&load(&emu, Some(&other)), "6985");
    let o = load(&emu, Some(&good));
    assert!(
        o.status.success(),
        "good DAP refused: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(emu.list().contains(HELLO_AID));
}

#[test]
fn des_dap() {
    scheme(
        DapType::Des,
        "00112233445566778899AABBCCDDEEFF",
        "00112233445566778899AABBCCDDEEFF",
        "sha1",
        false,
    );
}

#[test]
fn aes_dap_mandated() {
    let k = "000102030405060708090A0B0C0D0E0F";
    scheme(DapType::Aes, k, k, "sha256", true);
}

#[test]
fn rsa_dap() {
    let private = key_data("dap_rsa1024.pem").display().to_string();
    let public = key_data("dap_rsa1024_pub.pem").display().to_string();
    scheme(DapType::Rsa, &private, &public, "sha1", false);
}

#[test]
fn ecc_dap_mandated() {
    let private = key_data("dap_p256.pem").display().to_string();
    let public = key_data("dap_p256_pub.pem").display().to_string();
    scheme(DapType::Ecc, &private, &public, "sha256", true);
}

/// A DAP file for another CAP or made over other bytes stops before any
/// command, naming what differs.
#[test]
fn dap_of_another_load_file_is_refused_by_the_loader() {
    let k = "000102030405060708090A0B0C0D0E0F";
    let (emu, isd) = emu(DapType::Aes, k, false);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("hello.dap");
    sign("aes", k, &isd, "sha256", &good);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    v["hash"] = serde_json::Value::String("00".repeat(32));
    let bad = dir.path().join("other-hash.dap");
    std::fs::write(&bad, v.to_string()).unwrap();
    let o = load(&emu, Some(&bad));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("hashes to"), "{err}");
}
