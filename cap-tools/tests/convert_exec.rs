//! Differential test of the translation: static methods are run on the JVM
//! (`java`) and, converted by jct, on a small Java Card bytecode interpreter
//! written here from the JCVM specification (chapter 7), for a grid of
//! inputs; the results must agree. This is what checks that 16-bit code is
//! only used where it gives Java's int results, and that forced int code is
//! right. Without `javac`/`java` on the PATH the test prints a note and passes.

#[path = "../../tests/support/require.rs"]
mod require;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cap_tools::cap::bytecode::{Instruction, Operands};
use cap_tools::cap::components::constant_pool::{CpEntry, StaticRef};
use cap_tools::cap::components::descriptor::{FieldRef, FieldType, PrimitiveType, StaticFieldRef};
use cap_tools::cap::components::method::MethodInfo;
use cap_tools::cap::{Cap, Component, Tag};
use cap_tools::convert::{self, Options};
use cap_tools::Aid;

const SHORTS: &str = r#"package s;
public class S {
    static final short[] W = {1, -2, 300, 0x7FFF};
    static final byte[] T = {1, 2, 3, 5, 8, -13};
    static final boolean[] B = {true, false};
    static short counter;
    static short init = 42;
    static byte small = -3;
    public static short f0(short a, short b) { return (short) (a + b); }
    public static short f1(short a, short b) { return (short) (a * b - b); }
    public static short f2(short a, short b) { return b == 0 ? 0 : (short) (a / b); }
    public static short f3(short a, short b) { return b == 0 ? 0 : (short) (a % b); }
    public static short f4(short a, short b) { return (short) (a << (b & 7)); }
    public static short f5(short a, short b) { return (short) (a >> (b & 15)); }
    public static short f6(short a, short b) { return (short) (a >>> 3); }
    public static short f7(short a, short b) { return (short) ((a & 0xFFFF) >>> (b & 15)); }
    public static short f8(short a, short b) { return (short) ((a & 0xFF) | (b << 8)); }
    public static short f9(short a, short b) { return (short) (-a ^ ~b); }
    public static short f10(short a, short b) { byte x = (byte) a; return (short) (x + (byte) (b >> 2)); }
    public static short f11(short a, short b) { return a < b ? a : b; }
    public static short f12(short a, short b) { short s = 0; for (short i = 0; i < (short) (b & 15); i++) s += a; return s; }
    public static short f13(short a, short b) {
        switch (a) { case -128: return 1; case 0: return 2; case 7: return 3; case 1000: return 4; default: return (short) (b + 1); }
    }
    public static short f14(short a, short b) {
        switch ((byte) b) { case 0: case 1: return 10; case 2: return 20; case 3: return 30; case 4: return a; default: return -1; }
    }
    public static short f15(short a, short b) { return (short) (W[(short) (a & 3)] + T[(short) (b & 3)] + init + counter + small + (B[(short) (a & 1)] ? 1 : 0)); }
    public static short f16(short a, short b) { byte[] buf = new byte[4]; buf[(short) (a & 3)] = (byte) b; buf[1] += 5; return (short) (buf[0] + buf[1] + buf.length); }
    public static short f17(short a, short b) { short[] v = new short[3]; short x; v[1] = x = (short) (a + 1); return (short) (v[1] * x + v[0]); }
    public static short f18(short a, short b) { boolean f = a > b; boolean g = (a & 1) == 0; return (short) ((f ? 1 : 0) + (f & g ? 2 : 0) + (f | g ? 4 : 0) + (f ^ g ? 8 : 0)); }
    public static short f19(short a, short b) { return (short) (helper(a) + helper(b)); }
    private static short helper(short x) { return (short) (x * 3 + 1); }
    public static short f20(short a, short b) { counter++; counter += a; return counter; }
    public static short f21(short a, short b) { return (short) (a >> 20); }
    public static short f22(short a, short b) { return (short) ((short) (a + b) / 3); }
    public static short f23(short a, short b) { return (short) ((short) (a * b) % 7); }
    public static short f24(short a, short b) { return (short) (a >>> 16); }
    public static short f25(short a, short b) { return (short) ((a & 0x7FFF) >> 3); }
    public static short f26(short a, short b) { short x = a; x >>= 2; x <<= 1; x ^= b; x |= 1; x &= 0x0FF0; return x; }
    public static short f27(short a, short b) { return (short) (((a & 0xFF) << 8) | (b & 0xFF)); }
    public static short f28(short a, short b) { return (short) (a == b ? 1 : a != 0 ? 2 : 3); }
    public static short f29(short a, short b) { byte x = (byte) a; x += b; x >>= 1; return x; }
    public static short f30(short a, short b) {
        short c0 = (short) (a + 1), c1 = (short) (c0 + b), c2 = (short) (c1 ^ a), c3 = (short) (c2 + 3), c4 = (short) (c3 * 5);
        short c5 = (short) (c4 - c0), c6 = (short) (c5 | c1), c7 = (short) (c6 & 0x7F0F), c8 = (short) (c7 + c2), c9 = (short) (c8 >> 1);
        short d0 = (short) (c9 + c3), d1 = (short) (d0 - c4), d2 = (short) (d1 ^ c5), d3 = (short) (d2 + c6), d4 = (short) (d3 * c7);
        short d5 = (short) (d4 + c8 + c9 + d0 + d1 + d2 + d3);
        return (short) (d5 + W[(short) (d5 & 3)]);
    }
    /** ArithApplet.mix of the converter reference, as a static method. */
    public static short mix(short x, short yy) {
        byte y = (byte) yy;
        short r = (short) ((x << 3) ^ (x >>> 2) ^ (x >> 1));
        r += y;
        r *= 3;
        r /= 2;
        r %= 1000;
        r = (short) (r & 0x7FFF | (y < 0 ? 0x4000 : 0));
        return (short) -r;
    }
}
"#;

