//! The ISD's DAP key, its delegated management keys and the confirmation
//! counter are card state: `jct emu --state` keeps them across restarts
//! (and the power loss a killed process is), so a card started once with
//! `--dap-key` or `--token-key` goes on verifying without them, its
//! receipts never repeat a counter, and `--no-dap` / `--no-token-key` end
//! the roles. Only the public half of an RSA or ECC key reaches the state.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use p256::pkcs8::DecodePrivateKey;
use scp::dap::{DapKey, DapType};

mod support;

use support::emu_process::EmuProcess;
use support::shared;

const HELLO_PACKAGE: &str = "F00000000101";
const RECEIPT_KEY: &str = "000102030405060708090A0B0C0D0E0F";

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

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `jct emu --state STATE ARGS`.
fn start(state: &Path, args: &[&str]) -> EmuProcess {
    let mut all = vec!["--state", s(state)];
    all.extend_from_slice(args);
    EmuProcess::start(&all)
}

/// `jct ARGS` (offline: token and DAP signing), which must succeed.
fn offline(args: &[&str]) {
    let o = Command::cargo_bin("jct")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `jct ARGS` against `emu` and returns its output.
fn run(emu: &EmuProcess, args: &[&str]) -> std::process::Output {
    emu.jct(args).output().unwrap()
}

fn ok_json(o: std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn refused(o: &std::process::Output, sw: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "passed, {sw} expected");
    assert!(err.contains(sw), "{sw} expected in: {err}");
}

fn lists_hello(emu: &EmuProcess) -> bool {
    let o = run(emu, &["list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).contains(HELLO_PACKAGE)
}

/// Every byte of the state directory, for what it must and must not hold.
fn state_bytes(dir: &Path) -> String {
    let mut out = String::new();
    for entry in walk(dir) {
        out.push_str(&String::from_utf8_lossy(&std::fs::read(entry).unwrap()));
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn delegated_management_and_its_counter_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card");
    let token_key = format!("rsa:{}", key_data("dap_rsa1024_pub.pem").display());
    let receipt = format!("aes:{RECEIPT_KEY}");
    let load_token = dir.path().join("load.token");
    offline(&[
        "token",
        "load",
        &hello(),
        "--key",
        s(&key_data("dap_rsa1024.pem")),
        "-o",
        s(&load_token),
    ]);
    let delete_token = dir.path().join("delete.token");
    offline(&[
        "token",
        "delete",
        HELLO_PACKAGE,
        "--key",
        s(&key_data("dap_rsa1024.pem")),
        "-o",
        s(&delete_token),
    ]);

    // First start: the keys are given; the load is confirmation 1.
    let emu = start(
        &state,
        &["--token-key", &token_key, "--receipt-key", &receipt],
    );
    let json = ok_json(run(
        &emu,
        &[
            "load",
            &hello(),
            "--token",
            s(&load_token),
            "--receipt-key",
            &receipt,
            "--json",
        ],
    ));
    assert_eq!(json["receipt_verified"], true);
    assert_eq!(json["confirmations"][0]["confirmation"]["counter"], 1);
    drop(emu);

    // Restarted with no key options: still delegated management, and the
    // counter goes on from 1.
    let emu = start(&state, &[]);
    assert!(
        emu.notes.iter().any(
            |n| n.contains("delegated management") && n.contains("last confirmation counter 1")
        ),
        "{:?}",
        emu.notes
    );
    refused(&run(&emu, &["delete", HELLO_PACKAGE]), "6985");
    assert!(lists_hello(&emu));
    let json = ok_json(run(
        &emu,
        &[
            "delete",
            HELLO_PACKAGE,
            "--token",
            s(&delete_token),
            "--receipt-key",
            &receipt,
            "--json",
        ],
    ));
    assert_eq!(json["receipt_verified"], true);
    assert_eq!(json["confirmation"]["counter"], 2);
    assert!(!lists_hello(&emu));
    drop(emu);

    // The public key is kept, never the private one.
    let kept = state_bytes(&state);
    let public = DapKey::parse(
        DapType::Rsa,
        &std::fs::read_to_string(key_data("dap_rsa1024_pub.pem")).unwrap(),
    )
    .unwrap();
    assert!(kept.contains(public.verifying_material().unwrap().as_str()));
    assert!(!kept.contains("-----BEGIN"));

    // --no-token-key ends delegated management: a load needs no token and
    // gets no confirmation.
    let emu = start(&state, &["--no-token-key"]);
    let o = run(&emu, &["load", &hello()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(lists_hello(&emu));
    drop(emu);
    let emu = start(&state, &[]);
    assert!(
        !emu.notes.iter().any(|n| n.contains("delegated management")),
        "{:?}",
        emu.notes
    );
    drop(emu);

    // Given again, the counter goes on where it stopped: 3.
    let emu = start(
        &state,
        &["--token-key", &token_key, "--receipt-key", &receipt],
    );
    let json = ok_json(run(
        &emu,
        &[
            "delete",
            HELLO_PACKAGE,
            "--token",
            s(&delete_token),
            "--receipt-key",
            &receipt,
            "--json",
        ],
    ));
    assert_eq!(json["confirmation"]["counter"], 3);
}

#[test]
fn the_dap_key_survives_restarts_and_no_dap_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card");
    let private = key_data("dap_p256.pem");
    let isd = "A000000151000000";
    let dap = dir.path().join("hello.dap");
    offline(&[
        "dap",
        "sign",
        "--key",
        s(&private),
        "--type",
        "ecc",
        "--sd",
        isd,
        "--hash",
        "sha256",
        &hello(),
        "-o",
        s(&dap),
    ]);

    // Given the private key, the card keeps only its public point.
    let emu = start(
        &state,
        &["--mandated-dap-key", &format!("ecc:{}", private.display())],
    );
    assert!(
        emu.notes
            .iter()
            .any(|n| n.contains("Mandated DAP Verification")),
        "{:?}",
        emu.notes
    );
    drop(emu);
    let kept = state_bytes(&state);
    let key = DapKey::parse(DapType::Ecc, &std::fs::read_to_string(&private).unwrap()).unwrap();
    assert!(kept.contains(key.verifying_material().unwrap().as_str()));
    assert!(!kept.contains("-----BEGIN"));
    let scalar =
        p256::ecdsa::SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&private).unwrap())
            .unwrap()
            .to_bytes();
    assert!(!kept.contains(&hex::encode_upper(scalar)) && !kept.contains(&hex::encode(scalar)));

    // Restarted without the option: a load without a DAP is still refused,
    // the signed one loads.
    let emu = start(&state, &[]);
    assert!(
        emu.notes
            .iter()
            .any(|n| n.contains("Mandated DAP Verification")),
        "{:?}",
        emu.notes
    );
    refused(&run(&emu, &["load", &hello(), "--hash", "sha256"]), "6985");
    assert!(!lists_hello(&emu));
    let o = run(&emu, &["load", &hello(), "--dap", s(&dap)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(lists_hello(&emu));
    let o = run(&emu, &["delete", HELLO_PACKAGE]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    drop(emu);

    // --no-dap: a load without a DAP goes through, and stays so.
    let emu = start(&state, &["--no-dap"]);
    drop(emu);
    let emu = start(&state, &[]);
    assert!(
        !emu.notes.iter().any(|n| n.contains("DAP")),
        "{:?}",
        emu.notes
    );
    let o = run(&emu, &["load", &hello()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
