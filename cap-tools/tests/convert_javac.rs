//! The converter on javac output compiled here: the reference sources
//! (ints among them, which Oracle's 3.2.0 kit did not convert), programs
//! using what Java Card lacks (each refused with class, method and line),
//! and language features the reference packages do not cover.
//!
//! The Java Card API to compile against is generated from jct's own API
//! tables as source stubs (declarations and constants only). Without a
//! `javac` on the PATH these tests print a note and pass.

#[path = "../../tests/support/require.rs"]
mod require;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cap_tools::api::{self, ApiVersion};
use cap_tools::cap::{Component, Tag};
use cap_tools::convert::{self, Options};
use cap_tools::{Aid, Cap};

fn shared() -> PathBuf {
    std::env::var_os("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// javac (see tests/support/require.rs), probed once per test binary;
/// every test that needs it then skips or fails (under CI) on its own.
fn have_javac() -> bool {
    static HAVE: OnceLock<Result<(), String>> = OnceLock::new();
    require::require(
        "javac",
        HAVE.get_or_init(|| require::tool_runs("javac")).clone(),
    )
}

/// A Java type for a JVM descriptor.
fn java_type(d: &str) -> String {
    match d {
        "V" => "void".into(),
        "Z" => "boolean".into(),
        "B" => "byte".into(),
        "S" => "short".into(),
        "I" => "int".into(),
        d if d.starts_with('[') => format!("{}[]", java_type(&d[1..])),
        d => d
            .trim_start_matches('L')
            .trim_end_matches(';')
            .replace(['/', '$'], "."),
    }
}

fn args_of(desc: &str) -> Vec<String> {
    cap_tools::classfile::descriptor_args(desc).unwrap()
}

/// Writes Java source stubs of the API of `v` (java.* comes from the JDK).
fn write_stubs(v: ApiVersion, dir: &Path) -> Vec<PathBuf> {
    let table = api::table(v);
    let by_name: std::collections::HashMap<&str, &api::ApiClass> = table
        .packages
        .iter()
        .flat_map(|p| p.classes.iter().map(|c| (c.name.as_str(), c)))
        .collect();
    let mut files = Vec::new();
    // Nested API classes (`Signature$OneShot`) and what mentions them are
    // left out: the programs compiled here do not use them.
    for p in table
        .packages
        .iter()
        .filter(|p| !p.package.starts_with("java."))
    {
        for c in p.classes.iter().filter(|c| !c.name.contains('$')) {
            let simple = c.simple_name();
            let interface = c.flags & api::ACC_INTERFACE != 0;
            let mut s = format!("package {};\n", p.package);
            let mods = if interface {
                "public interface".to_string()
            } else {
                let mut m = "public".to_string();
                if c.flags & 0x0400 != 0 {
                    m.push_str(" abstract");
                }
                if c.flags & 0x0010 != 0 {
                    m.push_str(" final");
                }
                m + " class"
            };
            s += &format!("{mods} {simple}");
            let direct_super = c
                .supers
                .iter()
                .find(|x| {
                    by_name.get(x.as_str()).map_or(
                        x.as_str() == "java/lang/Object" && c.supers.len() == 1,
                        |sc| sc.supers.len() + 1 == c.supers.len(),
                    )
                })
                .cloned();
            let ifaces: Vec<String> = c
                .interfaces
                .iter()
                .map(|i| java_type(&format!("L{i};")))
                .collect();
            if interface {
                if !ifaces.is_empty() {
                    s += &format!(" extends {}", ifaces.join(", "));
                }
            } else {
                if let Some(sup) = &direct_super {
                    s += &format!(" extends {}", java_type(&format!("L{sup};")));
                }
                if !ifaces.is_empty() {
                    s += &format!(" implements {}", ifaces.join(", "));
                }
            }
            s += " {\n";
            // Methods a superclass implements (or a superinterface declares,
            // for an interface) are inherited, not redeclared.
            let supertypes = if interface { &c.interfaces } else { &c.supers };
            let inherited = |name: &str, desc: &str| {
                name == "equals"
                    || supertypes
                        .iter()
                        .filter_map(|x| by_name.get(x.as_str()))
                        .any(|sc| {
                            sc.methods.iter().any(|m| {
                                m.name == name
                                    && m.descriptor == desc
                                    && (interface || m.flags & 0x0400 == 0)
                            })
                        })
            };
            for f in &c.fields {
                let vis = if f.flags & 0x0004 != 0 {
                    "protected"
                } else {
                    "public"
                };
                let st = if f.flags & 0x0008 != 0 { " static" } else { "" };
                let ty = java_type(&f.descriptor);
                match f.value {
                    Some(v) => {
                        let lit = match f.descriptor.as_str() {
                            "Z" => (v != 0).to_string(),
                            "I" => format!("{v}"),
                            _ => format!("({ty}) {v}"),
                        };
                        s += &format!("    {vis}{st} final {ty} {} = {lit};\n", f.name);
                    }
                    None => s += &format!("    {vis}{st} {ty} {};\n", f.name),
                }
            }
            let mut has_noarg = false;
            for m in c.methods.iter().filter(|m| !m.descriptor.contains('$')) {
                let params: Vec<String> = args_of(&m.descriptor)
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("{} a{i}", java_type(t)))
                    .collect();
                let vis = if m.flags & 0x0004 != 0 {
                    "protected"
                } else {
                    "public"
                };
                if m.name == "<init>" {
                    has_noarg |= params.is_empty();
                    s += &format!("    {vis} {simple}({}) {{}}\n", params.join(", "));
                    continue;
                }
                if m.flags & 0x0008 == 0 && inherited(&m.name, &m.descriptor) {
                    continue;
                }
                let ret =
                    java_type(&cap_tools::classfile::descriptor_return(&m.descriptor).unwrap());
                let mut mods = vis.to_string();
                if m.flags & 0x0008 != 0 {
                    mods += " static";
                }
                if m.flags & 0x0010 != 0 {
                    mods += " final";
                }
                if interface {
                    s += &format!("    {ret} {}({});\n", m.name, params.join(", "));
                } else if m.flags & 0x0400 != 0 {
                    s += &format!(
                        "    {mods} abstract {ret} {}({});\n",
                        m.name,
                        params.join(", ")
                    );
                } else {
                    s += &format!(
                        "    {mods} {ret} {}({}) {{ throw null; }}\n",
                        m.name,
                        params.join(", ")
                    );
                }
            }
            if !interface && !has_noarg {
                s += &format!("    protected {simple}() {{}}\n");
            }
            s += "}\n";
            let path = dir
                .join(p.package.replace('.', "/"))
                .join(format!("{simple}.java"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, s).unwrap();
            files.push(path);
        }
    }
    files
}

/// Runs javac; panics with its output on failure.
fn javac(args: &[&str], files: &[PathBuf]) -> Result<(), String> {
    let out = Command::new("javac")
        .args(args)
        .args(files)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The compiled API stubs of a version (once per test run).
fn api_classes(v: ApiVersion) -> PathBuf {
    static DIRS: OnceLock<std::sync::Mutex<std::collections::HashMap<ApiVersion, PathBuf>>> =
        OnceLock::new();
    let dirs = DIRS.get_or_init(Default::default);
    let mut dirs = dirs.lock().unwrap();
    dirs.entry(v)
        .or_insert_with(|| {
            let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                "jct-convert-api-{}-{}",
                v.as_str(),
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&root);
            let files = write_stubs(v, &root.join("src"));
            let classes = root.join("classes");
            javac(
                &["--release", "8", "-nowarn", "-d", classes.to_str().unwrap()],
                &files,
            )
            .unwrap_or_else(|e| panic!("API stubs: {e}"));
            classes
        })
        .clone()
}

/// Compiles sources (with -g) against the API stubs and `extra` class
/// path entries into a fresh directory.
fn compile(
    name: &str,
    sources: &[PathBuf],
    extra: &[&Path],
    release: &str,
) -> Result<PathBuf, String> {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut cp = vec![api_classes(ApiVersion::V3_0_5)];
    cp.extend(extra.iter().map(|p| p.to_path_buf()));
    let cp = std::env::join_paths(cp).unwrap();
    javac(
        &[
            "-g",
            "--release",
            release,
            "-nowarn",
            "-cp",
            cp.to_str().unwrap(),
            "-d",
            out.to_str().unwrap(),
        ],
        sources,
    )?;
    Ok(out)
}

/// Compiles one Java source text of package `t` and converts it.
fn build_source(
    name: &str,
    source: &str,
    int: bool,
    release: &str,
) -> Result<convert::Output, String> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-src-{name}-{}", std::process::id()));
    let file = dir.join("t").join(format!("{name}.java"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, source).unwrap();
    let classes = compile(name, &[file], &[], release)?;
    let mut o = Options::new("t", aid("F000000099"), (1, 0));
    o.int_support = int;
    let files = convert::load_classes(&classes, "t").map_err(|e| e.to_string())?;
    convert::convert(&files, &o).map_err(|e| e.to_string())
}

fn aid(s: &str) -> Aid {
    Aid::from_hex(s).unwrap()
}

fn reference_sources(name: &str) -> Vec<PathBuf> {
    let dir = shared()
        .join("converter-reference/src/com/example")
        .join(name);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
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

#[test]
fn ints_needs_int_support_and_converts_with_it() {
    if !have_javac() {
        return;
    }
    let classes = compile("ints", &reference_sources("ints"), &[], "8").unwrap();
    let files = convert::load_classes(&classes, "com.example.ints").unwrap();
    let mut o = Options::new("com.example.ints", aid("F00000000105"), (1, 0));
    o.applets.push((aid("F0000000010501"), "IntApplet".into()));
    let e = convert::convert(&files, &o).unwrap_err().to_string();
    assert!(
        e.contains("com.example.ints.IntApplet") && e.contains("needs int support (--int)"),
        "{e}"
    );
    o.int_support = true;
    let out = convert::convert(&files, &o).unwrap();
    assert!(cap_tools::verify::verify(&out.cap).is_empty());
    let oracle =
        Cap::from_path(shared().join("converter-reference/oracle-3.0.5/ints.cap")).unwrap();
    assert_eq!(imports(&out.cap), imports(&oracle));
    assert_eq!(
        out.cap.header().unwrap().flags,
        oracle.header().unwrap().flags,
        "ACC_INT | ACC_APPLET"
    );
}

#[test]
fn reference_sources_compiled_here_convert_like_oracle() {
    if !have_javac() {
        return;
    }
    let lib = compile("lib", &reference_sources("lib"), &[], "8").unwrap();
    let lib_files = convert::load_classes(&lib, "com.example.lib").unwrap();
    let lib_out = convert::convert(
        &lib_files,
        &Options::new("com.example.lib", aid("F0000000014C"), (1, 0)),
    )
    .unwrap();
    let exp_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-exp-{}", std::process::id()));
    std::fs::create_dir_all(&exp_dir).unwrap();
    std::fs::write(
        exp_dir.join("lib.exp"),
        lib_out.export.unwrap().encode().unwrap(),
    )
    .unwrap();
    for (name, pkg, applet, class) in [
        ("hello", "F00000000101", "F0000000010101", "HelloApplet"),
        ("arith", "F00000000102", "F0000000010201", "ArithApplet"),
        ("crypto", "F00000000104", "F0000000010401", "CryptoApplet"),
        ("oop", "F00000000103", "F0000000010301", "OopApplet"),
    ] {
        let classes = compile(name, &reference_sources(name), &[&lib], "8").unwrap();
        let package = format!("com.example.{name}");
        let files = convert::load_classes(&classes, &package).unwrap();
        let mut o = Options::new(&package, aid(pkg), (1, 0));
        o.applets.push((aid(applet), class.into()));
        o.export_path.push(exp_dir.clone());
        let out = convert::convert(&files, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(cap_tools::verify::verify(&out.cap).is_empty(), "{name}");
        let kit = if name == "oop" {
            "oracle-3.2.0"
        } else {
            "oracle-3.0.5"
        };
        let oracle =
            Cap::from_path(shared().join(format!("converter-reference/{kit}/{name}.cap"))).unwrap();
        let mut want = imports(&oracle);
        if name == "oop" {
            // Oracle's oop targeted 3.2.0 (framework 1.9); this is 3.0.5.
            want[1].1 = (1, 6);
        }
        assert_eq!(imports(&out.cap), want, "{name}");
    }
}

/// What Java Card lacks is refused, naming class, method and source line.
#[test]
fn unsupported_constructs_are_refused_with_their_line() {
    if !have_javac() {
        return;
    }
    // (name, body of class t.<name>, expected in the message, the line).
    let cases: &[(&str, &str, &str, u32)] = &[
        ("Str", "static short f() {\n  String s = \"x\";\n  return (short) s.length(); }", "String", 0),
        ("Lng", "static short f(short a) {\n  long x = a;\n  return (short) (x * 3); }", "long", 4),
        ("Flt", "static short f(short a) {\n  float x = a;\n  return (short) (x * 3); }", "floating point", 4),
        ("Chr", "static short f(short a) {\n  char c = (char) a;\n  return (short) c; }", "char", 4),
        ("Syn", "static Object o;\n static void f() {\n  synchronized (o) {\n o = null; } }", "synchronized", 5),
        ("SyM", "synchronized void f() {\n }", "synchronized", 0),
        ("Lam", "static Runnable f() {\n  return () -> {};\n }", "invokedynamic", 4),
        ("Cat", "static Object f(Object o) {\n  return o + \"!\";\n }", "String", 0),
        ("Cls", "static Object f() {\n  return Object.class;\n }", "class literals", 4),
        ("Mul", "static Object f() {\n  return new byte[2][3];\n }", "multi-dimensional", 0),
        ("Cmp", "static boolean f(short a, short b) {\n  return a + b > 0;\n }", "needs int support (--int)", 4),
        ("Idx", "static byte f(byte[] b, short i, short j) {\n  return b[i + j];\n }", "cast it to short", 4),
        ("Int", "static short f(short a) {\n  int x = a;\n  x *= 1000;\n  return x > 5 ? (short) 1 : (short) 0; }", "needs int support (--int)", 0),
        ("Cli", "static short v = f();\n static short f() { return 1; }", "static initializer", 3),
    ];
    for &(name, body, want, line) in cases {
        let src = format!("package t;\npublic class {name} {{\n {body}\n}}\n");
        let e = match build_source(name, &src, false, "8") {
            Ok(_) => panic!("{name}: converted, but should be refused"),
            Err(e) => e,
        };
        eprintln!("{e}");
        assert!(e.contains(want), "{name}: {e}");
        assert!(
            e.contains(&format!("t.{name}")),
            "{name} names the class: {e}"
        );
        if line > 0 {
            assert!(
                e.contains(&format!(":{line}:")),
                "{name} names line {line}: {e}"
            );
        }
    }
}

/// Features the reference packages do not exercise convert and verify.
#[test]
fn more_language_features_convert() {
    if !have_javac() {
        return;
    }
    let src = r#"package t;
public class Feat {
    static final short[] W = {1, -2, 300};
    static final boolean[] FLAGS = {true, false, true};
    static byte b0 = 7;
    static short s0 = -5;
    private short p;
    private static short twice(short x) { return (short) (x * 2); }
    private short priv() { return p; }
    short unsigned(short x) { return (short) ((x & 0xFFFF) >>> 4); }
    short chain(short[] a, short i) { short x; a[i] = x = 5; return x; }
    byte[] cast(Object o) { return (o instanceof byte[]) ? (byte[]) o : null; }
    Object[] cast2(Object o) { return (Feat[]) o; }
    short sparse(short k) {
        switch (k) {
            case -30000: return 1;
            case 0: return 2;
            case 30000: return 3;
            default: return 4;
        }
    }
    short loops(byte[] buf) {
        short sum = 0;
        for (short i = 0; i < (short) buf.length; i++) { sum += buf[i]; buf[i] += 3; }
        do { sum--; } while (sum > 100);
        return sum;
    }
    short many(short a, short b, short c, short d, short e, short f, short g, short h) {
        short i = (short) (a + b), j = (short) (c + d), k = (short) (e + f), l = (short) (g + h);
        short m = (short) (i * j), n = (short) (k * l), o = (short) (m - n), q = (short) (o ^ a);
        return (short) (q + twice(i) + priv());
    }
    short tries(short x) {
        try {
            try { if (x == 0) throw new RuntimeException(); return 1; }
            finally { p++; }
        } catch (RuntimeException e) { return 2; }
    }
    class Inner { short get() { return p; } }
    short inner() { return new Inner().get(); }
}
"#;
    for release in ["8", "17"] {
        let out = build_source("Feat", src, false, release)
            .unwrap_or_else(|e| panic!("release {release}: {e}"));
        assert!(
            cap_tools::verify::verify(&out.cap).is_empty(),
            "release {release}"
        );
    }
}

/// Token rules by visibility (JCVM 4.3.7): a package-visible class's public
/// and protected static methods are externally visible and numbered from 0
/// (Oracle's converter does; 0xFF on two of them is a duplicate its
/// verifier refuses), its package-visible and private static methods and
/// its package-visible constructor get none; virtual methods keep
/// public tokens for public ones and private tokens (high bit) for
/// package-visible ones; `jct cap verify` accepts the result.
#[test]
fn tokens_follow_the_jcvm_rules_for_every_visibility() {
    use cap_tools::cap::components::descriptor::{ACC_STATIC, METHOD_ACC_INIT};
    if !have_javac() {
        return;
    }
    let src = r#"package t;
public class Tok {
    public static short pub1() { return Helper.a(); }
    public static short pub2() { return (short) (Helper.b() + Helper.c() + Helper.d()); }
    static short pkg() { return 1; }
    private static short priv() { return 2; }
    public short v1() { return (short) (priv() + pkg()); }
    short v2() { return new Helper().e(); }
}
class Helper {
    public static short a() { return 1; }
    protected static short b() { return 2; }
    static short c() { return 3; }
    private static short z() { return 4; }
    public static short d() { return z(); }
    short e() { return 5; }
    public short f() { return 6; }
}
"#;
    let out = build_source("Tok", src, false, "8").unwrap();
    assert!(
        cap_tools::verify::verify(&out.cap).is_empty(),
        "{:?}",
        cap_tools::verify::verify(&out.cap)
    );
    let Some(Component::Descriptor(d)) = out.cap.component(Tag::Descriptor) else {
        panic!("no Descriptor")
    };
    // Per class (descriptor order), the tokens of its static methods and
    // constructors, and of its virtual methods.
    let mut statics = Vec::new();
    let mut virtuals = Vec::new();
    for c in &d.classes {
        let mut s: Vec<u8> = c
            .methods
            .iter()
            .filter(|m| m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) != 0)
            .map(|m| m.token)
            .collect();
        s.sort();
        let mut v: Vec<u8> = c
            .methods
            .iter()
            .filter(|m| m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) == 0)
            .map(|m| m.token)
            .collect();
        v.sort();
        statics.push((c.token, s));
        virtuals.push(v);
    }
    // Tok (public, class token 0): pub1, pub2 and its public constructor
    // numbered 0..=2; pkg and priv none. Helper (package-visible, no class
    // token): a, b, d numbered 0..=2; c, z and its constructor none.
    assert!(
        statics.contains(&(0, vec![0, 1, 2, 0xFF, 0xFF])),
        "{statics:?}"
    );
    assert!(
        statics.contains(&(0xFF, vec![0, 1, 2, 0xFF, 0xFF, 0xFF])),
        "{statics:?}"
    );
    // Object's public virtual tokens are 0 (equals); v1 and f follow it,
    // v2 and e are package-visible: private token 0x80.
    assert!(virtuals.contains(&vec![1, 0x80]), "{virtuals:?}");
}

/// A package whose code outgrows the 64 KiB of a compact Method component
/// is refused, for a format without an extended layout (2.1 for the
/// default target 3.0.5), with its size and what would hold it; with CAP
/// 2.3 (target 3.2.0) it converts to the extended format, its methods cut
/// into blocks that each fit 64 KiB, with a note saying so.
#[test]
fn code_over_64_kib_needs_the_extended_format() {
    if !have_javac() {
        return;
    }
    let mut src =
        String::from("package t;\npublic class Big {\n    static byte[] b = new byte[8];\n");
    for m in 0..10 {
        src.push_str(&format!("    static void m{m}() {{\n"));
        for i in 0..900 {
            src.push_str(&format!(
                "        b[{}] = (byte) (b[{}] + {});\n",
                i % 8,
                (i + 1) % 8,
                i % 100
            ));
        }
        src.push_str("    }\n");
    }
    src.push_str("}\n");
    let e = build_source("Big", &src, false, "8").unwrap_err();
    assert!(
        e.contains("t.Big.m")
            && e.contains("over the 65535 bytes (64 KiB) of a compact CAP file")
            && e.contains("CAP format 2.1 cannot hold the package")
            && e.contains("--cap-format 2.3"),
        "{e}"
    );

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-big-{}", std::process::id()));
    let file = dir.join("t").join("Big.java");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &src).unwrap();
    let classes = compile("BigExt", &[file], &[], "8").unwrap();
    let files = convert::load_classes(&classes, "t").unwrap();
    let mut o = Options::new("t", aid("F000000099"), (1, 0));
    o.target = ApiVersion::V3_2_0;
    let out = convert::convert(&files, &o).unwrap();
    let cap = &out.cap;
    assert!(cap.format.extended, "{}", cap.format);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("wrote the extended CAP 2.3 format")),
        "{:?}",
        out.notes
    );
    let Some(Component::Method(m)) = cap.component(Tag::Method) else {
        panic!("no Method component")
    };
    let ctx = cap.context();
    let body = Component::Method(m.clone()).encode_body(&ctx).unwrap();
    assert!(body.len() > 65535, "{} bytes", body.len());
    assert!(m.blocks.len() >= 2, "{} blocks", m.blocks.len());
    assert!(m.handlers.is_empty() && m.methods.is_empty());
    // 11 method_infos (m0..m9 and the constructor; <clinit> is folded
    // into the static image), each block within 64 KiB.
    assert_eq!(m.blocks.iter().map(|b| b.methods.len()).sum::<usize>(), 11);
    for b in &m.blocks {
        let one = Component::Method(cap_tools::cap::MethodComponent {
            handlers: Vec::new(),
            methods: Vec::new(),
            blocks: vec![b.clone()],
        })
        .encode_body(&ctx)
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(one.len() <= 1 + 4 + 65535, "{}", one.len());
    }
    // The Directory and RefLocation follow the blocks.
    let Some(Component::Directory(d)) = cap.component(Tag::Directory) else {
        panic!("no Directory")
    };
    assert_eq!(d.method_component_block_count, Some(m.blocks.len() as u8));
    let Some(Component::RefLocation(r)) = cap.component(Tag::RefLocation) else {
        panic!("no RefLocation")
    };
    assert_eq!(r.blocks.len(), m.blocks.len());
    assert!(cap_tools::verify::verify(cap).is_empty());
    // Byte-exact round trip of the JAR jct writes.
    let jar = cap.to_jar().unwrap();
    assert_eq!(Cap::from_bytes(&jar).unwrap().to_jar().unwrap(), jar);
    // jct writes no Debug component in an extended file: --debug is
    // refused, naming why the extended format was needed.
    o.debug = true;
    let e = convert::convert(&files, &o).unwrap_err().to_string();
    assert!(
        e.contains("so the extended CAP format is needed")
            && e.contains("Debug component of an extended CAP file"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Code that fits 64 KiB but a Descriptor that does not (6000 methods of
/// one `return` each, 12 descriptor bytes apiece): the compact layout is
/// laid out first, found too big, and the extended one written instead.
#[test]
fn a_descriptor_over_64_kib_needs_the_extended_format() {
    if !have_javac() {
        return;
    }
    let mut src = String::from("package t;\n");
    for c in 0..250 {
        src.push_str(&format!("class C{c} {{\n"));
        for m in 0..24 {
            src.push_str(&format!("    private static void m{m}() {{}}\n"));
        }
        src.push_str("}\n");
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-desc-{}", std::process::id()));
    let file = dir.join("t").join("C0.java");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &src).unwrap();
    let classes = compile("Descriptors", &[file], &[], "8").unwrap();
    let files = convert::load_classes(&classes, "t").unwrap();
    let mut o = Options::new("t", aid("F000000099"), (1, 0));
    o.cap_format = Some(cap_tools::cap::Format::V2_2);
    let e = convert::convert(&files, &o).unwrap_err().to_string();
    assert!(
        e.contains("the Descriptor component would be") && e.contains("--cap-format 2.3"),
        "{e}"
    );
    o.cap_format = Some(cap_tools::cap::Format::V2_3);
    let out = convert::convert(&files, &o).unwrap();
    let cap = &out.cap;
    assert!(cap.format.extended);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("the Descriptor component would be")),
        "{:?}",
        out.notes
    );
    let ctx = cap.context();
    let size = |t: Tag| cap.component(t).unwrap().encode_body(&ctx).unwrap().len();
    assert!(size(Tag::Descriptor) > 65535);
    assert!(size(Tag::Method) < 65535);
    let Some(Component::Method(m)) = cap.component(Tag::Method) else {
        panic!("no Method component")
    };
    assert_eq!(m.blocks.len(), 1);
    assert!(cap_tools::verify::verify(cap).is_empty());
    let jar = cap.to_jar().unwrap();
    assert_eq!(Cap::from_bytes(&jar).unwrap().to_jar().unwrap(), jar);
    let _ = std::fs::remove_dir_all(&dir);
}

/// More than 255 exception handlers do not fit a compact Method
/// component's one handler table, however small the code: CAP 2.3 turns
/// extended, each block with at most 255 handlers and every method with
/// its handlers in one block.
#[test]
fn over_255_handlers_need_the_extended_format() {
    if !have_javac() {
        return;
    }
    let mut src = String::from("package t;\npublic class H {\n");
    for m in 0..30 {
        src.push_str(&format!(
            "    static short m{m}(short x) {{\n        short a = x;\n"
        ));
        for i in 0..10 {
            src.push_str(&format!(
                "        try {{ a = (short) (a / (short) (x - {i})); }} \
                 catch (ArithmeticException e) {{ a = (short) (a + {m}); }}\n"
            ));
        }
        src.push_str("        return a;\n    }\n");
    }
    src.push_str("}\n");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-handlers-{}", std::process::id()));
    let file = dir.join("t").join("H.java");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &src).unwrap();
    let classes = compile("Handlers", &[file], &[], "8").unwrap();
    let files = convert::load_classes(&classes, "t").unwrap();
    let mut o = Options::new("t", aid("F000000099"), (1, 0));
    let e = convert::convert(&files, &o).unwrap_err().to_string();
    assert!(e.contains("300 exception handlers, over the 255"), "{e}");
    o.target = ApiVersion::V3_2_0;
    let out = convert::convert(&files, &o).unwrap();
    assert!(out.cap.format.extended);
    assert!(out
        .notes
        .iter()
        .any(|n| n.contains("300 exception handlers")));
    let Some(Component::Method(m)) = out.cap.component(Tag::Method) else {
        panic!("no Method component")
    };
    let per_block: Vec<usize> = m.blocks.iter().map(|b| b.handlers.len()).collect();
    assert_eq!(per_block.iter().sum::<usize>(), 300, "{per_block:?}");
    assert!(per_block.len() >= 2 && per_block.iter().all(|&n| n <= 255));
    // Each block's handlers lie in that block's methods.
    for b in &m.blocks {
        for h in &b.handlers {
            assert!(b.methods.iter().any(|mi| {
                mi.code_offset() <= u32::from(h.start_offset)
                    && u32::from(h.start_offset) < mi.code_offset() + mi.code_len() as u32
            }));
        }
    }
    assert!(cap_tools::verify::verify(&out.cap).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two packages in one extended CAP file (`Options::private_packages`): a
/// library `m` that uses a private package `p`. The Header and the Export
/// component name `m` only; the Descriptor lists both, each numbering its
/// public classes from 0; `m`'s uses of `p` are internal references (no
/// Import of `p`). A compact format is refused, and so is a subclass in
/// `m` of a `p` class with package-visible virtual methods.
#[test]
fn a_private_package_goes_into_the_same_extended_cap() {
    use cap_tools::cap::constant_pool::{CpEntry, StaticRef};
    if !have_javac() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-multi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |path: &str, text: &str| {
        let f = dir.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
        f
    };
    let files = vec![
        write(
            "p/Util.java",
            "package p;\npublic class Util {\n    public static short twice(short x) { return (short) (x * 2); }\n}\n",
        ),
        write(
            "p/Base.java",
            "package p;\npublic class Base {\n    public short f() { return 1; }\n}\n",
        ),
        write(
            "m/Api.java",
            "package m;\npublic class Api extends p.Base {\n    public static short g(short x) { return p.Util.twice(x); }\n    public short f() { return 2; }\n}\n",
        ),
    ];
    let classes = compile("Multi", &files, &[], "8").unwrap();
    let mut all = convert::load_classes(&classes, "m").unwrap();
    all.extend(convert::load_classes(&classes, "p").unwrap());
    let mut o = Options::new("m", aid("F000000098"), (1, 0));
    o.target = ApiVersion::V3_2_0;
    o.private_packages = vec!["p".into()];
    let out = convert::convert(&all, &o).unwrap();
    let cap = &out.cap;
    assert!(cap.format.extended, "{}", cap.format);
    let h = cap.header().unwrap();
    assert_eq!(h.packages.len(), 1, "only m is public");
    assert_eq!(h.packages[0].name, "m");
    let Some(Component::Export(e)) = cap.component(Tag::Export) else {
        panic!("no Export component")
    };
    assert_eq!(e.packages.len(), 1);
    assert_eq!(e.packages[0].classes.len(), 1, "m.Api");
    let Some(Component::Descriptor(d)) = cap.component(Tag::Descriptor) else {
        panic!("no Descriptor component")
    };
    assert_eq!(d.package_class_counts, Some(vec![1, 2]));
    let tokens: Vec<u8> = d.classes.iter().map(|c| c.token).collect();
    assert_eq!(tokens[0], 0, "m.Api");
    let mut p_tokens = tokens[1..].to_vec();
    p_tokens.sort();
    assert_eq!(p_tokens, [0, 1], "p numbers its own classes");
    let Some(Component::Import(i)) = cap.component(Tag::Import) else {
        panic!("no Import component")
    };
    assert!(
        i.packages
            .iter()
            .all(|x| x.aid.to_string().starts_with("A0000000")),
        "p is no import: {:?}",
        i.packages
    );
    let Some(Component::ConstantPool(cp)) = cap.component(Tag::ConstantPool) else {
        panic!("no ConstantPool component")
    };
    assert!(cp
        .entries
        .iter()
        .any(|e| matches!(e, CpEntry::StaticMethodRef(StaticRef::Internal { .. }))));
    assert!(cap_tools::verify::verify(cap).is_empty());
    let exp = out.export.expect("m is a library: an export file");
    assert!(!exp.encode().unwrap().is_empty());

    // A compact CAP file holds one package.
    let mut compact = o.clone();
    compact.cap_format = Some(cap_tools::cap::Format::V2_3);
    let e = convert::convert(&all, &compact).unwrap_err().to_string();
    assert!(
        e.contains("holds one package") && e.contains("--cap-format 2.3-extended"),
        "{e}"
    );
    // Older targets have no extended format by default.
    let mut old = o.clone();
    old.target = ApiVersion::V3_0_5;
    let e = convert::convert(&all, &old).unwrap_err().to_string();
    assert!(e.contains("CAP format 2.1 holds one package"), "{e}");

    // Package-visible virtual methods of a superclass in another package.
    let files = vec![
        write(
            "q/Base.java",
            "package q;\npublic class Base {\n    short hidden() { return 1; }\n}\n",
        ),
        write(
            "n/Sub.java",
            "package n;\npublic class Sub extends q.Base {\n}\n",
        ),
    ];
    let classes = compile("MultiHidden", &files, &[], "8").unwrap();
    let mut all = convert::load_classes(&classes, "n").unwrap();
    all.extend(convert::load_classes(&classes, "q").unwrap());
    let mut o = Options::new("n", aid("F000000097"), (1, 0));
    o.target = ApiVersion::V3_2_0;
    o.private_packages = vec!["q".into()];
    let e = convert::convert(&all, &o).unwrap_err().to_string();
    assert!(
        e.contains("n.Sub") && e.contains("package-visible virtual methods"),
        "{e}"
    );
}
