//! Decoding of JVM bytecode (JVMS chapter 6) into instructions with their
//! operands, for the converter to translate.
//!
//! Branch and switch offsets are turned into absolute targets, and every
//! target is checked to be the start of an instruction, so the converter can
//! map old program counters to new ones without re-checking. A `wide` prefix
//! is folded into the instruction it widens: the [`Insn`] carries the widened
//! opcode (`iload`, `iinc`, ...) and its `pc` is that of the prefix.

use serde::Serialize;

use crate::bytes::Reader;
use crate::error::{Location, Result};

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Insn {
    /// Offset of the first byte (of the `wide` prefix, if any) in the method's code.
    pub pc: u32,
    pub opcode: u8,
    pub operands: Operands,
}

/// The operands of an instruction, by shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Operands {
    None,
    /// `bipush`.
    Byte(i8),
    /// `sipush`.
    Short(i16),
    /// A local variable index of a load, store or `ret`, widened or not.
    Local(u16),
    Iinc {
        index: u16,
        delta: i16,
    },
    /// Absolute target pc of a conditional branch, `goto`, `jsr` or their `_w` forms.
    Branch(i32),
    /// A constant pool index (`ldc*`, field and method access, `new`, `anewarray`,
    /// `checkcast`, `instanceof`).
    Cp(u16),
    InvokeInterface {
        index: u16,
        count: u8,
    },
    InvokeDynamic(u16),
    /// The array type code (4 = boolean .. 11 = long).
    NewArray(u8),
    MultiANewArray {
        index: u16,
        dims: u8,
    },
    /// Targets are absolute; `targets[i]` is taken for key `low + i`.
    TableSwitch {
        default: i32,
        low: i32,
        high: i32,
        targets: Vec<i32>,
    },
    /// Targets are absolute; pairs are (key, target), keys strictly increasing.
    LookupSwitch {
        default: i32,
        pairs: Vec<(i32, i32)>,
    },
}

/// JVMS 4.7.3: code is shorter than 65536 bytes.
const MAX_CODE: usize = 65535;

