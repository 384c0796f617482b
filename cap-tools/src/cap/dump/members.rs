//! Naming the members constant pool entries point at: fields and methods,
//! internal (by offset or by class and token) and imported (by tokens).
//!
//! Virtual methods and instance fields are named by a class and a token, and
//! the class named need not declare the member, so lookups walk up the
//! superclass chain, through this package's Class component and on into the
//! API tables, the way a linker would.

use super::api_link::{self, Linked};
use super::names::{Named, Names};
use super::refs::{from_class, from_cp, Cls};
use crate::api::{ApiClass, ApiMethod};
use crate::cap::components::class::ClassEntry;
use crate::cap::components::constant_pool::{CpEntry, StaticRef};
use crate::cap::components::debug::FieldContents;
use crate::cap::components::descriptor::{
    FieldRef, FieldType, StaticFieldRef, ACC_STATIC, METHOD_ACC_INIT,
};
use crate::cap::components::method::MethodLocation;

/// Superclass hops before giving up; a damaged Class component may loop.
const MAX_DEPTH: usize = 32;

/// Where a superclass walk stands.
#[derive(Clone, Copy)]
enum Pos {
    Internal(u16),
    Api(Linked, &'static ApiClass),
}

impl<'a> Names<'a> {
    /// Resolves a constant pool entry; `index` lets the Descriptor's
    /// constant-pool type complete a name that lookups could not type.
    pub(super) fn entry_at(&self, index: usize, e: &CpEntry) -> Named {
        let named = self.entry(e);
        if named.typed {
            return named;
        }
        let ty = self
            .descriptor
            .and_then(|d| d.types.constant_pool_types.get(index).copied())
            .filter(|t| *t != 0xFFFF);
        let extra = ty.and_then(|t| match e {
            CpEntry::InstanceFieldRef { .. } | CpEntry::StaticFieldRef(_) => {
                self.field_type(t).map(|f| format!(":{f}"))
            }
            CpEntry::ClassRef(_) => None,
            _ => self.signature(t),
        });
        match extra {
            Some(x) => Named::typed(format!("{}{x}", named.text)),
            None => named,
        }
    }

    /// Resolves a constant pool entry from the entry alone.
    pub(super) fn entry(&self, e: &CpEntry) -> Named {
        match *e {
            CpEntry::ClassRef(c) => Named::typed(self.class(from_cp(c))),
            CpEntry::InstanceFieldRef { class, token } => {
                self.instance_field(from_cp(class), token)
            }
            CpEntry::VirtualMethodRef { class, token } => {
                self.virtual_method(from_cp(class), token, false)
            }
            CpEntry::SuperMethodRef { class, token } => {
                self.virtual_method(from_cp(class), token, true)
            }
            CpEntry::StaticFieldRef(s) => self.static_field(s),
            CpEntry::StaticMethodRef(s) => self.static_method(s),
        }
    }

    fn pos(&self, c: Cls) -> Option<Pos> {
        match c {
            Cls::Internal(o) => Some(Pos::Internal(o)),
            Cls::External { package, class } => {
                self.api_class(package, class).map(|(l, c)| Pos::Api(l, c))
            }
        }
    }

    fn super_pos(&self, p: Pos) -> Option<Pos> {
        match p {
            Pos::Internal(o) => {
                let entry = self.classes?.entries.iter().find(|e| e.offset() == o)?;
                match entry {
                    ClassEntry::Class(c) => self.pos(from_class(c.super_class_ref?)),
                    ClassEntry::Interface(_) => None,
                }
            }
            Pos::Api(l, c) => api_link::super_class(l.package, l.api, c).map(|s| Pos::Api(l, s)),
        }
    }

