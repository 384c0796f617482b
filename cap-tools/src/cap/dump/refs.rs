//! One class-reference shape for the whole dump.
//!
//! The model has two `class_ref` types (the Constant Pool's and the Class
//! component's, the latter shared by Descriptor and type descriptors). The
//! dump converts both here, so that every name lookup works on one type and a
//! future merge of the model's types touches only this file.

use crate::cap::components::class::ClassRef as ClassCompRef;
use crate::cap::components::constant_pool::{ClassRef as CpClassRef, StaticRef};

/// A class named by its Class component offset or by imported tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cls {
    Internal(u16),
    External { package: u8, class: u8 },
}

/// From the Constant Pool's `class_ref`.
pub fn from_cp(c: CpClassRef) -> Cls {
    match c {
        CpClassRef::Internal { offset } => Cls::Internal(offset),
        CpClassRef::External {
            package_token,
            class_token,
        } => Cls::External {
            package: package_token,
            class: class_token,
        },
    }
}

/// From the Class component's (and Descriptor's) `class_ref`.
pub fn from_class(c: ClassCompRef) -> Cls {
    match c {
        ClassCompRef::Internal(offset) => Cls::Internal(offset),
        ClassCompRef::External {
            package_token,
            class_token,
        } => Cls::External {
            package: package_token,
            class: class_token,
        },
    }
}

/// The raw reference as tokens or offset: `@0x0012` or `0.3` (package.class).
pub fn raw_class(c: Cls) -> String {
    match c {
        Cls::Internal(o) => format!("@{o:#06x}"),
        Cls::External { package, class } => format!("{package}.{class}"),
    }
}

/// The raw three-byte static reference: `@0x0012` (with its block or padding
/// byte when non-zero) or `0.16.2` (package.class.member tokens).
pub fn raw_static(s: StaticRef) -> String {
    match s {
        StaticRef::Internal { block: 0, offset } => format!("@{offset:#06x}"),
        StaticRef::Internal { block, offset } => format!("block {block} @{offset:#06x}"),
        StaticRef::External {
            package_token,
            class_token,
            token,
        } => format!("{package_token}.{class_token}.{token}"),
    }
}
