//! Directory component (tag 2): the size of every component, the static field
//! image sizes, and the custom components (JCVM 3.1 §6.5).
//!
//! The size table grows with the format: 11 u2 entries in CAP 2.1 (Header to
//! Descriptor), 12 in CAP 2.2 (+ Debug), 13 in CAP 2.3 (+ Static Resources,
//! whose size is a u4 in both layouts). In the extended layout the sizes of the
//! components that may exceed 64 KiB (Method, RefLocation, Descriptor, Debug)
//! are u4 too, custom component sizes are u4, and a `method_component_block_count`
//! sits between `applet_count` and `custom_count`.

use serde::Serialize;

use crate::aid::Aid;
use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Format, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "Directory component";

/// The `static_field_size_info` structure: what the card must allocate for the
/// static field image and the arrays `<clinit>` initialises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StaticFieldSizeInfo {
    pub image_size: u16,
    pub array_init_count: u16,
    pub array_init_size: u16,
}

/// A `custom_component_info` entry: a component with a tag of 128..=255.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomComponentInfo {
    pub tag: u8,
    /// u2 in compact files, u4 in extended ones.
    pub size: u32,
    /// Serialized as hex.
    pub aid: Aid,
}

/// The decoded Directory component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Directory {
    /// Component sizes indexed by tag - 1: 11 entries in CAP 2.1, 12 in 2.2,
    /// 13 in 2.3. Zero for an absent optional component.
    pub component_sizes: Vec<u32>,
    pub static_field_size: StaticFieldSizeInfo,
    pub import_count: u8,
    pub applet_count: u8,
    /// Extended format only: how many blocks the Method component has.
    pub method_component_block_count: Option<u8>,
    pub custom_components: Vec<CustomComponentInfo>,
}

/// How many entries `component_sizes` has in a format.
pub fn size_count(format: &Format) -> usize {
    if format.at_least(2, 3) {
        13
    } else if format.at_least(2, 2) {
        12
    } else {
        11
    }
}

/// Byte width of the size entry for `tag` (1-based) in a format.
fn size_width(format: &Format, tag: usize) -> usize {
    const STATIC_RESOURCES: usize = Tag::StaticResources as usize;
    const WIDE_IF_EXTENDED: [usize; 4] = [
        Tag::Method as usize,
        Tag::RefLocation as usize,
        Tag::Descriptor as usize,
        Tag::Debug as usize,
    ];
    if tag == STATIC_RESOURCES || (format.extended && WIDE_IF_EXTENDED.contains(&tag)) {
        4
    } else {
        2
    }
}

impl Directory {
    /// The size the Directory records for a standard component, if the format has an entry for it.
    pub fn size_of(&self, tag: Tag) -> Option<u32> {
        // Tags start at 1 (Header).
        let index = (tag as usize).checked_sub(1)?;
        self.component_sizes.get(index).copied()
    }
}

