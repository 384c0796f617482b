//! Which components are there: the ones every load file needs, no component
//! twice, and Header flags that announce exactly the optional components
//! present (a card uses ACC_APPLET and ACC_EXPORT to decide what to expect).

use std::collections::BTreeMap;

use super::layout::HEADER_FLAGS;
use super::model::Parts;
use super::{rule, Finding};
use crate::cap::header::{ACC_APPLET, ACC_EXPORT};
use crate::cap::Tag;

/// Components a card needs to link and run the package. The Descriptor is
/// left out: load files sent to cards often omit it.
const REQUIRED: [Tag; 8] = [
    Tag::Header,
    Tag::Directory,
    Tag::Import,
    Tag::ConstantPool,
    Tag::Class,
    Tag::Method,
    Tag::StaticField,
    Tag::RefLocation,
];

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    for tag in REQUIRED {
        if p.cap.component(tag).is_none() {
            out.push(Finding::whole(
                tag,
                rule::COMPONENT_PRESENCE,
                format!("the {} component is required but absent", tag.name()),
            ));
        }
    }
    let mut seen: BTreeMap<u8, usize> = BTreeMap::new();
    for c in &p.cap.components {
        *seen.entry(c.tag_byte()).or_default() += 1;
    }
    for c in &p.cap.components {
        let n = seen.remove(&c.tag_byte()).unwrap_or(0);
        if n > 1 {
            out.push(Finding {
                component: c.name(),
                offset: None,
                rule: rule::COMPONENT_PRESENCE,
                message: format!(
                    "the {} component appears {n} times; only the first is checked",
                    c.name()
                ),
            });
        }
    }
    if let Some(h) = p.header {
        flag(h.flags, ACC_APPLET, "ACC_APPLET", Tag::Applet, p, out);
        flag(h.flags, ACC_EXPORT, "ACC_EXPORT", Tag::Export, p, out);
    }
}

/// A flag must be set exactly when its component is present.
fn flag(flags: u8, bit: u8, name: &str, tag: Tag, p: &Parts<'_>, out: &mut Vec<Finding>) {
    let set = flags & bit != 0;
    let present = p.cap.component(tag).is_some();
    if set != present {
        let message = if set {
            format!(
                "flags {flags:#04x} set {name}, but there is no {} component",
                tag.name()
            )
        } else {
            format!(
                "flags {flags:#04x} lack {name}, but there is a {} component",
                tag.name()
            )
        };
        out.push(Finding::at(
            Tag::Header,
            HEADER_FLAGS,
            rule::HEADER_FLAGS,
            message,
        ));
    }
}
