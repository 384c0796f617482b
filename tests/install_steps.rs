//! End to end against `jct emu`: structured install parameters (C9, the
//! system specific parameters in EF with memory quotas, toolkit
//! parameters), the separate INSTALL [for install] and [for make
//! selectable] steps, and the `--json` output of every card command,
//! successes and failures (the status word with its explanation).

use serde_json::Value;

mod support;

use support::{shared, Emu};

const CRYPTO_PACKAGE: &str = "F00000000104";
const CRYPTO_APPLET: &str = "F0000000010401";

fn cap(rel: &str) -> String {
    shared().join(rel).display().to_string()
}

/// Runs `jct` and parses its stdout as JSON, asserting the exit status.
fn json(emu: &Emu, args: &[&str], success: bool) -> Value {
    let out = emu.jct(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.success(), success, "jct {args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "jct {args:?}: stdout is not JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A failure's JSON: not ok, the command, status word and explanation.
fn assert_failure(v: &Value, command: &str, sw: &str, words: &str) {
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["command"], command, "{v}");
    assert_eq!(v["sw"], sw, "{v}");
    let explanation = v["explanation"].as_str().unwrap_or_default();
    assert!(explanation.contains(words), "{v}");
    let error = v["error"].as_str().unwrap_or_default();
    assert!(error.contains(sw), "{v}");
}

#[test]
fn memory_quotas_are_enforced_on_what_install_allocates() {
    let emu = Emu::start(false, "3.0.5");
    let crypto = cap("converter-reference/oracle-3.0.5/crypto.cap");
    // The applet's constructor makes a 64-byte transient array: a
    // volatile quota of 32 bytes refuses it, and the card answers 6A84.
    let v = json(
        &emu,
        &["install", &crypto, "--volatile-memory", "32", "--json"],
        false,
    );
    assert_failure(&v, "INSTALL [for install]", "6A84", "quota");
    assert!(
        v["error"].as_str().unwrap().contains("deleted again"),
        "{v}"
    );
    // Its persistent objects do not fit 16 bytes of non-volatile quota.
    let v = json(
        &emu,
        &["install", &crypto, "--nonvolatile-memory", "16", "--json"],
        false,
    );
    assert_failure(&v, "INSTALL [for install]", "6A84", "memory");
    // A memory size of 3 bytes is malformed: 6A80.
    let v = json(
        &emu,
        &[
            "install",
            &crypto,
            "--system-params",
            "C703000100",
            "--json",
        ],
        false,
    );
    assert_failure(&v, "INSTALL [for install]", "6A80", "EF");
    // Room enough: installed, the quotas and the toolkit parameters
    // accepted.
    let v = json(
        &emu,
        &[
            "install",
            &crypto,
            "--volatile-memory",
            "4096",
            "--nonvolatile-memory",
            "65536",
            "--toolkit-params",
            "0102",
            "--params-c9",
            "",
            "--json",
        ],
        true,
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["package"], CRYPTO_PACKAGE, "{v}");
    assert_eq!(v["installed"][0], CRYPTO_APPLET, "{v}");
    assert_eq!(v["life_cycle"], "SELECTABLE", "{v}");
    assert_eq!(v["compatible"], true, "{v}");
}

#[test]
fn install_alone_then_make_selectable() {
    let emu = Emu::start(false, "3.0.5");
    let crypto = cap("converter-reference/oracle-3.0.5/crypto.cap");
    let v = json(
        &emu,
        &["install", &crypto, "--no-make-selectable", "--json"],
        true,
    );
    assert_eq!(v["installed"][0], CRYPTO_APPLET, "{v}");
    assert_eq!(v["life_cycle"], "INSTALLED", "{v}");
    let list = json(&emu, &["list", "--json"], true);
    let app = list["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["aid"] == CRYPTO_APPLET)
        .unwrap_or_else(|| panic!("{list}"))
        .clone();
    assert_eq!(app["life_cycle"], 0x03, "{app}");
    // INSTALLED is not selectable: SELECT finds nothing.
    let v = json(
        &emu,
        &["apdu", "--select", CRYPTO_APPLET, "00010000", "--json"],
        true,
    );
    let select = &v["responses"][0];
    assert_eq!(select["sw"], "6A82", "{v}");
    assert_eq!(select["command"], format!("00A4040007{CRYPTO_APPLET}00"));
    assert!(
        select["explanation"]
            .as_str()
            .unwrap()
            .contains("no application"),
        "{v}"
    );
    // INSTALL [for make selectable], then SELECT succeeds.
    let v = json(
        &emu,
        &[
            "make-selectable",
            CRYPTO_APPLET,
            "--privs",
            "CardReset",
            "--json",
        ],
        true,
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["aid"], CRYPTO_APPLET, "{v}");
    assert_eq!(v["life_cycle"], "SELECTABLE", "{v}");
    assert_eq!(v["privileges"][0], "CardReset", "{v}");
    let v = json(
        &emu,
        &["apdu", "--select", CRYPTO_APPLET, "00010000", "--json"],
        true,
    );
    assert_eq!(v["responses"][0]["sw"], "9000", "{v}");
    assert_eq!(v["responses"][0]["explanation"], Value::Null, "{v}");
    // A second time: it is SELECTABLE already, 6985.
    let v = json(&emu, &["make-selectable", CRYPTO_APPLET, "--json"], false);
    assert_failure(&v, "INSTALL [for make selectable]", "6985", "not INSTALLED");
    // Nothing of that AID: 6A88.
    let v = json(&emu, &["make-selectable", "F0000000FFFF", "--json"], false);
    assert_failure(&v, "INSTALL [for make selectable]", "6A88", "no instance");
    // --no-load installs again from the package on the card, alone.
    let v = json(
        &emu,
        &[
            "install",
            &crypto,
            "--no-load",
            "--no-make-selectable",
            "--instance",
            "F0000000010402",
            "--json",
        ],
        true,
    );
    assert_eq!(v["installed"][0], "F0000000010402", "{v}");
    assert_eq!(v["life_cycle"], "INSTALLED", "{v}");
}

#[test]
fn every_card_command_prints_json() {
    let emu = Emu::start(false, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    let v = json(&emu, &["install", &hello, "--json"], true);
    assert_eq!(v["installed"][0], "F0000000010101", "{v}");

    let v = json(
        &emu,
        &["set-status", "lock", "F0000000010101", "--json"],
        true,
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["action"], "lock", "{v}");
    assert_eq!(v["aid"], "F0000000010101", "{v}");
    let v = json(
        &emu,
        &["set-status", "unlock", "F0000000010101", "--json"],
        true,
    );
    assert_eq!(v["action"], "unlock", "{v}");
    let v = json(
        &emu,
        &["set-status", "lock", "F0000000EEEE", "--json"],
        false,
    );
    assert_failure(&v, "SET STATUS", "6A88", "no application");

    let v = json(
        &emu,
        &[
            "apdu",
            "--select",
            "F0000000010101",
            "00010000",
            "00FF0000",
            "--json",
        ],
        true,
    );
    let r = v["responses"].as_array().unwrap();
    assert_eq!(r.len(), 3, "{v}");
    assert_eq!(r[1]["data"], hex::encode_upper("Hello"), "{v}");
    assert_eq!(r[1]["sw"], "9000", "{v}");
    assert_eq!(r[2]["sw"], "6D00", "{v}");
    assert!(
        r[2]["explanation"]
            .as_str()
            .unwrap()
            .contains("instruction not supported"),
        "{v}"
    );

    let v = json(
        &emu,
        &[
            "put-key",
            "--new-key",
            "00112233445566778899AABBCCDDEEFF",
            "--new-key-ver",
            "2",
            "--json",
        ],
        true,
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["key_version"], 2, "{v}");
    assert_eq!(v["key_type"], "AES", "{v}");
    assert_eq!(v["replaced"], Value::Null, "{v}");
    for k in ["enc", "mac", "dek"] {
        assert_eq!(v["kcv"][k].as_str().unwrap().len(), 6, "{v}");
    }

    let v = json(&emu, &["uninstall", &hello, "--json"], true);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["deleted"], "F00000000101", "{v}");
    assert_eq!(v["related"], true, "{v}");

    let v = json(&emu, &["delete", "F00000000101", "--json"], false);
    assert_failure(&v, "DELETE", "6A88", "nothing with this AID");
    // A failure that is no card's answer has no status word.
    let out = emu.jct(&["delete", "F000", "--json"]).output().unwrap();
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["sw"], Value::Null, "{v}");
    assert!(v["error"].as_str().unwrap().contains("AID"), "{v}");

    // Readers: a list when PC/SC answers, else a failure document.
    let out = assert_cmd::Command::cargo_bin("jct")
        .unwrap()
        .args(["readers", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    if out.status.success() {
        assert!(v["readers"].is_array(), "{v}");
    } else {
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["sw"], Value::Null, "{v}");
    }
}

#[test]
fn load_parameters_announce_the_code_space() {
    let emu = Emu::start(false, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    // More code space than the card has: INSTALL [for load] answers 6A84.
    let v = json(
        &emu,
        &["load", &hello, "--code-space", "4000000000", "--json"],
        false,
    );
    assert_failure(&v, "INSTALL [for load]", "6A84", "not enough memory");
    let v = json(
        &emu,
        &[
            "load",
            &hello,
            "--code-space",
            "2048",
            "--volatile-data",
            "64",
            "--nonvolatile-data",
            "256",
            "--json",
        ],
        true,
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["package"], "F00000000101", "{v}");
    assert!(emu.list().contains("F00000000101"));
}
