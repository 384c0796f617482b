//! The Java Card instruction set (JCVM specification chapter 7): decoding a
//! method's bytecodes into [`Instruction`]s and encoding them back byte for byte.
//!
//! The Method component stores code without lengths or labels, so everything
//! that reads code (the Method component decoder, the verifier, the
//! disassembler, the emulator's linker) goes through [`decode_code`]. Operand
//! shapes come from one table, [`opcodes::OPCODES`].

pub mod opcodes;

use serde::Serialize;

use crate::bytes::{Reader, WriteExt};
use crate::error::{Error, Location, Result};

pub use opcodes::{opcode_by_mnemonic, opcode_info, Layout, OpcodeInfo};

/// Constant-pool entry tags (JCVM table "CAP file constant pool tags").
pub mod cp_tag {
    pub const CLASSREF: u8 = 1;
    pub const INSTANCE_FIELDREF: u8 = 2;
    pub const VIRTUAL_METHODREF: u8 = 3;
    pub const SUPER_METHODREF: u8 = 4;
    pub const STATIC_FIELDREF: u8 = 5;
    pub const STATIC_METHODREF: u8 = 6;
}

/// `atype` codes of `newarray`, `checkcast` and `instanceof`.
pub mod atype {
    /// `checkcast`/`instanceof` only: the index names a class or an interface.
    pub const CLASS_OR_INTERFACE: u8 = 0;
    pub const T_BOOLEAN: u8 = 10;
    pub const T_BYTE: u8 = 11;
    pub const T_SHORT: u8 = 12;
    pub const T_INT: u8 = 13;
    /// `checkcast`/`instanceof` only: an array of references; the index names the element class.
    pub const T_REFERENCE: u8 = 14;
}

/// Which constant-pool entry kinds an instruction's index may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExpectedCp {
    /// A CONSTANT_Classref (`new`, `anewarray`).
    ClassRef,
    /// A CONSTANT_Classref naming an interface (`invokeinterface`).
    InterfaceRef,
    /// The type operand of `checkcast`/`instanceof` whose `atype` is 0 (class or
    /// interface) or 14 (array of references, the index names the element
    /// class): a CONSTANT_Classref. With `atype` 10..=13 (primitive arrays) the
    /// index is no constant-pool reference at all and `cp_index` returns `None`.
    CastTarget { atype: u8 },
    /// A CONSTANT_InstanceFieldref (`getfield_*`, `putfield_*`, their `_w` and `_this` forms).
    InstanceFieldRef,
    /// A CONSTANT_VirtualMethodref (`invokevirtual`).
    VirtualMethodRef,
    /// A CONSTANT_SuperMethodref (never alone: see `StaticOrSuperMethodRef`).
    SuperMethodRef,
    /// A CONSTANT_StaticFieldref (`getstatic_*`, `putstatic_*`).
    StaticFieldRef,
    /// A CONSTANT_StaticMethodref (`invokestatic`).
    StaticMethodRef,
    /// `invokespecial`: a CONSTANT_StaticMethodref (constructors, private
    /// methods) or a CONSTANT_SuperMethodref (`super.m()` calls).
    StaticOrSuperMethodRef,
}

impl ExpectedCp {
    /// True when a constant-pool entry with `tag` (see [`cp_tag`]) satisfies this expectation.
    pub fn accepts(&self, tag: u8) -> bool {
        match self {
            ExpectedCp::ClassRef | ExpectedCp::InterfaceRef | ExpectedCp::CastTarget { .. } => {
                tag == cp_tag::CLASSREF
            }
            ExpectedCp::InstanceFieldRef => tag == cp_tag::INSTANCE_FIELDREF,
            ExpectedCp::VirtualMethodRef => tag == cp_tag::VIRTUAL_METHODREF,
            ExpectedCp::SuperMethodRef => tag == cp_tag::SUPER_METHODREF,
            ExpectedCp::StaticFieldRef => tag == cp_tag::STATIC_FIELDREF,
            ExpectedCp::StaticMethodRef => tag == cp_tag::STATIC_METHODREF,
            ExpectedCp::StaticOrSuperMethodRef => {
                tag == cp_tag::STATIC_METHODREF || tag == cp_tag::SUPER_METHODREF
            }
        }
    }
}

