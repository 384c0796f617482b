//! Bounds-checked big-endian reading and writing of the u1/u2/u4 fields that
//! CAP and export files are made of.
//!
//! [`Reader`] never panics and never allocates more than the input holds: every
//! read checks the remaining length first, and counts read from the input are
//! only used to size collections after the bytes behind them were found present
//! (see [`Reader::bounded_count`]).

// Input parsers: every narrowing cast is checked (try_from with an error
// naming the field) or marked where it provably fits; the reader's own
// position arithmetic cannot overflow whatever lengths the input declares.
#![cfg_attr(
    not(test),
    warn(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)
)]

use crate::error::{Error, Location, Result};

/// A cursor over a byte slice that reports errors with location and offset.
#[derive(Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of `data[0]` within the structure named by `location`, so that
    /// sub-readers report offsets relative to the enclosing structure.
    base: usize,
    location: Location,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, naming `location` in its errors.
    pub fn new(data: &'a [u8], location: impl Into<Location>) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
            location: location.into(),
        }
    }

    /// Offset of the next byte, relative to the start of the enclosing structure.
    pub fn offset(&self) -> usize {
        // Both are positions in one input that fits in memory.
        self.base.saturating_add(self.pos)
    }

    /// Position within this reader's own slice.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        // `pos` never passes the end.
        self.data.len().saturating_sub(self.pos)
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The location named in errors.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The unread rest, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// The whole slice this reader was built on.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    fn need(&self, n: usize, field: &'static str) -> Result<()> {
        if self.remaining() < n {
            return Err(Error::Truncated {
                location: self.location.clone(),
                offset: self.offset(),
                field,
                needed: n,
                available: self.remaining(),
            });
        }
        Ok(())
    }

    /// Reads one byte.
    pub fn u1(&mut self, field: &'static str) -> Result<u8> {
        let b = self.bytes(1, field)?;
        Ok(b[0])
    }

    /// Reads a big-endian u2.
    pub fn u2(&mut self, field: &'static str) -> Result<u16> {
        let b = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a big-endian u4.
    pub fn u4(&mut self, field: &'static str) -> Result<u32> {
        let b = self.bytes(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        self.need(n, field)?;
        // `need` checked n <= remaining, so the end is within the data.
        let end = self.pos.saturating_add(n);
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads a u1 length followed by that many bytes.
    pub fn u1_prefixed(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let n = self.u1(field)? as usize;
        self.bytes(n, field)
    }

    /// Reads the rest of the input.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }

    /// Splits off a sub-reader over the next `n` bytes; its offsets continue this reader's.
    pub fn sub(&mut self, n: usize, field: &'static str) -> Result<Reader<'a>> {
        let base = self.offset();
        let data = self.bytes(n, field)?;
        Ok(Reader {
            data,
            pos: 0,
            base,
            location: self.location.clone(),
        })
    }

    /// Checks that a count read from the input can be real: each item takes at
    /// least `min_item_size` bytes, so more items than `remaining / min_item_size`
    /// means the count is corrupt. Returns the count, safe to use as a capacity.
    pub fn bounded_count(
        &self,
        count: usize,
        min_item_size: usize,
        field: &'static str,
    ) -> Result<usize> {
        let min = min_item_size.max(1);
        if count > self.remaining().checked_div(min).unwrap_or(0) {
            return Err(self.error(format!(
                "{field} count {count} cannot fit in the {} byte(s) left (each entry is at least {min} byte(s))",
                self.remaining()
            )));
        }
        Ok(count)
    }

    /// An [`Error::Invalid`] at the current offset.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::invalid(self.location.clone(), self.offset(), message)
    }

    /// An [`Error::Invalid`] at a given offset relative to the enclosing structure.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::invalid(self.location.clone(), offset, message)
    }

    /// Fails if bytes are left.
    pub fn expect_end(&self) -> Result<()> {
        if !self.is_empty() {
            return Err(Error::TrailingBytes {
                location: self.location.clone(),
                offset: self.offset(),
                extra: self.remaining(),
            });
        }
        Ok(())
    }
}

/// Big-endian writing helpers on `Vec<u8>`.
pub trait WriteExt {
    /// Appends a byte.
    fn put_u1(&mut self, v: u8);
    /// Appends a big-endian u2.
    fn put_u2(&mut self, v: u16);
    /// Appends a big-endian u4.
    fn put_u4(&mut self, v: u32);
    /// Appends bytes.
    fn put_bytes(&mut self, v: &[u8]);
    /// Appends a u1 length and the bytes; fails if longer than 255.
    fn put_u1_prefixed(&mut self, v: &[u8], location: &'static str) -> Result<()>;
}

impl WriteExt for Vec<u8> {
    fn put_u1(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u2(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u4(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bytes(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
    fn put_u1_prefixed(&mut self, v: &[u8], location: &'static str) -> Result<()> {
        let n = u8::try_from(v.len()).map_err(|_| {
            Error::encode(
                location,
                format!("{} bytes do not fit a u1 length", v.len()),
            )
        })?;
        self.push(n);
        self.extend_from_slice(v);
        Ok(())
    }
}

/// Converts a length to u16 for an encoded field, or fails naming the field.
pub fn to_u16(n: usize, location: &'static str, field: &str) -> Result<u16> {
    u16::try_from(n)
        .map_err(|_| Error::encode(location, format!("{field} {n} does not fit in a u2")))
}

/// Converts a length to u8 for an encoded field, or fails naming the field.
pub fn to_u8(n: usize, location: &'static str, field: &str) -> Result<u8> {
    u8::try_from(n)
        .map_err(|_| Error::encode(location, format!("{field} {n} does not fit in a u1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_names_field_and_offset() {
        let mut r = Reader::new(&[1, 2, 3], "test structure");
        assert_eq!(r.u2("a").unwrap(), 0x0102);
        let e = r.u2("b").unwrap_err().to_string();
        assert!(e.contains("test structure"), "{e}");
        assert!(e.contains("offset 0x2"), "{e}");
        assert!(e.contains("reading b"), "{e}");
    }

    #[test]
    fn sub_reader_offsets_continue() {
        let mut r = Reader::new(&[0, 0, 9, 9, 9], "s");
        r.u2("x").unwrap();
        let mut s = r.sub(2, "y").unwrap();
        assert_eq!(s.offset(), 2);
        s.u1("z").unwrap();
        let e = s.u2("w").unwrap_err().to_string();
        assert!(e.contains("offset 0x3"), "{e}");
    }

    #[test]
    fn oversized_count_rejected() {
        let r = Reader::new(&[0; 10], "s");
        assert!(r.bounded_count(5, 2, "entries").is_ok());
        assert!(r.bounded_count(6, 2, "entries").is_err());
        assert!(r.bounded_count(usize::MAX, 2, "entries").is_err());
    }
}
