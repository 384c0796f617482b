//! Header component (tag 1): magic, CAP format, flags and the identity of what
//! the CAP file holds (JCVM 3.1 §6.4).
//!
//! Two layouts exist. The compact one (CAP 2.1, 2.2, 2.3) names the single
//! package of the file: its `package_info` and, from CAP 2.2 on, its
//! `package_name_info`. The extended one (CAP 2.3 with ACC_EXTENDED) names the
//! CAP file itself (its own version and AID, which is also the load file AID)
//! and then every public package it contains, each with a name:
//!
//! ```text
//! header_component_extended {
//!     u4 magic; u1 minor_version; u1 major_version; u1 flags
//!     u1 CAP_minor_version; u1 CAP_major_version; u1 CAP_AID_length; u1 CAP_AID[]
//!     u1 package_count
//!     package_info packages[package_count]
//!     package_name_info package_names[package_count]
//! }
//! ```

use serde::Serialize;

use crate::aid::Aid;
use crate::bytes::{to_u8, Reader, WriteExt};
use crate::cap::{ComponentBody, Context, Format, Tag};
use crate::error::{Error, Result};

/// The magic number every CAP Header starts with.
pub const MAGIC: u32 = 0xDECA_FFED;

/// Package flag: the package uses the int type.
pub const ACC_INT: u8 = 0x01;
/// Package flag: the CAP has an Export component.
pub const ACC_EXPORT: u8 = 0x02;
/// Package flag: the CAP has an Applet component.
pub const ACC_APPLET: u8 = 0x04;
/// Package flag: extended CAP format (2.3).
pub const ACC_EXTENDED: u8 = 0x08;

const LOCATION: &str = "Header component";

/// A package's version and AID (`package_info`), as the Header names the package
/// a CAP defines and the Import component names the packages it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    pub minor_version: u8,
    pub major_version: u8,
    /// Serialized as hex.
    pub aid: Aid,
}

impl PackageInfo {
    /// Reads `u1 minor_version, u1 major_version, u1 AID_length, u1 AID[AID_length]`.
    /// The AID length is not checked here (5..=16 is the verifier's rule) so
    /// that a file with a bad AID can still be read and reported.
    pub fn decode(r: &mut Reader<'_>) -> Result<PackageInfo> {
        let minor_version = r.u1("package_info minor_version")?;
        let major_version = r.u1("package_info major_version")?;
        let aid = Aid(r.u1_prefixed("package_info AID")?.to_vec());
        Ok(PackageInfo {
            minor_version,
            major_version,
            aid,
        })
    }

    /// Appends the `package_info` bytes; fails if the AID is longer than 255 bytes.
    pub fn encode(&self, out: &mut Vec<u8>, location: &'static str) -> Result<()> {
        out.put_u1(self.minor_version);
        out.put_u1(self.major_version);
        out.put_u1_prefixed(self.aid.as_bytes(), location)
    }

    /// `(major, minor)`, the order people write versions in.
    pub fn version(&self) -> (u8, u8) {
        (self.major_version, self.minor_version)
    }
}

/// One package of an extended CAP file: its `package_info` and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtendedPackage {
    pub package: PackageInfo,
    /// Fully qualified name in internal form (`com/example/app`); may be empty.
    pub name: String,
}

/// The decoded Header component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    pub magic: u32,
    /// CAP format minor version (1, 2 or 3).
    pub minor_version: u8,
    /// CAP format major version (2).
    pub major_version: u8,
    /// ACC_INT | ACC_EXPORT | ACC_APPLET | ACC_EXTENDED.
    pub flags: u8,
    /// Compact format: the package this CAP file defines. Extended format: the
    /// CAP file's own version and AID (`CAP_minor_version`, `CAP_major_version`,
    /// `CAP_AID`), which identify the load file as the package does in compact files.
    pub package: PackageInfo,
    /// Compact CAP 2.2+: the `package_name_info`, kept even when empty so that a
    /// 0-length name re-encodes; `None` when absent (always in CAP 2.1, and in
    /// extended files, whose names are in `packages`).
    pub package_name: Option<String>,
    /// Extended format only: every public package of the CAP file, in order.
    pub packages: Vec<ExtendedPackage>,
}

impl Header {
    /// The CAP format this header declares.
    pub fn format(&self) -> Format {
        Format {
            major: self.major_version,
            minor: self.minor_version,
            extended: self.is_extended(),
        }
    }

    /// True when ACC_EXTENDED is set.
    pub fn is_extended(&self) -> bool {
        self.flags & ACC_EXTENDED != 0
    }

    /// The AID of the package a compact CAP defines; `None` for extended files,
    /// which hold several packages (see [`Header::packages`] and [`Header::load_file_aid`]).
    pub fn package_aid(&self) -> Option<Aid> {
        (!self.is_extended()).then(|| self.package.aid.clone())
    }

