//! Export component (tag 10): where the externally visible classes, static
//! fields and static methods of a public package are, indexed by their tokens
//! (JCVM 3.1, chapter 6).
//!
//! The extended layout lists the public packages of the CAP file (in Header
//! order), each with its own `class_count` and class table, and a static method
//! entry there also names its Method component block (a u1 before the offset).

use serde::Serialize;

use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "Export component";

/// A `class_export_info`: one exported class or interface, at the index equal
/// to its class token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassExport {
    /// Offset of the `class_info`/`interface_info` in the Class component info.
    pub class_offset: u16,
    /// Offsets into the static field image, indexed by static field token.
    pub static_field_offsets: Vec<u16>,
    /// Offsets of `method_info`s, indexed by static method token: into the
    /// Method component info (compact) or into their block (extended).
    pub static_method_offsets: Vec<u16>,
    /// Extended format only: the Method component block of each static method,
    /// parallel to `static_method_offsets`. Empty in compact files.
    pub static_method_blocks: Vec<u8>,
}

/// The classes one package of an extended CAP file exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageExport {
    pub classes: Vec<ClassExport>,
}

/// The decoded Export component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportComponent {
    /// Compact format: the exported classes, by class token. Empty in extended files.
    pub classes: Vec<ClassExport>,
    /// Extended format only: per public package, in Header order.
    pub packages: Vec<PackageExport>,
}

impl ClassExport {
    fn decode(r: &mut Reader<'_>, extended: bool) -> Result<ClassExport> {
        let class_offset = r.u2("class_offset")?;
        let fields = r.u1("static_field_count")? as usize;
        let methods = r.u1("static_method_count")? as usize;
        let fields = r.bounded_count(fields, 2, "static_field_count")?;
        let static_field_offsets = (0..fields)
            .map(|_| r.u2("static_field_offsets"))
            .collect::<Result<Vec<_>>>()?;
        let methods =
            r.bounded_count(methods, if extended { 3 } else { 2 }, "static_method_count")?;
        let mut static_method_offsets = Vec::with_capacity(methods);
        let mut static_method_blocks = Vec::with_capacity(if extended { methods } else { 0 });
        for _ in 0..methods {
            if extended {
                static_method_blocks.push(r.u1("static method block index")?);
            }
            static_method_offsets.push(r.u2("static_method_offsets")?);
        }
        Ok(ClassExport {
            class_offset,
            static_field_offsets,
            static_method_offsets,
            static_method_blocks,
        })
    }

    fn encode(&self, extended: bool, out: &mut Vec<u8>) -> Result<()> {
        let blocks_expected = if extended {
            self.static_method_offsets.len()
        } else {
            0
        };
        if self.static_method_blocks.len() != blocks_expected {
            return Err(Error::encode(
                LOCATION,
                format!(
                    "class at {:#x}: {} static method block(s) for {} method(s) in the {} layout",
                    self.class_offset,
                    self.static_method_blocks.len(),
                    self.static_method_offsets.len(),
                    if extended { "extended" } else { "compact" }
                ),
            ));
        }
        out.put_u2(self.class_offset);
        out.put_u1(to_u8(
            self.static_field_offsets.len(),
            LOCATION,
            "static_field_count",
        )?);
        out.put_u1(to_u8(
            self.static_method_offsets.len(),
            LOCATION,
            "static_method_count",
        )?);
        for &f in &self.static_field_offsets {
            out.put_u2(f);
        }
        for (i, &m) in self.static_method_offsets.iter().enumerate() {
            if let Some(&block) = self.static_method_blocks.get(i) {
                out.put_u1(block);
            }
            out.put_u2(m);
        }
        Ok(())
    }
}

/// Reads `u1 class_count, class_export_info class_exports[class_count]`.
fn decode_classes(r: &mut Reader<'_>, extended: bool) -> Result<Vec<ClassExport>> {
    let count = r.u1("class_count")? as usize;
    let count = r.bounded_count(count, 4, "class_count")?;
    (0..count)
        .map(|_| ClassExport::decode(r, extended))
        .collect()
}

