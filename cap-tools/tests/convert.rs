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

/// An applet: (AID, class).
type Applet = (&'static str, &'static str);

/// The reference packages: name, package AID, applet.
const PACKAGES: &[(&str, &str, Option<Applet>)] = &[
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

/// (package, Oracle kit directory, jct target): Oracle's 3.0.5 kit wrote
/// CAP 2.1 against API 3.0.5; its 3.2.0 kit targeted 3.2.0, except for
/// arith (`-target 3.0.5`).
const KITS: &[(&str, &str, ApiVersion)] = &[
    ("hello", "oracle-3.0.5", ApiVersion::V3_0_5),
    ("arith", "oracle-3.0.5", ApiVersion::V3_0_5),
    ("lib", "oracle-3.0.5", ApiVersion::V3_0_5),
    ("crypto", "oracle-3.0.5", ApiVersion::V3_0_5),
    ("hello", "oracle-3.2.0", ApiVersion::V3_2_0),
    ("arith", "oracle-3.2.0", ApiVersion::V3_0_5),
    ("lib", "oracle-3.2.0", ApiVersion::V3_2_0),
    ("oop", "oracle-3.2.0", ApiVersion::V3_2_0),
    ("crypto", "oracle-3.2.0", ApiVersion::V3_2_0),
];

fn header_flags(cap: &Cap) -> u8 {
    cap.header().unwrap().flags
}

#[test]
fn reference_packages_convert_verify_and_link_like_oracle() {
    for &(name, kit, target) in KITS {
        let out = convert_ref(name, target);
        let findings = cap_tools::verify::verify(&out.cap);
        assert!(findings.is_empty(), "{name} ({kit}): {findings:?}");
        let oracle = Cap::from_path(reference(&format!("{kit}/{name}.cap"))).unwrap();
        let what = format!("{name} against {kit}");
        assert_eq!(
            out.cap.package_aid(),
            oracle.package_aid(),
            "{what}: package AID"
        );
        assert_eq!(
            out.cap.header().unwrap().package_version(),
            oracle.header().unwrap().package_version(),
            "{what}: version"
        );
        assert_eq!(applets(&out.cap), applets(&oracle), "{what}: applets");
        assert_eq!(
            imports(&out.cap),
            imports(&oracle),
            "{what}: imports (AIDs, versions, order)"
        );
        assert_eq!(
            header_flags(&out.cap),
            header_flags(&oracle),
            "{what}: header flags"
        );
    }
}

/// (class token, static field count, static method count) per exported class.
fn export_shape(cap: &Cap) -> Vec<(usize, usize, usize)> {
    match cap.component(Tag::Export) {
        Some(Component::Export(e)) => e
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    i,
                    c.static_field_offsets.len(),
                    c.static_method_offsets.len(),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every token of an export file, by name: (class, token), (class.member
/// descriptor kind, token), sorted.
fn export_tokens(file: &ExportFile) -> Vec<String> {
    let view = file.view().unwrap();
    let mut out = vec![format!(
        "package {} {} {}",
        view.package.name, view.package.aid, view.package.version
    )];
    for c in &view.classes {
        out.push(format!(
            "class {} {} flags {:#06x}",
            c.name, c.token, c.flags
        ));
        for f in &c.fields {
            out.push(format!(
                "field {}.{}:{} {} {:?} {:?}",
                c.name, f.name, f.descriptor, f.token, f.kind, f.value
            ));
        }
        for m in &c.methods {
            out.push(format!(
                "method {}.{}{} {} {:?}",
                c.name, m.name, m.descriptor, m.token, m.kind
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn lib_exports_like_oracle() {
    for (kit, target) in [
        ("oracle-3.0.5", ApiVersion::V3_0_5),
        ("oracle-3.2.0", ApiVersion::V3_2_0),
    ] {
        let out = convert_ref("lib", target);
        let oracle = Cap::from_path(reference(&format!("{kit}/lib.cap"))).unwrap();
        assert_eq!(
            export_shape(&out.cap),
            export_shape(&oracle),
            "{kit}: Export component"
        );
        let ours = out.export.expect("a library has an export file");
        let theirs = ExportFile::read(reference(&format!("{kit}/lib.exp"))).unwrap();
        assert_eq!(
            export_tokens(&ours),
            export_tokens(&theirs),
            "{kit}: export file tokens"
        );
        // And it reads back.
        assert_eq!(ExportFile::decode(&ours.encode().unwrap()).unwrap(), ours);
    }
}

#[test]
fn oop_exports_its_shareable_interface_like_oracle() {
    let out = convert_ref("oop", ApiVersion::V3_2_0);
    let oracle = Cap::from_path(reference("oracle-3.2.0/oop.cap")).unwrap();
    assert_eq!(export_shape(&out.cap), export_shape(&oracle));
    let theirs = ExportFile::read(reference("oracle-3.2.0/oop.exp")).unwrap();
    assert_eq!(export_tokens(&out.export.unwrap()), export_tokens(&theirs));
}

#[test]
fn hello_has_no_export_file() {
    assert!(convert_ref("hello", ApiVersion::V3_0_5).export.is_none());
}

/// The mnemonics of all code of a CAP, counted.
fn opcode_counts(cap: &Cap) -> std::collections::BTreeMap<String, i64> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(Component::Method(m)) = cap.component(Tag::Method) {
        for i in m.methods.iter().flat_map(|m| &m.code) {
            *out.entry(i.mnemonic().to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// How jct's output differs from Oracle's for one reference package:
/// component sizes, constant pool size, and the instructions used.
fn differences(name: &str, kit: &str, target: ApiVersion) -> Vec<String> {
    let mut o = options(name, target);
    // Oracle's 3.2.0 kit converted arith with -debug.
    o.debug = name == "arith" && kit == "oracle-3.2.0";
    let ours = convert::convert(&classes(name), &o).unwrap().cap;
    let theirs = Cap::from_path(reference(&format!("{kit}/{name}.cap"))).unwrap();
    let ctx_ours = ours.context();
    let ctx_theirs = theirs.context();
    let mut sizes = Vec::new();
    for tag in Tag::ALL {
        let a = ours
            .component(tag)
            .map(|c| c.encode_body(&ctx_ours).unwrap().len());
        let b = theirs
            .component(tag)
            .map(|c| c.encode_body(&ctx_theirs).unwrap().len());
        if a.is_some() || b.is_some() {
            let f = |v: Option<usize>| v.map_or("-".to_string(), |n| n.to_string());
            sizes.push(format!("{} {}/{}", tag.name(), f(a), f(b)));
        }
    }
    let cp = |c: &Cap| match c.component(Tag::ConstantPool) {
        Some(Component::ConstantPool(p)) => p.entries.len(),
        _ => 0,
    };
    let (a, b) = (opcode_counts(&ours), opcode_counts(&theirs));
    let mut only_ours = Vec::new();
    let mut only_theirs = Vec::new();
    for k in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let d = a.get(k).copied().unwrap_or(0) - b.get(k).copied().unwrap_or(0);
        if d > 0 {
            only_ours.push(format!("{k} x{d}"));
        } else if d < 0 {
            only_theirs.push(format!("{k} x{}", -d));
        }
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let headers = |c: &Cap| -> Vec<String> {
        let mut v: Vec<String> = match c.component(Tag::Method) {
            Some(Component::Method(m)) => m
                .methods
                .iter()
                .map(|m| {
                    format!(
                        "{}/{}/{}",
                        m.header.max_stack, m.header.nargs, m.header.max_locals
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        v.sort();
        v
    };
    let (ha, hb) = (headers(&ours), headers(&theirs));
    let header_diff: Vec<String> = ha
        .iter()
        .filter(|h| !hb.contains(h))
        .map(|h| format!("jct {h}"))
        .chain(
            hb.iter()
                .filter(|h| !ha.contains(h))
                .map(|h| format!("Oracle {h}")),
        )
        .collect();
    vec![
        format!(
            "### {name} ({kit}, jct CAP {} / Oracle CAP {})",
            ours.format, theirs.format
        ),
        format!("- component sizes jct/Oracle: {}", sizes.join(", ")),
        format!(
            "- constant pool entries jct/Oracle: {}/{}",
            cp(&ours),
            cp(&theirs)
        ),
        format!("- instructions only jct uses (count): {}", list(&only_ours)),
        format!(
            "- instructions only Oracle uses (count): {}",
            list(&only_theirs)
        ),
        format!(
            "- method headers (max_stack/nargs/max_locals) only one side has: {}",
            list(&header_diff)
        ),
    ]
}

/// The generated part of convert-notes.md: regenerate it with
/// `JCT_UPDATE_NOTES=1 cargo test -p cap-tools --test convert notes`.
#[test]
fn notes_describe_the_differences_from_oracle() {
    const MARKER: &str = "<!-- generated by tests/convert.rs below this line -->\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/convert-notes.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, tail) = text
        .split_once(MARKER)
        .expect("convert-notes.md has the marker line");
    let mut lines = Vec::new();
    for &(name, kit, target) in KITS {
        lines.extend(differences(name, kit, target));
        lines.push(String::new());
    }
    let generated = lines.join("\n");
    if std::env::var_os("JCT_UPDATE_NOTES").is_some() {
        std::fs::write(&path, format!("{head}{MARKER}{generated}")).unwrap();
        return;
    }
    assert_eq!(
        tail, generated,
        "convert-notes.md is out of date: rerun with JCT_UPDATE_NOTES=1 and review the differences"
    );
}

/// Damaged class files never make the converter panic: every byte of the
/// reference classes is changed in turn; whatever still parses converts or
/// fails with an error.
#[test]
fn damaged_class_files_never_panic() {
    let originals: Vec<(&str, Vec<Vec<u8>>)> = ["hello", "oop"]
        .into_iter()
        .map(|name| {
            let cap = reference(&format!("oracle-3.2.0/{name}.cap"));
            let bytes = std::fs::read(cap).unwrap();
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            let mut files = Vec::new();
            for i in 0..zip.len() {
                let mut f = zip.by_index(i).unwrap();
                if f.name().ends_with(".class") {
                    let mut data = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut data).unwrap();
                    files.push(data);
                }
            }
            (name, files)
        })
        .collect();
    let mut converted = 0;
    for (name, files) in &originals {
        let opts = options(name, ApiVersion::V3_0_5);
        for (k, file) in files.iter().enumerate() {
            for at in 0..file.len() {
                for delta in [0x01u8, 0x80] {
                    let mut bad = file.clone();
                    bad[at] ^= delta;
                    let Ok(parsed) = ClassFile::parse(&bad) else {
                        continue;
                    };
                    let mut classes: Vec<ClassFile> = files
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != k)
                        .map(|(_, f)| ClassFile::parse(f).unwrap())
                        .collect();
                    classes.push(parsed);
                    let r = std::panic::catch_unwind(|| convert::convert(&classes, &opts));
                    match r {
                        Err(_) => panic!("{name}: class #{k} with byte {at} ^ {delta:#x} makes the converter panic"),
                        Ok(Ok(out)) => {
                            converted += 1;
                            assert!(cap_tools::verify::verify(&out.cap).is_empty());
                        }
                        Ok(Err(_)) => {}
                    }
                }
            }
        }
    }
    assert!(converted > 0);
}

/// With --debug (CAP 2.2), the Debug component names what Oracle's names:
/// arith was converted by Oracle's 3.2.0 kit with -debug.
#[test]
fn debug_component_matches_oracle() {
    let mut o = options("arith", ApiVersion::V3_0_5);
    o.debug = true;
    let ours = convert::convert(&classes("arith"), &o).unwrap().cap;
    let theirs = Cap::from_path(reference("oracle-3.2.0/arith.cap")).unwrap();
    let (Some(Component::Debug(a)), Some(Component::Debug(b))) =
        (ours.component(Tag::Debug), theirs.component(Tag::Debug))
    else {
        panic!("both have a Debug component");
    };
    assert_eq!(a, b);
}