    /// A virtual method by class and token. For a `super` call the search
    /// starts at the superclass of the class named, as the VM's does.
    pub fn virtual_method(&self, c: Cls, token: u8, via_super: bool) -> Named {
        let mut cur = self.pos(c);
        if via_super {
            cur = cur.and_then(|p| self.super_pos(p));
        }
        for _ in 0..MAX_DEPTH {
            let Some(p) = cur else { break };
            match p {
                Pos::Internal(o) => {
                    if let Some(at) = self.internal_virtual(o, token) {
                        return self.method_at(at);
                    }
                }
                Pos::Api(_, class) => {
                    if let Some(m) = class.virtual_method(token) {
                        return Named::typed(format!("{}.{}{}", class.name, m.name, m.descriptor));
                    }
                }
            }
            cur = self.super_pos(p);
        }
        let prefix = if via_super { "super of " } else { "" };
        Named::untyped(format!("{prefix}{}.method#{token}", self.class(c)))
    }

    /// The API method a method of `class` with virtual `token` overrides,
    /// looked up from the class's superclass upwards: its name and descriptor.
    pub(super) fn overridden(&self, class: Cls, token: u8) -> Option<&'static ApiMethod> {
        let mut cur = self.pos(class).and_then(|p| self.super_pos(p));
        for _ in 0..MAX_DEPTH {
            let p = cur?;
            if let Pos::Api(_, c) = p {
                if let Some(m) = c.virtual_method(token) {
                    return Some(m);
                }
            }
            cur = self.super_pos(p);
        }
        None
    }

