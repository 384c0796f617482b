//! The private operation of RSA CRT keys on OpenSSL (feature
//! `openssl`): the same mathematics as [`super::rsa::Private::raw`]
//! on the `rsa` crate, two to three times faster at 2048 bits, which is
//! what puts RSA signing in jct emu ahead of jCardSim (BouncyCastle on
//! the JVM's Montgomery intrinsics). A card's RSAPrivateCrtKey carries
//! only P, Q, DP1, DQ1 and PQ; OpenSSL's key also wants the modulus and
//! both exponents, so they are derived once per key (e = DP1⁻¹ mod P-1,
//! checked against DQ1; d = e⁻¹ mod lcm(P-1, Q-1)) and the key is kept
//! per key object in the card's RAM ([`super::live::Live::rsa`]) while
//! its components stay the same. OpenSSL blinds the operation and
//! checks the CRT result with the public exponent.

use openssl::bn::{BigNum, BigNumContext};
use openssl::rsa::{Padding, Rsa};
use zeroize::Zeroizing;

/// An RSA CRT private key as OpenSSL holds it (its private numbers are
/// cleared when it is freed).
pub struct CrtKey {
    key: Rsa<openssl::pkey::Private>,
}

impl CrtKey {
    /// From P, Q, DP1, DQ1 and PQ; `None` when they are no consistent key
    /// (a zero or even prime, no inverse, DP1 and DQ1 disagreeing), in
    /// which case the portable path decides what the card answers.
    pub fn new(c: [&[u8]; 5]) -> Option<CrtKey> {
        let bn = |b: &[u8]| BigNum::from_slice(b).ok();
        let (p, q, dp, dq, qinv) = (bn(c[0])?, bn(c[1])?, bn(c[2])?, bn(c[3])?, bn(c[4])?);
        let one = BigNum::from_u32(1).ok()?;
        if p <= one || q <= one || !p.is_bit_set(0) || !q.is_bit_set(0) {
            return None;
        }
        let mut ctx = BigNumContext::new().ok()?;
        let mut n = BigNum::new().ok()?;
        n.checked_mul(&p, &q, &mut ctx).ok()?;
        let sub1 = |x: &BigNum| {
            let mut r = BigNum::new().ok()?;
            r.checked_sub(x, &one).ok()?;
            Some(r)
        };
        let (p1, q1) = (sub1(&p)?, sub1(&q)?);
        let mut e = BigNum::new().ok()?;
        e.mod_inverse(&dp, &p1, &mut ctx).ok()?;
        // The same e must invert DQ1 modulo Q-1, or the quintuple is no key.
        let mut check = BigNum::new().ok()?;
        check.mod_mul(&e, &dq, &q1, &mut ctx).ok()?;
        if check != one {
            return None;
        }
        // λ(n) = (P-1)(Q-1) / gcd(P-1, Q-1).
        let mut g = BigNum::new().ok()?;
        g.gcd(&p1, &q1, &mut ctx).ok()?;
        let mut phi = BigNum::new().ok()?;
        phi.checked_mul(&p1, &q1, &mut ctx).ok()?;
        let mut lambda = BigNum::new().ok()?;
        lambda.checked_div(&phi, &g, &mut ctx).ok()?;
        let mut d = BigNum::new().ok()?;
        d.mod_inverse(&e, &lambda, &mut ctx).ok()?;
        let key = Rsa::from_private_components(n, e, d, p, q, dp, dq, qinv).ok()?;
        Some(CrtKey { key })
    }

    /// The modulus length in bytes.
    pub fn modulus_len(&self) -> usize {
        self.key.size() as usize
    }

    /// The raw private operation on a modulus-long `input` below the
    /// modulus; `None` when it is not.
    pub fn raw(&self, input: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if input.len() != self.modulus_len() {
            return None;
        }
        let mut out = Zeroizing::new(vec![0u8; self.modulus_len()]);
        let n = self
            .key
            .private_decrypt(input, &mut out, Padding::NONE)
            .ok()?;
        out.truncate(n);
        Some(out)
    }
}

impl std::fmt::Debug for CrtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "CrtKey({} bits)", self.key.size() * 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::natives::crypto::rsa::Private;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    use rsa::RsaPrivateKey;

    fn quintuple(key: &RsaPrivateKey) -> [Vec<u8>; 5] {
        let p = &key.primes()[0];
        let q = &key.primes()[1];
        let qinv = key.qinv().unwrap().to_biguint().unwrap();
        [
            p.to_bytes_be(),
            q.to_bytes_be(),
            key.dp().unwrap().to_bytes_be(),
            key.dq().unwrap().to_bytes_be(),
            qinv.to_bytes_be(),
        ]
    }

    /// OpenSSL's private operation gives the rsa crate's result, bit for
    /// bit, on keys the crate made (odd and even moduli lengths, inputs
    /// across the range), and refuses what the portable path refuses.
    #[test]
    fn openssl_and_the_rsa_crate_agree() {
        let mut rng = rsa::rand_core::OsRng;
        for bits in [512usize, 1024, 1536, 2048] {
            let mut key = RsaPrivateKey::new(&mut rng, bits).unwrap();
            key.precompute().unwrap();
            let c = quintuple(&key);
            let parts = [&c[0][..], &c[1][..], &c[2][..], &c[3][..], &c[4][..]];
            let fast = CrtKey::new(parts).expect("a consistent key");
            assert_eq!(fast.modulus_len(), bits / 8);
            let portable = Private::from_crt(bits as u16, parts).unwrap();
            let n = key.n().to_bytes_be();
            for fill in [0x00u8, 0x01, 0x5A, 0x80] {
                let mut input = vec![fill; bits / 8];
                input[bits / 8 - 1] ^= 0x33;
                if input >= n {
                    continue;
                }
                assert_eq!(
                    fast.raw(&input).map(|v| v.to_vec()),
                    portable.raw_portable(&input).map(|v| v.to_vec()),
                    "{bits} bits, fill {fill:02X}"
                );
            }
            // Not below the modulus: no result on either path.
            let over = vec![0xFF; bits / 8];
            assert!(fast.raw(&over).is_none());
            assert!(portable.raw_portable(&over).is_none());
            // Not modulus-long: OpenSSL's path declines.
            assert!(fast.raw(&[1, 2, 3]).is_none());
        }
    }

    /// Quintuples that are no key are refused, so the portable path
    /// decides the card's answer for them.
    #[test]
    fn inconsistent_quintuples_are_refused() {
        let mut rng = rsa::rand_core::OsRng;
        let mut key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        key.precompute().unwrap();
        let c = quintuple(&key);
        let mut dq = c[3].clone();
        let last = dq.len() - 1;
        dq[last] ^= 0x02;
        assert!(CrtKey::new([&c[0], &c[1], &c[2], &dq, &c[4]]).is_none());
        assert!(CrtKey::new([&[0u8], &c[1], &c[2], &c[3], &c[4]]).is_none());
        let mut even = c[0].clone();
        let last = even.len() - 1;
        even[last] &= 0xFE;
        assert!(CrtKey::new([&even, &c[1], &c[2], &c[3], &c[4]]).is_none());
    }
}
