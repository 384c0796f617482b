//! Class component (tag 6, JCVM §6.9): the interfaces and classes of the
//! package with what the VM needs at run time — superclass, instance layout,
//! virtual method tables, implemented interfaces — plus the CAP 2.2 signature
//! pool and remote (RMI) data and the CAP 2.3 virtual method token mapping.
//!
//! Entries have no count: interface_info and class_info structures follow each
//! other to the end of the component, told apart by ACC_INTERFACE. Each keeps
//! its offset, because internal class_refs everywhere else are those offsets.

mod class_ref;
mod remote;

use serde::Serialize;

use crate::bytes::{to_u16, to_u8, Reader, WriteExt};
use crate::cap::components::descriptor::{decode_type_table, TypeDescriptor};
use crate::cap::components::method::MethodLocation;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

pub use class_ref::ClassRef;
pub use remote::{RemoteInterfaceInfo, RemoteMethodInfo};

/// Flag (in the 4-bit flags field) of an interface_info.
pub const ACC_INTERFACE: u8 = 0x8;
/// Flag: the interface is, or the class implements, javacard.framework.Shareable.
pub const ACC_SHAREABLE: u8 = 0x4;
/// Flag (CAP 2.2+): a remote interface or remote class (Java Card RMI).
pub const ACC_REMOTE: u8 = 0x2;

/// The Class component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassComponent {
    /// CAP 2.2+: the method signatures of remote methods. Always empty (and
    /// absent from the bytes, length field included) in CAP 2.1.
    pub signature_pool: Vec<TypeDescriptor>,
    /// Interfaces and classes in file order.
    pub entries: Vec<ClassEntry>,
}

/// One interface_info or class_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ClassEntry {
    Interface(InterfaceInfo),
    Class(ClassInfo),
}

impl ClassEntry {
    /// Offset of the entry in the component body: what an internal class_ref holds.
    pub fn offset(&self) -> u16 {
        match self {
            ClassEntry::Interface(i) => i.offset,
            ClassEntry::Class(c) => c.offset,
        }
    }
}

/// An interface_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceInfo {
    /// Offset in the component body, as read (encoding does not use it).
    pub offset: u16,
    /// The 4-bit flags; ACC_INTERFACE is always set.
    pub flags: u8,
    /// All superinterfaces, direct and indirect (at most 15).
    pub superinterfaces: Vec<ClassRef>,
    /// CAP 2.2+, remote interfaces only: the interface's name.
    pub interface_name: Option<String>,
}

/// One entry of a virtual method table: where the method_info is.
pub type VirtualMethodEntry = MethodLocation;

/// An interface implemented by a class, with the class's method for each
/// interface method token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImplementedInterface {
    pub interface: ClassRef,
    /// `index[i]` is the virtual method token implementing interface method token `i`.
    pub index: Vec<u8>,
}

/// A class_info.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassInfo {
    /// Offset in the component body, as read (encoding does not use it).
    pub offset: u16,
    /// The 4-bit flags (ACC_SHAREABLE, ACC_REMOTE; never ACC_INTERFACE).
    pub flags: u8,
    /// `None` only for java.lang.Object (0xFFFF on the wire).
    pub super_class_ref: Option<ClassRef>,
    /// 16-bit cells of instance fields declared by this class.
    pub declared_instance_size: u8,
    /// Token of the first reference-type instance field, 0xFF if none.
    pub first_reference_token: u8,
    pub reference_count: u8,
    pub public_method_table_base: u8,
    /// Public/protected virtual methods from token `public_method_table_base`
    /// on; an offset of 0xFFFF marks a method not defined in this package.
    pub public_virtual_method_table: Vec<VirtualMethodEntry>,
    pub package_method_table_base: u8,
    /// Package-visible virtual methods from `package_method_table_base` on.
    pub package_virtual_method_table: Vec<VirtualMethodEntry>,
    /// Implemented interfaces (at most 15).
    pub interfaces: Vec<ImplementedInterface>,
    /// CAP 2.2+, remote classes only.
    pub remote_interfaces: Option<RemoteInterfaceInfo>,
    /// CAP 2.3: for each public virtual method token below
    /// `public_method_table_base + public_virtual_method_table.len()`, the
    /// token it had in CAP 2.2 numbering (0xFF: none), so 2.2-era clients link.
    pub public_virtual_method_token_mapping: Option<Vec<u8>>,
    /// CAP 2.3: how many public virtual method tokens are inheritable under
    /// the CAP 2.2 numbering.
    pub cap22_inheritable_public_method_token_count: Option<u8>,
}

impl ClassInfo {
    /// Method offsets this class's tables name (entries of 0xFFFF, meaning
    /// "not defined in this package", left out).
    pub fn method_locations(&self) -> impl Iterator<Item = MethodLocation> + '_ {
        self.public_virtual_method_table
            .iter()
            .chain(&self.package_virtual_method_table)
            .copied()
            .filter(MethodLocation::is_defined)
    }
}

