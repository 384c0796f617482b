//! One instruction as text: mnemonic, operands, and a comment naming what a
//! constant pool operand refers to. Branch targets are absolute offsets (the
//! same offsets the listing prints on the left), switch tables are expanded
//! one case a line.

use std::ops::Range;

use super::names::Names;
use super::refs::from_cp;
use crate::cap::bytecode::{atype, Instruction, Operands};
use crate::cap::components::constant_pool::CpEntry;

/// The rendered instruction.
pub struct Rendered {
    /// Mnemonic and operands.
    pub text: String,
    /// What the operands mean, shown after `//`.
    pub comment: Option<String>,
    /// Switch cases, one a line, shown under the instruction.
    pub cases: Vec<String>,
}

/// Renders `ins`; `code` is the method's bytecode range, so that targets
/// outside it can be pointed out.
pub fn render(ins: &Instruction, names: &Names<'_>, code: &Range<i64>) -> Rendered {
    let m = ins.mnemonic();
    let target = |d: i64| target_text(i64::from(ins.offset) + d, code);
    let mut comment = None;
    let mut cases = Vec::new();
    let text = match &ins.operands {
        Operands::None => m.to_string(),
        Operands::Byte(v) => format!("{m} 0x{:02X} ({v})", *v as u8),
        Operands::Short(v) => format!("{m} 0x{:04X} ({v})", *v as u16),
        Operands::Int(v) => format!("{m} 0x{:08X} ({v})", *v as u32),
        Operands::Local(i) => format!("{m} {i}"),
        Operands::LocalInc { index, constant } => format!("{m} {index} {constant}"),
        Operands::LocalIncWide { index, constant } => format!("{m} {index} {constant}"),
        Operands::StackWords(mn) => {
            comment = Some(format!("m={} n={}", mn >> 4, mn & 0x0F));
            format!("{m} {mn:#04x}")
        }
        Operands::Branch(d) => format!("{m} -> {}", target(i64::from(*d))),
        Operands::BranchWide(d) => format!("{m} -> {}", target(i64::from(*d))),
        Operands::Cp1(i) => {
            comment = Some(cp_comment(ins, u16::from(*i), names));
            format!("{m} {i}")
        }
        Operands::Cp2(i) => {
            comment = Some(cp_comment(ins, *i, names));
            format!("{m} {i}")
        }
        Operands::ArrayType(t) => format!("{m} {t} ({})", array_type(*t)),
        Operands::TypeCheck { atype: t, index } => {
            comment = Some(match *t {
                atype::CLASS_OR_INTERFACE => cp_comment(ins, *index, names),
                atype::T_REFERENCE => format!("{}[]", cp_comment(ins, *index, names)),
                other => array_type(other),
            });
            format!("{m} {t} {index}")
        }
        Operands::InvokeInterface {
            nargs,
            index,
            token,
        } => {
            comment = Some(interface_comment(*index, *token, names));
            format!("{m} {nargs} {index} {token}")
        }
        Operands::STableSwitch {
            default,
            low,
            offsets,
            ..
        } => {
            table_cases(i64::from(*low), offsets, &target, &mut cases);
            format!(
                "{m} {low}..{}, default -> {}",
                i64::from(*low) + offsets.len() as i64 - 1,
                target(i64::from(*default))
            )
        }
        Operands::ITableSwitch {
            default,
            low,
            offsets,
            ..
        } => {
            table_cases(i64::from(*low), offsets, &target, &mut cases);
            format!(
                "{m} {low}..{}, default -> {}",
                i64::from(*low) + offsets.len() as i64 - 1,
                target(i64::from(*default))
            )
        }
        Operands::SLookupSwitch { default, pairs } => {
            for p in pairs {
                cases.push(format!(
                    "{} -> {}",
                    p.match_value,
                    target(i64::from(p.offset))
                ));
            }
            format!(
                "{m} {} pair(s), default -> {}",
                pairs.len(),
                target(i64::from(*default))
            )
        }
        Operands::ILookupSwitch { default, pairs } => {
            for p in pairs {
                cases.push(format!(
                    "{} -> {}",
                    p.match_value,
                    target(i64::from(p.offset))
                ));
            }
            format!(
                "{m} {} pair(s), default -> {}",
                pairs.len(),
                target(i64::from(*default))
            )
        }
    };
    Rendered {
        text,
        comment,
        cases,
    }
}

fn table_cases(low: i64, offsets: &[i16], target: &dyn Fn(i64) -> String, cases: &mut Vec<String>) {
    for (k, d) in offsets.iter().enumerate() {
        cases.push(format!("{} -> {}", low + k as i64, target(i64::from(*d))));
    }
}

/// `0x0045`, flagged when outside the method's code.
fn target_text(t: i64, code: &Range<i64>) -> String {
    if t < 0 {
        return format!("<negative target {t}>");
    }
    if code.contains(&t) {
        format!("{t:#06x}")
    } else {
        format!("{t:#06x} <outside the method>")
    }
}

/// The element type of a `newarray` or primitive `checkcast`/`instanceof`.
fn array_type(t: u8) -> String {
    match t {
        atype::T_BOOLEAN => "boolean[]".into(),
        atype::T_BYTE => "byte[]".into(),
        atype::T_SHORT => "short[]".into(),
        atype::T_INT => "int[]".into(),
        other => format!("<bad array type {other}>"),
    }
}

/// The name a constant pool operand resolves to, with a warning when the
/// entry is of a kind the instruction cannot use.
fn cp_comment(ins: &Instruction, index: u16, names: &Names<'_>) -> String {
    let name = names.cp_entry(index);
    let entry = names.cp.and_then(|cp| cp.get(index));
    match (entry, ins.cp_index()) {
        (Some(e), Some(op)) if !op.expected.accepts(e.kind().tag()) => format!(
            "{name} <{} is not what {} takes>",
            e.kind().name(),
            ins.mnemonic()
        ),
        _ => name,
    }
}

/// `invokeinterface`: the interface (a Classref) and the method token.
fn interface_comment(index: u16, token: u8, names: &Names<'_>) -> String {
    match names.cp.and_then(|cp| cp.get(index)) {
        Some(CpEntry::ClassRef(c)) => names.interface_method(from_cp(*c), token).text,
        Some(e) => format!(
            "{} <{} is not a Classref>",
            names.cp_entry(index),
            e.kind().name()
        ),
        None => format!("<bad cp index {index}>"),
    }
}
