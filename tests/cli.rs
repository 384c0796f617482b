//! The `jct` binary, run as a user runs it.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn shared() -> PathBuf {
    std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn jct() -> Command {
    Command::cargo_bin("jct").unwrap()
}

#[test]
fn info_on_the_bundled_sample() {
    jct()
        .args(["cap", "info", "samples/hello.cap"])
        .assert()
        .success()
        .stdout(predicate::str::contains("CAP format:      2.1"))
        .stdout(predicate::str::contains("F00000000101"))
        .stdout(predicate::str::contains("F0000000010101"))
        .stdout(
            predicate::str::is_match(
                r"A0000000620101 +1\.6 +javacard\.framework \(Java Card 3\.0\.5\)",
            )
            .unwrap(),
        )
        .stdout(predicate::str::contains("SHA-256:"));
}

#[test]
fn info_json_matches_manifest() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("cap-corpus/MANIFEST.json")).unwrap(),
    )
    .unwrap();
    let entry = &manifest[0];
    let file = shared()
        .join("cap-corpus")
        .join(entry["file"].as_str().unwrap());
    let out = jct()
        .args(["cap", "info", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["package_aid"], entry["package_aid"]);
    assert_eq!(
        info["load_file"]["sha256"],
        entry["load_file_sha256_no_descriptor"]
    );
    assert_eq!(
        info["load_file"]["size"],
        entry["load_file_size_no_descriptor"]
    );
}

#[test]
fn load_file_output_hash_matches_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hello.ijc");
    jct()
        .args(["cap", "load-file", "samples/hello.cap", "-o"])
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(shared().join("converter-reference/MANIFEST.json")).unwrap(),
    )
    .unwrap();
    // Kit 3.0.5's hello.cap is the third entry (arith, crypto, hello, ...).
    let hello = &manifest[2];
    assert_eq!(hello["file"], "hello.cap");
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        hello["load_file_sha256_no_descriptor"].as_str().unwrap()
    );
    // The raw load file is itself a readable CAP.
    jct().args(["cap", "info"]).arg(&out).assert().success();
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn convert_to_ijc_and_back_to_jar() {
    let dir = tempfile::tempdir().unwrap();
    let ijc = dir.path().join("hello.ijc");
    let jar = dir.path().join("hello2.cap");
    jct()
        .args(["cap", "convert", "samples/hello.cap", "--to", "ijc", "-o"])
        .arg(&ijc)
        .assert()
        .success();
    jct()
        .args(["cap", "convert", "--to", "jar", "-o"])
        .arg(&jar)
        .arg(&ijc)
        .assert()
        .success();
    let a = jct()
        .args(["cap", "info", "--json", "samples/hello.cap"])
        .output()
        .unwrap();
    let b = jct()
        .args(["cap", "info", "--json"])
        .arg(&jar)
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&a.stdout).unwrap();
    let b: Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(a["load_file"], b["load_file"]);
}

#[test]
fn verify_accepts_every_corpus_cap() {
    for dir in [
        "cap-corpus",
        "converter-reference/oracle-3.0.5",
        "converter-reference/oracle-3.2.0",
    ] {
        for e in std::fs::read_dir(shared().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "cap") {
                jct()
                    .args(["cap", "verify"])
                    .arg(&p)
                    .assert()
                    .success()
                    .stdout(predicate::str::contains("OK"));
            }
        }
    }
}

