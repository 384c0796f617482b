//! The RefLocation lists against the bytecode. A card rewrites every offset
//! RefLocation lists as a constant-pool index when it links the package, so a
//! missing offset leaves an unlinked index and an extra one corrupts code.
//! The expected lists are the operand offsets of the instructions that take a
//! constant-pool index ([`Instruction::cp_index`]), split by index width, and,
//! in the 2-byte list, the catch_type_index field of every exception handler
//! that names a class (a constant-pool index too; Oracle's converters list
//! them, and every corpus file confirms it).

use std::collections::BTreeSet;

use super::model::{method_place, Parts};
use super::{rule, Finding};
use crate::cap::bytecode::Instruction;
use crate::cap::components::method::{BlockRef, ExceptionHandler};
use crate::cap::Tag;

/// The 1-byte and 2-byte index operand offsets of one block.
#[derive(Default)]
struct Expected {
    byte: BTreeSet<u32>,
    byte2: BTreeSet<u32>,
}

fn expected(b: &BlockRef<'_>) -> Expected {
    let mut e = Expected::default();
    for (i, h) in b.handlers.iter().enumerate() {
        if h.catch_type_index != 0 {
            // u1 handler_count, then 8-byte entries whose last u2 is the index.
            let at = i
                .saturating_mul(ExceptionHandler::SIZE)
                .saturating_add(1 + 6);
            if let Ok(at) = u32::try_from(at) {
                e.byte2.insert(at);
            }
        }
    }
    for op in b
        .methods
        .iter()
        .flat_map(|m| &m.code)
        .filter_map(Instruction::cp_index)
    {
        if op.width == 1 {
            e.byte.insert(op.operand_offset);
        } else {
            e.byte2.insert(op.operand_offset);
        }
    }
    e
}

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let (Some(m), Some(r)) = (p.method, p.ref_location) else {
        return;
    };
    if p.extended {
        if r.blocks.len() != m.blocks.len() {
            out.push(Finding::whole(
                Tag::RefLocation,
                rule::REFLOCATION_MISMATCH,
                format!(
                    "has {} block(s), the Method component has {}",
                    r.blocks.len(),
                    m.blocks.len()
                ),
            ));
        }
        for (b, listed) in m.iter_blocks().zip(&r.blocks) {
            let e = expected(&b);
            let one = &listed.byte_index_offsets;
            let two = &listed.byte2_index_offsets;
            compare(b.index, "offsets_to_byte_indices", one, &e.byte, out);
            compare(b.index, "offsets_to_byte2_indices", two, &e.byte2, out);
        }
        return;
    }
    if let Some(b) = m.iter_blocks().next() {
        let e = expected(&b);
        let one = &r.byte_index_offsets;
        let two = &r.byte2_index_offsets;
        compare(None, "offsets_to_byte_indices", one, &e.byte, out);
        compare(None, "offsets_to_byte2_indices", two, &e.byte2, out);
    }
}

/// One finding per missing, extra or repeated offset.
fn compare(
    block: Option<u8>,
    list: &str,
    listed: &[u32],
    expected: &BTreeSet<u32>,
    out: &mut Vec<Finding>,
) {
    let mut seen = BTreeSet::new();
    for &o in listed {
        let message = if !seen.insert(o) {
            format!(
                "{list} lists Method offset {} twice",
                method_place(block, o)
            )
        } else if !expected.contains(&o) {
            format!(
                "{list} lists Method offset {}, where no {} constant-pool index operand is (extra)",
                method_place(block, o),
                width_name(list)
            )
        } else {
            continue;
        };
        out.push(Finding::at(
            Tag::RefLocation,
            o as usize,
            rule::REFLOCATION_MISMATCH,
            message,
        ));
    }
    for &o in expected.difference(&seen) {
        out.push(Finding::at(
            Tag::RefLocation,
            o as usize,
            rule::REFLOCATION_MISMATCH,
            format!(
                "{list} lacks Method offset {}, which holds a {} constant-pool index operand (missing)",
                method_place(block, o),
                width_name(list)
            ),
        ));
    }
}

fn width_name(list: &str) -> &'static str {
    if list.ends_with("byte2_indices") {
        "2-byte"
    } else {
        "1-byte"
    }
}
