//! Tokens the Descriptor and Export components show (JCVM 4.3.7): each
//! namespace — the package's classes, a class's static methods (with its
//! constructors), its static fields, its instance fields, its virtual
//! methods, an interface's methods — holds every token at most once;
//! externally visible items (public or protected) have one and other
//! static items show 0xFF; class and static tokens are numbered
//! consecutively from zero; and an Export component lists, at each class
//! and static token, the item the Descriptor gives that token. A card
//! links other packages against these numbers, so a duplicate is an applet
//! calling the wrong method (Oracle's off-card verifier refuses one:
//! "Duplicate method with token 255").

use std::collections::BTreeMap;

use super::layout;
use super::model::Parts;
use super::{rule, Finding};
use crate::cap::components::class::ClassRef;
use crate::cap::components::descriptor::{
    ClassDescriptor, FieldRef, FieldType, PrimitiveType, StaticFieldRef, ACC_PRIVATE,
    ACC_PROTECTED, ACC_PUBLIC, ACC_STATIC, CLASS_ACC_PUBLIC, METHOD_ACC_INIT,
};
use crate::cap::Tag;

/// No token assigned.
const NONE: u8 = 0xFF;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(d) = p.descriptor else { return };
    let offsets = layout::descriptor_classes(d, p.extended);
    let mut class_tokens = Namespace::new("class tokens of the package");
    // Extended files list several packages, each numbering its own classes.
    let mut starts = Vec::new();
    if let Some(counts) = &d.package_class_counts {
        let mut n = 0usize;
        for &k in counts {
            n = n.saturating_add(usize::from(k));
            starts.push(n);
        }
    }
    for (i, (c, &at)) in d.classes.iter().zip(&offsets).enumerate() {
        if i > 0 && starts.contains(&i) {
            let done = std::mem::replace(
                &mut class_tokens,
                Namespace::new("class tokens of the package"),
            );
            done.finish(false, out);
        }
        let public = c.access_flags & CLASS_ACC_PUBLIC != 0;
        match (public, c.token) {
            (true, NONE) => out.push(Finding::at(
                Tag::Descriptor,
                at,
                rule::TOKEN_RANGE,
                "a public class or interface has no class token (0xFF)".into(),
            )),
            (false, t) if t != NONE => out.push(Finding::at(
                Tag::Descriptor,
                at,
                rule::TOKEN_RANGE,
                format!("a package-visible class or interface has class token {t}"),
            )),
            (true, t) => class_tokens.add(t, at),
            _ => {}
        }
        members(p, c, at, out);
    }
    // Extended files number classes per package; the compact layout has one.
    if d.package_class_counts.is_none() {
        class_tokens.finish(true, out);
        export(p, &d.classes, out);
    } else {
        class_tokens.finish(false, out);
    }
}

/// One token namespace: where each token was seen.
struct Namespace {
    what: &'static str,
    seen: BTreeMap<u8, usize>,
    duplicates: Vec<(u8, usize)>,
}

impl Namespace {
    fn new(what: &'static str) -> Namespace {
        Namespace {
            what,
            seen: BTreeMap::new(),
            duplicates: Vec::new(),
        }
    }

    fn add(&mut self, token: u8, at: usize) {
        if self.seen.insert(token, at).is_some() {
            self.duplicates.push((token, at));
        }
    }

    /// Reports duplicates and, when `consecutive`, tokens that do not run
    /// from 0 without a gap.
    fn finish(self, consecutive: bool, out: &mut Vec<Finding>) {
        for (t, at) in &self.duplicates {
            out.push(Finding::at(
                Tag::Descriptor,
                *at,
                rule::DUPLICATE_TOKEN,
                format!("token {t} appears twice among the {}", self.what),
            ));
        }
        if consecutive {
            let n = self.seen.len();
            if let Some((&t, &at)) = self.seen.iter().find(|(&t, _)| usize::from(t) >= n) {
                out.push(Finding::at(
                    Tag::Descriptor,
                    at,
                    rule::TOKEN_RANGE,
                    format!(
                        "token {t} among the {} is out of range: {n} token(s) must be numbered 0 to {}",
                        self.what,
                        n.saturating_sub(1)
                    ),
                ));
            }
        }
    }
}

fn visible(flags: u8) -> bool {
    flags & (ACC_PUBLIC | ACC_PROTECTED) != 0
}

