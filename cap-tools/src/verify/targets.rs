//! The targets of cross-component offsets, checked one way wherever they
//! appear: a method location names a method_info, a class_ref a Class
//! component entry, a static field offset a byte of the static field image,
//! an external reference an imported package.

use super::model::{method_place, Parts};
use super::{rule, Finding};
use crate::cap::components::class::ClassRef;
use crate::cap::components::method::MethodLocation;
use crate::cap::Tag;

/// Where a finding goes: component and byte offset, plus what names the target.
pub(super) struct Site<'s> {
    pub tag: Tag,
    pub offset: usize,
    pub what: &'s str,
}

/// An internal class_ref names a Class entry; an external one an imported package.
pub(super) fn class_ref(p: &Parts<'_>, c: ClassRef, site: Site<'_>, out: &mut Vec<Finding>) {
    match c {
        ClassRef::Internal(o) if p.class.is_some() && !p.class_offsets.contains(&o) => {
            out.push(Finding::at(
                site.tag,
                site.offset,
                rule::CLASS_OFFSET,
                format!(
                    "{} names class offset {o:#x}, where the Class component has no entry",
                    site.what
                ),
            ));
        }
        ClassRef::External { package_token, .. } => {
            package_token_in_range(p, package_token, site, out)
        }
        ClassRef::Internal(_) => {}
    }
}

pub(super) fn package_token_in_range(
    p: &Parts<'_>,
    token: u8,
    site: Site<'_>,
    out: &mut Vec<Finding>,
) {
    if p.import.is_some() && usize::from(token) >= p.import_len() {
        out.push(Finding::at(
            site.tag,
            site.offset,
            rule::PACKAGE_TOKEN,
            format!(
                "{} names package token {token}, but {} package(s) are imported",
                site.what,
                p.import_len()
            ),
        ));
    }
}

/// A method location names a method_info; `needs_code` rejects abstract ones.
pub(super) fn method(
    p: &Parts<'_>,
    at: MethodLocation,
    needs_code: bool,
    site: Site<'_>,
    out: &mut Vec<Finding>,
) {
    if p.method.is_none() {
        return;
    }
    let block = p.block_key(at.block_index);
    let place = method_place(block, at.offset);
    let message = match p.method_at(at) {
        None => format!(
            "{} names Method offset {place}, where no method_info starts",
            site.what
        ),
        Some(m) if needs_code && m.header.is_abstract() => format!(
            "{} names Method offset {place}, an abstract method without code",
            site.what
        ),
        Some(_) => return,
    };
    out.push(Finding::at(
        site.tag,
        site.offset,
        rule::METHOD_OFFSET,
        message,
    ));
}

/// An internal static field offset lies inside the image.
pub(super) fn static_field(p: &Parts<'_>, offset: u16, site: Site<'_>, out: &mut Vec<Finding>) {
    let Some(size) = p.image_size() else { return };
    if offset >= size {
        out.push(Finding::at(
            site.tag,
            site.offset,
            rule::STATIC_FIELD_OFFSET,
            format!(
                "{} names static field offset {offset:#x}, outside the {size}-byte static field image",
                site.what
            ),
        ));
    }
}
