//! Signature with RSA (PKCS#1 v1.5 and PSS, SHA-1 and SHA-2) and ECDSA
//! (SHA-1 and SHA-2, DER-encoded as cards give them), and the precomputed
//! hash forms of 3.0.5 (signPreComputedHash, verifyPreComputedHash).
//!
//! What init set (mode, key) lives in the Signature's persistent setup
//! array as for the MACs; the message hashed so far is volatile (the
//! live digests, by Signature object), started over when missing.

use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::ec;
use super::live;
use super::pubkey::{self, Kind, EXPONENT, MODULUS};
use super::rng::CardRng;
use super::rsa::{self as rsa_ops, Private};
use super::{
    bytes, check_bytes, crypto_exc, reason, state_of, store, store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::ObjId;
use crate::jcvm::interp::{Exc, Ret, Vm};

const MODE_SIGN: u8 = 1;
const MODE_VERIFY: u8 = 2;
/// The setup's layout (the MACs': flag, mode, key reference).
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const SETUP_MIN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Pkcs1,
    Pss,
    Ecdsa,
}

/// Scheme and MessageDigest.ALG_* of a Signature.ALG_*.
pub fn alg(a: u8) -> Option<(Scheme, u8)> {
    use Scheme::*;
    Some(match a {
        10 => (Pkcs1, 1),
        39 => (Pkcs1, 7),
        40 => (Pkcs1, 4),
        41 => (Pkcs1, 5),
        42 => (Pkcs1, 6),
        21 => (Pss, 1),
        43 => (Pss, 7),
        44 => (Pss, 4),
        45 => (Pss, 5),
        46 => (Pss, 6),
        17 => (Ecdsa, 1),
        37 => (Ecdsa, 7),
        33 => (Ecdsa, 4),
        34 => (Ecdsa, 5),
        38 => (Ecdsa, 6),
        _ => return None,
    })
}

/// Whether this module implements Signature algorithm `a`.
pub fn handles(a: u8) -> bool {
    alg(a).is_some()
}

/// 3.0.5 getInstance(messageDigestAlgorithm, cipherAlgorithm,
/// paddingAlgorithm): SIG_CIPHER_RSA (3) with PAD_PKCS1 (7) or
/// PAD_PKCS1_PSS (8), SIG_CIPHER_ECDSA (5) with PAD_NULL.
pub fn by_parts(md: u8, cipher: u8, pad: u8) -> Option<u8> {
    let scheme = match (cipher, pad) {
        (3, 7) => Scheme::Pkcs1,
        (3, 8) => Scheme::Pss,
        (5, 0) => Scheme::Ecdsa,
        _ => return None,
    };
    (0u8..=127).find(|a| alg(*a) == Some((scheme, md)))
}

/// The digest parts of an algorithm (3.0.5 getters).
pub fn parts(a: u8) -> Option<(u8, u8, u8)> {
    let (s, md) = alg(a)?;
    Some(match s {
        Scheme::Pkcs1 => (md, 3, 7),
        Scheme::Pss => (md, 3, 8),
        Scheme::Ecdsa => (md, 5, 0),
    })
}

fn digest_len(md: u8) -> usize {
    match md {
        1 => 20,
        7 => 28,
        4 => 32,
        5 => 48,
        _ => 64,
    }
}

fn setup_of(vm: &mut Vm<'_>, this: i32) -> Result<(u8, ObjId), Exc> {
    match state_of(vm, this)? {
        State::Signature { alg, setup } => Ok((*alg, *setup)),
        _ => Err(Exc::Fatal("a Signature method on another object".into())),
    }
}

/// The Signature methods for an algorithm of this module.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32], al: u8, setup: ObjId) -> Result<Ret, Exc> {
    let Some((scheme, md)) = alg(al) else {
        return Err(Exc::Fatal("not an asymmetric Signature".into()));
    };
    let id = a[0] as ObjId;
    match c {
        Call::SignatureGetAlgorithm => Ok(Ret::Word(i32::from(al as i8))),
        Call::SignatureGetLength => {
            let (key, _) = initialised(vm, setup, None)?;
            let (_, bits, _) = pubkey::asym_key(vm, key as i32)?;
            Ok(Ret::Word(length(scheme, bits) as i32))
        }
        Call::SignatureInit => init(vm, id, scheme, setup, a[1], a[2]),
        // RSA and ECDSA take no initial vector.
        Call::SignatureInitIv => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
        Call::SignatureUpdate => {
            initialised(vm, setup, None)?;
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut d = vm
                .env
                .crypto
                .digests
                .remove(&id)
                .or_else(|| live::digest(md))
                .ok_or_else(|| Exc::Fatal("no digest".into()))?;
            d.update(&data);
            vm.env.crypto.digests.insert(id, d);
            Ok(Ret::Void)
        }
        Call::SignatureSign | Call::SignatureVerify => {
            let mode = if c == Call::SignatureSign {
                MODE_SIGN
            } else {
                MODE_VERIFY
            };
            initialised(vm, setup, Some(mode))?;
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut d = vm
                .env
                .crypto
                .digests
                .remove(&id)
                .or_else(|| live::digest(md))
                .ok_or_else(|| Exc::Fatal("no digest".into()))?;
            d.update(&data);
            let h = d.finalize().to_vec();
            if c == Call::SignatureSign {
                finish_sign(vm, scheme, md, setup, &h, a[4], a[5])
            } else {
                let sig = bytes(vm, a[4], a[5], a[6])?.to_vec();
                finish_verify(vm, scheme, md, setup, &h, &sig)
            }
        }
        _ => Err(Exc::Fatal("not a Signature method".into())),
    }
}

