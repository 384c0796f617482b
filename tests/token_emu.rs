//! Delegated management end to end: `jct token delete` signs a DELETE with
//! the issuer's token key, `jct delete --token` sends it (tag 9E), the jct
//! emulator's ISD verifies it — missing 6985, wrong 6A80, nothing deleted
//! — and confirms with a receipt that `--receipt-key` checks.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use emulator::dap::DelegatedPolicy;
use emulator::{Card, CardProfile};
use scp::dap::{DapKey, DapType};
use scp::keys::{Key, StaticKeys};

mod support;

use support::{shared, Emu, TEST_KEY};

const HELLO_PACKAGE: &str = "F00000000101";
const RECEIPT_KEY: &str = "000102030405060708090A0B0C0D0E0F";

fn key_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scp/tests/data")
        .join(name)
}

fn emu() -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::single(Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap(), 1);
    let mut card = Card::open(dir.path().join("card.json"), CardProfile::default(), keys).unwrap();
    let public = std::fs::read_to_string(key_data("dap_rsa1024_pub.pem")).unwrap();
    card.set_delegated(Some(DelegatedPolicy {
        token_key: DapKey::parse(DapType::Rsa, &public).unwrap(),
        receipt_key: Some(DapKey::parse(DapType::Aes, RECEIPT_KEY).unwrap()),
        counter: 0,
    }));
    let emu = Emu::serve(card, dir);
    let hello = shared().join("converter-reference/oracle-3.0.5/hello.cap");
    let o = emu
        .jct(&["load", &hello.display().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    emu
}

fn token(aid: &str, out: &Path) {
    let o = Command::cargo_bin("jct")
        .unwrap()
        .args(["token", "delete", "--key"])
        .arg(key_data("dap_rsa1024.pem"))
        .args([aid, "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn delete(emu: &Emu, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["delete", HELLO_PACKAGE];
    args.extend_from_slice(extra);
    emu.jct(&args).output().unwrap()
}

#[test]
fn delete_tokens_and_receipts() {
    let emu = emu();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("delete.token");
    token(HELLO_PACKAGE, &good);

    // Missing: 6985, the package stays.
    let o = delete(&emu, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6985"));
    assert!(emu.list().contains(HELLO_PACKAGE));

    // Wrong (one bit flipped): 6A80, the package stays.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let mut t = hex::decode(v["token"].as_str().unwrap()).unwrap();
    t[10] ^= 0x01;
    v["token"] = serde_json::Value::String(hex::encode_upper(t));
    let bad = dir.path().join("bad.token");
    std::fs::write(&bad, v.to_string()).unwrap();
    let o = delete(&emu, &["--token", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6A80"));
    assert!(emu.list().contains(HELLO_PACKAGE));

    // A token for another AID stops in the loader, naming both.
    let other = dir.path().join("other.token");
    token("F00000000102", &other);
    let o = delete(&emu, &["--token", other.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("F00000000102") && err.contains(HELLO_PACKAGE),
        "{err}"
    );

    // Good, with the receipt checked under the receipt key.
    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = delete(
        &emu,
        &[
            "--token",
            good.to_str().unwrap(),
            "--receipt-key",
            &receipt_key,
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    assert_eq!(json["confirmation"]["counter"], 1);
    assert_eq!(json["confirmation"]["receipt"].as_str().unwrap().len(), 32);
    assert!(!emu.list().contains(HELLO_PACKAGE));
}

#[test]
fn a_wrong_receipt_key_is_reported() {
    let emu = emu();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("delete.token");
    token(HELLO_PACKAGE, &good);
    let o = delete(
        &emu,
        &[
            "--token",
            good.to_str().unwrap(),
            "--receipt-key",
            "aes:404142434445464748494A4B4C4D4E4F",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("receipt"), "{err}");
}
