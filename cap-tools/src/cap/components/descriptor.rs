//! Descriptor component (tag 11, JCVM §6.14): the full description of every
//! class, field and method of the package (tokens, access flags, where each
//! lives, its type), and the types of the constant-pool entries. Verifiers
//! and disassemblers read it; cards may drop it.
//!
//! Compact layout: `u1 class_count, class_descriptor_info[], type_descriptor_info`.
//! Extended layout (CAP 2.3 with ACC_EXTENDED): `u1 package_count`, then per
//! package `u1 class_count, class_descriptor_info[]`, then `type_descriptor_info`;
//! method descriptors then name their Method component block.

mod type_descriptor;

use serde::Serialize;

use crate::bytes::{to_u16, to_u8, Reader, WriteExt};
use crate::cap::components::class::ClassRef;
use crate::cap::components::method::MethodLocation;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

pub use type_descriptor::{decode_type_table, JcType, TypeDescriptor};

/// Class descriptor flags.
pub const CLASS_ACC_PUBLIC: u8 = 0x01;
pub const CLASS_ACC_FINAL: u8 = 0x10;
pub const CLASS_ACC_INTERFACE: u8 = 0x40;
pub const CLASS_ACC_ABSTRACT: u8 = 0x80;
/// Field and method descriptor flags.
pub const ACC_PUBLIC: u8 = 0x01;
pub const ACC_PRIVATE: u8 = 0x02;
pub const ACC_PROTECTED: u8 = 0x04;
pub const ACC_STATIC: u8 = 0x08;
pub const ACC_FINAL: u8 = 0x10;
/// Method descriptor flags.
pub const METHOD_ACC_ABSTRACT: u8 = 0x40;
pub const METHOD_ACC_INIT: u8 = 0x80;

/// The Descriptor component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Descriptor {
    /// Every class and interface, in file order (all packages, in the extended format).
    pub classes: Vec<ClassDescriptor>,
    /// Extended format: how many of `classes` each package has, in order.
    /// `None` in the compact format.
    pub package_class_counts: Option<Vec<u8>>,
    pub types: TypeDescriptorInfo,
}

/// class_descriptor_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassDescriptor {
    /// Class token; 0xFF for package-visible classes.
    pub token: u8,
    pub access_flags: u8,
    /// Where the class_info/interface_info is in the Class component.
    pub this_class_ref: ClassRef,
    /// Interfaces implemented (empty for an interface).
    pub interfaces: Vec<ClassRef>,
    pub fields: Vec<FieldDescriptor>,
    pub methods: Vec<MethodDescriptor>,
}

impl ClassDescriptor {
    pub fn is_interface(&self) -> bool {
        self.access_flags & CLASS_ACC_INTERFACE != 0
    }
}

/// How a field descriptor names its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldRef {
    /// A static field (ACC_STATIC): its static_field_ref.
    Static(StaticFieldRef),
    /// An instance field: its class and instance field token.
    Instance { class: ClassRef, token: u8 },
}

/// static_field_ref (JCVM §6.8.6): an offset in this package's static field
/// image, or tokens of an imported package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StaticFieldRef {
    /// Offset into the static field image (the padding byte is zero).
    Internal { offset: u16 },
    External {
        package_token: u8,
        class_token: u8,
        token: u8,
    },
}

/// The primitive types a field descriptor can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrimitiveType {
    Boolean,
    Byte,
    Short,
    Int,
}

/// A field's type: primitive (high bit set on the wire) or an offset into
/// [`TypeDescriptorInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldType {
    Primitive(PrimitiveType),
    Reference { type_offset: u16 },
}

/// field_descriptor_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDescriptor {
    /// Field token; 0xFF for private and package-visible fields.
    pub token: u8,
    pub access_flags: u8,
    pub field_ref: FieldRef,
    pub field_type: FieldType,
}

