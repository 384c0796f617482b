//! The Debug component: its string table, then classes, fields, methods,
//! local variables and line tables with every string index resolved.

use super::flags::{self, with_hex};
use super::Out;
use crate::cap::components::debug::{ClassDebugInfo, FieldContents, MethodDebugInfo};
use crate::cap::Debug;

/// The string at `i`, or a marker when the index is outside the table.
fn s(d: &Debug, i: u16) -> String {
    match d.string(i) {
        Some(v) => v.to_string(),
        None => format!("<bad string index {i}>"),
    }
}

pub fn debug(d: &Debug, out: &mut Out) {
    out.line(1, format!("package {}", s(d, d.package_name_index)));
    out.line(1, format!("strings: {}", d.strings.len()));
    for (i, v) in d.strings.iter().enumerate() {
        out.line(2, format!("{i:>4}  {v:?}"));
    }
    out.line(1, format!("classes: {}", d.classes.len()));
    for c in &d.classes {
        class(d, c, out);
    }
}

fn class(d: &Debug, c: &ClassDebugInfo, out: &mut Out) {
    out.line(
        2,
        format!(
            "class {} @{:#06x}  flags {}",
            s(d, c.name_index),
            c.location,
            with_hex(c.access_flags, flags::DEBUG, 4)
        ),
    );
    out.line(
        3,
        format!(
            "super {}, source {}",
            s(d, c.superclass_name_index),
            s(d, c.source_file_index)
        ),
    );
    if !c.interface_name_indexes.is_empty() {
        let list: Vec<String> = c.interface_name_indexes.iter().map(|i| s(d, *i)).collect();
        out.line(3, format!("interfaces: {}", list.join(", ")));
    }
    for f in &c.fields {
        let contents = match f.contents {
            FieldContents::InstanceToken(t) => format!("instance token {t}"),
            FieldContents::StaticLocation(l) => format!("static @{l:#06x}"),
            FieldContents::ConstValue(v) => format!("constant {v:#010x} ({})", v as i32),
        };
        out.line(
            3,
            format!(
                "field {}:{}  flags {}  {contents}",
                s(d, f.name_index),
                s(d, f.descriptor_index),
                with_hex(f.access_flags, flags::DEBUG, 4)
            ),
        );
    }
    for m in &c.methods {
        method(d, m, out);
    }
}

fn method(d: &Debug, m: &MethodDebugInfo, out: &mut Out) {
    out.line(
        3,
        format!(
            "method {}{} @{:#06x}  flags {}  header {} byte(s), body {} byte(s)",
            s(d, m.name_index),
            s(d, m.descriptor_index),
            m.location,
            with_hex(m.access_flags, flags::DEBUG, 4),
            m.header_size,
            m.body_size
        ),
    );
    for v in &m.variables {
        out.line(
            4,
            format!(
                "local {} {}:{} pc {:#06x}..{:#06x}",
                v.index,
                s(d, v.name_index),
                s(d, v.descriptor_index),
                v.start_pc,
                u32::from(v.start_pc) + u32::from(v.length)
            ),
        );
    }
    for l in &m.lines {
        out.line(
            4,
            format!(
                "line {} pc {:#06x}..={:#06x}",
                l.source_line, l.start_pc, l.end_pc
            ),
        );
    }
}