/// One `match`/`offset` pair of a lookupswitch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwitchPair<K> {
    pub match_value: K,
    /// Branch offset relative to the switch opcode.
    pub offset: i16,
}

/// The operands of an instruction, by shape (see [`Layout`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Operands {
    None,
    Byte(i8),
    Short(i16),
    Int(i32),
    Local(u8),
    LocalInc {
        index: u8,
        constant: i8,
    },
    LocalIncWide {
        index: u8,
        constant: i16,
    },
    /// The `mn` byte of `dup_x`/`swap_x`.
    StackWords(u8),
    /// Branch offset relative to the opcode.
    Branch(i8),
    BranchWide(i16),
    Cp1(u8),
    Cp2(u16),
    ArrayType(u8),
    TypeCheck {
        atype: u8,
        index: u16,
    },
    InvokeInterface {
        nargs: u8,
        index: u16,
        token: u8,
    },
    STableSwitch {
        default: i16,
        low: i16,
        high: i16,
        offsets: Vec<i16>,
    },
    ITableSwitch {
        default: i16,
        low: i32,
        high: i32,
        offsets: Vec<i16>,
    },
    SLookupSwitch {
        default: i16,
        pairs: Vec<SwitchPair<i16>>,
    },
    ILookupSwitch {
        default: i16,
        pairs: Vec<SwitchPair<i32>>,
    },
}

/// A constant-pool index operand, where it sits and what it must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpOperand {
    pub index: u16,
    /// Offset of the index bytes (as listed by the RefLocation component).
    pub operand_offset: u32,
    /// 1 or 2 bytes.
    pub width: u8,
    pub expected: ExpectedCp,
}

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Offset of the opcode within the Method component body (within its
    /// block in the extended format).
    pub offset: u32,
    pub opcode: u8,
    pub operands: Operands,
}

