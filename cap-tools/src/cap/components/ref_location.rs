//! Reference Location component (tag 9): where the Method component holds
//! constant pool indices, so a card can relink them (JCVM 3.1, chapter 6).
//!
//! Two lists are kept: the locations of 1-byte indices (operands of
//! `getfield_T`/`putfield_T` and friends) and of 2-byte indices (all other
//! instructions, and non-zero `catch_type_index` items). The file stores each
//! list as distances between consecutive locations, starting from offset 0, one
//! byte per distance; a distance `d` of 255 or more is written as `d / 255`
//! bytes of 255 followed by `d % 255` (so a distance of exactly 255 is
//! `FF 00`). This model holds the absolute offsets and rebuilds that encoding.
//!
//! The extended layout has one such pair of lists per Method component block,
//! after a u1 block count; offsets there are relative to their block.

use serde::Serialize;

use crate::bytes::{to_u16, to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "RefLocation component";

/// Largest distance one entry holds; 255 means "add 255 and read on".
const STEP_BYTE: u8 = 255;
const STEP: u32 = STEP_BYTE as u32;

/// The two offset lists of one Method component block (extended layout).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RefLocationBlock {
    /// Offsets of 1-byte constant pool indices into the block.
    pub byte_index_offsets: Vec<u32>,
    /// Offsets of 2-byte constant pool indices into the block.
    pub byte2_index_offsets: Vec<u32>,
}

/// The decoded Reference Location component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefLocation {
    /// Compact format: absolute offsets into the Method component info of each
    /// 1-byte constant pool index, ascending. Empty in extended files.
    pub byte_index_offsets: Vec<u32>,
    /// Compact format: the same for 2-byte indices. Empty in extended files.
    pub byte2_index_offsets: Vec<u32>,
    /// Extended format only: one entry per Method component block.
    pub blocks: Vec<RefLocationBlock>,
}

