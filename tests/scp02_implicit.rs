//! SCP02 implicit initiation (i = 0A and 1A) end to end: the `jct`
//! binary's loader against the emulator's ISD over TCP, install, list and
//! delete with no INITIALIZE UPDATE on the wire, on the basic channel and on
//! a supplementary one; what such a card and such a session refuse.

use predicates::prelude::*;

mod support;

use support::{shared, Emu};

fn hello() -> String {
    shared()
        .join("converter-reference/oracle-3.0.5/hello.cap")
        .display()
        .to_string()
}

/// The commands `--trace` shows on the wire.
fn wire(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.split("wire >> ").nth(1))
        .map(|c| c.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn install_list_delete_with_i_0a_and_1a() {
    for i in ["0A", "1A"] {
        let emu = Emu::start_with(true, u8::from_str_radix(i, 16).unwrap(), "3.0.5");
        let cap = hello();
        // Given on the command line, and (with --channel 3) read from the
        // card recognition data.
        for extra in [&["--scp", "02", "--scp-i", i][..], &["--channel", "3"][..]] {
            let what = format!("i={i} {extra:?}");
            let mut args = vec!["install", cap.as_str(), "--trace"];
            args.extend_from_slice(extra);
            let out = emu.jct(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{what}: {stderr}");
            assert!(
                stderr.contains("installed F0000000010101"),
                "{what}: {stderr}"
            );
            let wire = wire(&stderr);
            // No INITIALIZE UPDATE, no EXTERNAL AUTHENTICATE; the counter
            // read with GET DATA 00C1; then C-MACed commands.
            assert!(
                !wire.iter().any(|c| matches!(&c[2..4], "50" | "82")),
                "{what}: {wire:?}"
            );
            assert!(
                wire.iter().any(|c| &c[2..8] == "CA00C1"),
                "{what}: {wire:?}"
            );
            assert!(
                wire.iter()
                    .any(|c| c.starts_with("84E6") || c.starts_with("87E6")),
                "{what}: {wire:?}"
            );
            let mut list = vec!["list"];
            list.extend_from_slice(extra);
            let out = emu.jct(&list).output().unwrap();
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("F0000000010101"),
                "{what}"
            );
            let mut delete = vec!["delete", "F00000000101", "--related"];
            delete.extend_from_slice(extra);
            emu.jct(&delete).assert().success();
            assert!(!emu.list().contains("F00000000101"), "{what}");
        }
        // The sequence counter moves on with every session the card opens.
        let counter = || {
            let out = emu.jct(&["list", "--trace"]).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(out.status.success(), "{stderr}");
            let answer = stderr
                .lines()
                .skip_while(|l| !l.contains("wire >> 80CA00C1"))
                .find_map(|l| l.split("wire << ").nth(1).map(str::to_string))
                .unwrap_or_else(|| panic!("no GET DATA 00C1 answer: {stderr}"));
            assert!(answer.starts_with("C102"), "{answer}");
            u16::from_str_radix(&answer[4..8], 16).unwrap()
        };
        let first = counter();
        assert_eq!(counter(), first + 1, "i={i}");
    }
}

#[test]
fn what_implicit_initiation_refuses() {
    let emu = Emu::start_with(true, 0x1A, "3.0.5");
    // C-MAC only.
    emu.jct(&["list", "--mode", "enc"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("C-MAC only"));
    // No key diversification data without INITIALIZE UPDATE.
    emu.jct(&["list", "--scp", "02", "--scp-i", "1A", "--kdf", "emv"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("implicit initiation"));
    // The card refuses INITIALIZE UPDATE when its SCP02 is implicit.
    emu.jct(&["list", "--scp", "02", "--scp-i", "15"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6985"));
    // Wrong keys: the first C-MAC does not verify (6982), nothing opens.
    assert_cmd::Command::cargo_bin("jct")
        .unwrap()
        .args([
            "list",
            "--emu",
            &emu.addr,
            "--key",
            "00112233445566778899AABBCCDDEEFF",
        ])
        .env_remove("JCT_KEY")
        .env_remove("JCT_EMU")
        .assert()
        .failure()
        .stderr(predicate::str::contains("6982"));
    // A card with explicit SCP02 has no implicit session to offer.
    let explicit = Emu::start_with(true, 0x15, "3.0.5");
    explicit
        .jct(&["list", "--scp", "02", "--scp-i", "0A"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6982"));
}