const INTS: &str = r#"package i;
public class I {
    static int total = 100000;
    public static short g0(short a, short b) { int x = a * b; return (short) (x >> 8); }
    public static short g1(short a, short b) { return (short) (a >>> 17); }
    public static short g2(short a, short b) { return a + b > 0 ? (short) 1 : (short) 0; }
    public static short g3(short a, short b) { int s = 0; for (int i = 0; i < (b & 31); i++) s += a * i; return (short) (s ^ (s >>> 16)); }
    public static short g4(short a, short b) { int x = (a & 0xFFFF) * 65537; return (short) (x % 10007); }
    public static short g5(short a, short b) { int[] arr = new int[4]; arr[(short) (a & 3)] = a * 70000; return (short) (arr[(short) (a & 3)] >> 16); }
    public static short g6(short a, short b) { switch (a * 3) { case 300: return 1; case -3: return 2; case 96000: return 5; default: return 3; } }
    public static short g7(short a, short b) { return (short) mul(a, b); }
    private static int mul(int x, int y) { return x * y + 1; }
    public static short g8(short a, short b) { return (short) ((a / (b == 0 ? 1 : b)) > 100 ? 1 : 0); }
    public static short g9(short a, short b) { total += a; total ^= b << 20; return (short) (total >>> 12); }
    public static short g10(short a, short b) { long_free: { int x = a; x *= 1000; return (short) (x > 5000 ? 1 : x < -5000 ? -1 : 0); } }
    public static short g11(short a, short b) { int x = a; x++; x += 100000; return (short) (x / 1000); }
    public static short g12(short a, short b) { return (short) ((a & 0xFFFF) > 40000 ? 1 : 0); }
}
"#;

/// Byte and short expressions whose int result provably fits 16 bits:
/// they convert without int support (as Oracle's converter accepts them)
/// and must compute Java's results (issue 13's snippets among them).
const NARROW: &str = r#"package n;
public class N {
    static final byte[] T = {1, 2, 3, 5, 8, -13, 21, 34};
    public static short h0(short a, short b) { byte o = (byte) (a & 3); byte i = (byte) (b & 3); return T[o + i]; }
    public static short h1(short a, short b) { byte[] x = new byte[T[(short) (a & 3)] + 2]; return (short) x.length; }
    public static short h2(short a, short b) { byte p = (byte) a; byte n = (byte) b; return n == 0 ? 0 : (byte) ((p + 1) % n); }
    public static short h3(short a, short b) { byte p = (byte) a; byte n = (byte) b; return n == 0 ? 0 : (byte) ((p + 1) / n); }
    public static short h4(short a, short b) { byte x = (byte) a; byte y = (byte) b; return x + y > 3 ? (short) 1 : (short) 0; }
    public static short h5(short a, short b) { byte x = (byte) a; byte y = (byte) b; return (short) ((x * y) / 3); }
    public static short h6(short a, short b) { short v = (short) (a & 0x7FFF); return (short) (v >>> (b & 15)); }
    public static short h7(short a, short b) { byte x = (byte) a; short s = 0; for (byte i = 0; i < (byte) (b & 7); i++) s += x + i; return s; }
    public static short h8(short a, short b) { byte x = (byte) a; return (short) ((x - (byte) b) % 7 + (x >> 2)); }
    public static short h9(short a, short b) { return (short) (T[(short) (a & 7)] + T[(short) (b & 7)] < 0 ? -1 : 1); }
    public static short h10(short a, short b) { byte x = (byte) a; return x + 1 == 0 ? (short) 7 : (short) (-x / 2); }
}
"#;

