//! EC over F(p) on the RustCrypto curve crates: ECDSA on a prehashed
//! message, the Diffie-Hellman point, key generation, for the curve the
//! key's domain parameters name ([`super::ec_curves`]). Hashing is the
//! caller's (sha1/sha2), so the crates only see prehashed bytes.

use elliptic_curve::sec1::ToSec1Point;
use elliptic_curve::{Generate, NonZeroScalar, ProjectivePoint, PublicKey, SecretKey};

use super::ec_curves::{identify, Curve};
use super::pubkey::{self, Kind, A, B, FIELD, G, KEY, R};
use super::rng::CardRng;
use super::{crypto_exc, reason};
use crate::jcvm::heap::ObjId;
use crate::jcvm::interp::{Exc, Vm};

/// Runs `$body` with `$C` the crate's curve type of `$curve`.
macro_rules! on_curve {
    ($curve:expr, $C:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                type $C = p256::NistP256;
                $body
            }
            Curve::P384 => {
                type $C = p384::NistP384;
                $body
            }
            Curve::P521 => {
                type $C = p521::NistP521;
                $body
            }
            Curve::K256 => {
                type $C = k256::Secp256k1;
                $body
            }
            Curve::Bp256r1 => {
                type $C = bp256::BrainpoolP256r1;
                $body
            }
        }
    };
}

/// Bytes of a field element (and of a scalar) of a curve.
pub fn field_len(c: Curve) -> usize {
    match c {
        Curve::P384 => 48,
        Curve::P521 => 66,
        _ => 32,
    }
}

/// `v` left-padded with zeros to `len` bytes (`None`: longer).
fn pad(v: &[u8], len: usize) -> Option<Vec<u8>> {
    let v = &v[v.iter().take_while(|b| **b == 0).count()..];
    (v.len() <= len).then(|| {
        let mut out = vec![0; len - v.len()];
        out.extend_from_slice(v);
        out
    })
}

/// An ECDSA signature (DER, as cards give it) of prehash `z` with
/// private scalar `s`, its nonce drawn from the card's RNG; `None` when
/// `s` is no private key of the curve. (The crates' RFC 6979 signers
/// need a digest type per curve, which bp256 does not name.)
pub fn sign(c: Curve, s: &[u8], z: &[u8], rng: &mut CardRng) -> Option<Vec<u8>> {
    let s = pad(s, field_len(c))?;
    on_curve!(c, C => {
        let d = SecretKey::<C>::from_slice(&s).ok()?.to_nonzero_scalar();
        // A fresh random nonce per signature, as a card draws it (a k
        // that gives r or s zero is drawn again).
        for _ in 0..16 {
            let k = NonZeroScalar::<C>::generate_from_rng(rng);
            if let Ok((sig, _)) = ecdsa::hazmat::sign_prehashed::<C>(&d, &k, z) {
                return Some(sig.to_der().as_bytes().to_vec());
            }
        }
        None
    })
}

/// Whether `der` is an ECDSA signature of prehash `z` by public point
/// `w` (either s of a pair: cards do not normalise it).
pub fn verify(c: Curve, w: &[u8], z: &[u8], der: &[u8]) -> bool {
    on_curve!(c, C => {
        let Ok(pk) = PublicKey::<C>::from_sec1_bytes(w) else { return false };
        let Ok(sig) = ecdsa::Signature::<C>::from_der(der) else { return false };
        let sig = sig.normalize_s();
        ecdsa::hazmat::verify_prehashed::<C>(&pk.to_projective(), z, &sig).is_ok()
    })
}

/// The uncompressed point s·W (`None`: no key or no point of the curve).
pub fn shared_point(c: Curve, s: &[u8], w: &[u8]) -> Option<Vec<u8>> {
    let s = pad(s, field_len(c))?;
    on_curve!(c, C => {
        let sk = SecretKey::<C>::from_slice(&s).ok()?;
        let pk = PublicKey::<C>::from_sec1_bytes(w).ok()?;
        let point: ProjectivePoint<C> = pk.to_projective() * *sk.to_nonzero_scalar();
        let shared = PublicKey::<C>::from_affine(point.into()).ok()?;
        Some(shared.to_sec1_point(false).as_bytes().to_vec())
    })
}

/// A new key pair from the card's RNG: private scalar, uncompressed W.
pub fn generate(c: Curve, rng: &mut CardRng) -> (Vec<u8>, Vec<u8>) {
    on_curve!(c, C => {
        let sk = SecretKey::<C>::generate_from_rng(rng);
        let w = sk.public_key().to_sec1_point(false).as_bytes().to_vec();
        (sk.to_bytes().to_vec(), w)
    })
}

/// The crate's generator (uncompressed) and order, for the tests of the
/// curve table.
#[cfg(test)]
pub fn crate_generator_and_order(c: Curve) -> (Vec<u8>, Vec<u8>) {
    use elliptic_curve::Curve as _;
    let mut one = vec![0u8; field_len(c)];
    *one.last_mut().unwrap() = 1;
    on_curve!(c, C => {
        let g = SecretKey::<C>::from_slice(&one).unwrap().public_key();
        let r = C::ORDER.to_be_bytes();
        (g.to_sec1_point(false).as_bytes().to_vec(), r.as_ref().to_vec())
    })
}

/// The curve of an EC key's domain parameters: UNINITIALIZED_KEY when
/// they are not all set, ILLEGAL_VALUE when they name no curve
/// implemented here.
pub fn curve_of(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId) -> Result<Curve, Exc> {
    let mut v = Vec::new();
    for c in [FIELD, A, B, G, R] {
        match pubkey::component(vm, k, bits, st, c)? {
            Some(x) => v.push(x),
            None => return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY)),
        }
    }
    match identify(bits, &v[0], &v[1], &v[2], &v[3], &v[4]) {
        Some(c) => Ok(c),
        // Parameters of a curve no crate here implements (or a typo in
        // the applet's): the card cannot compute with them.
        None => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    }
}

/// An initialised EC key's curve and W or S.
pub fn key_of(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId) -> Result<(Curve, Vec<u8>), Exc> {
    if !pubkey::initialized(vm, st)? {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    let c = curve_of(vm, k, bits, st)?;
    match pubkey::component(vm, k, bits, st, KEY)? {
        Some(v) => Ok((c, v)),
        None => Err(crypto_exc(vm, reason::UNINITIALIZED_KEY)),
    }
}
