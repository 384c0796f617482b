//! CAP 2.2 and 2.3 as jct writes them, against Oracle's 3.2.0 kit.
//!
//! The reference packages are compiled here from their sources with javac
//! (`--release 8 -g`, against the API jar jct generates, as the kit's
//! outputs were), converted with the target Oracle's kit used (3.2.0: CAP
//! 2.3; arith with `-target 3.0.5 -debug`: CAP 2.2), and every component is
//! compared byte for byte with Oracle's. Where the two converters made
//! different choices the comparison first undoes exactly that choice and
//! then still asks for identical bytes:
//!
//! - the constant pool order: jct's entries are permuted into Oracle's order
//!   and every index that refers to them (the Method component's operands,
//!   at the offsets the RefLocation component lists, and the Descriptor's
//!   type table) is renumbered the same way;
//! - the Header's package name (jct writes it, Oracle's kit writes an empty
//!   one), and so the Header's size in the Directory;
//! - `>>>` of a possibly negative short: jct's `sshr` for Oracle's `sushr`
//!   (arith), compared opcode by opcode.
//!
//! What each package needed is the generated section of convert-notes.md.
//! Without javac the test prints a note and passes (fails under CI).

#[path = "../../tests/support/require.rs"]
mod require;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cap_tools::api::ApiVersion;
use cap_tools::cap::{Component, Context, Format, Tag};
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

