//! Delegated management end to end: `jct token delete` signs a DELETE with
//! the issuer's token key, `jct delete --token` sends it (tag 9E), the jct
//! emulator's ISD verifies it — missing 6985, wrong 6A80, nothing deleted
//! — and confirms with a receipt that `--receipt-key` checks. The same
//! for `jct token load/install` and `jct load/install --token`: the ISD
//! verifies the Load and Install Token fields of INSTALL, loads or
//! installs nothing when refused, and confirms with the last LOAD's and
//! the INSTALL's responses.

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

const HELLO_APPLET: &str = "F0000000010101";
/// The instance the install tests create: not a prefix or part of the
/// package and applet AIDs `jct list` shows for the load file.
const INSTANCE: &str = "F00000000101AA";

fn hello() -> String {
    shared()
        .join("converter-reference/oracle-3.0.5/hello.cap")
        .display()
        .to_string()
}

/// A card whose ISD performs delegated management, with nothing loaded.
fn empty_emu() -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let keys = StaticKeys::single(Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap(), 1);
    let mut card = Card::open(dir.path().join("card.json"), CardProfile::default(), keys).unwrap();
    let public = std::fs::read_to_string(key_data("dap_rsa1024_pub.pem")).unwrap();
    card.set_delegated(Some(DelegatedPolicy {
        token_key: DapKey::parse(DapType::Rsa, &public).unwrap(),
        receipt_key: Some(DapKey::parse(DapType::Aes, RECEIPT_KEY).unwrap()),
    }))
    .unwrap();
    Emu::serve(card, dir)
}

