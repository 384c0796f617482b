//! End to end: the `jct` binary (loader) against the emulator over TCP —
//! info, list, load, install, delete, put-key, set-status with SCP02 and
//! SCP03 at every security level; every corpus CAP the emulated API can
//! link; and the negative cases (wrong key, a MAC flipped in transit,
//! deleting a library still imported).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use assert_cmd::Command;
use predicates::prelude::*;

mod support;

use support::{shared, Emu, TEST_KEY};

fn cap(rel: &str) -> String {
    shared().join(rel).display().to_string()
}

#[test]
fn info_and_list_on_a_fresh_card() {
    let emu = Emu::start(false, "3.0.5");
    emu.jct(&["info"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Security domain: A000000151000000",
        ))
        .stdout(predicate::str::contains("Key information"))
        .stdout(predicate::str::contains("CPLC"));
    let list = emu.list();
    assert!(list.contains("ISD: A000000151000000"), "{list}");
    let out = emu.jct(&["list", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["isd"][0]["aid"], "A000000151000000");
}

#[test]
fn install_list_delete_at_every_security_level() {
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    // SCP02 i=55 has no R-MAC; i=75 (55 with R-MAC support) and i=15 cover it.
    let cases: [(bool, u8, &[&str]); 4] = [
        (true, 0x15, &["mac", "enc"]),
        (true, 0x55, &["mac", "enc"]),
        (true, 0x75, &["rmac"]),
        (false, 0x55, &["mac", "enc", "rmac", "renc"]),
    ];
    for (scp02, i, modes) in cases {
        let emu = Emu::start_with(scp02, i, "3.0.5");
        for mode in modes {
            let what = format!("SCP0{} i={i:02X} --mode {mode}", if scp02 { 2 } else { 3 });
            emu.jct(&["install", &hello, "--hash", "sha256", "--mode", mode])
                .assert()
                .success()
                .stderr(predicate::str::contains("installed F0000000010101"));
            let out = emu.jct(&["list", "--mode", mode]).output().unwrap();
            let list = String::from_utf8_lossy(&out.stdout);
            assert!(
                list.contains("APP: F0000000010101 (SELECTABLE)"),
                "{what}: {list}"
            );
            assert!(list.contains("PKG: F00000000101"), "{what}: {list}");
            emu.jct(&["apdu", "--select", "F0000000010101", "00010000"])
                .assert()
                .success()
                .stdout(predicate::str::starts_with("9000\n48656C6C6F9000"));
            emu.jct(&["delete", "F00000000101", "--related", "--mode", mode])
                .assert()
                .success();
            let list = emu.list();
            assert!(!list.contains("F00000000101"), "{what}: {list}");
        }
    }
}

/// Corpus CAPs whose imports the emulated API provides install and delete.
#[test]
fn every_linkable_corpus_cap_installs_and_deletes() {
    let emu = Emu::start(false, "3.0.5");
    let mut installed = 0;
    let mut dir: Vec<PathBuf> = std::fs::read_dir(shared().join("cap-corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .collect();
    dir.sort();
    for path in dir {
        let name = path.display().to_string();
        let cap = cap_tools::Cap::from_path(&path).unwrap();
        let info = cap_tools::cap::info::CapInfo::of(&cap).unwrap();
        // Only API imports this card provides (same major, minor at most the card's).
        let table = cap_tools::api::table(cap_tools::api::ApiVersion::V3_0_5);
        let linkable = info.imports.iter().all(|i| {
            table.package_by_aid(&i.aid).is_some_and(|p| {
                let (maj, min) = p.version_pair().unwrap();
                let (rmaj, rmin) = i.version.split_once('.').unwrap();
                maj.to_string() == rmaj && min >= rmin.parse::<u8>().unwrap()
            })
        });
        if !linkable {
            continue;
        }
        let package = info.package_aid.unwrap().to_hex();
        // Applets importing javacard.security or javacardx.crypto are only
        // loaded (and so linked): their install() may build keys of
        // algorithms jct emu does not have yet (RSA, EC).
        let crypto = info.imports.iter().any(|i| {
            let aid = i.aid.to_hex();
            aid == "A0000000620102" || aid == "A0000000620201"
        });
        let verb = if info.applets.is_empty() || crypto {
            "load"
        } else {
            "install"
        };
        emu.jct(&[verb, &name]).assert().success();
        assert!(emu.list().contains(&format!("PKG: {package}")), "{name}");
        emu.jct(&["uninstall", &name]).assert().success();
        assert!(!emu.list().contains(&format!("PKG: {package}")), "{name}");
        installed += 1;
    }
    assert!(
        installed >= 15,
        "only {installed} corpus CAPs were linkable"
    );
}

/// Both converter-reference kits: libraries first, then what imports them.
#[test]
fn converter_reference_caps_install() {
    for (kit, api, caps) in [
        (
            "oracle-3.0.5",
            "3.0.5",
            &["lib", "hello", "arith", "crypto", "ints"][..],
        ),
        (
            "oracle-3.2.0",
            "3.2.0",
            &["lib", "hello", "arith", "crypto", "oop"][..],
        ),
    ] {
        let emu = Emu::start(false, api);
        for name in caps {
            let path = cap(&format!("converter-reference/{kit}/{name}.cap"));
            // crypto's install() builds its AES key, Cipher, Signature,
            // MessageDigest and RandomData through jct emu's crypto natives.
            // `install` of the library loads it and says so.
            let run = emu.jct(&["install", &path]).assert().success();
            if *name == "lib" {
                run.stderr(predicate::str::contains(
                    "loaded library F0000000014C 1.0: it has no applets to install",
                ));
            }
        }
        let list = emu.list();
        assert!(list.contains("PKG: F0000000014C"), "{kit}: {list}");
        if caps.contains(&"oop") {
            // oop imports the library: deleting it alone is refused, and nothing changes.
            emu.jct(&["delete", "F0000000014C"])
                .assert()
                .failure()
                .stderr(predicate::str::contains("6985"));
            assert!(emu.list().contains("PKG: F0000000014C"));
        }
        for name in caps.iter().rev() {
            let path = cap(&format!("converter-reference/{kit}/{name}.cap"));
            emu.jct(&["uninstall", &path]).assert().success();
        }
        assert!(
            !emu.list().contains("PKG: F000000001"),
            "{kit}: {}",
            emu.list()
        );
    }
}

#[test]
fn wrong_key_stops_before_external_authenticate() {
    let emu = Emu::start(false, "3.0.5");
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("wrong-key.trace");
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args([
        "list",
        "--emu",
        &emu.addr,
        "--key",
        "00112233445566778899AABBCCDDEEFF",
        "--record",
    ])
    .arg(&trace)
    .assert()
    .failure()
    .stderr(predicate::str::contains(
        "card cryptogram mismatch: wrong keys or wrong diversification",
    ));
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with(">> 8050")),
        "INITIALIZE UPDATE was sent:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with(">> 8482")),
        "EXTERNAL AUTHENTICATE was sent:\n{text}"
    );
    // The card still works with the right key.
    emu.list();
}

/// A loopback proxy that flips the last byte of the data field (the end of
/// the C-MAC) of the `nth` LOAD command (INS E8) passing from jct to the
/// emulator.
fn flipping_proxy(upstream: String, nth: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = TcpStream::connect(&upstream).unwrap();
        let mut loads = 0;
        loop {
            let mut len = [0u8; 2];
            if client.read_exact(&mut len).is_err() {
                return;
            }
            let mut frame = vec![0u8; u16::from_be_bytes(len) as usize];
            if client.read_exact(&mut frame).is_err() {
                return;
            }
            if frame.len() > 5 && frame[1] == 0xE8 {
                loads += 1;
                if loads == nth {
                    let last_data = 4 + frame[4] as usize;
                    frame[last_data] ^= 0x01;
                }
            }
            server.write_all(&len).unwrap();
            server.write_all(&frame).unwrap();
            // Control frames (one byte) get an answer only for GET ATR (04).
            if frame.len() == 1 && frame[0] != 0x04 {
                continue;
            }
            let mut rlen = [0u8; 2];
            server.read_exact(&mut rlen).unwrap();
            let mut resp = vec![0u8; u16::from_be_bytes(rlen) as usize];
            server.read_exact(&mut resp).unwrap();
            client.write_all(&rlen).unwrap();
            client.write_all(&resp).unwrap();
        }
    });
    (addr, handle)
}