impl Insn {
    /// The instruction's mnemonic.
    pub fn mnemonic(&self) -> &'static str {
        mnemonic(self.opcode)
    }

    /// Every pc control may go to from here other than the next instruction:
    /// branch targets and switch targets including the default.
    pub fn targets(&self) -> Vec<i32> {
        match &self.operands {
            Operands::Branch(t) => vec![*t],
            Operands::TableSwitch {
                default, targets, ..
            } => std::iter::once(*default)
                .chain(targets.iter().copied())
                .collect(),
            Operands::LookupSwitch { default, pairs } => std::iter::once(*default)
                .chain(pairs.iter().map(|p| p.1))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The size in bytes of the shortest encoding of this instruction at its
    /// pc. That is its size in the decoded code unless the code used a `wide`
    /// prefix it did not need (javac never does).
    pub fn encoded_len(&self) -> u32 {
        match &self.operands {
            Operands::None => 1,
            Operands::Byte(_) | Operands::NewArray(_) => 2,
            Operands::Cp(_) if self.opcode == op::LDC => 2,
            Operands::Short(_) | Operands::Cp(_) => 3,
            Operands::Local(i) if *i > 0xFF => 4,
            Operands::Local(_) => 2,
            Operands::Iinc { index, delta } if *index > 0xFF || i8::try_from(*delta).is_err() => 6,
            Operands::Iinc { .. } => 3,
            Operands::Branch(_) if matches!(self.opcode, op::GOTO_W | op::JSR_W) => 5,
            Operands::Branch(_) => 3,
            Operands::InvokeInterface { .. } | Operands::InvokeDynamic(_) => 5,
            Operands::MultiANewArray { .. } => 4,
            Operands::TableSwitch { targets, .. } => switch_len(self.pc, 12, 4, targets.len()),
            Operands::LookupSwitch { pairs, .. } => switch_len(self.pc, 8, 8, pairs.len()),
        }
    }
}

/// Bytes of padding after a switch opcode at `pc`, so that its operands
/// start at a multiple of four from the start of the code.
fn switch_padding(pc: u32) -> u32 {
    (4 - (pc % 4 + 1) % 4) % 4
}

/// The size of a switch at `pc`: opcode, padding, `fixed` bytes and `n`
/// entries of `each` bytes (saturating: decoded switches are far smaller,
/// but an [`Insn`] can be built by hand).
fn switch_len(pc: u32, fixed: u32, each: u32, n: usize) -> u32 {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    (1 + switch_padding(pc) + fixed).saturating_add(each.saturating_mul(n))
}

/// Decodes a method's whole code; errors name "bytecode" and the pc.
pub fn decode(bytecode: &[u8]) -> Result<Vec<Insn>> {
    decode_at(bytecode, "bytecode")
}

/// Like [`decode`], naming `location` (e.g. the class and method) in errors.
pub fn decode_at(bytecode: &[u8], location: impl Into<Location>) -> Result<Vec<Insn>> {
    let mut r = Reader::new(bytecode, location);
    if bytecode.len() > MAX_CODE {
        return Err(r.error(format!(
            "code is {} bytes long, the limit is {MAX_CODE}",
            bytecode.len()
        )));
    }
    let mut insns = Vec::new();
    while !r.is_empty() {
        insns.push(decode_one(&mut r)?);
    }
    check_targets(&r, &insns)?;
    Ok(insns)
}

fn decode_one(r: &mut Reader<'_>) -> Result<Insn> {
    let at = r.offset();
    // Code is at most 65535 bytes, so pcs fit u32 and i32.
    let pc = u32::try_from(at).map_err(|_| r.error_at(at, "pc beyond 4 GiB"))?;
    let opcode = r.u1("opcode")?;
    let name = mnemonic(opcode);
    let branch = |r: &mut Reader<'_>, offset: i32| -> Result<Operands> {
        Ok(Operands::Branch(target(r, at, name, offset)?))
    };
    let operands = match opcode {
        op::BIPUSH => Operands::Byte(r.u1("bipush operand")? as i8),
        op::SIPUSH => Operands::Short(r.u2("sipush operand")? as i16),
        op::LDC => Operands::Cp(u16::from(r.u1("ldc index")?)),
        op::LDC_W | op::LDC2_W => Operands::Cp(r.u2("constant pool index")?),
        op::ILOAD..=op::ALOAD | op::ISTORE..=op::ASTORE | op::RET => {
            Operands::Local(u16::from(r.u1("local variable index")?))
        }
        op::IINC => Operands::Iinc {
            index: u16::from(r.u1("iinc index")?),
            delta: i16::from(r.u1("iinc delta")? as i8),
        },
        op::IFEQ..=op::JSR | op::IFNULL | op::IFNONNULL => {
            let offset = i32::from(r.u2("branch offset")? as i16);
            branch(r, offset)?
        }
        op::GOTO_W | op::JSR_W => {
            let offset = r.u4("branch offset")? as i32;
            branch(r, offset)?
        }
        op::TABLESWITCH => table_switch(r, at)?,
        op::LOOKUPSWITCH => lookup_switch(r, at)?,
        op::GETSTATIC..=op::INVOKESTATIC
        | op::NEW
        | op::ANEWARRAY
        | op::CHECKCAST
        | op::INSTANCEOF => Operands::Cp(r.u2("constant pool index")?),
        op::INVOKEINTERFACE => {
            let index = r.u2("invokeinterface index")?;
            let count = r.u1("invokeinterface count")?;
            if count == 0 {
                return Err(r.error_at(at, "invokeinterface: count is 0"));
            }
            if r.u1("invokeinterface zero byte")? != 0 {
                return Err(r.error_at(at, "invokeinterface: fourth operand byte is not 0"));
            }
            Operands::InvokeInterface { index, count }
        }
        op::INVOKEDYNAMIC => {
            let index = r.u2("invokedynamic index")?;
            if r.u2("invokedynamic zero bytes")? != 0 {
                return Err(r.error_at(
                    at,
                    "invokedynamic: third and fourth operand bytes are not 0",
                ));
            }
            Operands::InvokeDynamic(index)
        }
        op::NEWARRAY => {
            let atype = r.u1("newarray type")?;
            if !(4..=11).contains(&atype) {
                return Err(r.error_at(at, format!("newarray: array type {atype} is not 4..=11")));
            }
            Operands::NewArray(atype)
        }
        op::MULTIANEWARRAY => {
            let index = r.u2("multianewarray index")?;
            let dims = r.u1("multianewarray dimensions")?;
            if dims == 0 {
                return Err(r.error_at(at, "multianewarray: dimensions is 0"));
            }
            Operands::MultiANewArray { index, dims }
        }
        op::WIDE => return wide(r, pc),
        0..=op::JSR_W => Operands::None,
        _ => {
            return Err(r.error_at(
                at,
                format!("opcode {opcode:#04x} ({name}) may not appear in a class file"),
            ))
        }
    };
    Ok(Insn {
        pc,
        opcode,
        operands,
    })
}

