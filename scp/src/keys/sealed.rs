//! New keys for PUT KEY, sealed: each key already encrypted under the key
//! that protects key data in the session, with its key check value.
//!
//! Whoever seals the keys — the loader from a [`super::StaticKeys`] in
//! memory, or an HSM that derives and wraps them without ever showing them
//! — hands over a [`SealedKeySet`], and one function lays out the data field
//! of PUT KEY and the answer the card must give. The layout therefore exists
//! once.

use std::fmt;
use std::sync::Arc;

use super::{Key, KeyContext, KeyProvider, KeyType};
use crate::ScpError;

/// One new key, encrypted for PUT KEY.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// The algorithm of the key.
    pub kind: KeyType,
    /// The length of the clear key in bytes (AES keys are zero-padded to
    /// whole blocks before encryption; the card needs the real length).
    pub len: usize,
    /// The key encrypted under the session's key-data protection key.
    pub encrypted: Vec<u8>,
    /// Its key check value.
    pub kcv: [u8; 3],
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ciphertext is no secret, but it is noise in a log.
        f.debug_struct("SealedKey")
            .field("kind", &self.kind)
            .field("len", &self.len)
            .field("kcv", &hex::encode_upper(self.kcv))
            .finish_non_exhaustive()
    }
}

/// A new key set (ENC, MAC, DEK, as key ids 1, 2, 3) sealed for PUT KEY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKeySet {
    /// The key version number the set is stored under.
    pub version: u8,
    /// ENC, MAC and DEK.
    pub keys: [SealedKey; 3],
}

impl SealedKeySet {
    /// The data field of PUT KEY and the answer the card should give (the
    /// version and the three KCVs), GlobalPlatform Card Specification
    /// 11.8.2.3: per key its type ('80' 3DES, '88' AES), the length of the
    /// key data, for AES the clear key length, the encrypted key, and a
    /// 3-byte KCV.
    pub fn put_key_data(&self) -> Result<(Vec<u8>, Vec<u8>), ScpError> {
        let mut data = vec![self.version];
        let mut expected = vec![self.version];
        let len_byte = |n: usize| {
            u8::try_from(n)
                .map_err(|_| ScpError::Unsupported(format!("PUT KEY: a {n}-byte key block")))
        };
        for key in &self.keys {
            match key.kind {
                KeyType::Des3 => {
                    data.push(0x80);
                    data.push(len_byte(key.encrypted.len())?);
                }
                KeyType::Aes => {
                    data.push(0x88);
                    data.push(len_byte(key.encrypted.len() + 1)?);
                    data.push(len_byte(key.len)?);
                }
            }
            data.extend_from_slice(&key.encrypted);
            data.push(0x03);
            data.extend_from_slice(&key.kcv);
            expected.extend_from_slice(&key.kcv);
        }
        Ok((data, expected))
    }
}

/// What protects key data (PUT KEY) in an open session.
pub enum KeyProtection<'a> {
    /// The session's own data key: SCP02's DEK session key (3DES-ECB) or
    /// SCP11's S-DEK (AES-CBC, zero ICV). It lives in the process, as all
    /// session keys do.
    SessionKey(&'a Key),
    /// SCP03: the static Key-DEK (AES-CBC, zero ICV), which stays with the
    /// provider that opened the session.
    StaticDek {
        /// The holder of the static keys.
        provider: &'a Arc<dyn KeyProvider>,
        /// The key set of the session.
        key: &'a KeyContext,
    },
}

impl fmt::Debug for KeyProtection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProtection::SessionKey(key) => f.debug_tuple("SessionKey").field(key).finish(),
            KeyProtection::StaticDek { provider, key } => f
                .debug_struct("StaticDek")
                .field("key_version", &provider.key_version())
                .field("key", key)
                .finish(),
        }
    }
}

/// A holder of new keys that seals them for PUT KEY itself, so that the
/// clear keys never reach the caller (an HSM deriving them from a master
/// key inside it). Software keys in memory need no such holder: the loader
/// seals them with the session directly.
pub trait KeySetSealer: Send + Sync {
    /// The card's new key set, diversified for the card's key
    /// diversification data `kdd` where the holder diversifies, encrypted
    /// under `protection`.
    fn seal(&self, kdd: &[u8; 10], protection: KeyProtection<'_>)
        -> Result<SealedKeySet, ScpError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: KeyType, len: usize, fill: u8) -> SealedKey {
        SealedKey {
            kind,
            len,
            encrypted: vec![fill; len.div_ceil(16) * 16],
            kcv: [fill; 3],
        }
    }

    #[test]
    fn layout_of_a_3des_and_an_aes_set() {
        let des = SealedKeySet {
            version: 0x30,
            keys: [1, 2, 3].map(|b| key(KeyType::Des3, 16, b)),
        };
        let (data, expected) = des.put_key_data().unwrap();
        assert_eq!(data.len(), 1 + 3 * (2 + 16 + 4));
        assert_eq!(&data[..4], &[0x30, 0x80, 0x10, 0x01]);
        assert_eq!(&data[19..23], &[0x03, 1, 1, 1]);
        assert_eq!(expected, [0x30, 1, 1, 1, 2, 2, 2, 3, 3, 3]);

        let aes = SealedKeySet {
            version: 2,
            keys: [1, 2, 3].map(|b| key(KeyType::Aes, 24, b)),
        };
        let (data, _) = aes.put_key_data().unwrap();
        assert_eq!(&data[..5], &[0x02, 0x88, 33, 24, 0x01]);
        assert_eq!(data.len(), 1 + 3 * (3 + 32 + 4));
    }

    #[test]
    fn debug_shows_no_ciphertext() {
        let shown = format!("{:?}", key(KeyType::Aes, 16, 0xAB));
        assert!(
            shown.contains("ABABAB") && !shown.contains("171"),
            "{shown}"
        );
    }
}
