//! Converts the converter-reference set (hello, arith, lib, oop, crypto) from
//! the javac output kept in Oracle's 3.2.0 CAPs to CAP files, target 3.0.5,
//! as `jct build` does (class-file parsing excluded: the classes are read
//! once; conversion includes translation, tokens, every component, the
//! export file and the built-in verification).
//!
//! Run: cargo bench -p cap-tools --bench convert
//! Oracle's converter for comparison (opt-in): scripts/bench-converter.sh

use std::path::PathBuf;

use cap_tools::api::ApiVersion;
use cap_tools::classfile::ClassFile;
use cap_tools::convert::{self, Options};
use cap_tools::Aid;
use criterion::{criterion_group, criterion_main, Criterion};

/// An applet: AID and class name.
type Applet = (&'static str, &'static str);

/// name, package AID, applet.
const PACKAGES: [(&str, &str, Option<Applet>); 5] = [
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

fn reference() -> PathBuf {
    std::env::var("JCT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("converter-reference/oracle-3.2.0")
}

fn inputs() -> Vec<(Vec<ClassFile>, Options)> {
    PACKAGES
        .iter()
        .map(|(name, pkg, applet)| {
            let package = format!("com.example.{name}");
            let classes =
                convert::load_classes(&reference().join(format!("{name}.cap")), &package).unwrap();
            let mut o = Options::new(&package, Aid::from_hex(pkg).unwrap(), (1, 0));
            if let Some((aid, class)) = applet {
                o.applets
                    .push((Aid::from_hex(aid).unwrap(), class.to_string()));
            }
            o.target = ApiVersion::V3_0_5;
            if *name == "oop" {
                o.export_path.push(reference().join("lib.exp"));
            }
            (classes, o)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    c.bench_function("convert the reference set (5 packages)", |b| {
        b.iter(|| {
            for (classes, opts) in &inputs {
                std::hint::black_box(convert::convert(classes, opts).unwrap());
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
