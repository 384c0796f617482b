//! RSA on the `rsa` crate: the key objects' components as the crate's
//! keys, and the operations Signature and Cipher need.
//!
//! A Java Card private key is a modulus and private exponent
//! (RSAPrivateKey) or the CRT quintuple without modulus or exponents
//! (RSAPrivateCrtKey): neither is an `rsa::RsaPrivateKey`, which wants
//! both exponents. The raw private operation runs through the crate's
//! `hazmat::rsa_decrypt` on [`Private`], which gives it exactly those
//! parts. Schemes the crate implements only on its own private key type
//! (PSS signing, OAEP decryption) need an `RsaPrivateKey`: a CRT key
//! gives one, its public exponent being DP1's inverse modulo P-1 (the
//! exponent of any card key, below P), checked against DQ1; a
//! modulus-and-exponent key gives one when its public exponent is 65537
//! (its primes recovered), else ILLEGAL_VALUE.

use num_bigint_dig::{BigInt, ModInverse};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use super::rng::CardRng;

/// The DigestInfo prefix of EMSA-PKCS1-v1_5 (RFC 8017 §9.2, note 1) for
/// MessageDigest.ALG_*: SHA-1, SHA-224, SHA-256, SHA-384, SHA-512.
pub fn digest_info(md: u8) -> Option<&'static [u8]> {
    Some(match md {
        1 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14,
        ],
        7 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        4 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        5 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        6 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        _ => return None,
    })
}

/// A private key as the raw operation takes it.
pub struct Private {
    n: BigUint,
    zero: BigUint,
    d: BigUint,
    primes: Vec<BigUint>,
    dp: Option<BigUint>,
    dq: Option<BigUint>,
    qinv: Option<BigInt>,
    /// The modulus length in bytes.
    pub len: usize,
    /// The same CRT key on OpenSSL, which runs the raw operation when
    /// present (super::rsa_openssl).
    #[cfg(feature = "openssl")]
    pub fast: Option<std::sync::Arc<super::rsa_openssl::CrtKey>>,
}

impl Private {
    /// From an RSAPrivateKey's modulus and exponent.
    pub fn from_exponent(n: &[u8], d: &[u8]) -> Private {
        Private {
            n: BigUint::from_bytes_be(n),
            zero: BigUint::default(),
            d: BigUint::from_bytes_be(d),
            primes: Vec::new(),
            dp: None,
            dq: None,
            qinv: None,
            len: n.len(),
            #[cfg(feature = "openssl")]
            fast: None,
        }
    }

    /// From an RSAPrivateCrtKey's P, Q, DP1, DQ1, PQ; `None` when they
    /// are no key (a zero prime).
    pub fn from_crt(bits: u16, c: [&[u8]; 5]) -> Option<Private> {
        let p = BigUint::from_bytes_be(c[0]);
        let q = BigUint::from_bytes_be(c[1]);
        if p <= BigUint::from(1u8) || q <= BigUint::from(1u8) {
            return None;
        }
        Some(Private {
            n: &p * &q,
            zero: BigUint::default(),
            d: BigUint::default(),
            primes: vec![p, q],
            dp: Some(BigUint::from_bytes_be(c[2])),
            dq: Some(BigUint::from_bytes_be(c[3])),
            qinv: Some(BigInt::from(BigUint::from_bytes_be(c[4]))),
            len: usize::from(bits) / 8,
            #[cfg(feature = "openssl")]
            fast: None,
        })
    }

    /// The raw private operation on `input` (a number below the
    /// modulus), `len` bytes out; `None` when it is not below it.
    pub fn raw(&self, input: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        #[cfg(feature = "openssl")]
        if let Some(fast) = self.fast.as_ref().filter(|f| f.modulus_len() == self.len) {
            if input.len() == self.len {
                return fast.raw(input);
            }
        }
        self.raw_portable(input)
    }

    /// The raw private operation on the `rsa` crate (any key; the only
    /// path without the `openssl` feature).
    pub fn raw_portable(&self, input: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let c = BigUint::from_bytes_be(input);
        let m = rsa::hazmat::rsa_decrypt::<CardRng>(None, self, &c).ok()?;
        Some(Zeroizing::new(left_pad(&m.to_bytes_be(), self.len)?))
    }

