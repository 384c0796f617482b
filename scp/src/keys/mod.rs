//! Static card keys: the ENC/MAC/DEK key set a security domain holds, their
//! check values, and diversification from a master key.
//!
//! Key bytes live only inside [`Key`], which zeroizes them on drop, compares
//! them in constant time and never prints them: `Debug` shows the algorithm
//! and the key check value, which GlobalPlatform itself sends in clear.

mod diversify;
mod provider;
mod sealed;

pub use diversify::{DerivationInput, Diversification, KEY_TYPES};
pub use provider::{Cryptograms, KeyContext, KeyProvider, SoftwareKeys};
pub use sealed::{KeyProtection, KeySetSealer, SealedKey, SealedKeySet};

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::crypto::{aes, tdes, CryptoError};

/// The algorithm a key is for. SCP02 runs on two-key 3DES, SCP03 on AES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Two-key triple DES (16 bytes, parity bits ignored).
    Des3,
    /// AES-128, AES-192 or AES-256 (16, 24 or 32 bytes).
    Aes,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Des3 => "3DES",
            KeyType::Aes => "AES",
        })
    }
}

/// Why a key could not be built or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The byte length does not fit the key type.
    #[error("a {kind} key must be {expected} bytes long, got {got}")]
    Length {
        kind: KeyType,
        expected: &'static str,
        got: usize,
    },
    /// ENC, MAC and DEK of one key set must be of one algorithm.
    #[error("key set mixes {0} and {1} keys")]
    MixedTypes(KeyType, KeyType),
    /// Diversification method and master key type do not go together.
    #[error("{method} diversification needs {needs} master keys, got {got}")]
    DiversificationKeyType {
        method: &'static str,
        needs: KeyType,
        got: KeyType,
    },
    /// A primitive rejected the key (should not happen for a valid [`Key`]).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A secret symmetric key.
///
/// Stored in a fixed buffer so no reallocation leaves copies behind; wiped
/// on drop; `==` is constant-time.
#[derive(Clone)]
pub struct Key {
    kind: KeyType,
    len: usize,
    bytes: [u8; 32],
}

impl Key {
    /// A two-key 3DES key (16 bytes).
    pub fn des3(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 16 {
            return Err(KeyError::Length {
                kind: KeyType::Des3,
                expected: "16",
                got: bytes.len(),
            });
        }
        Ok(Self::from_parts(KeyType::Des3, bytes))
    }

    /// An AES key (16, 24 or 32 bytes).
    pub fn aes(bytes: &[u8]) -> Result<Self, KeyError> {
        if !matches!(bytes.len(), 16 | 24 | 32) {
            return Err(KeyError::Length {
                kind: KeyType::Aes,
                expected: "16, 24 or 32",
                got: bytes.len(),
            });
        }
        Ok(Self::from_parts(KeyType::Aes, bytes))
    }

    /// A key of the given type.
    pub fn new(kind: KeyType, bytes: &[u8]) -> Result<Self, KeyError> {
        match kind {
            KeyType::Des3 => Self::des3(bytes),
            KeyType::Aes => Self::aes(bytes),
        }
    }

    fn from_parts(kind: KeyType, src: &[u8]) -> Self {
        let mut bytes = [0u8; 32];
        let len = src.len().min(32);
        bytes[..len].copy_from_slice(&src[..len]);
        Key { kind, len, bytes }
    }

