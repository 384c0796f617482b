//! Offsets one component holds into another: method offsets (Class method
//! tables, Applet install methods, Descriptor methods, Export static methods,
//! internal static method references) must name a method_info; internal
//! class references and class offsets must name a Class component entry;
//! internal static field references must lie inside the static field image;
//! external references must name an imported package. A card follows these
//! offsets when it links and runs the package.

use super::layout;
use super::model::{method_place, Parts};
use super::{rule, Finding};
use crate::cap::components::class::{ClassEntry, ClassInfo, ClassRef};
use crate::cap::components::constant_pool::{CpEntry, StaticRef};
use crate::cap::components::descriptor::{
    ClassDescriptor, FieldRef, StaticFieldRef, METHOD_ACC_ABSTRACT,
};
use crate::cap::components::method::MethodLocation;
use crate::cap::Tag;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    class_component(p, out);
    applets(p, out);
    descriptor(p, out);
    export(p, out);
    constant_pool(p, out);
}

/// Where a finding goes: component and byte offset, plus what names the target.
struct Site<'s> {
    tag: Tag,
    offset: usize,
    what: &'s str,
}

/// An internal class_ref names a Class entry; an external one an imported package.
fn class_ref(p: &Parts<'_>, c: ClassRef, site: Site<'_>, out: &mut Vec<Finding>) {
    match c {
        ClassRef::Internal(o) if p.class.is_some() && !p.class_offsets.contains(&o) => {
            out.push(Finding::at(
                site.tag,
                site.offset,
                rule::CLASS_OFFSET,
                format!(
                    "{} names class offset {o:#x}, where the Class component has no entry",
                    site.what
                ),
            ));
        }
        ClassRef::External { package_token, .. } => {
            package_token_in_range(p, package_token, site, out)
        }
        ClassRef::Internal(_) => {}
    }
}

fn package_token_in_range(p: &Parts<'_>, token: u8, site: Site<'_>, out: &mut Vec<Finding>) {
    if p.import.is_some() && usize::from(token) >= p.import_len() {
        out.push(Finding::at(
            site.tag,
            site.offset,
            rule::PACKAGE_TOKEN,
            format!(
                "{} names package token {token}, but {} package(s) are imported",
                site.what,
                p.import_len()
            ),
        ));
    }
}

/// A method location names a method_info; `needs_code` rejects abstract ones.
fn method(
    p: &Parts<'_>,
    at: MethodLocation,
    needs_code: bool,
    site: Site<'_>,
    out: &mut Vec<Finding>,
) {
    if p.method.is_none() {
        return;
    }
    let block = p.block_key(at.block_index);
    let place = method_place(block, at.offset);
    let message = match p.method_at(at) {
        None => format!(
            "{} names Method offset {place}, where no method_info starts",
            site.what
        ),
        Some(m) if needs_code && m.header.is_abstract() => format!(
            "{} names Method offset {place}, an abstract method without code",
            site.what
        ),
        Some(_) => return,
    };
    out.push(Finding::at(
        site.tag,
        site.offset,
        rule::METHOD_OFFSET,
        message,
    ));
}

/// An internal static field offset lies inside the image.
fn static_field(p: &Parts<'_>, offset: u16, site: Site<'_>, out: &mut Vec<Finding>) {
    let Some(size) = p.image_size() else { return };
    if offset >= size {
        out.push(Finding::at(
            site.tag,
            site.offset,
            rule::STATIC_FIELD_OFFSET,
            format!(
                "{} names static field offset {offset:#x}, outside the {size}-byte static field image",
                site.what
            ),
        ));
    }
}

fn class_component(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(c) = p.class else { return };
    for e in &c.entries {
        let base = usize::from(e.offset());
        match e {
            ClassEntry::Interface(i) => {
                for (k, s) in i.superinterfaces.iter().enumerate() {
                    let site = Site {
                        tag: Tag::Class,
                        offset: base + 1 + 2 * k,
                        what: "superinterface",
                    };
                    class_ref(p, *s, site, out);
                }
            }
            ClassEntry::Class(info) => class_info(p, base, info, out),
        }
    }
}

