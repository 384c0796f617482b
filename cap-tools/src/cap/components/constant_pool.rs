//! Constant Pool component (tag 5): the classes, methods and fields the
//! bytecode refers to, each a fixed 4-byte `cp_info` (JCVM 3.1 §6.8).
//!
//! Entries name their target in one of two ways: internally, by offset into a
//! component of this CAP file (Class, Static Field image, Method), or
//! externally, by package token (an index into the Import component, written
//! with its high bit set), class token and member token from the imported
//! package's export file. The layout is the same in compact and extended files,
//! except that an internal static method reference's first byte, padding in
//! compact files, is the Method component block index in extended ones.

use serde::Serialize;

use crate::bytes::{to_u16, Reader, WriteExt};
use crate::cap::components::method::MethodLocation;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

/// The one `class_ref` type of the model, shared with the Class and
/// Descriptor components; re-exported here because constant-pool entries are
/// where most class references live.
pub use crate::cap::components::class::ClassRef;

const LOCATION: &str = "ConstantPool component";

/// High bit marking an external reference's first byte.
const EXTERNAL: u8 = 0x80;

/// The 3-byte `static_field_ref` / `static_method_ref` union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StaticRef {
    /// A field or method of this CAP file.
    Internal {
        /// For a static method in an extended CAP file: the index of the Method
        /// component block holding it (0..=127). Otherwise the padding byte,
        /// 0 in well-formed files; kept so that re-encoding is exact.
        block: u8,
        /// Offset into the static field image (fields) or into the Method
        /// component info or block (methods).
        offset: u16,
    },
    /// A member of an imported package: package token (Import index, 0..=127,
    /// stored without the high bit), class token, field or method token.
    External {
        package_token: u8,
        class_token: u8,
        token: u8,
    },
}

impl StaticRef {
    /// Reads the three bytes of a static reference.
    pub fn decode(r: &mut Reader<'_>, field: &'static str) -> Result<StaticRef> {
        let b = r.bytes(3, field)?;
        Ok(if b[0] & EXTERNAL != 0 {
            StaticRef::External {
                package_token: b[0] & !EXTERNAL,
                class_token: b[1],
                token: b[2],
            }
        } else {
            StaticRef::Internal {
                block: b[0],
                offset: u16::from_be_bytes([b[1], b[2]]),
            }
        })
    }

    /// Appends the three bytes; fails when the first byte would lose its meaning.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match *self {
            StaticRef::Internal { block, offset } => {
                if block & EXTERNAL != 0 {
                    return Err(Error::encode(
                        LOCATION,
                        format!("internal static reference block {block} exceeds 127"),
                    ));
                }
                out.put_u1(block);
                out.put_u2(offset);
            }
            StaticRef::External {
                package_token,
                class_token,
                token,
            } => {
                if package_token & EXTERNAL != 0 {
                    return Err(Error::encode(
                        LOCATION,
                        format!("package token {package_token} exceeds 127"),
                    ));
                }
                out.put_u1(package_token | EXTERNAL);
                out.put_u1(class_token);
                out.put_u1(token);
            }
        }
        Ok(())
    }
}

/// The six constant kinds, with their `cp_info` tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CpKind {
    ClassRef = 1,
    InstanceFieldRef = 2,
    VirtualMethodRef = 3,
    SuperMethodRef = 4,
    StaticFieldRef = 5,
    StaticMethodRef = 6,
}

impl CpKind {
    /// The kind for a `cp_info` tag.
    pub fn from_tag(tag: u8) -> Option<CpKind> {
        Some(match tag {
            1 => CpKind::ClassRef,
            2 => CpKind::InstanceFieldRef,
            3 => CpKind::VirtualMethodRef,
            4 => CpKind::SuperMethodRef,
            5 => CpKind::StaticFieldRef,
            6 => CpKind::StaticMethodRef,
            _ => return None,
        })
    }

    /// The `cp_info` tag.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// The specification's name, e.g. `CONSTANT_StaticMethodref`.
    pub fn name(self) -> &'static str {
        match self {
            CpKind::ClassRef => "CONSTANT_Classref",
            CpKind::InstanceFieldRef => "CONSTANT_InstanceFieldref",
            CpKind::VirtualMethodRef => "CONSTANT_VirtualMethodref",
            CpKind::SuperMethodRef => "CONSTANT_SuperMethodref",
            CpKind::StaticFieldRef => "CONSTANT_StaticFieldref",
            CpKind::StaticMethodRef => "CONSTANT_StaticMethodref",
        }
    }
}

