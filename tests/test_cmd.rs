//! `jct test`: scripts run by the real binary — in process, over TCP to an
//! emulator, replayed from a trace — with the exit statuses, diffs and
//! JSON lines users and CI scripts rely on.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use support::Emu;

fn jct() -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.env_remove("JCT_KEY").env_remove("JCT_EMU");
    c
}

/// An applet whose SELECT answers 9000: the emulator runs applets, and
/// gppro's Empty throws CryptoException from process() (6F00).
fn corpus_cap() -> PathBuf {
    support::shared().join("converter-reference/oracle-3.0.5/hello.cap")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// What passes on the card manager today: the ISD, its data objects, an
/// install of a corpus CAP and SELECT of the instance, GET STATUS in a
/// secure channel, a capture used later.
fn passing_script(dir: &Path) -> PathBuf {
    write(
        dir,
        "pass.apdu",
        &format!(
            "# today's card manager\n\
             select A000000151000000 << 6F XX 84 08 $isd:8 * 9000\n\
             >> 80CA9F7F00 << 9F7F 2A * 9000\n\
             install \"{}\"\n\
             select F0000000010101 << 9000\n\
             >> 00A40400 ($isd) 00 << 6F * 9000\n\
             secure\n\
             >> 80F24002024F00 << E3 XX 4F 07 F0000000010101 * 9000\n",
            corpus_cap().display()
        ),
    )
}

#[test]
fn a_passing_script_exits_0_with_one_line_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let script = passing_script(dir.path());
    let out = jct().arg("test").arg(&script).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert!(lines[..7].iter().all(|l| l.starts_with("ok ")), "{stdout}");
    assert!(
        lines[2].contains("pass.apdu:4: install") && lines[2].contains("installed F0000000010101"),
        "{stdout}"
    );
    assert_eq!(
        lines[7],
        "ok: all passed: 7 passed, 0 failed, 0 error(s), 0 skipped (1 script)"
    );
}

#[test]
fn a_mismatch_exits_1_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "fail.apdu",
        ">> 80CA9F7F00 << 9F7F 2B * 9000\n>> 00A4040008A000000151000099 << 9000\n>> 80CA9F7F00\n",
    );
    let out = jct().arg("test").arg(&script).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(
        stdout.contains("fail.apdu:1: >> 80CA9F7F00 << 9F7F 2B * 9000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      expected  9F 7F 2B * 9000\n      actual    9F 7F 2A "),
        "{stdout}"
    );
    assert!(stdout.contains("\n                      ^^\n"), "{stdout}");
    assert!(
        stdout.contains("      actual    6A82\n                ^^^^\n"),
        "{stdout}"
    );
    assert!(stdout.contains("status word 6A82 is not 9000"), "{stdout}");
    assert!(stdout.contains("fail.apdu:3: >> 80CA9F7F00\n"), "{stdout}");
    assert!(
        stdout.ends_with("FAILED: 1 passed, 2 failed, 0 error(s), 0 skipped (1 script)\n"),
        "{stdout}"
    );
}

#[test]
fn json_gives_one_object_per_step_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let pass = passing_script(dir.path());
    let fail = write(dir.path(), "fail.apdu", ">> 80CA9F7F00 << 9F7F 2B * 9000\n");
    let out = jct()
        .arg("test")
        .arg(&pass)
        .arg(&fail)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let values: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values.len(), 9);
    assert!(values[..8].iter().all(|v| v["type"] == "step"));
    assert_eq!(values[1]["command"], "80CA9F7F00");
    assert_eq!(values[1]["sw"], "9000");
    assert_eq!(values[1]["status"], "pass");
    assert!(values[1]["data"].as_str().unwrap().starts_with("9F7F2A"));
    let failed = &values[7];
    assert_eq!(failed["status"], "fail");
    assert_eq!(failed["line"], 1);
    assert_eq!(failed["expected"], "9F 7F 2B * 9000");
    assert_eq!(failed["differing_bytes"], serde_json::json!([2]));
    let summary = &values[8];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["scripts"], 2);
    assert_eq!(summary["passed"], 7);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["ok"], false);
}