/// `>>>` of a short that may be negative by an amount only known at run
/// time: refused without int support, computed in 32 bits with it.
const USHR: &str = r#"package u;
public class U {
    public static short u0(short a, short b) { return (short) (a >>> (b & 15)); }
}
"#;

const INPUTS: [i16; 12] = [
    -32768, -1000, -129, -128, -1, 0, 1, 7, 127, 1000, 30000, 32767,
];

/// javac and java, both needed here (see tests/support/require.rs).
fn tools() -> bool {
    require::javac() && require::java()
}

/// The names of the public static short methods of a source.
fn functions(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("public static short "))
        .map(|l| l.split('(').next().unwrap().to_string())
        .collect()
}

/// Compiles the sources and a runner, runs it, and returns
/// (function, a, b) -> result from the JVM.
fn jvm(dir: &Path, sources: &[(&str, &str)]) -> HashMap<(String, i16, i16), i16> {
    let mut files = Vec::new();
    let mut calls = String::new();
    for (pkg, src) in sources {
        // Each source's class is its package name in capitals.
        let class = pkg.to_uppercase();
        let f = dir.join(pkg).join(format!("{class}.java"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, src).unwrap();
        files.push(f);
        for name in functions(src) {
            calls += &format!(
                "for (short a : IN) for (short b : IN) System.out.println(\"{name} \" + a + \" \" + b + \" \" + {pkg}.{class}.{name}(a, b));\n"
            );
        }
    }
    let ins: Vec<String> = INPUTS.iter().map(|v| format!("(short) {v}")).collect();
    let runner = format!(
        "public class Run {{ static final short[] IN = {{ {} }}; public static void main(String[] x) {{ {calls} }} }}",
        ins.join(", ")
    );
    let r = dir.join("Run.java");
    std::fs::write(&r, runner).unwrap();
    files.push(r);
    let out = dir.join("classes");
    let st = Command::new("javac")
        .args(["-g", "--release", "8", "-nowarn", "-d"])
        .arg(&out)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let run = Command::new("java")
        .arg("-cp")
        .arg(&out)
        .arg("Run")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (
                (
                    p[0].to_string(),
                    p[1].parse().unwrap(),
                    p[2].parse().unwrap(),
                ),
                p[3].parse().unwrap(),
            )
        })
        .collect()
}

/// A minimal Java Card VM: static methods, short and int arithmetic,
/// locals, branches, switches, arrays and static fields, over 16-bit words.
struct Vm<'c> {
    methods: HashMap<u32, &'c MethodInfo>,
    cp: &'c [CpEntry],
    /// Static field image: offset -> words (one for shorts and references, two for ints).
    statics: HashMap<u16, Vec<u16>>,
    /// Arrays: (element type atype, values); a reference is index + 1.
    heap: Vec<(u8, Vec<i32>)>,
}

fn comp(cap: &Cap, tag: Tag) -> &Component {
    cap.component(tag).unwrap()
}