/// Reads `u2 count, u1 distances[count]` and turns the distances into offsets.
fn decode_offsets(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<u32>> {
    let count = r.u2(field)? as usize;
    let count = r.bounded_count(count, 1, field)?;
    let start = r.offset();
    let distances = r.bytes(count, field)?;
    let mut offsets = Vec::with_capacity(count);
    let mut at = 0u32;
    let mut run = 0u32;
    for &d in distances {
        if u32::from(d) == STEP {
            run += STEP;
        } else {
            at += run + u32::from(d);
            run = 0;
            offsets.push(at);
        }
    }
    if run != 0 {
        return Err(r.error_at(
            start + count - 1,
            format!("{field} ends with a 255 entry: the last distance has no final entry"),
        ));
    }
    Ok(offsets)
}

/// Writes ascending offsets as `u2 count, u1 distances[count]`.
fn encode_offsets(offsets: &[u32], field: &str, out: &mut Vec<u8>) -> Result<()> {
    let mut distances = Vec::with_capacity(offsets.len());
    let mut prev = 0u32;
    for &at in offsets {
        let d = at.checked_sub(prev).ok_or_else(|| {
            Error::encode(
                LOCATION,
                format!("{field} are not ascending: {at:#x} follows {prev:#x}"),
            )
        })?;
        let steps = usize::try_from(d / STEP)
            .map_err(|_| Error::encode(LOCATION, format!("{field}: distance {d:#x} too long")))?;
        distances.extend(std::iter::repeat_n(STEP_BYTE, steps));
        #[allow(clippy::cast_possible_truncation)] // d % 255 is below 255
        let rest = (d % STEP) as u8;
        distances.push(rest);
        prev = at;
    }
    out.put_u2(to_u16(distances.len(), LOCATION, field)?);
    out.put_bytes(&distances);
    Ok(())
}

impl RefLocationBlock {
    fn decode(r: &mut Reader<'_>) -> Result<RefLocationBlock> {
        Ok(RefLocationBlock {
            byte_index_offsets: decode_offsets(r, "offsets_to_byte_indices")?,
            byte2_index_offsets: decode_offsets(r, "offsets_to_byte2_indices")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        encode_offsets(&self.byte_index_offsets, "byte_index_offsets", out)?;
        encode_offsets(&self.byte2_index_offsets, "byte2_index_offsets", out)
    }
}

impl ComponentBody for RefLocation {
    const TAG: Tag = Tag::RefLocation;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        if ctx.format.extended {
            let count = r.u1("block_count")? as usize;
            // Two u2 counts per block at the least.
            let count = r.bounded_count(count, 4, "block_count")?;
            let blocks = (0..count)
                .map(|_| RefLocationBlock::decode(r))
                .collect::<Result<Vec<_>>>()?;
            return Ok(RefLocation {
                byte_index_offsets: Vec::new(),
                byte2_index_offsets: Vec::new(),
                blocks,
            });
        }
        let only = RefLocationBlock::decode(r)?;
        Ok(RefLocation {
            byte_index_offsets: only.byte_index_offsets,
            byte2_index_offsets: only.byte2_index_offsets,
            blocks: Vec::new(),
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        if ctx.format.extended {
            if !self.byte_index_offsets.is_empty() || !self.byte2_index_offsets.is_empty() {
                return Err(Error::encode(
                    LOCATION,
                    "an extended RefLocation holds its offsets in `blocks`",
                ));
            }
            out.put_u1(to_u8(self.blocks.len(), LOCATION, "block_count")?);
            for b in &self.blocks {
                b.encode(out)?;
            }
            return Ok(());
        }
        if !self.blocks.is_empty() {
            return Err(Error::encode(
                LOCATION,
                "a compact RefLocation has no blocks (that is the extended layout)",
            ));
        }
        encode_offsets(&self.byte_index_offsets, "byte_index_offsets", out)?;
        encode_offsets(&self.byte2_index_offsets, "byte2_index_offsets", out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    fn decode(bytes: &[u8], format: Format) -> Result<RefLocation> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = RefLocation::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(c)
    }

    fn encode(c: &RefLocation, format: Format) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        c.encode(&Context { format }, &mut out)?;
        Ok(out)
    }

    #[test]
    fn distances_become_absolute_offsets() {
        let bytes = [
            0, 2, 5, 3, // byte indices at 5 and 8
            0, 6, 0x10, 0xFF, 0x00, 0xFF, 0xFF, 0x01, // 2-byte at 0x10, +255, +511
        ];
        let c = decode(&bytes, Format::V2_1).unwrap();
        assert_eq!(c.byte_index_offsets, [5, 8]);
        assert_eq!(c.byte2_index_offsets, [0x10, 0x10 + 255, 0x10 + 255 + 511]);
        assert!(c.blocks.is_empty());
        assert_eq!(encode(&c, Format::V2_1).unwrap(), bytes);
    }

    #[test]
    fn exactly_255_is_ff_then_zero() {
        let c = RefLocation {
            byte_index_offsets: vec![],
            byte2_index_offsets: vec![255, 255 + 254, 255 + 254 + 510],
            blocks: vec![],
        };
        let bytes = encode(&c, Format::V2_2).unwrap();
        assert_eq!(bytes, [0, 0, 0, 6, 0xFF, 0x00, 0xFE, 0xFF, 0xFF, 0x00]);
        assert_eq!(decode(&bytes, Format::V2_2).unwrap(), c);
    }

    #[test]
    fn extended_layout_has_one_pair_per_block() {
        let bytes = [
            2, // block_count
            0, 1, 4, 0, 1, 9, // block 0: byte at 4, byte2 at 9
            0, 0, 0, 2, 0xFF, 0x01, // block 1: byte2 at 256
        ];
        let c = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert!(c.byte_index_offsets.is_empty());
        assert_eq!(c.blocks.len(), 2);
        assert_eq!(c.blocks[0].byte_index_offsets, [4]);
        assert_eq!(c.blocks[0].byte2_index_offsets, [9]);
        assert_eq!(c.blocks[1].byte2_index_offsets, [256]);
        assert_eq!(encode(&c, Format::V2_3_EXTENDED).unwrap(), bytes);
        assert!(
            encode(&c, Format::V2_3).is_err(),
            "blocks in a compact file"
        );
    }

    #[test]
    fn malformed_components_are_errors() {
        let e = decode(&[0, 2, 1, 0xFF, 0, 0], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends with a 255 entry"), "{e}");
        assert!(e.contains("offset 0x3"), "{e}");
        let e = decode(&[0xFF, 0xFF, 1], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("offsets_to_byte_indices"), "{e}");
        assert!(
            decode(&[0, 0], Format::V2_1).is_err(),
            "second list missing"
        );
        assert!(decode(&[9, 0, 0, 0, 0], Format::V2_3_EXTENDED).is_err());
        let descending = RefLocation {
            byte_index_offsets: vec![8, 5],
            byte2_index_offsets: vec![],
            blocks: vec![],
        };
        assert!(encode(&descending, Format::V2_1).is_err());
    }
    /// The shared test data: `$JCT_SHARED` or `../shared` beside the project root.
    fn shared() -> std::path::PathBuf {
        std::env::var_os("JCT_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
            })
    }

    #[test]
    fn corpus_distances_of_255_and_more_round_trip() {
        let path = shared().join("cap-corpus/jcalgtest-AlgTest_v1.8.2_jc305.cap");
        let cap = crate::cap::Cap::from_path(&path).unwrap();
        let Some(crate::cap::Component::RefLocation(r)) = cap.component(Tag::RefLocation) else {
            panic!("no RefLocation");
        };
        let long = std::iter::once(&0)
            .chain(&r.byte2_index_offsets)
            .zip(&r.byte2_index_offsets)
            .filter(|(a, b)| *b - *a >= STEP)
            .count();
        assert!(long > 0, "this CAP has distances of 255 or more");
        let method_size = cap
            .component(Tag::Method)
            .unwrap()
            .encode_body(&cap.context())
            .unwrap()
            .len();
        assert!(r
            .byte2_index_offsets
            .iter()
            .all(|&o| (o as usize) < method_size));
        let mut again = Vec::new();
        r.encode(&cap.context(), &mut again).unwrap();
        let mut reread = Reader::new(&again, LOCATION);
        assert_eq!(
            &RefLocation::decode(&mut reread, &cap.context()).unwrap(),
            r
        );
    }
}