/// The instruction after a `wide` prefix at `pc`.
fn wide(r: &mut Reader<'_>, pc: u32) -> Result<Insn> {
    let opcode = r.u1("widened opcode")?;
    let operands = match opcode {
        op::ILOAD..=op::ALOAD | op::ISTORE..=op::ASTORE | op::RET => {
            Operands::Local(r.u2("wide local variable index")?)
        }
        op::IINC => Operands::Iinc {
            index: r.u2("wide iinc index")?,
            delta: r.u2("wide iinc delta")? as i16,
        },
        _ => {
            return Err(r.error_at(
                pc as usize,
                format!("wide: cannot widen {} ({opcode:#04x})", mnemonic(opcode)),
            ))
        }
    };
    Ok(Insn {
        pc,
        opcode,
        operands,
    })
}

/// The absolute target of a branch at `at` by `offset`, checked to lie in the code.
fn target(r: &Reader<'_>, at: usize, name: &str, offset: i32) -> Result<i32> {
    let len = r.data().len();
    let t = i64::try_from(at)
        .ok()
        .and_then(|a| a.checked_add(i64::from(offset)));
    // In 0..len, and len is at most 65535.
    let inside = t
        .and_then(|t| usize::try_from(t).ok())
        .filter(|&t| t < len)
        .and_then(|t| i32::try_from(t).ok());
    inside.ok_or_else(|| {
        let t = t.map_or_else(|| "beyond i64".to_string(), |t| t.to_string());
        r.error_at(
            at,
            format!("{name} at pc {at}: target {t} is outside the code (0..{len})"),
        )
    })
}

fn skip_padding(r: &mut Reader<'_>, at: usize) -> Result<()> {
    let pad = (4 - (at % 4 + 1) % 4) % 4;
    r.bytes(pad, "switch padding")?;
    Ok(())
}

fn table_switch(r: &mut Reader<'_>, at: usize) -> Result<Operands> {
    skip_padding(r, at)?;
    let offset = r.u4("tableswitch default")? as i32;
    let default = target(r, at, "tableswitch", offset)?;
    let low = r.u4("tableswitch low")? as i32;
    let high = r.u4("tableswitch high")? as i32;
    if low > high {
        return Err(r.error_at(at, format!("tableswitch: low {low} is above high {high}")));
    }
    let n = usize::try_from(i64::from(high) - i64::from(low) + 1)
        .map_err(|_| r.error_at(at, format!("tableswitch: {low}..={high} is too many cases")))?;
    let n = r.bounded_count(n, 4, "tableswitch offset")?;
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.u4("tableswitch offset")? as i32;
        targets.push(target(r, at, "tableswitch", offset)?);
    }
    Ok(Operands::TableSwitch {
        default,
        low,
        high,
        targets,
    })
}

