//! The generated Java Card API against javac: applets compile against the jar
//! jct writes, javac inlines the table's constants from it, and the generated
//! Java sources compile to the same declarations as the jar.
//!
//! These tests need a JDK (javac and javap on PATH, 17 or later); without one
//! they say so and pass, since the rest of the suite does not need Java.

mod common;
#[path = "../../tests/support/require.rs"]
mod require;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cap_tools::api::{self, jar, javasrc, ApiVersion};

/// The ways of compiling against the jar that must work. The first is what
/// `jct build` uses: the API *replaces* the JDK's classes, so an applet cannot
/// use what a card does not have. The others put the jar beside the JDK.
const MODES: [&[&str]; 3] = [
    &["-source", "8", "-target", "8", "-bootclasspath", "{jar}"],
    &["--release", "8", "-cp", "{jar}"],
    &["--release", "17", "-cp", "{jar}"],
];

/// javac and javap, both needed here (see tests/support/require.rs).
fn have_jdk() -> bool {
    require::javac() && require::javap()
}

/// A fresh directory for one test.
fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("api_jar")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_jar(dir: &Path, version: ApiVersion) -> PathBuf {
    let path = dir.join(format!("api-{version}.jar"));
    std::fs::write(&path, jar::build(version).unwrap()).unwrap();
    path
}

fn java_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "java") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Runs javac with `args` then the sources; panics with javac's output on failure.
fn javac(args: &[String], out: &Path, sources: &[PathBuf]) {
    std::fs::create_dir_all(out).unwrap();
    let o = Command::new("javac")
        .args([
            "-Xlint:all,-overrides,-options,-serial",
            "-Werror",
            "-encoding",
            "UTF-8",
        ])
        .args(args)
        .arg("-d")
        .arg(out)
        .args(sources)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "javac {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn javap(args: &[&str], classpath: &Path, classes: &[String]) -> String {
    let o = Command::new("javap")
        .args(args)
        .arg("-cp")
        .arg(classpath)
        .args(classes)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "javap: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn mode_args(mode: &[&str], jar: &Path) -> Vec<String> {
    mode.iter()
        .map(|a| a.replace("{jar}", &jar.to_string_lossy()))
        .collect()
}

fn reference_sources() -> Vec<PathBuf> {
    let root = common::shared().join("converter-reference/src/com/example");
    ["hello", "arith", "crypto", "lib", "oop"]
        .iter()
        .flat_map(|p| java_files(&root.join(p)))
        .collect()
}

fn project_applets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../applets")
}

#[test]
fn applets_compile_against_the_jar() {
    if !have_jdk() {
        return;
    }
    let dir = work_dir("applets");
    let jar = write_jar(&dir, ApiVersion::V3_0_5);
    let mut sources = reference_sources();
    sources.extend(java_files(&project_applets()));
    for (i, mode) in MODES.iter().enumerate() {
        let out = dir.join(format!("out{i}"));
        javac(&mode_args(mode, &jar), &out, &sources);
        for class in [
            "com/jct/hello/HelloApplet.class",
            "com/jct/counter/CounterApplet.class",
            "com/example/crypto/CryptoApplet.class",
        ] {
            assert!(out.join(class).is_file(), "{mode:?}: no {class}");
        }
    }
}

/// Each project in applets/ names, in its jct.toml, a package and applet
/// classes whose sources exist where the schema says.
#[test]
fn applet_projects_match_their_sources() {
    for name in ["hello", "counter"] {
        let project = project_applets().join(name);
        let toml = std::fs::read_to_string(project.join("jct.toml")).unwrap();
        let value = |key: &str| -> Vec<String> {
            toml.lines()
                .filter_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
                .collect()
        };
        let package = value("name").pop().unwrap();
        let classes = value("class");
        assert!(!classes.is_empty(), "{name}: no [[applet]]");
        for class in classes {
            let src = project
                .join("src")
                .join(package.replace('.', "/"))
                .join(format!("{class}.java"));
            assert!(src.is_file(), "{name}: {} missing", src.display());
        }
        let aids = value("aid");
        assert!(aids.len() >= 2, "{name}: package and applet AIDs");
        for aid in &aids {
            assert!(
                cap_tools::Aid::from_hex(aid).is_ok(),
                "{name}: bad AID {aid}"
            );
            assert_eq!(
                &aid[..10],
                "F000000001",
                "{name}: {aid} not under the project RID"
            );
        }
        assert_eq!(value("target"), ["3.0.5"]);
    }
}

