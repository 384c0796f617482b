//! Pre-decoded method code: what the linker turns a method's Java Card
//! bytecode into, so the interpreter never parses bytes at run time.
//!
//! Each instruction becomes one fixed-size [`Op`]: the opcode and two
//! operands, with branch offsets replaced by instruction indices, switch
//! tables moved to a side table and constant-pool indices kept (they index
//! the package's resolved constant pool). Nothing is allocated while code
//! runs.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use cap_tools::cap::bytecode::{Instruction, Operands};

/// One instruction: `code` is the JCVM opcode; `a` and `b` its operands
/// (constants, local indices, resolved branch targets, constant-pool or
/// switch-table indices, depending on the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub code: u8,
    pub a: i32,
    pub b: i32,
}

/// A switch: values `low..` (table) or explicit pairs (lookup), targets as
/// instruction indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    Table {
        low: i32,
        targets: Vec<u32>,
        default: u32,
    },
    Lookup {
        pairs: Vec<(i32, u32)>,
        default: u32,
    },
}

/// Decoded code of one method.
#[derive(Debug, Clone, Default)]
pub struct Code {
    pub ops: Vec<Op>,
    /// Byte offset of each op in the Method component (for handlers).
    pub offsets: Vec<u32>,
    pub switches: Vec<Switch>,
}

/// Why a method's code cannot run.
pub type CodeError = String;

