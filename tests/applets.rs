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

/// applets/perso-data takes its records through the security domain:
/// `jct store-data` sends INSTALL [for personalization] and STORE DATA,
/// the emulator's ISD passes each block to the applet's
/// Application.processData, and the applet answers them back with GET
/// DATA. The refusals name their cause: no such instance, an applet that
/// is not an org.globalplatform.Application, a malformed record, more
/// records than the applet keeps (and a refused block stores nothing).
#[test]
fn perso_data_is_stored_through_the_security_domain() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let api = java::api_jar(work.path(), None);
    let emu = Emu::start(false, "3.0.5");
    for name in ["perso-data", "hello"] {
        let cap = java::build_applet(work.path(), &api, name, None).cap;
        emu.jct(&["install", cap.to_str().unwrap()])
            .assert()
            .success();
    }
    let applet = "F000000001A501";
    // Two blocks: three records, the second block replacing tag 01.
    emu.jct(&["store-data", "--applet", applet, "--json"])
        .args(["0103414243 0202BEEF", "0101FF 1000"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"blocks\":2"));
    emu.jct(&["apdu", "--select", applet])
        .args(["80CA000100", "80CA000200", "80CA001000", "80CA000300"])
        .assert()
        .success()
        .stdout(predicate::str::diff("9000\nFF9000\nBEEF9000\n9000\n6A88\n"));
    // A block file, with comments.
    let file = work.path().join("perso.txt");
    std::fs::write(&file, "# name and PIN\n0304 6A 63 74 21\n\n0402 1234\n").unwrap();
    emu.jct(&[
        "store-data",
        "--applet",
        applet,
        "--file",
        file.to_str().unwrap(),
    ])
    .assert()
    .success()
    .stderr(predicate::str::contains("stored 2 block(s), 10 byte(s)"));
    emu.jct(&["apdu", "--select", applet])
        .args(["80CA000300", "80CA000400", "80CA000100"])
        .assert()
        .success()
        .stdout(predicate::str::diff(
            "9000\n6A6374219000\n12349000\nFF9000\n",
        ));
    // The refusals.
    for (target, block, sw, cause) in [
        ("F000000001A599", "010100", "6A88", "no application"),
        (
            "F000000001A101",
            "010100",
            "6985",
            "org.globalplatform.Application",
        ),
        (applet, "0105AA", "6A80", "refused the data"),
    ] {
        emu.jct(&["store-data", "--applet", target, block])
            .assert()
            .failure()
            .stderr(predicate::str::contains(sw).and(predicate::str::contains(cause)));
    }
    // 16 slots, 5 used: a block with 12 new records is refused whole.
    let many: String = (0x20..0x2C).map(|t| format!("{t:02X}0100")).collect();
    emu.jct(&["store-data", "--applet", applet, &many])
        .assert()
        .failure()
        .stderr(predicate::str::contains("6A84"));
    emu.jct(&["apdu", "--select", applet])
        .args(["80CA002000", "80CA000100"])
        .assert()
        .success()
        .stdout(predicate::str::diff("9000\n6A88\nFF9000\n"));
}
