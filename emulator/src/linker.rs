//! Accepting a load file: what the card manager checks once the last LOAD
//! block is in, before anything is stored.
//!
//! In order: the Load File structure (optional DAP blocks, then exactly one
//! C4 object whose length matches the bytes received), the Load File Data
//! Block hash announced by INSTALL [for load], the CAP components
//! themselves (decoding, then the verifier), the CAP format against the
//! card's Java Card version, and the imports against the API packages in
//! ROM and the packages loaded before. Any failure leaves the card as it
//! was: nothing is written until every check has passed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use cap_tools::api::{self, ApiVersion};
use cap_tools::cap::{Component, Tag};
use cap_tools::Cap;
use gp::tlv::Tlv;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::state::{CardState, Package, PackageRef};
use crate::sw::{self, fail, Fail};

/// What INSTALL [for load] announced for the load file to come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRequest {
    pub aid: Vec<u8>,
    pub security_domain: Vec<u8>,
    /// Load File Data Block hash: empty, 20 bytes (SHA-1) or 32 (SHA-256).
    pub hash: Vec<u8>,
}

/// Checks a complete Load File (the concatenated LOAD data) and returns
/// the package to record.
pub fn accept(state: &CardState, request: &LoadRequest, load_file: &[u8]) -> Result<Package, Fail> {
    let block = load_file_data_block(load_file)?;
    check_hash(&request.hash, block)?;
    let cap = parse(block)?;
    let header = cap
        .header()
        .ok_or_else(|| fail(sw::BAD_DATA, "the load file has no Header component"))?;
    let aid = header.load_file_aid().as_bytes().to_vec();
    if aid != request.aid {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "the load file defines {}, but INSTALL [for load] announced {}",
                hex::encode_upper(&aid),
                hex::encode_upper(&request.aid)
            ),
        ));
    }
    let api = state
        .profile
        .api_version()
        .map_err(|e| fail(sw::UNKNOWN, e))?;
    check_format(&cap, api)?;
    let imports = imports(&cap);
    for import in &imports {
        resolve(state, api, import)?;
    }
    let exports: Vec<PackageRef> = if header.is_extended() {
        header
            .packages
            .iter()
            .map(|p| package_ref(&p.package))
            .collect()
    } else {
        vec![package_ref(&header.package)]
    };
    let applets = match cap.component(Tag::Applet) {
        Some(Component::Applet(a)) => a
            .applets
            .iter()
            .map(|e| e.aid.as_bytes().to_vec())
            .collect(),
        _ => Vec::new(),
    };
    let (major, minor) = header.package.version();
    Ok(Package {
        aid,
        major,
        minor,
        security_domain: request.security_domain.clone(),
        applets,
        exports,
        imports,
        load_file: block.to_vec(),
    })
}

/// Splits the Load File into its DAP blocks (E2: checked by [`crate::dap`]
/// when the ISD verifies DAPs) and the Load File Data Block, the value of C4.
fn load_file_data_block(load_file: &[u8]) -> Result<&[u8], Fail> {
    let objects = Tlv::parse_all(load_file)
        .map_err(|e| fail(sw::BAD_DATA, format!("the Load File is not BER-TLV: {e}")))?;
    let (last, before) = objects
        .split_last()
        .ok_or_else(|| fail(sw::BAD_DATA, "the Load File is empty"))?;
    if last.tag().to_bytes() != [0xC4] {
        return Err(fail(
            sw::BAD_DATA,
            format!("the Load File ends with tag {} instead of C4", last.tag()),
        ));
    }
    if let Some(other) = before.iter().find(|t| t.tag().to_bytes() != [0xE2]) {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "tag {} before the Load File Data Block; only DAP blocks (E2) may precede it",
                other.tag()
            ),
        ));
    }
    // `parse_all` consumed every byte, so the C4 length matched what was
    // received exactly; its value is the tail of the Load File.
    let len = last
        .bytes()
        .map(<[u8]>::len)
        .ok_or_else(|| fail(sw::BAD_DATA, "tag C4 is not primitive"))?;
    load_file
        .get(load_file.len() - len..)
        .ok_or_else(|| fail(sw::BAD_DATA, "the Load File Data Block is truncated"))
}

/// The Load File Data Block hash covers the block's content: the bytes
/// after the C4 tag and length.
fn check_hash(expected: &[u8], block: &[u8]) -> Result<(), Fail> {
    let actual = match expected.len() {
        0 => return Ok(()),
        20 => Sha1::digest(block).to_vec(),
        32 => Sha256::digest(block).to_vec(),
        n => {
            return Err(fail(
                sw::BAD_DATA,
                format!("a Load File Data Block hash of {n} bytes"),
            ))
        }
    };
    if actual != expected {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "Load File Data Block hash mismatch: INSTALL [for load] gave {}, the block hashes to {}",
                hex::encode_upper(expected),
                hex::encode_upper(&actual)
            ),
        ));
    }
    Ok(())
}

/// Decodes and verifies the CAP. The decoder is another crate's code
/// facing hostile bytes; should it ever panic, the card answers 6A80 and
/// goes on, as a card must.
fn parse(block: &[u8]) -> Result<Cap, Fail> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let cap = Cap::from_load_file(block)
            .map_err(|e| format!("the load file does not decode: {e}"))?;
        verify_load_file(&cap)?;
        Ok::<Cap, String>(cap)
    }));
    match parsed {
        Ok(Ok(cap)) => Ok(cap),
        Ok(Err(why)) => Err(fail(sw::BAD_DATA, why)),
        Err(_) => Err(fail(
            sw::BAD_DATA,
            "the load file decoder failed internally",
        )),
    }
}

