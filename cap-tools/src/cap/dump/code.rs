//! The Method component: the exception handler table, then each method with
//! its header, what it is (from the Descriptor and Debug components), its
//! disassembly and the handlers that guard it.
//!
//! Offsets are those of the component body (of the block, in extended
//! files), the same ones the handler table, the RefLocation component and
//! other components' method references use.

use std::ops::Range;

use super::flags::{self, with_hex};
use super::names::{location_text, Names};
use super::operands::render;
use super::Out;
use crate::cap::components::method::{BlockRef, ExceptionHandler, MethodInfo, MethodLocation};
use crate::cap::MethodComponent;

pub fn method_component(m: &MethodComponent, names: &Names<'_>, out: &mut Out) {
    for block in m.iter_blocks() {
        let depth = match block.index {
            Some(i) => {
                out.line(1, format!("block {i}"));
                2
            }
            None => 1,
        };
        self::block(&block, names, depth, out);
    }
}

fn block(b: &BlockRef<'_>, names: &Names<'_>, depth: usize, out: &mut Out) {
    out.line(depth, format!("exception handlers: {}", b.handlers.len()));
    for (i, h) in b.handlers.iter().enumerate() {
        out.line(depth + 1, format!("[{i}] {}", handler(h, names)));
    }
    out.line(depth, format!("methods: {}", b.methods.len()));
    for m in b.methods {
        out.line(0, "");
        method(m, b, names, depth, out);
    }
}

/// `try 0x0010..0x0020 -> 0x0022 catch <class>`: the end is exclusive.
fn handler(h: &ExceptionHandler, names: &Names<'_>) -> String {
    let caught = if h.catch_type_index == 0 {
        "any (finally)".to_string()
    } else {
        names.cp_entry(h.catch_type_index)
    };
    format!(
        "try {:#06x}..{:#06x} -> {:#06x} catch {} {}{}",
        h.start_offset,
        h.end_offset(),
        h.handler_offset,
        h.catch_type_index,
        caught,
        if h.stop_bit { " (stop)" } else { "" }
    )
}

fn method(m: &MethodInfo, b: &BlockRef<'_>, names: &Names<'_>, depth: usize, out: &mut Out) {
    let at = MethodLocation {
        block_index: b.index,
        offset: u16::try_from(m.offset).unwrap_or(u16::MAX),
    };
    out.line(
        depth,
        format!("method {}: {}", location_text(at), names.method_at(at).text),
    );
    let h = &m.header;
    let padding = if h.padding != 0 {
        format!(", padding {:#x}", h.padding)
    } else {
        String::new()
    };
    out.line(
        depth + 1,
        format!(
            "header: flags {}, max_stack {}, nargs {}, max_locals {}{padding}",
            with_hex(h.flags.into(), flags::METHOD_HEADER, 1),
            h.max_stack,
            h.nargs,
            h.max_locals
        ),
    );
    if let Some((class, d)) = names.descriptor_of(at) {
        out.line(
            depth + 1,
            format!(
                "descriptor: class token {}, method token {}, flags {}, bytecode {}, handlers {} from [{}]",
                class.token,
                d.token,
                with_hex(d.access_flags.into(), flags::DESC_METHOD, 2),
                d.bytecode_count,
                d.exception_handler_count,
                d.exception_handler_index
            ),
        );
    }
    if h.is_abstract() && m.code.is_empty() {
        out.line(depth + 1, "abstract: no code");
        return;
    }
    let start = i64::from(m.code_offset());
    let code = start..start + m.code_len() as i64;
    let lines = source_lines(names, at);
    for ins in &m.code {
        let r = render(ins, names, &code);
        let line = lines
            .iter()
            .find(|(pc, _)| i64::from(*pc) + start == i64::from(ins.offset))
            .map(|(_, l)| format!("line {l}"));
        let comment = match (r.comment, line) {
            (Some(c), Some(l)) => Some(format!("{c}  [{l}]")),
            (c, l) => c.or(l.map(|l| format!("[{l}]"))),
        };
        let text = match comment {
            Some(c) => format!("{:#06x}: {:<32} // {c}", ins.offset, r.text),
            None => format!("{:#06x}: {}", ins.offset, r.text),
        };
        out.line(depth + 1, text);
        for case in r.cases {
            out.line(depth + 4, case);
        }
    }
    guarding_handlers(b, &code, names, depth + 1, out);
}

/// `(start_pc, line)` pairs of the method's Debug line table.
fn source_lines(names: &Names<'_>, at: MethodLocation) -> Vec<(u16, u16)> {
    names
        .debug_of(at)
        .map(|(_, m)| {
            m.lines
                .iter()
                .map(|l| (l.start_pc, l.source_line))
                .collect()
        })
        .unwrap_or_default()
}

/// The handler table entries whose try block starts in this method.
fn guarding_handlers(
    b: &BlockRef<'_>,
    code: &Range<i64>,
    names: &Names<'_>,
    depth: usize,
    out: &mut Out,
) {
    let mine: Vec<(usize, &ExceptionHandler)> = b
        .handlers
        .iter()
        .enumerate()
        .filter(|(_, h)| code.contains(&i64::from(h.start_offset)))
        .collect();
    if mine.is_empty() {
        return;
    }
    out.line(depth, "handlers:");
    for (i, h) in mine {
        out.line(depth + 1, format!("[{i}] {}", handler(h, names)));
    }
}
