//! Reading the u2 constant pool indices and the attribute lists that class
//! file structures are made of, checking each index against the kind of entry
//! the specification requires there and reporting the offset of a bad one.

use super::constant_pool::{Constant, ConstantPool};
use crate::bytes::Reader;
use crate::error::{Location, Result};

/// Reads an index that must name a Utf8 entry and returns its string.
pub(super) fn utf8(r: &mut Reader<'_>, cp: &ConstantPool, field: &'static str) -> Result<String> {
    let at = r.offset();
    match entry(r, cp, field)? {
        (_, Constant::Utf8(s)) => Ok(s.clone()),
        (i, c) => Err(wrong_kind(r, at, field, i, c, "Utf8")),
    }
}

/// Reads an index that must name a Class entry and returns the class name.
pub(super) fn class(r: &mut Reader<'_>, cp: &ConstantPool, field: &'static str) -> Result<String> {
    let at = r.offset();
    optional_class(r, cp, field)?.ok_or_else(|| {
        r.error_at(
            at,
            format!("{field}: constant pool index 0 is not allowed here"),
        )
    })
}

/// Like [`class`], but index 0 means "none".
pub(super) fn optional_class(
    r: &mut Reader<'_>,
    cp: &ConstantPool,
    field: &'static str,
) -> Result<Option<String>> {
    let at = r.offset();
    if r.rest().starts_with(&[0, 0]) {
        r.u2(field)?;
        return Ok(None);
    }
    match entry(r, cp, field)? {
        (_, Constant::Class(s)) => Ok(Some(s.clone())),
        (i, c) => Err(wrong_kind(r, at, field, i, c, "Class")),
    }
}

/// Reads an index and returns it with the entry it names (never index 0).
pub(super) fn entry<'c>(
    r: &mut Reader<'_>,
    cp: &'c ConstantPool,
    field: &'static str,
) -> Result<(u16, &'c Constant)> {
    let at = r.offset();
    let i = r.u2(field)?;
    match cp.get(i) {
        Some(c) => Ok((i, c)),
        None => Err(r.error_at(
            at,
            format!(
                "{field}: constant pool index {i} is out of range (1..{})",
                cp.len()
            ),
        )),
    }
}

fn wrong_kind(
    r: &Reader<'_>,
    at: usize,
    field: &str,
    i: u16,
    got: &Constant,
    want: &str,
) -> crate::error::Error {
    r.error_at(
        at,
        format!(
            "{field}: constant pool entry #{i} is a {}, not a {want}",
            got.kind()
        ),
    )
}

/// A safe capacity for `count` items of at least `min_item` bytes each: no
/// more than the rest of the input can hold. Counts are not rejected here, so
/// a cut-off file is reported as truncated at the item that is missing.
pub(super) fn capacity(r: &Reader<'_>, count: usize, min_item: usize) -> usize {
    count.min(r.remaining() / min_item.max(1))
}

/// Reads an attribute count and the attributes, calling `visit` with each
/// attribute's name and a reader over exactly its body. `visit` returns
/// whether it knew the attribute; a known attribute must use its whole body,
/// an unknown one is skipped (JVMS 4.7.1 says readers ignore those).
pub(super) fn attributes<'a>(
    r: &mut Reader<'a>,
    cp: &ConstantPool,
    mut visit: impl FnMut(&str, &mut Reader<'a>) -> Result<bool>,
) -> Result<()> {
    let count = usize::from(r.u2("attributes_count")?);
    for _ in 0..count {
        let name = utf8(r, cp, "attribute_name_index")?;
        let len = r.u4("attribute_length")? as usize;
        let mut body = r.sub(len, body_field(&name))?;
        if visit(&name, &mut body)? {
            body.expect_end()?;
        }
    }
    Ok(())
}

/// What a truncation error calls the body of attribute `name`: the reader
/// takes only static field names, so the attributes this module reads are
/// named and the rest are "attribute body".
fn body_field(name: &str) -> &'static str {
    match name {
        "Code" => "Code attribute",
        "ConstantValue" => "ConstantValue attribute",
        "SourceFile" => "SourceFile attribute",
        "LineNumberTable" => "LineNumberTable attribute",
        "LocalVariableTable" => "LocalVariableTable attribute",
        "StackMapTable" => "StackMapTable attribute",
        _ => "attribute body",
    }
}

/// For attributes allowed at most once: fails if `seen` is already set, then
/// sets it. `body` is the attribute's body reader, not yet read from, so the
/// error can point at the attribute's header six bytes before.
pub(super) fn once(body: &Reader<'_>, seen: &mut bool, name: &str) -> Result<()> {
    if std::mem::replace(seen, true) {
        return Err(body.error_at(
            body.offset().saturating_sub(6),
            format!("more than one {name} attribute"),
        ));
    }
    Ok(())
}

/// Runs `f` on a reader at `r`'s position that names `location` in its
/// errors, then moves `r` past what `f` read. `r` must be a reader over the
/// whole class file, so that offsets stay relative to the file's start.
pub(super) fn with_location<'a, T>(
    r: &mut Reader<'a>,
    location: impl Into<Location>,
    f: impl FnOnce(&mut Reader<'a>) -> Result<T>,
) -> Result<T> {
    let mut inner = Reader::new(r.data(), location);
    inner.bytes(r.pos(), "start")?;
    let out = f(&mut inner)?;
    r.bytes(inner.pos() - r.pos(), "rest")?;
    Ok(out)
}