    /// The package's `(major, minor)` version for compact files; `None` for extended ones.
    pub fn package_version(&self) -> Option<(u8, u8)> {
        (!self.is_extended()).then(|| self.package.version())
    }

    /// The package name of a compact CAP 2.2+ file, `None` when absent or empty.
    pub fn package_name(&self) -> Option<&str> {
        self.package_name.as_deref().filter(|n| !n.is_empty())
    }

    /// The AID a card knows the load file by: the package AID of a compact
    /// file, the CAP AID of an extended one.
    pub fn load_file_aid(&self) -> &Aid {
        &self.package.aid
    }
}

/// Reads a `package_name_info`: a u1 length and that many UTF-8 bytes.
fn decode_name(r: &mut Reader<'_>, field: &'static str) -> Result<String> {
    let start = r.offset();
    let bytes = r.u1_prefixed(field)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| r.error_at(start, format!("{field} is not valid UTF-8: {e}")))
}

impl ComponentBody for Header {
    const TAG: Tag = Tag::Header;

    fn decode(r: &mut Reader<'_>, _ctx: &Context) -> Result<Self> {
        // The layout follows this header's own version and flags: the caller's
        // context was derived from them in the first place.
        let magic = r.u4("magic")?;
        if magic != MAGIC {
            return Err(r.error_at(
                0,
                format!("magic is {magic:#010x}, a CAP Header starts with 0xDECAFFED"),
            ));
        }
        let minor_version = r.u1("minor_version")?;
        let major_version = r.u1("major_version")?;
        let flags = r.u1("flags")?;
        let package = PackageInfo::decode(r)?;
        let mut header = Header {
            magic,
            minor_version,
            major_version,
            flags,
            package,
            package_name: None,
            packages: Vec::new(),
        };
        if header.is_extended() {
            let count = r.u1("package_count")? as usize;
            // Each package needs a package_info (3+ bytes) and a name (1+ byte).
            let count = r.bounded_count(count, 4, "package_count")?;
            let infos = (0..count)
                .map(|_| PackageInfo::decode(r))
                .collect::<Result<Vec<_>>>()?;
            for package in infos {
                let name = decode_name(r, "package_name_info")?;
                header.packages.push(ExtendedPackage { package, name });
            }
        } else if (major_version, minor_version) >= (2, 2) && !r.is_empty() {
            header.package_name = Some(decode_name(r, "package_name_info")?);
        }
        Ok(header)
    }