/// signPreComputedHash and verifyPreComputedHash: the hash given must be
/// as long as the algorithm's digest (ILLEGAL_VALUE otherwise); the MAC
/// algorithms have no such form (ILLEGAL_USE).
pub fn precomputed(vm: &mut Vm<'_>, c: super::asym::Call, a: &[i32]) -> Result<Ret, Exc> {
    let (al, setup) = setup_of(vm, a[0])?;
    let Some((scheme, md)) = alg(al) else {
        return Err(crypto_exc(vm, reason::ILLEGAL_USE));
    };
    let sign = c == super::asym::Call::SignPreComputed;
    initialised(vm, setup, Some(if sign { MODE_SIGN } else { MODE_VERIFY }))?;
    let h = bytes(vm, a[1], a[2], a[3])?.to_vec();
    if h.len() != digest_len(md) {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    vm.env.crypto.digests.remove(&(a[0] as ObjId));
    if sign {
        finish_sign(vm, scheme, md, setup, &h, a[4], a[5])
    } else {
        let sig = bytes(vm, a[4], a[5], a[6])?.to_vec();
        finish_verify(vm, scheme, md, setup, &h, &sig)
    }
}

/// The longest signature: the modulus for RSA, the DER of two integers
/// of the field's length (each perhaps one byte longer) for ECDSA.
fn length(s: Scheme, bits: u16) -> usize {
    match s {
        Scheme::Ecdsa => {
            let body = 2 * (2 + pubkey::field_len(bits) + 1);
            body + if body < 128 { 2 } else { 3 }
        }
        _ => usize::from(bits) / 8,
    }
}

fn init(
    vm: &mut Vm<'_>,
    id: ObjId,
    s: Scheme,
    setup: ObjId,
    key: i32,
    mode: i32,
) -> Result<Ret, Exc> {
    let (k, bits, st) = pubkey::asym_key(vm, key)?;
    let sign = match mode {
        1 => true,
        2 => false,
        _ => return Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    };
    if k.is_rsa() == (s == Scheme::Ecdsa) || k.is_private() != sign {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if !pubkey::initialized(vm, st)? {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    if s == Scheme::Ecdsa {
        ec::curve_of(vm, k, bits, st)?;
    }
    if s == Scheme::Pss && sign && !schemes_key(vm, k, bits, st)? {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let sb = store_mut(vm, setup, SETUP_MIN)?;
    sb[INIT] = 1;
    sb[MODE] = mode as u8;
    sb[KEY..KEY + 4].copy_from_slice(&(key as u32).to_be_bytes());
    vm.env.crypto.digests.remove(&id);
    Ok(Ret::Void)
}

/// The key of an initialised Signature (INVALID_INIT when not, or in
/// another mode than `mode`).
fn initialised(vm: &mut Vm<'_>, setup: ObjId, mode: Option<u8>) -> Result<(ObjId, u8), Exc> {
    let s = store(vm, setup, SETUP_MIN)?;
    if s[INIT] != 1 || mode.is_some_and(|m| m != s[MODE]) {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    Ok((key, s[MODE]))
}

/// An initialised RSA private key as the raw operation takes it.
pub fn private(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId) -> Result<Private, Exc> {
    if !pubkey::initialized(vm, st)? {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    let mut c = Vec::new();
    let count = if k == Kind::RsaCrt { 5 } else { 2 };
    for i in 0..count {
        c.push(pubkey::component(vm, k, bits, st, i)?.unwrap_or_default());
    }
    let p = if k == Kind::RsaCrt {
        #[allow(unused_mut)]
        let mut p = Private::from_crt(bits, [&c[0], &c[1], &c[2], &c[3], &c[4]]);
        #[cfg(feature = "openssl")]
        if let Some(p) = p.as_mut() {
            p.fast = fast_crt(vm, st, &c);
        }
        p
    } else {
        Some(Private::from_exponent(&c[0], &c[1]))
    };
    match p {
        Some(p) => Ok(p),
        None => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    }
}

/// The CRT key of object `st` on OpenSSL: the one made before while its
/// components (`c`: P, Q, DP1, DQ1, PQ) are the same, else a new one.
#[cfg(feature = "openssl")]
fn fast_crt(
    vm: &mut Vm<'_>,
    st: ObjId,
    c: &[Vec<u8>],
) -> Option<std::sync::Arc<super::rsa_openssl::CrtKey>> {
    let mut id = zeroize::Zeroizing::new(Vec::with_capacity(c.iter().map(|v| v.len() + 2).sum()));
    for v in c {
        // Length-prefixed, so two different quintuples never read alike.
        id.extend_from_slice(&(v.len() as u16).to_be_bytes());
        id.extend_from_slice(v);
    }
    if let Some((seen, key)) = vm.env.crypto.rsa.get(&st) {
        if *seen == id {
            return Some(key.clone());
        }
    }
    let key = std::sync::Arc::new(super::rsa_openssl::CrtKey::new([
        &c[0], &c[1], &c[2], &c[3], &c[4],
    ])?);
    vm.env.crypto.rsa.insert(st, (id, key.clone()));
    Some(key)
}

/// Whether an RSA private key can run the schemes only the crate's own
/// key type implements (PSS signing, OAEP decryption): a CRT key can; a
/// modulus-and-exponent key when its primes can be recovered (public
/// exponent 65537, see super::rsa).
pub fn schemes_key(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId) -> Result<bool, Exc> {
    match k {
        Kind::RsaCrt => Ok(true),
        Kind::RsaPrivate => Ok(private(vm, k, bits, st)?.full().is_some()),
        _ => Ok(false),
    }
}

/// An initialised RSA public key.
pub fn public(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId) -> Result<rsa::RsaPublicKey, Exc> {
    if !pubkey::initialized(vm, st)? {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    let n = pubkey::component(vm, k, bits, st, MODULUS)?.unwrap_or_default();
    let e = pubkey::component(vm, k, bits, st, EXPONENT)?.unwrap_or_default();
    Ok(rsa_ops::public(&n, &e))
}

/// PSS of a MessageDigest.ALG_*, salt as long as the hash (the card's).
fn pss(md: u8) -> Pss {
    match md {
        1 => Pss::new::<Sha1>(),
        7 => Pss::new::<Sha224>(),
        4 => Pss::new::<Sha256>(),
        5 => Pss::new::<Sha384>(),
        _ => Pss::new::<Sha512>(),
    }
}

fn finish_sign(
    vm: &mut Vm<'_>,
    s: Scheme,
    md: u8,
    setup: ObjId,
    h: &[u8],
    out: i32,
    out_off: i32,
) -> Result<Ret, Exc> {
    let (key, _) = initialised(vm, setup, Some(MODE_SIGN))?;
    let (k, bits, st) = pubkey::asym_key(vm, key as i32)?;
    let mut rng = CardRng::of(vm);
    let sig = match s {
        Scheme::Ecdsa => {
            let (curve, sk) = ec::key_of(vm, k, bits, st)?;
            ec::sign(curve, &sk, h, &mut rng)
        }
        Scheme::Pkcs1 => {
            let p = private(vm, k, bits, st)?;
            let prefix = rsa_ops::digest_info(md).unwrap_or_default();
            let mut t = prefix.to_vec();
            t.extend_from_slice(h);
            rsa_ops::pad_type1(&t, p.len)
                .and_then(|em| p.raw(&em))
                .map(|v| v.to_vec())
        }
        Scheme::Pss => {
            let p = private(vm, k, bits, st)?;
            p.full()
                .and_then(|full| full.sign_with_rng(&mut rng, pss(md), h).ok())
        }
    };
    rng.check()?;
    let Some(sig) = sig else {
        // The key is no key of its kind (RSA: too short for the hash).
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    };
    check_bytes(vm, out, out_off, sig.len() as i32)?;
    write_bytes(vm, out, out_off as usize, &sig, false)?;
    Ok(Ret::Word(sig.len() as i32))
}

fn finish_verify(
    vm: &mut Vm<'_>,
    s: Scheme,
    md: u8,
    setup: ObjId,
    h: &[u8],
    sig: &[u8],
) -> Result<Ret, Exc> {
    let (key, _) = initialised(vm, setup, Some(MODE_VERIFY))?;
    let (k, bits, st) = pubkey::asym_key(vm, key as i32)?;
    let ok = match s {
        Scheme::Ecdsa => {
            let (curve, w) = ec::key_of(vm, k, bits, st)?;
            ec::verify(curve, &w, h, sig)
        }
        Scheme::Pkcs1 => {
            let pk = public(vm, k, bits, st)?;
            let scheme = Pkcs1v15Sign {
                hash_len: Some(h.len()),
                prefix: rsa_ops::digest_info(md).unwrap_or_default().into(),
            };
            pk.verify(scheme, h, sig).is_ok()
        }
        Scheme::Pss => {
            let pk = public(vm, k, bits, st)?;
            pk.verify(pss(md), h, sig).is_ok()
        }
    };
    Ok(Ret::Word(i32::from(ok)))
}
