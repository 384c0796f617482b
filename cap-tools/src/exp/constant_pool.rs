//! The constant pool of an export file (JCVM 5.6): names, descriptors,
//! class references, package identities and integer constant values.
//!
//! Entries are kept in file order because everything else in the file refers
//! to them by index; re-encoding must give every entry back its index. The
//! lookups here are shared by the decoder (which reports a bad index with its
//! offset) and by the resolved view, so both agree on what a valid reference is.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::aid::Aid;
use crate::bytes::{to_u16, Reader, WriteExt};
use crate::error::{Error, Result};

use super::LOCATION;

/// Tag of a CONSTANT_Utf8 entry.
pub const CONSTANT_UTF8: u8 = 1;
/// Tag of a CONSTANT_Integer entry.
pub const CONSTANT_INTEGER: u8 = 3;
/// Tag of a CONSTANT_Classref entry.
pub const CONSTANT_CLASSREF: u8 = 7;
/// Tag of a CONSTANT_Package entry.
pub const CONSTANT_PACKAGE: u8 = 13;

/// Smallest entry (a Classref or an empty Utf8): bounds the entry count.
const MIN_ENTRY_SIZE: usize = 3;

/// The bytes of a CONSTANT_Utf8 entry.
///
/// Export files store strings the way class files do (modified UTF-8). The
/// bytes are kept as read, so that a round trip is exact even for a string
/// that is not valid UTF-8; [`Utf8::to_string_lossy`] is for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Utf8(#[serde(serialize_with = "serialize_lossy")] pub Vec<u8>);

fn serialize_lossy<S: Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

impl Utf8 {
    /// The string, if the bytes are valid UTF-8 (they are for every Java Card
    /// identifier and descriptor).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The string, with invalid sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<&str> for Utf8 {
    fn from(s: &str) -> Self {
        Utf8(s.as_bytes().to_vec())
    }
}

impl fmt::Display for Utf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

/// A CONSTANT_Package entry: the identity of this package or, in format 2.3,
/// of a package it refers to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageConstant {
    /// [`super::flags::ACC_LIBRARY`] when the package has no applets.
    pub flags: u8,
    /// Index of the CONSTANT_Utf8 holding the name, with `/` separators.
    pub name_index: u16,
    pub minor_version: u8,
    pub major_version: u8,
    pub aid: Aid,
}

/// One constant pool entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Constant {
    /// A name or a descriptor.
    Utf8(Utf8),
    /// The value of a compile-time constant field, as a u4.
    Integer(u32),
    /// A class or interface, named by the index of a CONSTANT_Utf8.
    Classref { name_index: u16 },
    /// A package identity.
    Package(PackageConstant),
}

impl Constant {
    /// The spec's name of this entry's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Constant::Utf8(_) => "CONSTANT_Utf8",
            Constant::Integer(_) => "CONSTANT_Integer",
            Constant::Classref { .. } => "CONSTANT_Classref",
            Constant::Package(_) => "CONSTANT_Package",
        }
    }

    /// The tag byte this entry is written with.
    pub fn tag(&self) -> u8 {
        match self {
            Constant::Utf8(_) => CONSTANT_UTF8,
            Constant::Integer(_) => CONSTANT_INTEGER,
            Constant::Classref { .. } => CONSTANT_CLASSREF,
            Constant::Package(_) => CONSTANT_PACKAGE,
        }
    }
}

/// Why an index does not lead to the constant a structure needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("constant pool index {index} is out of range (the pool has {count} entries)")]
    OutOfRange { index: u16, count: usize },
    #[error("constant pool entry #{index} is a {found}, expected a {expected}")]
    WrongKind {
        index: u16,
        found: &'static str,
        expected: &'static str,
    },
}

/// The constant pool, in file order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct ConstantPool(pub Vec<Constant>);

