//! Offsets the Descriptor component holds: its classes, interfaces and
//! fields name Class entries, static fields and imported packages; the
//! methods of its classes name method_info structures whose code length is
//! the descriptor's bytecode_count. Verifiers and tools trust these to map
//! code back to classes and signatures.

use super::layout;
use super::model::{method_place, Parts};
use super::targets::{class_ref, method, package_token_in_range, static_field, Site};
use super::{rule, Finding};
use crate::cap::components::descriptor::{
    ClassDescriptor, FieldRef, StaticFieldRef, METHOD_ACC_ABSTRACT,
};
use crate::cap::Tag;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(d) = p.descriptor else { return };
    let offsets = layout::descriptor_classes(d, p.extended);
    for (c, &at) in d.classes.iter().zip(&offsets) {
        let site = |offset, what| Site {
            tag: Tag::Descriptor,
            offset,
            what,
        };
        class_ref(p, c.this_class_ref, site(at + 2, "this_class_ref"), out);
        for (k, i) in c.interfaces.iter().enumerate() {
            class_ref(p, *i, site(at + 9 + 2 * k, "interface"), out);
        }
        let fields_at = at + 9 + 2 * c.interfaces.len();
        for (k, f) in c.fields.iter().enumerate() {
            let field_ref_at = fields_at + 7 * k + 2;
            match f.field_ref {
                FieldRef::Static(StaticFieldRef::Internal { offset }) => {
                    static_field(p, offset, site(field_ref_at, "static field"), out)
                }
                FieldRef::Static(StaticFieldRef::External { package_token, .. }) => {
                    package_token_in_range(
                        p,
                        package_token,
                        site(field_ref_at, "static field"),
                        out,
                    )
                }
                FieldRef::Instance { class, .. } => {
                    class_ref(p, class, site(field_ref_at, "instance field"), out)
                }
            }
        }
        if !c.is_interface() {
            descriptor_methods(p, c, at, out);
        }
    }
}

/// Non-abstract method descriptors name a method whose code is as long as
/// their bytecode_count says.
fn descriptor_methods(p: &Parts<'_>, c: &ClassDescriptor, class_at: usize, out: &mut Vec<Finding>) {
    for (k, m) in c.methods.iter().enumerate() {
        if m.access_flags & METHOD_ACC_ABSTRACT != 0 {
            continue;
        }
        let at = layout::descriptor_method(c, class_at, k, p.extended);
        let what = format!("method descriptor (token {})", m.token);
        let site = Site {
            tag: Tag::Descriptor,
            offset: at + 2,
            what: &what,
        };
        method(p, m.location(), true, site, out);
        if let Some(info) = p.method_at(m.location()) {
            let len = info.code_len();
            if len != usize::from(m.bytecode_count) && !info.header.is_abstract() {
                out.push(Finding::at(
                    Tag::Descriptor,
                    at,
                    rule::BYTECODE_COUNT,
                    format!(
                        "{what} says bytecode_count {}, the method at {} has {len} byte(s) of code",
                        m.bytecode_count,
                        method_place(p.block_key(m.method_component_block_index), m.method_offset)
                    ),
                ));
            }
        }
    }
}
