//! KeyPair: a public and a private key, and genKeyPair, which draws new
//! key values from the card's RNG (so a test's fixed source makes them
//! reproducible).
//!
//! RSA keeps a public exponent already set in the public key, else uses
//! 65537. EC generates on the curve of the domain parameters already set
//! (the public key's, else the private key's) and copies them to the
//! other key; the API lets an implementation fall back to curves of its
//! own when none are set ("MAY"), but cards answer ILLEGAL_VALUE there,
//! and so does jct emu, so an applet that runs here sets its curve as it
//! must on a card.

use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};
use zeroize::Zeroizing;

use super::asym::Call;
use super::ec;
use super::pubkey::{self, ty, Kind, DOMAIN, EXPONENT, KEY, MODULUS};
use super::rng::CardRng;
use super::{crypto_exc, reason, store, State};
use crate::jcvm::heap::{NativeData, Obj, ObjId};
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::Sys;

/// KeyPair.ALG_*.
const ALG_RSA: i32 = 1;
const ALG_RSA_CRT: i32 = 2;
const ALG_EC_FP: i32 = 5;

/// Whether KeyPair(algorithm, bits) generates here: its two key types
/// are implemented in that length.
pub fn implemented(alg: i8, bits: u16) -> bool {
    let private = match i32::from(alg) {
        ALG_RSA => ty::RSA_PRIVATE,
        ALG_RSA_CRT => ty::RSA_CRT_PRIVATE,
        ALG_EC_FP => ty::EC_FP_PRIVATE,
        _ => return false,
    };
    pubkey::implemented(private, bits)
}

fn set_state(vm: &mut Vm<'_>, this: i32, s: State) -> Result<(), Exc> {
    match vm.heap.get_mut_untracked(this as ObjId) {
        Some(Obj::Instance { native, .. }) => {
            *native = NativeData::Crypto(s);
            Ok(())
        }
        _ => Err(Exc::Fatal("KeyPair state on a non-instance".into())),
    }
}

fn keys_of(vm: &mut Vm<'_>, this: i32) -> Result<(ObjId, ObjId), Exc> {
    if this == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get(this as ObjId) {
        Some(Obj::Instance {
            native: NativeData::Crypto(State::KeyPair { public, private }),
            ..
        }) => Ok((*public, *private)),
        // A KeyPair whose constructor threw.
        _ => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    }
}

fn word(r: Ret) -> Result<ObjId, Exc> {
    match r {
        Ret::Word(w) => Ok(w as ObjId),
        _ => Err(Exc::Fatal("buildKey returned no key".into())),
    }
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    match c {
        Call::KeyPairNew => {
            let (pt, st) = match a[1] as i8 as i32 {
                ALG_RSA => (ty::RSA_PUBLIC, ty::RSA_PRIVATE),
                ALG_RSA_CRT => (ty::RSA_PUBLIC, ty::RSA_CRT_PRIVATE),
                ALG_EC_FP => (ty::EC_FP_PUBLIC, ty::EC_FP_PRIVATE),
                _ => return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM)),
            };
            let bits = a[2];
            super::support::check(
                vm,
                super::support::AlgClass::KeyPair,
                a[1] as i8,
                Some(bits as i16 as u16),
            )?;
            let public = match pubkey::build(vm, i32::from(pt), bits) {
                Some(r) => word(r?)?,
                None => return Err(Exc::Fatal("no public key type".into())),
            };
            let private = match pubkey::build(vm, i32::from(st), bits) {
                Some(r) => word(r?)?,
                None => return Err(Exc::Fatal("no private key type".into())),
            };
            set_state(vm, a[0], State::KeyPair { public, private })?;
            Ok(Ret::Void)
        }
        Call::KeyPairWithKeys => {
            if a[1] == 0 || a[2] == 0 {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            let (pk, pbits, _) = pubkey::asym_key(vm, a[1])?;
            let (sk, sbits, _) = pubkey::asym_key(vm, a[2])?;
            let matched =
                pbits == sbits && !pk.is_private() && sk.is_private() && pk.is_rsa() == sk.is_rsa();
            if !matched {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            set_state(
                vm,
                a[0],
                State::KeyPair {
                    public: a[1] as ObjId,
                    private: a[2] as ObjId,
                },
            )?;
            Ok(Ret::Void)
        }
        Call::KeyPairPublic => Ok(Ret::Word(keys_of(vm, a[0])?.0 as i32)),
        Call::KeyPairPrivate => Ok(Ret::Word(keys_of(vm, a[0])?.1 as i32)),
        Call::KeyPairGenerate => {
            let (public, private) = keys_of(vm, a[0])?;
            let p = pubkey::asym_key(vm, public as i32)?;
            let s = pubkey::asym_key(vm, private as i32)?;
            if p.0.is_rsa() {
                generate_rsa(vm, p, s)
            } else {
                generate_ec(vm, p, s)
            }
        }
        _ => Err(Exc::Fatal("not a KeyPair method".into())),
    }
}

