//! The applets in applets/ build from Java source: javac against the API jar
//! jct writes, then `jct build` with each applet's jct.toml; the CAP verifies,
//! installs on the emulator and answers SELECT.

mod support;

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;
use support::Emu;

fn java_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(java_files(&p));
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
    out
}

/// Writes the API jar with `jct api-jar`.
fn api_jar(dir: &Path) -> std::path::PathBuf {
    let api = dir.join("api.jar");
    Command::cargo_bin("jct")
        .unwrap()
        .args(["api-jar", "-o"])
        .arg(&api)
        .assert()
        .success();
    api
}

/// Compiles `sources` with javac against the API jar into `out`.
fn javac(api: &Path, out: &Path, sources: &[std::path::PathBuf]) {
    let status = StdCommand::new("javac")
        .args([
            "-g",
            "-source",
            "8",
            "-target",
            "8",
            "-nowarn",
            "-bootclasspath",
        ])
        .arg(api)
        .arg("-d")
        .arg(out)
        .args(sources)
        .status()
        .expect("javac (a JDK) is needed to build the applets");
    assert!(status.success(), "javac failed for {sources:?}");
}

#[test]
fn applets_build_from_source_and_install() {
    let work = tempfile::tempdir().unwrap();
    let api = api_jar(work.path());
    let emu = Emu::start(false, "3.0.5");
    for (name, applet) in [("hello", "F000000001A101"), ("counter", "F000000001A201")] {
        // A copy of the project, so the build writes nothing into the repository.
        let project = work.path().join(name);
        std::fs::create_dir_all(project.join("build/classes")).unwrap();
        std::fs::copy(
            Path::new("applets").join(name).join("jct.toml"),
            project.join("jct.toml"),
        )
        .unwrap();
        let sources = java_files(&Path::new("applets").join(name).join("src"));
        javac(&api, &project.join("build/classes"), &sources);
        Command::cargo_bin("jct")
            .unwrap()
            .arg("build")
            .arg(&project)
            .assert()
            .success()
            .stdout(predicate::str::contains("wrote"));
        let cap = project.join(format!("build/{name}.cap"));
        Command::cargo_bin("jct")
            .unwrap()
            .args(["cap", "verify"])
            .arg(&cap)
            .assert()
            .success();
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
}

#[test]
fn build_from_flags_without_a_project_file() {
    let work = tempfile::tempdir().unwrap();
    let api = api_jar(work.path());
    let classes = work.path().join("classes");
    javac(
        &api,
        &classes,
        &java_files(&support::shared().join("converter-reference/src/com/example/hello")),
    );
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