impl ComponentBody for Directory {
    const TAG: Tag = Tag::Directory;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        let format = ctx.format;
        let count = size_count(&format);
        let mut component_sizes = Vec::with_capacity(count);
        for tag in 1..=count {
            let size = if size_width(&format, tag) == 4 {
                r.u4("component_sizes")?
            } else {
                u32::from(r.u2("component_sizes")?)
            };
            component_sizes.push(size);
        }
        let static_field_size = StaticFieldSizeInfo {
            image_size: r.u2("static_field_size image_size")?,
            array_init_count: r.u2("static_field_size array_init_count")?,
            array_init_size: r.u2("static_field_size array_init_size")?,
        };
        let import_count = r.u1("import_count")?;
        let applet_count = r.u1("applet_count")?;
        let method_component_block_count = if format.extended {
            Some(r.u1("method_component_block_count")?)
        } else {
            None
        };
        let custom_count = r.u1("custom_count")? as usize;
        let size_bytes = if format.extended { 4 } else { 2 };
        let custom_count = r.bounded_count(custom_count, 2 + size_bytes, "custom_count")?;
        let mut custom_components = Vec::with_capacity(custom_count);
        for _ in 0..custom_count {
            let at = r.offset();
            let tag = r.u1("custom component_tag")?;
            if tag < 128 {
                return Err(r.error_at(
                    at,
                    format!("custom component tag {tag} is below 128, the first custom tag"),
                ));
            }
            let size = if format.extended {
                r.u4("custom component size")?
            } else {
                u32::from(r.u2("custom component size")?)
            };
            let aid = Aid(r.u1_prefixed("custom component AID")?.to_vec());
            custom_components.push(CustomComponentInfo { tag, size, aid });
        }
        Ok(Directory {
            component_sizes,
            static_field_size,
            import_count,
            applet_count,
            method_component_block_count,
            custom_components,
        })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        let format = ctx.format;
        let count = size_count(&format);
        if self.component_sizes.len() != count {
            return Err(Error::encode(
                LOCATION,
                format!(
                    "CAP format {format} has {count} component sizes, the model holds {}",
                    self.component_sizes.len()
                ),
            ));
        }
        for (i, &size) in self.component_sizes.iter().enumerate() {
            if size_width(&format, i + 1) == 4 {
                out.put_u4(size);
            } else {
                out.put_u2(narrow(size, "component size")?);
            }
        }
        let s = &self.static_field_size;
        out.put_u2(s.image_size);
        out.put_u2(s.array_init_count);
        out.put_u2(s.array_init_size);
        out.put_u1(self.import_count);
        out.put_u1(self.applet_count);
        match (format.extended, self.method_component_block_count) {
            (true, Some(n)) => out.put_u1(n),
            (false, None) => {}
            (true, None) => {
                return Err(Error::encode(
                    LOCATION,
                    "an extended Directory needs method_component_block_count",
                ))
            }
            (false, Some(_)) => {
                return Err(Error::encode(
                    LOCATION,
                    "method_component_block_count exists only in the extended format",
                ))
            }
        }
        out.put_u1(to_u8(
            self.custom_components.len(),
            LOCATION,
            "custom_count",
        )?);
        for c in &self.custom_components {
            out.put_u1(c.tag);
            if format.extended {
                out.put_u4(c.size);
            } else {
                out.put_u2(narrow(c.size, "custom component size")?);
            }
            out.put_u1_prefixed(c.aid.as_bytes(), LOCATION)?;
        }
        Ok(())
    }
}