/// method_descriptor_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodDescriptor {
    /// Method token; 0xFF when none is assigned.
    pub token: u8,
    pub access_flags: u8,
    /// Extended format: the Method component block of `method_offset`.
    pub method_component_block_index: Option<u8>,
    /// Offset of the method_info in the Method component (0 for interface methods).
    pub method_offset: u16,
    /// Offset of the signature in [`TypeDescriptorInfo`].
    pub type_offset: u16,
    pub bytecode_count: u16,
    pub exception_handler_count: u16,
    /// Index of the first of the method's handlers in the handler table.
    pub exception_handler_index: u16,
}

impl MethodDescriptor {
    /// The method_info this descriptor points at.
    pub fn location(&self) -> MethodLocation {
        MethodLocation {
            block_index: self.method_component_block_index,
            offset: self.method_offset,
        }
    }
}

/// type_descriptor_info: constant-pool entry types and the type table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeDescriptorInfo {
    /// For each constant-pool entry, the offset of its type in this
    /// structure; 0xFFFF for class references, which have none.
    pub constant_pool_types: Vec<u16>,
    /// The type descriptors; their offsets count from the start of this
    /// structure (its constant_pool_count field).
    pub type_desc: Vec<TypeDescriptor>,
}

impl Descriptor {
    /// Every method start named here: methods of classes (interfaces'
    /// methods have no method_info).
    pub fn method_locations(&self) -> impl Iterator<Item = MethodLocation> + '_ {
        self.classes
            .iter()
            .filter(|c| !c.is_interface())
            .flat_map(|c| c.methods.iter().map(MethodDescriptor::location))
    }

    /// The type descriptor at an offset in the type table.
    pub fn type_at(&self, offset: u16) -> Option<&TypeDescriptor> {
        self.types.type_desc.iter().find(|t| t.offset == offset)
    }

    /// The method signature at `offset`, in Java notation such as `(SB[B)V`;
    /// class references as `1.3` (imported: package.class token) or `@0x0042`
    /// (Class component offset). A method_descriptor's `type_offset` goes here.
    pub fn type_descriptor_at(&self, offset: u16) -> Option<String> {
        self.type_at(offset).map(TypeDescriptor::render_method)
    }

    /// The field type at `offset` in Java notation (`S`, `[B`, `L2.1;`).
    pub fn field_type_at(&self, offset: u16) -> Option<String> {
        self.type_at(offset).map(TypeDescriptor::render_field)
    }
}

