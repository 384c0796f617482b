//! The SCP03 key derivation function: NIST SP 800-108 KDF in counter mode
//! with AES-CMAC as the PRF, laid out as GlobalPlatform Amendment D fixes it.
//!
//! Derivation data for iteration `i` (1-based) is
//! `label (11 x '00') || constant || '00' || L (2 bytes, bits) || i || context`.
//! SCP03 derives session keys, cryptograms and pseudo-random card challenges
//! with it; "KDF3" key diversification reuses it with the key diversification
//! data as context.

use super::aes::{cmac, BLOCK};
use super::CryptoError;

/// The derivation data of each iteration for `constant`, `context` and
/// `out_len` bytes of output: one AES-CMAC input per 16 output bytes. An
/// HSM runs the same CMACs with the key inside it, so the layout lives here
/// once.
pub(crate) fn derivation_data(
    constant: u8,
    context: &[u8],
    out_len: usize,
) -> Result<Vec<Vec<u8>>, CryptoError> {
    let bits = out_len
        .checked_mul(8)
        .and_then(|b| u16::try_from(b).ok())
        .filter(|_| out_len > 0)
        .ok_or(CryptoError::KdfLength(out_len))?;
    let blocks = out_len.div_ceil(BLOCK);
    let mut prefix = [0u8; 16];
    prefix[11] = constant;
    prefix[13..15].copy_from_slice(&bits.to_be_bytes());
    (1..=blocks)
        .map(|i| {
            prefix[15] = u8::try_from(i).map_err(|_| CryptoError::KdfLength(out_len))?;
            Ok([&prefix[..], context].concat())
        })
        .collect()
}

/// Derives `out_len` bytes from `key` for `constant` and `context`.
pub(crate) fn derive(
    key: &[u8],
    constant: u8,
    context: &[u8],
    out_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(out_len.div_ceil(BLOCK) * BLOCK);
    for data in derivation_data(constant, context, out_len)? {
        out.extend_from_slice(&cmac(key, &[&data])?);
    }
    out.truncate(out_len);
    Ok(out)
}

/// The "KDF3" key diversification PRF layout: AES-CMAC counter mode over
/// `i || '000000' || key type || '00' || key diversification data`
/// (no length field), with key type 01 = ENC, 02 = MAC, 03 = DEK.
/// Iterates the counter for 192- and 256-bit master keys.
pub(crate) fn derive_kdf3(
    key: &[u8],
    key_type: u8,
    kdd: &[u8],
    out_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(out_len.div_ceil(BLOCK) * BLOCK);
    for data in kdf3_derivation_data(key_type, kdd, out_len)? {
        out.extend_from_slice(&cmac(key, &[&data])?);
    }
    out.truncate(out_len);
    Ok(out)
}

/// The CMAC inputs of [`derive_kdf3`], one per 16 output bytes.
pub(crate) fn kdf3_derivation_data(
    key_type: u8,
    kdd: &[u8],
    out_len: usize,
) -> Result<Vec<Vec<u8>>, CryptoError> {
    if out_len == 0 || out_len > 255 * BLOCK {
        return Err(CryptoError::KdfLength(out_len));
    }
    let mut prefix = [0u8; 6];
    prefix[4] = key_type;
    (1..=out_len.div_ceil(BLOCK))
        .map(|i| {
            prefix[0] = u8::try_from(i).map_err(|_| CryptoError::KdfLength(out_len))?;
            Ok([&prefix[..], kdd].concat())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blaufish_vector() {
        let out = derive(&[0; 16], 0x01, &[0; 16], 32).unwrap();
        assert_eq!(
            hex::encode_upper(out),
            "329C873894717F6D545C755D175AE7ECDAB085DE2592FC3B9218A7FD77005E31"
        );
    }

    #[test]
    fn rejects_silly_lengths() {
        assert!(derive(&[0; 16], 0, &[], 0).is_err());
        assert!(derive(&[0; 16], 0, &[], 8192).is_err());
        assert!(derive(&[0; 3], 0, &[], 16).is_err());
    }
}
