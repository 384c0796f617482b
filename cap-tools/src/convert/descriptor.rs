//! The Descriptor component (JCVM 6.13): every class, field and method with
//! its tokens, flags, location and type, and the type of every constant
//! pool entry — what off-card verifiers and disassemblers read.
//!
//! Types are stored once each in a table of nibble-packed descriptors; a
//! field type `S` and a method signature `()S` have the same bytes and
//! share an entry.

use std::collections::HashMap;

use crate::cap::components::class::ClassRef;
use crate::cap::components::descriptor::{
    ClassDescriptor, Descriptor, FieldDescriptor, FieldRef, FieldType, JcType, MethodDescriptor,
    PrimitiveType, StaticFieldRef, TypeDescriptor, TypeDescriptorInfo, ACC_FINAL, ACC_PRIVATE,
    ACC_PROTECTED, ACC_PUBLIC, ACC_STATIC, CLASS_ACC_ABSTRACT, CLASS_ACC_FINAL,
    CLASS_ACC_INTERFACE, CLASS_ACC_PUBLIC, METHOD_ACC_ABSTRACT, METHOD_ACC_INIT,
};
use crate::cap::components::method::MethodLocation;

use super::cp::{Offsets, Pool, Resolver};
use super::error::{Error, Result};
use super::methods::{MethodLayout, Unit};
use super::model::{acc, is_constant, Package};
use super::tokens::{ClassTokens, FieldToken};

/// The type table under construction.
struct Types {
    descs: Vec<TypeDescriptor>,
    by_bytes: HashMap<Vec<u8>, u16>,
    next: usize,
}

impl Types {
    fn add(&mut self, types: Vec<JcType>) -> Result<u16> {
        let d = TypeDescriptor { offset: 0, types };
        let mut bytes = Vec::new();
        d.encode(&mut bytes)?;
        if let Some(&o) = self.by_bytes.get(&bytes) {
            return Ok(o);
        }
        let offset = u16::try_from(self.next)
            .ok()
            .filter(|&o| o < 0x8000)
            .ok_or_else(|| Error::general("the Descriptor type table exceeds 32 KiB"))?;
        self.next += bytes.len();
        self.by_bytes.insert(bytes, offset);
        self.descs.push(TypeDescriptor { offset, ..d });
        Ok(offset)
    }
}

/// The Java Card type of one JVM field type.
fn jc_type(t: &str, r: &mut Resolver<'_, '_>, o: &Offsets<'_>) -> Result<JcType> {
    let class = |n: &str, r: &mut Resolver<'_, '_>| -> Result<ClassRef> { r.class_ref(n, Some(o)) };
    Ok(match t {
        "V" => JcType::Void,
        "Z" => JcType::Boolean,
        "B" => JcType::Byte,
        "S" => JcType::Short,
        "I" => JcType::Int,
        "[Z" => JcType::BooleanArray,
        "[B" => JcType::ByteArray,
        "[S" => JcType::ShortArray,
        "[I" => JcType::IntArray,
        t if t.starts_with("[L") && t.ends_with(';') => {
            JcType::ReferenceArray(class(&t[2..t.len() - 1], r)?)
        }
        t if t.starts_with('L') && t.ends_with(';') => {
            JcType::Reference(class(&t[1..t.len() - 1], r)?)
        }
        t => {
            return Err(Error::general(format!(
                "type {t} is not supported by Java Card"
            )))
        }
    })
}

/// The types of a field or method descriptor (parameters, then return).
fn types_of(desc: &str, r: &mut Resolver<'_, '_>, o: &Offsets<'_>) -> Result<Vec<JcType>> {
    if desc.starts_with('(') {
        let args =
            crate::classfile::descriptor_args(desc).map_err(|e| Error::general(e.to_string()))?;
        let ret =
            crate::classfile::descriptor_return(desc).map_err(|e| Error::general(e.to_string()))?;
        args.iter()
            .chain(std::iter::once(&ret))
            .map(|t| jc_type(t, r, o))
            .collect()
    } else {
        Ok(vec![jc_type(desc, r, o)?])
    }
}

fn member_flags(f: u16) -> u8 {
    let mut out = 0;
    for (jvm, jc) in [
        (acc::PUBLIC, ACC_PUBLIC),
        (acc::PRIVATE, ACC_PRIVATE),
        (acc::PROTECTED, ACC_PROTECTED),
        (acc::STATIC, ACC_STATIC),
        (acc::FINAL, ACC_FINAL),
    ] {
        if f & jvm != 0 {
            out |= jc;
        }
    }
    out
}