impl ComponentBody for Descriptor {
    const TAG: Tag = Tag::Descriptor;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        let mut classes = Vec::new();
        let package_class_counts = if ctx.format.extended {
            let packages = usize::from(r.u1("package_count")?);
            let packages = r.bounded_count(packages, 1, "packages")?;
            let mut counts = Vec::with_capacity(packages);
            for _ in 0..packages {
                let n = r.u1("class_count")?;
                counts.push(n);
                decode_classes(r, ctx, usize::from(n), &mut classes)?;
            }
            Some(counts)
        } else {
            let n = usize::from(r.u1("class_count")?);
            decode_classes(r, ctx, n, &mut classes)?;
            None
        };
        let types = decode_types(r)?;
        Ok(Descriptor {
            classes,
            package_class_counts,
            types,
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        match (&self.package_class_counts, ctx.format.extended) {
            (Some(counts), true) => {
                let total: usize = counts.iter().map(|c| usize::from(*c)).sum();
                if total != self.classes.len() {
                    return Err(Error::encode(
                        "Descriptor component",
                        format!(
                            "package class counts add up to {total}, but there are {} classes",
                            self.classes.len()
                        ),
                    ));
                }
                out.put_u1(to_u8(
                    counts.len(),
                    "Descriptor component",
                    "package_count",
                )?);
                let mut rest = self.classes.as_slice();
                for &n in counts {
                    let (these, more) = rest.split_at(usize::from(n));
                    out.put_u1(n);
                    these.iter().try_for_each(|c| encode_class(c, ctx, out))?;
                    rest = more;
                }
            }
            (None, false) => {
                out.put_u1(to_u8(
                    self.classes.len(),
                    "Descriptor component",
                    "class_count",
                )?);
                self.classes
                    .iter()
                    .try_for_each(|c| encode_class(c, ctx, out))?;
            }
            _ => {
                return Err(Error::encode(
                    "Descriptor component",
                    "package class counts exist exactly in the extended format",
                ))
            }
        }
        let t = &self.types;
        out.put_u2(to_u16(
            t.constant_pool_types.len(),
            "Descriptor component",
            "constant_pool_count",
        )?);
        t.constant_pool_types.iter().for_each(|v| out.put_u2(*v));
        t.type_desc.iter().try_for_each(|d| d.encode(out))
    }
}

fn decode_classes(
    r: &mut Reader<'_>,
    ctx: &Context,
    n: usize,
    into: &mut Vec<ClassDescriptor>,
) -> Result<()> {
    // token, flags, class_ref, interface_count, field_count, method_count.
    let n = r.bounded_count(n, 9, "class descriptors")?;
    into.reserve(n);
    for _ in 0..n {
        into.push(decode_class(r, ctx)?);
    }
    Ok(())
}

fn decode_class(r: &mut Reader<'_>, ctx: &Context) -> Result<ClassDescriptor> {
    let token = r.u1("class token")?;
    let access_flags = r.u1("class access_flags")?;
    let this_class_ref = ClassRef::decode(r, "this_class_ref")?;
    let interface_count = usize::from(r.u1("interface_count")?);
    let field_count = usize::from(r.u2("field_count")?);
    let method_count = usize::from(r.u2("method_count")?);
    let interface_count = r.bounded_count(interface_count, 2, "interfaces")?;
    let mut interfaces = Vec::with_capacity(interface_count);
    for _ in 0..interface_count {
        interfaces.push(ClassRef::decode(r, "interfaces")?);
    }
    let field_count = r.bounded_count(field_count, 7, "field descriptors")?;
    let mut fields = Vec::with_capacity(field_count);
    for _ in 0..field_count {
        fields.push(decode_field(r)?);
    }
    let method_size = if ctx.format.extended { 13 } else { 12 };
    let method_count = r.bounded_count(method_count, method_size, "method descriptors")?;
    let mut methods = Vec::with_capacity(method_count);
    for _ in 0..method_count {
        methods.push(decode_method(r, ctx)?);
    }
    Ok(ClassDescriptor {
        token,
        access_flags,
        this_class_ref,
        interfaces,
        fields,
        methods,
    })
}

fn decode_field(r: &mut Reader<'_>) -> Result<FieldDescriptor> {
    let token = r.u1("field token")?;
    let access_flags = r.u1("field access_flags")?;
    let at = r.offset();
    let field_ref = if access_flags & ACC_STATIC != 0 {
        let b0 = r.u1("static_field_ref")?;
        let b1 = r.u1("static_field_ref")?;
        let b2 = r.u1("static_field_ref")?;
        FieldRef::Static(if b0 & 0x80 != 0 {
            StaticFieldRef::External {
                package_token: b0 & 0x7F,
                class_token: b1,
                token: b2,
            }
        } else if b0 == 0 {
            StaticFieldRef::Internal {
                offset: u16::from_be_bytes([b1, b2]),
            }
        } else {
            return Err(r.error_at(
                at,
                format!("static_field_ref padding byte is {b0:#04x}, must be 0"),
            ));
        })
    } else {
        FieldRef::Instance {
            class: ClassRef::decode(r, "instance field class")?,
            token: r.u1("instance field token")?,
        }
    };
    let at = r.offset();
    let raw = r.u2("field type")?;
    let field_type = if raw & 0x8000 != 0 {
        FieldType::Primitive(match raw & 0x7FFF {
            0x0002 => PrimitiveType::Boolean,
            0x0003 => PrimitiveType::Byte,
            0x0004 => PrimitiveType::Short,
            0x0005 => PrimitiveType::Int,
            _ => return Err(r.error_at(at, format!("field type {raw:#06x} is no primitive type"))),
        })
    } else {
        FieldType::Reference { type_offset: raw }
    };
    Ok(FieldDescriptor {
        token,
        access_flags,
        field_ref,
        field_type,
    })
}

fn decode_method(r: &mut Reader<'_>, ctx: &Context) -> Result<MethodDescriptor> {
    let token = r.u1("method token")?;
    let access_flags = r.u1("method access_flags")?;
    let location = MethodLocation::decode(r, ctx, "method_offset")?;
    Ok(MethodDescriptor {
        token,
        access_flags,
        method_component_block_index: location.block_index,
        method_offset: location.offset,
        type_offset: r.u2("type_offset")?,
        bytecode_count: r.u2("bytecode_count")?,
        exception_handler_count: r.u2("exception_handler_count")?,
        exception_handler_index: r.u2("exception_handler_index")?,
    })
}

fn decode_types(r: &mut Reader<'_>) -> Result<TypeDescriptorInfo> {
    let start = r.offset();
    let n = usize::from(r.u2("constant_pool_count")?);
    let n = r.bounded_count(n, 2, "constant_pool_types")?;
    let mut constant_pool_types = Vec::with_capacity(n);
    for _ in 0..n {
        constant_pool_types.push(r.u2("constant_pool_types")?);
    }
    let type_desc = decode_type_table(r, start)?;
    Ok(TypeDescriptorInfo {
        constant_pool_types,
        type_desc,
    })
}

fn encode_class(c: &ClassDescriptor, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
    const AT: &str = "Descriptor component";
    out.put_u1(c.token);
    out.put_u1(c.access_flags);
    c.this_class_ref.encode(out)?;
    out.put_u1(to_u8(c.interfaces.len(), AT, "interface_count")?);
    out.put_u2(to_u16(c.fields.len(), AT, "field_count")?);
    out.put_u2(to_u16(c.methods.len(), AT, "method_count")?);
    c.interfaces.iter().try_for_each(|i| i.encode(out))?;
    for f in &c.fields {
        out.put_u1(f.token);
        out.put_u1(f.access_flags);
        match (f.field_ref, f.access_flags & ACC_STATIC != 0) {
            (FieldRef::Static(StaticFieldRef::Internal { offset }), true) => {
                out.put_u1(0);
                out.put_u2(offset);
            }
            (
                FieldRef::Static(StaticFieldRef::External {
                    package_token,
                    class_token,
                    token,
                }),
                true,
            ) if package_token < 0x80 => {
                out.put_u1(0x80 | package_token);
                out.put_u1(class_token);
                out.put_u1(token);
            }
            (FieldRef::Instance { class, token }, false) => {
                class.encode(out)?;
                out.put_u1(token);
            }
            (r, is_static) => {
                return Err(Error::encode(
                    AT,
                    format!("field ref {r:?} does not fit a field whose ACC_STATIC is {is_static}"),
                ))
            }
        }
        out.put_u2(match f.field_type {
            FieldType::Primitive(PrimitiveType::Boolean) => 0x8002,
            FieldType::Primitive(PrimitiveType::Byte) => 0x8003,
            FieldType::Primitive(PrimitiveType::Short) => 0x8004,
            FieldType::Primitive(PrimitiveType::Int) => 0x8005,
            FieldType::Reference { type_offset } if type_offset < 0x8000 => type_offset,
            FieldType::Reference { type_offset } => {
                return Err(Error::encode(
                    AT,
                    format!("reference type offset {type_offset:#06x} exceeds 15 bits"),
                ))
            }
        });
    }
    for m in &c.methods {
        out.put_u1(m.token);
        out.put_u1(m.access_flags);
        m.location().encode(ctx, out)?;
        out.put_u2(m.type_offset);
        out.put_u2(m.bytecode_count);
        out.put_u2(m.exception_handler_count);
        out.put_u2(m.exception_handler_index);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