/// One constant pool entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CpEntry {
    /// A class or interface. Its padding byte must be 0.
    ClassRef(ClassRef),
    /// An instance field: declaring class and field token.
    InstanceFieldRef { class: ClassRef, token: u8 },
    /// A virtual method invoked through `invokevirtual`.
    VirtualMethodRef { class: ClassRef, token: u8 },
    /// A method invoked through `invokespecial` on `super`.
    SuperMethodRef { class: ClassRef, token: u8 },
    /// A static field.
    StaticFieldRef(StaticRef),
    /// A static method, constructor or private method.
    StaticMethodRef(StaticRef),
}

impl CpEntry {
    /// What kind of constant this is.
    pub fn kind(&self) -> CpKind {
        match self {
            CpEntry::ClassRef(_) => CpKind::ClassRef,
            CpEntry::InstanceFieldRef { .. } => CpKind::InstanceFieldRef,
            CpEntry::VirtualMethodRef { .. } => CpKind::VirtualMethodRef,
            CpEntry::SuperMethodRef { .. } => CpKind::SuperMethodRef,
            CpEntry::StaticFieldRef(_) => CpKind::StaticFieldRef,
            CpEntry::StaticMethodRef(_) => CpKind::StaticMethodRef,
        }
    }

    /// The class an entry names or belongs to; `None` for static references.
    pub fn class(&self) -> Option<ClassRef> {
        match *self {
            CpEntry::ClassRef(c)
            | CpEntry::InstanceFieldRef { class: c, .. }
            | CpEntry::VirtualMethodRef { class: c, .. }
            | CpEntry::SuperMethodRef { class: c, .. } => Some(c),
            CpEntry::StaticFieldRef(_) | CpEntry::StaticMethodRef(_) => None,
        }
    }

    /// Reads one 4-byte `cp_info`.
    fn decode(r: &mut Reader<'_>, index: usize) -> Result<CpEntry> {
        let at = r.offset();
        let tag = r.u1("cp_info tag")?;
        let kind = CpKind::from_tag(tag).ok_or_else(|| {
            r.error_at(
                at,
                format!("constant pool entry {index} has tag {tag}; valid tags are 1 to 6"),
            )
        })?;
        Ok(match kind {
            CpKind::ClassRef => {
                let class = ClassRef::decode(r, "CONSTANT_Classref class_ref")?;
                let padding = r.u1("CONSTANT_Classref padding")?;
                if padding != 0 {
                    return Err(r.error_at(
                        at + 3,
                        format!(
                            "constant pool entry {index} (CONSTANT_Classref) has padding {padding:#04x}; it must be 0"
                        ),
                    ));
                }
                CpEntry::ClassRef(class)
            }
            CpKind::InstanceFieldRef | CpKind::VirtualMethodRef | CpKind::SuperMethodRef => {
                let class = ClassRef::decode(r, "cp_info class_ref")?;
                let token = r.u1("cp_info token")?;
                match kind {
                    CpKind::InstanceFieldRef => CpEntry::InstanceFieldRef { class, token },
                    CpKind::VirtualMethodRef => CpEntry::VirtualMethodRef { class, token },
                    _ => CpEntry::SuperMethodRef { class, token },
                }
            }
            CpKind::StaticFieldRef => {
                CpEntry::StaticFieldRef(StaticRef::decode(r, "CONSTANT_StaticFieldref")?)
            }
            CpKind::StaticMethodRef => {
                CpEntry::StaticMethodRef(StaticRef::decode(r, "CONSTANT_StaticMethodref")?)
            }
        })
    }

    /// Appends the 4-byte `cp_info`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(self.kind().tag());
        match self {
            CpEntry::ClassRef(c) => {
                c.encode(out)?;
                out.put_u1(0);
            }
            CpEntry::InstanceFieldRef { class, token }
            | CpEntry::VirtualMethodRef { class, token }
            | CpEntry::SuperMethodRef { class, token } => {
                class.encode(out)?;
                out.put_u1(*token);
            }
            CpEntry::StaticFieldRef(s) | CpEntry::StaticMethodRef(s) => s.encode(out)?,
        }
        Ok(())
    }
}

/// The decoded Constant Pool component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstantPool {
    pub entries: Vec<CpEntry>,
}

impl ConstantPool {
    /// The entry at a constant pool index, as bytecode operands give it.
    pub fn get(&self, index: u16) -> Option<&CpEntry> {
        self.entries.get(index as usize)
    }

    /// Where the internal static method references point. The first byte of
    /// such a reference is padding in compact files and the Method component
    /// block index in extended ones, so the caller says which it is.
    pub fn method_locations(&self, extended: bool) -> impl Iterator<Item = MethodLocation> + '_ {
        self.entries.iter().filter_map(move |e| match *e {
            CpEntry::StaticMethodRef(StaticRef::Internal { block, offset }) => {
                Some(MethodLocation {
                    block_index: extended.then_some(block),
                    offset,
                })
            }
            _ => None,
        })
    }
}

