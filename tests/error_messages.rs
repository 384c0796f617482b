//! Error messages of the real binary, one test per class of message: each
//! says what failed once (no cause repeated down the chain), where (file,
//! address, APDU and status word), and, where there is an obvious one, the
//! next step on a `hint:` line.

mod support;

use std::path::Path;

use assert_cmd::Command;

fn jct(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("jct").unwrap();
    c.current_dir(dir).env_remove("JCT_EMU");
    c
}

/// Runs `c`, which must fail with exit status 1, and returns its stderr.
fn fails(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    stderr
}

/// The `error:` line of `stderr`, which must have exactly one.
fn error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0]
}

/// `fragment` appears exactly once in `stderr`.
fn once(stderr: &str, fragment: &str) {
    assert_eq!(
        stderr.matches(fragment).count(),
        1,
        "{fragment:?} in {stderr}"
    );
}

#[test]
fn a_missing_file_is_named_with_the_os_reason_once() {
    let dir = tempfile::tempdir().unwrap();
    let stderr =
        fails(jct(dir.path()).args(["install", "/nonexistent.cap", "--emu", "127.0.0.1:1"]));
    assert_eq!(
        error_line(&stderr),
        "error: cannot read CAP /nonexistent.cap: No such file or directory (os error 2)"
    );
    once(&stderr, "No such file or directory");
    once(&stderr, "/nonexistent.cap");
    let stderr = fails(jct(dir.path()).args(["exp", "dump", "/nonexistent.exp"]));
    once(&stderr, "No such file or directory");
    assert!(error_line(&stderr).contains("/nonexistent.exp"), "{stderr}");
}

#[test]
fn an_unreachable_emulator_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails(jct(dir.path()).args(["list", "--emu", "127.0.0.1:1"]));
    assert_eq!(
        error_line(&stderr),
        "error: cannot connect to the emulator at 127.0.0.1:1: Connection refused (os error 111)"
    );
    once(&stderr, "Connection refused");
    assert!(
        stderr.contains("\nhint: start an emulated card with `jct emu --listen 127.0.0.1:1`"),
        "{stderr}"
    );
    // The same through JCT_EMU, and from `jct test` on a card.
    let script = dir.path().join("t.apdu");
    std::fs::write(&script, "select A000000151000000 << 9000\n").unwrap();
    let out = jct(dir.path())
        .args(["test", "t.apdu"])
        .env("JCT_EMU", "127.0.0.1:1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    once(&stderr, "Connection refused");
    assert!(stderr.contains("hint: start an emulated card"), "{stderr}");
}

#[test]
fn outside_a_project_build_and_test_say_where_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails(jct(dir.path()).arg("build"));
    assert_eq!(error_line(&stderr), "error: no project file jct.toml");
    assert!(
        stderr.contains(
            "\nhint: run `jct build` in an applet project's directory (`jct new NAME` makes one)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--package"), "{stderr}");
    let stderr = fails(jct(dir.path()).arg("run"));
    assert!(
        error_line(&stderr).contains("no scripts given and no project file jct.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: give the scripts to run"), "{stderr}");
    assert!(stderr.contains("--project DIR"), "{stderr}");
}

#[test]
fn a_project_without_javac_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    jct(dir.path()).args(["new", "p"]).assert().success();
    let stderr = fails(
        jct(&dir.path().join("p"))
            .arg("build")
            .env("PATH", "/nonexistent")
            .env_remove("JAVA_HOME"),
    );
    assert_eq!(
        error_line(&stderr),
        "error: no javac on PATH: running javac: No such file or directory (os error 2)"
    );
    assert!(stderr.contains("hint: install a JDK"), "{stderr}");
    let stderr = fails(
        jct(&dir.path().join("p"))
            .arg("build")
            .env("JAVA_HOME", "/nonexistent/jdk"),
    );
    assert!(
        error_line(&stderr).starts_with(
            "error: JAVA_HOME is /nonexistent/jdk but /nonexistent/jdk/bin/javac does not run"
        ),
        "{stderr}"
    );
    once(&stderr, "No such file or directory");
}

#[cfg(feature = "pcsc")]
#[test]
fn no_pcsc_service_says_to_start_pcscd() {
    let dir = tempfile::tempdir().unwrap();
    // pcsc-lite connects to the socket this names: none, as on a machine
    // without pcscd.
    let sock = dir.path().join("no-pcscd.comm");
    for args in [&["list"][..], &["readers"][..]] {
        let stderr = fails(jct(dir.path()).args(args).env("PCSCLITE_CSOCK_NAME", &sock));
        let line = error_line(&stderr);
        assert!(
            line.starts_with("error: PC/SC: connecting to the PC/SC service"),
            "{stderr}"
        );
        once(&stderr, "resource manager is not running");
        assert!(stderr.contains("\nhint: start pcscd"), "{stderr}");
        assert!(stderr.contains("--emu 127.0.0.1:35963"), "{stderr}");
    }
}

#[test]
fn a_refused_command_names_the_command_and_the_status_word() {
    let emu = support::Emu::start(false, "3.0.5");
    let out = emu.jct(&["delete", "F0000000AA"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        error_line(&stderr),
        "error: DELETE failed with SW 6A88: nothing with this AID is on the card; check `jct list`"
    );
}

#[test]
fn wrong_keys_say_which_options_give_the_right_ones() {
    let emu = support::Emu::start(false, "3.0.5");
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails(jct(dir.path()).args([
        "list",
        "--emu",
        &emu.addr,
        "--key",
        "00112233445566778899AABBCCDDEEFF",
    ]));
    assert_eq!(
        error_line(&stderr),
        "error: card cryptogram mismatch: wrong keys or wrong diversification"
    );
    assert!(
        stderr.contains("\nhint: give the card's keys: --key HEX"),
        "{stderr}"
    );
    // The right key still works: no try was spent.
    assert!(emu.list().contains("A000000151000000"), "{}", emu.list());
}

#[test]
fn a_port_in_use_says_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let stderr = fails(jct(dir.path()).args(["emu", "--listen", &addr]));
    let line = error_line(&stderr);
    assert!(
        line.starts_with(&format!("error: listening on {addr}: ")),
        "{stderr}"
    );
    once(&stderr, "in use");
    assert!(
        stderr.contains("\nhint: another program (perhaps another `jct emu`) has that port"),
        "{stderr}"
    );
    assert!(stderr.contains("--listen 127.0.0.1:0"), "{stderr}");
}

#[test]
fn a_bad_file_names_the_structure_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.cap"), b"garbage!").unwrap();
    let stderr = fails(jct(dir.path()).args(["cap", "info", "bad.cap"]));
    assert_eq!(
        error_line(&stderr),
        "error: cannot read CAP bad.cap: load file: starts with component tag 103, but the Header (tag 1) must come first"
    );
    // A jct.toml error names the file and the key.
    std::fs::write(
        dir.path().join("jct.toml"),
        "[package]\nname = \"com.x\"\naid = \"F0\"\nversion = \"1.0\"\n",
    )
    .unwrap();
    let stderr = fails(jct(dir.path()).arg("build"));
    let line = error_line(&stderr);
    assert!(
        line.starts_with("error: jct.toml: [package] `aid`: AID 'F0' has 1 bytes"),
        "{stderr}"
    );
    // A script error names file, line and column.
    std::fs::write(dir.path().join("s.apdu"), "select F0000000\n>> 80 0\n").unwrap();
    let out = jct(dir.path()).args(["test", "s.apdu"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        error_line(&stderr).starts_with("error: s.apdu:"),
        "{stderr}"
    );
}