    /// The crate's private key, for the schemes only it implements. A
    /// modulus-and-exponent key has no primes and no public exponent: it
    /// gets one when its public exponent is F4 (65537, what KeyPair and
    /// nearly every key generator use), the primes recovered from n, e and
    /// d (NIST SP 800-56B rev. 2, appendix C.2, in the crate); another
    /// exponent leaves it without (`None`).
    pub fn full(&self) -> Option<RsaPrivateKey> {
        if self.primes.is_empty() {
            let f4 = BigUint::from(65_537u32);
            return RsaPrivateKey::from_components(self.n.clone(), f4, self.d.clone(), Vec::new())
                .ok();
        }
        let (p, q) = (self.primes.first()?, self.primes.get(1)?);
        let one = BigUint::from(1u8);
        let (p1, q1) = (p - &one, q - &one);
        let e = self.dp.as_ref()?.clone().mod_inverse(&p1)?.to_biguint()?;
        if (&e * self.dq.as_ref()?) % &q1 != one {
            return None;
        }
        RsaPrivateKey::from_p_q(p.clone(), q.clone(), e).ok()
    }
}

impl PublicKeyParts for Private {
    fn n(&self) -> &BigUint {
        &self.n
    }
    fn e(&self) -> &BigUint {
        // Never read: no blinding (it would need the public exponent).
        &self.zero
    }
}

impl PrivateKeyParts for Private {
    fn d(&self) -> &BigUint {
        &self.d
    }
    fn primes(&self) -> &[BigUint] {
        &self.primes
    }
    fn dp(&self) -> Option<&BigUint> {
        self.dp.as_ref()
    }
    fn dq(&self) -> Option<&BigUint> {
        self.dq.as_ref()
    }
    fn qinv(&self) -> Option<&BigInt> {
        self.qinv.as_ref()
    }
    fn crt_values(&self) -> Option<&[rsa::CrtValue]> {
        // Two primes: no further CRT values.
        self.qinv.as_ref().map(|_| &[][..])
    }
}

/// A public key of a modulus and exponent (any exponent the card takes).
pub fn public(n: &[u8], e: &[u8]) -> RsaPublicKey {
    RsaPublicKey::new_unchecked(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
}

/// The raw public operation, `len` bytes out.
pub fn raw_public(key: &RsaPublicKey, input: &[u8]) -> Option<Vec<u8>> {
    let m = BigUint::from_bytes_be(input);
    if &m >= key.n() {
        return None;
    }
    let c = rsa::hazmat::rsa_encrypt(key, &m).ok()?;
    left_pad(&c.to_bytes_be(), key.size())
}

fn left_pad(v: &[u8], len: usize) -> Option<Vec<u8>> {
    let v = &v[v.iter().take_while(|b| **b == 0).count().min(v.len())..];
    if v.len() > len {
        return None;
    }
    let mut out = vec![0u8; len - v.len()];
    out.extend_from_slice(v);
    Some(out)
}

/// EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of a hash for a `len`-byte modulus,
/// the same block the PKCS#1 v1.5 "block type 1" encryption padding
/// gives a message: 00 01 FF.. 00 || data.
pub fn pad_type1(data: &[u8], len: usize) -> Option<Vec<u8>> {
    if data.len() + 11 > len {
        return None;
    }
    let mut em = vec![0xFF; len];
    em[0] = 0;
    em[1] = 1;
    em[len - data.len() - 1] = 0;
    em[len - data.len()..].copy_from_slice(data);
    Some(em)
}

/// The message of a PKCS#1 v1.5 block of type `bt` (1: FF padding, 2:
/// random non-zero padding), at least 8 padding bytes; `None` when the
/// block is not one.
pub fn unpad(em: &[u8], bt: u8) -> Option<Vec<u8>> {
    if em.len() < 11 || em[0] != 0 || em[1] != bt {
        return None;
    }
    let sep = em[2..].iter().position(|b| *b == 0)? + 2;
    if sep < 10 || (bt == 1 && em[2..sep].iter().any(|b| *b != 0xFF)) {
        return None;
    }
    Some(em[sep + 1..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PrivateKeyParts;

    /// A modulus-and-exponent key of exponent 65537 signs PSS as the CRT
    /// form of the same key does; one of exponent 3 cannot.
    #[test]
    fn modulus_and_exponent_keys_recover_their_primes_for_f4_only() {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let (n, d) = (key.n().to_bytes_be(), key.d().to_bytes_be());
        let full = Private::from_exponent(&n, &d).full().expect("F4 key");
        assert_eq!(full.n(), key.n());
        assert_eq!(full.d(), key.d());
        let mut primes = full.primes().to_vec();
        primes.sort();
        let mut want = key.primes().to_vec();
        want.sort();
        assert_eq!(primes, want);
        let e3 = RsaPrivateKey::new_with_exp(&mut rng, 1024, &BigUint::from(3u8)).unwrap();
        let other = Private::from_exponent(&e3.n().to_bytes_be(), &e3.d().to_bytes_be());
        assert!(other.full().is_none());
    }
}
