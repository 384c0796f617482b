//! `jct load` and `jct install` compare a CAP with the card before LOAD
//! (imports, CAP format, free memory), against the jct emulator: each
//! mismatch stops before INSTALL [for load] with a sentence and exit 1,
//! `--force` sends anyway and the card's status word comes explained with
//! what was checked, `--json` carries the report, `--check-only` sends
//! nothing, and a CAP that fits loads as before.

use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use emulator::CardProfile;
use predicates::prelude::*;

mod support;

use support::{shared, Emu, TEST_KEY};

fn cap(rel: &str) -> String {
    shared()
        .join("converter-reference")
        .join(rel)
        .display()
        .to_string()
}

fn card(api: &str, memory: usize) -> Emu {
    Emu::start_profile(
        false,
        CardProfile {
            api: api.to_string(),
            memory,
            ..CardProfile::default()
        },
    )
}

/// Whether `jct list` shows the package `aid`.
fn on_card(emu: &Emu, aid: &str) -> bool {
    emu.list().contains(aid)
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The checks of `rule` in a JSON report, with their outcomes.
fn outcomes(json: &serde_json::Value, rule: &str) -> Vec<String> {
    json["compatibility"]["checks"]
        .as_array()
        .expect("compatibility.checks is an array")
        .iter()
        .filter(|c| c["rule"] == rule)
        .map(|c| c["outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// An applet importing a library the card does not have: refused before
/// anything is sent, with the library's AID and what to do; the
/// library loaded first, the same applet installs.
#[test]
fn missing_import_stops_before_load_and_loads_once_the_library_is_there() {
    let emu = card("3.2.0", 1 << 20);
    let oop = cap("oracle-3.2.0/oop.cap");
    emu.jct(&["install", &oop])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the CAP imports F0000000014C 1.0 (F0000000014C), which the card does not have",
        ))
        .stderr(predicate::str::contains(
            "load the package F0000000014C (version 1.0 or a later minor version) first",
        ))
        .stderr(predicate::str::contains("nothing was loaded"))
        .stderr(predicate::str::contains("--force"));
    assert!(!on_card(&emu, "F00000000103"), "{}", emu.list());

    let out = emu.jct(&["load", "--json", &oop]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json = json_of(&out);
    assert_eq!(json["compatible"], false);
    assert_eq!(outcomes(&json, "import"), ["fail"]);
    let import = json["compatibility"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "import")
        .unwrap();
    assert_eq!(import["cap_value"], "F0000000014C 1.0", "{import}");
    assert_eq!(import["card_value"], "absent", "{import}");
    assert_eq!(outcomes(&json, "cap-format"), ["pass"]);

    emu.jct(&["install", &cap("oracle-3.2.0/lib.cap")])
        .assert()
        .success();
    emu.jct(&["install", &oop]).assert().success();
    assert!(on_card(&emu, "F00000000103"), "{}", emu.list());
}

/// A CAP 2.3 on a Java Card 3.0.4 card: the format and the framework
/// version are named with the target to build for; --force sends it and
/// the card's refusal comes with what was checked.
#[test]
fn cap_format_above_the_cards_version_stops_and_force_shows_the_cards_answer() {
    let emu = card("3.0.4", 1 << 20);
    let lib = cap("oracle-3.2.0/lib.cap");
    emu.jct(&["load", &lib])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the CAP file has format 2.3, which needs Java Card 3.1 or later, but the card runs Java Card 3.0.4",
        ))
        .stderr(predicate::str::contains("build with --target 3.0.4"));
    assert!(!on_card(&emu, "F0000000014C"), "{}", emu.list());

    let out = emu.jct(&["load", "--force", &lib]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed with SW 6A80"), "{stderr}");
    assert!(
        stderr.contains("as jct found before sending (and --force sent anyway)"),
        "{stderr}"
    );
    assert!(stderr.contains("Checked before LOAD:"), "{stderr}");
    assert!(stderr.contains("format 2.3"), "{stderr}");
}

/// A card with 300 bytes left for load files (`jct emu --load-memory`,
/// reported in GET DATA FF21): hello's 323 bytes stop before LOAD;
/// --force meets the card's 6A84, explained; --check-only sends nothing
/// and prints one line per check.
#[test]
fn too_little_memory_stops_and_force_gets_6a84_explained() {
    let emu = card("3.0.5", 300);
    let hello = cap("oracle-3.0.5/hello.cap");
    emu.jct(&["install", &hello])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the load file is 323 bytes but the card has 300 bytes of non-volatile memory free",
        ));

    let out = emu.jct(&["load", "--check-only", &hello]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("MISMATCH")
            && l.contains("memory")
            && l.contains("CAP 323 bytes / card 300 bytes free")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok") && l.contains("cap-format")),
        "{text}"
    );

    let out = emu
        .jct(&["install", "--force", "--json", &hello])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("6A84"), "{stderr}");
    assert!(
        stderr.contains("the load file is 323 bytes but the card has 300 bytes"),
        "{stderr}"
    );
    assert!(!on_card(&emu, "F00000000101"), "{}", emu.list());
}

/// A CAP that fits: every check passes, the report is on stderr (text) or
/// in the JSON beside the instances, and the applet answers.
#[test]
fn compatible_cap_installs_as_before_with_the_report() {
    let emu = card("3.0.5", 1 << 20);
    let hello = cap("oracle-3.0.5/hello.cap");
    let out = emu
        .jct(&["load", "--check-only", "--json", &hello])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json = json_of(&out);
    assert_eq!(json["compatible"], true);
    assert_eq!(outcomes(&json, "memory"), ["pass"]);
    assert!(!on_card(&emu, "F00000000101"));

    let out = emu.jct(&["install", "--json", &hello]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = json_of(&out);
    assert_eq!(json["compatible"], true);
    assert_eq!(outcomes(&json, "cap-format"), ["pass"]);
    assert!(!json["installed"].as_array().unwrap().is_empty(), "{json}");
    assert!(on_card(&emu, "F00000000101"), "{}", emu.list());

    // Again: the package is there now, which the check says first.
    emu.jct(&["load", &hello])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is on the card already"))
        .stderr(predicate::str::contains("jct uninstall"));
}

/// The real `jct emu --load-memory` limits what the card reports free and
/// what it takes.
#[test]
fn jct_emu_load_memory_option_is_what_the_check_compares() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let bin = assert_cmd::cargo::cargo_bin("jct");
    let mut child = StdCommand::new(bin)
        .args(["emu", "--listen", &addr, "--load-memory", "200"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "jct emu did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::cargo_bin("jct")
        .unwrap()
        .args(["load", "--check-only", &cap("oracle-3.0.5/hello.cap")])
        .args(["--emu", &addr, "--key", TEST_KEY])
        .env_remove("JCT_KEY")
        .env_remove("JCT_EMU")
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("200 bytes of non-volatile memory free"),
        "{text}"
    );
}
