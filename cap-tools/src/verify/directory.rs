//! The Directory against the components it describes: a card allocates and
//! reads components by the sizes and counts recorded here, so each must be
//! exactly what the file holds.

use super::layout::{self, DirectoryLayout};
use super::model::Parts;
use super::{rule, Finding};
use crate::cap::{Component, Container, Directory, Tag};

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(d) = p.directory else { return };
    let at = layout::directory(d, &p.cap.format);
    sizes(p, d, &at, out);
    counts(p, d, &at, out);
    custom(p, d, &at, out);
}

/// The body size of a component as the file holds it (its encoding is byte
/// exact), or `None` when it cannot be encoded.
fn body_size(p: &Parts<'_>, c: &Component) -> Option<usize> {
    c.encode_body(&p.cap.context()).ok().map(|b| b.len())
}

fn sizes(p: &Parts<'_>, d: &Directory, at: &DirectoryLayout, out: &mut Vec<Finding>) {
    for (i, (&listed, &offset)) in d.component_sizes.iter().zip(&at.sizes).enumerate() {
        let Some(tag) = u8::try_from(i + 1).ok().and_then(Tag::from_u8) else {
            continue;
        };
        let actual = p.cap.component(tag).map(|c| body_size(p, c));
        let message = match actual {
            None if listed != 0 && !left_out_of_load_file(p, tag) => format!(
                "lists {listed} byte(s) for the {} component, which is absent",
                tag.name()
            ),
            Some(Some(_)) if listed == 0 => format!(
                "lists size 0 for the {} component, which is present",
                tag.name()
            ),
            Some(Some(size)) if size as u64 != u64::from(listed) => format!(
                "lists {listed} byte(s) for the {} component, whose body holds {size}",
                tag.name()
            ),
            _ => continue,
        };
        out.push(Finding::at(
            Tag::Directory,
            offset,
            rule::DIRECTORY_SIZE,
            message,
        ));
    }
    for c in &p.cap.components {
        if let Some(tag) = c.tag() {
            if tag as usize > d.component_sizes.len() {
                out.push(Finding::whole(
                    Tag::Directory,
                    rule::DIRECTORY_SIZE,
                    format!(
                        "the {} component is present, but a CAP {} Directory has no size for it",
                        tag.name(),
                        p.cap.format
                    ),
                ));
            }
        }
    }
}

/// Load files sent to cards leave out the Descriptor and Debug components but
/// keep the Directory as the converter wrote it, sizes included.
fn left_out_of_load_file(p: &Parts<'_>, tag: Tag) -> bool {
    matches!(p.cap.container, Container::LoadFile) && matches!(tag, Tag::Descriptor | Tag::Debug)
}

fn counts(p: &Parts<'_>, d: &Directory, at: &DirectoryLayout, out: &mut Vec<Finding>) {
    let imports = p.import_len();
    if usize::from(d.import_count) != imports {
        out.push(Finding::at(
            Tag::Directory,
            at.import_count,
            rule::IMPORT_COUNT,
            format!(
                "import_count is {}, the Import component lists {imports} package(s)",
                d.import_count
            ),
        ));
    }
    let applets = p.applet.map_or(0, |a| a.applets.len());
    if usize::from(d.applet_count) != applets {
        out.push(Finding::at(
            Tag::Directory,
            at.applet_count,
            rule::APPLET_COUNT,
            format!(
                "applet_count is {}, the Applet component lists {applets} applet(s)",
                d.applet_count
            ),
        ));
    }
    if let (Some(n), Some(m)) = (d.method_component_block_count, p.method) {
        if usize::from(n) != m.blocks.len() {
            out.push(Finding::at(
                Tag::Directory,
                at.block_count,
                rule::METHOD_BLOCK_COUNT,
                format!(
                    "method_component_block_count is {n}, the Method component has {} block(s)",
                    m.blocks.len()
                ),
            ));
        }
    }
}

/// Custom components listed must exist with their listed size; present ones
/// must be listed (a card skips components by the Directory).
fn custom(p: &Parts<'_>, d: &Directory, at: &DirectoryLayout, out: &mut Vec<Finding>) {
    for (c, &offset) in d.custom_components.iter().zip(&at.custom) {
        let found = p
            .cap
            .components
            .iter()
            .find(|x| x.tag().is_none() && x.tag_byte() == c.tag);
        let message = match found.map(|x| body_size(p, x)) {
            None => format!("lists custom component {:#04x}, which is absent", c.tag),
            Some(Some(size)) if size as u64 != u64::from(c.size) => format!(
                "lists {} byte(s) for custom component {:#04x}, whose body holds {size}",
                c.size, c.tag
            ),
            _ => continue,
        };
        out.push(Finding::at(
            Tag::Directory,
            offset,
            rule::CUSTOM_COMPONENT,
            message,
        ));
    }
    for c in &p.cap.components {
        if c.tag().is_none() && !d.custom_components.iter().any(|x| x.tag == c.tag_byte()) {
            out.push(Finding::whole(
                Tag::Directory,
                rule::CUSTOM_COMPONENT,
                format!(
                    "custom component {:#04x} is present but not listed",
                    c.tag_byte()
                ),
            ));
        }
    }
}
