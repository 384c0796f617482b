//! Complete sessions recorded from a card (the emulator, over TCP) replay
//! byte for byte: list, install and delete, with SCP02 and SCP03. The traces
//! in tests/traces/ were made with `--record`; replaying takes the host
//! challenge from each trace's INITIALIZE UPDATE, so every MAC matches.

use assert_cmd::Command;
use predicates::prelude::*;

const KEY: &str = "404142434445464748494A4B4C4D4E4F";

fn replay(trace: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("jct")
        .unwrap()
        .args(args)
        .args(["--key", KEY, "--replay", &format!("tests/traces/{trace}")])
        .env_remove("JCT_EMU")
        .env_remove("JCT_KEY")
        .assert()
}

#[test]
fn scp03_install_list_delete() {
    replay(
        "scp03-install-hello.trace",
        &[
            "install",
            "samples/hello.cap",
            "--mode",
            "enc",
            "--hash",
            "sha256",
        ],
    )
    .success()
    .stderr(predicate::str::contains("installed F0000000010101"));
    replay("scp03-list.trace", &["list"])
        .success()
        .stdout(predicate::str::contains("APP: F0000000010101 (SELECTABLE)"))
        .stdout(predicate::str::contains("PKG: F00000000101"));
    replay(
        "scp03-delete-hello.trace",
        &["delete", "F00000000101", "--related", "--mode", "rmac"],
    )
    .success();
}

#[test]
fn scp02_install_list_delete() {
    replay(
        "scp02-install-hello.trace",
        &["install", "samples/hello.cap"],
    )
    .success();
    replay("scp02-list.trace", &["list", "--json"])
        .success()
        .stdout(predicate::str::contains("\"F0000000010101\""));
    replay(
        "scp02-delete-hello.trace",
        &["delete", "F00000000101", "--related"],
    )
    .success();
}

#[test]
fn a_diverging_command_fails_naming_the_trace_line() {
    // Another security level changes EXTERNAL AUTHENTICATE: the replay stops there.
    replay("scp03-list.trace", &["list", "--mode", "enc"])
        .failure()
        .stderr(predicate::str::contains("expected"));
    // Another key fails the card cryptogram check before EXTERNAL AUTHENTICATE.
    Command::cargo_bin("jct")
        .unwrap()
        .args([
            "list",
            "--key",
            "000102030405060708090A0B0C0D0E0F",
            "--replay",
            "tests/traces/scp02-list.trace",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("card cryptogram mismatch"));
}