impl ConstantPool {
    /// The entry at `index`.
    pub fn get(&self, index: u16) -> std::result::Result<&Constant, LookupError> {
        self.0
            .get(usize::from(index))
            .ok_or(LookupError::OutOfRange {
                index,
                count: self.0.len(),
            })
    }

    fn wrong(index: u16, found: &Constant, expected: &'static str) -> LookupError {
        LookupError::WrongKind {
            index,
            found: found.kind(),
            expected,
        }
    }

    /// The CONSTANT_Utf8 at `index`.
    pub fn utf8(&self, index: u16) -> std::result::Result<&Utf8, LookupError> {
        match self.get(index)? {
            Constant::Utf8(s) => Ok(s),
            other => Err(Self::wrong(index, other, "CONSTANT_Utf8")),
        }
    }

    /// The CONSTANT_Integer at `index`.
    pub fn integer(&self, index: u16) -> std::result::Result<u32, LookupError> {
        match self.get(index)? {
            Constant::Integer(v) => Ok(*v),
            other => Err(Self::wrong(index, other, "CONSTANT_Integer")),
        }
    }

    /// The name (with `/` separators) of the CONSTANT_Classref at `index`.
    pub fn class_name(&self, index: u16) -> std::result::Result<&Utf8, LookupError> {
        match self.get(index)? {
            Constant::Classref { name_index } => self.utf8(*name_index),
            other => Err(Self::wrong(index, other, "CONSTANT_Classref")),
        }
    }

    /// The CONSTANT_Package at `index` and its name (with `/` separators).
    pub fn package(
        &self,
        index: u16,
    ) -> std::result::Result<(&PackageConstant, &Utf8), LookupError> {
        match self.get(index)? {
            Constant::Package(p) => Ok((p, self.utf8(p.name_index)?)),
            other => Err(Self::wrong(index, other, "CONSTANT_Package")),
        }
    }

    /// Reads constant_pool_count and the entries, then checks that the
    /// Classref and Package entries name CONSTANT_Utf8 entries (entries may
    /// refer forward, so this waits until the whole pool is read).
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<ConstantPool> {
        let count = r.u2("constant_pool_count")?;
        let count = r.bounded_count(usize::from(count), MIN_ENTRY_SIZE, "constant_pool")?;
        let mut entries = Vec::with_capacity(count);
        let mut offsets = Vec::with_capacity(count);
        for i in 0..count {
            offsets.push(r.offset());
            let entry = decode_entry(r).map_err(|e| super::relabel(e, || entry_location(i)))?;
            entries.push(entry);
        }
        let pool = ConstantPool(entries);
        for (i, (entry, offset)) in pool.0.iter().zip(&offsets).enumerate() {
            let name_index = match entry {
                Constant::Classref { name_index } => *name_index,
                Constant::Package(p) => p.name_index,
                Constant::Utf8(_) | Constant::Integer(_) => continue,
            };
            if let Err(e) = pool.utf8(name_index) {
                // name_index follows the tag byte (Classref) or tag and flags (Package).
                let field = offset
                    + if entry.tag() == CONSTANT_PACKAGE {
                        2
                    } else {
                        1
                    };
                return Err(Error::invalid(
                    entry_location(i),
                    field,
                    format!("name_index: {e}"),
                ));
            }
        }
        Ok(pool)
    }

    /// Writes constant_pool_count and the entries.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(to_u16(self.0.len(), LOCATION, "constant_pool_count")?);
        for entry in &self.0 {
            out.put_u1(entry.tag());
            match entry {
                Constant::Utf8(s) => {
                    out.put_u2(to_u16(s.0.len(), LOCATION, "CONSTANT_Utf8 length")?);
                    out.put_bytes(&s.0);
                }
                Constant::Integer(v) => out.put_u4(*v),
                Constant::Classref { name_index } => out.put_u2(*name_index),
                Constant::Package(p) => {
                    out.put_u1(p.flags);
                    out.put_u2(p.name_index);
                    out.put_u1(p.minor_version);
                    out.put_u1(p.major_version);
                    out.put_u1_prefixed(p.aid.as_bytes(), "export file, CONSTANT_Package AID")?;
                }
            }
        }
        Ok(())
    }
}