/// The members of one class or interface descriptor at `class_at`.
fn members(p: &Parts<'_>, c: &ClassDescriptor, class_at: usize, out: &mut Vec<Finding>) {
    let fields_at = class_at + 9 + 2 * c.interfaces.len();
    let mut statics = Namespace::new("static field tokens of a class");
    let mut instance = Namespace::new("instance field tokens of a class");
    for (k, f) in c.fields.iter().enumerate() {
        let at = fields_at + 7 * k;
        match f.field_ref {
            FieldRef::Static(_) => static_token(
                f.token,
                f.access_flags,
                at,
                "static field",
                &mut statics,
                out,
            ),
            FieldRef::Instance { token, .. } => {
                if f.token != token {
                    out.push(Finding::at(
                        Tag::Descriptor,
                        at,
                        rule::TOKEN_RANGE,
                        format!(
                            "an instance field's token {} differs from its field_ref's {token}",
                            f.token
                        ),
                    ));
                }
                instance.add(token, at);
                // An int takes two tokens: the next one is skipped.
                if f.field_type == FieldType::Primitive(PrimitiveType::Int) {
                    instance.add(token.wrapping_add(1), at);
                }
            }
        }
    }
    statics.finish(true, out);
    instance.finish(false, out);
    let mut static_methods = Namespace::new("static method tokens of a class");
    let mut virtuals = Namespace::new("virtual method tokens of a class");
    for (k, m) in c.methods.iter().enumerate() {
        let at = layout::descriptor_method(c, class_at, k, p.extended);
        let is_static = m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) != 0;
        if is_static {
            static_token(
                m.token,
                m.access_flags,
                at,
                "static method or constructor",
                &mut static_methods,
                out,
            );
        } else if m.access_flags & ACC_PRIVATE != 0 {
            if m.token != NONE {
                out.push(Finding::at(
                    Tag::Descriptor,
                    at,
                    rule::TOKEN_RANGE,
                    format!("a private method has token {}", m.token),
                ));
            }
        } else if m.token == NONE {
            out.push(Finding::at(
                Tag::Descriptor,
                at,
                rule::TOKEN_RANGE,
                "a virtual or interface method has no token (0xFF)".into(),
            ));
        } else {
            virtuals.add(m.token, at);
        }
    }
    static_methods.finish(true, out);
    // Interface method tokens run from 0; a class's virtual tokens continue
    // its superclass's, which another package may hold.
    virtuals.finish(c.is_interface(), out);
}

/// A static field's or method's token: one when it is externally visible,
/// 0xFF otherwise.
fn static_token(
    token: u8,
    flags: u8,
    at: usize,
    what: &str,
    ns: &mut Namespace,
    out: &mut Vec<Finding>,
) {
    match (visible(flags), token) {
        (true, NONE) => out.push(Finding::at(
            Tag::Descriptor,
            at,
            rule::TOKEN_RANGE,
            format!("a public or protected {what} has no token (0xFF)"),
        )),
        (false, t) if t != NONE => out.push(Finding::at(
            Tag::Descriptor,
            at,
            rule::TOKEN_RANGE,
            format!("a private or package-visible {what} has token {t}"),
        )),
        (true, t) => ns.add(t, at),
        _ => {}
    }
}

/// A compact Export component against the Descriptor: the class at each
/// index has that class token, and each static method and field offset is
/// the one of the item with that token.
fn export(p: &Parts<'_>, classes: &[ClassDescriptor], out: &mut Vec<Finding>) {
    let Some(e) = p.export else { return };
    for (at, x) in layout::export_classes(e, false) {
        let by_offset = classes
            .iter()
            .find(|c| c.this_class_ref == ClassRef::Internal(x.class_offset));
        let Some(c) = by_offset else {
            // The offsets check reports a class_offset that names no class.
            continue;
        };
        let index = e
            .classes
            .iter()
            .position(|y| std::ptr::eq(y, x))
            .unwrap_or(usize::MAX);
        if usize::from(c.token) != index {
            out.push(Finding::at(
                Tag::Export,
                at,
                rule::EXPORT_TOKEN,
                format!(
                    "class_exports[{index}] is the class with token {}; the index must be its token",
                    c.token
                ),
            ));
            continue;
        }
        let static_methods: BTreeMap<u8, u16> = c
            .methods
            .iter()
            .filter(|m| m.access_flags & (ACC_STATIC | METHOD_ACC_INIT) != 0 && m.token != NONE)
            .map(|m| (m.token, m.method_offset))
            .collect();
        for (t, off) in x.static_method_offsets.iter().enumerate() {
            if !p.methods.contains_key(&(None, u32::from(*off))) {
                // The offsets check reports an offset that names no method.
                continue;
            }
            let want = u8::try_from(t).ok().and_then(|t| static_methods.get(&t));
            if want != Some(off) {
                out.push(Finding::at(
                    Tag::Export,
                    at,
                    rule::EXPORT_TOKEN,
                    format!(
                        "class token {index}: static method token {t} is at {off:#x} in the Export \
                         component but {} in the Descriptor",
                        want.map_or("has no method".to_string(), |w| format!("at {w:#x}"))
                    ),
                ));
            }
        }
        let static_fields: BTreeMap<u8, u16> = c
            .fields
            .iter()
            .filter_map(|f| match f.field_ref {
                FieldRef::Static(StaticFieldRef::Internal { offset }) if f.token != NONE => {
                    Some((f.token, offset))
                }
                _ => None,
            })
            .collect();
        for (t, off) in x.static_field_offsets.iter().enumerate() {
            let want = u8::try_from(t).ok().and_then(|t| static_fields.get(&t));
            if want != Some(off) {
                out.push(Finding::at(
                    Tag::Export,
                    at,
                    rule::EXPORT_TOKEN,
                    format!(
                        "class token {index}: static field token {t} is at {off:#x} in the Export \
                         component but {} in the Descriptor",
                        want.map_or("has no field".to_string(), |w| format!("at {w:#x}"))
                    ),
                ));
            }
        }
    }
}
