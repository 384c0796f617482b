//! Java applets for the tests: javac against `jct api-jar`'s API, then
//! `jct build`, with the `jct` binary under test.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;

/// Every .java file under `dir`.
pub fn java_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(java_files(&p));
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
    out
}

/// javac of `sources` against the API jar (written once into `work`),
/// into `work/<name>-classes`.
pub fn compile(work: &Path, name: &str, sources: &[PathBuf], classpath: Option<&Path>) -> PathBuf {
    let api = work.join("api.jar");
    if !api.exists() {
        Command::cargo_bin("jct")
            .unwrap()
            .args(["api-jar", "-o"])
            .arg(&api)
            .assert()
            .success();
    }
    let out = work.join(format!("{name}-classes"));
    std::fs::create_dir_all(&out).unwrap();
    let mut cmd = StdCommand::new("javac");
    cmd.args([
        "-g",
        "-source",
        "8",
        "-target",
        "8",
        "-nowarn",
        "-bootclasspath",
    ])
    .arg(&api);
    if let Some(cp) = classpath {
        cmd.arg("-cp").arg(cp);
    }
    let status = cmd.arg("-d").arg(&out).args(sources).status().unwrap();
    assert!(status.success(), "javac {name}");
    out
}

/// `jct build` of compiled classes into `work/<package>.cap` (and .exp);
/// `applet` is `AID=Class`.
pub fn build(
    work: &Path,
    classes: &Path,
    package: &str,
    aid: &str,
    applet: Option<&str>,
    extra: &[&str],
) -> PathBuf {
    let cap = work.join(format!("{package}.cap"));
    let exp = work.join(format!("{package}.exp"));
    let mut cmd = Command::cargo_bin("jct").unwrap();
    cmd.arg("build").arg(classes).args([
        "--package",
        package,
        "--package-aid",
        aid,
        "--version",
        "1.0",
    ]);
    if let Some(a) = applet {
        cmd.args(["--applet", a]);
    }
    cmd.arg("-o").arg(&cap).arg("--exp").arg(&exp).args(extra);
    cmd.assert().success();
    cap
}