/// javac folds the API's constants into the applet from the jar's
/// ConstantValue attributes: every constant of the table, copied into a
/// probe class, must come out with the table's value.
#[test]
fn javac_inlines_the_table_constants() {
    if !have_jdk() {
        return;
    }
    let dir = work_dir("constants");
    let jar = write_jar(&dir, ApiVersion::V3_0_5);
    let mut probe = String::from("package probe;\npublic class Probe {\n");
    let mut expected = BTreeMap::new();
    for class in api::table(ApiVersion::V3_0_5)
        .packages
        .iter()
        .flat_map(|p| &p.classes)
    {
        for f in &class.fields {
            let Some(value) = f.value else { continue };
            let ty = match f.descriptor.as_str() {
                "Z" => "boolean",
                "B" => "byte",
                "S" => "short",
                "I" => "int",
                other => panic!("unexpected constant type {other}"),
            };
            let name = format!("C{}", expected.len());
            let owner = class.name.replace(['/', '$'], ".");
            probe += &format!("  public static final {ty} {name} = {owner}.{};\n", f.name);
            expected.insert(name, value);
        }
    }
    probe += "}\n";
    assert!(expected.len() > 400, "{} constants", expected.len());
    let src = dir.join("src/probe/Probe.java");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, probe).unwrap();
    let out = dir.join("out");
    javac(&mode_args(MODES[0], &jar), &out, &[src]);

    let listing = javap(&["-constants"], &out, &["probe.Probe".into()]);
    let mut seen = 0;
    for line in listing.lines() {
        let Some((decl, value)) = line.trim().trim_end_matches(';').split_once(" = ") else {
            continue;
        };
        let name = decl.rsplit(' ').next().unwrap();
        let value: i64 = match value {
            "true" => 1,
            "false" => 0,
            v => v.parse().unwrap_or_else(|_| panic!("{line}")),
        };
        assert_eq!(Some(&value), expected.get(name), "{line}");
        seen += 1;
    }
    assert_eq!(seen, expected.len());

    // And in an applet's bytecode: SW_INS_NOT_SUPPORTED is 0x6D00.
    let out = dir.join("hello");
    javac(
        &mode_args(MODES[0], &jar),
        &out,
        &java_files(&project_applets().join("hello")),
    );
    let code = javap(&["-c"], &out, &["com.jct.hello.HelloApplet".into()]);
    assert!(code.contains("sipush        27904"), "{code}");
}