fn encode_classes(classes: &[ClassExport], extended: bool, out: &mut Vec<u8>) -> Result<()> {
    out.put_u1(to_u8(classes.len(), LOCATION, "class_count")?);
    classes.iter().try_for_each(|c| c.encode(extended, out))
}

impl ComponentBody for ExportComponent {
    const TAG: Tag = Tag::Export;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        if ctx.format.extended {
            let count = r.u1("package_count")? as usize;
            let count = r.bounded_count(count, 1, "package_count")?;
            let packages = (0..count)
                .map(|_| decode_classes(r, true).map(|classes| PackageExport { classes }))
                .collect::<Result<Vec<_>>>()?;
            return Ok(ExportComponent {
                classes: Vec::new(),
                packages,
            });
        }
        Ok(ExportComponent {
            classes: decode_classes(r, false)?,
            packages: Vec::new(),
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        if ctx.format.extended {
            if !self.classes.is_empty() {
                return Err(Error::encode(
                    LOCATION,
                    "an extended Export component lists its classes per package, in `packages`",
                ));
            }
            out.put_u1(to_u8(self.packages.len(), LOCATION, "package_count")?);
            return self
                .packages
                .iter()
                .try_for_each(|p| encode_classes(&p.classes, true, out));
        }
        if !self.packages.is_empty() {
            return Err(Error::encode(
                LOCATION,
                "a compact Export component has no package list (that is the extended layout)",
            ));
        }
        encode_classes(&self.classes, false, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    fn decode(bytes: &[u8], format: Format) -> Result<ExportComponent> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = ExportComponent::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(c)
    }

    fn encode(c: &ExportComponent, format: Format) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        c.encode(&Context { format }, &mut out)?;
        Ok(out)
    }

    const COMPACT: &[u8] = &[
        2, // class_count
        0x00, 0x02, 1, 2, 0x00, 0x04, 0x00, 0x10, 0x00, 0x20, // class with 1 field, 2 methods
        0x00, 0x30, 0, 0, // interface
    ];

    #[test]
    fn compact_exports_decode_and_round_trip() {
        let c = decode(COMPACT, Format::V2_2).unwrap();
        assert_eq!(c.classes.len(), 2);
        assert_eq!(c.classes[0].class_offset, 2);
        assert_eq!(c.classes[0].static_field_offsets, [4]);
        assert_eq!(c.classes[0].static_method_offsets, [0x10, 0x20]);
        assert!(c.classes[0].static_method_blocks.is_empty());
        assert_eq!(c.classes[1].class_offset, 0x30);
        assert!(c.packages.is_empty());
        assert_eq!(encode(&c, Format::V2_2).unwrap(), COMPACT);
    }

    #[test]
    fn extended_exports_are_per_package_with_blocks() {
        let bytes = [
            2, // package_count
            1, 0x00, 0x02, 0, 2, 0, 0x00, 0x10, 1, 0x00, 0x08, // pkg 0: 2 methods
            0,    // pkg 1: no classes
        ];
        let c = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert!(c.classes.is_empty());
        assert_eq!(c.packages.len(), 2);
        let class = &c.packages[0].classes[0];
        assert_eq!(class.static_method_blocks, [0, 1]);
        assert_eq!(class.static_method_offsets, [0x10, 0x08]);
        assert!(c.packages[1].classes.is_empty());
        assert_eq!(encode(&c, Format::V2_3_EXTENDED).unwrap(), bytes);
        assert!(encode(&c, Format::V2_3).is_err());
    }

    #[test]
    fn malformed_exports_are_errors() {
        for n in 0..COMPACT.len() {
            assert!(decode(&COMPACT[..n], Format::V2_1).is_err(), "prefix {n}");
        }
        let e = decode(&[1, 0, 0, 0xFF, 0], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("static_field_count"), "{e}");
        let mut c = decode(COMPACT, Format::V2_1).unwrap();
        c.classes[0].static_method_blocks = vec![0, 0];
        assert!(
            encode(&c, Format::V2_1).is_err(),
            "blocks in compact layout"
        );
    }
}
