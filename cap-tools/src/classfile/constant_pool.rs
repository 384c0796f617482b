//! The constant pool (JVMS 4.4), read in two passes: first every entry as it
//! is stored (tags and indices), then each entry resolved to the names and
//! values it stands for. Entries may refer forward, so resolution can only
//! start once all are read; every reference is checked to point at an entry
//! of the kind the specification requires, so the resolved [`Constant`]s hold
//! strings and values instead of indices the converter would have to chase.

use serde::Serialize;

use super::mutf8;
use super::refs::capacity;
use crate::bytes::Reader;
use crate::error::{Error, Result};

/// One resolved constant pool entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Constant {
    Utf8(String),
    Integer(i32),
    Float(f32),
    Long(i64),
    Double(f64),
    /// A class or array type, in internal form (`a/b/C`, `[I`).
    Class(String),
    String(String),
    FieldRef(MemberRef),
    MethodRef(MemberRef),
    InterfaceMethodRef(MemberRef),
    NameAndType {
        name: String,
        descriptor: String,
    },
    /// `kind` is the reference kind (1..=9); `index` the constant pool index
    /// of the field or method it refers to (checked to be of the right kind).
    MethodHandle {
        kind: u8,
        index: u16,
    },
    /// A method descriptor.
    MethodType(String),
    /// `bootstrap` indexes the class's BootstrapMethods attribute.
    Dynamic {
        bootstrap: u16,
        name: String,
        descriptor: String,
    },
    InvokeDynamic {
        bootstrap: u16,
        name: String,
        descriptor: String,
    },
    Module(String),
    Package(String),
    /// The second slot of a Long or Double, which the format leaves unused.
    Unusable,
}

impl Constant {
    /// A short name of the entry's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Constant::Utf8(_) => "Utf8",
            Constant::Integer(_) => "Integer",
            Constant::Float(_) => "Float",
            Constant::Long(_) => "Long",
            Constant::Double(_) => "Double",
            Constant::Class(_) => "Class",
            Constant::String(_) => "String",
            Constant::FieldRef(_) => "Fieldref",
            Constant::MethodRef(_) => "Methodref",
            Constant::InterfaceMethodRef(_) => "InterfaceMethodref",
            Constant::NameAndType { .. } => "NameAndType",
            Constant::MethodHandle { .. } => "MethodHandle",
            Constant::MethodType(_) => "MethodType",
            Constant::Dynamic { .. } => "Dynamic",
            Constant::InvokeDynamic { .. } => "InvokeDynamic",
            Constant::Module(_) => "Module",
            Constant::Package(_) => "Package",
            Constant::Unusable => "unusable (second slot of a Long or Double)",
        }
    }
}

/// A field or method reference: the class that declares (or inherits) it,
/// its name and its descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRef {
    pub class: String,
    pub name: String,
    pub descriptor: String,
}

/// The resolved constant pool of a class.
///
/// Indices are those of the class file: 1 to `len() - 1`; index 0 is never
/// valid, and the slot after a Long or Double holds [`Constant::Unusable`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstantPool {
    /// `entries[0]` stands for the invalid index 0 and is never returned.
    entries: Vec<Constant>,
}

impl ConstantPool {
    /// The entry at `index`, or `None` for 0 and indices past the end.
    pub fn get(&self, index: u16) -> Option<&Constant> {
        match index {
            0 => None,
            i => self.entries.get(usize::from(i)),
        }
    }

    /// The class file's `constant_pool_count`: one more than the highest index.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the pool has no entries (count 0 or 1).
    pub fn is_empty(&self) -> bool {
        self.entries.len() <= 1
    }

