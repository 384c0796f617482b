//! `jct ca` end to end: a CA made by `jct ca init`, a terminal key pair
//! certified by `jct ca sign`, `jct emu` provisioned from the same CA
//! directory, and SCP11a/b/c sessions that use nothing but those files.
//! A second CA's certificate and an expired one are refused by the card.

use std::ffi::OsStr;
use std::path::Path;

use assert_cmd::Command;

mod support;

use support::emu_process::EmuProcess;

fn jct() -> Command {
    Command::cargo_bin("jct").unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_ca_made_by_jct_ca_opens_scp11_sessions_with_jct_emu() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let (oce_key, oce_cert) = (dir.path().join("oce.key"), dir.path().join("oce.cert"));
    let out = jct()
        .args(["ca", "init", s(&pki), "--name", "test issuer", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let init: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = init["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 40, "{init}");
    let out = jct()
        .args(["ca", "sign", "--ca", s(&pki), "--new-key", s(&oce_key)])
        .args(["--subject", "terminal 7", "-o", s(&oce_cert), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let cert: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(cert["serial"], "01");
    assert_eq!(cert["issuer"], id.as_str());
    assert_eq!(cert["subject_text"], "terminal 7");
    assert_eq!(cert["key_usage"], "0080");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [&oce_key, &pki.join("ca.key")] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is readable by others", key.display());
        }
    }
    // The card is provisioned from the CA directory: its certificates
    // carry the CA's identifier.
    let emu = EmuProcess::start(&[OsStr::new("--scp11-ca"), pki.as_os_str()]);
    for variant in ["11a", "11b", "11c"] {
        let out = emu
            .jct(&["list", "--scp", variant, "--ca", s(&pki), "--json"])
            .args(["--oce-key", s(&oce_key), "--oce-cert", s(&oce_cert)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{variant}: {}", stderr(&out));
        assert!(stdout(&out).contains("A000000151000000"), "{variant}");
    }
    // The CA's public key file works as --ca as well.
    emu.jct(&["list", "--scp", "11b", "--ca", s(&pki.join("ca.pub.pem"))])
        .assert()
        .success();

    // A certificate from another CA is refused by the card.
    let other = dir.path().join("other");
    jct().args(["ca", "init", s(&other)]).assert().success();
    let (rogue_key, rogue_cert) = (dir.path().join("rogue.key"), dir.path().join("rogue.cert"));
    jct()
        .args(["ca", "sign", "--ca", s(&other), "--new-key", s(&rogue_key)])
        .args(["--subject", "rogue", "-o", s(&rogue_cert)])
        .assert()
        .success();
    let out = emu
        .jct(&["list", "--scp", "11a", "--ca", s(&pki)])
        .args(["--oce-key", s(&rogue_key), "--oce-cert", s(&rogue_cert)])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a foreign CA's certificate was accepted"
    );
    // The card's chain does not lead to the other CA.
    let out = emu
        .jct(&["list", "--scp", "11b", "--ca", s(&other)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));

    // An expired certificate: signed (with a note), then refused by the card.
    let old = dir.path().join("old.cert");
    let out = jct()
        .args(["ca", "sign", "--ca", s(&pki), "--public-key", s(&oce_key)])
        .args(["--subject", "terminal 7", "--effective", "2020-01-01"])
        .args(["--expires", "2021-01-01", "-o", s(&old)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("expired on 2021-01-01"));
    let out = emu
        .jct(&["list", "--scp", "11a", "--ca", s(&pki)])
        .args(["--oce-key", s(&oce_key), "--oce-cert", s(&old)])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an expired certificate was accepted");

    // jct ca show checks chains; jct ca list keeps the register.
    jct()
        .args(["ca", "show", s(&oce_cert), "--ca", s(&pki)])
        .assert()
        .success()
        .stdout(predicates::str::contains("check       ok"));
    let out = jct()
        .args([
            "ca",
            "show",
            s(&old),
            s(&rogue_cert),
            "--ca",
            s(&pki),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let shown: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(shown[0]["check"].as_str().unwrap().contains("expired"));
    assert!(shown[1]["check"]
        .as_str()
        .unwrap()
        .contains("does not verify"));
    let out = jct()
        .args(["ca", "list", "--ca", s(&pki), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let record: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(record["next_serial"], 3);
    let serials: Vec<&str> = record["issued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["01", "02"]);
}

#[test]
fn the_ca_refuses_what_would_break_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    jct().args(["ca", "init", s(&pki)]).assert().success();
    // Never over an existing CA.
    jct()
        .args(["ca", "init", s(&pki)])
        .assert()
        .failure()
        .stderr(predicates::str::contains("holds a CA already"));
    let key = dir.path().join("k.key");
    let cert = dir.path().join("c.cert");
    let sign = |extra: &[&str]| {
        let mut c = jct();
        c.args([
            "ca",
            "sign",
            "--ca",
            s(&pki),
            "--subject",
            "x",
            "-o",
            s(&cert),
        ]);
        c.args(extra);
        c.output().unwrap()
    };
    let out = sign(&["--new-key", s(&key)]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Never over an existing private key.
    let out = sign(&["--new-key", s(&key)]);
    assert!(
        stderr(&out).contains("never overwritten"),
        "{}",
        stderr(&out)
    );
    // A serial number is never issued twice.
    let out = sign(&["--public-key", s(&key), "--serial", "01"]);
    assert!(
        stderr(&out).contains("issued that serial number already"),
        "{}",
        stderr(&out)
    );
    // Dates are checked against the calendar and each other.
    let out = sign(&["--public-key", s(&key), "--expires", "2027-02-30"]);
    assert!(stderr(&out).contains("no such day"), "{}", stderr(&out));
    let out = sign(&[
        "--public-key",
        s(&key),
        "--effective",
        "2027-01-01",
        "--expires",
        "2026-01-01",
    ]);
    assert!(
        stderr(&out).contains("before it takes effect"),
        "{}",
        stderr(&out)
    );
    // A tampered directory is noticed.
    let other = dir.path().join("other");
    jct().args(["ca", "init", s(&other)]).assert().success();
    std::fs::copy(other.join("ca.pub.pem"), pki.join("ca.pub.pem")).unwrap();
    let out = sign(&["--public-key", s(&key)]);
    assert!(stderr(&out).contains("tampered"), "{}", stderr(&out));
    // Not a CA directory.
    let out = jct()
        .args(["ca", "list", "--ca", s(dir.path())])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("jct ca init"), "{}", stderr(&out));
}

/// The card side put from off card: the ISD gets its SCP11b and 11a key
/// pairs by PUT KEY (private keys DEK-encrypted in an SCP03 session), their
/// certificates by STORE DATA and the OCE CA key by PUT KEY KID 10; then
/// SCP11 sessions open with nothing but the CA's files.
#[test]
fn scp11_keys_and_certificates_put_by_put_key_and_store_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let pki = p("pki");
    jct().args(["ca", "init", s(&pki)]).assert().success();
    for (key, cert, subject) in [
        ("card.key", "card.cert", "card 0001"),
        ("oce.key", "oce.cert", "terminal"),
    ] {
        jct()
            .args(["ca", "sign", "--ca", s(&pki), "--new-key", s(&p(key))])
            .args(["--subject", subject, "-o", s(&p(cert))])
            .assert()
            .success();
    }
    // The emulator starts without SCP11 material.
    let emu = EmuProcess::start::<&str>(&[]);
    let out = emu
        .jct(&["list", "--scp", "11b", "--ca", s(&pki)])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "SCP11 opened on a card without SCP11 keys"
    );

    // A certificate for a key the card does not hold yet: 6A88.
    let out = emu
        .jct(&["store-certs", "--kid", "13", s(&p("card.cert"))])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("6A88"), "{}", stderr(&out));
    for kid in ["13", "11"] {
        let out = emu
            .jct(&[
                "put-ec-key",
                "--kid",
                kid,
                "--ec-key",
                s(&p("card.key")),
                "--new-key-ver",
                "1",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["key"], "private");
    }
    // The same version again is refused: it must be replaced explicitly.
    let out = emu
        .jct(&[
            "put-ec-key",
            "--kid",
            "13",
            "--ec-key",
            s(&p("card.key")),
            "--new-key-ver",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("6A80"), "{}", stderr(&out));
    // A certificate of another key is refused for this one.
    let out = emu
        .jct(&["store-certs", "--kid", "13", s(&p("oce.cert"))])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("6A80"), "{}", stderr(&out));
    for kid in ["13", "11"] {
        let out = emu
            .jct(&["store-certs", "--kid", kid, s(&p("card.cert")), "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = emu
        .jct(&["list", "--scp", "11b", "--ca", s(&pki), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // 11a needs the OCE CA key on the card.
    let (oce_key, oce_cert) = (p("oce.key"), p("oce.cert"));
    let scp11a = [
        "--scp",
        "11a",
        "--ca",
        s(&pki),
        "--oce-key",
        s(&oce_key),
        "--oce-cert",
        s(&oce_cert),
    ];
    let mut list = vec!["list"];
    list.extend_from_slice(&scp11a);
    let out = emu.jct(&list).output().unwrap();
    assert!(
        !out.status.success(),
        "11a opened without an OCE CA key on the card"
    );
    emu.jct(&[
        "put-ec-key",
        "--kid",
        "10",
        "--ec-key",
        s(&pki),
        "--new-key-ver",
        "1",
    ])
    .assert()
    .success();
    let out = emu.jct(&list).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("A000000151000000"));
    // Over SCP11a, a new SCP11b key replaces the old one (its certificate
    // goes with it, so 11b fails until a new one is stored).
    let new_key = p("card2.key");
    let new_cert = p("card2.cert");
    jct()
        .args(["ca", "sign", "--ca", s(&pki), "--new-key", s(&new_key)])
        .args(["--subject", "card 0001 v2", "-o", s(&new_cert)])
        .assert()
        .success();
    let mut put = vec![
        "put-ec-key",
        "--kid",
        "13",
        "--ec-key",
        s(&new_key),
        "--new-key-ver",
        "2",
        "--replace",
        "1",
    ];
    put.extend_from_slice(&scp11a);
    let out = emu.jct(&put).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = emu
        .jct(&["list", "--scp", "11b", "--ca", s(&pki)])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "11b opened with a key that has no certificate"
    );
    let mut store = vec!["store-certs", "--kid", "13", "--kvn", "2", s(&new_cert)];
    store.extend_from_slice(&scp11a);
    let out = emu.jct(&store).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    emu.jct(&["list", "--scp", "11b", "--ca", s(&pki)])
        .assert()
        .success();
}
