//! The Load File Data Block: the bytes GlobalPlatform LOAD commands carry.
//!
//! Components go in the order the JCVM specification (6.3) and GlobalPlatform
//! require: Header, Directory, Import, Applet, Class, Method, StaticField,
//! Export, ConstantPool, RefLocation, then Static Resources, and the Descriptor
//! only when asked for. The Debug component and custom components are never
//! loaded.

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::cap::container::load_order;
use crate::cap::Cap;
use crate::error::Result;

/// A load file data block with its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile {
    /// The concatenated components (without the C4 tag).
    pub bytes: Vec<u8>,
}

/// Size and hashes of a load file, as `jct cap info` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadFileDigest {
    pub size: usize,
    pub sha1: String,
    pub sha256: String,
}

impl LoadFile {
    /// Builds the load file of a CAP from its components, re-encoded from the model.
    pub fn build(cap: &Cap, with_descriptor: bool) -> Result<LoadFile> {
        let ctx = cap.context();
        let mut ordered: Vec<(usize, &crate::cap::Component)> = cap
            .components
            .iter()
            .filter_map(|c| load_order(c.tag_byte(), with_descriptor).map(|pos| (pos, c)))
            .collect();
        ordered.sort_by_key(|(pos, _)| *pos);
        let mut bytes = Vec::new();
        for (_, c) in ordered {
            bytes.extend_from_slice(&c.encode(&ctx)?);
        }
        Ok(LoadFile { bytes })
    }

    /// SHA-1 and SHA-256 (hex) and size.
    pub fn digest(&self) -> LoadFileDigest {
        LoadFileDigest {
            size: self.bytes.len(),
            sha1: hex::encode(Sha1::digest(&self.bytes)),
            sha256: hex::encode(Sha256::digest(&self.bytes)),
        }
    }

    /// The block wrapped as GlobalPlatform sends it: tag C4 and a BER length.
    pub fn with_c4_tag(&self) -> Vec<u8> {
        let n = self.bytes.len();
        let mut out = Vec::with_capacity(n + 5);
        out.push(0xC4);
        // BER length: below 0x80 in one byte, else 0x80 + the count of the
        // big-endian bytes that follow (no leading zeros).
        let be = u64::try_from(n).unwrap_or(u64::MAX).to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        match u8::try_from(n) {
            Ok(short) if short < 0x80 => out.push(short),
            _ => {
                let long = &be[skip..];
                // At most 8 bytes follow.
                out.extend(u8::try_from(long.len()).ok().map(|k| 0x80 | k));
                out.extend_from_slice(long);
            }
        }
        out.extend_from_slice(&self.bytes);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c4_lengths_use_ber() {
        for (n, head) in [
            (3usize, vec![0xC4, 3]),
            (200, vec![0xC4, 0x81, 200]),
            (300, vec![0xC4, 0x82, 1, 44]),
            (0x1_0000, vec![0xC4, 0x83, 1, 0, 0]),
            // Beyond three length bytes (once truncated to the low 24 bits).
            (0x100_0001, vec![0xC4, 0x84, 1, 0, 0, 1]),
        ] {
            let lf = LoadFile { bytes: vec![0; n] };
            let w = lf.with_c4_tag();
            assert_eq!(&w[..head.len()], &head[..]);
            assert_eq!(w.len(), n + head.len());
        }
    }
}