/// A u4 model value written to a u2 field.
fn narrow(v: u32, field: &str) -> Result<u16> {
    u16::try_from(v)
        .map_err(|_| Error::encode(LOCATION, format!("{field} {v} does not fit in a u2")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], format: Format) -> Result<Directory> {
        let mut r = Reader::new(bytes, LOCATION);
        let d = Directory::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(d)
    }

    fn encode(d: &Directory, format: Format) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        d.encode(&Context { format }, &mut out)?;
        Ok(out)
    }

    fn compact(sizes: &[u16], tail: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = sizes.iter().flat_map(|s| s.to_be_bytes()).collect();
        v.extend_from_slice(tail);
        v
    }

    const STATIC_AND_COUNTS: [u8; 9] = [0, 2, 0, 1, 0, 5, 2, 1, 0];

    #[test]
    fn cap_2_1_has_eleven_sizes() {
        let sizes = [
            0x11, 0x1F, 0x0B, 0x15, 0x32, 0x17, 0x70, 0x12, 0x15, 0, 0x71,
        ];
        let bytes = compact(&sizes, &STATIC_AND_COUNTS);
        let d = decode(&bytes, Format::V2_1).unwrap();
        assert_eq!(d.component_sizes.len(), 11);
        assert_eq!(d.size_of(Tag::Method), Some(0x70));
        assert_eq!(d.size_of(Tag::Export), Some(0));
        assert_eq!(d.size_of(Tag::Debug), None);
        assert_eq!(
            d.static_field_size,
            StaticFieldSizeInfo {
                image_size: 2,
                array_init_count: 1,
                array_init_size: 5
            }
        );
        assert_eq!((d.import_count, d.applet_count), (2, 1));
        assert_eq!(d.method_component_block_count, None);
        assert_eq!(encode(&d, Format::V2_1).unwrap(), bytes);
    }

    #[test]
    fn cap_2_3_compact_adds_debug_and_u4_static_resources() {
        let mut bytes = compact(&[1; 12], &[0, 0, 0x01, 0x02]);
        bytes.extend_from_slice(&STATIC_AND_COUNTS);
        let d = decode(&bytes, Format::V2_3).unwrap();
        assert_eq!(d.component_sizes.len(), 13);
        assert_eq!(d.size_of(Tag::Debug), Some(1));
        assert_eq!(d.size_of(Tag::StaticResources), Some(0x0102));
        assert_eq!(encode(&d, Format::V2_3).unwrap(), bytes);
    }

    #[test]
    fn extended_layout_widens_sizes_and_adds_block_count() {
        let mut bytes = Vec::new();
        for tag in 1..=13u32 {
            if [7, 9, 11, 12, 13].contains(&tag) {
                bytes.extend_from_slice(&(0x0001_0000 + tag).to_be_bytes());
            } else {
                bytes.extend_from_slice(&(tag as u16).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&[0, 4, 0, 0, 0, 0]); // static_field_size
        bytes.extend_from_slice(&[3, 1, 2, 1]); // imports, applets, blocks, 1 custom
        bytes.extend_from_slice(&[0x80, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5]);
        let d = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert_eq!(d.size_of(Tag::Method), Some(0x0001_0007));
        assert_eq!(d.size_of(Tag::Class), Some(6));
        assert_eq!(d.size_of(Tag::StaticResources), Some(0x0001_000D));
        assert_eq!(d.method_component_block_count, Some(2));
        assert_eq!(
            d.custom_components,
            vec![CustomComponentInfo {
                tag: 0x80,
                size: 0x100,
                aid: Aid(vec![1, 2, 3, 4, 5])
            }]
        );
        assert_eq!(encode(&d, Format::V2_3_EXTENDED).unwrap(), bytes);
    }

    #[test]
    fn compact_custom_component_round_trips() {
        let mut bytes = compact(&[1; 12], &[0, 2, 0, 0, 0, 0, 1, 0, 1]);
        bytes.extend_from_slice(&[0xC0, 0x01, 0x00, 5, 0xA0, 0, 0, 0, 0x62]);
        let d = decode(&bytes, Format::V2_2).unwrap();
        assert_eq!(d.custom_components[0].tag, 0xC0);
        assert_eq!(d.custom_components[0].size, 0x100);
        assert_eq!(d.custom_components[0].aid.to_hex(), "A000000062");
        assert_eq!(encode(&d, Format::V2_2).unwrap(), bytes);
    }

    #[test]
    fn malformed_directories_are_errors() {
        let bytes = compact(&[1; 11], &STATIC_AND_COUNTS);
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], Format::V2_1).is_err(), "prefix {n}");
        }
        // Custom count larger than the rest can hold.
        let mut many = bytes.clone();
        *many.last_mut().unwrap() = 200;
        let e = decode(&many, Format::V2_1).unwrap_err().to_string();
        assert!(e.contains("custom_count"), "{e}");
        // Custom tag below 128.
        let mut low = bytes.clone();
        *low.last_mut().unwrap() = 1;
        low.extend_from_slice(&[0x10, 0, 1, 0]);
        let e = decode(&low, Format::V2_1).unwrap_err().to_string();
        assert!(e.contains("below 128"), "{e}");
    }

    #[test]
    fn encoding_checks_the_model_against_the_format() {
        let d = decode(&compact(&[1; 11], &STATIC_AND_COUNTS), Format::V2_1).unwrap();
        assert!(encode(&d, Format::V2_2).is_err(), "wrong size count");
        let mut wide = d.clone();
        wide.component_sizes[6] = 0x1_0000;
        assert!(
            encode(&wide, Format::V2_1).is_err(),
            "u4 size in a u2 field"
        );
        let mut blocks = d.clone();
        blocks.method_component_block_count = Some(1);
        assert!(encode(&blocks, Format::V2_1).is_err());
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
    fn corpus_directories_record_every_component_size() {
        let mut caps = Vec::new();
        for dir in [
            "cap-corpus",
            "converter-reference/oracle-3.0.5",
            "converter-reference/oracle-3.2.0",
        ] {
            for entry in std::fs::read_dir(shared().join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "cap") {
                    caps.push(path);
                }
            }
        }
        assert!(caps.len() >= 19, "corpus not found");
        for path in caps {
            let cap = crate::cap::Cap::from_path(&path).unwrap();
            let Some(crate::cap::Component::Directory(d)) = cap.component(Tag::Directory) else {
                panic!("{}: no Directory", path.display());
            };
            assert_eq!(d.component_sizes.len(), size_count(&cap.format));
            for tag in Tag::ALL.iter().take(d.component_sizes.len()) {
                let body = cap
                    .component(*tag)
                    .map(|c| c.encode_body(&cap.context()).unwrap().len() as u32)
                    .unwrap_or(0);
                assert_eq!(d.size_of(*tag), Some(body), "{} {tag:?}", path.display());
            }
        }
    }
}
