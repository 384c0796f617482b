//! Block cipher engines on RustCrypto (aes, des, cbc; triple DES on OpenSSL
//! with the `openssl` feature): ECB and CBC over
//! whole blocks in place, with the chaining value handed back so that a
//! Cipher can go on across update calls. The round keys are zeroized on
//! drop (the crates' zeroize feature).

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{
    BlockCipher, BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, InnerIvInit, KeyInit,
};
use aes::{Aes128, Aes192, Aes256};
use des::{Des, TdesEde2, TdesEde3};

use super::keys::Family;

/// A keyed block cipher.
pub enum Engine {
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
    Des(Des),
    Tdes2(TdesEde2),
    Tdes3(TdesEde3),
    /// Two- or three-key triple DES on OpenSSL (super::tdes_openssl).
    #[cfg(feature = "openssl")]
    TdesSsl(super::tdes_openssl::Tdes),
}

macro_rules! with {
    ($e:expr, $c:ident => $body:expr) => {
        match $e {
            Engine::Aes128($c) => $body,
            Engine::Aes192($c) => $body,
            Engine::Aes256($c) => $body,
            Engine::Des($c) => $body,
            Engine::Tdes2($c) => $body,
            Engine::Tdes3($c) => $body,
            #[cfg(feature = "openssl")]
            Engine::TdesSsl(_) => unreachable!("handled before"),
        }
    };
}

impl Engine {
    /// The engine for a key of a family (DES: 8, 16 or 24 bytes, single
    /// DES or two- or three-key triple DES; AES: 16, 24 or 32).
    pub fn new(family: Family, key: &[u8]) -> Option<Engine> {
        #[cfg(feature = "openssl")]
        if family == Family::Des && key.len() != 8 {
            return super::tdes_openssl::Tdes::new(key).map(Engine::TdesSsl);
        }
        Some(match (family, key.len()) {
            (Family::Aes, 16) => Engine::Aes128(Aes128::new_from_slice(key).ok()?),
            (Family::Aes, 24) => Engine::Aes192(Aes192::new_from_slice(key).ok()?),
            (Family::Aes, 32) => Engine::Aes256(Aes256::new_from_slice(key).ok()?),
            (Family::Des, 8) => Engine::Des(Des::new_from_slice(key).ok()?),
            (Family::Des, 16) => Engine::Tdes2(TdesEde2::new_from_slice(key).ok()?),
            (Family::Des, 24) => Engine::Tdes3(TdesEde3::new_from_slice(key).ok()?),
            _ => return None,
        })
    }

    pub fn block_size(&self) -> usize {
        match self {
            Engine::Aes128(_) | Engine::Aes192(_) | Engine::Aes256(_) => 16,
            _ => 8,
        }
    }

    /// ECB over whole blocks of `data` in place.
    pub fn ecb(&self, encrypt: bool, data: &mut [u8]) {
        #[cfg(feature = "openssl")]
        if let Engine::TdesSsl(t) = self {
            return t.ecb(encrypt, data);
        }
        with!(self, c => ecb(c, encrypt, data));
    }

    /// AES-CTR (NIST SP 800-38A, the whole 16-byte block a big-endian
    /// counter) from counter block `counter`, `offset` bytes into the key
    /// stream, over `data` in place. False for a DES engine.
    pub fn ctr(&self, counter: &[u8], offset: u64, data: &mut [u8]) -> bool {
        match self {
            Engine::Aes128(c) => ctr(c, counter, offset, data),
            Engine::Aes192(c) => ctr(c, counter, offset, data),
            Engine::Aes256(c) => ctr(c, counter, offset, data),
            _ => false,
        }
    }

    /// CBC over whole blocks of `data` in place from chaining value `iv`,
    /// which becomes the chaining value for the next blocks.
    pub fn cbc(&self, encrypt: bool, iv: &mut [u8], data: &mut [u8]) {
        #[cfg(feature = "openssl")]
        if let Engine::TdesSsl(t) = self {
            return t.cbc(encrypt, iv, data);
        }
        with!(self, c => cbc(c, encrypt, iv, data));
    }
}

fn ecb<C: BlockEncrypt + BlockDecrypt>(c: &C, encrypt: bool, data: &mut [u8]) {
    let n = C::block_size();
    for chunk in data.chunks_exact_mut(n) {
        let b = GenericArray::from_mut_slice(chunk);
        if encrypt {
            c.encrypt_block(b);
        } else {
            c.decrypt_block(b);
        }
    }
}