/// The generated sources compile on their own, with no JDK classes (the
/// output directory is the whole boot class path), and declare exactly what
/// the jar does, as javap shows both.
#[test]
fn generated_sources_compile_and_match_the_jar() {
    if !have_jdk() {
        return;
    }
    for version in ApiVersion::ALL {
        let dir = work_dir(&format!("sources-{version}"));
        let src = dir.join("src");
        for (path, text) in javasrc::generate(version).unwrap() {
            let file = src.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        let out = dir.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let boot = out.to_string_lossy().into_owned();
        let args: Vec<String> = ["-source", "8", "-target", "8", "-bootclasspath", &boot]
            .iter()
            .map(|s| s.to_string())
            .collect();
        javac(&args, &out, &java_files(&src));

        // javap is given class *files*, not names, so that it shows ours and
        // not the JDK's java.lang.
        let written = dir.join("jar");
        let mut from_javac = Vec::new();
        let mut from_jct = Vec::new();
        for (path, bytes) in jar::class_files(version).unwrap() {
            let file = written.join(&path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, bytes).unwrap();
            from_jct.push(file.to_string_lossy().into_owned());
            from_javac.push(out.join(&path).to_string_lossy().into_owned());
        }
        // javac adds a default bridge method to an interface that overrides
        // a method covariantly (3.0.5's `OwnerBioMatcher`); the table, and so
        // the jar, has only the declared methods.
        let view = |files: &[String], sign: i32, diff: &mut BTreeMap<String, i32>| {
            let text = javap(&["-protected", "-constants"], &out, files);
            for line in text.lines() {
                if !line.starts_with("Compiled from") && !line.starts_with("  public default ") {
                    *diff.entry(line.to_string()).or_default() += sign;
                }
            }
        };
        let mut diff = BTreeMap::new();
        view(&from_javac, 1, &mut diff);
        view(&from_jct, -1, &mut diff);
        diff.retain(|_, n| *n != 0);
        assert!(
            diff.is_empty(),
            "{version}: sources (+) and jar (-) differ: {diff:#?}"
        );
    }
}

/// Ordinary applet code that needs java.lang beyond Object and the
/// exceptions compiles with the jar as the whole boot class path: the box
/// classes javac types a conditional of two keys through, their constants,
/// and the annotations applet code carries. And the jar's classes run: a
/// JVM with verification on loads each one and constructs an API
/// exception subclass, whose constructor chain calls its superclasses'
/// (Oracle-style bodies, not `athrow`).
#[test]
fn java_lang_covers_ordinary_applet_code_and_the_jar_runs() {
    if !have_jdk() || !require::java() {
        return;
    }
    let dir = work_dir("java-lang");
    let jar = write_jar(&dir, ApiVersion::V3_0_5);
    let src = dir.join("src/probe/Probe.java");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(
        &src,
        r#"package probe;
import javacard.framework.*;
import javacard.security.*;
@SuppressWarnings("unused")
public class Probe extends Applet {
    private Key k1, k2;
    static final short MAX = Short.MAX_VALUE;
    static final byte MIN = Byte.MIN_VALUE;
    static final int BITS = Integer.SIZE + Character.SIZE + Byte.BYTES;
    @Deprecated
    Key pick(boolean b) { return b ? k1 : k2; }
    @Override
    public void process(APDU apdu) throws ISOException {
        if (selectingApplet()) return;
        ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
    }
    @SafeVarargs
    static <T> void many(T... t) {}
}
"#,
    )
    .unwrap();
    let out = dir.join("out");
    javac(&mode_args(MODES[0], &jar), &out, &[src]);
    let constants = javap(&["-constants"], &out, &["probe.Probe".into()]);
    assert!(constants.contains("MAX = 32767"), "{constants}");
    assert!(constants.contains("MIN = -128"), "{constants}");
    assert!(constants.contains("BITS = 49"), "{constants}");

    // A JVM with the jar on its class path: every API class loads and
    // verifies, and `new ISOException(..)` runs its constructors.
    let runner = dir.join("run/Run.java");
    std::fs::create_dir_all(runner.parent().unwrap()).unwrap();
    let names: Vec<String> = jar::class_files(ApiVersion::V3_0_5)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p.trim_end_matches(".class").replace('/', "."))
        .filter(|n| n.starts_with("javacard"))
        .collect();
    std::fs::write(
        &runner,
        format!(
            "public class Run {{ public static void main(String[] a) throws Exception {{\n\
             String[] names = {{ {} }};\n\
             for (String n : names) Class.forName(n, false, Run.class.getClassLoader());\n\
             Object e = new javacard.framework.ISOException((short) 0x6A80);\n\
             System.out.println(\"loaded \" + names.length + \" \" + e.getClass().getName());\n\
             }} }}\n",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .unwrap();
    let run_out = dir.join("run-out");
    javac(
        &[
            "--release".into(),
            "8".into(),
            "-cp".into(),
            jar.to_string_lossy().into_owned(),
        ],
        &run_out,
        &[runner],
    );
    let cp = std::env::join_paths([run_out.as_path(), jar.as_path()]).unwrap();
    let o = Command::new("java")
        .arg("-Xverify:all")
        .arg("-cp")
        .arg(cp)
        .arg("Run")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "loaded {} javacard.framework.ISOException",
            names.len()
        )),
        "{stdout}"
    );
}
