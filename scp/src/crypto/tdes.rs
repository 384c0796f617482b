//! Two-key triple DES and the DES-based MACs of SCP02 and key diversification.

use cipher::generic_array::GenericArray;
use cipher::{BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use des::{Des, TdesEde2};

use super::pad::pad80;
use super::CryptoError;

/// DES block size in bytes.
pub(crate) const BLOCK: usize = 8;

fn key_error(got: usize) -> CryptoError {
    CryptoError::KeyLength {
        algorithm: "3DES",
        expected: "16",
        got,
    }
}

fn check_aligned(data: &[u8]) -> Result<(), CryptoError> {
    match data.len() % BLOCK {
        0 => Ok(()),
        _ => Err(CryptoError::NotBlockAligned {
            algorithm: "3DES",
            block: BLOCK,
            got: data.len(),
        }),
    }
}

fn tdes(key: &[u8]) -> Result<TdesEde2, CryptoError> {
    TdesEde2::new_from_slice(key).map_err(|_| key_error(key.len()))
}

/// The two single-DES halves of a 16-byte key, as the retail MAC uses them.
fn halves(key: &[u8]) -> Result<(&[u8], &[u8]), CryptoError> {
    if key.len() != 16 {
        return Err(key_error(key.len()));
    }
    Ok(key.split_at(8))
}

fn des(half: &[u8]) -> Result<Des, CryptoError> {
    Des::new_from_slice(half).map_err(|_| key_error(half.len()))
}

fn last_block(buf: &[u8]) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    if let Some(tail) = buf.len().checked_sub(BLOCK).and_then(|at| buf.get(at..)) {
        out.copy_from_slice(tail);
    }
    out
}

/// 3DES-ECB encryption in place (used for KCVs, key diversification and
/// SCP02 DEK encryption of key material).
pub(crate) fn ecb_encrypt(key: &[u8], data: &mut [u8]) -> Result<(), CryptoError> {
    check_aligned(data)?;
    let cipher = tdes(key)?;
    for block in data.chunks_exact_mut(BLOCK) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

/// 3DES-ECB decryption in place.
pub(crate) fn ecb_decrypt(key: &[u8], data: &mut [u8]) -> Result<(), CryptoError> {
    check_aligned(data)?;
    let cipher = tdes(key)?;
    for block in data.chunks_exact_mut(BLOCK) {
        cipher.decrypt_block(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

/// 3DES-CBC encryption in place, no padding (the caller pads).
pub(crate) fn cbc_encrypt(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    check_aligned(data)?;
    let mut mode =
        cbc::Encryptor::<TdesEde2>::new_from_slices(key, iv).map_err(|_| key_error(key.len()))?;
    for block in data.chunks_exact_mut(BLOCK) {
        mode.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

/// 3DES-CBC decryption in place, no unpadding (the caller unpads).
pub(crate) fn cbc_decrypt(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &mut [u8],
) -> Result<(), CryptoError> {
    check_aligned(data)?;
    let mut mode =
        cbc::Decryptor::<TdesEde2>::new_from_slices(key, iv).map_err(|_| key_error(key.len()))?;
    for block in data.chunks_exact_mut(BLOCK) {
        mode.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    Ok(())
}

/// "Full triple DES" MAC (ISO 9797-1 MAC algorithm 1 with 3DES and padding
/// method 2): 3DES-CBC over the padded data, the MAC is the last block.
/// SCP02 uses it for the card and host cryptograms.
pub(crate) fn full_mac(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &[u8],
) -> Result<[u8; BLOCK], CryptoError> {
    let mut buf = pad80(data, BLOCK);
    cbc_encrypt(key, iv, &mut buf)?;
    Ok(last_block(&buf))
}

/// "Single DES plus final triple DES" MAC, the retail MAC (ISO 9797-1 MAC
/// algorithm 3, padding method 2): DES-CBC under the left key half over
/// every block, then the last block is decrypted under the right half and
/// encrypted again under the left. SCP02 uses it for C-MAC and R-MAC.
pub(crate) fn retail_mac(
    key: &[u8],
    iv: &[u8; BLOCK],
    data: &[u8],
) -> Result<[u8; BLOCK], CryptoError> {
    let (left, right) = halves(key)?;
    let mut buf = pad80(data, BLOCK);
    let mut mode =
        cbc::Encryptor::<Des>::new_from_slices(left, iv).map_err(|_| key_error(key.len()))?;
    for block in buf.chunks_exact_mut(BLOCK) {
        mode.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let mut last = last_block(&buf);
    des(right)?.decrypt_block(GenericArray::from_mut_slice(&mut last));
    des(left)?.encrypt_block(GenericArray::from_mut_slice(&mut last));
    Ok(last)
}

/// Single-DES encryption of one block under the left half of a 16-byte key:
/// SCP02's "ICV encryption" of the C-MAC chaining value.
pub(crate) fn des_encrypt_block(key: &[u8], block: &mut [u8; BLOCK]) -> Result<(), CryptoError> {
    let (left, _) = halves(key)?;
    des(left)?.encrypt_block(GenericArray::from_mut_slice(block));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn kcv_of_test_key() {
        let mut block = [0u8; 8];
        ecb_encrypt(&h("404142434445464748494A4B4C4D4E4F"), &mut block).unwrap();
        assert_eq!(hex::encode_upper(&block[..3]), "8BAF47");
    }

    #[test]
    fn cbc_round_trip_and_rejects_partial_blocks() {
        let key = h("404142434445464748494A4B4C4D4E4F");
        let mut data = *b"0123456789abcdef";
        cbc_encrypt(&key, &[1; 8], &mut data).unwrap();
        cbc_decrypt(&key, &[1; 8], &mut data).unwrap();
        assert_eq!(&data, b"0123456789abcdef");
        assert!(cbc_encrypt(&key, &[0; 8], &mut [0u8; 7]).is_err());
        assert!(cbc_decrypt(&key, &[0; 8], &mut [0u8; 9]).is_err());
        assert!(cbc_encrypt(&key[..15], &[0; 8], &mut [0u8; 8]).is_err());
        assert!(retail_mac(&key[..8], &[0; 8], b"").is_err());
    }

    #[test]
    fn retail_mac_with_equal_halves_is_single_des_cbc_mac() {
        // With K1 == K2 the final decrypt/encrypt cancels out, so the retail
        // MAC degenerates to a DES CBC-MAC, which equals 3DES CBC-MAC too.
        let key = h("0102030405060708".repeat(2).as_str());
        let data = b"some data to mac";
        assert_eq!(
            retail_mac(&key, &[0; 8], data).unwrap(),
            full_mac(&key, &[0; 8], data).unwrap()
        );
    }
}
