//! Structural and reference checks on a decoded CAP file, before it goes to a
//! card or the emulator.
//!
//! Decoding already guarantees that every component is well formed on its
//! own; [`verify`] checks what ties the components together: sizes the
//! Directory records, constant-pool indices in the bytecode and the
//! RefLocation lists a card relinks them with, offsets one component holds
//! into another, exception handler ranges and branch targets, AIDs, the
//! static field image sizes and the Header flags.
//!
//! The input may come from anywhere (a fuzzer, a mutated file), so the checks
//! never panic and never trust a count or offset they have not bounded: every
//! loop runs over decoded data, whose size the input bytes already limit.

mod aids;
mod code;
mod descriptor_refs;
mod directory;
mod handlers;
mod layout;
mod model;
mod offsets;
mod presence;
mod ref_location;
mod static_fields;
mod targets;
mod tokens;

use std::fmt;

use serde::Serialize;

use crate::cap::{Cap, Tag};

/// The stable rule identifiers a [`Finding`] carries, for scripts and tests
/// that match on them.
pub mod rule {
    /// A required component is missing or a component appears twice.
    pub const COMPONENT_PRESENCE: &str = "component-presence";
    /// A Directory size differs from the component's body size, or names an
    /// absent component, or a present one with size 0.
    pub const DIRECTORY_SIZE: &str = "directory-size";
    /// Directory import_count differs from the Import component.
    pub const IMPORT_COUNT: &str = "import-count";
    /// Directory applet_count differs from the Applet component.
    pub const APPLET_COUNT: &str = "applet-count";
    /// Directory method_component_block_count differs from the Method component.
    pub const METHOD_BLOCK_COUNT: &str = "method-block-count";
    /// A custom component listed in the Directory is absent or has another
    /// size, or a custom component is present but not listed.
    pub const CUSTOM_COMPONENT: &str = "custom-component";
    /// A constant-pool index in bytecode or a handler is past the pool's end.
    pub const CP_INDEX_RANGE: &str = "cp-index-range";
    /// A constant-pool index names an entry of a kind the opcode cannot use.
    pub const CP_KIND: &str = "cp-kind";
    /// RefLocation misses a constant-pool operand or lists an offset that holds none.
    pub const REFLOCATION_MISMATCH: &str = "reflocation-mismatch";
    /// An offset that must name a method_info names none (or an abstract one
    /// where code is needed).
    pub const METHOD_OFFSET: &str = "method-offset";
    /// An internal class_ref or class offset names no Class component entry.
    pub const CLASS_OFFSET: &str = "class-offset";
    /// An internal static field reference lies outside the static field image.
    pub const STATIC_FIELD_OFFSET: &str = "static-field-offset";
    /// An external reference names a package token the Import component lacks.
    pub const PACKAGE_TOKEN: &str = "package-token";
    /// A Descriptor's bytecode_count differs from the method's code length.
    pub const BYTECODE_COUNT: &str = "bytecode-count";
    /// An exception handler's range or handler offset leaves its method or
    /// misses an instruction boundary.
    pub const HANDLER_RANGE: &str = "handler-range";
    /// A handler's catch_type_index is neither 0 nor a CONSTANT_Classref index.
    pub const CATCH_TYPE: &str = "catch-type";
    /// A branch target leaves its method or lands inside an instruction.
    pub const BRANCH_TARGET: &str = "branch-target";
    /// An AID is shorter than 5 or longer than 16 bytes.
    pub const AID_LENGTH: &str = "aid-length";
    /// An applet AID does not share the package's RID.
    pub const APPLET_RID: &str = "applet-rid";
    /// Static field image sizes disagree between Directory and StaticField,
    /// or the StaticField segments do not add up to its image size.
    pub const STATIC_FIELD_SIZES: &str = "static-field-sizes";
    /// ACC_APPLET or ACC_EXPORT disagrees with the presence of the component.
    pub const HEADER_FLAGS: &str = "header-flags";
    /// A token appears twice in one namespace of the Descriptor component
    /// (classes, a class's static methods, static fields, instance fields,
    /// virtual methods, an interface's methods).
    pub const DUPLICATE_TOKEN: &str = "duplicate-token";
    /// A Descriptor token is missing (0xFF on an externally visible item),
    /// present where none may be (private, package-visible static), or
    /// outside the consecutive numbering from 0 its namespace requires.
    pub const TOKEN_RANGE: &str = "token-range";
    /// An Export component entry is not the item the Descriptor gives its
    /// index as token.
    pub const EXPORT_TOKEN: &str = "export-token";
}

/// One problem found in a CAP file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The component the problem is in: `Method`, `Directory`, `Custom(0x80)` ...
    pub component: String,
    /// Byte offset within that component's info, when the problem has one
    /// place. Method findings of extended files count from their block (the
    /// message names it); RefLocation findings give the Method component
    /// offset that is listed or missing, since that is all RefLocation stores.
    pub offset: Option<usize>,
    /// Stable identifier of the rule, one of [`rule`].
    pub rule: &'static str,
    pub message: String,
}

impl Finding {
    /// A finding at a byte offset of a standard component.
    pub(crate) fn at(tag: Tag, offset: usize, rule: &'static str, message: String) -> Self {
        Finding {
            component: tag.name().to_string(),
            offset: Some(offset),
            rule,
            message,
        }
    }

    /// A finding about a standard component as a whole.
    pub(crate) fn whole(tag: Tag, rule: &'static str, message: String) -> Self {
        Finding {
            component: tag.name().to_string(),
            offset: None,
            rule,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} component", self.component)?;
        if let Some(o) = self.offset {
            write!(f, " at offset {o:#x}")?;
        }
        write!(f, ": [{}] {}", self.rule, self.message)
    }
}

/// Runs every check and returns what is wrong, in component order; an empty
/// list means the file is consistent. Checks that need a component that is
/// missing are skipped (the missing component is itself a finding).
pub fn verify(cap: &Cap) -> Vec<Finding> {
    let parts = model::Parts::of(cap);
    let mut out = Vec::new();
    presence::check(&parts, &mut out);
    directory::check(&parts, &mut out);
    aids::check(&parts, &mut out);
    code::check(&parts, &mut out);
    handlers::check(&parts, &mut out);
    ref_location::check(&parts, &mut out);
    offsets::check(&parts, &mut out);
    static_fields::check(&parts, &mut out);
    tokens::check(&parts, &mut out);
    out.sort_by_key(|f| component_rank(&f.component));
    out
}

/// An AID for a message: hex, or `(empty)` so the sentence still reads.
fn aid_text(aid: &crate::aid::Aid) -> String {
    if aid.as_bytes().is_empty() {
        "(empty)".to_string()
    } else {
        aid.to_hex()
    }
}

/// Sort key: standard components by tag, custom ones after them.
fn component_rank(name: &str) -> u16 {
    Tag::from_name(name).map(|t| t as u16).unwrap_or(0x100)
}