fn entry_location(i: usize) -> String {
    format!("{LOCATION}, constant pool entry #{i}")
}

fn decode_entry(r: &mut Reader<'_>) -> Result<Constant> {
    let tag_offset = r.offset();
    let tag = r.u1("constant pool tag")?;
    Ok(match tag {
        CONSTANT_UTF8 => {
            let length = r.u2("CONSTANT_Utf8 length")?;
            Constant::Utf8(Utf8(r.bytes(usize::from(length), "CONSTANT_Utf8 bytes")?.to_vec()))
        }
        CONSTANT_INTEGER => Constant::Integer(r.u4("CONSTANT_Integer bytes")?),
        CONSTANT_CLASSREF => Constant::Classref {
            name_index: r.u2("CONSTANT_Classref name_index")?,
        },
        CONSTANT_PACKAGE => Constant::Package(PackageConstant {
            flags: r.u1("CONSTANT_Package flags")?,
            name_index: r.u2("CONSTANT_Package name_index")?,
            minor_version: r.u1("CONSTANT_Package minor_version")?,
            major_version: r.u1("CONSTANT_Package major_version")?,
            aid: Aid(r.u1_prefixed("CONSTANT_Package AID")?.to_vec()),
        }),
        other => {
            return Err(r.error_at(
                tag_offset,
                format!(
                    "unknown constant pool tag {other} (export files use 1 Utf8, 3 Integer, 7 Classref, 13 Package)"
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> ConstantPool {
        ConstantPool(vec![
            Constant::Utf8(Utf8::from("a/B")),
            Constant::Classref { name_index: 0 },
            Constant::Integer(7),
        ])
    }

    #[test]
    fn lookups_check_range_and_kind() {
        let p = pool();
        assert_eq!(p.class_name(1).unwrap().as_str(), Some("a/B"));
        assert_eq!(p.integer(2).unwrap(), 7);
        assert_eq!(
            p.utf8(3),
            Err(LookupError::OutOfRange { index: 3, count: 3 })
        );
        let e = p.utf8(2).unwrap_err().to_string();
        assert!(
            e.contains("#2 is a CONSTANT_Integer, expected a CONSTANT_Utf8"),
            "{e}"
        );
        assert!(p.package(0).is_err());
    }

    #[test]
    fn classref_to_a_non_utf8_entry_is_reported_with_its_offset() {
        // count 2: Classref -> #1, Integer.
        let bytes = [0, 2, 7, 0, 1, 3, 0, 0, 0, 5];
        let e = ConstantPool::decode(&mut Reader::new(&bytes, LOCATION))
            .unwrap_err()
            .to_string();
        assert!(e.contains("constant pool entry #0"), "{e}");
        assert!(e.contains("offset 0x3"), "{e}");
        assert!(e.contains("CONSTANT_Integer"), "{e}");
    }

    #[test]
    fn unknown_tag_is_named() {
        let bytes = [0, 1, 9, 0, 0];
        let e = ConstantPool::decode(&mut Reader::new(&bytes, LOCATION))
            .unwrap_err()
            .to_string();
        assert!(e.contains("entry #0"), "{e}");
        assert!(e.contains("unknown constant pool tag 9"), "{e}");
    }

    #[test]
    fn encode_gives_back_the_bytes() {
        let bytes = [
            0, 3, 1, 0, 1, b'p', 13, 1, 0, 0, 0, 1, 5, 1, 2, 3, 4, 5, 3, 0xff, 0xff, 0x90, 0,
        ];
        let p = ConstantPool::decode(&mut Reader::new(&bytes, LOCATION)).unwrap();
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
        let (pkg, name) = p.package(1).unwrap();
        assert_eq!((pkg.major_version, name.as_str()), (1, Some("p")));
    }
}
