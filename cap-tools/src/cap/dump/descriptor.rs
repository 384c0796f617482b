//! The Descriptor component: classes, fields and methods with tokens, flags
//! in words, locations and types; then the constant pool types and the type
//! table, with class references named.

use super::flags::{self, with_hex};
use super::names::{location_text, Names};
use super::refs::{from_class, raw_class};
use super::Out;
use crate::cap::components::constant_pool::CpKind;
use crate::cap::components::descriptor::{
    ClassDescriptor, FieldDescriptor, FieldRef, MethodDescriptor, StaticFieldRef,
};
use crate::cap::Descriptor;

pub fn descriptor(d: &Descriptor, names: &Names<'_>, out: &mut Out) {
    if let Some(counts) = &d.package_class_counts {
        let counts: Vec<String> = counts.iter().map(u8::to_string).collect();
        out.line(1, format!("classes per package: {}", counts.join(", ")));
    }
    out.line(1, format!("{} class(es)", d.classes.len()));
    for c in &d.classes {
        class(c, names, out);
    }
    let t = &d.types;
    out.line(
        1,
        format!("constant pool types: {}", t.constant_pool_types.len()),
    );
    for (i, &offset) in t.constant_pool_types.iter().enumerate() {
        let ty = if offset == 0xFFFF {
            "(class reference, no type)".to_string()
        } else {
            let index = u16::try_from(i).unwrap_or(u16::MAX);
            let is_field = match names.cp.and_then(|cp| cp.get(index)) {
                Some(e) => matches!(e.kind(), CpKind::InstanceFieldRef | CpKind::StaticFieldRef),
                None => d.type_at(offset).is_some_and(|t| t.types.len() == 1),
            };
            let ty = if is_field {
                names.field_type(offset)
            } else {
                names.signature(offset)
            };
            ty.unwrap_or_else(|| format!("<no type at {offset:#06x}>"))
        };
        out.line(2, format!("{i:>4}  @{offset:#06x} {ty}"));
    }
    out.line(1, format!("type descriptors: {}", t.type_desc.len()));
    for td in &t.type_desc {
        let sig = td.render_method_with(&|c| names.class(from_class(c)));
        let field = td.render_field_with(&|c| names.class(from_class(c)));
        let text = if td.types.len() == 1 {
            format!("{field}  (as a signature {sig})")
        } else {
            sig
        };
        out.line(2, format!("@{:#06x} {text}", td.offset));
    }
}

fn class(c: &ClassDescriptor, names: &Names<'_>, out: &mut Out) {
    let this = from_class(c.this_class_ref);
    out.line(
        2,
        format!(
            "class token {}  flags {}  {} {}",
            c.token,
            with_hex(c.access_flags.into(), flags::DESC_CLASS, 2),
            raw_class(this),
            names.class(this)
        ),
    );
    if !c.interfaces.is_empty() {
        let list: Vec<String> = c
            .interfaces
            .iter()
            .map(|i| names.class(from_class(*i)))
            .collect();
        out.line(3, format!("interfaces: {}", list.join(", ")));
    }
    for f in &c.fields {
        field(f, names, out);
    }
    for m in &c.methods {
        method(m, names, out);
    }
}

fn field(f: &FieldDescriptor, names: &Names<'_>, out: &mut Out) {
    let place = match f.field_ref {
        FieldRef::Static(StaticFieldRef::Internal { offset }) => format!("static @{offset:#06x}"),
        FieldRef::Static(StaticFieldRef::External {
            package_token,
            class_token,
            token,
        }) => format!("static {package_token}.{class_token}.{token}"),
        FieldRef::Instance { class, token } => {
            format!("instance {} #{token}", raw_class(from_class(class)))
        }
    };
    let ty = names
        .type_of(f.field_type)
        .unwrap_or_else(|| "<bad type>".into());
    out.line(
        3,
        format!(
            "field token {}  flags {}  {place}  type {ty}",
            f.token,
            with_hex(f.access_flags.into(), flags::DESC_FIELD, 2)
        ),
    );
}

fn method(m: &MethodDescriptor, names: &Names<'_>, out: &mut Out) {
    let sig = names
        .signature(m.type_offset)
        .unwrap_or_else(|| format!("<no type at {:#06x}>", m.type_offset));
    out.line(
        3,
        format!(
            "method token {}  flags {}  {}  {sig}",
            m.token,
            with_hex(m.access_flags.into(), flags::DESC_METHOD, 2),
            location_text(m.location())
        ),
    );
    out.line(
        4,
        format!(
            "bytecode {} byte(s), {} handler(s) from [{}]",
            m.bytecode_count, m.exception_handler_count, m.exception_handler_index
        ),
    );
}