#[test]
fn a_flipped_mac_in_one_load_block_leaves_no_package() {
    let emu = Emu::start(false, "3.0.5");
    let crypto = cap("converter-reference/oracle-3.0.5/crypto.cap");
    let (proxy, handle) = flipping_proxy(emu.addr.clone(), 2);
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args([
        "load",
        &crypto,
        "--emu",
        &proxy,
        "--key",
        TEST_KEY,
        "--block-size",
        "128",
    ])
    .assert()
    .failure()
    .stderr(predicate::str::contains("6982"));
    let _ = handle.join();
    let list = emu.list();
    assert!(!list.contains("F00000000104"), "{list}");
}

#[test]
fn put_key_then_authenticate_with_the_new_key() {
    let emu = Emu::start(false, "3.0.5");
    let new_key = "000102030405060708090A0B0C0D0E0F";
    emu.jct(&[
        "put-key",
        "--new-key",
        new_key,
        "--new-key-ver",
        "2",
        "--replace",
        "1",
    ])
    .assert()
    .success();
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args([
        "list",
        "--emu",
        &emu.addr,
        "--key",
        new_key,
        "--key-ver",
        "2",
    ])
    .assert()
    .success();
    emu.jct(&["list"]).assert().failure();
}

#[test]
fn set_status_locks_and_unlocks_an_application() {
    let emu = Emu::start(true, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    emu.jct(&["install", &hello]).assert().success();
    emu.jct(&["set-status", "lock", "F0000000010101"])
        .assert()
        .success();
    assert!(
        emu.list().contains("APP: F0000000010101 (LOCKED"),
        "{}",
        emu.list()
    );
    emu.jct(&["apdu", "--select", "F0000000010101", "00010000"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("6A82").or(predicate::str::contains("6A82")));
    emu.jct(&["set-status", "unlock", "F0000000010101"])
        .assert()
        .success();
    assert!(emu.list().contains("APP: F0000000010101 (SELECTABLE)"));
}

#[test]
fn recorded_session_replays_exactly() {
    let emu = Emu::start(false, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("install.trace");
    let trace_arg = trace.display().to_string();
    emu.jct(&["install", &hello, "--mode", "enc", "--record", &trace_arg])
        .assert()
        .success();
    // Replaying needs no card: the same command gives the same bytes.
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args([
        "install", &hello, "--mode", "enc", "--key", TEST_KEY, "--replay",
    ])
    .arg(&trace)
    .assert()
    .success();
    // A different command diverges from the trace and fails with both lines shown.
    let mut c = Command::cargo_bin("jct").unwrap();
    c.args([
        "install", &hello, "--mode", "mac", "--key", TEST_KEY, "--replay",
    ])
    .arg(&trace)
    .assert()
    .failure()
    .stderr(predicate::str::contains("expected"));
    let _ = Path::new(&hello);
}

#[test]
fn a_failed_install_deletes_the_package_it_loaded() {
    let emu = Emu::start(false, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    let arith = cap("converter-reference/oracle-3.0.5/arith.cap");
    emu.jct(&["install", &hello]).assert().success();
    // arith's applet under hello's instance AID: LOAD succeeds, INSTALL fails.
    let taken = ["--instance", "F0000000010101"];
    emu.jct(&["install", &arith])
        .args(taken)
        .assert()
        .failure()
        .stderr(predicate::str::contains("INSTALL [for install]"))
        .stderr(predicate::str::contains(
            "the package F00000000102 it loaded was deleted again",
        ));
    assert!(!emu.list().contains("F00000000102"), "{}", emu.list());
    // So a rerun meets a clean card, and --keep-on-failure keeps the package.
    emu.jct(&["install", &arith, "--keep-on-failure"])
        .args(taken)
        .assert()
        .failure()
        .stderr(predicate::str::contains("stays loaded"));
    assert!(emu.list().contains("PKG: F00000000102"), "{}", emu.list());
    emu.jct(&["install", &arith, "--no-load"])
        .assert()
        .success();
    assert!(emu.list().contains("APP: F0000000010201"), "{}", emu.list());
}

#[test]
fn apdu_select_selects_only_that_aid() {
    let emu = Emu::start(false, "3.0.5");
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    emu.jct(&["install", &hello]).assert().success();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("apdu.trace");
    let record = format!("--record={}", trace.display());
    emu.jct(&["apdu", "--select", "F0000000010101", "00010000", &record])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("9000\n"));
    let text = std::fs::read_to_string(&trace).unwrap();
    let commands: Vec<&str> = text.lines().filter(|l| l.starts_with(">>")).collect();
    assert_eq!(
        commands,
        [">> 00A4040007F000000001010100", ">> 00010000"],
        "no security domain is selected first:\n{text}"
    );
    // --secure opens the channel with the security domain first.
    emu.jct(&["apdu", "--secure", "--select", "F0000000010101", "00010000"])
        .assert()
        .success();
}

#[test]
fn record_appends_one_session_after_another() {
    let emu = Emu::start(false, "3.0.5");
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("two.trace");
    let record = format!("--record={}", trace.display());
    for _ in 0..2 {
        emu.jct(&["info", &record]).assert().success();
    }
    let text = std::fs::read_to_string(&trace).unwrap();
    let headers = text
        .lines()
        .filter(|l| l.starts_with("# jct session: "))
        .count();
    assert_eq!(headers, 2, "{text}");
    let selects = text
        .lines()
        .filter(|l| l.starts_with(">> 00A40400"))
        .count();
    assert_eq!(selects, 2, "{text}");
}

/// `jct build` writes CAP 2.3 for the 3.2.0 target (and export format 2.3
/// for the library); `jct cap verify` and `jct cap dump` read what it
/// wrote, and `jct install` puts the library and its client into jct emu,
/// whose applet answers. `--cap-format 2.2` writes 2.2 and a 2.1 export.
#[test]
fn caps_2_3_built_by_jct_install_into_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).display().to_string();
    let jct = || Command::cargo_bin("jct").unwrap();
    let classes = |n: &str| cap(&format!("converter-reference/oracle-3.2.0/{n}.cap"));
    for (format, exp_format) in [(None, "2.3"), (Some("2.2"), "2.1")] {
        let mut lib = jct();
        lib.args([
            "build",
            &classes("lib"),
            "--package",
            "com.example.lib",
            "--package-aid",
            "F0000000014C",
            "--version",
            "1.0",
            "--target",
            "3.2.0",
            "-o",
            &path("lib.cap"),
        ]);
        let mut oop = jct();
        oop.args([
            "build",
            &classes("oop"),
            "--package",
            "com.example.oop",
            "--package-aid",
            "F00000000103",
            "--version",
            "1.0",
            "--applet",
            "F0000000010301=OopApplet",
            "--target",
            "3.2.0",
            "--exportpath",
            &path("lib.exp"),
            "-o",
            &path("oop.cap"),
        ]);
        if let Some(f) = format {
            lib.args(["--cap-format", f]);
            oop.args(["--cap-format", f]);
        }
        let want = format!("CAP {}", format.unwrap_or("2.3"));
        lib.assert()
            .success()
            .stdout(predicate::str::contains(want.clone()));
        oop.assert()
            .success()
            .stdout(predicate::str::contains(want));
        let dump = jct()
            .args(["exp", "dump", &path("lib.exp")])
            .output()
            .unwrap();
        assert!(dump.status.success());
        let text = String::from_utf8_lossy(&dump.stdout).into_owned();
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().eq(["format", exp_format])),
            "{text}"
        );
        for name in ["lib", "oop"] {
            jct()
                .args(["cap", "verify", &path(&format!("{name}.cap"))])
                .assert()
                .success();
            jct()
                .args(["cap", "dump", &path(&format!("{name}.cap"))])
                .assert()
                .success()
                .stdout(predicate::str::contains(format!(
                    "CAP file, format {}",
                    format.unwrap_or("2.3")
                )));
        }
        let emu = Emu::start(false, "3.2.0");
        emu.jct(&["install", &path("lib.cap")]).assert().success();
        emu.jct(&["install", &path("oop.cap")]).assert().success();
        // INS 02, P1 1: Rect(2, 7).area() * 16 + kind(), virtual calls into lib's Shape.
        emu.jct(&["apdu", "--select", "F0000000010301", "8002010002"])
            .assert()
            .success()
            .stdout(predicate::str::contains("\n00E29000\n"));
    }
}

