//! The applets in applets/ build from Java source: javac against the API jar
//! jct writes, then `jct build` with each applet's jct.toml; the CAP verifies,
//! installs on the emulator and answers SELECT.

mod support;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use support::{java, Emu};

/// The class files of a converter-reference package, compiled by javac
/// against jct's API jar into `work/classes`.
fn reference_classes(work: &Path, package: &str) -> std::path::PathBuf {
    let api = java::api_jar(work, None);
    let classes = work.join("classes");
    let sources = support::shared()
        .join("converter-reference/src/com/example")
        .join(package);
    java::javac(&api, None, &classes, &java::java_files(&sources));
    classes
}

#[test]
fn applets_build_from_source_and_install() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let api = java::api_jar(work.path(), None);
    let emu = Emu::start(false, "3.0.5");
    for (name, applet) in [("hello", "F000000001A101"), ("counter", "F000000001A201")] {
        let cap = java::build_applet(work.path(), &api, name, None).cap;
        emu.jct(&["install", cap.to_str().unwrap(), "--mode", "enc"])
            .assert()
            .success()
            .stderr(predicate::str::contains(format!("installed {applet}")));
        emu.jct(&["apdu", "--select", applet])
            .arg("00A4040000")
            .assert()
            .success()
            .stdout(predicate::str::starts_with("9000"));
    }
    // They run as applets/README.md says, through `jct apdu --select`.
    for (applet, commands, answers) in [
        (
            "F000000001A101",
            &["8001000000", "0001000000", "8002000000"][..],
            "9000\n48656C6C6F9000\n6E00\n6D00\n",
        ),
        (
            "F000000001A201",
            &[
                "8010000002",
                "80120000020100",
                "8014000002000F",
                "80140000020200",
            ][..],
            "9000\n00009000\n01009000\n00F19000\n6985\n",
        ),
    ] {
        emu.jct(&["apdu", "--select", applet])
            .args(commands)
            .assert()
            .success()
            .stdout(predicate::str::diff(answers));
    }
}

#[test]
fn build_from_flags_without_a_project_file() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let classes = reference_classes(work.path(), "hello");
    let cap = work.path().join("hello.cap");
    Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&classes)
        .args([
            "--package",
            "com.example.hello",
            "--package-aid",
            "F00000000101",
            "--version",
            "1.0",
        ])
        .args(["--applet", "F0000000010101=HelloApplet", "-o"])
        .arg(&cap)
        .assert()
        .success();
    let out = Command::cargo_bin("jct")
        .unwrap()
        .args(["cap", "info", "--json"])
        .arg(&cap)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["package_aid"], "F00000000101");
    assert_eq!(info["applets"][0]["aid"], "F0000000010101");
    // --exp for an applet package that exports nothing says so and writes
    // no file.
    let exp = work.path().join("hello.exp");
    Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&classes)
        .args([
            "--package",
            "com.example.hello",
            "--package-aid",
            "F00000000101",
        ])
        .args([
            "--version",
            "1.0",
            "--applet",
            "F0000000010101=HelloApplet",
            "-o",
        ])
        .arg(&cap)
        .arg("--exp")
        .arg(&exp)
        .assert()
        .success()
        .stderr(predicate::str::contains("no export file written"))
        .stderr(predicate::str::contains("without Shareable interfaces"));
    assert!(!exp.exists());
    // A malformed applet option is a clear error.
    Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&classes)
        .args([
            "--package",
            "com.example.hello",
            "--package-aid",
            "F00000000101",
            "--version",
            "1.0",
        ])
        .args(["--applet", "HelloApplet", "-o"])
        .arg(&cap)
        .assert()
        .failure()
        .stderr(predicate::str::contains("AID=Class"));
}

/// `jct build` writes the CAP and its export file (a library has one)
/// both or neither: when the
/// export file cannot be written, no new CAP appears and an old one stays.
#[test]
fn a_failed_build_leaves_neither_output() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let classes = reference_classes(work.path(), "lib");
    let build = |cap: &Path, exp: &Path| {
        let mut c = Command::cargo_bin("jct").unwrap();
        c.arg("build")
            .arg(&classes)
            .args(["--package", "com.example.lib"])
            .args(["--package-aid", "F0000000014C", "--version", "1.0", "-o"])
            .arg(cap)
            .arg("--exp")
            .arg(exp);
        c
    };
    // Where the export file should go stands a non-empty directory: the
    // conversion succeeds, putting the export file in place cannot.
    let blocked = work.path().join("blocked.exp");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();

    let fresh = work.path().join("fresh.cap");
    build(&fresh, &blocked)
        .assert()
        .failure()
        .stderr(predicate::str::contains("blocked.exp"));
    assert!(!fresh.exists(), "a CAP without its export file was left");

    let old = work.path().join("old.cap");
    std::fs::write(&old, b"the previous build").unwrap();
    build(&old, &blocked).assert().failure();
    assert_eq!(std::fs::read(&old).unwrap(), b"the previous build");
    let names: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {names:?}"
    );

    // The same build with a writable export path writes both.
    let exp = work.path().join("lib.exp");
    build(&old, &exp).assert().success();
    assert!(exp.exists());
    assert_ne!(std::fs::read(&old).unwrap(), b"the previous build");
}

/// The applets' own regression scripts (applets/*/test.apdu, written from
/// applets/README.md) pass under `jct test` on a fresh in-process card:
/// the applets run in the emulator's JCVM.
#[test]
fn applet_scripts_pass_in_process() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let api = java::api_jar(work.path(), None);
    for name in ["hello", "counter"] {
        let project = java::build_applet(work.path(), &api, name, None).dir;
        let out = Command::cargo_bin("jct")
            .unwrap()
            .arg("test")
            .arg(project.join("test.apdu"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("all passed"), "{stdout}");
    }
}
