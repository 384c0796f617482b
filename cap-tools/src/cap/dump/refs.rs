//! One class-reference shape for the whole dump.
//!
//! The dump names classes by a small `Cls` value built from the model's
//! `ClassRef` (shared by the Constant Pool, Class, Descriptor and type
//! descriptors), so every name lookup works on one compact key.

use crate::cap::components::class::ClassRef as ClassCompRef;
use crate::cap::components::constant_pool::StaticRef;

/// A class named by its Class component offset or by imported tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cls {
    Internal(u16),
    External { package: u8, class: u8 },
}

/// From the Constant Pool's `class_ref` (the same type as the Class component's).
pub fn from_cp(c: ClassCompRef) -> Cls {
    from_class(c)
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
