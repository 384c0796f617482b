//! Import component (tag 4): the packages this CAP file references
//! (JCVM 3.1, chapter 6). An entry's index in the list is the package token that
//! external references in the Constant Pool and Class components use.
//! The layout is the same in compact and extended files.

use serde::Serialize;

use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::header::PackageInfo;
use crate::cap::{ComponentBody, Context, Tag};
use crate::error::Result;

const LOCATION: &str = "Import component";

/// The decoded Import component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportComponent {
    /// Imported packages; the index is the package token.
    pub packages: Vec<PackageInfo>,
}

impl ImportComponent {
    /// The package a package token stands for.
    pub fn get(&self, package_token: u8) -> Option<&PackageInfo> {
        self.packages.get(package_token as usize)
    }
}

impl ComponentBody for ImportComponent {
    const TAG: Tag = Tag::Import;

    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        let count = r.u1("count")? as usize;
        // minor, major and AID_length at the least.
        let count = r.bounded_count(count, 3, "imported package count")?;
        let packages = (0..count)
            .map(|_| PackageInfo::decode(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(ImportComponent { packages })
    }

    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u1(to_u8(
            self.packages.len(),
            LOCATION,
            "imported package count",
        )?);
        for p in &self.packages {
            p.encode(out, LOCATION)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::Format;

    const BYTES: &[u8] = &[
        2, // count
        0, 1, 7, 0xA0, 0, 0, 0, 0x62, 0, 1, // java.lang 1.0
        2, 1, 7, 0xA0, 0, 0, 0, 0x62, 1, 1, // javacard.framework 1.2
    ];

    fn decode(bytes: &[u8]) -> Result<ImportComponent> {
        let mut r = Reader::new(bytes, LOCATION);
        let c = ImportComponent::decode(
            &mut r,
            &Context {
                format: Format::V2_1,
            },
        )?;
        r.expect_end()?;
        Ok(c)
    }

    #[test]
    fn imports_decode_and_round_trip() {
        let c = decode(BYTES).unwrap();
        assert_eq!(c.packages.len(), 2);
        assert_eq!(c.get(0).unwrap().aid.to_hex(), "A0000000620001");
        assert_eq!(c.get(1).unwrap().version(), (1, 2));
        assert!(c.get(2).is_none());
        let mut out = Vec::new();
        c.encode(
            &Context {
                format: Format::V2_1,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, BYTES);
    }

    #[test]
    fn malformed_imports_are_errors() {
        for n in 0..BYTES.len() {
            assert!(decode(&BYTES[..n]).is_err(), "prefix {n}");
        }
        let e = decode(&[0xFF, 0, 0]).unwrap_err().to_string();
        assert!(e.contains("imported package count"), "{e}");
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
    fn corpus_imports_match_the_manifest() {
        for (m, cap) in corpus() {
            let Some(crate::cap::Component::Import(imports)) = cap.component(Tag::Import) else {
                panic!("{}: no Import component", m["file"]);
            };
            let found: Vec<String> = imports
                .packages
                .iter()
                .map(|p| format!("{} {}.{}", p.aid, p.major_version, p.minor_version))
                .collect();
            let want: Vec<String> = m["imports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let aid = i["aid"].as_str().unwrap().to_uppercase();
                    format!("{aid} {}", i["version"].as_str().unwrap())
                })
                .collect();
            assert_eq!(found, want, "{}", m["file"]);
        }
    }
}
