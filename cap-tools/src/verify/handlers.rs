//! Exception handler table entries: the try range and the handler lie in the
//! bytecode of one method, on instruction boundaries, and the caught type is
//! a class. The VM searches this table on every throw and jumps to the
//! handler offset as given.

use super::model::{code_end, is_boundary, method_place, Parts};
use super::{rule, Finding};
use crate::cap::bytecode::cp_tag;
use crate::cap::components::method::{ExceptionHandler, MethodInfo};
use crate::cap::Tag;

/// Offset of handler `i` in its block: after the u1 handler_count.
fn handler_at(i: usize) -> usize {
    i.saturating_mul(ExceptionHandler::SIZE).saturating_add(1)
}

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(m) = p.method else { return };
    for b in m.iter_blocks() {
        for (i, h) in b.handlers.iter().enumerate() {
            let at = handler_at(i);
            if let Some(message) = range_problem(p, b.index, h) {
                out.push(Finding::at(
                    Tag::Method,
                    at,
                    rule::HANDLER_RANGE,
                    format!("exception handler {i}: {message}"),
                ));
            }
            if let Some(message) = catch_type_problem(p, h) {
                out.push(Finding::at(
                    Tag::Method,
                    at.saturating_add(6),
                    rule::CATCH_TYPE,
                    format!("exception handler {i}: {message}"),
                ));
            }
        }
    }
}

/// What is wrong with the handler's offsets, if anything.
fn range_problem(p: &Parts<'_>, block: Option<u8>, h: &ExceptionHandler) -> Option<String> {
    let start = u64::from(h.start_offset);
    let end = h.end_offset() as u64;
    let handler = u64::from(h.handler_offset);
    let range = format!(
        "try range {}..{end:#x}",
        method_place(block, h.start_offset)
    );
    let Some(m) = p.method_containing(block, u32::from(h.start_offset)) else {
        return Some(format!("{range} starts outside every method's bytecode"));
    };
    let code = describe(block, m);
    if h.active_length == 0 {
        return Some(format!("{range} is empty"));
    }
    if !is_boundary(m, start) {
        return Some(format!("{range} starts inside an instruction of {code}"));
    }
    if end > code_end(m) {
        return Some(format!("{range} ends past the end of {code}"));
    }
    if end < code_end(m) && !is_boundary(m, end) {
        return Some(format!("{range} ends inside an instruction of {code}"));
    }
    if !(u64::from(m.code_offset())..code_end(m)).contains(&handler) {
        return Some(format!(
            "handler at {handler:#x} lies outside {code}, which holds the try range"
        ));
    }
    if !is_boundary(m, handler) {
        return Some(format!(
            "handler at {handler:#x} is inside an instruction of {code}"
        ));
    }
    None
}

/// `the method at 0x10 (code 0x12..0x40)`.
fn describe(block: Option<u8>, m: &MethodInfo) -> String {
    format!(
        "the method at {} (code {:#x}..{:#x})",
        method_place(block, m.offset),
        m.code_offset(),
        code_end(m)
    )
}

/// A non-zero catch_type_index names a CONSTANT_Classref.
fn catch_type_problem(p: &Parts<'_>, h: &ExceptionHandler) -> Option<String> {
    let index = h.catch_type_index;
    if index == 0 || p.cp.is_none() {
        return None;
    }
    match p.cp.and_then(|cp| cp.get(index)) {
        None => Some(format!(
            "catch_type_index {index} is past the constant pool's {} entry(ies)",
            p.cp_len()
        )),
        Some(e) if e.kind().tag() != cp_tag::CLASSREF => Some(format!(
            "catch_type_index {index} names a {}, not a CONSTANT_Classref",
            e.kind().name()
        )),
        Some(_) => None,
    }
}