impl Instruction {
    /// The mnemonic, e.g. `getfield_a_this`; `"<undefined>"` for a hand-built
    /// instruction with an opcode the table does not define.
    pub fn mnemonic(&self) -> &'static str {
        opcode_info(self.opcode)
            .map(|o| o.mnemonic)
            .unwrap_or("<undefined>")
    }

    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        1 + match &self.operands {
            Operands::None => 0,
            Operands::Byte(_)
            | Operands::Local(_)
            | Operands::StackWords(_)
            | Operands::Branch(_)
            | Operands::Cp1(_)
            | Operands::ArrayType(_) => 1,
            Operands::Short(_)
            | Operands::LocalInc { .. }
            | Operands::BranchWide(_)
            | Operands::Cp2(_) => 2,
            Operands::LocalIncWide { .. } | Operands::TypeCheck { .. } => 3,
            Operands::Int(_) | Operands::InvokeInterface { .. } => 4,
            Operands::STableSwitch { offsets, .. } => 6 + 2 * offsets.len(),
            Operands::ITableSwitch { offsets, .. } => 10 + 2 * offsets.len(),
            Operands::SLookupSwitch { pairs, .. } => 4 + 4 * pairs.len(),
            Operands::ILookupSwitch { pairs, .. } => 4 + 6 * pairs.len(),
        }
    }

    /// Always false: an instruction has at least its opcode byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The constant-pool index this instruction uses, if any.
    pub fn cp_index(&self) -> Option<CpOperand> {
        let layout = opcode_info(self.opcode)?.layout;
        let at = |skip: u32| self.offset.saturating_add(skip);
        match (layout, &self.operands) {
            (Layout::Cp1(expected), Operands::Cp1(i)) => Some(CpOperand {
                index: u16::from(*i),
                operand_offset: at(1),
                width: 1,
                expected,
            }),
            (Layout::Cp2(expected), Operands::Cp2(i)) => Some(CpOperand {
                index: *i,
                operand_offset: at(1),
                width: 2,
                expected,
            }),
            (Layout::InvokeInterface, Operands::InvokeInterface { index, .. }) => Some(CpOperand {
                index: *index,
                operand_offset: at(2),
                width: 2,
                expected: ExpectedCp::InterfaceRef,
            }),
            (Layout::TypeCheck, Operands::TypeCheck { atype, index })
                if *atype == atype::CLASS_OR_INTERFACE || *atype == atype::T_REFERENCE =>
            {
                Some(CpOperand {
                    index: *index,
                    operand_offset: at(2),
                    width: 2,
                    expected: ExpectedCp::CastTarget { atype: *atype },
                })
            }
            _ => None,
        }
    }

    /// Absolute offsets this instruction may jump to (branch targets, switch
    /// cases and defaults), in operand order. Empty for non-branching instructions.
    pub fn branch_targets(&self) -> Vec<i64> {
        let base = i64::from(self.offset);
        match &self.operands {
            Operands::Branch(d) => vec![base + i64::from(*d)],
            Operands::BranchWide(d) => vec![base + i64::from(*d)],
            Operands::STableSwitch {
                default, offsets, ..
            }
            | Operands::ITableSwitch {
                default, offsets, ..
            } => std::iter::once(default)
                .chain(offsets)
                .map(|d| base + i64::from(*d))
                .collect(),
            Operands::SLookupSwitch { default, pairs } => std::iter::once(*default)
                .chain(pairs.iter().map(|p| p.offset))
                .map(|d| base + i64::from(d))
                .collect(),
            Operands::ILookupSwitch { default, pairs } => std::iter::once(*default)
                .chain(pairs.iter().map(|p| p.offset))
                .map(|d| base + i64::from(d))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// False when control never continues to the next instruction: returns,
    /// `athrow`, `goto`, `goto_w`, `ret` and the switches.
    pub fn falls_through(&self) -> bool {
        !matches!(
            self.mnemonic(),
            "areturn"
                | "sreturn"
                | "ireturn"
                | "return"
                | "athrow"
                | "goto"
                | "goto_w"
                | "ret"
                | "stableswitch"
                | "itableswitch"
                | "slookupswitch"
                | "ilookupswitch"
        )
    }

    /// Appends the encoded instruction. Fails when the operands do not have the
    /// shape the opcode needs, or a switch table is inconsistent.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let bad = |what: &str| {
            Error::encode(
                "instruction",
                format!(
                    "{} ({:#04x}) at offset {:#x}: {what}",
                    self.mnemonic(),
                    self.opcode,
                    self.offset
                ),
            )
        };
        let info = opcode_info(self.opcode).ok_or_else(|| bad("undefined opcode"))?;
        out.put_u1(self.opcode);
        match (info.layout, &self.operands) {
            (Layout::None, Operands::None) => {}
            (Layout::Byte, Operands::Byte(v)) | (Layout::Branch, Operands::Branch(v)) => {
                out.put_u1(*v as u8)
            }
            (Layout::Short, Operands::Short(v)) | (Layout::BranchWide, Operands::BranchWide(v)) => {
                out.put_u2(*v as u16)
            }
            (Layout::Int, Operands::Int(v)) => out.put_u4(*v as u32),
            (Layout::Local, Operands::Local(v))
            | (Layout::StackWords, Operands::StackWords(v))
            | (Layout::Cp1(_), Operands::Cp1(v))
            | (Layout::ArrayType, Operands::ArrayType(v)) => out.put_u1(*v),
            (Layout::LocalInc, Operands::LocalInc { index, constant }) => {
                out.put_u1(*index);
                out.put_u1(*constant as u8);
            }
            (Layout::LocalIncWide, Operands::LocalIncWide { index, constant }) => {
                out.put_u1(*index);
                out.put_u2(*constant as u16);
            }
            (Layout::Cp2(_), Operands::Cp2(v)) => out.put_u2(*v),
            (Layout::TypeCheck, Operands::TypeCheck { atype, index }) => {
                out.put_u1(*atype);
                out.put_u2(*index);
            }
            (
                Layout::InvokeInterface,
                Operands::InvokeInterface {
                    nargs,
                    index,
                    token,
                },
            ) => {
                out.put_u1(*nargs);
                out.put_u2(*index);
                out.put_u1(*token);
            }
            (
                Layout::STableSwitch,
                Operands::STableSwitch {
                    default,
                    low,
                    high,
                    offsets,
                },
            ) => {
                if i64::from(*high) - i64::from(*low) + 1 != offsets.len() as i64 {
                    return Err(bad("high - low + 1 differs from the number of offsets"));
                }
                out.put_u2(*default as u16);
                out.put_u2(*low as u16);
                out.put_u2(*high as u16);
                offsets.iter().for_each(|o| out.put_u2(*o as u16));
            }
            (
                Layout::ITableSwitch,
                Operands::ITableSwitch {
                    default,
                    low,
                    high,
                    offsets,
                },
            ) => {
                if i64::from(*high) - i64::from(*low) + 1 != offsets.len() as i64 {
                    return Err(bad("high - low + 1 differs from the number of offsets"));
                }
                out.put_u2(*default as u16);
                out.put_u4(*low as u32);
                out.put_u4(*high as u32);
                offsets.iter().for_each(|o| out.put_u2(*o as u16));
            }
            (Layout::SLookupSwitch, Operands::SLookupSwitch { default, pairs }) => {
                let n = u16::try_from(pairs.len()).map_err(|_| bad("too many pairs"))?;
                out.put_u2(*default as u16);
                out.put_u2(n);
                for p in pairs {
                    out.put_u2(p.match_value as u16);
                    out.put_u2(p.offset as u16);
                }
            }
            (Layout::ILookupSwitch, Operands::ILookupSwitch { default, pairs }) => {
                let n = u16::try_from(pairs.len()).map_err(|_| bad("too many pairs"))?;
                out.put_u2(*default as u16);
                out.put_u2(n);
                for p in pairs {
                    out.put_u4(p.match_value as u32);
                    out.put_u2(p.offset as u16);
                }
            }
            (layout, ops) => {
                return Err(bad(&format!(
                    "operands {ops:?} do not match the opcode's layout {layout:?}"
                )))
            }
        }
        Ok(())
    }
}

