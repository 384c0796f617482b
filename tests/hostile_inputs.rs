//! Hostile inputs: class files and JARs built to exhaust memory or time.
//! Each is made here, in a temporary directory, and given to the real `jct`
//! binary running under a 512 MiB address-space limit (`prlimit --as`, from
//! util-linux) with a 60 s deadline; the test asserts the clear error jct
//! gives. The deadline is a bound (the child is killed past it), not a
//! measurement: nothing here asserts on durations.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cap_tools::api::classwriter::{ClassFile, Code, Method, Op};

/// The address space jct may use: 512 MiB.
const ADDRESS_SPACE: &str = "--as=536870912";
/// How long jct may run before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// What a bounded run of jct ended with.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs jct with `args` under the memory limit and the deadline. Output goes
/// to files, so a chatty child never blocks on a full pipe.
fn jct_bounded(dir: &Path, args: &[&std::ffi::OsStr]) -> Run {
    let out_path = dir.join("jct.stdout");
    let err_path = dir.join("jct.stderr");
    let mut child = Command::new("prlimit")
        .arg(ADDRESS_SPACE)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_jct"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("prlimit (util-linux) must be installed");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("jct {args:?} still ran after {DEADLINE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| {
        let mut s = String::new();
        std::fs::File::open(p)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    Run {
        success: status.success(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// Asserts that jct failed with an error containing every one of `parts`
/// (and not by a crash: no panic, no allocation failure).
fn assert_refused(run: &Run, parts: &[&str]) {
    assert!(
        !run.success,
        "jct succeeded:\n{}\n{}",
        run.stdout, run.stderr
    );
    for p in parts {
        assert!(
            run.stderr.contains(p),
            "the error does not mention {p:?}:\n{}",
            run.stderr
        );
    }
    for crash in ["panicked", "memory allocation", "capacity overflow"] {
        assert!(!run.stderr.contains(crash), "jct crashed:\n{}", run.stderr);
    }
}

// ---------------------------------------------------------------------------
// Class files

/// `com/x/A` with one static method `m()V` of the given limits and code.
fn class_with(max_stack: u16, max_locals: u16, bytecode: Vec<u8>) -> Vec<u8> {
    class_with_methods(vec![(max_stack, max_locals, bytecode)])
}

/// `com/x/A` with static methods `m0()V`, `m1()V`, ... (`m()V` when there
/// is one) of the given (max_stack, max_locals, code).
fn class_with_methods(methods: Vec<(u16, u16, Vec<u8>)>) -> Vec<u8> {
    let one = methods.len() == 1;
    ClassFile {
        access: 0x0021,
        this_class: "com/x/A".into(),
        super_class: Some("java/lang/Object".into()),
        methods: methods
            .into_iter()
            .enumerate()
            .map(|(k, (max_stack, max_locals, bytecode))| Method {
                access: 0x0009,
                name: if one { "m".into() } else { format!("m{k}") },
                descriptor: "()V".into(),
                code: Some(Code {
                    max_stack,
                    max_locals,
                    bytecode: vec![Op::Bytes(bytecode)],
                }),
                exceptions: Vec::new(),
            })
            .collect(),
        ..ClassFile::default()
    }
    .to_bytes()
    .unwrap()
}

/// `n` times `sipush 1000; pop`, then `return`: 4n + 1 bytes of JVM code,
/// as many of Java Card code (`sspush 1000; pop`).
fn pushes(n: usize) -> Vec<u8> {
    let mut code = Vec::with_capacity(4 * n + 1);
    for _ in 0..n {
        code.extend_from_slice(&[0x11, 0x03, 0xe8, 0x57]);
    }
    code.push(0xb1);
    code
}

/// `n` times `iconst_0; istore_1` (every instruction's frame has a value in
/// a local), then `return`: 18 kB of code for n = 9000, 18000 instructions
/// — with max_locals 65535, a per-instruction typing would need tens of
/// gigabytes (a 27 kB class of this kind once took 23.8 GB).
fn busy_code(n: usize) -> Vec<u8> {
    let mut code = Vec::with_capacity(2 * n + 1);
    for _ in 0..n {
        code.extend_from_slice(&[0x03, 0x3c]); // iconst_0, istore_1
    }
    code.push(0xb1); // return
    code
}

/// Writes `class` as com/x/A.class under a fresh `classes` directory and
/// runs `jct build` on it.
fn build(dir: &Path, class: &[u8]) -> Run {
    let classes = dir.join("classes");
    std::fs::create_dir_all(classes.join("com/x")).unwrap();
    std::fs::write(classes.join("com/x/A.class"), class).unwrap();
    build_from(dir, &classes)
}

/// `jct build CLASSES --package com.x ...` into `dir/out.cap`.
fn build_from(dir: &Path, classes: &Path) -> Run {
    let out = dir.join("out.cap");
    let args: Vec<&std::ffi::OsStr> = vec![
        "build".as_ref(),
        classes.as_os_str(),
        "--package".as_ref(),
        "com.x".as_ref(),
        "--package-aid".as_ref(),
        "F000000001".as_ref(),
        "--version".as_ref(),
        "1.0".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    jct_bounded(dir, &args)
}

#[test]
fn class_with_65535_locals_is_refused_before_typing() {
    let dir = tempfile::tempdir().unwrap();
    let class = class_with(1, 65535, busy_code(9000));
    assert!(class.len() > 18_000);
    let run = build(dir.path(), &class);
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "max_locals 65535 exceeds the Java Card limit of 255",
        ],
    );
}

#[test]
fn class_with_65535_stack_words_is_refused_before_typing() {
    let dir = tempfile::tempdir().unwrap();
    let run = build(dir.path(), &class_with(65535, 2, busy_code(9000)));
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "max_stack 65535 exceeds the Java Card limit of 255",
        ],
    );
}

#[test]
fn operand_stack_deeper_than_255_words_is_refused() {
    // The declared max_stack lies: 300 constants are pushed.
    let dir = tempfile::tempdir().unwrap();
    let mut code = vec![0x03; 300]; // iconst_0 ...
    code.extend([0x57; 300]); // pop ...
    code.push(0xb1);
    let run = build(dir.path(), &class_with(10, 1, code));
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "the operand stack needs 256 words; Java Card allows 255",
        ],
    );
}

