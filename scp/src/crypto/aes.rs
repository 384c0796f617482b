//! AES-128/192/256: ECB of a single block, CBC, and CMAC, as SCP03 uses them.
//!
//! SCP03 keys may be any of the three AES sizes, so every entry point takes
//! the key as bytes and picks the cipher by length.

use aes::{Aes128, Aes192, Aes256};
use cipher::generic_array::GenericArray;
use cipher::{BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use cmac::{Cmac, Mac};

use super::CryptoError;

/// AES block size in bytes.
pub(crate) const BLOCK: usize = 16;

fn key_error(got: usize) -> CryptoError {
    CryptoError::KeyLength {
        algorithm: "AES",
        expected: "16, 24 or 32",
        got,
    }
}

fn check_aligned(data: &[u8]) -> Result<(), CryptoError> {
    match data.len() % BLOCK {
        0 => Ok(()),
        _ => Err(CryptoError::NotBlockAligned {
            algorithm: "AES",
            block: BLOCK,
            got: data.len(),
        }),
    }
}

/// Runs `$body` with `$c` bound to the AES type matching the key length.
macro_rules! with_aes {
    ($key:expr, $c:ident => $body:expr) => {
        match $key.len() {
            16 => {
                type $c = Aes128;
                $body
            }
            24 => {
                type $c = Aes192;
                $body
            }
            32 => {
                type $c = Aes256;
                $body
            }
            n => Err(key_error(n)),
        }
    };
}

/// AES-CMAC (NIST SP 800-38B) over the concatenation of `parts`.
///
/// Taking the message in parts lets SCP03 MAC "chaining value || APDU"
/// without first copying both into one buffer.
pub(crate) fn cmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; BLOCK], CryptoError> {
    with_aes!(key, C => {
        let mut mac = <Cmac<C> as Mac>::new_from_slice(key).map_err(|_| key_error(key.len()))?;
        for part in parts {
            mac.update(part);
        }
        let mut out = [0u8; BLOCK];
        out.copy_from_slice(&mac.finalize().into_bytes());
        Ok(out)
    })
}

/// AES encryption of a single block (ECB): KCVs and SCP03 encryption ICVs.
pub(crate) fn encrypt_block(key: &[u8], block: &mut [u8; BLOCK]) -> Result<(), CryptoError> {
    with_aes!(key, C => {
        let cipher = C::new_from_slice(key).map_err(|_| key_error(key.len()))?;
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
        Ok(())
    })
}

/// AES-CBC encryption in place, no padding (the caller pads).
pub(crate) fn cbc_encrypt(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    check_aligned(data)?;
    with_aes!(key, C => {
        let mut mode = cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|_| key_error(key.len()))?;
        for block in data.chunks_exact_mut(BLOCK) {
            mode.encrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        Ok(())
    })
}

/// AES-CBC decryption in place, no unpadding (the caller unpads).
pub(crate) fn cbc_decrypt(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    check_aligned(data)?;
    with_aes!(key, C => {
        let mut mode = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| key_error(key.len()))?;
        for block in data.chunks_exact_mut(BLOCK) {
            mode.decrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn cmac_nist_sp800_38b_example() {
        let mac = cmac(
            &h("2B7E151628AED2A6ABF7158809CF4F3C"),
            &[&h("6BC1BEE22E409F96"), &h("E93D7E117393172A")],
        )
        .unwrap();
        assert_eq!(hex::encode_upper(mac), "070A16B46B4D4144F79BDD9DD04A287C");
    }

    #[test]
    fn kcv_of_test_key() {
        let mut block = [0x01u8; BLOCK];
        encrypt_block(&h("404142434445464748494A4B4C4D4E4F"), &mut block).unwrap();
        assert_eq!(hex::encode_upper(&block[..3]), "504A77");
    }

    #[test]
    fn all_key_sizes_and_bad_lengths() {
        for len in [16, 24, 32] {
            let key = vec![7u8; len];
            let mut data = [3u8; 32];
            cbc_encrypt(&key, &[9; 16], &mut data).unwrap();
            cbc_decrypt(&key, &[9; 16], &mut data).unwrap();
            assert_eq!(data, [3u8; 32]);
            assert!(cmac(&key, &[b"x"]).is_ok());
        }
        assert!(cmac(&[0; 15], &[]).is_err());
        assert!(cbc_encrypt(&[0; 16], &[0; 16], &mut [0; 15]).is_err());
        assert!(encrypt_block(&[0; 8], &mut [0; 16]).is_err());
    }
}