/// Decodes one instruction at the reader's position. The reader's offsets are
/// the ones recorded in [`Instruction::offset`].
pub fn decode_instruction(r: &mut Reader<'_>) -> Result<Instruction> {
    let at = r.offset();
    let offset = u32::try_from(at).map_err(|_| r.error("code offset exceeds 4 GiB"))?;
    let opcode = r.u1("opcode")?;
    let info = opcode_info(opcode).ok_or_else(|| {
        r.error_at(
            at,
            format!("unknown opcode byte {opcode:#04x} (no Java Card instruction has it)"),
        )
    })?;
    let operands = decode_operands(r, info)?;
    Ok(Instruction {
        offset,
        opcode,
        operands,
    })
}

fn decode_operands(r: &mut Reader<'_>, info: &OpcodeInfo) -> Result<Operands> {
    let s1 = |r: &mut Reader<'_>, f| r.u1(f).map(|v| v as i8);
    let s2 = |r: &mut Reader<'_>, f| r.u2(f).map(|v| v as i16);
    let s4 = |r: &mut Reader<'_>, f| r.u4(f).map(|v| v as i32);
    Ok(match info.layout {
        Layout::None => Operands::None,
        Layout::Byte => Operands::Byte(s1(r, "byte operand")?),
        Layout::Short => Operands::Short(s2(r, "short operand")?),
        Layout::Int => Operands::Int(s4(r, "int operand")?),
        Layout::Local => Operands::Local(r.u1("local variable index")?),
        Layout::LocalInc => Operands::LocalInc {
            index: r.u1("local variable index")?,
            constant: s1(r, "increment")?,
        },
        Layout::LocalIncWide => Operands::LocalIncWide {
            index: r.u1("local variable index")?,
            constant: s2(r, "increment")?,
        },
        Layout::StackWords => Operands::StackWords(r.u1("mn operand")?),
        Layout::Branch => Operands::Branch(s1(r, "branch offset")?),
        Layout::BranchWide => Operands::BranchWide(s2(r, "branch offset")?),
        Layout::Cp1(_) => Operands::Cp1(r.u1("constant pool index")?),
        Layout::Cp2(_) => Operands::Cp2(r.u2("constant pool index")?),
        Layout::ArrayType => Operands::ArrayType(r.u1("atype")?),
        Layout::TypeCheck => Operands::TypeCheck {
            atype: r.u1("atype")?,
            index: r.u2("constant pool index")?,
        },
        Layout::InvokeInterface => Operands::InvokeInterface {
            nargs: r.u1("nargs")?,
            index: r.u2("constant pool index")?,
            token: r.u1("method token")?,
        },
        Layout::STableSwitch => {
            let default = s2(r, "tableswitch default")?;
            let low = s2(r, "tableswitch low")?;
            let high = s2(r, "tableswitch high")?;
            let offsets = table_offsets(r, i64::from(low), i64::from(high))?;
            Operands::STableSwitch {
                default,
                low,
                high,
                offsets,
            }
        }
        Layout::ITableSwitch => {
            let default = s2(r, "tableswitch default")?;
            let low = s4(r, "tableswitch low")?;
            let high = s4(r, "tableswitch high")?;
            let offsets = table_offsets(r, i64::from(low), i64::from(high))?;
            Operands::ITableSwitch {
                default,
                low,
                high,
                offsets,
            }
        }
        Layout::SLookupSwitch => {
            let default = s2(r, "lookupswitch default")?;
            let n = r.u2("lookupswitch npairs")? as usize;
            let n = r.bounded_count(n, 4, "lookupswitch pairs")?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push(SwitchPair {
                    match_value: s2(r, "lookupswitch match")?,
                    offset: s2(r, "lookupswitch offset")?,
                });
            }
            Operands::SLookupSwitch { default, pairs }
        }
        Layout::ILookupSwitch => {
            let default = s2(r, "lookupswitch default")?;
            let n = r.u2("lookupswitch npairs")? as usize;
            let n = r.bounded_count(n, 6, "lookupswitch pairs")?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push(SwitchPair {
                    match_value: s4(r, "lookupswitch match")?,
                    offset: s2(r, "lookupswitch offset")?,
                });
            }
            Operands::ILookupSwitch { default, pairs }
        }
    })
}