type Key = (Kind, u16, ObjId);

fn fixed(v: &BigUint, len: usize) -> Zeroizing<Vec<u8>> {
    let b = Zeroizing::new(v.to_bytes_be());
    let mut out = Zeroizing::new(vec![0u8; len.saturating_sub(b.len())]);
    out.extend_from_slice(&b[b.len().saturating_sub(len)..]);
    out
}

fn generate_rsa(vm: &mut Vm<'_>, p: Key, s: Key) -> Result<Ret, Exc> {
    let e = match pubkey::component(vm, p.0, p.1, p.2, EXPONENT)? {
        Some(e) => BigUint::from_bytes_be(&e),
        None => BigUint::from(65537u32),
    };
    // An exponent no key can have: even (the crate's search for primes
    // would never end), 1, or as long as a prime.
    let two = BigUint::from(2u8);
    if &e % &two == BigUint::default() || e <= two || e.bits() >= usize::from(p.1) / 2 {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let mut rng = CardRng::of(vm);
    let key = RsaPrivateKey::new_with_exp(&mut rng, usize::from(p.1), &e);
    rng.check()?;
    let Ok(mut key) = key else {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    };
    let _ = key.precompute();
    let n = usize::from(p.1) / 8;
    pubkey::put(vm, p.0, p.1, p.2, MODULUS, &fixed(key.n(), n))?;
    pubkey::put(vm, p.0, p.1, p.2, EXPONENT, &key.e().to_bytes_be())?;
    if s.0 == Kind::RsaCrt {
        let half = n.div_ceil(2);
        let primes = key.primes();
        let (dp, dq, qinv) = match (key.dp(), key.dq(), key.crt_coefficient()) {
            (Some(dp), Some(dq), Some(q)) => (dp.clone(), dq.clone(), q),
            _ => return Err(Exc::Fatal("a generated RSA key without CRT values".into())),
        };
        let parts = [&primes[0], &primes[1], &dp, &dq, &qinv];
        for (i, v) in parts.iter().enumerate() {
            pubkey::put(vm, s.0, s.1, s.2, i as u8, &fixed(v, half))?;
        }
    } else {
        pubkey::put(vm, s.0, s.1, s.2, MODULUS, &fixed(key.n(), n))?;
        pubkey::put(vm, s.0, s.1, s.2, EXPONENT, &fixed(key.d(), n))?;
    }
    Ok(Ret::Void)
}

fn generate_ec(vm: &mut Vm<'_>, p: Key, s: Key) -> Result<Ret, Exc> {
    let has = |vm: &Vm<'_>, k: Key| store(vm, k.2, 2).map(|b| b[1] & DOMAIN == DOMAIN);
    let (from, to) = if has(vm, p)? {
        (p, s)
    } else if has(vm, s)? {
        (s, p)
    } else {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    };
    let curve = ec::curve_of(vm, from.0, from.1, from.2)?;
    pubkey::copy_domain(vm, from, to)?;
    let mut rng = CardRng::of(vm);
    let (sk, w) = ec::generate(curve, &mut rng);
    rng.check()?;
    let sk = Zeroizing::new(sk);
    pubkey::put(vm, p.0, p.1, p.2, KEY, &w)?;
    pubkey::put(vm, s.0, s.1, s.2, KEY, &sk)?;
    Ok(Ret::Void)
}
