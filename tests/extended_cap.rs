//! A package whose code is over 64 KiB, end to end: Java source generated
//! here, compiled by javac, converted by `jct build` (CAP 2.3, which turns
//! into the extended format by itself, saying so), checked by `jct cap
//! verify/info/dump` and the byte-exact round trip, installed into an
//! emulated Java Card 3.2 card with `jct install`, and run: every static
//! method (spread over all the Method component blocks, most of them past
//! the first 64 KiB), exception handlers in several blocks, virtual and
//! super calls to methods in the last block answer what the JVM computes
//! from the same classes. A Java Card 3.0.5 card refuses the file, and
//! says why.

mod support;

#[path = "../emulator/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use cap_tools::cap::class::ClassEntry;
use cap_tools::cap::constant_pool::{CpEntry, StaticRef};
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use emulator::{Card, CardProfile};
use scp::SecurityLevel;
use support::java::{api_jar, javac};
use support::Emu;

/// Static methods of the generated Calc class.
const METHODS: usize = 200;
/// Statements in each (about 7 bytes of Java Card code each).
const STATEMENTS: usize = 90;
const PACKAGE_AID: &str = "F0000000E1";
const APPLET_AID: &str = "F0000000E101";

/// A deterministic generator for the constants of the generated code.
struct Lcg(u32);

impl Lcg {
    fn next(&mut self, n: u32) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7FFF_FFFF;
        (self.0 >> 8) % n
    }
}

