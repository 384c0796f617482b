//! The data-like components: StaticField, RefLocation, Export and
//! StaticResources. Raw values are shown in hex; offsets into other
//! components are followed to what they name.

use std::collections::HashMap;

use super::names::{location_text, Names};
use super::refs::Cls;
use super::Out;
use crate::cap::components::constant_pool::StaticRef;
use crate::cap::components::export::ClassExport;
use crate::cap::components::method::{ExceptionHandler, MethodLocation};
use crate::cap::components::ref_location::RefLocationBlock;
use crate::cap::components::static_field::{
    ArrayInit, TYPE_BOOLEAN, TYPE_BYTE, TYPE_INT, TYPE_SHORT,
};
use crate::cap::{Cap, ExportComponent, RefLocation, StaticFieldComponent, StaticResources};

pub fn static_field(s: &StaticFieldComponent, out: &mut Out) {
    out.line(1, format!("image size {} byte(s)", s.image_size));
    out.line(
        1,
        format!(
            "reference fields {} (2 bytes each, first in the image)",
            s.reference_count
        ),
    );
    out.line(1, format!("array initializers: {}", s.array_init.len()));
    for (i, a) in s.array_init.iter().enumerate() {
        out.line(2, format!("[{i}] {}", array_init(a)));
    }
    out.line(1, format!("default-valued bytes {}", s.default_value_count));
    out.line(
        1,
        format!("non-default values: {} byte(s)", s.non_default_values.len()),
    );
    out.hex(2, &s.non_default_values);
}

/// `byte[5] = 48 65 6C 6C 6F`, grouped by element size.
fn array_init(a: &ArrayInit) -> String {
    let name = match a.type_ {
        TYPE_BOOLEAN => "boolean",
        TYPE_BYTE => "byte",
        TYPE_SHORT => "short",
        TYPE_INT => "int",
        _ => "<bad type>",
    };
    let size = a.element_size().unwrap_or(1);
    let groups: Vec<String> = a.values.chunks(size).map(hex::encode_upper).collect();
    let count = match a.element_count() {
        Some(n) => n.to_string(),
        None => format!("{} byte(s), not whole elements", a.values.len()),
    };
    format!("type {} {name}[{count}] = {}", a.type_, groups.join(" "))
}

pub fn ref_location(r: &RefLocation, names: &Names<'_>, out: &mut Out) {
    let operands = cp_operands(names);
    if r.blocks.is_empty() {
        let only = RefLocationBlock {
            byte_index_offsets: r.byte_index_offsets.clone(),
            byte2_index_offsets: r.byte2_index_offsets.clone(),
        };
        ref_block(&only, None, &operands, 1, out);
    }
    for (i, b) in r.blocks.iter().enumerate() {
        out.line(1, format!("block {i}"));
        ref_block(b, u8::try_from(i).ok(), &operands, 2, out);
    }
}

/// Every constant pool index of the Method component, by (block, offset of
/// the index bytes): its width and what holds it. Besides instruction
/// operands these are the handlers' catch types, which RefLocation lists too.
type Operands = HashMap<(Option<u8>, u32), (u8, String)>;

fn cp_operands(names: &Names<'_>) -> Operands {
    let mut map = HashMap::new();
    let Some(m) = names.methods else {
        return map;
    };
    for b in m.iter_blocks() {
        // handler_count (u1), then 8-byte entries ending in catch_type_index.
        for (k, h) in b.handlers.iter().enumerate() {
            let Ok(at) = u32::try_from(1 + ExceptionHandler::SIZE * k + 6) else {
                break;
            };
            let text = format!("handler [{k}] catch type {}", h.catch_type_index);
            map.insert((b.index, at), (2, text));
        }
        for ins in b.methods.iter().flat_map(|m| &m.code) {
            if let Some(op) = ins.cp_index() {
                let text = format!("{} {}", ins.mnemonic(), op.index);
                map.insert((b.index, op.operand_offset), (op.width, text));
            }
        }
    }
    map
}

fn ref_block(b: &RefLocationBlock, block: Option<u8>, ops: &Operands, depth: usize, out: &mut Out) {
    for (width, list) in [(1u8, &b.byte_index_offsets), (2, &b.byte2_index_offsets)] {
        out.line(
            depth,
            format!("{width}-byte constant pool indices: {}", list.len()),
        );
        for &at in list {
            let note = match ops.get(&(block, at)) {
                Some((w, text)) if *w == width => text.clone(),
                Some((w, text)) => format!("{text} <a {w}-byte index>"),
                None if ops.is_empty() => String::new(),
                None => "<no constant pool operand here>".into(),
            };
            out.line(depth + 1, format!("{at:#06x}  {note}"));
        }
    }
}

pub fn export(e: &ExportComponent, cap: &Cap, names: &Names<'_>, out: &mut Out) {
    if e.packages.is_empty() {
        export_classes(&e.classes, names, 1, out);
    }
    let header = cap.header();
    for (i, p) in e.packages.iter().enumerate() {
        let name = header
            .and_then(|h| h.packages.get(i))
            .map(|p| format!("{} {}", p.package.aid, p.name))
            .unwrap_or_else(|| "<not in the Header>".into());
        out.line(1, format!("package [{i}] {name}"));
        export_classes(&p.classes, names, 2, out);
    }
}

fn export_classes(classes: &[ClassExport], names: &Names<'_>, depth: usize, out: &mut Out) {
    out.line(
        depth,
        format!(
            "{} exported class(es); the index is the class token",
            classes.len()
        ),
    );
    for (token, c) in classes.iter().enumerate() {
        out.line(
            depth + 1,
            format!(
                "class #{token} @{:#06x} {}",
                c.class_offset,
                names.class(Cls::Internal(c.class_offset))
            ),
        );
        for (t, &offset) in c.static_field_offsets.iter().enumerate() {
            let f = names.static_field(StaticRef::Internal { block: 0, offset });
            out.line(
                depth + 2,
                format!("static field #{t} @{offset:#06x} {}", f.text),
            );
        }
        for (t, &offset) in c.static_method_offsets.iter().enumerate() {
            let at = MethodLocation {
                block_index: names
                    .extended
                    .then(|| c.static_method_blocks.get(t).copied().unwrap_or(0)),
                offset,
            };
            out.line(
                depth + 2,
                format!(
                    "static method #{t} {} {}",
                    location_text(at),
                    names.method_at(at).text
                ),
            );
        }
    }
}

pub fn static_resources(s: &StaticResources, out: &mut Out) {
    out.line(1, format!("{} resource(s)", s.resources.len()));
    for r in &s.resources {
        out.line(
            2,
            format!("id {} ({:#06x}), {} byte(s)", r.id, r.id, r.data.len()),
        );
        out.hex(3, &r.data);
    }
}