/// A scratch directory for this test binary, removed by [`Scratch::drop`].
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let p = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("jct-convert-formats-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles the reference sources of `name` with `-g --release 8` against
/// the generated 3.2.0 API jar (and `extra` classes) into `dir/name`.
fn compile(dir: &Path, api_jar: &Path, name: &str, extra: &[&Path]) -> PathBuf {
    let src = reference(&format!("src/com/example/{name}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "java"))
        .collect();
    files.sort();
    let out = dir.join(name);
    let mut cp = vec![api_jar.to_path_buf()];
    cp.extend(extra.iter().map(|p| p.to_path_buf()));
    let cp = std::env::join_paths(cp).unwrap();
    let run = Command::new("javac")
        .args(["-g", "--release", "8", "-nowarn", "-cp"])
        .arg(&cp)
        .arg("-d")
        .arg(&out)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "javac {name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// (name, package AID, applet (AID, class), target, debug): the packages and
/// options of Oracle's 3.2.0 kit outputs.
type Package = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    ApiVersion,
    bool,
);

const PACKAGES: &[Package] = &[
    ("lib", "F0000000014C", None, ApiVersion::V3_2_0, false),
    (
        "hello",
        "F00000000101",
        Some(("F0000000010101", "HelloApplet")),
        ApiVersion::V3_2_0,
        false,
    ),
    (
        "oop",
        "F00000000103",
        Some(("F0000000010301", "OopApplet")),
        ApiVersion::V3_2_0,
        false,
    ),
    (
        "crypto",
        "F00000000104",
        Some(("F0000000010401", "CryptoApplet")),
        ApiVersion::V3_2_0,
        false,
    ),
    (
        "arith",
        "F00000000102",
        Some(("F0000000010201", "ArithApplet")),
        ApiVersion::V3_0_5,
        true,
    ),
];

/// Builds every reference package from source, in dependency order (lib
/// first: oop imports it, through the 2.3 export file jct wrote for it).
fn build_all(dir: &Path) -> Vec<(&'static str, Output)> {
    let api_jar = dir.join("api-3.2.0.jar");
    std::fs::write(
        &api_jar,
        cap_tools::api::jar::build(ApiVersion::V3_2_0).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut lib_classes = None;
    let exp_dir = dir.join("exp");
    std::fs::create_dir_all(&exp_dir).unwrap();
    for &(name, pkg_aid, applet, target, debug) in PACKAGES {
        let extra: Vec<&Path> = lib_classes.iter().map(|p: &PathBuf| p.as_path()).collect();
        let classes = compile(dir, &api_jar, name, &extra);
        let package = format!("com.example.{name}");
        let files = convert::load_classes(&classes, &package).unwrap();
        let mut o = Options::new(&package, aid(pkg_aid), (1, 0));
        if let Some((a, c)) = applet {
            o.applets.push((aid(a), c.to_string()));
        }
        o.target = target;
        o.debug = debug;
        o.export_path.push(exp_dir.clone());
        let built = convert::convert(&files, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "lib" {
            let exp = built.export.as_ref().expect("a library has an export file");
            std::fs::write(exp_dir.join("lib.exp"), exp.encode().unwrap()).unwrap();
            lib_classes = Some(classes);
        }
        out.push((name, built));
    }
    out
}

/// The permutation taking jct's constant pool indices to Oracle's: entry
/// `i` of jct's pool is entry `map[i]` of Oracle's. `None` when the two
/// pools do not hold the same entries.
fn pool_permutation(ours: &Cap, theirs: &Cap) -> Option<Vec<u16>> {
    let (Some(Component::ConstantPool(a)), Some(Component::ConstantPool(b))) = (
        ours.component(Tag::ConstantPool),
        theirs.component(Tag::ConstantPool),
    ) else {
        return None;
    };
    if a.entries.len() != b.entries.len() {
        return None;
    }
    let mut used = vec![false; b.entries.len()];
    let mut map = Vec::with_capacity(a.entries.len());
    for e in &a.entries {
        let j = (0..b.entries.len()).find(|&j| !used[j] && b.entries[j] == *e)?;
        used[j] = true;
        map.push(u16::try_from(j).unwrap());
    }
    Some(map)
}

fn body(cap: &Cap, tag: Tag) -> Option<Vec<u8>> {
    let ctx = cap.context();
    cap.component(tag).map(|c| c.encode_body(&ctx).unwrap())
}

/// jct's component body with its own choices replaced by Oracle's where
/// the two differ by a listed choice only; the remarks say which.
fn normalized(
    tag: Tag,
    ours: &Cap,
    theirs: &Cap,
    map: &[u16],
    remarks: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let ctx: Context = ours.context();
    let c = ours.component(tag)?.clone();
    let moved = map.iter().enumerate().any(|(i, &j)| usize::from(j) != i);
    let bytes = match c {
        Component::Header(mut h) => {
            let name = h.package_name.clone();
            if let Some(Component::Header(o)) = theirs.component(Tag::Header) {
                if h.package_name != o.package_name {
                    h.package_name = o.package_name.clone();
                    remarks.push(format!(
                        "Header: package name {:?} (Oracle {:?})",
                        name.unwrap_or_default(),
                        o.package_name.clone().unwrap_or_default()
                    ));
                }
            }
            Component::Header(h).encode_body(&ctx).unwrap()
        }
        Component::Directory(mut d) => {
            if let (Some(Component::Directory(o)), Some(i)) = (
                theirs.component(Tag::Directory),
                (Tag::Header as usize).checked_sub(1),
            ) {
                if d.component_sizes.get(i) != o.component_sizes.get(i) {
                    d.component_sizes[i] = o.component_sizes[i];
                    remarks.push("Directory: the Header's size".into());
                }
            }
            Component::Directory(d).encode_body(&ctx).unwrap()
        }
        Component::ConstantPool(mut p) => {
            if moved {
                let mut entries = p.entries.clone();
                for (i, &j) in map.iter().enumerate() {
                    entries[usize::from(j)] = p.entries[i];
                }
                p.entries = entries;
                remarks.push("ConstantPool: order".into());
            }
            Component::ConstantPool(p).encode_body(&ctx).unwrap()
        }
        Component::Method(m) => {
            let mut bytes = Component::Method(m).encode_body(&ctx).unwrap();
            if moved {
                let Some(Component::RefLocation(r)) = ours.component(Tag::RefLocation) else {
                    panic!("a CAP with a Method component has a RefLocation component");
                };
                for &at in &r.byte_index_offsets {
                    let at = at as usize;
                    bytes[at] = u8::try_from(map[usize::from(bytes[at])]).unwrap();
                }
                for &at in &r.byte2_index_offsets {
                    let at = at as usize;
                    let i = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
                    bytes[at..at + 2].copy_from_slice(&map[usize::from(i)].to_be_bytes());
                }
                remarks.push("Method: constant pool indices".into());
            }
            bytes
        }
        Component::Descriptor(mut d) => {
            if moved {
                let types = d.types.constant_pool_types.clone();
                for (i, &j) in map.iter().enumerate() {
                    d.types.constant_pool_types[usize::from(j)] = types[i];
                }
                remarks.push("Descriptor: constant pool type order".into());
            }
            if let Some(Component::Descriptor(o)) = theirs.component(Tag::Descriptor) {
                reorder_type_table(&mut d, o, remarks);
            }
            Component::Descriptor(d).encode_body(&ctx).unwrap()
        }
        other => other.encode_body(&ctx).unwrap(),
    };
    Some(bytes)
}

/// Puts jct's type descriptors in Oracle's order (both tables hold each
/// type once, and the order follows each converter's constant pool order)
/// and renumbers every offset into the table: the constant pool types, the
/// field types and the method signatures. Nothing happens when the two
/// tables do not hold the same types.
fn reorder_type_table(
    d: &mut cap_tools::cap::Descriptor,
    oracle: &cap_tools::cap::Descriptor,
    remarks: &mut Vec<String>,
) {
    use cap_tools::cap::components::descriptor::FieldType;
    let (ours, theirs) = (&d.types.type_desc, &oracle.types.type_desc);
    if ours.len() != theirs.len() {
        return;
    }
    let mut moved = BTreeMap::new();
    for t in ours {
        let Some(o) = theirs.iter().find(|o| o.types == t.types) else {
            return;
        };
        moved.insert(t.offset, o.offset);
    }
    if moved.iter().all(|(a, b)| a == b) {
        return;
    }
    let at = |o: u16| moved.get(&o).copied().unwrap_or(o);
    d.types.type_desc = theirs.clone();
    for t in &mut d.types.constant_pool_types {
        if *t != 0xFFFF {
            *t = at(*t);
        }
    }
    for c in &mut d.classes {
        for f in &mut c.fields {
            if let FieldType::Reference { type_offset } = &mut f.field_type {
                *type_offset = at(*type_offset);
            }
        }
        for m in &mut c.methods {
            m.type_offset = at(m.type_offset);
        }
    }
    remarks.push("Descriptor: type table order".into());
}

/// The byte offsets where `a` and `b` differ (same length assumed).
fn differing(a: &[u8], b: &[u8]) -> Vec<usize> {
    (0..a.len().min(b.len()))
        .filter(|&i| a[i] != b[i])
        .collect()
}

/// The instruction whose opcode is at `at` in a CAP's Method component.
fn mnemonic_at(cap: &Cap, at: usize) -> Option<&'static str> {
    let Some(Component::Method(m)) = cap.component(Tag::Method) else {
        return None;
    };
    m.methods
        .iter()
        .flat_map(|m| &m.code)
        .find(|i| i.offset as usize == at)
        .map(|i| i.mnemonic())
}

/// Compares one package; returns the generated notes lines.
fn compare(name: &str, out: &Output) -> Vec<String> {
    let ours = &out.cap;
    let theirs = Cap::from_path(reference(&format!("oracle-3.2.0/{name}.cap"))).unwrap();
    assert_eq!(ours.format, theirs.format, "{name}: CAP format");
    assert!(cap_tools::verify::verify(ours).is_empty(), "{name}");
    // What jct wrote reads back and re-encodes to the same bytes.
    let jar = ours.to_jar().unwrap();
    let again = Cap::from_bytes(&jar).unwrap();
    assert_eq!(again.components, ours.components, "{name}: round trip");
    assert_eq!(again.to_jar().unwrap(), jar, "{name}: round trip bytes");

    let map = pool_permutation(ours, &theirs)
        .unwrap_or_else(|| panic!("{name}: the constant pools hold different entries"));
    let mut identical = Vec::new();
    let mut after = Vec::new();
    let mut remarks = Vec::new();
    for tag in Tag::ALL {
        let theirs_body = body(&theirs, tag);
        let raw = body(ours, tag);
        assert_eq!(
            raw.is_some(),
            theirs_body.is_some(),
            "{name}: {} present on one side only",
            tag.name()
        );
        let (Some(raw), Some(want)) = (raw, theirs_body) else {
            continue;
        };
        if raw == want {
            identical.push(tag.name());
            continue;
        }
        let mut why = Vec::new();
        let got = normalized(tag, ours, &theirs, &map, &mut why).unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "{name}: {} has {} bytes, Oracle's {} (after: {why:?})",
            tag.name(),
            got.len(),
            want.len()
        );
        let diff = differing(&got, &want);
        if tag == Tag::Method && !diff.is_empty() {
            // The only instruction choice that differs: `>>>` on a short.
            for &at in &diff {
                assert_eq!(
                    (mnemonic_at(ours, at), mnemonic_at(&theirs, at)),
                    (Some("sshr"), Some("sushr")),
                    "{name}: Method byte {at:#x} differs from Oracle's after {why:?}"
                );
            }
            why.push(format!("Method: sshr for Oracle's sushr x{}", diff.len()));
        } else {
            assert!(
                diff.is_empty(),
                "{name}: {} differs from Oracle's at {:x?} after undoing {why:?}",
                tag.name(),
                diff
            );
        }
        after.push(tag.name());
        remarks.extend(why);
    }
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    vec![
        format!(
            "### {name} (jct CAP {} / Oracle CAP {})",
            ours.format, theirs.format
        ),
        format!("- byte for byte identical: {}", list(&identical)),
        format!(
            "- identical once the listed choices are undone: {}",
            list(&after)
        ),
        format!(
            "- the choices: {}",
            if remarks.is_empty() {
                "none".into()
            } else {
                remarks.join("; ")
            }
        ),
    ]
}

/// Every token, the referenced packages and the CAP 2.2 inheritable counts
/// of an export file, by name.
fn export_facts(file: &ExportFile) -> Vec<String> {
    let view = file.view().unwrap();
    let mut out = vec![format!("format {}", file.format())];
    for p in view.referenced_packages.iter().flatten() {
        out.push(format!("references {} {} {}", p.name, p.aid, p.version));
    }
    let mut rest = Vec::new();
    for c in &view.classes {
        rest.push(format!(
            "class {} {} flags {:#06x} inheritable {:?}",
            c.name, c.token, c.flags, c.cap22_inheritable_public_method_token_count
        ));
        for f in &c.fields {
            rest.push(format!("field {}.{} {}", c.name, f.name, f.token));
        }
        for m in &c.methods {
            rest.push(format!(
                "method {}.{}{} {}",
                c.name, m.name, m.descriptor, m.token
            ));
        }
    }
    rest.sort();
    out.extend(rest);
    out
}

const BEGIN: &str = "<!-- generated by tests/convert_formats.rs: begin -->\n";
const END: &str = "<!-- generated by tests/convert_formats.rs: end -->\n";

/// The reference packages built from source in CAP 2.3 (2.2 for arith)
/// match Oracle's 3.2.0 kit byte for byte but for the listed choices; the
/// list is the generated section of convert-notes.md (regenerate it with
/// `JCT_UPDATE_NOTES=1 cargo test -p cap-tools --test convert_formats`).
#[test]
fn cap_2_3_matches_oracle_3_2_0_byte_for_byte_but_for_the_listed_choices() {
    if !require::javac() {
        return;
    }
    let scratch = Scratch::new();
    let built = build_all(&scratch.0);
    let mut lines = Vec::new();
    for (name, out) in &built {
        lines.extend(compare(name, out));
        lines.push(String::new());
        // Export files: format 2.3 with the same tokens, referenced
        // packages and inheritable counts as Oracle's (lib, oop).
        if let Some(exp) = &out.export {
            let theirs = ExportFile::read(reference(&format!("oracle-3.2.0/{name}.exp"))).unwrap();
            assert_eq!(exp.format(), "2.3", "{name}.exp");
            assert_eq!(export_facts(exp), export_facts(&theirs), "{name}.exp");
            assert_eq!(&ExportFile::decode(&exp.encode().unwrap()).unwrap(), exp);
        }
    }
    let generated = lines.join("\n");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/convert-notes.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = text
        .split_once(BEGIN)
        .expect("convert-notes.md has the begin marker");
    let (current, tail) = rest
        .split_once(END)
        .expect("convert-notes.md has the end marker");
    if std::env::var_os("JCT_UPDATE_NOTES").is_some() {
        std::fs::write(&path, format!("{head}{BEGIN}{generated}{END}{tail}")).unwrap();
        return;
    }
    assert_eq!(
        current, generated,
        "convert-notes.md is out of date: rerun with JCT_UPDATE_NOTES=1 and review"
    );
}

/// The format follows the target as Oracle's converter chooses it, and
/// `cap_format` overrides it; what cannot be written is refused.
#[test]
fn the_cap_format_follows_the_target_and_the_option() {
    let classes =
        convert::load_classes(&reference("oracle-3.2.0/hello.cap"), "com.example.hello").unwrap();
    let mut o = Options::new("com.example.hello", aid("F00000000101"), (1, 0));
    o.applets
        .push((aid("F0000000010101"), "HelloApplet".into()));
    let mut formats = BTreeMap::new();
    for (target, debug, forced) in [
        (ApiVersion::V2_2_2, false, None),
        (ApiVersion::V3_0_5, false, None),
        (ApiVersion::V3_0_5, true, None),
        (ApiVersion::V3_2_0, false, None),
        (ApiVersion::V3_2_0, true, None),
        (ApiVersion::V3_2_0, false, Some(Format::V2_1)),
        (ApiVersion::V3_2_0, false, Some(Format::V2_2)),
        (ApiVersion::V3_0_5, false, Some(Format::V2_3)),
    ] {
        o.target = target;
        o.debug = debug;
        o.cap_format = forced;
        let out = convert::convert(&classes, &o).unwrap();
        let cap = &out.cap;
        assert!(cap_tools::verify::verify(cap).is_empty());
        assert_eq!(cap.header().unwrap().format(), cap.format);
        assert_eq!(cap.component(Tag::Debug).is_some(), debug);
        formats.insert(
            format!("{target} debug {debug} forced {forced:?}"),
            cap.format.to_string(),
        );
    }
    let got: Vec<String> = formats.values().cloned().collect();
    assert_eq!(
        formats
            .get("2.2.2 debug false forced None")
            .map(String::as_str),
        Some("2.1")
    );
    assert_eq!(
        formats
            .get("3.0.5 debug true forced None")
            .map(String::as_str),
        Some("2.2")
    );
    assert_eq!(
        formats
            .get("3.2.0 debug false forced None")
            .map(String::as_str),
        Some("2.3")
    );
    assert_eq!(
        formats
            .get("3.2.0 debug true forced None")
            .map(String::as_str),
        Some("2.3")
    );
    assert_eq!(
        formats
            .get("3.0.5 debug false forced Some(Format { major: 2, minor: 3, extended: false })")
            .map(String::as_str),
        Some("2.3"),
        "{got:?}"
    );
    // CAP 2.1 has no Debug component; jct writes none in an extended file.
    o.debug = true;
    o.cap_format = Some(Format::V2_1);
    let e = convert::convert(&classes, &o).unwrap_err().to_string();
    assert!(e.contains("no Debug component"), "{e}");
    o.cap_format = Some(Format::V2_3_EXTENDED);
    let e = convert::convert(&classes, &o).unwrap_err().to_string();
    assert!(e.contains("Debug component of an extended CAP file"), "{e}");
    // The extended format when asked for, however small the package: one
    // block, the Header naming the CAP file (a private applet package:
    // hello exports nothing), the Descriptor its one package.
    o.debug = false;
    for target in [ApiVersion::V3_0_5, ApiVersion::V3_2_0] {
        o.target = target;
        let out = convert::convert(&classes, &o).unwrap();
        let cap = &out.cap;
        assert_eq!(cap.format, Format::V2_3_EXTENDED);
        assert!(cap_tools::verify::verify(cap).is_empty());
        let h = cap.header().unwrap();
        assert!(h.is_extended() && h.packages.is_empty());
        assert_eq!(h.load_file_aid().to_hex(), "F00000000101");
        let Some(Component::Method(m)) = cap.component(Tag::Method) else {
            panic!("no Method component")
        };
        assert_eq!(m.blocks.len(), 1);
        let Some(Component::Descriptor(d)) = cap.component(Tag::Descriptor) else {
            panic!("no Descriptor")
        };
        assert_eq!(d.package_class_counts, Some(vec![1]));
        let jar = cap.to_jar().unwrap();
        assert_eq!(Cap::from_bytes(&jar).unwrap().to_jar().unwrap(), jar);
    }
}

/// The CAP 2.2 inheritable counts the 2.3 token mapping relies on come
/// with the 3.2.0 API table (export format 2.3), where Java Card 3.1 added
/// virtual methods to some classes: a subclass converted to CAP 2.3 maps
/// only the older tokens. Older tables have none.
#[test]
fn the_3_2_0_api_carries_the_cap_2_2_inheritable_counts() {
    let count = |v: ApiVersion, class: &str| {
        cap_tools::api::table(v)
            .packages
            .iter()
            .flat_map(|p| &p.classes)
            .find(|c| c.name == class)
            .unwrap_or_else(|| panic!("{class} in {v}"))
            .cap22_inheritable_public_method_token_count
    };
    // Applet: its 8 virtual methods, all from before 3.1.
    assert_eq!(
        count(ApiVersion::V3_2_0, "javacard/framework/Applet"),
        Some(8)
    );
    // MessageDigest has 7 virtual tokens in 3.2.0, 6 of them from before 3.1.
    assert_eq!(
        count(ApiVersion::V3_2_0, "javacard/security/MessageDigest"),
        Some(6)
    );
    assert_eq!(count(ApiVersion::V3_0_5, "javacard/framework/Applet"), None);
}
