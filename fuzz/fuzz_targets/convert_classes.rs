//! The converter (cap_tools::convert) on class files and on class JARs,
//! as `jct build` runs it (`load_classes`, then `convert`): any input gives
//! a CAP or an error, never a panic; a CAP it makes is written as a JAR
//! that reads back to the same components, and its export file encodes and
//! decodes to the same file.
//!
//! Input: a flags byte, then
//! - bit 0 clear: class files, each a 2-byte length then its bytes; the
//!   package is the first class's;
//! - bit 0 set: a package name (internal or dotted), a NUL byte, then a
//!   JAR (or CAP) holding the package's class files.
//!
//! Bit 1: int support; bit 2: debug component; bits 3-4: the target API
//! version; bit 5: the package's first class is an applet.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use cap_tools::aid::Aid;
use cap_tools::api::ApiVersion;
use cap_tools::classfile::ClassFile;
use cap_tools::convert::{self, Options};
use cap_tools::Cap;
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(jct_fuzz::scratch_dir)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let classes = if flags & 1 == 0 {
        let classes: Vec<ClassFile> = jct_fuzz::frames(rest)
            .into_iter()
            .filter_map(|bytes| ClassFile::parse(bytes).ok())
            .collect();
        let Some(first) = classes.first() else {
            return;
        };
        let package = first.this_class.rsplit_once('/').map_or("", |(p, _)| p);
        (package.replace('/', "."), classes)
    } else {
        let Some(nul) = rest.iter().position(|b| *b == 0) else {
            return;
        };
        let package = String::from_utf8_lossy(&rest[..nul]).into_owned();
        let jar = dir().join("classes.jar");
        std::fs::write(&jar, &rest[nul + 1..]).expect("writing the input JAR");
        match convert::load_classes(&jar, &package) {
            Ok(classes) => (package.replace('/', "."), classes),
            Err(_) => return,
        }
    };
    let (package, classes) = classes;
    let aid = Aid::from_hex("F0000000010F").expect("package AID");
    let mut opts = Options::new(&package, aid, (1, 0));
    opts.int_support = flags & 2 != 0;
    opts.debug = flags & 4 != 0;
    opts.oracle_ushr = flags & 0x40 != 0;
    opts.target = ApiVersion::ALL[usize::from(flags >> 3 & 3) % ApiVersion::ALL.len()];
    if flags & 0x20 != 0 {
        let applet = Aid::from_hex("F0000000010F01").expect("applet AID");
        opts.applets.push((applet, classes[0].this_class.clone()));
    }
    let Ok(out) = convert::convert(&classes, &opts) else {
        return;
    };
    let jar = out
        .cap
        .to_jar()
        .expect("a converted CAP is written as a JAR");
    let back = Cap::from_jar(&jar).expect("the written JAR reads back");
    assert_eq!(back.components, out.cap.components, "CAP JAR round trip");
    if let Some(exp) = &out.export {
        let bytes = exp.encode().expect("the export file encodes");
        let decoded = cap_tools::exp::ExportFile::decode(&bytes).expect("and decodes");
        assert_eq!(&decoded, exp, "export file round trip");
    }
});
