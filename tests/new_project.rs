//! A new user's first hour, with the real binary and the real javac:
//! `jct new`, `cd`, `jct run` gives a passing test; `jct build` compiles
//! only when something changed and says what it wrote; bad input to
//! `jct new` is refused before anything is written.

mod support;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use support::require;

fn jct(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.current_dir(dir);
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run_ok(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

#[test]
fn new_then_run_passes_in_three_commands() {
    if !require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // 1. jct new demo
    let out = run_ok(jct(work.path()).args(["new", "demo"]));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("created demo: package com.example.demo (AID F06A637400"),
        "{stdout}"
    );
    assert!(stdout.contains("next: cd demo && jct run"), "{stdout}");
    let dir = work.path().join("demo");
    for f in [
        "jct.toml",
        "src/com/example/demo/DemoApplet.java",
        "tests/demo.apdu",
        ".gitignore",
        "README.md",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // 2. cd demo; 3. jct run: javac, convert, the test script on an emulated card.
    let out = run_ok(jct(&dir).arg("run"));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("compiled 1 source with javac "), "{stdout}");
    assert!(stdout.contains("wrote build/demo.cap ("), "{stdout}");
    assert!(
        stdout.contains("ok tests/demo.apdu: 6 passed, 0 failed, 0 error(s), 0 skipped\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("ok: all passed: 6 passed, 0 failed, 0 error(s), 0 skipped (1 script)\n"),
        "{stdout}"
    );
    // The CAP is a real one.
    run_ok(jct(&dir).args(["cap", "verify", "build/demo.cap"]));

    // Nothing changed: javac is not run again (and `jct test` without
    // scripts is `jct run`).
    let out = run_ok(jct(&dir).arg("test"));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("javac: 1 source unchanged since the last build, not recompiled"),
        "{stdout}"
    );
    assert!(stdout.contains("6 passed"), "{stdout}");

    // --json: a "script" object per script after its steps, then the summary.
    let out = run_ok(jct(&dir).args(["run", "--json"]));
    let stdout = text(&out.stdout);
    // Only JSON on stdout: the build's report went to stderr.
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        text(&out.stderr).contains("wrote build/demo.cap"),
        "{}",
        text(&out.stderr)
    );
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "step").count(),
        6,
        "{stdout}"
    );
    assert_eq!(&kinds[6..], ["script", "summary"], "{stdout}");
    assert_eq!(objects[6]["script"], "tests/demo.apdu");
    assert_eq!(objects[6]["passed"], 6);
    assert_eq!(objects[7]["ok"], true);
}

