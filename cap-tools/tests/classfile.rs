//! The class-file reader against real javac output and Oracle's reference
//! classes: the Java fixtures in tests/fixtures/classfile are compiled at test
//! time for several releases, parsed, and checked for names, constants,
//! handlers, debug tables and bytecode decoding; damaged classes give errors,
//! never panics.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cap_tools::classfile::insn::{self, op, Insn, Operands};
use cap_tools::classfile::*;

const JDK25_JAVAC: &str = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/javac";

/// A compiled release: the `--release` value, its expected major version and
/// the output directory.
struct Build {
    release: u32,
    major: u16,
    dir: PathBuf,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classfile")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("classfile")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn java_files(dir: &Path) -> Vec<PathBuf> {
    files_with(dir, "java")
}

/// Every file under `dir` (recursively) with extension `ext`, sorted.
fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_with(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Runs `javac --release N -g` on `sources` into `out`.
fn javac(javac: &str, release: u32, sources: &[PathBuf], out: &Path) {
    let status = Command::new(javac)
        .args([
            "--release",
            &release.to_string(),
            "-g",
            "-encoding",
            "UTF-8",
        ])
        .args(["-Xlint:-options", "-nowarn", "-d"])
        .arg(out)
        .args(sources)
        .status()
        .unwrap_or_else(|e| panic!("running {javac}: {e} (the class-file tests need a JDK)"));
    assert!(status.success(), "{javac} --release {release} failed");
}

/// The fixtures compiled with javac 17 for 8, 11 and 17, and with javac 25
/// (when installed) for 21 and 25. Compiled once per test binary.
fn builds() -> &'static [Build] {
    static BUILDS: OnceLock<Vec<Build>> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let sources = java_files(&fixtures());
        let mut plan = vec![("javac", 8, 52), ("javac", 11, 55), ("javac", 17, 61)];
        if Path::new(JDK25_JAVAC).exists() {
            plan.extend([(JDK25_JAVAC, 21, 65), (JDK25_JAVAC, 25, 69)]);
        } else {
            eprintln!("{JDK25_JAVAC} not found: releases 21 and 25 not tested");
        }
        plan.into_iter()
            .map(|(compiler, release, major)| {
                let dir = scratch(&format!("release-{release}"));
                javac(compiler, release, &sources, &dir);
                Build {
                    release,
                    major,
                    dir,
                }
            })
            .collect()
    })
}

fn load(build: &Build, class: &str) -> (Vec<u8>, ClassFile) {
    let path = build.dir.join(format!("{class}.class"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cf = ClassFile::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (bytes, cf)
}

fn method<'a>(cf: &'a ClassFile, name: &str, desc: &str) -> &'a Method {
    cf.method(name, desc)
        .unwrap_or_else(|| panic!("{}: no method {name}{desc}", cf.this_class))
}

fn insns(cf: &ClassFile, name: &str, desc: &str) -> Vec<Insn> {
    cf.instructions(method(cf, name, desc)).unwrap()
}

/// Decodes every method and checks the instructions tile the code exactly:
/// the first starts at 0, each starts where the previous one ends, the last
/// ends at the code's end. Returns the number of instructions.
fn check_coverage(cf: &ClassFile) -> usize {
    let mut n = 0;
    for m in &cf.methods {
        let Some(code) = &m.code else {
            assert!(cf.instructions(m).unwrap().is_empty());
            continue;
        };
        let insns = cf
            .instructions(m)
            .unwrap_or_else(|e| panic!("{}.{}{}: {e}", cf.this_class, m.name, m.descriptor));
        let mut pc = 0u32;
        for i in &insns {
            assert_eq!(i.pc, pc, "{}.{}: gap or overlap", cf.this_class, m.name);
            assert_ne!(i.opcode, op::WIDE, "wide is folded into the widened insn");
            pc += i.encoded_len();
        }
        assert_eq!(
            pc as usize,
            code.bytecode.len(),
            "{}.{}",
            cf.this_class,
            m.name
        );
        for h in &code.exception_table {
            assert!(insns.iter().any(|i| i.pc == u32::from(h.handler_pc)));
        }
        n += insns.len();
    }
    n
}

/// The line of `source` that contains `marker` (1-based).
fn line_of(source: &str, marker: &str) -> u16 {
    let text = std::fs::read_to_string(fixtures().join("jct/fixture").join(source)).unwrap();
    let i = text.lines().position(|l| l.contains(marker)).unwrap();
    u16::try_from(i + 1).unwrap()
}