impl ClassComponent {
    /// Every method start named by the component (virtual method tables).
    pub fn method_locations(&self) -> impl Iterator<Item = MethodLocation> + '_ {
        self.entries
            .iter()
            .flat_map(|e| match e {
                ClassEntry::Class(c) => Some(c.method_locations()),
                ClassEntry::Interface(_) => None,
            })
            .flatten()
    }

    /// The entry at a class_ref offset.
    pub fn entry_at(&self, offset: u16) -> Option<&ClassEntry> {
        self.entries.iter().find(|e| e.offset() == offset)
    }
}

impl ComponentBody for ClassComponent {
    const TAG: Tag = Tag::Class;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        let mut signature_pool = Vec::new();
        if ctx.format.at_least(2, 2) {
            let len = usize::from(r.u2("signature_pool_length")?);
            let start = r.offset();
            let mut pool = r.sub(len, "signature_pool")?;
            signature_pool = decode_type_table(&mut pool, start)?;
        }
        let mut entries = Vec::new();
        while !r.is_empty() {
            let at = r.offset();
            let offset = u16::try_from(at)
                .map_err(|_| r.error(format!("entry offset {at:#x} exceeds 0xFFFF")))?;
            let bitfield = r.u1("interface/class bitfield")?;
            let flags = bitfield >> 4;
            let count = usize::from(bitfield & 0x0F);
            if flags & ACC_INTERFACE != 0 {
                entries.push(ClassEntry::Interface(decode_interface(
                    r, ctx, offset, flags, count,
                )?));
            } else {
                entries.push(ClassEntry::Class(decode_class(
                    r, ctx, offset, flags, count,
                )?));
            }
        }
        Ok(ClassComponent {
            signature_pool,
            entries,
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        if ctx.format.at_least(2, 2) {
            let mut pool = Vec::new();
            for t in &self.signature_pool {
                t.encode(&mut pool)?;
            }
            out.put_u2(to_u16(
                pool.len(),
                "Class component",
                "signature_pool_length",
            )?);
            out.put_bytes(&pool);
        } else if !self.signature_pool.is_empty() {
            return Err(Error::encode(
                "Class component",
                "CAP 2.1 has no signature pool, but it is not empty",
            ));
        }
        for e in &self.entries {
            match e {
                ClassEntry::Interface(i) => encode_interface(i, ctx, out)?,
                ClassEntry::Class(c) => encode_class(c, ctx, out)?,
            }
        }
        Ok(())
    }
}

fn decode_interface(
    r: &mut Reader<'_>,
    ctx: &Context,
    offset: u16,
    flags: u8,
    count: usize,
) -> Result<InterfaceInfo> {
    let count = r.bounded_count(count, 2, "superinterfaces")?;
    let mut superinterfaces = Vec::with_capacity(count);
    for _ in 0..count {
        superinterfaces.push(ClassRef::decode(r, "superinterfaces")?);
    }
    let interface_name = if ctx.format.at_least(2, 2) && flags & ACC_REMOTE != 0 {
        Some(remote::decode_name(r, "interface_name")?)
    } else {
        None
    };
    Ok(InterfaceInfo {
        offset,
        flags,
        superinterfaces,
        interface_name,
    })
}

fn encode_interface(i: &InterfaceInfo, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
    out.put_u1(bitfield(
        i.flags | ACC_INTERFACE,
        i.superinterfaces.len(),
        "superinterfaces",
    )?);
    i.superinterfaces.iter().try_for_each(|c| c.encode(out))?;
    let remote = ctx.format.at_least(2, 2) && i.flags & ACC_REMOTE != 0;
    match (&i.interface_name, remote) {
        (Some(name), true) => remote::encode_name(name, out, "interface_name"),
        (None, false) => Ok(()),
        (Some(_), false) => Err(Error::encode(
            "Class component",
            format!(
                "interface at {:#x} has a name but is not a CAP 2.2+ remote interface",
                i.offset
            ),
        )),
        (None, true) => Err(Error::encode(
            "Class component",
            format!(
                "remote interface at {:#x} lacks its interface_name",
                i.offset
            ),
        )),
    }
}

/// The flags/count bitfield byte, checking both fit their nibble.
fn bitfield(flags: u8, count: usize, what: &str) -> Result<u8> {
    match u8::try_from(count) {
        Ok(n) if flags <= 0x0F && n <= 0x0F => Ok((flags << 4) | n),
        _ => Err(Error::encode(
            "Class component",
            format!("flags {flags:#x} or {what} count {count} does not fit 4 bits"),
        )),
    }
}

fn decode_class(
    r: &mut Reader<'_>,
    ctx: &Context,
    offset: u16,
    flags: u8,
    interface_count: usize,
) -> Result<ClassInfo> {
    let super_raw = r.u2("super_class_ref")?;
    let super_class_ref = (super_raw != 0xFFFF).then(|| ClassRef::from_u16(super_raw));
    let declared_instance_size = r.u1("declared_instance_size")?;
    let first_reference_token = r.u1("first_reference_token")?;
    let reference_count = r.u1("reference_count")?;
    let public_method_table_base = r.u1("public_method_table_base")?;
    let public_count = usize::from(r.u1("public_method_table_count")?);
    let package_method_table_base = r.u1("package_method_table_base")?;
    let package_count = usize::from(r.u1("package_method_table_count")?);
    let public_virtual_method_table =
        decode_method_table(r, ctx, public_count, "public_virtual_method_table")?;
    let package_virtual_method_table =
        decode_method_table(r, ctx, package_count, "package_virtual_method_table")?;
    let interface_count = r.bounded_count(interface_count, 3, "implemented interfaces")?;
    let mut interfaces = Vec::with_capacity(interface_count);
    for _ in 0..interface_count {
        let interface = ClassRef::decode(r, "implemented interface")?;
        let n = usize::from(r.u1("implemented interface count")?);
        interfaces.push(ImplementedInterface {
            interface,
            index: r.bytes(n, "implemented interface index")?.to_vec(),
        });
    }
    let remote_interfaces = if ctx.format.at_least(2, 2) && flags & ACC_REMOTE != 0 {
        Some(RemoteInterfaceInfo::decode(r)?)
    } else {
        None
    };
    let (mapping, inheritable) = if ctx.format.at_least(2, 3) {
        let n = usize::from(public_method_table_base) + public_count;
        let mapping = r.bytes(n, "public_virtual_method_token_mapping")?.to_vec();
        (
            Some(mapping),
            Some(r.u1("CAP22_inheritable_public_method_token_count")?),
        )
    } else {
        (None, None)
    };
    Ok(ClassInfo {
        offset,
        flags,
        super_class_ref,
        declared_instance_size,
        first_reference_token,
        reference_count,
        public_method_table_base,
        public_virtual_method_table,
        package_method_table_base,
        package_virtual_method_table,
        interfaces,
        remote_interfaces,
        public_virtual_method_token_mapping: mapping,
        cap22_inheritable_public_method_token_count: inheritable,
    })
}

/// Reads a virtual method table: u2 offsets (compact) or, in the extended
/// format, a u1 Method component block index before each u2 offset.
fn decode_method_table(
    r: &mut Reader<'_>,
    ctx: &Context,
    count: usize,
    field: &'static str,
) -> Result<Vec<VirtualMethodEntry>> {
    let width = if ctx.format.extended { 3 } else { 2 };
    let count = r.bounded_count(count, width, field)?;
    let mut table = Vec::with_capacity(count);
    for _ in 0..count {
        table.push(MethodLocation::decode(r, ctx, field)?);
    }
    Ok(table)
}

fn encode_class(c: &ClassInfo, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
    let here = |what: String| {
        Error::encode(
            "Class component",
            format!("class at {:#x}: {what}", c.offset),
        )
    };
    out.put_u1(bitfield(
        c.flags,
        c.interfaces.len(),
        "implemented interfaces",
    )?);
    match c.super_class_ref {
        Some(s) => s.encode(out)?,
        None => out.put_u2(0xFFFF),
    }
    out.put_u1(c.declared_instance_size);
    out.put_u1(c.first_reference_token);
    out.put_u1(c.reference_count);
    out.put_u1(c.public_method_table_base);
    out.put_u1(to_u8(
        c.public_virtual_method_table.len(),
        "Class component",
        "public_method_table_count",
    )?);
    out.put_u1(c.package_method_table_base);
    out.put_u1(to_u8(
        c.package_virtual_method_table.len(),
        "Class component",
        "package_method_table_count",
    )?);
    for m in c
        .public_virtual_method_table
        .iter()
        .chain(&c.package_virtual_method_table)
    {
        m.encode(ctx, out)?;
    }
    for i in &c.interfaces {
        i.interface.encode(out)?;
        out.put_u1(to_u8(
            i.index.len(),
            "Class component",
            "implemented interface count",
        )?);
        out.put_bytes(&i.index);
    }
    let remote = ctx.format.at_least(2, 2) && c.flags & ACC_REMOTE != 0;
    match (&c.remote_interfaces, remote) {
        (Some(info), true) => info.encode(out)?,
        (None, false) => {}
        _ => {
            return Err(here(
                "remote_interfaces must be present exactly for CAP 2.2+ remote classes".into(),
            ))
        }
    }
    match (
        &c.public_virtual_method_token_mapping,
        c.cap22_inheritable_public_method_token_count,
        ctx.format.at_least(2, 3),
    ) {
        (Some(mapping), Some(count), true) => {
            let want =
                usize::from(c.public_method_table_base) + c.public_virtual_method_table.len();
            if mapping.len() != want {
                return Err(here(format!(
                    "token mapping has {} entries, base + count is {want}",
                    mapping.len()
                )));
            }
            out.put_bytes(mapping);
            out.put_u1(count);
        }
        (None, None, false) => {}
        _ => {
            return Err(here(
                "the CAP 2.3 token mapping fields must be present exactly in CAP 2.3".into(),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
