//! Bytecode operands: constant-pool indices that exist and are of the kind
//! the opcode needs, and branch targets that start an instruction of the
//! same method. A card links and jumps by these values without checking.

use super::model::{code_end, is_boundary, method_place, Parts};
use super::{rule, Finding};
use crate::cap::bytecode::Instruction;
use crate::cap::components::method::MethodInfo;
use crate::cap::Tag;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(m) = p.method else { return };
    for b in m.iter_blocks() {
        for method in b.methods {
            for ins in &method.code {
                if p.cp.is_some() {
                    cp_operand(p, b.index, ins, out);
                }
                branches(b.index, method, ins, out);
            }
        }
    }
}

/// The instruction's constant-pool index, if it has one, names an entry of a
/// kind the opcode accepts.
fn cp_operand(p: &Parts<'_>, block: Option<u8>, ins: &Instruction, out: &mut Vec<Finding>) {
    let Some(op) = ins.cp_index() else { return };
    let at = method_place(block, op.operand_offset);
    let offset = op.operand_offset as usize;
    match p.cp.and_then(|cp| cp.get(op.index)) {
        None => out.push(Finding::at(
            Tag::Method,
            offset,
            rule::CP_INDEX_RANGE,
            format!(
                "{} at {} uses constant-pool index {}, but the constant pool has {} entry(ies)",
                ins.mnemonic(),
                method_place(block, ins.offset),
                op.index,
                p.cp_len()
            ),
        )),
        Some(entry) if !op.expected.accepts(entry.kind().tag()) => out.push(Finding::at(
            Tag::Method,
            offset,
            rule::CP_KIND,
            format!(
                "{} (index operand at {at}) uses constant-pool entry {}, a {}; it needs {:?}",
                ins.mnemonic(),
                op.index,
                entry.kind().name(),
                op.expected
            ),
        )),
        Some(_) => {}
    }
}

/// Every branch target is the start of an instruction of the same method.
fn branches(block: Option<u8>, m: &MethodInfo, ins: &Instruction, out: &mut Vec<Finding>) {
    let start = i64::from(m.code_offset());
    let end = i64::try_from(code_end(m)).unwrap_or(i64::MAX);
    for target in ins.branch_targets() {
        let problem = if !(start..end).contains(&target) {
            "outside the method's bytecode"
        } else if !u64::try_from(target).is_ok_and(|t| is_boundary(m, t)) {
            "inside an instruction"
        } else {
            continue;
        };
        out.push(Finding::at(
            Tag::Method,
            ins.offset as usize,
            rule::BRANCH_TARGET,
            format!(
                "{} at {} jumps to {}, {problem} (the method at {} has code {start:#x}..{end:#x})",
                ins.mnemonic(),
                method_place(block, ins.offset),
                signed_hex(target),
                method_place(block, m.offset),
            ),
        ));
    }
}

/// `0x1a` or `-0x3`: branch targets computed from a bad offset may be negative.
fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("{v:#x}")
    }
}