/// Reads the `high - low + 1` jump offsets of a tableswitch.
fn table_offsets(r: &mut Reader<'_>, low: i64, high: i64) -> Result<Vec<i16>> {
    if high < low {
        return Err(r.error(format!(
            "tableswitch high {high} is below low {low}: the table would have no entries"
        )));
    }
    let count = usize::try_from(high - low + 1)
        .map_err(|_| r.error("tableswitch range does not fit in memory"))?;
    let count = r.bounded_count(count, 2, "tableswitch offsets")?;
    let mut offsets = Vec::with_capacity(count);
    for _ in 0..count {
        offsets.push(r.u2("tableswitch offset")? as i16);
    }
    Ok(offsets)
}

/// Decodes instructions from `r` until it is empty.
pub fn decode_all(r: &mut Reader<'_>) -> Result<Vec<Instruction>> {
    // Every instruction is at least one byte, so this never over-allocates.
    let mut out = Vec::with_capacity(r.remaining().min(4096));
    while !r.is_empty() {
        out.push(decode_instruction(r)?);
    }
    Ok(out)
}

/// Decodes a whole code array. `base_offset` is the offset of `bytes[0]`
/// within the Method component body (or block); instruction offsets and error
/// offsets are reported relative to that body. `location` names the structure
/// in errors.
pub fn decode_code(
    bytes: &[u8],
    base_offset: usize,
    location: impl Into<Location>,
) -> Result<Vec<Instruction>> {
    let mut r = Reader::new(bytes, location);
    let mut out = decode_all(&mut r).map_err(|e| rebase(e, base_offset))?;
    for i in &mut out {
        let shifted = usize::try_from(i.offset)
            .ok()
            .and_then(|o| o.checked_add(base_offset))
            .and_then(|o| u32::try_from(o).ok())
            .ok_or_else(|| {
                Error::invalid(r.location().clone(), base_offset, "code offset overflows")
            })?;
        i.offset = shifted;
    }
    Ok(out)
}

/// Encodes instructions back to bytes.
pub fn encode_code(code: &[Instruction], out: &mut Vec<u8>) -> Result<()> {
    code.iter().try_for_each(|i| i.encode(out))
}