impl ComponentBody for ConstantPool {
    const TAG: Tag = Tag::ConstantPool;

    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        let count = r.u2("count")? as usize;
        let count = r.bounded_count(count, 4, "constant pool count")?;
        let entries = (0..count)
            .map(|i| CpEntry::decode(r, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(ConstantPool { entries })
    }

    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(to_u16(self.entries.len(), LOCATION, "constant pool count")?);
        for e in &self.entries {
            e.encode(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    fn decode(bytes: &[u8], format: Format) -> Result<ConstantPool> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = ConstantPool::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(c)
    }

    fn encode(c: &ConstantPool) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        c.encode(
            &Context {
                format: Format::V2_1,
            },
            &mut out,
        )?;
        Ok(out)
    }

    const ALL_KINDS: &[u8] = &[
        0, 8, // count
        1, 0x00, 0x10, 0, // Classref internal 0x10
        1, 0x81, 0x03, 0, // Classref external pkg 1 class 3
        2, 0x00, 0x10, 5, // InstanceFieldref
        3, 0x80, 0x03, 1, // VirtualMethodref external
        4, 0x00, 0x20, 0x82, // SuperMethodref, package-visible token
        5, 0x00, 0x00, 0x04, // StaticFieldref internal offset 4
        5, 0x82, 0x01, 0x02, // StaticFieldref external
        6, 0x00, 0x01, 0x23, // StaticMethodref internal
    ];

    #[test]
    fn every_kind_decodes_and_round_trips() {
        let cp = decode(ALL_KINDS, Format::V2_1).unwrap();
        assert_eq!(cp.entries.len(), 8);
        assert_eq!(
            cp.get(0),
            Some(&CpEntry::ClassRef(ClassRef::Internal(0x10)))
        );
        assert_eq!(
            cp.get(1),
            Some(&CpEntry::ClassRef(ClassRef::External {
                package_token: 1,
                class_token: 3
            }))
        );
        assert_eq!(
            cp.get(4),
            Some(&CpEntry::SuperMethodRef {
                class: ClassRef::Internal(0x20),
                token: 0x82
            })
        );
        assert_eq!(
            cp.get(6),
            Some(&CpEntry::StaticFieldRef(StaticRef::External {
                package_token: 2,
                class_token: 1,
                token: 2
            }))
        );
        assert_eq!(
            cp.get(7),
            Some(&CpEntry::StaticMethodRef(StaticRef::Internal {
                block: 0,
                offset: 0x123
            }))
        );
        assert!(cp.get(8).is_none());
        let kinds: Vec<u8> = cp.entries.iter().map(|e| e.kind().tag()).collect();
        assert_eq!(kinds, [1, 1, 2, 3, 4, 5, 5, 6]);
        assert_eq!(cp.entries[3].kind().name(), "CONSTANT_VirtualMethodref");
        assert_eq!(cp.entries[2].class(), Some(ClassRef::Internal(0x10)));
        assert_eq!(cp.entries[5].class(), None);
        assert_eq!(encode(&cp).unwrap(), ALL_KINDS);
    }

    #[test]
    fn extended_static_method_refs_name_their_block() {
        let bytes = [0, 1, 6, 0x05, 0x01, 0x00];
        let cp = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert_eq!(
            cp.entries[0],
            CpEntry::StaticMethodRef(StaticRef::Internal {
                block: 5,
                offset: 0x100
            })
        );
        assert_eq!(encode(&cp).unwrap(), bytes);
    }

    #[test]
    fn malformed_pools_are_errors() {
        for n in 0..ALL_KINDS.len() {
            assert!(decode(&ALL_KINDS[..n], Format::V2_1).is_err(), "prefix {n}");
        }
        let e = decode(&[0, 1, 7, 0, 0, 0], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tag 7"), "{e}");
        let e = decode(&[0, 1, 1, 0, 0x10, 9], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("padding"), "{e}");
        let e = decode(&[0xFF, 0xFF, 1, 0, 0, 0], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("constant pool count"), "{e}");
    }

    #[test]
    fn out_of_range_values_do_not_encode() {
        let bad_offset = ConstantPool {
            entries: vec![CpEntry::ClassRef(ClassRef::Internal(0x8000))],
        };
        assert!(encode(&bad_offset).is_err());
        let bad_token = ConstantPool {
            entries: vec![CpEntry::StaticMethodRef(StaticRef::External {
                package_token: 0x80,
                class_token: 0,
                token: 0,
            })],
        };
        assert!(encode(&bad_token).is_err());
        let bad_block = ConstantPool {
            entries: vec![CpEntry::StaticMethodRef(StaticRef::Internal {
                block: 0x80,
                offset: 0,
            })],
        };
        assert!(encode(&bad_block).is_err());
    }
}