#[test]
fn method_longer_than_65535_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = build(dir.path(), &class_with(1, 2, busy_code(35_000)));
    assert_refused(&run, &["com/x/A", "method m()V", "70001", "65535"]);
}

#[test]
fn longest_jvm_method_is_typed_and_refused() {
    // 65533 bytes, about the longest code a JVM allows; its Java Card code
    // is as long, more than a method may have.
    let dir = tempfile::tempdir().unwrap();
    let run = build(dir.path(), &class_with(1, 0, pushes(16383)));
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "65533 bytes of Java Card code, more than the 32767 a method may have",
        ],
    );
}

#[test]
fn methods_overfilling_the_method_component_are_refused() {
    // Three methods of 24001 bytes each: each fits, together they do not
    // fit the CAP 2.1 of the default target.
    let dir = tempfile::tempdir().unwrap();
    let methods = (0..3).map(|_| (1, 0, pushes(6000))).collect();
    let run = build(dir.path(), &class_with_methods(methods));
    assert_refused(
        &run,
        &[
            "com.x.A.m2()V",
            "over the 65535 bytes (64 KiB) of a compact CAP file",
            "CAP format 2.1 cannot hold the package",
            "--cap-format 2.3",
        ],
    );
    // CAP 2.3 holds them in the extended format, within the same bounds.
    let classes = dir.path().join("classes");
    let out = dir.path().join("out.cap");
    let args: Vec<&std::ffi::OsStr> = vec![
        "build".as_ref(),
        classes.as_os_str(),
        "--package".as_ref(),
        "com.x".as_ref(),
        "--package-aid".as_ref(),
        "F000000001".as_ref(),
        "--version".as_ref(),
        "1.0".as_ref(),
        "--cap-format".as_ref(),
        "2.3".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    let run = jct_bounded(dir.path(), &args);
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("CAP 2.3 extended"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("wrote the extended CAP 2.3 format instead (2 Method component blocks)"),
        "{}",
        run.stderr
    );
}

#[test]
fn many_blocks_with_255_live_locals_are_typed_within_bounds() {
    // Every block entry holds 255 set locals: 255 × (iconst_0; istore n),
    // then ~10700 blocks of `iinc 1 1; goto next`, each changing a local:
    // the frames kept per block must stay within the memory limit. The
    // method is refused only after typing, for its size.
    let dir = tempfile::tempdir().unwrap();
    let mut code = Vec::new();
    for n in 0..255u8 {
        code.extend_from_slice(&[0x03, 0x36, n]); // iconst_0, istore n
    }
    while code.len() < 65_000 {
        code.extend_from_slice(&[0x84, 0x01, 0x01]); // iinc 1 1
        code.extend_from_slice(&[0xa7, 0x00, 0x03]); // goto +3
    }
    code.push(0xb1);
    let run = build(dir.path(), &class_with(1, 255, code));
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "bytes of Java Card code, more than the 32767 a method may have",
        ],
    );
}

