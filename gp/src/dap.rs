//! DAP blocks (GP 2.3.1 sections 9.2.1 and 11.6.2.3): the Data
//! Authentication Pattern a security domain checks before it accepts a load
//! file. The LOAD data is the Load File: zero or more DAP blocks
//! `E2 { 4F <security domain AID> C3 <Load File Data Block signature> }`,
//! then `C4 <Load File Data Block>`. The signature is computed over the Load
//! File Data Block Hash, the value INSTALL [for load] carries (the
//! cryptography is the `scp` crate's: this crate holds no keys).

use crate::tlv::{Tlv, TlvError};

/// Tag of a DAP block.
pub const TAG_DAP_BLOCK: u8 = 0xE2;
/// Tag of the security domain AID inside a DAP block.
pub const TAG_SD_AID: u8 = 0x4F;
/// Tag of the Load File Data Block signature inside a DAP block.
pub const TAG_SIGNATURE: u8 = 0xC3;
/// Tag of the Load File Data Block.
pub const TAG_LOAD_FILE_DATA_BLOCK: u8 = 0xC4;

/// One DAP block: which security domain it is for, and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DapBlock {
    pub security_domain: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Why a DAP block is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DAP block: {0}")]
pub struct DapBlockError(pub String);

impl From<TlvError> for DapBlockError {
    fn from(e: TlvError) -> Self {
        DapBlockError(e.to_string())
    }
}

impl DapBlock {
    /// The encoded block, `E2 L 4F L AID C3 L signature`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DapBlockError> {
        if !(5..=16).contains(&self.security_domain.len()) {
            return Err(DapBlockError(format!(
                "a security domain AID has 5 to 16 bytes, this one {}",
                self.security_domain.len()
            )));
        }
        if self.signature.is_empty() {
            return Err(DapBlockError("the signature is empty".into()));
        }
        Ok(Tlv::constructed(
            u32::from(TAG_DAP_BLOCK),
            vec![
                Tlv::primitive(u32::from(TAG_SD_AID), self.security_domain.clone()),
                Tlv::primitive(u32::from(TAG_SIGNATURE), self.signature.clone()),
            ],
        )
        .to_bytes()?)
    }

    /// Reads one parsed E2 object; both inner tags are mandatory.
    pub fn from_tlv(tlv: &Tlv) -> Result<DapBlock, DapBlockError> {
        if tlv.tag().to_bytes() != [TAG_DAP_BLOCK] {
            return Err(DapBlockError(format!(
                "tag {} where E2 was expected",
                tlv.tag()
            )));
        }
        let field = |tag: u8, what: &str| {
            tlv.find(u32::from(tag))
                .and_then(Tlv::bytes)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| DapBlockError(format!("no {what} (tag {tag:02X}) in E2")))
        };
        Ok(DapBlock {
            security_domain: field(TAG_SD_AID, "security domain AID")?,
            signature: field(TAG_SIGNATURE, "Load File Data Block signature")?,
        })
    }
}

/// The Load File as sent in LOAD: the DAP blocks, then the C4 object.
pub fn load_file(daps: &[DapBlock], c4_block: &[u8]) -> Result<Vec<u8>, DapBlockError> {
    let mut out = Vec::new();
    for d in daps {
        out.extend_from_slice(&d.to_bytes()?);
    }
    out.extend_from_slice(c4_block);
    Ok(out)
}

/// The algorithm of the Load File Data Block Hash, told by its length (GP
/// 2.3.1 11.5.2.3.1 / C.2: SHA-1, or SHA-256 and longer on newer cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
}

impl HashAlgorithm {
    /// The algorithm of a hash of `len` bytes.
    pub fn of_len(len: usize) -> Option<HashAlgorithm> {
        match len {
            20 => Some(HashAlgorithm::Sha1),
            32 => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
        }
    }
}

/// A signed load file's DAP, as `jct dap sign` writes it and `jct load
/// --dap` reads it: JSON with the hash and the signature in hex, so the DAP
/// can be made where the key is and shipped to where the card is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DapFile {
    /// Always [`DapFile::FORMAT`].
    pub format: String,
    pub version: u32,
    /// The load file (package) AID the DAP was made for.
    pub load_file: String,
    /// The security domain whose DAP key signed it.
    pub security_domain: String,
    /// `des`, `aes`, `rsa` or `ecc`.
    #[serde(rename = "type")]
    pub dap_type: String,
    pub hash_algorithm: HashAlgorithm,
    /// The Load File Data Block Hash that was signed.
    pub hash: String,
    /// The Load File Data Block signature (the value of C3).
    pub signature: String,
}

impl DapFile {
    pub const FORMAT: &'static str = "jct-dap";

    /// Reads a DAP file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<DapFile, DapBlockError> {
        let f: DapFile = serde_json::from_str(text)
            .map_err(|e| DapBlockError(format!("{source} is not a jct DAP file: {e}")))?;
        if f.format != Self::FORMAT || f.version != 1 {
            return Err(DapBlockError(format!(
                "{source}: format {:?} version {}; {:?} version 1 expected",
                f.format,
                f.version,
                Self::FORMAT
            )));
        }
        let hash = f.hash_bytes(source)?;
        if HashAlgorithm::of_len(hash.len()) != Some(f.hash_algorithm) {
            return Err(DapBlockError(format!(
                "{source}: a {} hash of {} bytes",
                f.hash_algorithm.name(),
                hash.len()
            )));
        }
        f.block(source)?.to_bytes()?;
        Ok(f)
    }

    fn field(value: &str, what: &str, source: &str) -> Result<Vec<u8>, DapBlockError> {
        hex::decode(value).map_err(|e| DapBlockError(format!("{source}: {what} is not hex: {e}")))
    }

    /// The Load File Data Block Hash.
    pub fn hash_bytes(&self, source: &str) -> Result<Vec<u8>, DapBlockError> {
        Self::field(&self.hash, "hash", source)
    }

    /// The load file AID.
    pub fn load_file_aid(&self, source: &str) -> Result<Vec<u8>, DapBlockError> {
        Self::field(&self.load_file, "load_file", source)
    }

    /// The DAP block to send before C4.
    pub fn block(&self, source: &str) -> Result<DapBlock, DapBlockError> {
        Ok(DapBlock {
            security_domain: Self::field(&self.security_domain, "security_domain", source)?,
            signature: Self::field(&self.signature, "signature", source)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_encodes_and_parses() {
        let b = DapBlock {
            security_domain: hex::decode("A000000151000000").unwrap(),
            signature: vec![0x11; 8],
        };
        let bytes = b.to_bytes().unwrap();
        assert_eq!(
            hex::encode_upper(&bytes),
            "E2144F08A000000151000000C3081111111111111111"
        );
        let tlv = Tlv::parse(&bytes).unwrap();
        assert_eq!(DapBlock::from_tlv(&tlv).unwrap(), b);
        let no_sig = Tlv::parse(&hex::decode("E20A4F08A000000151000000").unwrap()).unwrap();
        assert!(DapBlock::from_tlv(&no_sig).unwrap_err().0.contains("C3"));
        assert!(DapBlock {
            security_domain: vec![1, 2],
            signature: vec![1]
        }
        .to_bytes()
        .is_err());
    }

    #[test]
    fn load_file_puts_daps_first() {
        let b = DapBlock {
            security_domain: vec![0xA0, 0, 0, 0, 0x03],
            signature: vec![0xAB],
        };
        let lf = load_file(&[b], &[0xC4, 0x01, 0x00]).unwrap();
        assert_eq!(hex::encode_upper(lf), "E20A4F05A000000003C301ABC40100");
    }
}
