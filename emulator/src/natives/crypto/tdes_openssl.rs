//! Triple DES on OpenSSL (feature `openssl`): the `des` crate takes about
//! a microsecond per triple-DES block, OpenSSL a fifth of that, and the
//! block cipher is most of a 3DES APDU. Two- and three-key triple DES
//! only: single DES is in OpenSSL 3's legacy provider, which is not
//! loaded by default, and stays on the `des` crate.
//!
//! The EVP contexts are keyed once, in ECB mode without padding, and
//! reused for every call (an ECB context keeps no state between blocks);
//! CBC chains over them here. OpenSSL clears the key schedule when a
//! context is freed.

use std::cell::RefCell;

use openssl::symm::{Cipher, Crypter, Mode};

const BLOCK: usize = 8;

/// A keyed triple-DES engine (16- or 24-byte key).
pub struct Tdes {
    enc: RefCell<Crypter>,
    dec: RefCell<Crypter>,
}

impl Tdes {
    /// `None` for a key of another length (or an OpenSSL that refuses).
    pub fn new(key: &[u8]) -> Option<Tdes> {
        // Two-key triple DES is the three-key cipher with K3 = K1.
        let mut k = zeroize::Zeroizing::new([0u8; 24]);
        match key.len() {
            16 => {
                k[..16].copy_from_slice(key);
                k[16..].copy_from_slice(&key[..8]);
            }
            24 => k.copy_from_slice(key),
            _ => return None,
        }
        let cipher = Cipher::des_ede3();
        let keyed = |mode| {
            let mut c = Crypter::new(cipher, mode, &k[..], None).ok()?;
            c.pad(false);
            Some(RefCell::new(c))
        };
        Some(Tdes {
            enc: keyed(Mode::Encrypt)?,
            dec: keyed(Mode::Decrypt)?,
        })
    }

    /// One block in place.
    fn block(&self, encrypt: bool, b: &mut [u8]) {
        let ctx = if encrypt { &self.enc } else { &self.dec };
        // OpenSSL wants room for a block more than the input.
        let mut out = [0u8; 2 * BLOCK];
        let done = ctx
            .borrow_mut()
            .update(b, &mut out)
            .is_ok_and(|n| n == BLOCK);
        if done {
            b.copy_from_slice(&out[..BLOCK]);
        } else {
            // Not reachable for a whole block of a keyed ECB context; the
            // data is wiped rather than left looking processed.
            b.fill(0);
        }
    }

    /// ECB over whole blocks of `data` in place.
    pub fn ecb(&self, encrypt: bool, data: &mut [u8]) {
        for b in data.chunks_exact_mut(BLOCK) {
            self.block(encrypt, b);
        }
    }

    /// CBC over whole blocks of `data` in place from chaining value `iv`
    /// (8 bytes), which becomes the chaining value for the next blocks.
    pub fn cbc(&self, encrypt: bool, iv: &mut [u8], data: &mut [u8]) {
        if iv.len() != BLOCK {
            return;
        }
        let mut cv = [0u8; BLOCK];
        cv.copy_from_slice(iv);
        for b in data.chunks_exact_mut(BLOCK) {
            if encrypt {
                b.iter_mut().zip(&cv).for_each(|(x, c)| *x ^= c);
                self.block(true, b);
                cv.copy_from_slice(b);
            } else {
                let mut next = [0u8; BLOCK];
                next.copy_from_slice(b);
                self.block(false, b);
                b.iter_mut().zip(&cv).for_each(|(x, c)| *x ^= c);
                cv = next;
            }
        }
        iv.copy_from_slice(&cv);
    }
}

#[cfg(test)]
mod tests {
    use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
    use des::{TdesEde2, TdesEde3};

    use super::*;

    /// OpenSSL's engine gives the `des` crate's results for both key
    /// lengths, both directions, ECB and CBC across calls.
    #[test]
    fn openssl_and_the_des_crate_agree() {
        let mut x = 0x1234_5678_9ABC_DEF0u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        };
        for len in [16usize, 24] {
            for _ in 0..20 {
                let key: Vec<u8> = (0..len).map(|_| next()).collect();
                let data: Vec<u8> = (0..64).map(|_| next()).collect();
                let iv0: Vec<u8> = (0..8).map(|_| next()).collect();
                let ssl = Tdes::new(&key).unwrap();
                // ECB, block by block on the crate.
                let mut want = data.clone();
                for b in want.chunks_exact_mut(8) {
                    let b = des::cipher::generic_array::GenericArray::from_mut_slice(b);
                    if len == 16 {
                        TdesEde2::new_from_slice(&key).unwrap().encrypt_block(b);
                    } else {
                        TdesEde3::new_from_slice(&key).unwrap().encrypt_block(b);
                    }
                }
                let mut got = data.clone();
                ssl.ecb(true, &mut got);
                assert_eq!(got, want, "ECB, {len}-byte key");
                ssl.ecb(false, &mut got);
                assert_eq!(got, data);
                // CBC by hand on the crate's blocks.
                let mut want = data.clone();
                let mut cv = iv0.clone();
                for b in want.chunks_exact_mut(8) {
                    b.iter_mut().zip(&cv).for_each(|(x, c)| *x ^= c);
                    let g = des::cipher::generic_array::GenericArray::from_mut_slice(b);
                    if len == 16 {
                        TdesEde2::new_from_slice(&key).unwrap().encrypt_block(g);
                    } else {
                        TdesEde3::new_from_slice(&key).unwrap().encrypt_block(g);
                    }
                    cv = b.to_vec();
                }
                // In two calls, the chaining value carried.
                let mut got = data.clone();
                let mut iv = iv0.clone();
                let (a, b) = got.split_at_mut(24);
                ssl.cbc(true, &mut iv, a);
                ssl.cbc(true, &mut iv, b);
                assert_eq!(got, want, "CBC, {len}-byte key");
                assert_eq!(iv, cv);
                let mut iv = iv0.clone();
                ssl.cbc(false, &mut iv, &mut got);
                assert_eq!(got, data);
                assert_eq!(iv, cv);
                // And the crate decrypts what OpenSSL encrypted in ECB.
                let mut one = data[..8].to_vec();
                ssl.ecb(true, &mut one);
                let g = des::cipher::generic_array::GenericArray::from_mut_slice(&mut one);
                if len == 16 {
                    TdesEde2::new_from_slice(&key).unwrap().decrypt_block(g);
                } else {
                    TdesEde3::new_from_slice(&key).unwrap().decrypt_block(g);
                }
                assert_eq!(&one[..], &data[..8]);
            }
        }
        assert!(Tdes::new(&[0; 8]).is_none());
    }
}