/// Runs the same checks as `jct cap verify`: a card refuses a load file
/// that any of them fails, naming the first finding (with its location).
fn verify_load_file(cap: &Cap) -> Result<(), String> {
    match cap_tools::verify::verify(cap).first() {
        None => Ok(()),
        Some(finding) => Err(format!("load file fails verification: {finding}")),
    }
}

/// A card runs the CAP formats of its Java Card version: 2.1 and 2.2 up to
/// Java Card 3.0.5, 2.3 (compact or extended) from 3.1.
fn check_format(cap: &Cap, api: ApiVersion) -> Result<(), Fail> {
    let max_minor = if api >= ApiVersion::V3_2_0 { 3 } else { 2 };
    if cap.format.major != 2 || cap.format.minor > max_minor {
        let needs = if cap.format.extended {
            " (Java Card 3.1 or later, with extended CAP file support)"
        } else {
            ""
        };
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "CAP format {} needs a newer Java Card{needs} than this card's {}",
                cap.format,
                api.as_str()
            ),
        ));
    }
    Ok(())
}

fn package_ref(p: &cap_tools::cap::header::PackageInfo) -> PackageRef {
    PackageRef {
        aid: p.aid.as_bytes().to_vec(),
        major: p.major_version,
        minor: p.minor_version,
    }
}

fn imports(cap: &Cap) -> Vec<PackageRef> {
    match cap.component(Tag::Import) {
        Some(Component::Import(i)) => i.packages.iter().map(package_ref).collect(),
        _ => Vec::new(),
    }
}

/// Java Card binary compatibility: an import of version M.m links to a
/// package of the same major version M and a minor version >= m.
fn compatible(have: (u8, u8), need: &PackageRef) -> bool {
    have.0 == need.major && have.1 >= need.minor
}

/// Finds what an import links to: an API package in ROM or a package
/// loaded before. An unresolved import answers 6A88 (referenced data not
/// found): GlobalPlatform leaves linking errors to the runtime, and that
/// is the word for "the package you need is not here".
fn resolve(state: &CardState, api: ApiVersion, need: &PackageRef) -> Result<(), Fail> {
    let aid_hex = hex::encode_upper(&need.aid);
    let wanted = format!("{aid_hex} {}.{}", need.major, need.minor);
    if let Some(p) = api::table(api)
        .packages
        .iter()
        .find(|p| p.aid.eq_ignore_ascii_case(&aid_hex))
    {
        return match p.version_pair() {
            Some(have) if compatible(have, need) => Ok(()),
            _ => Err(fail(
                sw::REF_NOT_FOUND,
                format!(
                    "import {wanted} ({}) does not link: Java Card {} has version {}",
                    p.package,
                    api.as_str(),
                    p.version
                ),
            )),
        };
    }
    let loaded = state
        .packages
        .iter()
        .flat_map(|p| p.exports.iter())
        .find(|e| e.aid == need.aid);
    match loaded {
        Some(e) if compatible((e.major, e.minor), need) => Ok(()),
        Some(e) => Err(fail(
            sw::REF_NOT_FOUND,
            format!(
                "import {wanted} does not link: the card holds version {}.{}",
                e.major, e.minor
            ),
        )),
        None => Err(fail(
            sw::REF_NOT_FOUND,
            format!("import {wanted} does not link: no such package on the card; load it first"),
        )),
    }
}

/// The API packages in ROM, for GET STATUS: (AID, major, minor).
pub fn rom_packages(api: ApiVersion) -> Vec<PackageRef> {
    api::table(api)
        .packages
        .iter()
        .filter_map(|p| {
            let aid = hex::decode(&p.aid).ok()?;
            let (major, minor) = p.version_pair()?;
            Some(PackageRef { aid, major, minor })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_file_structure() {
        let lf = [0xC4, 0x02, 0xAA, 0xBB];
        assert_eq!(load_file_data_block(&lf).unwrap(), &[0xAA, 0xBB]);
        let dap = [0xE2, 0x03, 0x4F, 0x01, 0x01, 0xC4, 0x01, 0x07];
        assert_eq!(load_file_data_block(&dap).unwrap(), &[0x07]);
        for bad in [
            &[0xC4, 0x03, 0xAA, 0xBB][..],
            &[0xC4, 0x01, 0xAA, 0xBB],
            &[],
            &[0xC5, 0x00],
            &[0xC4, 0x00, 0x4F, 0x00],
        ] {
            assert_eq!(
                load_file_data_block(bad).unwrap_err().sw,
                sw::BAD_DATA,
                "{bad:02X?}"
            );
        }
    }

    #[test]
    fn hashes() {
        let block = b"abc";
        assert!(check_hash(&[], block).is_ok());
        assert!(check_hash(&Sha1::digest(block), block).is_ok());
        assert!(check_hash(&Sha256::digest(block), block).is_ok());
        assert!(check_hash(&[0; 20], block).is_err());
        assert!(check_hash(&[0; 7], block).is_err());
    }

    #[test]
    fn versions() {
        let need = PackageRef {
            aid: vec![],
            major: 1,
            minor: 3,
        };
        assert!(compatible((1, 3), &need) && compatible((1, 6), &need));
        assert!(!compatible((1, 2), &need) && !compatible((2, 3), &need));
        assert!(!rom_packages(ApiVersion::V2_2_2).is_empty());
    }
}