impl Code {
    /// The op index at a component byte offset, if an instruction starts there.
    pub fn index_at(&self, offset: u32) -> Option<u32> {
        self.offsets
            .binary_search(&offset)
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Decodes instructions; `cp_len` bounds constant-pool indices.
    pub fn decode(code: &[Instruction], cp_len: usize) -> Result<Code, CodeError> {
        let offsets: Vec<u32> = code.iter().map(|i| i.offset).collect();
        let mut out = Code {
            ops: Vec::with_capacity(code.len()),
            offsets: Vec::new(),
            switches: Vec::new(),
        };
        for ins in code {
            let target = |rel: i32| -> Result<i32, CodeError> {
                let abs = i64::from(ins.offset) + i64::from(rel);
                u32::try_from(abs)
                    .ok()
                    .and_then(|a| offsets.binary_search(&a).ok())
                    .map(|i| i as i32)
                    .ok_or_else(|| {
                        format!(
                            "branch at offset {} to {abs}: no instruction starts there",
                            ins.offset
                        )
                    })
            };
            let cp = |idx: u16| -> Result<i32, CodeError> {
                if usize::from(idx) < cp_len {
                    Ok(i32::from(idx))
                } else {
                    Err(format!(
                        "constant pool index {idx} at offset {} beyond the {cp_len} entries",
                        ins.offset
                    ))
                }
            };
            let (a, b) = match &ins.operands {
                Operands::None => (0, 0),
                Operands::Byte(v) => (i32::from(*v), 0),
                Operands::Short(v) => (i32::from(*v), 0),
                Operands::Int(v) => (*v, 0),
                Operands::Local(i) => (i32::from(*i), 0),
                Operands::LocalInc { index, constant } => (i32::from(*index), i32::from(*constant)),
                Operands::LocalIncWide { index, constant } => {
                    (i32::from(*index), i32::from(*constant))
                }
                Operands::StackWords(mn) => (i32::from(*mn >> 4), i32::from(*mn & 0x0F)),
                Operands::Branch(rel) => (target(i32::from(*rel))?, 0),
                Operands::BranchWide(rel) => (target(i32::from(*rel))?, 0),
                Operands::Cp1(i) => (cp(u16::from(*i))?, 0),
                Operands::Cp2(i) => (cp(*i)?, 0),
                Operands::ArrayType(t) => (i32::from(*t), 0),
                Operands::TypeCheck { atype, index } => {
                    let idx = if matches!(*atype, 0 | 14) {
                        cp(*index)?
                    } else {
                        0
                    };
                    (i32::from(*atype), idx)
                }
                Operands::InvokeInterface {
                    nargs,
                    index,
                    token,
                } => (cp(*index)?, i32::from(*nargs) | (i32::from(*token) << 8)),
                Operands::STableSwitch {
                    default,
                    low,
                    offsets,
                    ..
                } => {
                    let s = Switch::Table {
                        low: i32::from(*low),
                        targets: offsets
                            .iter()
                            .map(|o| target(i32::from(*o)).map(|t| t as u32))
                            .collect::<Result<_, _>>()?,
                        default: target(i32::from(*default))? as u32,
                    };
                    out.switches.push(s);
                    ((out.switches.len() - 1) as i32, 0)
                }
                Operands::ITableSwitch {
                    default,
                    low,
                    offsets,
                    ..
                } => {
                    let s = Switch::Table {
                        low: *low,
                        targets: offsets
                            .iter()
                            .map(|o| target(i32::from(*o)).map(|t| t as u32))
                            .collect::<Result<_, _>>()?,
                        default: target(i32::from(*default))? as u32,
                    };
                    out.switches.push(s);
                    ((out.switches.len() - 1) as i32, 0)
                }
                Operands::SLookupSwitch { default, pairs } => {
                    let s = Switch::Lookup {
                        pairs: pairs
                            .iter()
                            .map(|p| {
                                target(i32::from(p.offset))
                                    .map(|t| (i32::from(p.match_value), t as u32))
                            })
                            .collect::<Result<_, _>>()?,
                        default: target(i32::from(*default))? as u32,
                    };
                    out.switches.push(s);
                    ((out.switches.len() - 1) as i32, 0)
                }
                Operands::ILookupSwitch { default, pairs } => {
                    let s = Switch::Lookup {
                        pairs: pairs
                            .iter()
                            .map(|p| target(i32::from(p.offset)).map(|t| (p.match_value, t as u32)))
                            .collect::<Result<_, _>>()?,
                        default: target(i32::from(*default))? as u32,
                    };
                    out.switches.push(s);
                    ((out.switches.len() - 1) as i32, 0)
                }
            };
            out.ops.push(Op {
                code: ins.opcode,
                a,
                b,
            });
        }
        out.offsets = offsets;
        Ok(out)
    }
}

/// Checks that every local variable an op names lies in the frame's
/// `words` (arguments and locals): the interpreter indexes without checks.
pub fn check_locals(code: &Code, words: usize) -> Result<(), CodeError> {
    for (i, op) in code.ops.iter().enumerate() {
        let (index, width) = match op.code {
            0x15 | 0x16 | 0x28 | 0x29 | 0x59 | 0x96 | 0x72 => (op.a as usize, 1),
            0x17 | 0x2A | 0x5A | 0x97 => (op.a as usize, 2),
            0x18..=0x1B => (usize::from(op.code - 0x18), 1),
            0x1C..=0x1F => (usize::from(op.code - 0x1C), 1),
            0x20..=0x23 => (usize::from(op.code - 0x20), 2),
            0x2B..=0x2E => (usize::from(op.code - 0x2B), 1),
            0x2F..=0x32 => (usize::from(op.code - 0x2F), 1),
            0x33..=0x36 => (usize::from(op.code - 0x33), 2),
            0xAD..=0xB8 => (0, 1),
            _ => continue,
        };
        if index + width > words {
            return Err(format!(
                "instruction {i} at offset {} uses local {index} of a frame with {words} words",
                code.offsets[i]
            ));
        }
    }
    Ok(())
}

/// Whether an op works on ints (JCVM chapter 7: the instructions a card
/// without int support, or a package without ACC_INT, may not use).
pub fn uses_int(op: &Op) -> bool {
    matches!(
        op.code,
        0x09..=0x0F
            | 0x12..=0x14
            | 0x17
            | 0x20..=0x23
            | 0x27
            | 0x2A
            | 0x33..=0x36
            | 0x3A
            | 0x42
            | 0x44
            | 0x46
            | 0x48
            | 0x4A
            | 0x4C
            | 0x4E
            | 0x50
            | 0x52
            | 0x54
            | 0x56
            | 0x58
            | 0x5A
            | 0x5C..=0x5F
            | 0x74
            | 0x76
            | 0x79
            | 0x7E
            | 0x82
            | 0x86
            | 0x8A
            | 0x97
            | 0xAC
            | 0xB0
            | 0xB4
            | 0xB8
    ) || (op.code == 0x90 && op.a == 13)
}