    /// The algorithm this key is for.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// Key length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a key has at least 16 bytes. (Present for clippy's sake.)
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw key bytes. Named loudly so that every use is deliberate:
    /// only cryptographic code and PUT KEY should need them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The GlobalPlatform key check value: the first three bytes of the
    /// encryption of eight '00' bytes (3DES-ECB) or sixteen '01' bytes
    /// (AES), the latter as GP Card Specification 2.3 defines for AES keys.
    pub fn kcv(&self) -> [u8; 3] {
        let mut out = [0u8; 3];
        // A constructed Key always has a valid length, so these cannot fail;
        // a failure would yield the all-zero KCV rather than a panic.
        match self.kind {
            KeyType::Des3 => {
                let mut block = [0u8; tdes::BLOCK];
                if tdes::ecb_encrypt(self.expose_secret(), &mut block).is_ok() {
                    out.copy_from_slice(&block[..3]);
                }
            }
            KeyType::Aes => {
                let mut block = [0x01u8; aes::BLOCK];
                if aes::encrypt_block(self.expose_secret(), &mut block).is_ok() {
                    out.copy_from_slice(&block[..3]);
                }
            }
        }
        out
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.len == other.len
            && bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.len * 8;
        match self.kind {
            KeyType::Des3 => write!(f, "Key(3DES-{bits}, KCV ")?,
            KeyType::Aes => write!(f, "Key(AES-{bits}, KCV ")?,
        }
        write!(f, "{}, <redacted>)", hex::encode_upper(self.kcv()))
    }
}

/// The static key set of a security domain: the keys the secure channel
/// session keys are derived from, and the key version number (KVN) under
/// which the card stores them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StaticKeys {
    /// Secure channel encryption key (Key-ENC).
    pub enc: Key,
    /// Secure channel MAC key (Key-MAC).
    pub mac: Key,
    /// Data encryption key (Key-DEK), protects keys sent by PUT KEY.
    pub dek: Key,
    /// Key version number; 0 asks the card for its default key set.
    pub version: u8,
}

impl StaticKeys {
    /// A key set from three keys of one type.
    pub fn new(enc: Key, mac: Key, dek: Key, version: u8) -> Result<Self, KeyError> {
        for other in [&mac, &dek] {
            if other.kind != enc.kind {
                return Err(KeyError::MixedTypes(enc.kind, other.kind));
            }
        }
        Ok(StaticKeys {
            enc,
            mac,
            dek,
            version,
        })
    }

    /// A key set of `kind` from raw bytes, each key checked for its length.
    pub fn from_bytes(
        kind: KeyType,
        enc: &[u8],
        mac: &[u8],
        dek: &[u8],
        version: u8,
    ) -> Result<Self, KeyError> {
        StaticKeys::new(
            Key::new(kind, enc)?,
            Key::new(kind, mac)?,
            Key::new(kind, dek)?,
            version,
        )
    }

    /// A key set whose three keys are equal, as on development cards
    /// (for instance the well-known 404142…4F test key).
    pub fn single(key: Key, version: u8) -> Self {
        StaticKeys {
            enc: key.clone(),
            mac: key.clone(),
            dek: key,
            version,
        }
    }

    /// The algorithm of the set.
    pub fn kind(&self) -> KeyType {
        self.enc.kind
    }

    /// The card's keys for this master key set, given the key diversification
    /// data (the first 10 bytes of the INITIALIZE UPDATE response).
    pub fn diversify(&self, method: Diversification, kdd: &[u8; 10]) -> Result<Self, KeyError> {
        method.apply(self, kdd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = "404142434445464748494A4B4C4D4E4F";

    #[test]
    fn kcvs_of_the_test_key() {
        let k = hex::decode(TEST_KEY).unwrap();
        assert_eq!(Key::des3(&k).unwrap().kcv(), [0x8B, 0xAF, 0x47]);
        assert_eq!(Key::aes(&k).unwrap().kcv(), [0x50, 0x4A, 0x77]);
    }

    #[test]
    fn debug_redacts() {
        let k = Key::aes(&hex::decode(TEST_KEY).unwrap()).unwrap();
        let shown = format!("{:?}", StaticKeys::single(k, 1));
        assert!(shown.contains("AES-128") && shown.contains("504A77"));
        assert!(!shown.to_uppercase().contains("404142"));
        assert!(!shown.contains("64, 65, 66"));
    }

    #[test]
    fn lengths_and_types_are_checked() {
        assert!(Key::des3(&[0; 24]).is_err());
        assert!(Key::aes(&[0; 20]).is_err());
        assert!(Key::aes(&[0; 32]).is_ok());
        let d = Key::des3(&[1; 16]).unwrap();
        let a = Key::aes(&[1; 16]).unwrap();
        assert_ne!(d, a);
        assert!(StaticKeys::new(d.clone(), a, d, 0).is_err());
    }
}