/// Moves an error's offset by `base`, for readers that start at 0 inside a
/// larger structure.
fn rebase(e: Error, base: usize) -> Error {
    match e {
        Error::Truncated {
            location,
            offset,
            field,
            needed,
            available,
        } => Error::Truncated {
            location,
            offset: offset.saturating_add(base),
            field,
            needed,
            available,
        },
        Error::Invalid {
            location,
            offset,
            message,
        } => Error::Invalid {
            location,
            offset: offset.saturating_add(base),
            message,
        },
        Error::TrailingBytes {
            location,
            offset,
            extra,
        } => Error::TrailingBytes {
            location,
            offset: offset.saturating_add(base),
            extra,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) -> Vec<Instruction> {
        let code = decode_code(bytes, 0x10, "test code").unwrap();
        let mut out = Vec::new();
        encode_code(&code, &mut out).unwrap();
        assert_eq!(out, bytes);
        let total: usize = code.iter().map(Instruction::len).sum();
        assert_eq!(total, bytes.len());
        code
    }

    #[test]
    fn simple_sequence_with_offsets_and_mnemonics() {
        // aload_0; invokespecial 5; sload_1; putfield_s_this 0; return
        let code = round_trip(&[0x18, 0x8C, 0x00, 0x05, 0x1D, 0xB7, 0x00, 0x7A]);
        let names: Vec<_> = code.iter().map(Instruction::mnemonic).collect();
        assert_eq!(
            names,
            [
                "aload_0",
                "invokespecial",
                "sload_1",
                "putfield_s_this",
                "return"
            ]
        );
        let offsets: Vec<_> = code.iter().map(|i| i.offset).collect();
        assert_eq!(offsets, [0x10, 0x11, 0x14, 0x15, 0x17]);
        assert_eq!(
            code[1].cp_index(),
            Some(CpOperand {
                index: 5,
                operand_offset: 0x12,
                width: 2,
                expected: ExpectedCp::StaticOrSuperMethodRef
            })
        );
        assert_eq!(
            code[3].cp_index(),
            Some(CpOperand {
                index: 0,
                operand_offset: 0x16,
                width: 1,
                expected: ExpectedCp::InstanceFieldRef
            })
        );
        assert!(code[3].falls_through());
        assert!(!code[4].falls_through());
    }

    #[test]
    fn every_layout_round_trips() {
        let bytes = [
            0x10, 0xF0, // bspush -16
            0x11, 0x03, 0xE8, // sspush 1000
            0x14, 0x00, 0x01, 0x00, 0x00, // iipush 65536
            0x15, 0x04, // aload 4
            0x59, 0x03, 0xFF, // sinc 3 -1
            0x96, 0x03, 0x01, 0x00, // sinc_w 3 256
            0x3F, 0x12, // dup_x 0x12
            0x90, 0x0B, // newarray T_BYTE
            0x94, 0x00, 0x00, 0x1D, // checkcast 0 29
            0x95, 0x0B, 0x00, 0x00, // instanceof T_BYTE 0
            0x8E, 0x01, 0x00, 0x0C, 0x01, // invokeinterface 1 12 1
            0x7D, 0x00, 0x02, // getstatic_s 2
            0xFE, // impdep1
        ];
        let code = round_trip(&bytes);
        assert_eq!(code[0].operands, Operands::Byte(-16));
        assert_eq!(code[2].operands, Operands::Int(65536));
        assert_eq!(
            code[4].operands,
            Operands::LocalInc {
                index: 3,
                constant: -1
            }
        );
        assert_eq!(
            code[8].cp_index().map(|c| c.expected),
            Some(ExpectedCp::CastTarget { atype: 0 })
        );
        // A primitive-array cast names no constant-pool entry.
        assert_eq!(code[9].cp_index(), None);
        let ii = code[10].cp_index().unwrap();
        assert_eq!((ii.index, ii.width), (12, 2));
        assert_eq!(ii.expected, ExpectedCp::InterfaceRef);
        assert_eq!(ii.operand_offset, code[10].offset + 2);
        assert_eq!(
            code[11].cp_index().map(|c| c.expected),
            Some(ExpectedCp::StaticFieldRef)
        );
        assert_eq!(code[12].mnemonic(), "impdep1");
    }

    #[test]
    fn branches_are_relative_to_the_opcode() {
        // 0x10: ifeq +5 ; 0x12: goto_w -2 ; 0x15: nop ...
        let code = round_trip(&[0x60, 0x05, 0xA8, 0xFF, 0xFE, 0x00, 0x00, 0x7A]);
        assert_eq!(code[0].branch_targets(), vec![0x15]);
        assert_eq!(code[1].branch_targets(), vec![0x10]);
        assert!(code[0].falls_through());
        assert!(!code[1].falls_through());
        assert!(code[2].branch_targets().is_empty());
    }

    #[test]
    fn switches_round_trip_with_targets() {
        // stableswitch default +20, low 1, high 3, offsets 12 14 16
        let s = [
            0x73, 0x00, 0x14, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0C, 0x00, 0x0E, 0x00, 0x10,
        ];
        let code = round_trip(&s);
        assert_eq!(
            code[0].branch_targets(),
            vec![0x10 + 20, 0x10 + 12, 0x10 + 14, 0x10 + 16]
        );
        // itableswitch default 8, low -1, high 0, offsets 4 6
        let i = [
            0x74, 0x00, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
            0x06,
        ];
        round_trip(&i);
        // slookupswitch default 9, 2 pairs: (-112 -> 4) (32 -> 6)
        let l = [
            0x75, 0x00, 0x09, 0x00, 0x02, 0xFF, 0x90, 0x00, 0x04, 0x00, 0x20, 0x00, 0x06,
        ];
        let code = round_trip(&l);
        match &code[0].operands {
            Operands::SLookupSwitch { pairs, .. } => {
                assert_eq!(pairs[0].match_value, -112);
                assert_eq!(pairs[1].offset, 6);
            }
            other => panic!("{other:?}"),
        }
        // ilookupswitch default 7, 1 pair: (100000 -> 3)
        let il = [
            0x76, 0x00, 0x07, 0x00, 0x01, 0x00, 0x01, 0x86, 0xA0, 0x00, 0x03,
        ];
        let code = round_trip(&il);
        assert_eq!(code[0].branch_targets(), vec![0x17, 0x13]);
    }

    #[test]
    fn unknown_opcode_names_byte_and_offset() {
        let e = decode_code(&[0x00, 0xC0], 0x40, "Method component")
            .unwrap_err()
            .to_string();
        assert!(e.contains("0xc0"), "{e}");
        assert!(e.contains("offset 0x41"), "{e}");
        assert!(e.contains("Method component"), "{e}");
    }

    #[test]
    fn truncated_operands_are_errors() {
        for bytes in [
            &[0x11, 0x00][..],
            &[0x8E, 0x01, 0x00],
            &[0x73, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x01],
            &[0x75, 0x00, 0x00, 0xFF, 0xFF],
        ] {
            let e = decode_code(bytes, 0x20, "m").unwrap_err().to_string();
            assert!(e.starts_with("m:"), "{e}");
        }
        // The truncation offset is rebased onto the component.
        let e = decode_code(&[0x00, 0x11, 0x00], 0x20, "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("offset 0x22"), "{e}");
    }

    #[test]
    fn huge_or_inverted_tables_are_rejected_without_allocating() {
        // itableswitch low i32::MIN high i32::MAX: 2^32 entries claimed.
        let e = decode_code(
            &[
                0x74, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF,
            ],
            0,
            "m",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot fit"), "{e}");
        let e = decode_code(&[0x73, 0, 0, 0, 5, 0, 1], 0, "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("below low"), "{e}");
    }

    #[test]
    fn encode_rejects_mismatched_operands() {
        let bad = Instruction {
            offset: 0,
            opcode: 0x70, // goto
            operands: Operands::Short(3),
        };
        assert!(bad.encode(&mut Vec::new()).is_err());
        let bad_table = Instruction {
            offset: 0,
            opcode: 0x73,
            operands: Operands::STableSwitch {
                default: 0,
                low: 0,
                high: 2,
                offsets: vec![1],
            },
        };
        assert!(bad_table.encode(&mut Vec::new()).is_err());
        let undefined = Instruction {
            offset: 0,
            opcode: 0xC0,
            operands: Operands::None,
        };
        assert_eq!(undefined.mnemonic(), "<undefined>");
        assert!(undefined.encode(&mut Vec::new()).is_err());
    }

    #[test]
    fn expected_cp_accepts_the_right_tags() {
        use cp_tag::*;
        assert!(ExpectedCp::StaticOrSuperMethodRef.accepts(STATIC_METHODREF));
        assert!(ExpectedCp::StaticOrSuperMethodRef.accepts(SUPER_METHODREF));
        assert!(!ExpectedCp::StaticOrSuperMethodRef.accepts(VIRTUAL_METHODREF));
        assert!(ExpectedCp::CastTarget { atype: 14 }.accepts(CLASSREF));
        assert!(!ExpectedCp::InstanceFieldRef.accepts(STATIC_FIELDREF));
        assert!(ExpectedCp::StaticFieldRef.accepts(STATIC_FIELDREF));
    }
}
