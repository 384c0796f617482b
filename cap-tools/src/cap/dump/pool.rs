//! The Constant Pool component: each entry's kind, its raw reference
//! (offset or tokens) and what that reference names.

use super::names::Names;
use super::refs::{from_cp, raw_class, raw_static};
use super::Out;
use crate::cap::components::constant_pool::CpEntry;
use crate::cap::ConstantPool;

pub fn constant_pool(p: &ConstantPool, names: &Names<'_>, out: &mut Out) {
    out.line(1, format!("{} entries", p.entries.len()));
    for (i, e) in p.entries.iter().enumerate() {
        let kind = e.kind().name().trim_start_matches("CONSTANT_");
        let index = u16::try_from(i).unwrap_or(u16::MAX);
        out.line(
            2,
            format!(
                "{i:>4}  {kind:<18} {:<14} {}",
                raw(e),
                names.cp_entry(index)
            ),
        );
    }
}

/// The reference as stored: `@0x0012`, `0.3`, `@0x0012 #1`, `0.16.2`.
pub fn raw(e: &CpEntry) -> String {
    match *e {
        CpEntry::ClassRef(c) => raw_class(from_cp(c)),
        CpEntry::InstanceFieldRef { class, token }
        | CpEntry::VirtualMethodRef { class, token }
        | CpEntry::SuperMethodRef { class, token } => {
            format!("{} #{token}", raw_class(from_cp(class)))
        }
        CpEntry::StaticFieldRef(s) | CpEntry::StaticMethodRef(s) => raw_static(s),
    }
}
