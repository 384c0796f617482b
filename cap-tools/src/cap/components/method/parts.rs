//! The fixed-layout pieces of the Method component: exception handler entries,
//! method headers, and [`MethodLocation`], the way other components point at a
//! method.

use serde::Serialize;

use crate::bytes::{Reader, WriteExt};
use crate::cap::Context;
use crate::error::{Error, Result};

/// Method header flag: the 4-byte extended header form follows.
pub const ACC_EXTENDED: u8 = 0x8;
/// Method header flag: abstract method, no bytecodes.
pub const ACC_ABSTRACT: u8 = 0x4;

/// One exception_handler_info (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExceptionHandler {
    /// Start of the try block, inclusive (offset in the component body or block).
    pub start_offset: u16,
    /// The top bit of the u2 that also holds `active_length`: set when no
    /// later handler's range contains or equals this one, letting the VM stop
    /// searching.
    pub stop_bit: bool,
    /// Length of the try block in bytes (15 bits).
    pub active_length: u16,
    pub handler_offset: u16,
    /// Constant-pool index of the caught class; 0 for `finally`.
    pub catch_type_index: u16,
}

impl ExceptionHandler {
    /// Encoded size.
    pub const SIZE: usize = 8;

    pub fn decode(r: &mut Reader<'_>) -> Result<ExceptionHandler> {
        let start_offset = r.u2("exception handler start_offset")?;
        let bits = r.u2("exception handler active_length")?;
        Ok(ExceptionHandler {
            start_offset,
            stop_bit: bits & 0x8000 != 0,
            active_length: bits & 0x7FFF,
            handler_offset: r.u2("exception handler handler_offset")?,
            catch_type_index: r.u2("exception handler catch_type_index")?,
        })
    }

    /// The u2 holding stop_bit and active_length, as the specification encodes it.
    pub fn bitfield(&self) -> Result<u16> {
        if self.active_length > 0x7FFF {
            return Err(Error::encode(
                "exception handler",
                format!("active_length {} exceeds 15 bits", self.active_length),
            ));
        }
        Ok(self.active_length | if self.stop_bit { 0x8000 } else { 0 })
    }

    /// End of the try block, exclusive.
    pub fn end_offset(&self) -> usize {
        usize::from(self.start_offset) + usize::from(self.active_length)
    }

    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(self.start_offset);
        out.put_u2(self.bitfield()?);
        out.put_u2(self.handler_offset);
        out.put_u2(self.catch_type_index);
        Ok(())
    }
}

/// method_header_info (2 bytes) or extended_method_header_info (4 bytes,
/// when `flags` has ACC_EXTENDED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MethodHeader {
    /// The 4-bit flags: ACC_EXTENDED, ACC_ABSTRACT.
    pub flags: u8,
    /// Extended form only: the 4 bits after the flags, zero in valid files.
    pub padding: u8,
    pub max_stack: u8,
    /// Parameter words, `this` included.
    pub nargs: u8,
    /// Local variable words beyond the parameters.
    pub max_locals: u8,
}

impl MethodHeader {
    pub fn decode(r: &mut Reader<'_>) -> Result<MethodHeader> {
        let b0 = r.u1("method header")?;
        let flags = b0 >> 4;
        if flags & ACC_EXTENDED != 0 {
            Ok(MethodHeader {
                flags,
                padding: b0 & 0x0F,
                max_stack: r.u1("extended method header max_stack")?,
                nargs: r.u1("extended method header nargs")?,
                max_locals: r.u1("extended method header max_locals")?,
            })
        } else {
            let b1 = r.u1("method header nargs/max_locals")?;
            Ok(MethodHeader {
                flags,
                padding: 0,
                max_stack: b0 & 0x0F,
                nargs: b1 >> 4,
                max_locals: b1 & 0x0F,
            })
        }
    }

    pub fn is_extended(&self) -> bool {
        self.flags & ACC_EXTENDED != 0
    }

    pub fn is_abstract(&self) -> bool {
        self.flags & ACC_ABSTRACT != 0
    }

    /// Encoded size: 2, or 4 for the extended form.
    pub fn len(&self) -> usize {
        if self.is_extended() {
            4
        } else {
            2
        }
    }

    /// Always false; a header has at least two bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let nibble = |v: u8, what: &str| {
            if v > 0x0F {
                Err(Error::encode(
                    "method header",
                    format!(
                        "{what} {v} does not fit the 4 bits of a compact header (use ACC_EXTENDED)"
                    ),
                ))
            } else {
                Ok(v)
            }
        };
        let flags = nibble(self.flags, "flags")?;
        if self.is_extended() {
            out.put_u1((flags << 4) | nibble(self.padding, "padding")?);
            out.put_u1(self.max_stack);
            out.put_u1(self.nargs);
            out.put_u1(self.max_locals);
        } else {
            if self.padding != 0 {
                return Err(Error::encode(
                    "method header",
                    "a compact header has no padding",
                ));
            }
            out.put_u1((flags << 4) | nibble(self.max_stack, "max_stack")?);
            out.put_u1(
                (nibble(self.nargs, "nargs")? << 4) | nibble(self.max_locals, "max_locals")?,
            );
        }
        Ok(())
    }
}