/// Builds the Descriptor component.
#[allow(clippy::too_many_arguments)]
pub fn component(
    pkg: &Package<'_>,
    tokens: &[ClassTokens],
    units: &[Unit<'_>],
    layout: &MethodLayout,
    pool: &Pool,
    r: &mut Resolver<'_, '_>,
    o: &Offsets<'_>,
) -> Result<Descriptor> {
    let mut types = Types {
        descs: Vec::new(),
        by_bytes: HashMap::new(),
        next: 2 + 2 * pool.keys.len(),
    };
    let mut constant_pool_types = Vec::with_capacity(pool.keys.len());
    for k in &pool.keys {
        constant_pool_types.push(match k.type_descriptor() {
            Some(d) => {
                let t = types_of(d, r, o)?;
                types.add(t)?
            }
            None => 0xFFFF,
        });
    }
    let units_by: HashMap<(usize, usize), &Unit<'_>> =
        units.iter().map(|u| ((u.class, u.index), u)).collect();
    let mut classes = Vec::with_capacity(pkg.classes.len());
    // Grouped by package (the main one first, as in the Header), each in
    // Class component order: the extended layout counts each package's
    // classes.
    let order = (0..pkg.packages.len())
        .flat_map(|p| (0..pkg.classes.len()).filter(move |&i| pkg.class_package[i] == p));
    for i in order {
        let class = &pkg.classes[i];
        let t = &tokens[i];
        let cf = class.file.access_flags;
        let mut access_flags = 0;
        for (jvm, jc) in [
            (acc::PUBLIC, CLASS_ACC_PUBLIC),
            (acc::FINAL, CLASS_ACC_FINAL),
            (acc::INTERFACE, CLASS_ACC_INTERFACE),
            (acc::ABSTRACT, CLASS_ACC_ABSTRACT),
        ] {
            if cf & jvm != 0 {
                access_flags |= jc;
            }
        }
        let this_class_ref = ClassRef::Internal(o.classes[i]);
        let interfaces = if class.is_interface() {
            Vec::new()
        } else {
            t.interfaces
                .iter()
                .map(|x| r.class_ref(&x.interface, Some(o)))
                .collect::<Result<Vec<_>>>()?
        };
        let mut fields = Vec::new();
        for (k, f) in class.file.fields.iter().enumerate() {
            if is_constant(f) {
                continue;
            }
            let (token, field_ref) = match t.fields[k] {
                FieldToken::Instance(tok) => (
                    tok,
                    FieldRef::Instance {
                        class: this_class_ref,
                        token: tok,
                    },
                ),
                FieldToken::Static(tok) => (
                    tok.unwrap_or(0xFF),
                    FieldRef::Static(StaticFieldRef::Internal {
                        offset: *o.statics.get(&(i, k)).ok_or_else(|| {
                            Error::general("internal: static field without an offset")
                        })?,
                    }),
                ),
                FieldToken::Constant => continue,
            };
            let field_type = match f.descriptor.as_str() {
                "Z" => FieldType::Primitive(PrimitiveType::Boolean),
                "B" => FieldType::Primitive(PrimitiveType::Byte),
                "S" => FieldType::Primitive(PrimitiveType::Short),
                "I" => FieldType::Primitive(PrimitiveType::Int),
                d => FieldType::Reference {
                    type_offset: {
                        let ty = types_of(d, r, o)?;
                        types.add(ty)?
                    },
                },
            };
            fields.push(FieldDescriptor {
                token,
                access_flags: member_flags(f.access_flags),
                field_ref,
                field_type,
            });
        }
        // Oracle's order: static fields by their offset in the static field
        // image (references first, as the image lays them out), then
        // instance fields by token (references last, as tokens give them).
        fields.sort_by_key(|f: &FieldDescriptor| match f.field_ref {
            FieldRef::Static(StaticFieldRef::Internal { offset }) => (0, offset),
            FieldRef::Static(StaticFieldRef::External { token, .. }) => (0, u16::from(token)),
            FieldRef::Instance { token, .. } => (1, u16::from(token)),
        });
        let mut methods = Vec::new();
        for (k, m) in class.file.methods.iter().enumerate() {
            if m.name == "<clinit>" {
                continue;
            }
            let mut flags = member_flags(m.access_flags);
            if m.access_flags & acc::ABSTRACT != 0 {
                flags |= METHOD_ACC_ABSTRACT;
            }
            if m.name == "<init>" {
                flags |= METHOD_ACC_INIT;
            }
            let ty = types_of(&m.descriptor, r, o)?;
            let type_offset = types.add(ty)?;
            // An interface method has no method_info: offset 0 (block 0).
            let none = MethodLocation {
                block_index: layout.extended.then_some(0),
                offset: 0,
            };
            let (at, bytecode_count, handlers) = match units_by.get(&(i, k)) {
                Some(u) => {
                    let len = u
                        .body
                        .as_ref()
                        .and_then(|b| b.asm.as_ref())
                        .map_or(0, |a| a.len);
                    (
                        layout.offsets[&(i, k)],
                        len as u16,
                        layout.handlers[&(i, k)],
                    )
                }
                None => (none, 0, (0, 0)),
            };
            methods.push(MethodDescriptor {
                token: t.methods[k].byte(),
                access_flags: flags,
                method_component_block_index: at.block_index,
                method_offset: at.offset,
                type_offset,
                bytecode_count,
                exception_handler_count: handlers.1,
                exception_handler_index: if handlers.1 == 0 { 0 } else { handlers.0 },
            });
        }
        classes.push(ClassDescriptor {
            token: t.token.unwrap_or(0xFF),
            access_flags,
            this_class_ref,
            interfaces,
            fields,
            methods,
        });
    }
    // The extended layout counts each package's classes, public or private.
    let package_class_counts = if layout.extended {
        let mut counts = Vec::with_capacity(pkg.packages.len());
        for (p, name) in pkg.packages.iter().enumerate() {
            let n = pkg.class_package.iter().filter(|&&q| q == p).count();
            counts.push(u8::try_from(n).map_err(|_| {
                Error::general(format!(
                    "package {} has more than 255 classes and interfaces",
                    name.replace('/', ".")
                ))
            })?);
        }
        Some(counts)
    } else {
        None
    };
    Ok(Descriptor {
        classes,
        package_class_counts,
        types: TypeDescriptorInfo {
            constant_pool_types,
            type_desc: types.descs,
        },
    })
}
