//! The Class component: each interface and class at its offset (the value
//! internal class references hold), with superclass, instance layout,
//! virtual method tables resolved to methods, and implemented interfaces.

use super::flags::{self, with_hex};
use super::names::{location_text, Names};
use super::refs::{from_class, Cls};
use super::Out;
use crate::cap::components::class::{ClassEntry, ClassInfo, InterfaceInfo, RemoteInterfaceInfo};
use crate::cap::components::method::MethodLocation;
use crate::cap::ClassComponent;

pub fn class_component(c: &ClassComponent, names: &Names<'_>, out: &mut Out) {
    if !c.signature_pool.is_empty() {
        out.line(
            1,
            format!("signature pool: {} type(s)", c.signature_pool.len()),
        );
        for t in &c.signature_pool {
            let sig = t.render_method_with(&|r| names.class(from_class(r)));
            out.line(2, format!("@{:#06x} {sig}", t.offset));
        }
    }
    out.line(1, format!("{} interface(s) and class(es)", c.entries.len()));
    for e in &c.entries {
        match e {
            ClassEntry::Interface(i) => interface(i, names, out),
            ClassEntry::Class(k) => class(k, names, out),
        }
    }
}

fn interface(i: &InterfaceInfo, names: &Names<'_>, out: &mut Out) {
    out.line(
        2,
        format!(
            "@{:#06x} interface {}  flags {}",
            i.offset,
            names.class(Cls::Internal(i.offset)),
            with_hex(i.flags.into(), flags::CLASS_ENTRY, 1)
        ),
    );
    let supers: Vec<String> = i
        .superinterfaces
        .iter()
        .map(|s| names.class(from_class(*s)))
        .collect();
    if !supers.is_empty() {
        out.line(3, format!("superinterfaces: {}", supers.join(", ")));
    }
    if let Some(n) = &i.interface_name {
        out.line(3, format!("remote interface name: {n}"));
    }
}

fn class(c: &ClassInfo, names: &Names<'_>, out: &mut Out) {
    out.line(
        2,
        format!(
            "@{:#06x} class {}  flags {}",
            c.offset,
            names.class(Cls::Internal(c.offset)),
            with_hex(c.flags.into(), flags::CLASS_ENTRY, 1)
        ),
    );
    let sup = match c.super_class_ref {
        Some(s) => names.class(from_class(s)),
        None => "none (this is java/lang/Object)".into(),
    };
    out.line(3, format!("super: {sup}"));
    out.line(
        3,
        format!(
            "declared instance size {} cell(s), first reference token {:#04x}, reference count {}",
            c.declared_instance_size, c.first_reference_token, c.reference_count
        ),
    );
    method_table(
        "public",
        c.public_method_table_base,
        0,
        &c.public_virtual_method_table,
        names,
        out,
    );
    method_table(
        "package",
        c.package_method_table_base,
        0x80,
        &c.package_virtual_method_table,
        names,
        out,
    );
    for i in &c.interfaces {
        let map: Vec<String> = i
            .index
            .iter()
            .enumerate()
            .map(|(k, v)| format!("#{k}->#{v}"))
            .collect();
        out.line(
            3,
            format!(
                "implements {} (interface token -> virtual token: {})",
                names.class(from_class(i.interface)),
                if map.is_empty() {
                    "none".into()
                } else {
                    map.join(" ")
                }
            ),
        );
    }
    if let Some(r) = &c.remote_interfaces {
        remote(r, names, out);
    }
    if let Some(m) = &c.public_virtual_method_token_mapping {
        let tokens: Vec<String> = m.iter().map(|t| format!("{t:#04x}")).collect();
        out.line(3, format!("CAP 2.2 token mapping: [{}]", tokens.join(" ")));
    }
    if let Some(n) = c.cap22_inheritable_public_method_token_count {
        out.line(3, format!("CAP 2.2 inheritable public method tokens: {n}"));
    }
}

/// A virtual method table: token, where the method is, and its name.
fn method_table(
    kind: &str,
    base: u8,
    token_bit: u8,
    table: &[MethodLocation],
    names: &Names<'_>,
    out: &mut Out,
) {
    out.line(
        3,
        format!(
            "{kind} virtual method table: base {base}, {} entries",
            table.len()
        ),
    );
    for (k, at) in table.iter().enumerate() {
        let token = usize::from(base) + k;
        let token = match u8::try_from(token) {
            Ok(t) if t < 0x80 => format!("#{}", t | token_bit),
            _ => format!("#<{token} out of range>"),
        };
        if at.is_defined() {
            out.line(
                4,
                format!(
                    "{token} {} {}",
                    location_text(*at),
                    names.method_at(*at).text
                ),
            );
        } else {
            out.line(4, format!("{token} not defined in this package"));
        }
    }
}

fn remote(r: &RemoteInterfaceInfo, names: &Names<'_>, out: &mut Out) {
    out.line(
        3,
        format!(
            "remote class {}, hash modifier {}",
            r.class_name,
            hex::encode_upper(&r.hash_modifier)
        ),
    );
    for m in &r.remote_methods {
        out.line(
            4,
            format!(
                "remote method hash {:#06x}, signature @{:#06x}, virtual token #{}",
                m.remote_method_hash, m.signature_offset, m.virtual_method_token
            ),
        );
    }
    let ifaces: Vec<String> = r
        .remote_interfaces
        .iter()
        .map(|c| names.class(from_class(*c)))
        .collect();
    if !ifaces.is_empty() {
        out.line(4, format!("remote interfaces: {}", ifaces.join(", ")));
    }
}