fn lookup_switch(r: &mut Reader<'_>, at: usize) -> Result<Operands> {
    skip_padding(r, at)?;
    let offset = r.u4("lookupswitch default")? as i32;
    let default = target(r, at, "lookupswitch", offset)?;
    let npairs = r.u4("lookupswitch npairs")? as i32;
    let n = usize::try_from(npairs)
        .map_err(|_| r.error_at(at, format!("lookupswitch: npairs {npairs} is negative")))?;
    let n = r.bounded_count(n, 8, "lookupswitch pair")?;
    let mut pairs: Vec<(i32, i32)> = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.u4("lookupswitch match")? as i32;
        let offset = r.u4("lookupswitch offset")? as i32;
        if let Some(&(prev, _)) = pairs.last() {
            if key <= prev {
                return Err(r.error_at(
                    at,
                    format!("lookupswitch: key {key} follows {prev}; keys must increase"),
                ));
            }
        }
        pairs.push((key, target(r, at, "lookupswitch", offset)?));
    }
    Ok(Operands::LookupSwitch { default, pairs })
}

/// Checks that every branch and switch target is the start of an instruction.
fn check_targets(r: &Reader<'_>, insns: &[Insn]) -> Result<()> {
    let mut start = vec![false; r.data().len()];
    for i in insns {
        start[i.pc as usize] = true;
    }
    for i in insns {
        for t in i.targets() {
            // `target` already checked 0 <= t < code length.
            if !start[t as usize] {
                return Err(r.error_at(
                    i.pc as usize,
                    format!(
                        "{} at pc {}: target {t} is inside an instruction",
                        i.mnemonic(),
                        i.pc
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Declares the opcode constants and the mnemonic table from one list.
macro_rules! opcodes {
    ($($name:ident = $value:literal $text:literal,)*) => {
        /// Opcode values (JVMS 6.5), named as their mnemonics in upper case.
        pub mod op {
            $(pub const $name: u8 = $value;)*
        }

        /// The mnemonic of `opcode`, or `"unknown"` for values that are no
        /// JVM instruction.
        pub fn mnemonic(opcode: u8) -> &'static str {
            match opcode {
                $($value => $text,)*
                _ => "unknown",
            }
        }
    };
}

opcodes! {
    NOP = 0x00 "nop", ACONST_NULL = 0x01 "aconst_null", ICONST_M1 = 0x02 "iconst_m1",
    ICONST_0 = 0x03 "iconst_0", ICONST_1 = 0x04 "iconst_1", ICONST_2 = 0x05 "iconst_2",
    ICONST_3 = 0x06 "iconst_3", ICONST_4 = 0x07 "iconst_4", ICONST_5 = 0x08 "iconst_5",
    LCONST_0 = 0x09 "lconst_0", LCONST_1 = 0x0a "lconst_1", FCONST_0 = 0x0b "fconst_0",
    FCONST_1 = 0x0c "fconst_1", FCONST_2 = 0x0d "fconst_2", DCONST_0 = 0x0e "dconst_0",
    DCONST_1 = 0x0f "dconst_1", BIPUSH = 0x10 "bipush", SIPUSH = 0x11 "sipush",
    LDC = 0x12 "ldc", LDC_W = 0x13 "ldc_w", LDC2_W = 0x14 "ldc2_w",
    ILOAD = 0x15 "iload", LLOAD = 0x16 "lload", FLOAD = 0x17 "fload", DLOAD = 0x18 "dload",
    ALOAD = 0x19 "aload",
    ILOAD_0 = 0x1a "iload_0", ILOAD_1 = 0x1b "iload_1", ILOAD_2 = 0x1c "iload_2",
    ILOAD_3 = 0x1d "iload_3", LLOAD_0 = 0x1e "lload_0", LLOAD_1 = 0x1f "lload_1",
    LLOAD_2 = 0x20 "lload_2", LLOAD_3 = 0x21 "lload_3", FLOAD_0 = 0x22 "fload_0",
    FLOAD_1 = 0x23 "fload_1", FLOAD_2 = 0x24 "fload_2", FLOAD_3 = 0x25 "fload_3",
    DLOAD_0 = 0x26 "dload_0", DLOAD_1 = 0x27 "dload_1", DLOAD_2 = 0x28 "dload_2",
    DLOAD_3 = 0x29 "dload_3", ALOAD_0 = 0x2a "aload_0", ALOAD_1 = 0x2b "aload_1",
    ALOAD_2 = 0x2c "aload_2", ALOAD_3 = 0x2d "aload_3",
    IALOAD = 0x2e "iaload", LALOAD = 0x2f "laload", FALOAD = 0x30 "faload",
    DALOAD = 0x31 "daload", AALOAD = 0x32 "aaload", BALOAD = 0x33 "baload",
    CALOAD = 0x34 "caload", SALOAD = 0x35 "saload",
    ISTORE = 0x36 "istore", LSTORE = 0x37 "lstore", FSTORE = 0x38 "fstore",
    DSTORE = 0x39 "dstore", ASTORE = 0x3a "astore",
    ISTORE_0 = 0x3b "istore_0", ISTORE_1 = 0x3c "istore_1", ISTORE_2 = 0x3d "istore_2",
    ISTORE_3 = 0x3e "istore_3", LSTORE_0 = 0x3f "lstore_0", LSTORE_1 = 0x40 "lstore_1",
    LSTORE_2 = 0x41 "lstore_2", LSTORE_3 = 0x42 "lstore_3", FSTORE_0 = 0x43 "fstore_0",
    FSTORE_1 = 0x44 "fstore_1", FSTORE_2 = 0x45 "fstore_2", FSTORE_3 = 0x46 "fstore_3",
    DSTORE_0 = 0x47 "dstore_0", DSTORE_1 = 0x48 "dstore_1", DSTORE_2 = 0x49 "dstore_2",
    DSTORE_3 = 0x4a "dstore_3", ASTORE_0 = 0x4b "astore_0", ASTORE_1 = 0x4c "astore_1",
    ASTORE_2 = 0x4d "astore_2", ASTORE_3 = 0x4e "astore_3",
    IASTORE = 0x4f "iastore", LASTORE = 0x50 "lastore", FASTORE = 0x51 "fastore",
    DASTORE = 0x52 "dastore", AASTORE = 0x53 "aastore", BASTORE = 0x54 "bastore",
    CASTORE = 0x55 "castore", SASTORE = 0x56 "sastore",
    POP = 0x57 "pop", POP2 = 0x58 "pop2", DUP = 0x59 "dup", DUP_X1 = 0x5a "dup_x1",
    DUP_X2 = 0x5b "dup_x2", DUP2 = 0x5c "dup2", DUP2_X1 = 0x5d "dup2_x1",
    DUP2_X2 = 0x5e "dup2_x2", SWAP = 0x5f "swap",
    IADD = 0x60 "iadd", LADD = 0x61 "ladd", FADD = 0x62 "fadd", DADD = 0x63 "dadd",
    ISUB = 0x64 "isub", LSUB = 0x65 "lsub", FSUB = 0x66 "fsub", DSUB = 0x67 "dsub",
    IMUL = 0x68 "imul", LMUL = 0x69 "lmul", FMUL = 0x6a "fmul", DMUL = 0x6b "dmul",
    IDIV = 0x6c "idiv", LDIV = 0x6d "ldiv", FDIV = 0x6e "fdiv", DDIV = 0x6f "ddiv",
    IREM = 0x70 "irem", LREM = 0x71 "lrem", FREM = 0x72 "frem", DREM = 0x73 "drem",
    INEG = 0x74 "ineg", LNEG = 0x75 "lneg", FNEG = 0x76 "fneg", DNEG = 0x77 "dneg",
    ISHL = 0x78 "ishl", LSHL = 0x79 "lshl", ISHR = 0x7a "ishr", LSHR = 0x7b "lshr",
    IUSHR = 0x7c "iushr", LUSHR = 0x7d "lushr", IAND = 0x7e "iand", LAND = 0x7f "land",
    IOR = 0x80 "ior", LOR = 0x81 "lor", IXOR = 0x82 "ixor", LXOR = 0x83 "lxor",
    IINC = 0x84 "iinc",
    I2L = 0x85 "i2l", I2F = 0x86 "i2f", I2D = 0x87 "i2d", L2I = 0x88 "l2i", L2F = 0x89 "l2f",
    L2D = 0x8a "l2d", F2I = 0x8b "f2i", F2L = 0x8c "f2l", F2D = 0x8d "f2d", D2I = 0x8e "d2i",
    D2L = 0x8f "d2l", D2F = 0x90 "d2f", I2B = 0x91 "i2b", I2C = 0x92 "i2c", I2S = 0x93 "i2s",
    LCMP = 0x94 "lcmp", FCMPL = 0x95 "fcmpl", FCMPG = 0x96 "fcmpg", DCMPL = 0x97 "dcmpl",
    DCMPG = 0x98 "dcmpg",
    IFEQ = 0x99 "ifeq", IFNE = 0x9a "ifne", IFLT = 0x9b "iflt", IFGE = 0x9c "ifge",
    IFGT = 0x9d "ifgt", IFLE = 0x9e "ifle", IF_ICMPEQ = 0x9f "if_icmpeq",
    IF_ICMPNE = 0xa0 "if_icmpne", IF_ICMPLT = 0xa1 "if_icmplt", IF_ICMPGE = 0xa2 "if_icmpge",
    IF_ICMPGT = 0xa3 "if_icmpgt", IF_ICMPLE = 0xa4 "if_icmple", IF_ACMPEQ = 0xa5 "if_acmpeq",
    IF_ACMPNE = 0xa6 "if_acmpne", GOTO = 0xa7 "goto", JSR = 0xa8 "jsr", RET = 0xa9 "ret",
    TABLESWITCH = 0xaa "tableswitch", LOOKUPSWITCH = 0xab "lookupswitch",
    IRETURN = 0xac "ireturn", LRETURN = 0xad "lreturn", FRETURN = 0xae "freturn",
    DRETURN = 0xaf "dreturn", ARETURN = 0xb0 "areturn", RETURN = 0xb1 "return",
    GETSTATIC = 0xb2 "getstatic", PUTSTATIC = 0xb3 "putstatic", GETFIELD = 0xb4 "getfield",
    PUTFIELD = 0xb5 "putfield", INVOKEVIRTUAL = 0xb6 "invokevirtual",
    INVOKESPECIAL = 0xb7 "invokespecial", INVOKESTATIC = 0xb8 "invokestatic",
    INVOKEINTERFACE = 0xb9 "invokeinterface", INVOKEDYNAMIC = 0xba "invokedynamic",
    NEW = 0xbb "new", NEWARRAY = 0xbc "newarray", ANEWARRAY = 0xbd "anewarray",
    ARRAYLENGTH = 0xbe "arraylength", ATHROW = 0xbf "athrow", CHECKCAST = 0xc0 "checkcast",
    INSTANCEOF = 0xc1 "instanceof", MONITORENTER = 0xc2 "monitorenter",
    MONITOREXIT = 0xc3 "monitorexit", WIDE = 0xc4 "wide",
    MULTIANEWARRAY = 0xc5 "multianewarray", IFNULL = 0xc6 "ifnull",
    IFNONNULL = 0xc7 "ifnonnull", GOTO_W = 0xc8 "goto_w", JSR_W = 0xc9 "jsr_w",
    BREAKPOINT = 0xca "breakpoint", IMPDEP1 = 0xfe "impdep1", IMPDEP2 = 0xff "impdep2",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_wide() {
        // iconst_0; istore 5; wide iinc 300 -1000; wide aload 256; ifeq -> 0 ; return
        let code = [
            0x03, 0x36, 5, 0xc4, 0x84, 0x01, 0x2c, 0xfc, 0x18, 0xc4, 0x19, 0x01, 0x00, 0x99, 0xff,
            0xf3, 0xb1,
        ];
        let insns = decode(&code).unwrap();
        let got: Vec<_> = insns
            .iter()
            .map(|i| (i.pc, i.opcode, i.operands.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, op::ICONST_0, Operands::None),
                (1, op::ISTORE, Operands::Local(5)),
                (
                    3,
                    op::IINC,
                    Operands::Iinc {
                        index: 300,
                        delta: -1000
                    }
                ),
                (9, op::ALOAD, Operands::Local(256)),
                (13, op::IFEQ, Operands::Branch(0)),
                (16, op::RETURN, Operands::None),
            ]
        );
        let total: u32 = insns.iter().map(Insn::encoded_len).sum();
        assert_eq!(total as usize, code.len());
    }

    #[test]
    fn switches_are_padded_and_absolute() {
        // nop; tableswitch at pc 1 (2 padding bytes), keys 1..=2; every target
        // is the return at pc 44.
        let mut code = vec![0x00, 0xaa, 0, 0];
        for v in [43i32, 1, 2, 43, 43] {
            code.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(code.len(), 24);
        // lookupswitch at pc 24 (3 padding bytes), one pair.
        code.extend_from_slice(&[0xab, 0, 0, 0]);
        for v in [20i32, 1, -5, 20] {
            code.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(code.len(), 44);
        code.push(0xb1);
        let insns = decode(&code).unwrap();
        assert_eq!(
            insns[1].operands,
            Operands::TableSwitch {
                default: 44,
                low: 1,
                high: 2,
                targets: vec![44, 44]
            }
        );
        assert_eq!(
            insns[2].operands,
            Operands::LookupSwitch {
                default: 44,
                pairs: vec![(-5, 44)]
            }
        );
        let total: u32 = insns.iter().map(Insn::encoded_len).sum();
        assert_eq!(total as usize, code.len());
    }

    #[test]
    fn errors_name_pc() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x00, 0xcb], "opcode 0xcb"),
            (&[0xca], "breakpoint"),
            (&[0x11, 0x00], "sipush operand"),
            (&[0xa7, 0x00, 0x10], "outside the code"),
            (&[0xa7, 0x00, 0x04, 0x11, 0, 0], "inside an instruction"),
            (&[0xc4, 0x10, 0], "cannot widen bipush"),
            (&[0xbc, 3], "array type 3"),
            (&[0xb9, 0, 1, 0, 0], "count is 0"),
            (
                &[0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1],
                "low 2 is above high 1",
            ),
        ];
        for (code, want) in cases {
            let e = decode(code).unwrap_err().to_string();
            assert!(e.contains(want), "{code:02x?}: {e}");
            assert!(e.contains("bytecode"), "{e}");
        }
        let e = decode_at(&[0x00, 0x00, 0xff], "method m()V")
            .unwrap_err()
            .to_string();
        assert!(e.contains("method m()V") && e.contains("offset 0x2"), "{e}");
    }

    #[test]
    fn mnemonics() {
        assert_eq!(mnemonic(0x00), "nop");
        assert_eq!(mnemonic(op::INVOKEDYNAMIC), "invokedynamic");
        assert_eq!(mnemonic(0xc9), "jsr_w");
        assert_eq!(mnemonic(0xd0), "unknown");
    }
}