#[test]
fn every_release_parses_and_decodes() {
    for b in builds() {
        let classes = files_with(&b.dir, "class");
        assert!(classes.len() >= 6, "{}", b.dir.display());
        let mut total = 0;
        for p in classes {
            let cf = ClassFile::parse(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert_eq!(cf.major_version, b.major, "{}", p.display());
            assert_eq!(cf.minor_version, 0);
            let want = p
                .strip_prefix(&b.dir)
                .unwrap()
                .with_extension("")
                .to_string_lossy()
                .into_owned();
            assert_eq!(cf.this_class, want);
            total += check_coverage(&cf);
            let supported = check_supported_version(&cf);
            if b.release <= 21 {
                supported.unwrap();
            } else {
                let e = supported.unwrap_err().to_string();
                assert!(e.contains(&cf.this_class), "{e}");
                assert!(
                    e.contains("69.0 (Java 25)") && e.contains("--release 8 to 21"),
                    "{e}"
                );
            }
        }
        assert!(
            total > 100,
            "release {}: only {total} instructions",
            b.release
        );
    }
}

#[test]
fn constants_and_fields() {
    for b in builds() {
        let (_, cf) = load(b, "jct/fixture/Constants");
        assert_eq!(cf.super_class.as_deref(), Some("java/lang/Object"));
        assert!(cf.interfaces.is_empty() && !cf.is_interface());
        assert_eq!(cf.source_file.as_deref(), Some("Constants.java"));
        let value = |name: &str| cf.field(name).unwrap().constant_value.clone();
        assert_eq!(value("B"), Some(Constant::Integer(-5)));
        assert_eq!(value("S"), Some(Constant::Integer(1234)));
        assert_eq!(value("I"), Some(Constant::Integer(0x1234_5678)));
        assert_eq!(value("L"), Some(Constant::Long(-1_234_567_890_123)));
        assert_eq!(value("F"), Some(Constant::Float(1.5)));
        assert_eq!(value("D"), Some(Constant::Double(-2.25)));
        assert_eq!(value("C"), Some(Constant::Integer(0xE9)));
        assert_eq!(value("Z"), Some(Constant::Integer(1)));
        assert_eq!(
            value("TEXT"),
            Some(Constant::String("a\0\u{e9}\u{20ac}\u{1F600}".into()))
        );
        assert_eq!(value("notConstant"), None);
        let table = cf.field("table").unwrap();
        assert_eq!(table.descriptor, "[S");
        assert!(!table.is_static() && cf.field("B").unwrap().is_static());
        assert_eq!(cf.field("L").unwrap().descriptor, "J");
        // The static initialiser stores 7 into notConstant.
        let clinit = insns(&cf, "<clinit>", "()V");
        assert_eq!(clinit[0].operands, Operands::Byte(7));
        let Operands::Cp(i) = clinit[1].operands else {
            panic!("{clinit:?}")
        };
        assert_eq!(
            cf.constant_pool.get(i),
            Some(&Constant::FieldRef(MemberRef {
                class: "jct/fixture/Constants".into(),
                name: "notConstant".into(),
                descriptor: "I".into(),
            }))
        );
    }
}

#[test]
fn interfaces_and_bodiless_methods() {
    for b in builds() {
        let (_, shape) = load(b, "jct/fixture/Shape");
        assert!(shape.is_interface());
        assert_eq!(method(&shape, "area", "()I").code, None);
        assert_eq!(
            shape.field("SIDES").unwrap().constant_value,
            Some(Constant::Integer(4))
        );
        let (_, flow) = load(b, "jct/fixture/Flow");
        assert_eq!(flow.interfaces, ["jct/fixture/Shape"]);
        let (_, base) = load(b, "jct/fixture/Modern$Base");
        assert!(method(&base, "run", "()V").code.is_none());
        assert!(method(&base, "fast", "()V").code.is_none());
        assert!(method(&base, "<init>", "()V").code.is_some());
    }
}

#[test]
fn exception_table_lines_and_locals() {
    let marker = line_of("Flow.java", "marker: guarded body");
    for b in builds() {
        let (_, cf) = load(b, "jct/fixture/Flow");
        assert_eq!(cf.source_file.as_deref(), Some("Flow.java"));
        let m = method(&cf, "guarded", "([BS)I");
        let code = m.code.as_ref().unwrap();
        let catches: Vec<Option<&str>> = code
            .exception_table
            .iter()
            .map(|e| e.catch_type.as_deref())
            .collect();
        for want in [
            Some("java/lang/ArrayIndexOutOfBoundsException"),
            Some("java/lang/NullPointerException"),
            Some("java/lang/ClassCastException"),
            None,
        ] {
            assert!(
                catches.contains(&want),
                "release {}: {catches:?}",
                b.release
            );
        }
        for e in &code.exception_table {
            assert!(e.start_pc < e.end_pc);
        }
        let marked = code
            .line_numbers
            .iter()
            .find(|l| l.line == marker)
            .unwrap_or_else(|| panic!("no line {marker}: {:?}", code.line_numbers));
        // The try block's first handler range starts at the marked statement.
        assert!(code
            .exception_table
            .iter()
            .any(|e| e.start_pc == marked.start_pc));
        let local = |name: &str| {
            code.local_variables
                .iter()
                .find(|v| v.name == name)
                .unwrap_or_else(|| panic!("no local {name}: {:?}", code.local_variables))
        };
        assert_eq!(
            (local("this").index, local("this").descriptor.as_str()),
            (0, "Ljct/fixture/Flow;")
        );
        assert_eq!(
            (local("buf").index, local("buf").descriptor.as_str()),
            (1, "[B")
        );
        assert_eq!(
            (local("off").index, local("off").descriptor.as_str()),
            (2, "S")
        );
        assert!(code.stack_map_present);
        assert!(code.max_locals >= 3 && code.max_stack >= 2);
        let mix = method(&cf, "mix", "(JDLjava/lang/Object;)J");
        let locals = &mix.code.as_ref().unwrap().local_variables;
        let b_slot = locals.iter().find(|v| v.name == "b").unwrap();
        assert_eq!((b_slot.index, b_slot.descriptor.as_str()), (3, "D"));
        assert_eq!(
            descriptor_args(&mix.descriptor).unwrap(),
            ["J", "D", "Ljava/lang/Object;"]
        );
        assert_eq!(descriptor_return(&mix.descriptor).unwrap(), "J");
        assert_eq!(descriptor_arg_slots(&mix.descriptor).unwrap(), 5);
    }
}

#[test]
fn switches_invokes_and_arrays() {
    for b in builds() {
        let (_, cf) = load(b, "jct/fixture/Flow");
        let dense = insns(&cf, "dense", "(I)I");
        let table = dense.iter().find(|i| i.opcode == op::TABLESWITCH).unwrap();
        let Operands::TableSwitch {
            default,
            low,
            high,
            targets,
        } = &table.operands
        else {
            panic!("{table:?}")
        };
        assert_eq!((*low, *high, targets.len()), (1, 4, 4));
        // Each case target loads its constant; the default loads -1.
        let at = |pc: i32| dense.iter().find(|i| i.pc == pc as u32).unwrap();
        assert_eq!(at(targets[0]).operands, Operands::Byte(10));
        assert_eq!(at(targets[3]).operands, Operands::Byte(40));
        assert_eq!(at(*default).opcode, op::ICONST_M1);

        let sparse = insns(&cf, "sparse", "(I)I");
        let lookup = sparse
            .iter()
            .find(|i| i.opcode == op::LOOKUPSWITCH)
            .unwrap();
        let Operands::LookupSwitch { pairs, .. } = &lookup.operands else {
            panic!("{lookup:?}")
        };
        let keys: Vec<i32> = pairs.iter().map(|p| p.0).collect();
        assert_eq!(keys, [-100000, 7, 1000000]);

        let call = insns(&cf, "call", "(Ljct/fixture/Shape;)I");
        let ii = call
            .iter()
            .find(|i| i.opcode == op::INVOKEINTERFACE)
            .unwrap();
        let Operands::InvokeInterface { index, count } = ii.operands else {
            panic!("{ii:?}")
        };
        assert_eq!(count, 1);
        assert_eq!(
            cf.constant_pool.get(index),
            Some(&Constant::InterfaceMethodRef(MemberRef {
                class: "jct/fixture/Shape".into(),
                name: "area".into(),
                descriptor: "()I".into(),
            }))
        );

        let mix = insns(&cf, "mix", "(JDLjava/lang/Object;)J");
        let find = |opcode| mix.iter().find(|i| i.opcode == opcode).unwrap();
        let Operands::MultiANewArray { index, dims } = find(op::MULTIANEWARRAY).operands else {
            panic!()
        };
        assert_eq!(
            (cf.constant_pool.class_name(index).unwrap(), dims),
            ("[[I", 2)
        );
        assert_eq!(find(op::NEWARRAY).operands, Operands::NewArray(11));
        let Operands::Cp(c) = find(op::ANEWARRAY).operands else {
            panic!()
        };
        assert_eq!(cf.constant_pool.class_name(c).unwrap(), "java/lang/Object");
        let Operands::Cp(c) = find(op::CHECKCAST).operands else {
            panic!()
        };
        assert_eq!(cf.constant_pool.class_name(c).unwrap(), "java/lang/String");
        let Operands::Cp(c) = find(op::LDC2_W).operands else {
            panic!()
        };
        assert_eq!(
            cf.constant_pool.get(c),
            Some(&Constant::Long(1_234_567_890_123))
        );
        assert_eq!(cf.constant_pool.get(c + 1), Some(&Constant::Unusable));
        assert_eq!(
            find(op::IINC).operands,
            Operands::Iinc {
                index: 9,
                delta: 50
            }
        );

        let lp = insns(&cf, "loop", "(S)I");
        let back = lp
            .iter()
            .filter_map(|i| match i.operands {
                Operands::Branch(t) if (t as u32) < i.pc => Some(t),
                _ => None,
            })
            .count();
        assert!(
            back >= 1,
            "release {}: no backward branch in loop",
            b.release
        );
    }
}

#[test]
fn invokedynamic_and_method_handles() {
    for b in builds() {
        let (_, cf) = load(b, "jct/fixture/Modern");
        let code = insns(&cf, "describe", "(I)Ljava/lang/String;");
        let indys: Vec<u16> = code
            .iter()
            .filter_map(|i| match i.operands {
                Operands::InvokeDynamic(i) => Some(i),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = indys
            .iter()
            .map(|&i| match cf.constant_pool.get(i) {
                Some(Constant::InvokeDynamic { name, .. }) => name.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names.iter().filter(|n| **n == "apply").count(),
            2,
            "{names:?}"
        );
        // javac 9 and later concatenate strings with invokedynamic.
        assert_eq!(
            names.contains(&"makeConcatWithConstants"),
            b.release >= 11,
            "{names:?}"
        );
        let handles: Vec<(u8, &MemberRef)> = cf
            .constant_pool
            .iter()
            .filter_map(|(_, c)| match c {
                Constant::MethodHandle { kind, index } => {
                    Some((*kind, cf.constant_pool.member_ref(*index).unwrap()))
                }
                _ => None,
            })
            .collect();
        assert!(handles
            .iter()
            .any(|(k, m)| *k == 6 && m.class == "java/lang/Math" && m.name == "abs"));
        assert!(handles
            .iter()
            .any(|(k, m)| *k == 6 && m.name == "metafactory"));
        assert!(cf
            .constant_pool
            .iter()
            .any(|(_, c)| *c == Constant::MethodType("(I)I".into())));
    }
}

/// A generated class with more than 256 locals (wide loads, stores and iinc)
/// and a method over 32 KiB (goto_w).
#[test]
fn wide_and_goto_w() {
    let dir = scratch("wide");
    let src_dir = dir.join("src");
    std::fs::create_dir_all(&src_dir).unwrap();
    let mut s = String::from("public class Big {\n  static int many(int seed) {\n");
    for i in 0..300 {
        s += &format!("    int v{i} = seed + {i};\n");
    }
    s += "    v299 += 1000;\n    v298++;\n    return v0 + v298 + v299;\n  }\n";
    s += "  static int huge(int[] a) {\n    int x = 0;\n    for (int i = 0; i < a.length; i++) {\n";
    for i in 0..3500 {
        s += &format!("      x += a[i] * {};\n", i % 100 + 200);
    }
    s += "    }\n    return x;\n  }\n}\n";
    let src = src_dir.join("Big.java");
    std::fs::write(&src, s).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    javac("javac", 17, &[src], &out);
    let cf = ClassFile::parse(&std::fs::read(out.join("Big.class")).unwrap()).unwrap();
    check_coverage(&cf);

    let many = insns(&cf, "many", "(I)I");
    assert!(many
        .iter()
        .any(|i| i.opcode == op::ISTORE && i.operands == Operands::Local(299)));
    assert!(many
        .iter()
        .any(|i| i.opcode == op::ILOAD && i.operands == Operands::Local(299)));
    for (index, delta) in [(300, 1000), (299, 1)] {
        assert!(
            many.iter()
                .any(|i| i.opcode == op::IINC && i.operands == Operands::Iinc { index, delta }),
            "no wide iinc {index} {delta}"
        );
    }
    let huge = method(&cf, "huge", "([I)I");
    assert!(huge.code.as_ref().unwrap().bytecode.len() > 32768);
    let code = cf.instructions(huge).unwrap();
    assert!(code.iter().any(|i| i.opcode == op::GOTO_W), "no goto_w");
}

#[test]
fn oracle_reference_classes() {
    let dir = common::shared().join("converter-reference/oracle-3.2.0");
    let mut seen = Vec::new();
    for cap in files_with(&dir, "cap") {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&cap).unwrap()).unwrap();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().to_string();
            let wanted = name.ends_with(".class")
                && (name.starts_with("APPLET-INF/classes/")
                    || name.starts_with("com/example/lib/"));
            if !wanted {
                continue;
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            let cf = ClassFile::parse(&bytes)
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", cap.display()));
            let path = name
                .trim_start_matches("APPLET-INF/classes/")
                .trim_end_matches(".class");
            assert_eq!(cf.this_class, path);
            check_supported_version(&cf).unwrap();
            check_coverage(&cf);
            seen.push(cf.this_class.clone());
        }
    }
    for want in [
        "com/example/hello/HelloApplet",
        "com/example/lib/Counter",
        "com/example/lib/Shape",
        "com/example/lib/Util2",
        "com/example/oop/OopApplet$Square",
        "com/example/arith/ArithApplet",
        "com/example/crypto/CryptoApplet",
    ] {
        assert!(seen.iter().any(|s| s == want), "{want} not among {seen:?}");
    }
    // HelloApplet is a javacard.framework.Applet with the usual entry points.
    let hello = ClassFile::parse(&class_from(&dir.join("hello.cap"), "HelloApplet.class")).unwrap();
    assert_eq!(
        hello.super_class.as_deref(),
        Some("javacard/framework/Applet")
    );
    assert!(hello
        .method("install", "([BSB)V")
        .is_some_and(|m| m.is_static()));
    assert!(hello
        .method("process", "(Ljavacard/framework/APDU;)V")
        .is_some());
}

fn class_from(cap: &Path, suffix: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(cap).unwrap()).unwrap();
    let name = zip
        .file_names()
        .find(|n| n.ends_with(suffix))
        .unwrap()
        .to_string();
    let mut bytes = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

/// Parses `bytes` and, if that works, decodes every method; never panics.
fn exercise(bytes: &[u8]) -> bool {
    match ClassFile::parse(bytes) {
        Ok(cf) => {
            for m in &cf.methods {
                let _ = cf.instructions(m);
            }
            let _ = check_supported_version(&cf);
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

#[test]
fn truncation_and_byte_flips_give_errors_not_panics() {
    let b = &builds()[builds().len() - 1];
    for class in [
        "jct/fixture/Flow",
        "jct/fixture/Modern",
        "jct/fixture/Constants",
    ] {
        let (bytes, _) = load(b, class);
        for cut in 0..bytes.len() {
            assert!(!exercise(&bytes[..cut]), "{class} cut at {cut} parsed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let e = ClassFile::parse(&longer).unwrap_err().to_string();
        assert!(e.contains("trailing"), "{e}");
        let mut copy = bytes.clone();
        for at in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                copy[at] ^= mask;
                exercise(&copy);
                copy[at] = bytes[at];
            }
        }
    }
}

#[test]
fn clear_errors() {
    let (bytes, _) = load(&builds()[0], "jct/fixture/Flow");
    let msg = |b: &[u8]| ClassFile::parse(b).unwrap_err().to_string();

    let mut bad = bytes.clone();
    bad[3] = 0xBF;
    let e = msg(&bad);
    assert!(
        e.contains("not a class file") && e.contains("0xcafebabf"),
        "{e}"
    );

    for (major, java) in [(70u16, "Java 26"), (44, "Java pre-1.0")] {
        let mut v = bytes.clone();
        v[6..8].copy_from_slice(&major.to_be_bytes());
        let e = msg(&v);
        assert!(e.contains(&format!("version {major}.0 ({java})")), "{e}");
        assert!(e.contains("versions 45 to 69"), "{e}");
    }

    let e = msg(&bytes[..100]);
    assert!(e.contains("truncated"), "{e}");

    // A bad tag in the first constant pool entry (offset 10).
    let mut t = bytes.clone();
    t[10] = 2;
    let e = msg(&t);
    assert!(
        e.contains("unknown tag 2") && e.contains("#1") && e.contains("offset 0xa"),
        "{e}"
    );

    // Truncating inside a method's code names the class and the method.
    let cf = ClassFile::parse(&bytes).unwrap();
    let code = &method(&cf, "guarded", "([BS)I")
        .code
        .as_ref()
        .unwrap()
        .bytecode;
    let at = bytes
        .windows(code.len())
        .position(|w| w == &code[..])
        .unwrap();
    let e = msg(&bytes[..at + 3]);
    assert!(
        e.contains("class file jct/fixture/Flow, method guarded([BS)I"),
        "{e}"
    );

    // Preview features: minor 0xFFFF on a release-17 class.
    let (mut p, _) = load(&builds()[2], "jct/fixture/Flow");
    p[4..6].copy_from_slice(&[0xFF, 0xFF]);
    let cf = ClassFile::parse(&p).unwrap();
    let e = check_supported_version(&cf).unwrap_err().to_string();
    assert!(
        e.contains("jct/fixture/Flow") && e.contains("preview"),
        "{e}"
    );
    p[4..6].copy_from_slice(&[0x00, 0x01]);
    assert!(msg(&p).contains("minor version must be 0 or 65535"));

    // A Code attribute whose bytecode is damaged decodes with a located error.
    let mut m = method(&cf, "dense", "(I)I").clone();
    m.code.as_mut().unwrap().bytecode[0] = 0xFE;
    let e = cf.instructions(&m).unwrap_err().to_string();
    assert!(
        e.contains("class file jct/fixture/Flow, method dense(I)I") && e.contains("impdep1"),
        "{e}"
    );
}

/// A string literal with a lone surrogate is legal Java, but has no UTF-8
/// form: the reader says so instead of altering the string.
#[test]
fn lone_surrogate_is_reported() {
    let dir = scratch("surrogate");
    let src = dir.join("Lone.java");
    std::fs::write(
        &src,
        "class Lone { static final String S = \"x\\uD800y\"; }\n",
    )
    .unwrap();
    javac("javac", 17, &[src], &dir);
    let bytes = std::fs::read(dir.join("Lone.class")).unwrap();
    let e = ClassFile::parse(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("bad modified UTF-8") && e.contains("unpaired high surrogate U+D800"),
        "{e}"
    );
}

#[test]
fn constant_pool_accessors() {
    let (_, cf) = load(&builds()[0], "jct/fixture/Flow");
    let cp = &cf.constant_pool;
    assert!(cp.get(0).is_none());
    assert!(cp.get(cp.len() as u16).is_none());
    assert!(cp.get(cp.len() as u16 - 1).is_some());
    assert!(!cp.is_empty());
    let (i, _) = cp
        .iter()
        .find(|(_, c)| **c == Constant::Class("jct/fixture/Flow".into()))
        .unwrap();
    assert_eq!(cp.class_name(i).unwrap(), "jct/fixture/Flow");
    let e = cp.utf8(i).unwrap_err().to_string();
    assert!(e.contains(&format!("#{i} is a Class, not a Utf8")), "{e}");
    assert!(cp.member_ref(0).is_err());
}

#[test]
fn insn_decode_is_total() {
    // Every opcode followed by assorted operand bytes: an error or a tiling.
    for opcode in 0..=255u8 {
        for tail in [
            &[][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0xFF; 16],
            &[
                0, 1, 0, 2, 0, 3, 0, 4, 0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF,
            ],
        ] {
            let mut code = vec![opcode];
            code.extend_from_slice(tail);
            if let Ok(insns) = insn::decode(&code) {
                let len: u32 = insns.iter().map(Insn::encoded_len).sum();
                assert_eq!(len as usize, code.len(), "{code:02x?}");
            }
        }
        assert!(!insn::mnemonic(opcode).is_empty());
    }
}