    /// Every usable entry with its index, skipping the second slots of Longs
    /// and Doubles.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &Constant)> {
        self.entries
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, c)| **c != Constant::Unusable)
            // Indices come from a u2 count, so they fit.
            .filter_map(|(i, c)| Some((u16::try_from(i).ok()?, c)))
    }

    /// The entry at `index`, or an error naming the index.
    pub fn entry(&self, index: u16) -> Result<&Constant> {
        self.get(index).ok_or_else(|| {
            Error::Container(format!(
                "constant pool index {index} is out of range (1..{})",
                self.len()
            ))
        })
    }

    /// The name of the Class entry at `index`.
    pub fn class_name(&self, index: u16) -> Result<&str> {
        match self.entry(index)? {
            Constant::Class(name) => Ok(name),
            other => Err(self.wrong_kind(index, "Class", other)),
        }
    }

    /// The string of the Utf8 entry at `index`.
    pub fn utf8(&self, index: u16) -> Result<&str> {
        match self.entry(index)? {
            Constant::Utf8(s) => Ok(s),
            other => Err(self.wrong_kind(index, "Utf8", other)),
        }
    }

    /// The Fieldref, Methodref or InterfaceMethodref at `index`.
    pub fn member_ref(&self, index: u16) -> Result<&MemberRef> {
        match self.entry(index)? {
            Constant::FieldRef(m) | Constant::MethodRef(m) | Constant::InterfaceMethodRef(m) => {
                Ok(m)
            }
            other => Err(self.wrong_kind(index, "field or method reference", other)),
        }
    }

    fn wrong_kind(&self, index: u16, want: &str, got: &Constant) -> Error {
        Error::Container(format!(
            "constant pool entry #{index} is a {}, not a {want}",
            got.kind()
        ))
    }
}

/// An entry as stored: scalar values already decoded, references still indices.
enum Raw {
    Utf8(String),
    Value(Constant),
    Class(u16),
    String(u16),
    Ref { tag: u8, class: u16, nat: u16 },
    NameAndType { name: u16, descriptor: u16 },
    MethodHandle { kind: u8, index: u16 },
    MethodType(u16),
    Dynamic { tag: u8, bootstrap: u16, nat: u16 },
    Module(u16),
    Package(u16),
    Unusable,
}

const UTF8: u8 = 1;
const INTEGER: u8 = 3;
const FLOAT: u8 = 4;
const LONG: u8 = 5;
const DOUBLE: u8 = 6;
const CLASS: u8 = 7;
const STRING: u8 = 8;
const FIELDREF: u8 = 9;
const METHODREF: u8 = 10;
const INTERFACE_METHODREF: u8 = 11;
const NAME_AND_TYPE: u8 = 12;
const METHOD_HANDLE: u8 = 15;
const METHOD_TYPE: u8 = 16;
const DYNAMIC: u8 = 17;
const INVOKE_DYNAMIC: u8 = 18;
const MODULE: u8 = 19;
const PACKAGE: u8 = 20;

/// The first class file major version each newer tag may appear in (JVMS 4.4, table 4.4-B).
fn min_major(tag: u8) -> u16 {
    match tag {
        METHOD_HANDLE | METHOD_TYPE | INVOKE_DYNAMIC => 51,
        MODULE | PACKAGE => 53,
        DYNAMIC => 55,
        _ => 45,
    }
}

