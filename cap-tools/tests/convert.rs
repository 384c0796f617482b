//! The converter against Oracle's: each reference package of
//! `shared/converter-reference` converts, verifies, and agrees with Oracle's
//! output where the specification leaves no choice (package and applet
//! AIDs, imports, export tokens).

use std::path::{Path, PathBuf};

use cap_tools::api::ApiVersion;
use cap_tools::cap::{Component, Tag};
use cap_tools::classfile::ClassFile;
use cap_tools::convert::{self, Options, Output};
use cap_tools::exp::ExportFile;
use cap_tools::{Aid, Cap};

fn shared() -> PathBuf {
    std::env::var_os("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn reference(rel: &str) -> PathBuf {
    shared().join("converter-reference").join(rel)
}

fn aid(s: &str) -> Aid {
    Aid::from_hex(s).unwrap()
}

/// The reference packages: name, package AID, applet (AID, class), int.
const PACKAGES: &[(&str, &str, Option<(&str, &str)>)] = &[
    (
        "hello",
        "F00000000101",
        Some(("F0000000010101", "HelloApplet")),
    ),
    (
        "arith",
        "F00000000102",
        Some(("F0000000010201", "ArithApplet")),
    ),
    ("lib", "F0000000014C", None),
    ("oop", "F00000000103", Some(("F0000000010301", "OopApplet"))),
    (
        "crypto",
        "F00000000104",
        Some(("F0000000010401", "CryptoApplet")),
    ),
];

fn options(name: &str, target: ApiVersion) -> Options {
    let &(_, pkg_aid, applet) = PACKAGES.iter().find(|p| p.0 == name).unwrap();
    let mut o = Options::new(&format!("com.example.{name}"), aid(pkg_aid), (1, 0));
    if let Some((a, c)) = applet {
        o.applets.push((aid(a), c.to_string()));
    }
    o.target = target;
    if name == "oop" {
        o.export_path.push(reference("oracle-3.2.0/lib.exp"));
    }
    o
}

/// The javac output Oracle's 3.2.0 kit converted (its CAP keeps the classes).
fn classes(name: &str) -> Vec<ClassFile> {
    convert::load_classes(
        &reference(&format!("oracle-3.2.0/{name}.cap")),
        &format!("com.example.{name}"),
    )
    .unwrap()
}

fn convert_ref(name: &str, target: ApiVersion) -> Output {
    convert::convert(&classes(name), &options(name, target))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn imports(cap: &Cap) -> Vec<(String, (u8, u8))> {
    match cap.component(Tag::Import) {
        Some(Component::Import(i)) => i
            .packages
            .iter()
            .map(|p| (p.aid.to_hex(), p.version()))
            .collect(),
        _ => Vec::new(),
    }
}

fn applets(cap: &Cap) -> Vec<String> {
    match cap.component(Tag::Applet) {
        Some(Component::Applet(a)) => a.applets.iter().map(|e| e.aid.to_hex()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn hello_converts_and_matches_oracle() {
    let out = convert_ref("hello", ApiVersion::V3_0_5);
    let findings = cap_tools::verify::verify(&out.cap);
    assert!(findings.is_empty(), "{findings:?}");
    let oracle = Cap::from_path(reference("oracle-3.0.5/hello.cap")).unwrap();
    assert_eq!(out.cap.package_aid(), oracle.package_aid());
    assert_eq!(applets(&out.cap), applets(&oracle));
    assert_eq!(imports(&out.cap), imports(&oracle));
    std::fs::write("/tmp/k/hello-jct.cap", out.cap.to_jar().unwrap()).unwrap();
}