/// `empty_emu` with hello's package loaded under a load token.
fn emu() -> Emu {
    let emu = empty_emu();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("load.token");
    make_token(&["load", &hello()], &t);
    let o = emu
        .jct(&["load", &hello(), "--token", t.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    emu
}

/// `jct token ARGS --key the issuer's key -o out`.
fn make_token(args: &[&str], out: &Path) {
    let o = Command::cargo_bin("jct")
        .unwrap()
        .arg("token")
        .args(args)
        .arg("--key")
        .arg(key_data("dap_rsa1024.pem"))
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A copy of the token file `good` with one bit of the token flipped.
fn corrupt(good: &Path, out: &Path) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(good).unwrap()).unwrap();
    let mut t = hex::decode(v["token"].as_str().unwrap()).unwrap();
    t[10] ^= 0x01;
    v["token"] = serde_json::Value::String(hex::encode_upper(t));
    std::fs::write(out, v.to_string()).unwrap();
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
    // The second confirmation of this card: the load in `emu()` was the first.
    assert_eq!(json["confirmation"]["counter"], 2);
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

#[test]
fn load_tokens_and_receipts() {
    let emu = empty_emu();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("load.token");
    make_token(&["load", &hello()], &good);
    let bad = dir.path().join("bad.token");
    corrupt(&good, &bad);

    // Missing: 6985, nothing loaded.
    let o = emu.jct(&["load", &hello()]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6985"));
    assert!(!emu.list().contains(HELLO_PACKAGE));

    // Wrong: 6A80, nothing loaded.
    let o = emu
        .jct(&["load", &hello(), "--token", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6A80"));
    assert!(!emu.list().contains(HELLO_PACKAGE));

    // A token over other INSTALL [for load] data (a hash this load does
    // not send) is wrong too.
    let other = dir.path().join("sha1.token");
    make_token(&["load", &hello(), "--hash", "sha1"], &other);
    let o = emu
        .jct(&["load", &hello(), "--token", other.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("6A80"));
    assert!(!emu.list().contains(HELLO_PACKAGE));

    // Good: loaded, the receipt of the last LOAD's confirmation verified.
    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = emu
        .jct(&[
            "load",
            &hello(),
            "--token",
            good.to_str().unwrap(),
            "--receipt-key",
            &receipt_key,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    let c = &json["confirmations"][0];
    assert_eq!(c["command"], "load");
    assert_eq!(c["load_file"], HELLO_PACKAGE);
    assert_eq!(c["confirmation"]["counter"], 1);
    assert_eq!(c["confirmation"]["receipt"].as_str().unwrap().len(), 32);
    assert!(emu.list().contains(HELLO_PACKAGE));
}

#[test]
fn install_tokens_and_receipts() {
    let emu = emu();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("install.token");
    make_token(&["install", &hello(), "--instance", INSTANCE], &good);
    let bad = dir.path().join("bad.token");
    corrupt(&good, &bad);
    let install = |extra: &[&str]| {
        let mut args = vec!["install", "--no-load", "--instance", INSTANCE];
        let h = hello();
        args.push(&h);
        args.extend_from_slice(extra);
        emu.jct(&args).output().unwrap()
    };

    // Missing: 6985, no instance.
    let o = install(&[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6985"));
    assert!(!emu.list().contains(INSTANCE));

    // Wrong: 6A80, no instance.
    let o = install(&["--token", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("6A80"));
    assert!(!emu.list().contains(INSTANCE));

    // A token signed over other privileges is wrong for this install.
    let other = dir.path().join("privs.token");
    make_token(
        &[
            "install",
            &hello(),
            "--instance",
            INSTANCE,
            "--privs",
            "CardReset",
        ],
        &other,
    );
    let o = install(&["--token", other.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("6A80"));
    assert!(!emu.list().contains(INSTANCE));

    // Good: installed, the INSTALL's receipt verified.
    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = install(&[
        "--token",
        good.to_str().unwrap(),
        "--receipt-key",
        &receipt_key,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    let c = &json["confirmations"][0];
    assert_eq!(c["command"], "install");
    assert_eq!(c["target"], INSTANCE);
    assert!(emu.list().contains(INSTANCE));
}

#[test]
fn install_from_aids_and_with_the_load() {
    // The install token made from the AIDs alone is the one made from
    // the CAP, and `jct install` takes the load and the install token.
    let emu = empty_emu();
    let dir = tempfile::tempdir().unwrap();
    let load = dir.path().join("load.token");
    make_token(&["load", &hello()], &load);
    let install = dir.path().join("install.token");
    make_token(
        &[
            "install",
            "--package",
            HELLO_PACKAGE,
            "--applet",
            HELLO_APPLET,
            "--instance",
            INSTANCE,
        ],
        &install,
    );
    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = emu
        .jct(&[
            "install",
            &hello(),
            "--instance",
            INSTANCE,
            "--token",
            load.to_str().unwrap(),
            "--token",
            install.to_str().unwrap(),
            "--receipt-key",
            &receipt_key,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    let commands: Vec<&str> = json["confirmations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["load", "install"]);
    assert_eq!(json["confirmations"][1]["confirmation"]["counter"], 2);
    assert!(emu.list().contains(INSTANCE));
}

#[test]
fn a_wrong_receipt_key_is_reported_for_a_load() {
    let emu = empty_emu();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("load.token");
    make_token(&["load", &hello()], &good);
    let o = emu
        .jct(&[
            "load",
            &hello(),
            "--token",
            good.to_str().unwrap(),
            "--receipt-key",
            "aes:404142434445464748494A4B4C4D4E4F",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("load receipt"), "{err}");
}

/// The life cycle `jct list --json` shows for `aid`.
fn life_cycle(emu: &Emu, aid: &str) -> Option<u64> {
    let o = emu.jct(&["list", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    list["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["aid"] == aid)
        .and_then(|a| a["life_cycle"].as_u64())
}

#[test]
fn make_selectable_alone_needs_its_own_token() {
    let emu = emu();
    let dir = tempfile::tempdir().unwrap();
    let install = dir.path().join("install.token");
    make_token(
        &[
            "install",
            &hello(),
            "--instance",
            INSTANCE,
            "--no-make-selectable",
        ],
        &install,
    );
    let o = emu
        .jct(&[
            "install",
            "--no-load",
            &hello(),
            "--instance",
            INSTANCE,
            "--no-make-selectable",
            "--token",
            install.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(life_cycle(&emu, INSTANCE), Some(0x03));

    let good = dir.path().join("selectable.token");
    make_token(&["make-selectable", INSTANCE], &good);
    let bad = dir.path().join("bad.token");
    corrupt(&good, &bad);
    // Signed over other privileges: not this command.
    let privs = dir.path().join("privs.token");
    make_token(
        &["make-selectable", INSTANCE, "--privs", "CardReset"],
        &privs,
    );
    let selectable = |extra: &[&str]| {
        let mut args = vec!["make-selectable", INSTANCE];
        args.extend_from_slice(extra);
        emu.jct(&args).output().unwrap()
    };
    for (extra, sw) in [
        (vec![], "6985"),
        (vec!["--token", bad.to_str().unwrap()], "6A80"),
        (vec!["--token", privs.to_str().unwrap()], "6A80"),
    ] {
        let o = selectable(&extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(sw), "{extra:?}: {err}");
        assert_eq!(life_cycle(&emu, INSTANCE), Some(0x03), "{extra:?}");
    }
    // A token for the install is no token for make selectable.
    let o = selectable(&["--token", install.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("make-selectable"),
        "{err}"
    );

    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = selectable(&[
        "--token",
        good.to_str().unwrap(),
        "--receipt-key",
        &receipt_key,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    let c = &json["confirmations"][0];
    assert_eq!(c["command"], "make-selectable");
    assert_eq!(c["target"], INSTANCE);
    // load (1), install (2), make selectable (3).
    assert_eq!(c["confirmation"]["counter"], 3);
    assert_eq!(life_cycle(&emu, INSTANCE), Some(0x07));
}

#[test]
fn install_tokens_cover_the_system_parameters() {
    let emu = emu();
    let dir = tempfile::tempdir().unwrap();
    let quota = ["--volatile-memory", "256", "--nonvolatile-memory", "4096"];
    let good = dir.path().join("quota.token");
    let h = hello();
    let mut args = vec!["install", &h, "--instance", INSTANCE];
    args.extend_from_slice(&quota);
    make_token(&args, &good);
    let install = |extra: &[&str]| {
        let h = hello();
        let mut args = vec!["install", "--no-load", &h, "--instance", INSTANCE];
        args.extend_from_slice(extra);
        emu.jct(&args).output().unwrap()
    };
    let token = ["--token", good.to_str().unwrap()];
    // The same token with another quota, or none: not the signed command.
    for other in [
        &["--volatile-memory", "512", "--nonvolatile-memory", "4096"][..],
        &[][..],
    ] {
        let o = install(&[&token[..], other].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains("6A80"),
            "{other:?}: {err}"
        );
        assert!(!emu.list().contains(INSTANCE));
    }
    let receipt_key = format!("aes:{RECEIPT_KEY}");
    let o = install(
        &[
            &token[..],
            &quota[..],
            &["--receipt-key", &receipt_key, "--json"],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["receipt_verified"], true);
    assert!(emu.list().contains(INSTANCE));
}
