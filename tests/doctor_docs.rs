//! `jct doctor` (the machine's set-up, with how to get what is missing),
//! and the shell completions and manual pages made from the clap
//! definitions, through the real binary.

mod support;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use support::require;

fn jct() -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.env_remove("JCT_EMU").env_remove("SOFTHSM2_CONF");
    c
}

fn doctor_json(c: &mut Command) -> (Option<i32>, Value) {
    let out = c.args(["doctor", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), v)
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
}

#[test]
fn doctor_finds_javac_and_names_every_check() {
    if !require::javac() {
        return;
    }
    let (code, v) = doctor_json(&mut jct());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ok"], true);
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["javac", "pcscd", "vpcd", "emulator", "softhsm2"]);
    let javac = check(&v, "javac");
    assert_eq!(javac["status"], "ok");
    assert!(
        javac["detail"].as_str().unwrap().starts_with("javac "),
        "{javac}"
    );
    assert_eq!(check(&v, "softhsm2")["status"], "skipped");
}

#[test]
fn doctor_says_what_is_missing_and_how_to_get_it() {
    let (code, v) = doctor_json(
        jct()
            .env("PATH", "/nonexistent")
            .env_remove("JAVA_HOME")
            .env("SOFTHSM2_CONF", "/nonexistent/softhsm2.conf"),
    );
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["ok"], false);
    let javac = check(&v, "javac");
    assert_eq!(javac["status"], "missing");
    assert!(
        javac["fix"].as_str().unwrap().contains("install a JDK"),
        "{javac}"
    );
    let hsm = check(&v, "softhsm2");
    assert_eq!(hsm["status"], "missing");
    assert!(hsm["fix"].as_str().unwrap().contains("softhsm2"), "{hsm}");
    // The text form: one line per check, the fix under it.
    let out = jct()
        .arg("doctor")
        .env("PATH", "/nonexistent")
        .env_remove("JAVA_HOME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("MISSING javac     no javac on PATH"),
        "{stdout}"
    );
    assert!(stdout.contains("-> install a JDK"), "{stdout}");
    assert!(
        stdout.ends_with("1 missing: see the -> lines\n"),
        "{stdout}"
    );
}

#[test]
fn doctor_sees_a_running_emulator() {
    let (_, v) = doctor_json(jct().env("JCT_EMU", "127.0.0.1:1"));
    let emu = check(&v, "emulator");
    assert_eq!(emu["status"], "skipped", "{emu}");
    assert!(
        emu["fix"]
            .as_str()
            .unwrap()
            .contains("jct emu --listen 127.0.0.1:1"),
        "{emu}"
    );
    let card = support::Emu::start(false, "3.0.5");
    let (_, v) = doctor_json(jct().env("JCT_EMU", &card.addr));
    let emu = check(&v, "emulator");
    assert_eq!(emu["status"], "ok", "{emu}");
    assert!(
        emu["detail"].as_str().unwrap().contains(&card.addr),
        "{emu}"
    );
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = jct().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["new", "build", "run", "doctor", "install"] {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let out = jct().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_come_from_the_cli_definitions() {
    let out = jct().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH jct 1"), "{page}");
    assert!(page.contains("jct\\-new(1)"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    jct().args(["man", "-o"]).arg(dir.path()).assert().success();
    for page in [
        "jct.1",
        "jct-new.1",
        "jct-build.1",
        "jct-run.1",
        "jct-doctor.1",
    ] {
        let p = Path::new(dir.path()).join(page);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    assert!(std::fs::read_to_string(dir.path().join("jct-build.1"))
        .unwrap()
        .contains("verbose"));
}
