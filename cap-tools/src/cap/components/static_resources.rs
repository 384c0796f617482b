//! Static Resources component (tag 13, CAP 2.3): byte blobs an application
//! reads at run time by resource id (JCVM 3.1, chapter 6).
//!
//! ```text
//! u2 resource_count
//! { u2 resource_id; u4 resource_size } resource_directory[resource_count]
//! { u1 static_resource[resource_size] } static_resources[resource_count]
//! ```
//!
//! The directory and the data are two tables in the file; this model pairs each
//! id with its bytes, the sizes being the data lengths.

use serde::{Serialize, Serializer};

use crate::bytes::{to_u16, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "StaticResources component";

/// Largest resource the specification allows.
pub const MAX_RESOURCE_SIZE: usize = 32767;

/// Serializes bytes as upper-case hex, the way a reader of a dump wants them.
fn hex<S: Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(bytes))
}

/// One static resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticResource {
    /// The id the application asks for; unique within the CAP file.
    pub id: u16,
    /// The resource's bytes (`resource_size` is their length).
    #[serde(serialize_with = "hex")]
    pub data: Vec<u8>,
}

/// The decoded Static Resources component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticResources {
    /// In directory order.
    pub resources: Vec<StaticResource>,
}

impl StaticResources {
    /// The resource with an id.
    pub fn get(&self, id: u16) -> Option<&StaticResource> {
        self.resources.iter().find(|r| r.id == id)
    }
}

impl ComponentBody for StaticResources {
    const TAG: Tag = Tag::StaticResources;

    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        let count = r.u2("resource_count")? as usize;
        let count = r.bounded_count(count, 6, "resource_count")?;
        let mut directory = Vec::with_capacity(count);
        for _ in 0..count {
            let id = r.u2("resource_id")?;
            let size = r.u4("resource_size")?;
            directory.push((id, size));
        }
        let mut resources = Vec::with_capacity(count);
        for (id, size) in directory {
            let at = r.offset();
            let size = usize::try_from(size)
                .ok()
                .filter(|&n| n <= r.remaining())
                .ok_or_else(|| {
                    r.error_at(
                        at,
                        format!(
                            "resource {id} declares {size} byte(s) but only {} remain",
                            r.remaining()
                        ),
                    )
                })?;
            let data = r.bytes(size, "static_resource")?.to_vec();
            resources.push(StaticResource { id, data });
        }
        Ok(StaticResources { resources })
    }

    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u2(to_u16(self.resources.len(), LOCATION, "resource_count")?);
        for res in &self.resources {
            let size = u32::try_from(res.data.len()).map_err(|_| {
                Error::encode(
                    LOCATION,
                    format!("resource {} is larger than 4 GiB", res.id),
                )
            })?;
            out.put_u2(res.id);
            out.put_u4(size);
        }
        for res in &self.resources {
            out.put_bytes(&res.data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    const BYTES: &[u8] = &[
        0, 2, // resource_count
        0, 7, 0, 0, 0, 3, // id 7, 3 bytes
        0x01, 0x00, 0, 0, 0, 0, // id 256, empty
        0xAA, 0xBB, 0xCC, // data of 7
    ];

    fn decode(bytes: &[u8]) -> Result<StaticResources> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = StaticResources::decode(
            &mut r,
            &Context {
                format: Format::V2_3,
            },
        )?;
        r.expect_end()?;
        Ok(c)
    }

    #[test]
    fn resources_pair_ids_with_data_and_round_trip() {
        let c = decode(BYTES).unwrap();
        assert_eq!(c.resources.len(), 2);
        assert_eq!(c.get(7).unwrap().data, [0xAA, 0xBB, 0xCC]);
        assert!(c.get(256).unwrap().data.is_empty());
        assert!(c.get(1).is_none());
        let mut out = Vec::new();
        c.encode(
            &Context {
                format: Format::V2_3,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, BYTES);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"data\":\"AABBCC\""), "{json}");
    }

    #[test]
    fn malformed_components_are_errors() {
        for n in 0..BYTES.len() {
            assert!(decode(&BYTES[..n]).is_err(), "prefix {n}");
        }
        let e = decode(&[0xFF, 0xFF, 0, 0]).unwrap_err().to_string();
        assert!(e.contains("resource_count"), "{e}");
        let e = decode(&[0, 1, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0])
            .unwrap_err()
            .to_string();
        assert!(e.contains("resource 1 declares 4294967295"), "{e}");
    }
}
