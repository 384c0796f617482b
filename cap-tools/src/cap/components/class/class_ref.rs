//! `class_ref` (JCVM §6.7.1): how CAP components name a class or interface,
//! either by its offset in this package's Class component or by the tokens of
//! an imported package.
//!
//! This is the model's only class reference type: the Constant Pool, Class and
//! Descriptor components and type descriptors all use it (the Constant Pool
//! module re-exports it), so a reference read in one component compares equal
//! to the same reference read in another.

use std::fmt;

use serde::Serialize;

use crate::bytes::{Reader, WriteExt};
use crate::error::{Error, Result};

/// A two-byte class reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ClassRef {
    /// Offset of an interface_info or class_info in this CAP's Class component
    /// (high bit clear, so at most 0x7FFF).
    Internal(u16),
    /// A class of an imported package: package token (index in the Import
    /// component, high bit set on the wire) and class token.
    External { package_token: u8, class_token: u8 },
}

impl ClassRef {
    /// Reads a class_ref.
    pub fn decode(r: &mut Reader<'_>, field: &'static str) -> Result<ClassRef> {
        Ok(ClassRef::from_u16(r.u2(field)?))
    }

    /// Interprets the two bytes of a class_ref.
    pub fn from_u16(v: u16) -> ClassRef {
        if v & 0x8000 != 0 {
            ClassRef::External {
                package_token: ((v >> 8) & 0x7F) as u8,
                class_token: (v & 0xFF) as u8,
            }
        } else {
            ClassRef::Internal(v)
        }
    }

    /// The two bytes of this class_ref; fails when a field is out of range.
    pub fn to_u16(&self) -> Result<u16> {
        match *self {
            ClassRef::Internal(o) if o & 0x8000 == 0 => Ok(o),
            ClassRef::Internal(o) => Err(Error::encode(
                "class_ref",
                format!("internal class offset {o:#06x} exceeds 0x7FFF"),
            )),
            ClassRef::External {
                package_token,
                class_token,
            } if package_token & 0x80 == 0 => {
                Ok(0x8000 | (u16::from(package_token) << 8) | u16::from(class_token))
            }
            ClassRef::External { package_token, .. } => Err(Error::encode(
                "class_ref",
                format!("package token {package_token} exceeds 127"),
            )),
        }
    }

    /// Appends the class_ref.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(self.to_u16()?);
        Ok(())
    }
}

impl fmt::Display for ClassRef {
    /// `@0x0042` for an internal reference, `1.3` (package.class tokens, as
    /// the JCA assembler writes them) for an external one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassRef::Internal(o) => write!(f, "@{o:#06x}"),
            ClassRef::External {
                package_token,
                class_token,
            } => write!(f, "{package_token}.{class_token}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_round_trip() {
        for (v, want) in [
            (0x0042, ClassRef::Internal(0x42)),
            (
                0x8103,
                ClassRef::External {
                    package_token: 1,
                    class_token: 3,
                },
            ),
        ] {
            let r = ClassRef::from_u16(v);
            assert_eq!(r, want);
            assert_eq!(r.to_u16().unwrap(), v);
        }
        assert_eq!(ClassRef::from_u16(0x8103).to_string(), "1.3");
        assert_eq!(ClassRef::Internal(5).to_string(), "@0x0005");
    }

    #[test]
    fn out_of_range_fields_do_not_encode() {
        assert!(ClassRef::Internal(0x8000).to_u16().is_err());
        assert!(ClassRef::External {
            package_token: 0x80,
            class_token: 0
        }
        .to_u16()
        .is_err());
    }

    #[test]
    fn truncated_class_ref_is_an_error() {
        let mut r = Reader::new(&[0x80], "test");
        assert!(ClassRef::decode(&mut r, "class_ref").is_err());
    }
}