#[test]
fn a_parse_error_exits_2_naming_file_line_and_column_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = passing_script(dir.path());
    let bad = write(
        dir.path(),
        "bad.apdu",
        "select A000000151000000\n\n  >> 80CA9F7F00 << 9F7F 2A * 90\n",
    );
    let out = jct().arg("test").arg(&good).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "error: {}:3:31: the expectation must end with a status word: 4 hex digits or X (9000, 61XX, 6A8X), alternatives separated by |\n",
            bad.display()
        )
    );
    // As JSON too, on stdout.
    let out = jct().arg("test").arg(&bad).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["type"], "parse_error");
    assert_eq!(
        (v["line"].as_u64(), v["column"].as_u64()),
        (Some(3), Some(31))
    );
}

#[test]
fn hostile_scripts_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("bin.apdu");
    std::fs::write(&binary, [0xFFu8, 0xFE, 0, 1, 2]).unwrap();
    let huge = dir.path().join("huge.apdu");
    std::fs::write(&huge, vec![b'#'; 2 << 20]).unwrap();
    let long_line = write(
        dir.path(),
        "long.apdu",
        &format!(">> {}\n", "00".repeat(5000)),
    );
    for (path, message) in [
        (binary, ":1:1: the script is not UTF-8 text"),
        (huge, ":0:0: the script is larger than 1048576 bytes"),
        (long_line, ":1:1: line longer than 4096 bytes"),
        (
            dir.path().join("missing.apdu"),
            ":0:0: cannot read the script: ",
        ),
    ] {
        jct()
            .arg("test")
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{}{message}",
                path.display()
            )));
    }
}

#[test]
fn cap_option_installs_before_each_script() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "s.apdu", "select F0000000010101 << 9000\n");
    let out = jct()
        .arg("test")
        .arg(&script)
        .arg(&script)
        .arg("--cap")
        .arg(corpus_cap())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    // Each script has its own fresh card, so the CAP is installed twice.
    assert_eq!(stdout.matches("ok --cap:0: install").count(), 2, "{stdout}");
    assert!(stdout.contains("4 passed"), "{stdout}");
    // Without it the instance is not there.
    jct()
        .arg("test")
        .arg(&script)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("status word 6A82 is not 9000"));
}

#[test]
fn runs_on_an_emulator_over_tcp_and_replays_the_recorded_trace() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emu::start(false, "3.0.5");
    let script = passing_script(dir.path());
    emu.jct(&["test", script.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("7 passed"));
    // The card kept the instance: installing again fails, and the error
    // stops the script (the rest is skipped).
    emu.jct(&["test", script.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ERROR "))
        .stdout(predicate::str::contains("6985"))
        .stdout(predicate::str::contains("1 error(s), 4 skipped"));
    // A plain script recorded, then replayed byte for byte.
    let plain = write(
        dir.path(),
        "plain.apdu",
        "select A000000151000000 << 6F * 9000\n>> 80CA9F7F00 << 9F7F 2A $c:42 9000\n>> 80CA9F7F00 << 9F7F 2A $c 9000\n",
    );
    let trace = dir.path().join("trace.txt");
    emu.jct(&[
        "test",
        plain.to_str().unwrap(),
        "--record",
        trace.to_str().unwrap(),
    ])
    .assert()
    .success();
    jct()
        .arg("test")
        .arg(&plain)
        .arg("--replay")
        .arg(&trace)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 passed"));
}

#[test]
fn long_help_documents_the_syntax_with_an_example() {
    jct()
        .args(["test", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Statements:"))
        .stdout(predicate::str::contains(
            "$name:N or $name:* (capture bytes)",
        ))
        .stdout(predicate::str::contains(
            ">> 80 01 00 00 00 << 48 65 6C 6C 6F 9000",
        ))
        .stdout(predicate::str::contains("--cap <FILE>"));
    // No script outside a project: nothing to build or run, and how to go on.
    let dir = tempfile::tempdir().unwrap();
    jct()
        .current_dir(dir.path())
        .arg("test")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: no scripts given and no project file jct.toml\nhint: give the scripts to run",
        ));
}
