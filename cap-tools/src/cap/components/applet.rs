//! Applet component (tag 3): the applets the CAP file defines, each with its
//! AID and the location of its `install(byte[], short, byte)` method
//! (JCVM 3.1 §6.6).
//!
//! In the extended layout each entry also names the Method component block the
//! install method lives in (`install_method_component_block_index`, a u1 before
//! the u2 offset); the offset is then relative to that block.

use serde::Serialize;

use crate::aid::Aid;
use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::{Error, Result};

const LOCATION: &str = "Applet component";

/// One applet of the CAP file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppletEntry {
    /// Serialized as hex.
    pub aid: Aid,
    /// Extended format: the Method component block of the install method.
    /// Always 0 in compact files, which have a single, implicit block.
    pub install_method_block: u8,
    /// Offset of the install method's `method_info`, into the Method component
    /// info (compact) or into its block (extended). A u2 in the file.
    pub install_method_offset: u32,
}

/// The decoded Applet component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppletComponent {
    pub applets: Vec<AppletEntry>,
}

impl ComponentBody for AppletComponent {
    const TAG: Tag = Tag::Applet;

    fn decode(r: &mut Reader<'_>, ctx: &Context) -> Result<Self> {
        let extended = ctx.format.extended;
        let count = r.u1("count")? as usize;
        // AID_length + install_method_offset (+ block index) at the least.
        let count = r.bounded_count(count, if extended { 4 } else { 3 }, "applet count")?;
        let mut applets = Vec::with_capacity(count);
        for _ in 0..count {
            let aid = Aid(r.u1_prefixed("applet AID")?.to_vec());
            let install_method_block = if extended {
                r.u1("install_method_component_block_index")?
            } else {
                0
            };
            let install_method_offset = u32::from(r.u2("install_method_offset")?);
            applets.push(AppletEntry {
                aid,
                install_method_block,
                install_method_offset,
            });
        }
        Ok(AppletComponent { applets })
    }

    fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(to_u8(self.applets.len(), LOCATION, "applet count")?);
        for a in &self.applets {
            out.put_u1_prefixed(a.aid.as_bytes(), LOCATION)?;
            if ctx.format.extended {
                out.put_u1(a.install_method_block);
            } else if a.install_method_block != 0 {
                return Err(Error::encode(
                    LOCATION,
                    format!(
                        "applet {}: install method block {} in a compact CAP file, which has one block",
                        a.aid, a.install_method_block
                    ),
                ));
            }
            let offset = u16::try_from(a.install_method_offset).map_err(|_| {
                Error::encode(
                    LOCATION,
                    format!(
                        "applet {}: install_method_offset {} does not fit in a u2",
                        a.aid, a.install_method_offset
                    ),
                )
            })?;
            out.put_u2(offset);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    fn decode(bytes: &[u8], format: Format) -> Result<AppletComponent> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = AppletComponent::decode(&mut r, &Context { format })?;
        r.expect_end()?;
        Ok(c)
    }

    fn encode(c: &AppletComponent, format: Format) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        c.encode(&Context { format }, &mut out)?;
        Ok(out)
    }

    const COMPACT: &[u8] = &[
        2, // count
        6, 0xF0, 0, 0, 0, 1, 1, 0x00, 0x2A, // first applet, offset 0x2A
        5, 1, 2, 3, 4, 5, 0x01, 0x00, // second applet, offset 0x100
    ];

    #[test]
    fn compact_applets_decode_and_round_trip() {
        let c = decode(COMPACT, Format::V2_1).unwrap();
        assert_eq!(c.applets.len(), 2);
        assert_eq!(c.applets[0].aid.to_hex(), "F00000000101");
        assert_eq!(c.applets[0].install_method_offset, 0x2A);
        assert_eq!(c.applets[1].install_method_offset, 0x100);
        assert_eq!(c.applets[1].install_method_block, 0);
        assert_eq!(encode(&c, Format::V2_1).unwrap(), COMPACT);
    }

    #[test]
    fn extended_applets_carry_a_block_index() {
        let bytes = [1, 5, 1, 2, 3, 4, 5, 3, 0x12, 0x34];
        let c = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert_eq!(c.applets[0].install_method_block, 3);
        assert_eq!(c.applets[0].install_method_offset, 0x1234);
        assert_eq!(encode(&c, Format::V2_3_EXTENDED).unwrap(), bytes);
        assert!(
            encode(&c, Format::V2_3).is_err(),
            "block 3 cannot be written compact"
        );
    }

    #[test]
    fn malformed_applet_components_are_errors() {
        for n in 1..COMPACT.len() {
            assert!(decode(&COMPACT[..n], Format::V2_1).is_err(), "prefix {n}");
        }
        let e = decode(&[100, 5, 1, 2], Format::V2_1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("applet count"), "{e}");
        let mut big = decode(COMPACT, Format::V2_1).unwrap();
        big.applets[0].install_method_offset = 0x1_0000;
        assert!(encode(&big, Format::V2_1).is_err());
    }
    /// The shared test data: `$JCT_SHARED` or `../shared` beside the project root.
    fn shared() -> std::path::PathBuf {
        std::env::var_os("JCT_SHARED")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
            })
    }

    /// MANIFEST.json of the CAP corpus with each entry's decoded CAP.
    fn corpus() -> Vec<(serde_json::Value, crate::cap::Cap)> {
        let dir = shared().join("cap-corpus");
        let text = std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap();
        let manifest: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        manifest
            .into_iter()
            .map(|m| {
                let cap =
                    crate::cap::Cap::from_path(dir.join(m["file"].as_str().unwrap())).unwrap();
                (m, cap)
            })
            .collect()
    }

    #[test]
    fn corpus_applets_match_the_manifest() {
        for (m, cap) in corpus() {
            let found: Vec<String> = match cap.component(Tag::Applet) {
                Some(crate::cap::Component::Applet(a)) => {
                    a.applets.iter().map(|x| x.aid.to_hex()).collect()
                }
                _ => Vec::new(),
            };
            let want: Vec<String> = m["applets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_uppercase())
                .collect();
            assert_eq!(found, want, "{}", m["file"]);
        }
    }
}