/// SCP03 S16 mode (i=71): the loader asks for it with `--scp 03 --scp-i 71`
/// and installs, lists and deletes at every level; a loader in S8 mode
/// sends an 8-byte host challenge, which the S16 card refuses as a wrong
/// length (6700).
#[test]
fn scp03_s16_install_list_delete() {
    let profile = emulator::CardProfile {
        scp03_i: 0x71,
        ..emulator::CardProfile::default()
    };
    let emu = Emu::start_profile(false, profile);
    let hello = cap("converter-reference/oracle-3.0.5/hello.cap");
    let s16 = ["--scp", "03", "--scp-i", "71"];
    for mode in ["mac", "enc", "rmac", "renc"] {
        fn with<'a>(args: &[&'a str], s16: &[&'a str], mode: &'a str) -> Vec<&'a str> {
            [args, s16, &["--mode", mode]].concat()
        }
        emu.jct(&with(&["install", &hello, "--hash", "sha256"], &s16, mode))
            .assert()
            .success()
            .stderr(predicate::str::contains("installed F0000000010101"));
        let out = emu.jct(&with(&["list"], &s16, mode)).output().unwrap();
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(
            list.contains("APP: F0000000010101"),
            "S16 --mode {mode}: {list}"
        );
        emu.jct(&with(&["delete", "F00000000101", "--related"], &s16, mode))
            .assert()
            .success();
    }
    emu.jct(&["list", "--scp", "03"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "INITIALIZE UPDATE failed with SW 6700",
        ));
}