/// Where a method starts, as other components name it: an offset in the
/// Method component body (compact format) or in one of its blocks (extended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MethodLocation {
    /// Extended format: index of the method_component_block; `None` in compact CAP files.
    pub block_index: Option<u8>,
    /// Offset of the method_info; 0xFFFF in a virtual method table means
    /// "not defined in this package".
    pub offset: u16,
}

impl MethodLocation {
    /// A compact-format location.
    pub fn compact(offset: u16) -> Self {
        MethodLocation {
            block_index: None,
            offset,
        }
    }

    /// Reads a u2 offset, preceded by a u1 block index in the extended format.
    pub fn decode(r: &mut Reader<'_>, ctx: &Context, field: &'static str) -> Result<Self> {
        let block_index = if ctx.format.extended {
            Some(r.u1(field)?)
        } else {
            None
        };
        Ok(MethodLocation {
            block_index,
            offset: r.u2(field)?,
        })
    }

    /// Writes the location in the format's layout; fails when the block index
    /// is present in a compact file or missing in an extended one.
    pub fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        match (self.block_index, ctx.format.extended) {
            (Some(b), true) => out.put_u1(b),
            (None, false) => {}
            (Some(_), false) => {
                return Err(Error::encode(
                    "method reference",
                    "a block index exists only in extended CAP files",
                ))
            }
            (None, true) => {
                return Err(Error::encode(
                    "method reference",
                    "an extended CAP file needs a block index",
                ))
            }
        }
        out.put_u2(self.offset);
        Ok(())
    }

    /// False for the 0xFFFF "not in this package" marker of virtual method tables.
    pub fn is_defined(&self) -> bool {
        self.offset != 0xFFFF
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    #[test]
    fn handler_stop_bit_is_split_from_the_length() {
        let bytes = [0x00, 0x10, 0x80, 0x2A, 0x00, 0x50, 0x00, 0x15];
        let mut r = Reader::new(&bytes, "handlers");
        let h = ExceptionHandler::decode(&mut r).unwrap();
        assert!(h.stop_bit);
        assert_eq!(h.active_length, 0x2A);
        assert_eq!(h.end_offset(), 0x3A);
        assert_eq!(h.bitfield().unwrap(), 0x802A);
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        assert_eq!(out, bytes);
        let too_long = ExceptionHandler {
            active_length: 0x8000,
            ..h
        };
        assert!(too_long.encode(&mut Vec::new()).is_err());
    }

    #[test]
    fn compact_and_extended_headers() {
        let mut r = Reader::new(&[0x06, 0x15], "h");
        let h = MethodHeader::decode(&mut r).unwrap();
        assert_eq!((h.max_stack, h.nargs, h.max_locals), (6, 1, 5));
        assert!(!h.is_extended() && !h.is_abstract());
        let mut r = Reader::new(&[0x80, 0x20, 0x03, 0x11], "h");
        let x = MethodHeader::decode(&mut r).unwrap();
        assert!(x.is_extended());
        assert_eq!((x.max_stack, x.nargs, x.max_locals), (0x20, 3, 0x11));
        assert_eq!(x.len(), 4);
        for (h, bytes) in [(h, vec![0x06, 0x15]), (x, vec![0x80, 0x20, 0x03, 0x11])] {
            let mut out = Vec::new();
            h.encode(&mut out).unwrap();
            assert_eq!(out, bytes);
        }
        let abstract_header = MethodHeader::decode(&mut Reader::new(&[0x40, 0x10], "h")).unwrap();
        assert!(abstract_header.is_abstract());
        // A compact header cannot hold 16 stack words.
        let big = MethodHeader { max_stack: 16, ..h };
        assert!(big.encode(&mut Vec::new()).is_err());
        // Truncated extended header.
        assert!(MethodHeader::decode(&mut Reader::new(&[0x80, 0x01], "h")).is_err());
    }

    #[test]
    fn locations_follow_the_format() {
        let compact = Context {
            format: Format::V2_1,
        };
        let extended = Context {
            format: Format::V2_3_EXTENDED,
        };
        let mut r = Reader::new(&[0x02, 0x00, 0x40], "loc");
        let l = MethodLocation::decode(&mut r, &extended, "m").unwrap();
        assert_eq!(
            l,
            MethodLocation {
                block_index: Some(2),
                offset: 0x40
            }
        );
        let mut out = Vec::new();
        l.encode(&extended, &mut out).unwrap();
        assert_eq!(out, [0x02, 0x00, 0x40]);
        assert!(l.encode(&compact, &mut Vec::new()).is_err());
        assert!(MethodLocation::compact(1)
            .encode(&extended, &mut Vec::new())
            .is_err());
        assert!(!MethodLocation::compact(0xFFFF).is_defined());
    }
}