#[test]
fn dump_disassembles_with_names() {
    jct()
        .args(["cap", "dump", "samples/hello.cap"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Method component"))
        .stdout(predicate::str::contains("invokevirtual"))
        .stdout(predicate::str::contains("javacard/framework/APDU"));
}

#[test]
fn exp_dump_text_and_json() {
    let f = shared().join("exp-corpus/3.0.5-javacard.framework.exp");
    jct()
        .args(["exp", "dump"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("javacard.framework"))
        .stdout(predicate::str::contains("A0000000620101"));
    let out = jct()
        .args(["exp", "dump", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.cap");
    std::fs::write(&empty, b"").unwrap();
    jct()
        .args(["cap", "info"])
        .arg(&empty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("empty"));
    let junk = dir.path().join("junk.cap");
    std::fs::write(&junk, b"\x01\x00\x10\xDE\xCA\xFF\xED").unwrap();
    jct()
        .args(["cap", "info"])
        .arg(&junk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Header"));
    jct()
        .args(["cap", "info", "/nonexistent/x.cap"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/x.cap"));
}

#[test]
fn verify_rejects_a_broken_copy_naming_component_offset_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("hello.ijc");
    jct()
        .args(["cap", "load-file", "samples/hello.cap", "-o"])
        .arg(&good)
        .assert()
        .success();
    let mut bytes = std::fs::read(&good).unwrap();
    // The Applet component holds the applet AID F0000000010101 after its
    // count and length bytes; give the applet another RID.
    let aid = [0xF0, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01];
    let at = bytes.windows(aid.len()).position(|w| w == aid).unwrap();
    bytes[at] = 0xA0;
    let bad = dir.path().join("bad.ijc");
    std::fs::write(&bad, &bytes).unwrap();
    jct()
        .args(["cap", "verify"])
        .arg(&bad)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Applet component"))
        .stdout(predicate::str::contains("[applet-rid]"))
        .stderr(predicate::str::contains("problem(s) found"));
    let out = jct()
        .args(["cap", "verify", "--json"])
        .arg(&bad)
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings[0]["rule"], "applet-rid");
}

#[test]
fn api_jar_and_sources_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("api.jar");
    jct().args(["api-jar", "-o"]).arg(&jar).assert().success();
    let bytes = std::fs::read(&jar).unwrap();
    assert!(bytes.starts_with(b"PK"));
    let entry = b"javacard/framework/Applet.class";
    assert!(
        bytes.windows(entry.len()).any(|w| w == entry),
        "no Applet.class entry"
    );
    let src = dir.path().join("src");
    jct().args(["api-src", "-o"]).arg(&src).assert().success();
    assert!(src.join("javacard/framework/ISO7816.java").exists());
    jct()
        .args(["api-jar", "--api", "9.9.9", "-o"])
        .arg(&jar)
        .assert()
        .failure();
}

/// The corpus CAP with the longest `jct cap dump`, and that dump's length.
fn largest_dump() -> (PathBuf, usize) {
    let mut caps: Vec<PathBuf> = std::fs::read_dir(shared().join("cap-corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cap"))
        .collect();
    caps.sort_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0));
    let cap = caps.pop().expect("a CAP in the corpus");
    let out = jct().args(["cap", "dump"]).arg(&cap).output().unwrap();
    assert!(out.status.success());
    (cap, out.stdout.len())
}

/// `jct cap dump X | head`: when the reader closes the pipe, jct stops
/// writing and exits 0 without a panic message, like the Unix tools.
#[test]
fn dump_into_a_closed_pipe_ends_quietly_with_success() {
    use std::io::Read;
    use std::process::{Command as StdCommand, Stdio};
    let (cap, len) = largest_dump();
    // More than a pipe holds (64 KiB on Linux), so jct is still writing
    // when the pipe closes.
    assert!(
        len > 256 * 1024,
        "{}: dump of only {len} bytes",
        cap.display()
    );
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_jct"))
        .args(["cap", "dump"])
        .arg(&cap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.is_empty(),
        "a closed pipe is not worth a message: {stderr}"
    );
}

/// `jct emu --min-level` takes a GlobalPlatform security level only.
#[test]
fn emu_refuses_a_minimum_level_that_is_no_level() {
    jct()
        .args(["emu", "--listen", "127.0.0.1:0", "--min-level", "02"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("minimum security level 02"));
}

/// `jct emu --algorithms FILE`: a name that is no API constant, or a class
/// that does not exist, is refused before the card is made.
#[test]
fn emu_refuses_an_algorithm_list_with_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"cipher": ["ALG_AES_CBC_PKCS7"]}"#).unwrap();
    Command::cargo_bin("jct")
        .unwrap()
        .args(["emu", "--listen", "127.0.0.1:0", "--algorithms"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "ALG_AES_CBC_PKCS7 is not a Cipher.ALG_* constant",
        ));
    std::fs::write(&bad, r#"{"ciphers": []}"#).unwrap();
    Command::cargo_bin("jct")
        .unwrap()
        .args(["emu", "--listen", "127.0.0.1:0", "--algorithms"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains("ciphers"));
}
