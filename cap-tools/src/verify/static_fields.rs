//! Static field image sizes. A card allocates the image from the Directory's
//! static_field_size before it reads the StaticField component, then fills it
//! segment by segment (references, default primitives, initialised
//! primitives), so the numbers in both places must agree and add up.

use super::layout;
use super::model::Parts;
use super::{rule, Finding};
use crate::cap::components::static_field::StaticFieldComponent;
use crate::cap::Tag;

/// Offsets of the StaticField component's fixed fields.
const IMAGE_SIZE_AT: usize = 0;
const ARRAY_INIT_COUNT_AT: usize = 4;

pub(super) fn check(p: &Parts<'_>, out: &mut Vec<Finding>) {
    let Some(s) = p.static_field else { return };
    segments(s, out);
    arrays(s, out);
    if let Some(d) = p.directory {
        let at = layout::directory(d, &p.cap.format).static_field_size;
        let listed = d.static_field_size;
        let values: usize = s.array_init.iter().map(|a| a.values.len()).sum();
        let pairs = [
            (
                "image_size",
                0,
                listed.image_size as usize,
                s.image_size as usize,
            ),
            (
                "array_init_count",
                2,
                listed.array_init_count as usize,
                s.array_init.len(),
            ),
            (
                "array_init_size",
                4,
                listed.array_init_size as usize,
                values,
            ),
        ];
        for (name, delta, dir, actual) in pairs {
            if dir != actual {
                out.push(Finding::at(
                    Tag::Directory,
                    at + delta,
                    rule::STATIC_FIELD_SIZES,
                    format!(
                        "static_field_size {name} is {dir}, the StaticField component gives {actual}"
                    ),
                ));
            }
        }
    }
}

/// reference_count * 2 + default_value_count + non-default bytes = image_size.
fn segments(s: &StaticFieldComponent, out: &mut Vec<Finding>) {
    let refs = usize::from(s.reference_count) * 2;
    let defaults = usize::from(s.default_value_count);
    let values = s.non_default_values.len();
    let sum = refs + defaults + values;
    if sum != usize::from(s.image_size) {
        out.push(Finding::at(
            Tag::StaticField,
            IMAGE_SIZE_AT,
            rule::STATIC_FIELD_SIZES,
            format!(
                "image_size is {}, but {} reference(s) * 2 + {defaults} default byte(s) + {values} initialised byte(s) = {sum}",
                s.image_size, s.reference_count
            ),
        ));
    }
}

/// Initialised arrays are reference fields, and hold whole elements of a known type.
fn arrays(s: &StaticFieldComponent, out: &mut Vec<Finding>) {
    if s.array_init.len() > usize::from(s.reference_count) {
        out.push(Finding::at(
            Tag::StaticField,
            ARRAY_INIT_COUNT_AT,
            rule::STATIC_FIELD_SIZES,
            format!(
                "{} initialised array(s), but only {} reference field(s)",
                s.array_init.len(),
                s.reference_count
            ),
        ));
    }
    let mut at = ARRAY_INIT_COUNT_AT + 2;
    for (i, a) in s.array_init.iter().enumerate() {
        if a.element_count().is_none() {
            let problem = match a.element_size() {
                None => format!("has element type {}, which is none of 2 to 5", a.type_),
                Some(n) => format!(
                    "holds {} byte(s), not a whole number of {n}-byte elements",
                    a.values.len()
                ),
            };
            out.push(Finding::at(
                Tag::StaticField,
                at,
                rule::STATIC_FIELD_SIZES,
                format!("array_init {i} {problem}"),
            ));
        }
        at = at.saturating_add(3 + a.values.len());
    }
}
