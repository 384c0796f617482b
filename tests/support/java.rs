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

/// `jct api-jar` of one API version (`None`: jct's default) into `work`,
/// written once and reused.
pub fn api_jar(work: &Path, api: Option<&str>) -> PathBuf {
    let jar = work.join(match api {
        Some(v) => format!("api-{v}.jar"),
        None => "api.jar".to_string(),
    });
    if !jar.exists() {
        let mut cmd = Command::cargo_bin("jct").unwrap();
        cmd.arg("api-jar");
        if let Some(v) = api {
            cmd.args(["--api", v]);
        }
        cmd.arg("-o").arg(&jar).assert().success();
    }
    jar
}

/// javac of `sources` against the API jar `api` (and `classpath`, the
/// classes of packages they import) into `out`, with debug information
/// (the converter reads the local variable tables).
pub fn javac(api: &Path, classpath: Option<&Path>, out: &Path, sources: &[PathBuf]) {
    std::fs::create_dir_all(out).unwrap();
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
    .arg(api);
    if let Some(cp) = classpath {
        cmd.arg("-cp").arg(cp);
    }
    let status = cmd
        .arg("-d")
        .arg(out)
        .args(sources)
        .status()
        .expect("javac (a JDK) runs");
    assert!(status.success(), "javac failed for {sources:?}");
}

/// javac of `sources` against the default API jar (written once into
/// `work`), into `work/<name>-classes`.
pub fn compile(work: &Path, name: &str, sources: &[PathBuf], classpath: Option<&Path>) -> PathBuf {
    let api = api_jar(work, None);
    let out = work.join(format!("{name}-classes"));
    javac(&api, classpath, &out, sources);
    out
}

/// An applet project of applets/ built in a copy under the test's work
/// directory, so a build writes nothing into the repository.
pub struct Project {
    /// The copy: jct.toml (and test.apdu when the applet has one).
    pub dir: PathBuf,
    /// javac's output, where jct.toml expects it (build/classes).
    pub classes: PathBuf,
    /// The CAP `jct build` wrote; `jct cap verify` accepts it.
    pub cap: PathBuf,
}

/// Builds applets/`name` as its user would: javac of its sources against
/// `api` (and `classpath`) into build/classes, `jct build` in the project
/// (which must say what it wrote), then `jct cap verify` of the CAP.
pub fn build_applet(work: &Path, api: &Path, name: &str, classpath: Option<&Path>) -> Project {
    let source = Path::new("applets").join(name);
    let dir = work.join(name);
    let classes = dir.join("build/classes");
    std::fs::create_dir_all(&classes).unwrap();
    for file in ["jct.toml", "test.apdu"] {
        if source.join(file).is_file() {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
    }
    javac(api, classpath, &classes, &java_files(&source.join("src")));
    Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicates::str::contains("wrote"));
    let cap = dir.join(format!("build/{}.cap", name.replace('-', "")));
    Command::cargo_bin("jct")
        .unwrap()
        .args(["cap", "verify"])
        .arg(&cap)
        .assert()
        .success();
    Project { dir, classes, cap }
}

/// Copies the tree `from` into `to` (created), e.g. several packages'
/// classes into one class path.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
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
