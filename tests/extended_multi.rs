//! An extended CAP file holding two packages, end to end: the Java sources
//! under tests/multipkg (an applet package, com.jct.mpapp, and the package
//! it uses, com.jct.mplib), compiled by javac, converted by `jct build
//! --private-package` into one CAP 2.3 extended file, checked by `jct cap
//! verify/dump` and the byte-exact round trip, installed into an emulated
//! Java Card 3.2 card and run: a static method, a static field, an object
//! and an overridden method of the other package answer what Java computes.
//! The cases jct refuses say why.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cap_tools::cap::constant_pool::{CpEntry, StaticRef};
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use support::java::{api_jar, java_files, javac};
use support::Emu;

const PACKAGE_AID: &str = "F0000000E2";
const APPLET_AID: &str = "F0000000E201";

fn jct(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("jct")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// javac of tests/multipkg against the 3.2.0 API: the classes directory.
fn classes(work: &Path) -> PathBuf {
    let api = api_jar(work, Some("3.2.0"));
    let classes = work.join("classes");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/multipkg");
    javac(&api, None, &classes, &java_files(&src));
    classes
}

/// `jct build` of com.jct.mpapp with `extra` arguments.
fn build(classes: &Path, cap: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(classes)
        .args([
            "--package",
            "com.jct.mpapp",
            "--package-aid",
            PACKAGE_AID,
            "--version",
            "1.0",
            "--applet",
            &format!("{APPLET_AID}=MultiApplet"),
            "--target",
            "3.2.0",
        ])
        .args(extra)
        .arg("-o")
        .arg(cap)
        .output()
        .unwrap()
}

#[test]
fn two_packages_in_one_extended_cap_install_and_call_each_other() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let classes = classes(w);
    let cap_path = w.join("multi.cap");
    let out = build(
        &classes,
        &cap_path,
        &[
            "--private-package",
            "com.jct.mplib",
            "--cap-format",
            "2.3-extended",
        ],
    );
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("CAP 2.3 extended"), "{text}");

    // Both packages are in the file: the Descriptor counts each one's
    // classes; the library is no import, every reference to it internal.
    let cap = Cap::from_path(&cap_path).unwrap();
    assert!(cap.format.extended);
    let Some(Component::Descriptor(d)) = cap.component(Tag::Descriptor) else {
        panic!("no Descriptor component")
    };
    assert_eq!(
        d.package_class_counts,
        Some(vec![2, 4]),
        "mpapp, then mplib"
    );
    let Some(Component::Import(i)) = cap.component(Tag::Import) else {
        panic!("no Import component")
    };
    let lib_aids: Vec<String> = i.packages.iter().map(|p| p.aid.to_string()).collect();
    assert!(
        lib_aids.iter().all(|a| a.starts_with("A0000000")),
        "only API packages are imported: {lib_aids:?}"
    );
    let Some(Component::ConstantPool(cp)) = cap.component(Tag::ConstantPool) else {
        panic!("no ConstantPool component")
    };
    let internal_statics = cp
        .entries
        .iter()
        .filter(|e| matches!(e, CpEntry::StaticMethodRef(StaticRef::Internal { .. })))
        .count();
    assert!(
        internal_statics >= 3,
        "triple, bias, constructors: {internal_statics}"
    );
    let header = cap.header().unwrap();
    assert!(
        header.packages.is_empty(),
        "an applet package without shareable interfaces and a private package: none public"
    );
    let manifest = match &cap.container {
        cap_tools::cap::Container::Jar { entries } => entries
            .iter()
            .find_map(|e| match e {
                cap_tools::cap::JarEntry::Other { path, data }
                    if path == "META-INF/MANIFEST.MF" =>
                {
                    Some(String::from_utf8(data.inflated().unwrap().to_vec()).unwrap())
                }
                _ => None,
            })
            .unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(
        manifest.contains("Java-Card-Package-2-Name: com.jct.mplib")
            && manifest.contains("Java-Card-Package-2-AID: private"),
        "{manifest}"
    );

    // verify, dump, and the round trip keep every byte.
    let cap_arg = cap_path.to_str().unwrap();
    let v = jct(&["cap", "verify", cap_arg]);
    assert!(v.status.success(), "{}", said(&v));
    let dump = jct(&["cap", "dump", cap_arg]);
    assert!(dump.status.success(), "{}", said(&dump));
    let again = w.join("again.cap");
    let c = jct(&[
        "cap",
        "convert",
        cap_arg,
        "--to",
        "jar",
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(c.status.success(), "{}", said(&c));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&cap_path).unwrap(),
        "JAR -> JAR"
    );

    // Installed and run: each command reaches into com.jct.mplib.
    let emu = Emu::start(false, "3.2.0");
    let out = emu.jct(&["install", cap_arg]).output().unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let out = emu
        .jct(&[
            "apdu",
            "--select",
            APPLET_AID,
            "8010000002 0005",
            "8020000002 0005",
            "8020000002 FFFE",
            "8030000002 0005",
            "8010000002 FFF0",
            "8040000002 0000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // triple(5) = 5*3+7; Counter(100).bump(5), then bump(-2); Square.area(5)
    // = 5*5+1; triple(-16) = -41; calls = 2.
    assert_eq!(
        lines,
        ["9000", "00169000", "00699000", "00679000", "001A9000", "FFD79000", "00029000"],
    );
}

#[test]
fn several_packages_need_the_extended_format_and_real_packages() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let classes = classes(w);
    let cap_path = w.join("multi.cap");
    // A compact CAP file holds one package.
    let out = build(
        &classes,
        &cap_path,
        &["--private-package", "com.jct.mplib", "--cap-format", "2.3"],
    );
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("CAP format 2.3 holds one package")
            && text.contains("--cap-format 2.3-extended"),
        "{text}"
    );
    // Without the package in the build, its classes are missing.
    let out = build(&classes, &cap_path, &["--cap-format", "2.3-extended"]);
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("com.jct.mplib"), "{text}");
    // A package that is not there.
    let out = build(
        &classes,
        &cap_path,
        &["--private-package", "com.jct.nothing"],
    );
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("no class files of package com.jct.nothing"),
        "{text}"
    );
    // The same package twice.
    let out = build(
        &classes,
        &cap_path,
        &[
            "--private-package",
            "com.jct.mplib",
            "--private-package",
            "com.jct.mplib",
        ],
    );
    let text = said(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("named twice"), "{text}");
    assert!(!cap_path.exists(), "nothing written");
}
