//! One path through real PC/SC: pcscd with vsmartcard's vpcd driver as the
//! reader, `jct emu --vpcd` as the card in it, and `jct list` / `jct install`
//! finding the reader by name through the pcsc transport.
//!
//! Where pcscd cannot run the test says why and passes, except under CI
//! (`CI` set), where it fails naming what is missing (tests/support/require.rs).
#![cfg(feature = "pcsc")]

#[path = "support/pcscd.rs"]
mod pcscd;

use std::process::{Child, Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

const KEY: &str = "404142434445464748494A4B4C4D4E4F";

/// `jct emu --vpcd` as a child process, stopped with SIGTERM when dropped.
struct EmuProcess(Child);

impl Drop for EmuProcess {
    fn drop(&mut self) {
        let _ = StdCommand::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        if pcscd::wait_for(Duration::from_secs(5), || self.0.try_wait().ok().flatten()).is_none() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[test]
fn list_and_install_through_a_pcsc_reader() {
    let Some(daemon) = pcscd::require_pcscd() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("card");
    let emu = StdCommand::new(assert_cmd::cargo::cargo_bin("jct"))
        .args(["emu", "--vpcd", "127.0.0.1:35963", "--state"])
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _emu = EmuProcess(emu);
    pcscd::wait_for(Duration::from_secs(15), || {
        pcscd::vpcd_readers().into_iter().find(|r| r.card_present)
    })
    .expect("the emulator never appeared in the Virtual PCD reader");

    let jct = |args: &[&str]| {
        let mut c = Command::cargo_bin("jct").unwrap();
        c.args(args)
            .args(["-r", "Virtual PCD", "--key", KEY])
            .env_remove("JCT_EMU");
        c
    };
    Command::cargo_bin("jct")
        .unwrap()
        .arg("readers")
        .assert()
        .success()
        .stdout(predicate::str::contains("Virtual PCD").and(predicate::str::contains("[card")));
    jct(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ISD: A000000151000000"));
    let hello = std::env::var("JCT_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("converter-reference/oracle-3.0.5/hello.cap");
    jct(&["install", hello.to_str().unwrap(), "--mode", "enc"])
        .assert()
        .success();
    jct(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("APP: F0000000010101 (SELECTABLE)"));
    drop(_emu);
    drop(daemon);
}