// ---------------------------------------------------------------------------
// JARs, written by hand so that sizes can lie and entries can be huge
// without a compressor.

/// One zip entry: its name, compression method (0 stored, 8 deflated), the
/// stored bytes and what the headers declare.
struct Entry {
    name: String,
    method: u16,
    data: Vec<u8>,
    crc: u32,
    size: u32,
}

impl Entry {
    fn stored(name: &str, data: &[u8]) -> Entry {
        Entry {
            name: name.into(),
            method: 0,
            data: data.to_vec(),
            crc: crc32(0, data),
            size: u32::try_from(data.len()).unwrap(),
        }
    }

    /// `prefix` then `zeros` zero bytes, deflated; `crc` of that content.
    fn zeros(name: &str, prefix: &[u8], zeros: u64, crc: u32) -> Entry {
        Entry {
            name: name.into(),
            method: 8,
            data: deflate_zeros(prefix, zeros),
            crc,
            size: u32::try_from(prefix.len() as u64 + zeros).unwrap(),
        }
    }
}

/// A zip archive of `entries` (no zip64: at most 65535 entries of < 4 GiB).
fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let u2 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u4 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for e in entries {
        let offset = u32::try_from(out.len()).unwrap();
        let name = e.name.as_bytes();
        let csize = u32::try_from(e.data.len()).unwrap();
        let nlen = u16::try_from(name.len()).unwrap();
        // Local file header.
        u4(&mut out, 0x0403_4b50);
        for x in [20, 0, e.method, 0, 0x21] {
            u2(&mut out, x); // version, flags, method, time, date (1980-01-01)
        }
        for x in [e.crc, csize, e.size] {
            u4(&mut out, x);
        }
        u2(&mut out, nlen);
        u2(&mut out, 0);
        out.extend_from_slice(name);
        out.extend_from_slice(&e.data);
        // Central directory header.
        u4(&mut central, 0x0201_4b50);
        for x in [20, 20, 0, e.method, 0, 0x21] {
            u2(&mut central, x);
        }
        for x in [e.crc, csize, e.size] {
            u4(&mut central, x);
        }
        for x in [nlen, 0, 0, 0, 0] {
            u2(&mut central, x); // name, extra, comment, disk, internal attributes
        }
        u4(&mut central, 0); // external attributes
        u4(&mut central, offset);
        central.extend_from_slice(name);
    }
    let cd_offset = u32::try_from(out.len()).unwrap();
    let count = u16::try_from(entries.len()).unwrap();
    let cd_size = u32::try_from(central.len()).unwrap();
    out.extend_from_slice(&central);
    u4(&mut out, 0x0605_4b50);
    for x in [0, 0, count, count] {
        u2(&mut out, x);
    }
    u4(&mut out, cd_size);
    u4(&mut out, cd_offset);
    u2(&mut out, 0);
    out
}

/// CRC-32 (the zip one) of `data`, continuing from `crc`.
fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// CRC-32 of `prefix` followed by `n` zero bytes, a MiB at a time.
fn crc32_zeros(prefix: &[u8], n: u64) -> u32 {
    let block = vec![0u8; 1 << 20];
    let mut crc = crc32(0, prefix);
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len() as u64);
        crc = crc32(crc, &block[..k as usize]);
        left -= k;
    }
    crc
}