/// `Calc`: `s0` to `s{METHODS-1}`, short arithmetic with varied constants;
/// every tenth (from s3 on) divides by `x & 3` inside a try block whose
/// handler catches the ArithmeticException of a zero divisor; every
/// seventh calls the one seven before it (a call across blocks near a
/// block's start). `Shape` and `Square` (after Calc in the Class
/// component, so their methods are in the last block): a virtual method,
/// overridden, and a super call.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let pkg = dir.join("com/jct/big");
    std::fs::create_dir_all(&pkg).unwrap();
    let mut rng = Lcg(2024);
    let mut calc = String::from("package com.jct.big;\n\npublic class Calc {\n");
    for k in 0..METHODS {
        let _ = writeln!(calc, "    public static short s{k}(short x) {{");
        let _ = writeln!(calc, "        short a = (short) (x + {k});");
        for _ in 0..STATEMENTS {
            let (c1, c2) = (rng.next(200), rng.next(7) + 1);
            let _ = match rng.next(3) {
                0 => writeln!(calc, "        a = (short) ((a ^ {c1}) + {c2});"),
                1 => writeln!(calc, "        a = (short) (a * {c2} - {c1});"),
                _ => writeln!(calc, "        a = (short) ((a >> {}) + {c1});", c2 % 4),
            };
        }
        if k % 10 == 3 {
            let _ = writeln!(
                calc,
                "        try {{\n            a = (short) (a / (short) (x & 3));\n        }} \
                 catch (ArithmeticException e) {{\n            a = (short) (a + {k});\n        }}"
            );
        }
        if k >= 7 && k % 7 == 0 {
            let _ = writeln!(
                calc,
                "        a = (short) (a + s{}((short) (x + 1)));",
                k - 7
            );
        }
        calc.push_str("        return a;\n    }\n");
    }
    calc.push_str("}\n");
    let shape = "package com.jct.big;\n\npublic class Shape {\n    \
                 public short f(short x) {\n        return (short) (x * 3 + 1);\n    }\n}\n";
    let square = "package com.jct.big;\n\npublic class Square extends Shape {\n    \
                  public short f(short x) {\n        \
                  return (short) (super.f(x) * x - Calc.s1(x));\n    }\n}\n";
    let mut cases = String::new();
    for k in 0..METHODS {
        let _ = writeln!(cases, "            case {k}: r = Calc.s{k}(x); break;");
    }
    let applet = format!(
        "package com.jct.big;\n\nimport javacard.framework.*;\n\n\
         public class BigApplet extends Applet {{\n\
         \x20   private final Shape shape = new Shape();\n\
         \x20   private final Shape square = new Square();\n\
         \x20   public static void install(byte[] b, short o, byte l) {{\n\
         \x20       new BigApplet().register();\n    }}\n\
         \x20   public void process(APDU apdu) {{\n\
         \x20       if (selectingApplet()) return;\n\
         \x20       byte[] buf = apdu.getBuffer();\n\
         \x20       apdu.setIncomingAndReceive();\n\
         \x20       short x = Util.getShort(buf, ISO7816.OFFSET_CDATA);\n\
         \x20       short k = Util.getShort(buf, ISO7816.OFFSET_P1);\n\
         \x20       short r;\n\
         \x20       if (buf[ISO7816.OFFSET_INS] == 0x20) {{\n\
         \x20           r = (k == 0 ? shape : square).f(x);\n\
         \x20       }} else {{\n\
         \x20           switch (k) {{\n{cases}\
         \x20           default: ISOException.throwIt(ISO7816.SW_WRONG_P1P2); return;\n\
         \x20           }}\n\
         \x20       }}\n\
         \x20       Util.setShort(buf, (short) 0, r);\n\
         \x20       apdu.setOutgoingAndSend((short) 0, (short) 2);\n    }}\n}}\n"
    );
    let mut files = Vec::new();
    for (name, text) in [
        ("Calc", calc.as_str()),
        ("Shape", shape),
        ("Square", square),
        ("BigApplet", applet.as_str()),
    ] {
        let f = pkg.join(format!("{name}.java"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    files
}

/// The inputs sent to each static method: one whose `x & 3` is 0 (the
/// divisions by zero of the methods with a handler), one that is not.
fn inputs(k: usize) -> [i16; 2] {
    [(4 * k as i16) - 400, (37 * k as i16) - 1001]
}

/// What the JVM computes: a main class run against the same Calc, Shape
/// and Square classes, one line of hex per APDU the test sends.
fn java_results(work: &Path, classes: &Path) -> Vec<String> {
    let dir = work.join("expect");
    std::fs::create_dir_all(&dir).unwrap();
    let mut main = String::from(
        "import com.jct.big.*;\n\npublic class Expect {\n    \
         static void p(short v) { System.out.printf(\"%04X%n\", v & 0xFFFF); }\n    \
         public static void main(String[] a) {\n",
    );
    for k in 0..METHODS {
        for x in inputs(k) {
            let _ = writeln!(main, "        p(Calc.s{k}((short) {x}));");
        }
    }
    for x in [5i16, -7, 300] {
        let _ = writeln!(main, "        p(new Shape().f((short) {x}));");
        let _ = writeln!(main, "        p(new Square().f((short) {x}));");
    }
    main.push_str("    }\n}\n");
    let src = dir.join("Expect.java");
    std::fs::write(&src, main).unwrap();
    let ok = StdCommand::new("javac")
        .args(["-nowarn", "-cp"])
        .arg(classes)
        .arg("-d")
        .arg(&dir)
        .arg(&src)
        .status()
        .unwrap()
        .success();
    assert!(ok, "javac of Expect.java failed");
    let cp = std::env::join_paths([classes, dir.as_path()]).unwrap();
    let out = StdCommand::new("java")
        .arg("-cp")
        .arg(cp)
        .arg("Expect")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The APDUs matching [`java_results`], in the same order.
fn apdus() -> Vec<String> {
    let mut out = Vec::new();
    let word = |v: i16| hex::encode_upper(v.to_be_bytes());
    for k in 0..METHODS {
        for x in inputs(k) {
            out.push(format!("8010{:04X}02{}", k, word(x)));
        }
    }
    for x in [5i16, -7, 300] {
        out.push(format!("8020000002{}", word(x)));
        out.push(format!("8020000102{}", word(x)));
    }
    out
}

/// Compiles the generated sources and builds them with `jct build
/// --target 3.2.0`; returns the classes, the CAP and what the build said.
fn build(work: &Path) -> (PathBuf, PathBuf, String) {
    let api = api_jar(work, Some("3.2.0"));
    let classes = work.join("classes");
    javac(&api, None, &classes, &sources(&work.join("src")));
    let cap = work.join("big.cap");
    let out = Command::cargo_bin("jct")
        .unwrap()
        .arg("build")
        .arg(&classes)
        .args([
            "--package",
            "com.jct.big",
            "--package-aid",
            PACKAGE_AID,
            "--version",
            "1.0",
            "--applet",
            &format!("{APPLET_AID}=BigApplet"),
            "--target",
            "3.2.0",
            "-o",
        ])
        .arg(&cap)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    (classes, cap, said)
}

/// The blocks the CAP's code reaches: those of the internal static
/// methods the constant pool names, of the virtual methods the Class
/// component's tables name, and those holding exception handlers.
fn reached_blocks(cap: &Cap) -> (usize, BTreeSet<u8>, BTreeSet<u8>, BTreeSet<u8>) {
    let Some(Component::Method(m)) = cap.component(Tag::Method) else {
        panic!("no Method component")
    };
    let Some(Component::ConstantPool(cp)) = cap.component(Tag::ConstantPool) else {
        panic!("no ConstantPool component")
    };
    let statics = cp
        .entries
        .iter()
        .filter_map(|e| match e {
            CpEntry::StaticMethodRef(StaticRef::Internal { block, .. }) => Some(*block),
            _ => None,
        })
        .collect();
    let Some(Component::Class(c)) = cap.component(Tag::Class) else {
        panic!("no Class component")
    };
    let virtuals = c
        .entries
        .iter()
        .filter_map(|e| match e {
            ClassEntry::Class(c) => Some(c),
            ClassEntry::Interface(_) => None,
        })
        .flat_map(|c| &c.public_virtual_method_table)
        .filter(|l| l.is_defined())
        .filter_map(|l| l.block_index)
        .collect();
    let handlers = m
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.handlers.is_empty())
        .map(|(i, _)| i as u8)
        .collect();
    (m.blocks.len(), statics, virtuals, handlers)
}

fn jct(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("jct")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn code_over_64_kib_builds_extended_installs_and_runs_in_every_block() {
    if !support::require::javac() || !support::require::java() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (classes, cap_path, said) = build(w);
    assert!(said.contains("CAP 2.3 extended"), "{said}");
    assert!(
        said.contains("over the 65535 bytes (64 KiB) of a compact CAP file")
            && said.contains("wrote the extended CAP 2.3 format instead"),
        "{said}"
    );

    // What the file holds: blocks, and code that reaches every one.
    let cap = Cap::from_path(&cap_path).unwrap();
    assert!(cap.format.extended);
    let method_size = match cap.component(Tag::Method) {
        Some(c) => c.encode_body(&cap.context()).unwrap().len(),
        None => panic!("no Method component"),
    };
    assert!(method_size > 2 * 65536, "{method_size} bytes");
    let (blocks, statics, virtuals, handlers) = reached_blocks(&cap);
    assert!(blocks >= 3, "{blocks} blocks");
    assert_eq!(statics, (0..blocks as u8).collect(), "static calls");
    assert_eq!(
        virtuals.iter().max().copied(),
        Some(blocks as u8 - 1),
        "Shape.f and Square.f are in the last block: {virtuals:?}"
    );
    assert!(handlers.len() >= 2, "handlers in blocks {handlers:?}");
    let entries: Vec<String> = match &cap.container {
        cap_tools::cap::Container::Jar { entries } => entries
            .iter()
            .filter_map(|e| match e {
                cap_tools::cap::JarEntry::Component { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    for name in [
        "Method.capx",
        "RefLocation.capx",
        "Descriptor.capx",
        "Header.cap",
    ] {
        assert!(
            entries
                .iter()
                .any(|p| p == &format!("com/jct/big/javacard/{name}")),
            "{name} in {entries:?}"
        );
    }

    // jct cap verify, info and dump; the round trips JAR -> JAR and
    // JAR -> load file -> JAR keep every byte.
    let cap_arg = cap_path.to_str().unwrap();
    let v = jct(&["cap", "verify", cap_arg]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    let info = jct(&["cap", "info", cap_arg]);
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(info.contains("2.3 (extended)"), "{info}");
    assert!(info.contains(&format!("CAP AID:         {PACKAGE_AID}  version 1.0")));
    assert!(
        info.contains(&format!("Method blocks:   {blocks}")),
        "{info}"
    );
    assert!(info.contains("BigApplet"), "{info}");
    let dump = jct(&["cap", "dump", cap_arg]);
    assert!(dump.status.success());
    let dump = String::from_utf8(dump.stdout).unwrap();
    assert!(dump.contains(&format!("method component blocks {blocks}")));
    assert!(
        dump.contains(&format!("  block {}", blocks - 1)),
        "last block"
    );
    let original = std::fs::read(&cap_path).unwrap();
    let again = w.join("again.cap");
    let ijc = w.join("big.ijc");
    let back = w.join("back.cap");
    for (from, to, kind) in [
        (&cap_path, &again, "jar"),
        (&cap_path, &ijc, "ijc"),
        (&ijc, &back, "jar"),
    ] {
        let c = jct(&[
            "cap",
            "convert",
            from.to_str().unwrap(),
            "--to",
            kind,
            "-o",
            to.to_str().unwrap(),
        ]);
        assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    }
    assert_eq!(std::fs::read(&again).unwrap(), original, "JAR -> JAR");
    let components = |p: &Path| Cap::from_path(p).unwrap().encode_components().unwrap();
    assert_eq!(
        components(&back),
        components(&cap_path),
        "via the load file"
    );
    let v = jct(&["cap", "verify", ijc.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));

    // Installed into a Java Card 3.2 card (LOAD in extended-length
    // blocks), it answers what the JVM computes.
    let expected = java_results(w, &classes);
    let apdus = apdus();
    assert_eq!(expected.len(), apdus.len());
    let emu = Emu::start(false, "3.2.0");
    let out = emu.jct(&["install", cap_arg]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("extended-length APDUs"), "{stderr}");
    assert!(
        stderr.contains(&format!("installed {APPLET_AID}")),
        "{stderr}"
    );
    let mut args = vec!["apdu", "--select", APPLET_AID];
    args.extend(apdus.iter().map(String::as_str));
    let out = emu.jct(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.first().map(String::as_str), Some("9000"), "SELECT");
    assert_eq!(lines.len(), apdus.len() + 1);
    for ((apdu, got), want) in apdus.iter().zip(&lines[1..]).zip(&expected) {
        assert_eq!(got, &format!("{want}9000"), "APDU {apdu}");
    }
}

#[test]
fn a_java_card_3_0_5_card_refuses_the_extended_file_and_says_why() {
    if !support::require::javac() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (_, cap_path, _) = build(work.path());
    // The check before LOAD stops it: the card's framework version says
    // Java Card 3.0.5.
    let emu = Emu::start(false, "3.0.5");
    let out = emu
        .jct(&["install", cap_path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("format 2.3 extended, which needs Java Card 3.1 or later")
            && stderr.contains("nothing was loaded"),
        "{stderr}"
    );
    // Over the wire (--force): LOAD answers 6A80, and jct names the likely cause.
    let out = emu
        .jct(&["install", "--force", cap_path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("LOAD failed with SW 6A80"), "{stderr}");
    assert!(
        stderr.contains("extended CAP 2.3 format") && stderr.contains("Java Card 3.1 or later"),
        "{stderr}"
    );
    assert!(!emu.list().contains(PACKAGE_AID), "nothing was stored");
    // The card's own reason, as its log shows it.
    let mut card = Card::new(
        CardProfile {
            api: "3.0.5".into(),
            ..CardProfile::default()
        },
        common::aes_keys(1),
    )
    .unwrap();
    card.power_on();
    let mut sc = common::open(&mut card, SecurityLevel::C_MAC);
    let sw = common::load_cap(&mut card, &mut sc, &cap_path);
    assert_eq!(sw, 0x6A80);
    let note = card.last_note().unwrap_or_default().to_string();
    assert!(
        note.contains("CAP format 2.3 extended needs a newer Java Card (Java Card 3.1 or later")
            && note.contains("3.0.5"),
        "{note}"
    );
}
