//! Static Field component (tag 8): everything needed to build and initialise
//! the static field image (JCVM 3.1, chapter 6). Same layout in compact and
//! extended files.
//!
//! The image is laid out in four segments: arrays initialised by `<clinit>`
//! (`array_init`), other references (null), primitives with default values
//! (zero), and primitives with non-default values (`non_default_values`).

use serde::{Serialize, Serializer};

use crate::bytes::{to_u16, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::Result;

const LOCATION: &str = "StaticField component";

/// Array element types of `array_init_info`: `boolean[]`.
pub const TYPE_BOOLEAN: u8 = 2;
/// `byte[]`.
pub const TYPE_BYTE: u8 = 3;
/// `short[]`.
pub const TYPE_SHORT: u8 = 4;
/// `int[]`.
pub const TYPE_INT: u8 = 5;

/// Serializes bytes as upper-case hex, the way a reader of a dump wants them.
fn hex<S: Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(bytes))
}

/// An `array_init_info`: the initial contents of one static array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrayInit {
    /// Element type: [`TYPE_BOOLEAN`], [`TYPE_BYTE`], [`TYPE_SHORT`] or [`TYPE_INT`].
    #[serde(rename = "type")]
    pub type_: u8,
    /// The initial values, big-endian; `count` in the file is this length in bytes.
    #[serde(serialize_with = "hex")]
    pub values: Vec<u8>,
}

impl ArrayInit {
    /// Bytes per element for the known types.
    pub fn element_size(&self) -> Option<usize> {
        match self.type_ {
            TYPE_BOOLEAN | TYPE_BYTE => Some(1),
            TYPE_SHORT => Some(2),
            TYPE_INT => Some(4),
            _ => None,
        }
    }

    /// Number of array elements, when the type is known and the byte count divides evenly.
    pub fn element_count(&self) -> Option<usize> {
        let size = self.element_size()?;
        self.values
            .len()
            .is_multiple_of(size)
            .then(|| self.values.len() / size)
    }
}

/// The decoded Static Field component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticFieldComponent {
    /// Bytes in the static field image.
    pub image_size: u16,
    /// Reference fields (segments 1 and 2), 2 bytes each in the image.
    pub reference_count: u16,
    /// Segment 1: arrays initialised by `<clinit>` methods.
    pub array_init: Vec<ArrayInit>,
    /// Segment 3: bytes of primitive fields with default (zero) values.
    pub default_value_count: u16,
    /// Segment 4: initial bytes of primitive fields with non-default values.
    #[serde(serialize_with = "hex")]
    pub non_default_values: Vec<u8>,
}

impl ComponentBody for StaticFieldComponent {
    const TAG: Tag = Tag::StaticField;

    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        let image_size = r.u2("image_size")?;
        let reference_count = r.u2("reference_count")?;
        let count = r.u2("array_init_count")? as usize;
        // type and count at the least.
        let count = r.bounded_count(count, 3, "array_init_count")?;
        let mut array_init = Vec::with_capacity(count);
        for _ in 0..count {
            let type_ = r.u1("array_init type")?;
            let n = r.u2("array_init count")? as usize;
            let values = r.bytes(n, "array_init values")?.to_vec();
            array_init.push(ArrayInit { type_, values });
        }
        let default_value_count = r.u2("default_value_count")?;
        let n = r.u2("non_default_value_count")? as usize;
        let non_default_values = r.bytes(n, "non_default_values")?.to_vec();
        Ok(StaticFieldComponent {
            image_size,
            reference_count,
            array_init,
            default_value_count,
            non_default_values,
        })
    }

    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(self.image_size);
        out.put_u2(self.reference_count);
        out.put_u2(to_u16(self.array_init.len(), LOCATION, "array_init_count")?);
        for a in &self.array_init {
            out.put_u1(a.type_);
            out.put_u2(to_u16(a.values.len(), LOCATION, "array_init count")?);
            out.put_bytes(&a.values);
        }
        out.put_u2(self.default_value_count);
        out.put_u2(to_u16(
            self.non_default_values.len(),
            LOCATION,
            "non_default_value_count",
        )?);
        out.put_bytes(&self.non_default_values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    const BYTES: &[u8] = &[
        0x00, 0x0A, // image_size
        0x00, 0x02, // reference_count
        0x00, 0x02, // array_init_count
        TYPE_BYTE, 0x00, 0x03, 1, 2, 3, // byte[] {1,2,3}
        TYPE_SHORT, 0x00, 0x04, 0, 1, 0xFF, 0xFF, // short[] {1,-1}
        0x00, 0x04, // default_value_count
        0x00, 0x02, 0x12, 0x34, // non-default values
    ];

    fn decode(bytes: &[u8]) -> Result<StaticFieldComponent> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = StaticFieldComponent::decode(
            &mut r,
            &Context {
                format: Format::V2_1,
            },
        )?;
        r.expect_end()?;
        Ok(c)
    }

    #[test]
    fn decodes_all_segments_and_round_trips() {
        let c = decode(BYTES).unwrap();
        assert_eq!((c.image_size, c.reference_count), (10, 2));
        assert_eq!(c.array_init.len(), 2);
        assert_eq!(c.array_init[0].values, [1, 2, 3]);
        assert_eq!(c.array_init[0].element_count(), Some(3));
        assert_eq!(c.array_init[1].type_, TYPE_SHORT);
        assert_eq!(c.array_init[1].element_count(), Some(2));
        assert_eq!(c.default_value_count, 4);
        assert_eq!(c.non_default_values, [0x12, 0x34]);
        let mut out = Vec::new();
        c.encode(
            &Context {
                format: Format::V2_1,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, BYTES);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"type\":3"), "{json}");
        assert!(json.contains("\"non_default_values\":\"1234\""), "{json}");
    }

    #[test]
    fn malformed_components_are_errors() {
        for n in 0..BYTES.len() {
            assert!(decode(&BYTES[..n]).is_err(), "prefix {n}");
        }
        let e = decode(&[0, 0, 0, 0, 0xFF, 0xFF, 0, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("array_init_count"), "{e}");
        // An array whose byte count runs past the end.
        let e = decode(&[0, 0, 0, 0, 0, 1, 3, 0xFF, 0xFF, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("array_init values"), "{e}");
    }
}