/// LSB-first bit writer for a deflate stream.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn bits(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.bits((code >> i) & 1, 1);
        }
    }

    /// A literal byte with the fixed Huffman code (RFC 1951, 3.2.6).
    fn literal(&mut self, b: u8) {
        if b < 144 {
            self.code(0x30 + u32::from(b), 8);
        } else {
            self.code(0x190 + u32::from(b) - 144, 9);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A deflate stream of `prefix` then `zeros` zero bytes: one fixed-Huffman
/// block of a literal 0 and copies of 258 bytes at distance 1 — about 1.6
/// KiB per MiB, so a gigabyte costs a few megabytes to write.
fn deflate_zeros(prefix: &[u8], zeros: u64) -> Vec<u8> {
    let mut w = Bits::default();
    w.bits(1, 1); // final block
    w.bits(1, 2); // fixed Huffman codes
    for &b in prefix {
        w.literal(b);
    }
    let mut left = zeros;
    if left > 0 {
        w.literal(0);
        left -= 1;
    }
    while left >= 258 {
        w.code(0xC5, 8); // length 258 (symbol 285)
        w.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        w.literal(0);
    }
    w.code(0, 7); // end of block (symbol 256)
    w.finish()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn cap_info(dir: &Path, cap: &Path) -> Run {
    jct_bounded(dir, &["cap".as_ref(), "info".as_ref(), cap.as_os_str()])
}

/// The component entries of the bundled hello.cap, as (name, bytes).
fn hello_components() -> Vec<(String, Vec<u8>)> {
    let cap =
        cap_tools::Cap::from_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/hello.cap"))
            .unwrap();
    cap.encode_components()
        .unwrap()
        .into_iter()
        .map(|(tag, bytes)| {
            let name = cap_tools::Tag::from_u8(tag).unwrap().name().to_string();
            (format!("com/example/hello/javacard/{name}.cap"), bytes)
        })
        .collect()
}

#[test]
fn cap_jar_with_too_many_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Entry> = hello_components()
        .iter()
        .map(|(n, b)| Entry::stored(n, b))
        .collect();
    for i in 0..5000 {
        entries.push(Entry::stored(&format!("APPLET-INF/x{i}"), b""));
    }
    let count = format!("{} entries", entries.len());
    let cap = write(dir.path(), "many.cap", &zip(&entries));
    let run = cap_info(dir.path(), &cap);
    assert_refused(&run, &["many.cap", &count, "limit of 4096"]);
}

#[test]
fn cap_jar_component_that_lies_about_its_size_is_refused() {
    // The Method component declares 100 bytes and inflates to 256 MiB.
    let dir = tempfile::tempdir().unwrap();
    let mut entries: Vec<Entry> = hello_components()
        .iter()
        .filter(|(n, _)| !n.ends_with("/Method.cap"))
        .map(|(n, b)| Entry::stored(n, b))
        .collect();
    let mut bomb = Entry::zeros("com/example/hello/javacard/Method.cap", &[7], 256 << 20, 0);
    bomb.size = 100;
    entries.push(bomb);
    let zip = zip(&entries);
    assert!(zip.len() < 2 << 20);
    let cap = write(dir.path(), "liar.cap", &zip);
    let run = cap_info(dir.path(), &cap);
    assert_refused(
        &run,
        &[
            "liar.cap",
            "Method.cap",
            "declares 100 bytes but inflates beyond the 33554432-byte limit",
        ],
    );
}

#[test]
fn cap_jar_components_beyond_the_total_budget_are_refused() {
    // Standard component names, 24 MiB each (under the per-entry limit):
    // the third would take the JAR past its 64 MiB budget.
    let dir = tempfile::tempdir().unwrap();
    let size = 24u64 << 20;
    let names = ["Header", "Directory", "Import", "Applet", "Class", "Method"];
    let entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let tag = [k as u8 + 1];
            let crc = if k < 2 { crc32_zeros(&tag, size) } else { 0 };
            Entry::zeros(&format!("com/x/javacard/{n}.cap"), &tag, size, crc)
        })
        .collect();
    let cap = write(dir.path(), "budget.cap", &zip(&entries));
    let run = cap_info(dir.path(), &cap);
    assert_refused(
        &run,
        &[
            "budget.cap",
            "Import.cap",
            "the 67108864-byte budget for all entries of a CAP JAR",
        ],
    );
}