    fn encode(&self, _ctx: &Context, out: &mut Vec<u8>) -> Result<()> {
        out.put_u4(self.magic);
        out.put_u1(self.minor_version);
        out.put_u1(self.major_version);
        out.put_u1(self.flags);
        self.package.encode(out, LOCATION)?;
        if self.is_extended() {
            if self.package_name.is_some() {
                return Err(Error::encode(
                    LOCATION,
                    "an extended Header names its packages in `packages`, not `package_name`",
                ));
            }
            out.put_u1(to_u8(self.packages.len(), LOCATION, "package_count")?);
            for p in &self.packages {
                p.package.encode(out, LOCATION)?;
            }
            for p in &self.packages {
                out.put_u1_prefixed(p.name.as_bytes(), LOCATION)?;
            }
            return Ok(());
        }
        if !self.packages.is_empty() {
            return Err(Error::encode(
                LOCATION,
                "a compact Header has no package list (ACC_EXTENDED is not set)",
            ));
        }
        if let Some(name) = &self.package_name {
            if (self.major_version, self.minor_version) < (2, 2) {
                return Err(Error::encode(
                    LOCATION,
                    "CAP format 2.1 has no package_name_info",
                ));
            }
            out.put_u1_prefixed(name.as_bytes(), LOCATION)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(format: Format) -> Context {
        Context { format }
    }

    fn decode(bytes: &[u8], format: Format) -> Result<Header> {
        let mut r = Reader::new(bytes, LOCATION);
        let h = Header::decode(&mut r, &ctx(format))?;
        r.expect_end()?;
        Ok(h)
    }

    fn reencode(h: &Header, format: Format) -> Vec<u8> {
        let mut out = Vec::new();
        h.encode(&ctx(format), &mut out).unwrap();
        out
    }

    const V21: &[u8] = &[
        0xDE, 0xCA, 0xFF, 0xED, 0x01, 0x02, 0x04, // magic, 2.1, ACC_APPLET
        0x00, 0x01, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05, // package 1.0, AID
    ];

    #[test]
    fn compact_2_1_has_no_name() {
        let h = decode(V21, Format::V2_1).unwrap();
        assert_eq!(h.format(), Format::V2_1);
        assert_eq!(h.flags, ACC_APPLET);
        assert_eq!(h.package_aid().unwrap().to_hex(), "0102030405");
        assert_eq!(h.package_version(), Some((1, 0)));
        assert_eq!(h.package_name, None);
        assert_eq!(h.package_name(), None);
        assert_eq!(reencode(&h, Format::V2_1), V21);
    }

    #[test]
    fn compact_2_2_name_and_empty_name_round_trip() {
        let mut named = V21.to_vec();
        named[4] = 2;
        named.extend_from_slice(&[3, b'a', b'/', b'b']);
        let h = decode(&named, Format::V2_2).unwrap();
        assert_eq!(h.package_name(), Some("a/b"));
        assert_eq!(reencode(&h, Format::V2_2), named);

        let mut empty = V21.to_vec();
        empty[4] = 3;
        empty.push(0);
        let h = decode(&empty, Format::V2_3).unwrap();
        assert_eq!(h.package_name, Some(String::new()));
        assert_eq!(h.package_name(), None, "an empty name reads as absent");
        assert_eq!(
            reencode(&h, Format::V2_3),
            empty,
            "the 0 length byte is kept"
        );
    }

    #[test]
    fn extended_header_lists_cap_aid_and_packages() {
        let bytes = [
            0xDE, 0xCA, 0xFF, 0xED, 0x03, 0x02, 0x0C, // 2.3, APPLET|EXTENDED
            0x02, 0x01, 0x05, 0xA0, 0, 0, 0, 0x10, // CAP version 1.2, CAP AID
            0x02, // package_count
            0x00, 0x01, 0x06, 0xA0, 0, 0, 0, 0x10, 0x01, // package 1.0
            0x05, 0x03, 0x06, 0xA0, 0, 0, 0, 0x10, 0x02, // package 3.5
            0x03, b'a', b'/', b'b', // name 1
            0x00, // name 2, empty
        ];
        let h = decode(&bytes, Format::V2_3_EXTENDED).unwrap();
        assert!(h.is_extended());
        assert_eq!(h.format(), Format::V2_3_EXTENDED);
        assert_eq!(h.load_file_aid().to_hex(), "A000000010");
        assert_eq!(h.package.version(), (1, 2));
        assert_eq!(h.package_aid(), None);
        assert_eq!(h.package_version(), None);
        assert_eq!(h.packages.len(), 2);
        assert_eq!(h.packages[0].package.aid.to_hex(), "A00000001001");
        assert_eq!(h.packages[0].name, "a/b");
        assert_eq!(h.packages[1].package.version(), (3, 5));
        assert_eq!(h.packages[1].name, "");
        assert_eq!(reencode(&h, Format::V2_3_EXTENDED), bytes);
    }

    #[test]
    fn bad_magic_is_rejected_with_its_value() {
        let mut bytes = V21.to_vec();
        bytes[0] = 0xCA;
        let e = decode(&bytes, Format::V2_1).unwrap_err().to_string();
        assert!(e.contains("0xcacaffed"), "{e}");
        assert!(e.contains("Header component"), "{e}");
    }

    #[test]
    fn malformed_headers_are_errors() {
        // Truncated at every length.
        for n in 0..V21.len() {
            assert!(decode(&V21[..n], Format::V2_1).is_err(), "prefix of {n}");
        }
        // A name that is not UTF-8.
        let mut bad = V21.to_vec();
        bad[4] = 2;
        bad.extend_from_slice(&[1, 0xFF]);
        let e = decode(&bad, Format::V2_2).unwrap_err().to_string();
        assert!(e.contains("UTF-8"), "{e}");
        // An extended package count the bytes cannot hold.
        let ext = [
            0xDE, 0xCA, 0xFF, 0xED, 0x03, 0x02, 0x08, 0, 1, 0, 0xFF, 0, 0,
        ];
        let e = decode(&ext, Format::V2_3_EXTENDED).unwrap_err().to_string();
        assert!(e.contains("package_count"), "{e}");
    }

    #[test]
    fn inconsistent_models_do_not_encode() {
        let mut h = decode(V21, Format::V2_1).unwrap();
        h.package_name = Some("x".into());
        assert!(h.encode(&ctx(Format::V2_1), &mut Vec::new()).is_err());
        h.package_name = None;
        h.packages.push(ExtendedPackage {
            package: h.package.clone(),
            name: String::new(),
        });
        assert!(h.encode(&ctx(Format::V2_1), &mut Vec::new()).is_err());
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
    fn corpus_headers_match_the_manifest() {
        for (m, cap) in corpus() {
            let h = cap.header().unwrap();
            let file = m["file"].as_str().unwrap();
            let aid = m["package_aid"].as_str().unwrap().to_uppercase();
            assert_eq!(h.package_aid().unwrap().to_hex(), aid, "{file}");
            let (major, minor) = h.package_version().unwrap();
            assert_eq!(format!("{major}.{minor}"), m["package_version"], "{file}");
            assert_eq!(h.package_name(), m["package_name"].as_str(), "{file}");
            assert_eq!(u64::from(h.flags), m["flags"].as_u64().unwrap(), "{file}");
        }
    }
}