fn ctr<C>(c: &C, counter: &[u8], offset: u64, data: &mut [u8]) -> bool
where
    C: BlockEncrypt
        + BlockCipher
        + Clone
        + aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    use aes::cipher::{StreamCipher, StreamCipherSeek};
    let Ok(core) =
        ctr::CtrCore::<C, ctr::flavors::Ctr128BE>::inner_iv_slice_init(c.clone(), counter)
    else {
        return false;
    };
    let mut m = aes::cipher::StreamCipherCoreWrapper::from_core(core);
    if m.try_seek(offset).is_err() {
        return false;
    }
    m.try_apply_keystream(data).is_ok()
}

fn cbc<C: BlockEncrypt + BlockDecrypt + BlockCipher + Clone>(
    c: &C,
    encrypt: bool,
    iv: &mut [u8],
    data: &mut [u8],
) {
    let n = C::block_size();
    if data.len() < n || iv.len() != n {
        return;
    }
    let last = data.len() / n * n - n;
    if encrypt {
        let Ok(mut m) = cbc::Encryptor::<C>::inner_iv_slice_init(c.clone(), iv) else {
            return;
        };
        for chunk in data.chunks_exact_mut(n) {
            m.encrypt_block_mut(GenericArray::from_mut_slice(chunk));
        }
        iv.copy_from_slice(&data[last..last + n]);
    } else {
        let next = data[last..last + n].to_vec();
        let Ok(mut m) = cbc::Decryptor::<C>::inner_iv_slice_init(c.clone(), iv) else {
            return;
        };
        for chunk in data.chunks_exact_mut(n) {
            m.decrypt_block_mut(GenericArray::from_mut_slice(chunk));
        }
        iv.copy_from_slice(&next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// FIPS 197 appendix C.1 and NIST SP 800-38A F.2.1 (CBC-AES128).
    #[test]
    fn aes_known_answers() {
        let e = Engine::new(Family::Aes, &h("000102030405060708090a0b0c0d0e0f")).unwrap();
        let mut b = h("00112233445566778899aabbccddeeff");
        e.ecb(true, &mut b);
        assert_eq!(b, h("69c4e0d86a7b0430d8cdb78070b4c55a"));
        e.ecb(false, &mut b);
        assert_eq!(b, h("00112233445566778899aabbccddeeff"));

        let e = Engine::new(Family::Aes, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let plain = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let mut iv = h("000102030405060708090a0b0c0d0e0f");
        let mut first = plain[..16].to_vec();
        let mut second = plain[16..].to_vec();
        // Across two calls, as Cipher.update does.
        e.cbc(true, &mut iv, &mut first);
        e.cbc(true, &mut iv, &mut second);
        assert_eq!(first, h("7649abac8119b246cee98e9b12e9197d"));
        assert_eq!(second, h("5086cb9b507219ee95db113a917678b2"));
        let mut iv = h("000102030405060708090a0b0c0d0e0f");
        let mut both = [first, second].concat();
        e.cbc(false, &mut iv, &mut both);
        assert_eq!(both, plain);
    }

    /// NIST SP 800-38A F.5.1 (CTR-AES128), from any offset.
    #[test]
    fn aes_ctr_known_answer() {
        let e = Engine::new(Family::Aes, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let ctr0 = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        let plain = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let want = h("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff");
        let mut all = plain.clone();
        assert!(e.ctr(&ctr0, 0, &mut all));
        assert_eq!(all, want);
        let mut tail = plain[7..].to_vec();
        assert!(e.ctr(&ctr0, 7, &mut tail));
        assert_eq!(tail, want[7..]);
        let d = Engine::new(Family::Des, &[1; 8]).unwrap();
        assert!(!d.ctr(&[0; 8], 0, &mut [0; 8]));
    }

    /// Triple DES (two keys) ECB of a classic vector.
    #[test]
    fn des_known_answers() {
        let e = Engine::new(Family::Des, &h("133457799bbcdff1")).unwrap();
        let mut b = h("0123456789abcdef");
        e.ecb(true, &mut b);
        assert_eq!(b, h("85e813540f0ab405"));
        assert_eq!(e.block_size(), 8);
        assert!(Engine::new(Family::Des, &[0; 9]).is_none());
    }
}