    /// Where the class at `offset` defines virtual method `token`: from its
    /// Descriptor entry, else from its virtual method tables.
    fn internal_virtual(&self, offset: u16, token: u8) -> Option<MethodLocation> {
        if let Some(c) = self.desc_classes.get(&offset) {
            let found = c
                .methods
                .iter()
                .find(|m| m.token == token && m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) == 0);
            if let (Some(m), false) = (found, c.is_interface()) {
                return Some(m.location());
            }
        }
        let entry = self
            .classes?
            .entries
            .iter()
            .find(|e| e.offset() == offset)?;
        let ClassEntry::Class(c) = entry else {
            return None;
        };
        let (table, base, index) = if token & 0x80 != 0 {
            (
                &c.package_virtual_method_table,
                c.package_method_table_base,
                token & 0x7F,
            )
        } else {
            (
                &c.public_virtual_method_table,
                c.public_method_table_base,
                token,
            )
        };
        let at = *table.get(usize::from(index.checked_sub(base)?))?;
        at.is_defined().then_some(at)
    }

    /// An interface method by interface and token (`invokeinterface`).
    pub fn interface_method(&self, c: Cls, token: u8) -> Named {
        let class = self.class(c);
        match c {
            Cls::Internal(o) => {
                let m = self
                    .desc_classes
                    .get(&o)
                    .and_then(|d| d.methods.iter().find(|m| m.token == token));
                match m.and_then(|m| self.signature(m.type_offset)) {
                    Some(sig) => Named::typed(format!("{class}.method#{token}{sig}")),
                    None => Named::untyped(format!("{class}.method#{token}")),
                }
            }
            Cls::External { .. } => self.virtual_method(c, token, false),
        }
    }

    /// An instance field by class and token.
    pub fn instance_field(&self, c: Cls, token: u8) -> Named {
        let class = self.class(c);
        match c {
            Cls::Internal(o) => {
                if let Some(n) = self.debug_instance_field(o, token) {
                    return Named::typed(format!("{class}.{n}"));
                }
                let f = self.desc_classes.get(&o).and_then(|d| {
                    d.fields.iter().find(|f| {
                        matches!(f.field_ref, FieldRef::Instance { token: t, .. } if t == token)
                    })
                });
                if let Some(ty) = f.and_then(|f| self.type_of(f.field_type)) {
                    return Named::typed(format!("{class}.field#{token}:{ty}"));
                }
            }
            Cls::External { package, class: ct } => {
                if let Some((l, ac)) = self.api_class(package, ct) {
                    if let Some((owner, f)) = api_link::instance_field(l.package, l.api, ac, token)
                    {
                        return Named::typed(format!("{}.{}:{}", owner.name, f.name, f.descriptor));
                    }
                }
            }
        }
        Named::untyped(format!("{class}.field#{token}"))
    }

    /// `name:descriptor` of an instance field from the Debug component.
    fn debug_instance_field(&self, class_offset: u16, token: u8) -> Option<String> {
        let d = self.debug?;
        let c = d.classes.iter().find(|c| c.location == class_offset)?;
        let f = c.fields.iter().find(|f| {
            f.access_flags & crate::cap::components::debug::ACC_STATIC == 0
                && f.contents == FieldContents::InstanceToken(token)
        })?;
        Some(format!(
            "{}:{}",
            d.string(f.name_index)?,
            d.string(f.descriptor_index)?
        ))
    }

    /// A field type in Java notation.
    pub fn type_of(&self, t: FieldType) -> Option<String> {
        use crate::cap::components::descriptor::PrimitiveType as P;
        match t {
            FieldType::Primitive(p) => Some(
                match p {
                    P::Boolean => "Z",
                    P::Byte => "B",
                    P::Short => "S",
                    P::Int => "I",
                }
                .to_string(),
            ),
            FieldType::Reference { type_offset } => self.field_type(type_offset),
        }
    }

    /// A static field by reference.
    pub fn static_field(&self, s: StaticRef) -> Named {
        match s {
            StaticRef::Internal { offset, .. } => {
                if let Some(n) = self.debug_static_field(offset) {
                    return Named::typed(n);
                }
                let found = self.descriptor.and_then(|d| {
                    d.classes.iter().find_map(|c| {
                        let f = c.fields.iter().find(|f| {
                            f.field_ref == FieldRef::Static(StaticFieldRef::Internal { offset })
                        })?;
                        Some((c, f))
                    })
                });
                match found {
                    Some((c, f)) => {
                        let class = self.class(from_class(c.this_class_ref));
                        let ty = self.type_of(f.field_type).unwrap_or_else(|| "?".into());
                        Named::typed(format!("{class}.field@{offset:#06x}:{ty}"))
                    }
                    None => Named::untyped(format!("static field@{offset:#06x}")),
                }
            }
            StaticRef::External {
                package_token,
                class_token,
                token,
            } => {
                let f = self
                    .api_class(package_token, class_token)
                    .and_then(|(_, c)| Some((c, c.static_field(token)?)));
                match f {
                    Some((c, f)) => Named::typed(format!("{}.{}:{}", c.name, f.name, f.descriptor)),
                    None => Named::untyped(format!(
                        "{}.field#{token}",
                        self.class(Cls::External {
                            package: package_token,
                            class: class_token
                        })
                    )),
                }
            }
        }
    }

    /// `Class.name:descriptor` of a static field at an image offset, from Debug.
    fn debug_static_field(&self, offset: u16) -> Option<String> {
        let d = self.debug?;
        d.classes.iter().find_map(|c| {
            let f = c
                .fields
                .iter()
                .find(|f| f.contents == FieldContents::StaticLocation(offset))?;
            Some(format!(
                "{}.{}:{}",
                d.string(c.name_index)?,
                d.string(f.name_index)?,
                d.string(f.descriptor_index)?
            ))
        })
    }

    /// A static method (or constructor, or private method) by reference.
    pub fn static_method(&self, s: StaticRef) -> Named {
        match s {
            StaticRef::Internal { block, offset } => self.method_at(MethodLocation {
                block_index: self.extended.then_some(block),
                offset,
            }),
            StaticRef::External {
                package_token,
                class_token,
                token,
            } => {
                let m = self
                    .api_class(package_token, class_token)
                    .and_then(|(_, c)| Some((c, c.static_method(token)?)));
                match m {
                    Some((c, m)) => Named::typed(format!("{}.{}{}", c.name, m.name, m.descriptor)),
                    None => Named::untyped(format!(
                        "{}.method#{token}",
                        self.class(Cls::External {
                            package: package_token,
                            class: class_token
                        })
                    )),
                }
            }
        }
    }
}
