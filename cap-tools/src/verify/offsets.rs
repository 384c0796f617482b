//! Offsets the Class, Applet, Export and Constant Pool components hold into
//! other components (the Descriptor's are checked in `descriptor_refs`):
//! method offsets must name a method_info, class references and class
//! offsets a Class component entry, static field offsets a byte of the
//! static field image, external references an imported package. A card
//! follows these offsets when it links and runs the package.

use super::layout;
use super::model::Parts;
use super::targets::{class_ref, method, package_token_in_range, static_field, Site};
use super::{aid_text, descriptor_refs, rule, Finding};
use crate::cap::components::class::{ClassEntry, ClassInfo};
use crate::cap::components::constant_pool::{CpEntry, StaticRef};
use crate::cap::components::method::MethodLocation;
use crate::cap::Tag;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    class_component(p, out);
    applets(p, out);
    descriptor_refs::check(p, out);
    export(p, out);
    constant_pool(p, out);
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
        let what = format!("install method of applet {}", aid_text(&e.aid));
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