/// Reads `constant_pool_count` and the entries, and resolves them.
pub(super) fn read(r: &mut Reader<'_>, major: u16) -> Result<ConstantPool> {
    let count = usize::from(r.u2("constant_pool_count")?);
    // Each slot takes at least three bytes (a Long or Double takes nine for two).
    let cap = capacity(r, count, 3);
    let mut raw = Vec::with_capacity(cap);
    // Where each entry starts, so resolution errors point at the entry.
    let mut offsets = Vec::with_capacity(cap);
    raw.push(Raw::Unusable);
    offsets.push(r.offset());
    while raw.len() < count {
        let index = raw.len();
        let at = r.offset();
        let entry = read_entry(r, major, index, count)?;
        let wide = matches!(entry, Raw::Value(Constant::Long(_) | Constant::Double(_)));
        raw.push(entry);
        offsets.push(at);
        if wide {
            if raw.len() == count {
                return Err(r.error_at(
                    at,
                    format!(
                        "constant pool entry #{index}: a Long or Double cannot take the last slot"
                    ),
                ));
            }
            raw.push(Raw::Unusable);
            offsets.push(at);
        }
    }
    let resolver = Resolver { raw: &raw };
    let entries = raw
        .iter()
        .enumerate()
        .zip(&offsets)
        .map(|((i, e), &at)| {
            resolver
                .resolve(e)
                .map_err(|m| r.error_at(at, format!("constant pool entry #{i}: {m}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ConstantPool { entries })
}

fn read_entry(r: &mut Reader<'_>, major: u16, index: usize, count: usize) -> Result<Raw> {
    let at = r.offset();
    let tag = r.u1("constant pool tag")?;
    if !matches!(tag, 1 | 3..=12 | 15..=20) {
        return Err(r.error_at(
            at,
            format!("constant pool entry #{index} (of {count}): unknown tag {tag}"),
        ));
    }
    if major < min_major(tag) {
        return Err(r.error_at(
            at,
            format!(
                "constant pool entry #{index}: tag {tag} needs class file version {} or later, this is {major}",
                min_major(tag)
            ),
        ));
    }
    Ok(match tag {
        UTF8 => {
            let len = usize::from(r.u2("Utf8 length")?);
            let start = r.offset();
            let bytes = r.bytes(len, "Utf8 bytes")?;
            let s = mutf8::decode(bytes).map_err(|(off, msg)| {
                r.error_at(
                    start + off,
                    format!("constant pool entry #{index}: bad modified UTF-8: {msg}"),
                )
            })?;
            Raw::Utf8(s)
        }
        // Two's complement reinterpretation of the stored bits is the format's meaning.
        INTEGER => Raw::Value(Constant::Integer(r.u4("Integer")? as i32)),
        FLOAT => Raw::Value(Constant::Float(f32::from_bits(r.u4("Float")?))),
        LONG => Raw::Value(Constant::Long(u64_of(r, "Long")? as i64)),
        DOUBLE => Raw::Value(Constant::Double(f64::from_bits(u64_of(r, "Double")?))),
        CLASS => Raw::Class(r.u2("Class name_index")?),
        STRING => Raw::String(r.u2("String string_index")?),
        FIELDREF | METHODREF | INTERFACE_METHODREF => Raw::Ref {
            tag,
            class: r.u2("class_index")?,
            nat: r.u2("name_and_type_index")?,
        },
        NAME_AND_TYPE => Raw::NameAndType {
            name: r.u2("NameAndType name_index")?,
            descriptor: r.u2("NameAndType descriptor_index")?,
        },
        METHOD_HANDLE => Raw::MethodHandle {
            kind: r.u1("reference_kind")?,
            index: r.u2("reference_index")?,
        },
        METHOD_TYPE => Raw::MethodType(r.u2("MethodType descriptor_index")?),
        DYNAMIC | INVOKE_DYNAMIC => Raw::Dynamic {
            tag,
            bootstrap: r.u2("bootstrap_method_attr_index")?,
            nat: r.u2("name_and_type_index")?,
        },
        MODULE => Raw::Module(r.u2("Module name_index")?),
        _ => Raw::Package(r.u2("Package name_index")?),
    })
}

fn u64_of(r: &mut Reader<'_>, field: &'static str) -> Result<u64> {
    let hi = u64::from(r.u4(field)?);
    Ok((hi << 32) | u64::from(r.u4(field)?))
}

/// Resolves references between raw entries; errors are messages that the
/// caller prefixes with the entry's index.
struct Resolver<'a> {
    raw: &'a [Raw],
}

type Msg<T> = std::result::Result<T, String>;

impl Resolver<'_> {
    fn resolve(&self, e: &Raw) -> Msg<Constant> {
        Ok(match e {
            Raw::Utf8(s) => Constant::Utf8(s.clone()),
            Raw::Value(c) => c.clone(),
            Raw::Unusable => Constant::Unusable,
            Raw::Class(i) => Constant::Class(self.utf8(*i, "Class name")?.to_string()),
            Raw::String(i) => Constant::String(self.utf8(*i, "String value")?.to_string()),
            Raw::Ref { tag, class, nat } => {
                let (name, descriptor) = self.name_and_type(*nat)?;
                let m = MemberRef {
                    class: self.class(*class)?.to_string(),
                    name: name.to_string(),
                    descriptor: descriptor.to_string(),
                };
                match *tag {
                    FIELDREF => Constant::FieldRef(m),
                    METHODREF => Constant::MethodRef(m),
                    _ => Constant::InterfaceMethodRef(m),
                }
            }
            Raw::NameAndType { name, descriptor } => Constant::NameAndType {
                name: self.utf8(*name, "NameAndType name")?.to_string(),
                descriptor: self
                    .utf8(*descriptor, "NameAndType descriptor")?
                    .to_string(),
            },
            Raw::MethodHandle { kind, index } => {
                self.check_handle(*kind, *index)?;
                Constant::MethodHandle {
                    kind: *kind,
                    index: *index,
                }
            }
            Raw::MethodType(i) => {
                Constant::MethodType(self.utf8(*i, "MethodType descriptor")?.to_string())
            }
            Raw::Dynamic {
                tag,
                bootstrap,
                nat,
            } => {
                let (name, descriptor) = self.name_and_type(*nat)?;
                let (bootstrap, name, descriptor) =
                    (*bootstrap, name.to_string(), descriptor.to_string());
                if *tag == DYNAMIC {
                    Constant::Dynamic {
                        bootstrap,
                        name,
                        descriptor,
                    }
                } else {
                    Constant::InvokeDynamic {
                        bootstrap,
                        name,
                        descriptor,
                    }
                }
            }
            Raw::Module(i) => Constant::Module(self.utf8(*i, "Module name")?.to_string()),
            Raw::Package(i) => Constant::Package(self.utf8(*i, "Package name")?.to_string()),
        })
    }

    fn at(&self, i: u16, what: &str) -> Msg<&Raw> {
        match self.raw.get(usize::from(i)) {
            Some(e) if i != 0 => Ok(e),
            _ => Err(format!(
                "{what} index {i} is out of range (1..{})",
                self.raw.len()
            )),
        }
    }

    fn utf8(&self, i: u16, what: &str) -> Msg<&str> {
        match self.at(i, what)? {
            Raw::Utf8(s) => Ok(s),
            _ => Err(format!("{what} index {i} does not point to a Utf8 entry")),
        }
    }

    fn class(&self, i: u16) -> Msg<&str> {
        match self.at(i, "class")? {
            Raw::Class(n) => self.utf8(*n, "Class name"),
            _ => Err(format!("class index {i} does not point to a Class entry")),
        }
    }

    fn name_and_type(&self, i: u16) -> Msg<(&str, &str)> {
        match self.at(i, "name_and_type")? {
            Raw::NameAndType { name, descriptor } => Ok((
                self.utf8(*name, "NameAndType name")?,
                self.utf8(*descriptor, "NameAndType descriptor")?,
            )),
            _ => Err(format!(
                "name_and_type index {i} does not point to a NameAndType entry"
            )),
        }
    }

    /// JVMS 4.4.8: the kind of a MethodHandle fixes what its index may point to.
    fn check_handle(&self, kind: u8, i: u16) -> Msg<()> {
        let target = match self.at(i, "MethodHandle reference")? {
            Raw::Ref { tag, .. } => *tag,
            _ => 0,
        };
        let ok = match kind {
            1..=4 => target == FIELDREF,
            5 | 8 => target == METHODREF,
            6 | 7 => target == METHODREF || target == INTERFACE_METHODREF,
            9 => target == INTERFACE_METHODREF,
            _ => return Err(format!("MethodHandle reference_kind {kind} is not 1..=9")),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "MethodHandle of kind {kind} points to entry #{i}, which is not a suitable field or method reference"
            ))
        }
    }
}
