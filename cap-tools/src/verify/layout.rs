//! Byte offsets of fields within component bodies, recomputed from the
//! decoded model (which keeps values, not positions), so that a finding can
//! name the byte a hex viewer shows. Arithmetic saturates: a position is only
//! ever reported, never used to index anything.

use crate::aid::Aid;
use crate::cap::components::export::ClassExport;
use crate::cap::{AppletComponent, Descriptor, Directory, ExportComponent, Format, Header};

/// Where the fields of a Directory component are.
pub(super) struct DirectoryLayout {
    /// Offset of each component_sizes entry; index = tag - 1.
    pub sizes: Vec<usize>,
    pub static_field_size: usize,
    pub import_count: usize,
    pub applet_count: usize,
    /// Extended format only.
    pub block_count: usize,
    /// Offset of each custom_component_info (its tag byte).
    pub custom: Vec<usize>,
}

pub(super) fn directory(d: &Directory, format: &Format) -> DirectoryLayout {
    let mut at = 0usize;
    let mut sizes = Vec::with_capacity(d.component_sizes.len());
    for tag in 1..=d.component_sizes.len() {
        sizes.push(at);
        let width = u8::try_from(tag).map_or(2, |t| format.size_width(t));
        at = at.saturating_add(width);
    }
    let static_field_size = at;
    let import_count = at.saturating_add(6);
    let applet_count = at.saturating_add(7);
    let block_count = at.saturating_add(8);
    let mut next = if format.extended {
        block_count.saturating_add(2)
    } else {
        block_count.saturating_add(1)
    };
    let size_width = if format.extended { 4 } else { 2 };
    let mut custom = Vec::with_capacity(d.custom_components.len());
    for c in &d.custom_components {
        custom.push(next);
        next = next.saturating_add(2 + size_width + c.aid.as_bytes().len());
    }
    DirectoryLayout {
        sizes,
        static_field_size,
        import_count,
        applet_count,
        block_count,
        custom,
    }
}

/// For each applet: the offset of its AID_length byte and of its
/// install_method_offset field.
pub(super) fn applet(a: &AppletComponent, extended: bool) -> Vec<(usize, usize)> {
    let mut at = 1usize;
    a.applets
        .iter()
        .map(|e| {
            let aid = at;
            let mut field = at.saturating_add(1 + e.aid.as_bytes().len());
            if extended {
                field = field.saturating_add(1);
            }
            at = field.saturating_add(2);
            (aid, field)
        })
        .collect()
}

/// Offset of the AID_length byte of each package_info in a list starting at `at`.
pub(super) fn package_aids<'a>(
    mut at: usize,
    aids: impl Iterator<Item = &'a Aid>,
) -> Vec<(usize, &'a Aid)> {
    aids.map(|aid| {
        let here = at.saturating_add(2);
        at = here.saturating_add(1 + aid.as_bytes().len());
        (here, aid)
    })
    .collect()
}

/// Offset of the Header's flags byte.
pub(super) const HEADER_FLAGS: usize = 6;

/// The AIDs of a Header with the offsets of their length bytes: the package
/// (or, extended, the CAP file) AID, then the extended package list.
pub(super) fn header_aids(h: &Header) -> Vec<(usize, &Aid)> {
    let first = package_aids(7, std::iter::once(&h.package.aid));
    let after = 10usize.saturating_add(h.package.aid.as_bytes().len());
    let rest = package_aids(
        after.saturating_add(1),
        h.packages.iter().map(|p| &p.package.aid),
    );
    first.into_iter().chain(rest).collect()
}

/// Offset of each class_descriptor_info, in the order of `d.classes`.
pub(super) fn descriptor_classes(d: &Descriptor, extended: bool) -> Vec<usize> {
    let method_size = if extended { 13 } else { 12 };
    let mut out = Vec::with_capacity(d.classes.len());
    let mut at = 1usize;
    // Extended files put a class_count byte before each package's classes.
    let mut package_starts: Vec<usize> = Vec::new();
    if let Some(counts) = &d.package_class_counts {
        let mut n = 0usize;
        for &c in counts {
            package_starts.push(n);
            n = n.saturating_add(usize::from(c));
        }
    }
    for (i, c) in d.classes.iter().enumerate() {
        if package_starts.contains(&i) {
            at = at.saturating_add(1);
        }
        out.push(at);
        let size = 9usize
            .saturating_add(2 * c.interfaces.len())
            .saturating_add(7 * c.fields.len())
            .saturating_add(method_size * c.methods.len());
        at = at.saturating_add(size);
    }
    out
}

/// Offset of a method_descriptor_info inside its class descriptor at `class_at`.
pub(super) fn descriptor_method(
    d: &crate::cap::components::descriptor::ClassDescriptor,
    class_at: usize,
    index: usize,
    extended: bool,
) -> usize {
    let method_size = if extended { 13 } else { 12 };
    class_at
        .saturating_add(9)
        .saturating_add(2 * d.interfaces.len())
        .saturating_add(7 * d.fields.len())
        .saturating_add(method_size * index)
}

/// Every class_export_info with its offset, across packages in extended files.
pub(super) fn export_classes(e: &ExportComponent, extended: bool) -> Vec<(usize, &ClassExport)> {
    let mut out = Vec::new();
    if extended {
        // package_count, then per package a class list.
        let mut at = 1usize;
        for p in &e.packages {
            out.extend(class_list(&p.classes, &mut at, extended));
        }
    } else {
        out.extend(class_list(&e.classes, &mut 0, extended));
    }
    out
}

/// `u1 class_count, class_export_info[]` starting at `at`; moves `at` past it.
fn class_list<'a>(
    classes: &'a [ClassExport],
    at: &mut usize,
    extended: bool,
) -> Vec<(usize, &'a ClassExport)> {
    let method_size = if extended { 3 } else { 2 };
    *at = at.saturating_add(1);
    classes
        .iter()
        .map(|c| {
            let here = *at;
            *at = at
                .saturating_add(4)
                .saturating_add(2 * c.static_field_offsets.len())
                .saturating_add(method_size * c.static_method_offsets.len());
            (here, c)
        })
        .collect()
}