impl<'c> Vm<'c> {
    fn new(cap: &'c Cap) -> Vm<'c> {
        let Component::Method(m) = comp(cap, Tag::Method) else {
            unreachable!()
        };
        let Component::ConstantPool(cp) = comp(cap, Tag::ConstantPool) else {
            unreachable!()
        };
        let Component::StaticField(sf) = comp(cap, Tag::StaticField) else {
            unreachable!()
        };
        let Component::Descriptor(d) = comp(cap, Tag::Descriptor) else {
            unreachable!()
        };
        let mut vm = Vm {
            methods: m.methods.iter().map(|x| (x.offset, x)).collect(),
            cp: &cp.entries,
            statics: HashMap::new(),
            heap: Vec::new(),
        };
        for (i, a) in sf.array_init.iter().enumerate() {
            let size = a.element_size().unwrap();
            let vals = a
                .values
                .chunks(size)
                .map(|c| match size {
                    1 => i32::from(c[0] as i8),
                    2 => i32::from(i16::from_be_bytes([c[0], c[1]])),
                    _ => i32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                })
                .collect();
            let atype = [10, 11, 12, 13][usize::from(a.type_) - 2];
            vm.heap.push((atype, vals));
            vm.statics.insert(2 * i as u16, vec![vm.heap.len() as u16]);
        }
        // Primitive statics: zero, then the non-default values in order.
        let start = sf.reference_count * 2 + sf.default_value_count;
        for c in &d.classes {
            for f in &c.fields {
                if let (
                    FieldRef::Static(StaticFieldRef::Internal { offset }),
                    FieldType::Primitive(t),
                ) = (f.field_ref, f.field_type)
                {
                    let size = match t {
                        PrimitiveType::Boolean | PrimitiveType::Byte => 1,
                        PrimitiveType::Short => 2,
                        PrimitiveType::Int => 4,
                    };
                    let mut v = 0i32;
                    if offset >= start {
                        let at = usize::from(offset - start);
                        let b = &sf.non_default_values[at..at + size];
                        v = match size {
                            1 => i32::from(b[0] as i8),
                            2 => i32::from(i16::from_be_bytes([b[0], b[1]])),
                            _ => i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                        };
                    }
                    let words = if size == 4 {
                        vec![(v >> 16) as u16, v as u16]
                    } else {
                        vec![v as u16]
                    };
                    vm.statics.insert(offset, words);
                }
            }
        }
        vm
    }

    /// Runs the method at `offset` with argument words; returns result words.
    fn call(&mut self, offset: u32, args: Vec<u16>, depth: usize) -> Result<Vec<u16>, String> {
        if depth > 50 {
            return Err("call depth".into());
        }
        let m = *self.methods.get(&offset).ok_or("no method")?;
        let mut locals = args;
        locals.resize(
            usize::from(m.header.nargs) + usize::from(m.header.max_locals),
            0,
        );
        let mut st: Vec<u16> = Vec::new();
        let at: HashMap<u32, usize> = m
            .code
            .iter()
            .enumerate()
            .map(|(i, x)| (x.offset, i))
            .collect();
        let mut pc = 0usize;
        let mut steps = 0u32;
        macro_rules! pop {
            () => {
                st.pop().ok_or("stack underflow")?
            };
        }
        macro_rules! pops {
            () => {
                pop!() as i16
            };
        }
        macro_rules! popi {
            () => {{
                let lo = pop!();
                let hi = pop!();
                ((u32::from(hi) << 16) | u32::from(lo)) as i32
            }};
        }
        macro_rules! pushs {
            ($v:expr) => {
                st.push(($v) as i16 as u16)
            };
        }
        macro_rules! pushi {
            ($v:expr) => {{
                let v: i32 = $v;
                st.push((v >> 16) as u16);
                st.push(v as u16);
            }};
        }
        loop {
            steps += 1;
            if steps > 1_000_000 {
                return Err("too many steps".into());
            }
            let ins: &Instruction = m.code.get(pc).ok_or("fell off the code")?;
            let jump = |d: i64| -> Result<usize, String> {
                at.get(&((i64::from(ins.offset) + d) as u32))
                    .copied()
                    .ok_or_else(|| "bad branch".to_string())
            };
            let mut next = pc + 1;
            let name = ins.mnemonic();
            let short_op = |n: &str, a: i16, b: i16| -> Result<i16, String> {
                Ok(match n {
                    "sadd" => a.wrapping_add(b),
                    "ssub" => a.wrapping_sub(b),
                    "smul" => a.wrapping_mul(b),
                    "sdiv" => {
                        if b == 0 {
                            return Err("ArithmeticException".into());
                        } else {
                            a.wrapping_div(b)
                        }
                    }
                    "srem" => {
                        if b == 0 {
                            return Err("ArithmeticException".into());
                        } else {
                            a.wrapping_rem(b)
                        }
                    }
                    "sand" => a & b,
                    "sor" => a | b,
                    "sxor" => a ^ b,
                    "sshl" => ((i32::from(a)) << (b & 31)) as i16,
                    "sshr" => ((i32::from(a)) >> (b & 31)) as i16,
                    "sushr" => ((u32::from(a as u16)) >> (b & 31)) as i16,
                    _ => return Err(format!("not a short op {n}")),
                })
            };
            let int_op = |n: &str, a: i32, b: i32| -> Result<i32, String> {
                Ok(match n {
                    "iadd" => a.wrapping_add(b),
                    "isub" => a.wrapping_sub(b),
                    "imul" => a.wrapping_mul(b),
                    "idiv" => {
                        if b == 0 {
                            return Err("ArithmeticException".into());
                        } else {
                            a.wrapping_div(b)
                        }
                    }
                    "irem" => {
                        if b == 0 {
                            return Err("ArithmeticException".into());
                        } else {
                            a.wrapping_rem(b)
                        }
                    }
                    "iand" => a & b,
                    "ior" => a | b,
                    "ixor" => a ^ b,
                    "ishl" => a.wrapping_shl((b & 31) as u32),
                    "ishr" => a >> (b & 31),
                    "iushr" => ((a as u32) >> (b & 31)) as i32,
                    _ => return Err(format!("not an int op {n}")),
                })
            };
            match (&ins.operands, name) {
                (Operands::None, n) if n.starts_with("sconst_") => pushs!(if n == "sconst_m1" {
                    -1
                } else {
                    n[7..].parse::<i16>().unwrap()
                }),
                (Operands::None, n) if n.starts_with("iconst_") => pushi!(if n == "iconst_m1" {
                    -1
                } else {
                    n[7..].parse::<i32>().unwrap()
                }),
                (Operands::Byte(v), "bspush") => pushs!(*v),
                (Operands::Short(v), "sspush") => pushs!(*v),
                (Operands::Byte(v), "bipush") => pushi!(i32::from(*v)),
                (Operands::Short(v), "sipush") => pushi!(i32::from(*v)),
                (Operands::Int(v), "iipush") => pushi!(*v),
                (Operands::None, "aconst_null") => st.push(0),
                (Operands::None, n)
                    if n.len() == 7 && (n.starts_with("sload_") || n.starts_with("aload_")) =>
                {
                    st.push(locals[usize::from(n.as_bytes()[6] - b'0')])
                }
                (Operands::Local(i), "sload" | "aload") => st.push(locals[usize::from(*i)]),
                (Operands::None, n)
                    if n.len() == 8 && (n.starts_with("sstore_") || n.starts_with("astore_")) =>
                {
                    let v = pop!();
                    locals[usize::from(n.as_bytes()[7] - b'0')] = v
                }
                (Operands::Local(i), "sstore" | "astore") => {
                    let v = pop!();
                    locals[usize::from(*i)] = v
                }
                (Operands::None, n) if n.starts_with("iload_") => {
                    let i = usize::from(n.as_bytes()[6] - b'0');
                    st.push(locals[i]);
                    st.push(locals[i + 1])
                }
                (Operands::Local(i), "iload") => {
                    let i = usize::from(*i);
                    st.push(locals[i]);
                    st.push(locals[i + 1])
                }
                (Operands::None, n) if n.starts_with("istore_") => {
                    let i = usize::from(n.as_bytes()[7] - b'0');
                    locals[i + 1] = pop!();
                    locals[i] = pop!()
                }
                (Operands::Local(i), "istore") => {
                    let i = usize::from(*i);
                    locals[i + 1] = pop!();
                    locals[i] = pop!()
                }
                (Operands::LocalInc { index, constant }, "sinc") => {
                    let i = usize::from(*index);
                    locals[i] = (locals[i] as i16).wrapping_add(i16::from(*constant)) as u16
                }
                (Operands::LocalIncWide { index, constant }, "sinc_w") => {
                    let i = usize::from(*index);
                    locals[i] = (locals[i] as i16).wrapping_add(*constant) as u16
                }
                (
                    Operands::LocalInc { index, .. } | Operands::LocalIncWide { index, .. },
                    "iinc" | "iinc_w",
                ) => {
                    let c = match &ins.operands {
                        Operands::LocalInc { constant, .. } => i32::from(*constant),
                        Operands::LocalIncWide { constant, .. } => i32::from(*constant),
                        _ => 0,
                    };
                    let i = usize::from(*index);
                    let v = (((u32::from(locals[i]) << 16) | u32::from(locals[i + 1])) as i32)
                        .wrapping_add(c);
                    locals[i] = (v >> 16) as u16;
                    locals[i + 1] = v as u16;
                }
                (
                    Operands::None,
                    n @ ("sadd" | "ssub" | "smul" | "sdiv" | "srem" | "sand" | "sor" | "sxor"
                    | "sshl" | "sshr" | "sushr"),
                ) => {
                    let b = pops!();
                    let a = pops!();
                    pushs!(short_op(n, a, b)?)
                }
                (
                    Operands::None,
                    n @ ("iadd" | "isub" | "imul" | "idiv" | "irem" | "iand" | "ior" | "ixor"
                    | "ishl" | "ishr" | "iushr"),
                ) => {
                    let b = popi!();
                    let a = popi!();
                    pushi!(int_op(n, a, b)?)
                }
                (Operands::None, "sneg") => {
                    let a = pops!();
                    pushs!(a.wrapping_neg())
                }
                (Operands::None, "ineg") => {
                    let a = popi!();
                    pushi!(a.wrapping_neg())
                }
                (Operands::None, "s2b") => {
                    let a = pops!();
                    pushs!(a as i8)
                }
                (Operands::None, "s2i") => {
                    let a = pops!();
                    pushi!(i32::from(a))
                }
                (Operands::None, "i2b") => {
                    let a = popi!();
                    pushs!(a as i8)
                }
                (Operands::None, "i2s") => {
                    let a = popi!();
                    pushs!(a as i16)
                }
                (Operands::None, "icmp") => {
                    let b = popi!();
                    let a = popi!();
                    pushs!(a.cmp(&b) as i8)
                }
                (Operands::None, "pop") => {
                    pop!();
                }
                (Operands::None, "pop2") => {
                    pop!();
                    pop!();
                }
                (Operands::None, "dup") => {
                    let v = *st.last().ok_or("underflow")?;
                    st.push(v)
                }
                (Operands::None, "dup2") => {
                    let n = st.len();
                    if n < 2 {
                        return Err("underflow".into());
                    }
                    st.extend_from_within(n - 2..)
                }
                (Operands::StackWords(mn), "dup_x") => {
                    let (m, n) = (usize::from(mn >> 4), usize::from(mn & 15));
                    let len = st.len();
                    let top = st[len - m..].to_vec();
                    if n == 0 {
                        st.extend(top)
                    } else {
                        st.splice(len - n..len - n, top);
                    }
                }
                (Operands::StackWords(mn), "swap_x") => {
                    let (m, n) = (usize::from(mn >> 4), usize::from(mn & 15));
                    let len = st.len();
                    let top = st[len - m..].to_vec();
                    let below = st[len - m - n..len - m].to_vec();
                    st.truncate(len - m - n);
                    st.extend(top);
                    st.extend(below);
                }
                (Operands::Branch(_) | Operands::BranchWide(_), n) => {
                    let d = match &ins.operands {
                        Operands::Branch(d) => i64::from(*d),
                        Operands::BranchWide(d) => i64::from(*d),
                        _ => 0,
                    };
                    let n = n.trim_end_matches("_w");
                    let taken = match n {
                        "goto" => true,
                        "ifeq" | "ifne" | "iflt" | "ifge" | "ifgt" | "ifle" => {
                            let a = pops!();
                            cond(&n[2..], a, 0)
                        }
                        "ifnull" => pop!() == 0,
                        "ifnonnull" => pop!() != 0,
                        "if_acmpeq" => pop!() == pop!(),
                        "if_acmpne" => pop!() != pop!(),
                        _ if n.starts_with("if_scmp") => {
                            let b = pops!();
                            let a = pops!();
                            cond(&n[7..], a, b)
                        }
                        _ => return Err(format!("unknown branch {n}")),
                    };
                    if taken {
                        next = jump(d)?;
                    }
                }
                (
                    Operands::STableSwitch {
                        default,
                        low,
                        high,
                        offsets,
                    },
                    _,
                ) => {
                    let k = pops!();
                    next = jump(i64::from(if (*low..=*high).contains(&k) {
                        offsets[(k - low) as usize]
                    } else {
                        *default
                    }))?;
                }
                (
                    Operands::ITableSwitch {
                        default,
                        low,
                        high,
                        offsets,
                    },
                    _,
                ) => {
                    let k = popi!();
                    next = jump(i64::from(if (*low..=*high).contains(&k) {
                        offsets[(k - low) as usize]
                    } else {
                        *default
                    }))?;
                }
                (Operands::SLookupSwitch { default, pairs }, _) => {
                    let k = pops!();
                    next = jump(i64::from(
                        pairs
                            .iter()
                            .find(|p| p.match_value == k)
                            .map_or(*default, |p| p.offset),
                    ))?;
                }
                (Operands::ILookupSwitch { default, pairs }, _) => {
                    let k = popi!();
                    next = jump(i64::from(
                        pairs
                            .iter()
                            .find(|p| p.match_value == k)
                            .map_or(*default, |p| p.offset),
                    ))?;
                }
                (Operands::ArrayType(t), "newarray") => {
                    let n = pops!();
                    if n < 0 {
                        return Err("NegativeArraySizeException".into());
                    }
                    self.heap.push((*t, vec![0; n as usize]));
                    st.push(self.heap.len() as u16);
                }
                (Operands::None, "arraylength") => {
                    let r = pop!();
                    let a = self.array(r)?;
                    let n = a.1.len();
                    pushs!(n as i16)
                }
                (Operands::None, n @ ("baload" | "saload" | "iaload")) => {
                    let i = pops!();
                    let r = pop!();
                    let v = *self
                        .array(r)?
                        .1
                        .get(usize::try_from(i).map_err(|_| "AIOOBE")?)
                        .ok_or("AIOOBE")?;
                    if n == "iaload" {
                        pushi!(v)
                    } else {
                        pushs!(v)
                    }
                }
                (Operands::None, n @ ("bastore" | "sastore" | "iastore")) => {
                    let v = if n == "iastore" {
                        popi!()
                    } else {
                        i32::from(pops!())
                    };
                    let i = pops!();
                    let r = pop!();
                    let (t, a) = self.array_mut(r)?;
                    let v = match t {
                        10 | 11 => i32::from(v as i8),
                        12 => i32::from(v as i16),
                        _ => v,
                    };
                    *a.get_mut(usize::try_from(i).map_err(|_| "AIOOBE")?)
                        .ok_or("AIOOBE")? = v;
                }
                (Operands::Cp2(i), n)
                    if n.starts_with("getstatic_") || n.starts_with("putstatic_") =>
                {
                    let CpEntry::StaticFieldRef(StaticRef::Internal { offset, .. }) =
                        self.cp[usize::from(*i)]
                    else {
                        return Err("external static".into());
                    };
                    let width = if n.ends_with("_i") { 2 } else { 1 };
                    if n.starts_with("get") {
                        st.extend(self.statics.get(&offset).cloned().unwrap_or(vec![0; width]));
                    } else {
                        let mut w = vec![0u16; width];
                        for k in (0..width).rev() {
                            w[k] = pop!();
                        }
                        if n == "putstatic_b" {
                            w[0] = (w[0] as i8) as i16 as u16;
                        }
                        self.statics.insert(offset, w);
                    }
                }
                (Operands::Cp2(i), "invokestatic" | "invokespecial") => {
                    let CpEntry::StaticMethodRef(StaticRef::Internal { offset, .. }) =
                        self.cp[usize::from(*i)]
                    else {
                        return Err("external call".into());
                    };
                    let callee = *self.methods.get(&u32::from(offset)).ok_or("no callee")?;
                    let n = usize::from(callee.header.nargs);
                    let args = st.split_off(st.len() - n);
                    let ret = self.call(u32::from(offset), args, depth + 1)?;
                    st.extend(ret);
                }
                (Operands::None, "sreturn" | "areturn") => return Ok(vec![pop!()]),
                (Operands::None, "ireturn") => {
                    let lo = pop!();
                    let hi = pop!();
                    return Ok(vec![hi, lo]);
                }
                (Operands::None, "return") => return Ok(Vec::new()),
                (_, n) => return Err(format!("the test VM does not run {n}")),
            }
            pc = next;
        }
    }

    fn array(&self, r: u16) -> Result<&(u8, Vec<i32>), String> {
        self.heap
            .get(usize::from(r).wrapping_sub(1))
            .ok_or_else(|| "NullPointerException".to_string())
    }

    fn array_mut(&mut self, r: u16) -> Result<&mut (u8, Vec<i32>), String> {
        self.heap
            .get_mut(usize::from(r).wrapping_sub(1))
            .ok_or_else(|| "NullPointerException".to_string())
    }
}

fn cond(c: &str, a: i16, b: i16) -> bool {
    match c {
        "eq" => a == b,
        "ne" => a != b,
        "lt" => a < b,
        "ge" => a >= b,
        "gt" => a > b,
        _ => a <= b,
    }
}

/// Converts package `pkg` of `classes` and runs every function on the grid,
/// comparing with the JVM.
fn check(classes: &Path, pkg: &str, src: &str, int: bool, jvm: &HashMap<(String, i16, i16), i16>) {
    let files = convert::load_classes(classes, pkg).unwrap();
    let mut o = Options::new(pkg, Aid::from_hex("F0000000AA").unwrap(), (1, 0));
    o.int_support = int;
    o.debug = true;
    let out = convert::convert(&files, &o).unwrap_or_else(|e| panic!("{pkg}: {e}"));
    let cap = &out.cap;
    let Component::Debug(d) = comp(cap, Tag::Debug) else {
        unreachable!()
    };
    let offsets: HashMap<String, u16> = d
        .classes
        .iter()
        .flat_map(|c| c.methods.iter())
        .map(|m| (d.string(m.name_index).unwrap().to_string(), m.location))
        .collect();
    let mut vm = Vm::new(cap);
    let mut failures = Vec::new();
    for name in functions(src) {
        for a in INPUTS {
            for b in INPUTS {
                let want = jvm[&(name.clone(), a, b)];
                match vm.call(u32::from(offsets[&name]), vec![a as u16, b as u16], 0) {
                    Ok(w) if w.len() == 1 && w[0] as i16 == want => {}
                    got => failures.push(format!(
                        "{pkg}.{name}({a}, {b}): JVM {want}, Java Card {got:?}"
                    )),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches (int support {int}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Oracle's converter translates `x >>> 2` on a short to `sushr`, which
/// differs from Java for negative `x` (Java shifts the sign-extended int);
/// jct uses `sshr`, which agrees. Oracle's own ArithApplet.mix shows it.
fn oracle_mix_differs(results: &HashMap<(String, i16, i16), i16>) {
    let cap = Cap::from_path(
        std::env::var_os("JCT_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
            .join("converter-reference/oracle-3.0.5/arith.cap"),
    )
    .unwrap();
    let Component::Descriptor(d) = comp(&cap, Tag::Descriptor) else {
        unreachable!()
    };
    let mix = d.classes[0]
        .methods
        .iter()
        .find(|m| m.token == 0x80)
        .unwrap()
        .method_offset;
    let mut vm = Vm::new(&cap);
    let mut differ = 0;
    for x in INPUTS {
        for y in INPUTS {
            let got = vm
                .call(
                    u32::from(mix),
                    vec![0, x as u16, y as u8 as i8 as i16 as u16],
                    0,
                )
                .unwrap();
            let want = results[&("mix".to_string(), x, y)];
            if got[0] as i16 != want {
                differ += 1;
                assert!(
                    x < 0,
                    "Oracle's mix differs from Java only for negative x: mix({x}, {y})"
                );
            }
        }
    }
    assert!(
        differ > 0,
        "Oracle's sushr translation was expected to differ from Java for negative x"
    );
}

#[test]
fn converted_code_computes_what_the_jvm_computes() {
    if !tools() {
        return;
    }
    let dir: PathBuf = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jct-convert-exec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let results = jvm(
        &dir,
        &[("s", SHORTS), ("i", INTS), ("n", NARROW), ("u", USHR)],
    );
    let classes = dir.join("classes");
    check(&classes, "s", SHORTS, false, &results);
    check(&classes, "s", SHORTS, true, &results);
    check(&classes, "i", INTS, true, &results);
    check(&classes, "n", NARROW, false, &results);
    check(&classes, "n", NARROW, true, &results);
    check(&classes, "u", USHR, true, &results);
    ushr_is_refused_or_translated_as_oracle_does(&classes);
    oracle_mix_differs(&results);
    let e = convert::convert(
        &convert::load_classes(&classes, "i").unwrap(),
        &Options::new("i", Aid::from_hex("F0000000AA").unwrap(), (1, 0)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs int support (--int)"), "{e}");
}

/// Without int support a `>>>` of a possibly negative short is refused,
/// naming its line and the rewrites; `--oracle-ushr` translates it to
/// sushr with a note at the site.
fn ushr_is_refused_or_translated_as_oracle_does(classes: &Path) {
    let files = convert::load_classes(classes, "u").unwrap();
    let mut o = Options::new("u", Aid::from_hex("F0000000AB").unwrap(), (1, 0));
    let e = convert::convert(&files, &o).unwrap_err().to_string();
    assert!(e.starts_with("u.U.u0(SS)S:3:"), "the line is named: {e}");
    assert!(
        e.contains("(v & 0xFFFF) >>> n") && e.contains("--oracle-ushr"),
        "{e}"
    );
    o.oracle_ushr = true;
    let out = convert::convert(&files, &o).unwrap();
    assert_eq!(
        out.notes.iter().filter(|n| n.contains("sushr")).count(),
        1,
        "{:?}",
        out.notes
    );
}