#[test]
fn build_recompiles_only_what_changed_and_shows_the_javac_line() {
    if !require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    run_ok(jct(work.path()).args([
        "new",
        "wallet",
        "--package",
        "org.example.purse",
        "--aid",
        "F0:00:00:00:01:C1",
    ]));
    let dir = work.path().join("wallet");
    let source = dir.join("src/org/example/purse/WalletApplet.java");

    let out = run_ok(jct(&dir).args(["build", "--verbose"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains("-bootclasspath build/api-3.0.5.jar -d build/classes src/org/example/purse/WalletApplet.java"),
        "{stderr}"
    );
    assert!(stderr.contains("javac"), "{stderr}");
    assert!(stdout.contains("compiled 1 source"), "{stdout}");
    assert!(
        stdout.contains("wrote build/purse.cap (")
            && stdout.contains("org.example.purse F000000001C1 1.0"),
        "{stdout}"
    );
    let class = dir.join("build/classes/org/example/purse/WalletApplet.class");
    let first = std::fs::read(&class).unwrap();

    // A timestamp alone is no change.
    let src = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, &src).unwrap();
    let out = run_ok(jct(&dir).arg("build"));
    assert!(
        text(&out.stdout).contains("not recompiled"),
        "{}",
        text(&out.stdout)
    );

    // An edit is: the class changes, and the card answers the new greeting.
    std::fs::write(
        &source,
        src.replace("'H', 'e', 'l', 'l', 'o'", "'H', 'e', 'y'"),
    )
    .unwrap();
    let out = run_ok(jct(&dir).arg("build"));
    assert!(
        text(&out.stdout).contains("compiled 1 source"),
        "{}",
        text(&out.stdout)
    );
    assert_ne!(std::fs::read(&class).unwrap(), first);
    let script = dir.join("tests/wallet.apdu");
    let t = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, t.replace("48 65 6C 6C 6F 9000", "48 65 79 9000")).unwrap();
    let out = run_ok(jct(&dir).arg("run"));
    assert!(
        text(&out.stdout).contains("not recompiled"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("6 passed"),
        "{}",
        text(&out.stdout)
    );

    // A class of a deleted source does not survive into the CAP.
    let extra = dir.join("src/org/example/purse/Extra.java");
    std::fs::write(
        &extra,
        "package org.example.purse;\nclass Extra { short x; }\n",
    )
    .unwrap();
    run_ok(jct(&dir).arg("build"));
    let extra_class = dir.join("build/classes/org/example/purse/Extra.class");
    assert!(extra_class.is_file());
    std::fs::remove_file(&extra).unwrap();
    let out = run_ok(jct(&dir).arg("build"));
    assert!(
        text(&out.stdout).contains("compiled 1 source"),
        "{}",
        text(&out.stdout)
    );
    assert!(!extra_class.exists());

    // A deleted class file is noticed: javac runs again.
    std::fs::remove_file(&class).unwrap();
    let out = run_ok(jct(&dir).arg("build"));
    assert!(
        text(&out.stdout).contains("compiled 1 source"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_compile_error_is_javacs_then_one_line_of_jct() {
    if !require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    run_ok(jct(work.path()).args(["new", "broken"]));
    let dir = work.path().join("broken");
    let source = dir.join("src/com/example/broken/BrokenApplet.java");
    let src = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        src.replace(
            "byte[] buf = apdu.getBuffer();",
            "byte[] buf = apdu.getBuffer() +;",
        ),
    )
    .unwrap();
    let out = jct(&dir).arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("src/com/example/broken/BrokenApplet.java:"),
        "javac's diagnostic names file and line: {stderr}"
    );
    assert_eq!(stderr.matches("javac failed").count(), 1, "{stderr}");
    assert!(
        stderr.contains("error: javac failed (exit status: 1): fix the errors it reported above"),
        "{stderr}"
    );
    // Fixed, it builds: the failed compile left no state claiming otherwise.
    std::fs::write(&source, &src).unwrap();
    run_ok(jct(&dir).arg("run"));
}

#[test]
fn new_refuses_bad_names_aids_and_existing_directories() {
    let work = tempfile::tempdir().unwrap();
    let fails = |args: &[&str], says: &str| {
        let out = jct(work.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    };
    fails(&["new", "1up"], "project name `1up`");
    fails(
        &["new", "x", "--package", "com.class.x"],
        "`class` is not a Java identifier",
    );
    fails(
        &["new", "x", "--aid", "F0010203"],
        "the package AID is 4 byte(s); it needs 5 to 15",
    );
    fails(&["new", "x", "--aid", "F0ZZ"], "not hex");
    fails(
        &["new", "x", "--aid", "A0000000620001"],
        "the Java Card API packages",
    );
    fails(
        &["new", "x", "--aid", "3000000000"],
        "reserved for ISO/IEC 7812",
    );
    // Nothing was written by the refused commands.
    assert!(!work.path().join("x").exists());
    std::fs::create_dir(work.path().join("taken")).unwrap();
    std::fs::write(work.path().join("taken/notes.txt"), "mine").unwrap();
    fails(&["new", "taken"], "already exists and is not empty");
    assert_eq!(
        std::fs::read_dir(work.path().join("taken"))
            .unwrap()
            .count(),
        1
    );
    // A registered range is allowed, with a note.
    let out = jct(work.path())
        .args(["new", "reg", "--aid", "A000000555"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("international registration range"));
}

#[cfg(unix)]
#[test]
fn an_up_to_date_build_starts_no_jvm() {
    use std::os::unix::fs::PermissionsExt;
    if !require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // A javac on PATH that logs each call, then runs the real one.
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v javac"])
        .output()
        .unwrap();
    let real = text(&real.stdout).trim().to_string();
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = work.path().join("javac.log");
    let wrapper = bin.join("javac");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    run_ok(jct(work.path()).args(["new", "quick"]));
    let dir = work.path().join("quick");
    let calls = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    run_ok(
        jct(&dir)
            .arg("build")
            .env("PATH", &path)
            .env_remove("JAVA_HOME"),
    );
    // `javac -version`, then the compile.
    assert_eq!(calls(), 2, "{}", std::fs::read_to_string(&log).unwrap());
    let out = run_ok(
        jct(&dir)
            .arg("build")
            .env("PATH", &path)
            .env_remove("JAVA_HOME"),
    );
    assert!(text(&out.stdout).contains("not recompiled"));
    assert_eq!(calls(), 2, "an up-to-date build ran javac");
    // A different javac (here: the same file, changed) is asked again.
    let mut script = std::fs::read_to_string(&wrapper).unwrap();
    script.push_str("# changed\n");
    std::fs::write(&wrapper, script).unwrap();
    run_ok(
        jct(&dir)
            .arg("build")
            .env("PATH", &path)
            .env_remove("JAVA_HOME"),
    );
    assert_eq!(calls(), 3, "{}", std::fs::read_to_string(&log).unwrap());
}

/// A project importing a library project (applets/wallet uses
/// applets/secure-channel's Shareable interface): javac gets the library's
/// classes from beside its export file, the converter the export file.
#[test]
fn a_project_importing_a_library_project_builds() {
    if !require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    for name in ["secure-channel", "wallet"] {
        support::java::copy_tree(&Path::new("applets").join(name), &work.path().join(name));
        let _ = std::fs::remove_dir_all(work.path().join(name).join("build"));
    }
    let out = run_ok(jct(&work.path().join("secure-channel")).arg("build"));
    assert!(
        text(&out.stdout).contains("wrote build/securechannel.exp (export file)"),
        "{}",
        text(&out.stdout)
    );
    let out = run_ok(jct(&work.path().join("wallet")).args(["build", "-v"]));
    assert!(
        text(&out.stderr).contains("-cp ../secure-channel/build/classes -d build/classes"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("wrote build/wallet.cap"),
        "{}",
        text(&out.stdout)
    );
}