#[test]
fn cap_jar_entries_jct_does_not_need_are_carried_compressed() {
    // hello.cap plus 40 entries of 32 MiB of zeros under APPLET-INF/: 1.3
    // GiB if inflated. `cap info` reads only the components, and `cap
    // convert` copies the others still compressed.
    let dir = tempfile::tempdir().unwrap();
    let size = 32u64 << 20;
    let crc = crc32_zeros(&[], size);
    let mut entries: Vec<Entry> = hello_components()
        .iter()
        .map(|(n, b)| Entry::stored(n, b))
        .collect();
    for i in 0..40 {
        entries.push(Entry::zeros(&format!("APPLET-INF/blob{i}"), &[], size, crc));
    }
    let zip = zip(&entries);
    let cap = write(dir.path(), "carried.cap", &zip);
    let run = cap_info(dir.path(), &cap);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("F00000000101"), "{}", run.stdout);

    let out = dir.path().join("rewritten.cap");
    let run = jct_bounded(
        dir.path(),
        &[
            "cap".as_ref(),
            "convert".as_ref(),
            cap.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
    );
    assert!(run.success, "{}", run.stderr);
    let rewritten = std::fs::read(&out).unwrap();
    assert!(
        rewritten.len() < 2 * zip.len(),
        "{} bytes rewritten from {}",
        rewritten.len(),
        zip.len()
    );
    // The carried entries are there, byte for byte compressed as before,
    // and still inflate to what they held.
    let blob = deflate_zeros(&[], size);
    let count = rewritten
        .windows(b"APPLET-INF/blob".len())
        .filter(|w| w == b"APPLET-INF/blob")
        .count();
    assert_eq!(count, 80, "40 local and 40 central headers");
    assert!(rewritten.windows(blob.len()).any(|w| w == blob.as_slice()));
    let info = cap_info(dir.path(), &out);
    assert!(info.success, "{}", info.stderr);
}

/// A class JAR of `entries` under com/x/.
fn class_jar(dir: &Path, name: &str, entries: &[Entry]) -> PathBuf {
    write(dir, name, &zip(entries))
}

#[test]
fn class_jar_with_too_many_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<Entry> = (0..20_000)
        .map(|i| Entry::stored(&format!("other/C{i}.class"), b""))
        .collect();
    let jar = class_jar(dir.path(), "many.jar", &entries);
    let run = build_from(dir.path(), &jar);
    assert_refused(&run, &["many.jar", "20000 entries", "limit of 16384"]);
}

#[test]
fn class_jar_beyond_the_total_budget_is_refused() {
    // Twelve classes of the package at 8 MiB each (the per-class limit).
    let dir = tempfile::tempdir().unwrap();
    let size = 8u64 << 20;
    let crc = crc32_zeros(&[], size);
    let entries: Vec<Entry> = (0..12)
        .map(|i| Entry::zeros(&format!("com/x/C{i:02}.class"), &[], size, crc))
        .collect();
    let jar = class_jar(dir.path(), "bomb.jar", &entries);
    let run = build_from(dir.path(), &jar);
    assert_refused(
        &run,
        &[
            "bomb.jar",
            "com/x/C08.class",
            "the 67108864-byte budget for all class files of a JAR",
        ],
    );
}

#[test]
fn class_jar_entry_that_lies_about_its_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = Entry::zeros("com/x/A.class", &[0xCA, 0xFE], 256 << 20, 0);
    bomb.size = 100;
    let jar = class_jar(dir.path(), "liar.jar", &[bomb]);
    let run = build_from(dir.path(), &jar);
    assert_refused(
        &run,
        &[
            "liar.jar",
            "com/x/A.class",
            "declares 100 bytes but inflates beyond the 8388608-byte limit",
        ],
    );
}

#[test]
fn many_blocks_with_a_deep_stack_are_typed_within_bounds() {
    // 254 values on the operand stack through ~21000 blocks of `goto next`.
    let dir = tempfile::tempdir().unwrap();
    let mut code = vec![0x03; 254]; // iconst_0 ...
    while code.len() < 63_000 {
        code.extend_from_slice(&[0xa7, 0x00, 0x03]); // goto +3
    }
    code.extend([0x57; 254]); // pop ...
    code.push(0xb1);
    let run = build(dir.path(), &class_with(254, 0, code));
    assert_refused(
        &run,
        &[
            "com.x.A.m()V",
            "bytes of Java Card code, more than the 32767 a method may have",
        ],
    );
}