fn class_info(p: &Parts<'_>, base: usize, c: &ClassInfo, out: &mut Vec<Finding>) {
    if let Some(s) = c.super_class_ref {
        let site = Site {
            tag: Tag::Class,
            offset: base + 1,
            what: "super_class_ref",
        };
        class_ref(p, s, site, out);
    }
    let width = if p.extended { 3 } else { 2 };
    let tables = c
        .public_virtual_method_table
        .iter()
        .chain(&c.package_virtual_method_table);
    let mut at = base + 10;
    for m in tables {
        if m.is_defined() {
            let what = format!("virtual method table of the class at {base:#x}");
            let site = Site {
                tag: Tag::Class,
                offset: at,
                what: &what,
            };
            method(p, *m, false, site, out);
        }
        at = at.saturating_add(width);
    }
    for i in &c.interfaces {
        let site = Site {
            tag: Tag::Class,
            offset: at,
            what: "implemented interface",
        };
        class_ref(p, i.interface, site, out);
        at = at.saturating_add(3 + i.index.len());
    }
    for r in c
        .remote_interfaces
        .iter()
        .flat_map(|r| &r.remote_interfaces)
    {
        let site = Site {
            tag: Tag::Class,
            offset: base,
            what: "remote interface",
        };
        class_ref(p, *r, site, out);
    }
}

fn applets(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(a) = p.applet else { return };
    for (e, (_, field)) in a.applets.iter().zip(layout::applet(a, p.extended)) {
        let what = format!("install method of applet {}", e.aid);
        let site = Site {
            tag: Tag::Applet,
            offset: field,
            what: &what,
        };
        let Ok(offset) = u16::try_from(e.install_method_offset) else {
            out.push(Finding::at(
                site.tag,
                site.offset,
                rule::METHOD_OFFSET,
                format!("{what} offset {:#x} exceeds a u2", e.install_method_offset),
            ));
            continue;
        };
        let at = MethodLocation {
            block_index: Some(e.install_method_block),
            offset,
        };
        method(p, at, true, site, out);
    }
}

fn descriptor(p: &Parts<'_>, out: &mut Vec<Finding>) {
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

fn export(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(e) = p.export else { return };
    for (at, c) in layout::export_classes(e, p.extended) {
        if p.class.is_some() && !p.class_offsets.contains(&c.class_offset) {
            out.push(Finding::at(
                Tag::Export,
                at,
                rule::CLASS_OFFSET,
                format!(
                    "exported class_offset {:#x} names no Class component entry",
                    c.class_offset
                ),
            ));
        }
        let fields_at = at + 4;
        for (k, &f) in c.static_field_offsets.iter().enumerate() {
            let site = Site {
                tag: Tag::Export,
                offset: fields_at + 2 * k,
                what: "exported static field",
            };
            static_field(p, f, site, out);
        }
        let methods_at = fields_at + 2 * c.static_field_offsets.len();
        let width = if p.extended { 3 } else { 2 };
        for (k, &m) in c.static_method_offsets.iter().enumerate() {
            let at = MethodLocation {
                block_index: c.static_method_blocks.get(k).copied(),
                offset: m,
            };
            let site = Site {
                tag: Tag::Export,
                offset: methods_at + width * k,
                what: "exported static method",
            };
            method(p, at, true, site, out);
        }
    }
}

fn constant_pool(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(cp) = p.cp else { return };
    for (i, e) in cp.entries.iter().enumerate() {
        let what = format!("constant-pool entry {i} ({})", e.kind().name());
        let site = || Site {
            tag: Tag::ConstantPool,
            offset: 2 + 4 * i + 1,
            what: &what,
        };
        match *e {
            CpEntry::ClassRef(c)
            | CpEntry::InstanceFieldRef { class: c, .. }
            | CpEntry::VirtualMethodRef { class: c, .. }
            | CpEntry::SuperMethodRef { class: c, .. } => class_ref(p, c, site(), out),
            CpEntry::StaticFieldRef(StaticRef::Internal { offset, .. }) => {
                static_field(p, offset, site(), out)
            }
            CpEntry::StaticMethodRef(StaticRef::Internal { block, offset }) => {
                let at = MethodLocation {
                    block_index: Some(block),
                    offset,
                };
                method(p, at, true, site(), out)
            }
            CpEntry::StaticFieldRef(StaticRef::External { package_token, .. })
            | CpEntry::StaticMethodRef(StaticRef::External { package_token, .. }) => {
                package_token_in_range(p, package_token, site(), out)
            }
        }
    }
}
