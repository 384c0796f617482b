//! The SCP11 key schedule (GP Amendment F, "Key Derivation"): the two ECKA
//! shared secrets, ShSee (ephemeral-ephemeral) and ShSes (static-ephemeral
//! or static-static), go through the ANSI X9.63 KDF with SHA-256 and the
//! shared info `key usage || key type || key length` (3C 88 10), giving
//! five AES-128 keys in order: the receipt key, S-ENC, S-MAC, S-RMAC and
//! S-DEK. The receipt, an AES-CMAC under the receipt key over the key
//! agreement data, proves the card derived the same keys and becomes the
//! first MAC chaining value of the SCP03 secure messaging that follows.
//!
//! X9.63 is a construction over a hash, not a primitive: its loop is here,
//! the hash is `sha2`'s.

use p256::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto::aes;
use crate::keys::Key;
use crate::scp03::SessionKeys;
use crate::ScpError;

/// Key usage qualifier in the control reference template: C-MAC, R-MAC,
/// C-ENC and R-ENC (3C).
pub const KEY_USAGE: u8 = 0x3C;
/// Key type: AES (88).
pub const KEY_TYPE_AES: u8 = 0x88;
/// Session key length: 16 bytes (AES-128).
pub const KEY_LEN: u8 = 0x10;

/// ANSI X9.63 KDF with SHA-256: `Hash(Z || counter || shared_info)` for
/// counter 1, 2, ... (32-bit big endian), concatenated and cut to `len`.
pub fn x963_sha256(z: &[u8], shared_info: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(z);
        h.update(counter.to_be_bytes());
        h.update(shared_info);
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// ECKA (EC Diffie-Hellman) on P-256: the x coordinate of the shared point.
pub fn ecka(secret: &SecretKey, public: &PublicKey) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(secret.diffie_hellman(public).raw_secret_bytes().to_vec())
}

/// The five keys of one SCP11 session.
pub struct Scp11Keys {
    receipt: Key,
    /// S-ENC, S-MAC, S-RMAC.
    pub(crate) session: SessionKeys,
    /// S-DEK: protects key data (PUT KEY) in the session.
    pub(crate) dek: Key,
}

impl Scp11Keys {
    /// Derives the keys from `ShSee || ShSes`.
    pub fn derive(sh_see: &[u8], sh_ses: &[u8]) -> Result<Self, ScpError> {
        let z = Zeroizing::new([sh_see, sh_ses].concat());
        let out = x963_sha256(&z, &[KEY_USAGE, KEY_TYPE_AES, KEY_LEN], 5 * 16);
        let key = |n: usize| Key::aes(&out[n * 16..(n + 1) * 16]);
        Ok(Scp11Keys {
            receipt: key(0)?,
            session: SessionKeys::from_keys(key(1)?, key(2)?, key(3)?)?,
            dek: key(4)?,
        })
    }

    /// The receipt over the key agreement data: the authenticate command's
    /// data (control reference template and ePK.OCE) followed by the
    /// card's 5F49 ePK.SD data object.
    pub fn receipt(&self, command_data: &[u8], epk_sd_tlv: &[u8]) -> Result<[u8; 16], ScpError> {
        Ok(aes::cmac(
            self.receipt.expose_secret(),
            &[command_data, epk_sd_tlv],
        )?)
    }

    /// The session keys, for tests and vectors.
    pub fn session(&self) -> &SessionKeys {
        &self.session
    }

    /// S-DEK, for tests and vectors.
    pub fn dek(&self) -> &Key {
        &self.dek
    }

    /// The receipt key, for tests and vectors.
    pub fn receipt_key(&self) -> &Key {
        &self.receipt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NIST CAVS 12.0 "ansx963_2001.rsp", SHA-256, shared secret length
    /// 192, shared info length 0, key data length 128, COUNT = 0.
    #[test]
    fn x963_cavs_no_shared_info() {
        let z = hex::decode("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08").unwrap();
        let k = x963_sha256(&z, &[], 16);
        assert_eq!(hex::encode(&*k), "443024c3dae66b95e6f5670601558f71");
    }

    /// The same file, SHA-256, shared secret length 192, shared info
    /// length 128, key data length 1024, COUNT = 0.
    #[test]
    fn x963_cavs_with_shared_info() {
        let z = hex::decode("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d").unwrap();
        let info = hex::decode("75eef81aa3041e33b80971203d2c0c52").unwrap();
        let k = x963_sha256(&z, &info, 128);
        assert_eq!(
            hex::encode(&*k),
            "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21"
        );
    }
}
