//! `jct hsm import` and `jct hsm list` against a SoftHSM2 token: keys from
//! stdin or a file, the PIN from an environment variable, KCVs computed in
//! the token, and neither key nor PIN in any output.

#[path = "../hsm/tests/support/softhsm.rs"]
mod softhsm;

use assert_cmd::Command;
use predicates::prelude::*;

const KEY: &str = "404142434445464748494A4B4C4D4E4F";

fn jct(s: &softhsm::SoftHsm, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.env("SOFTHSM2_CONF", &s.conf)
        .env("JCT_TEST_PIN", softhsm::PIN)
        .args(["hsm"])
        .args(args)
        .args([
            "--module",
            softhsm::MODULE,
            "--token",
            softhsm::TOKEN,
            "--pin-env",
            "JCT_TEST_PIN",
        ]);
    c
}

#[test]
fn import_from_stdin_and_file_then_list() {
    let Some(s) = softhsm::softhsm() else {
        return;
    };
    let label = softhsm::label("cli");
    jct(
        s,
        &[
            "import",
            "--label",
            &label,
            "--kind",
            "aes",
            "--key-ver",
            "2",
        ],
    )
    .write_stdin(format!("{KEY}\n"))
    .assert()
    .success()
    .stdout(predicate::str::contains("KCV 504A77"))
    .stdout(predicate::str::contains(KEY).not());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mac.hex");
    std::fs::write(&file, KEY).unwrap();
    jct(
        s,
        &[
            "import",
            "--label",
            &label,
            "--kind",
            "des3",
            "--key-ver",
            "3",
            "--component",
            "mac",
            "--key-file",
            file.to_str().unwrap(),
        ],
    )
    .assert()
    .success()
    .stdout(predicate::str::contains("KCV 8BAF47"));
    let out = jct(s, &["list"]).output().unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{listed}");
    let mine: Vec<&str> = listed.lines().filter(|l| l.starts_with(&label)).collect();
    assert_eq!(mine.len(), 2, "{listed}");
    assert!(mine[0].contains("0x02") && mine[0].contains("single") && mine[0].contains("AES-128"));
    assert!(mine[1].contains("0x03") && mine[1].contains("mac") && mine[1].contains("3DES-128"));
    assert!(
        !listed.contains(KEY) && !listed.contains(softhsm::PIN),
        "{listed}"
    );
}

#[test]
fn bad_input_is_named_without_showing_secrets() {
    let Some(s) = softhsm::softhsm() else {
        return;
    };
    let label = softhsm::label("cli-bad");
    jct(
        s,
        &[
            "import",
            "--label",
            &label,
            "--kind",
            "aes",
            "--key-ver",
            "1",
        ],
    )
    .write_stdin("4041424344454647ZZ")
    .assert()
    .failure()
    .stderr(predicate::str::contains("the key on stdin: not hex"))
    .stderr(predicate::str::contains("40414243").not());
    jct(
        s,
        &[
            "import",
            "--label",
            &label,
            "--kind",
            "des3",
            "--key-ver",
            "1",
        ],
    )
    .write_stdin("40414243444546474849")
    .assert()
    .failure()
    .stderr(predicate::str::contains("must be 16 bytes long, got 10"));
    jct(s, &["list"])
        .env_remove("JCT_TEST_PIN")
        .assert()
        .failure()
        .stderr(predicate::str::contains("JCT_TEST_PIN"));
    jct(s, &["list"])
        .env("JCT_TEST_PIN", "000000")
        .assert()
        .failure()
        .stderr(predicate::str::contains("PinIncorrect"))
        .stderr(predicate::str::contains("000000").not());
}
