//! The asymmetric keys KeyBuilder builds: RSAPublicKey, RSAPrivateKey,
//! RSAPrivateCrtKey, ECPublicKey and ECPrivateKey over F(p).
//!
//! As for the secret keys ([`super::keys`]) the key material lives in one
//! byte array of the key's memory type, so the JCRE's clearing of
//! transient memory clears a transient key. Layout: byte 0 the initialised
//! flag (every component the key needs is set), byte 1 a bit per component
//! set, then a slot per component: a two-byte length and room for the
//! largest value. A key is checked only when used: its domain parameters
//! name a curve then ([`super::ec`]).

use zeroize::Zeroize;

use super::classes::{class_of, Impl};
use super::{
    alloc_object, alloc_store, api_constant, bytes, check_bytes, crypto_exc, key_state, reason,
    state_of, store, store_mut, write_bytes, State,
};
use crate::jcvm::heap::{ObjId, CLEAR_ON_DESELECT, CLEAR_ON_RESET, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// KeyBuilder.TYPE_* of the keys this module builds.
pub mod ty {
    pub const RSA_PUBLIC: u8 = 4;
    pub const RSA_PRIVATE: u8 = 5;
    pub const RSA_CRT_PRIVATE: u8 = 6;
    pub const EC_FP_PUBLIC: u8 = 11;
    pub const EC_FP_PRIVATE: u8 = 12;
    pub const RSA_PRIVATE_TRANSIENT_RESET: u8 = 22;
    pub const RSA_PRIVATE_TRANSIENT_DESELECT: u8 = 23;
    pub const RSA_CRT_PRIVATE_TRANSIENT_RESET: u8 = 24;
    pub const RSA_CRT_PRIVATE_TRANSIENT_DESELECT: u8 = 25;
    pub const EC_FP_PRIVATE_TRANSIENT_RESET: u8 = 30;
    pub const EC_FP_PRIVATE_TRANSIENT_DESELECT: u8 = 31;
}

/// KeyBuilder.ALG_TYPE_* of 3.0.5's buildKey with a memory type.
pub const ALG_TYPE_EC_FP_PUBLIC: i32 = 7;
pub const ALG_TYPE_EC_FP_PRIVATE: i32 = 8;
pub const ALG_TYPE_RSA_PUBLIC: i32 = 11;
pub const ALG_TYPE_RSA_PRIVATE: i32 = 12;
pub const ALG_TYPE_RSA_CRT_PRIVATE: i32 = 13;

/// What kind of asymmetric key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RsaPublic,
    RsaPrivate,
    RsaCrt,
    EcPublic,
    EcPrivate,
}

impl Kind {
    pub fn is_rsa(self) -> bool {
        matches!(self, Kind::RsaPublic | Kind::RsaPrivate | Kind::RsaCrt)
    }
    pub fn is_private(self) -> bool {
        !matches!(self, Kind::RsaPublic | Kind::EcPublic)
    }
}

/// RSA components: modulus, then the public or private exponent.
pub const MODULUS: u8 = 0;
pub const EXPONENT: u8 = 1;
/// RSA CRT components.
pub const P: u8 = 0;
pub const Q: u8 = 1;
pub const DP1: u8 = 2;
pub const DQ1: u8 = 3;
pub const PQ: u8 = 4;
/// EC components: the domain parameters, the cofactor, then W or S.
pub const FIELD: u8 = 0;
pub const A: u8 = 1;
pub const B: u8 = 2;
pub const G: u8 = 3;
pub const R: u8 = 4;
pub const K: u8 = 5;
pub const KEY: u8 = 6;
/// The bits of the EC domain parameters (the cofactor is optional: every
/// curve recognised has cofactor 1).
pub const DOMAIN: u8 = 0b1_1111;

/// Kind and memory type (NOT_TRANSIENT, CLEAR_ON_RESET, CLEAR_ON_DESELECT).
pub fn kind(t: u8) -> Option<(Kind, u8)> {
    use ty::*;
    Some(match t {
        RSA_PUBLIC => (Kind::RsaPublic, NOT_TRANSIENT),
        RSA_PRIVATE => (Kind::RsaPrivate, NOT_TRANSIENT),
        RSA_PRIVATE_TRANSIENT_RESET => (Kind::RsaPrivate, CLEAR_ON_RESET),
        RSA_PRIVATE_TRANSIENT_DESELECT => (Kind::RsaPrivate, CLEAR_ON_DESELECT),
        RSA_CRT_PRIVATE => (Kind::RsaCrt, NOT_TRANSIENT),
        RSA_CRT_PRIVATE_TRANSIENT_RESET => (Kind::RsaCrt, CLEAR_ON_RESET),
        RSA_CRT_PRIVATE_TRANSIENT_DESELECT => (Kind::RsaCrt, CLEAR_ON_DESELECT),
        EC_FP_PUBLIC => (Kind::EcPublic, NOT_TRANSIENT),
        EC_FP_PRIVATE => (Kind::EcPrivate, NOT_TRANSIENT),
        EC_FP_PRIVATE_TRANSIENT_RESET => (Kind::EcPrivate, CLEAR_ON_RESET),
        EC_FP_PRIVATE_TRANSIENT_DESELECT => (Kind::EcPrivate, CLEAR_ON_DESELECT),
        _ => return None,
    })
}

/// Bytes of a field element of an EC key of `bits`.
pub fn field_len(bits: u16) -> usize {
    usize::from(bits).div_ceil(8)
}

/// The room of each component's slot.
fn caps(k: Kind, bits: u16) -> Vec<usize> {
    let n = usize::from(bits) / 8;
    let f = field_len(bits);
    match k {
        Kind::RsaPublic | Kind::RsaPrivate => vec![n, n],
        Kind::RsaCrt => vec![n.div_ceil(2); 5],
        Kind::EcPublic => vec![f, f, f, 1 + 2 * f, f + 1, 2, 1 + 2 * f],
        Kind::EcPrivate => vec![f, f, f, 1 + 2 * f, f + 1, 2, f],
    }
}

/// The components the key needs to be initialised.
fn required(k: Kind) -> u8 {
    match k {
        Kind::RsaPublic | Kind::RsaPrivate => 0b11,
        Kind::RsaCrt => 0b1_1111,
        Kind::EcPublic | Kind::EcPrivate => DOMAIN | 1 << KEY,
    }
}

/// Offset and room of component `c` (`c` is one the kind has: the
/// natives of each interface name only its own components).
fn slot(k: Kind, bits: u16, c: u8) -> Result<(usize, usize), Exc> {
    let caps = caps(k, bits);
    let c = usize::from(c);
    if c >= caps.len() {
        return Err(Exc::Fatal(format!("no component {c} in a {k:?} key")));
    }
    let at = 2 + caps[..c].iter().map(|n| n + 2).sum::<usize>();
    Ok((at, caps[c]))
}

fn store_len(k: Kind, bits: u16) -> usize {
    2 + caps(k, bits).iter().map(|n| n + 2).sum::<usize>()
}

fn size_ok(vm: &Vm<'_>, k: Kind, bits: u16) -> bool {
    if k.is_rsa() {
        (512..=4096).contains(&bits) && bits.is_multiple_of(32)
    } else {
        api_constant(
            vm,
            "javacard/security/KeyBuilder",
            "LENGTH_EC_FP_",
            i64::from(bits),
        )
    }
}

/// Whether keys of KeyBuilder type `t` and `bits` work here (for the
/// profile's "implemented" view): RSA of 512 to 4,096 bits in steps of 32,
/// EC F(p) on the curves recognised (256, 384 and 521 bits).
pub fn implemented(t: u8, bits: u16) -> bool {
    match kind(t) {
        Some((k, _)) if k.is_rsa() => (512..=4096).contains(&bits) && bits.is_multiple_of(32),
        Some(_) => [256, 384, 521].contains(&bits),
        None => false,
    }
}

/// KeyBuilder.buildKey for an asymmetric key type; `None` for a type
/// that is none of these.
pub fn build(vm: &mut Vm<'_>, key_type: i32, bits: i32) -> Option<Result<Ret, Exc>> {
    let t = key_type as u8;
    let (k, memory) = kind(t).filter(|_| (1..=127).contains(&key_type))?;
    Some(build_kind(vm, t, k, memory, bits))
}

fn build_kind(vm: &mut Vm<'_>, t: u8, k: Kind, memory: u8, bits: i32) -> Result<Ret, Exc> {
    let bits = bits as i16;
    if bits <= 0 || !size_ok(vm, k, bits as u16) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    let bits = bits as u16;
    super::support::check(
        vm,
        super::support::AlgClass::KeyBuilder,
        t as i8,
        Some(bits),
    )?;
    let class = class_of(
        vm,
        match k {
            Kind::RsaPublic => Impl::RsaPublicKey,
            Kind::RsaPrivate => Impl::RsaPrivateKey,
            Kind::RsaCrt => Impl::RsaCrtKey,
            Kind::EcPublic => Impl::EcPublicKey,
            Kind::EcPrivate => Impl::EcPrivateKey,
        },
    )?;
    let store = alloc_store(vm, store_len(k, bits), memory)?;
    alloc_object(vm, class, State::Key { ty: t, bits, store }, &[store])
}

/// The KeyBuilder.TYPE_* of 3.0.5's (algorithm, memory type) for the
/// keys here: public keys are persistent only (no TYPE_ names another).
pub fn type_for(alg: i32, memory: i8) -> Option<u8> {
    use ty::*;
    Some(match (alg, memory) {
        (ALG_TYPE_RSA_PUBLIC, 0) => RSA_PUBLIC,
        (ALG_TYPE_RSA_PRIVATE, 0) => RSA_PRIVATE,
        (ALG_TYPE_RSA_PRIVATE, 1) => RSA_PRIVATE_TRANSIENT_RESET,
        (ALG_TYPE_RSA_PRIVATE, 2) => RSA_PRIVATE_TRANSIENT_DESELECT,
        (ALG_TYPE_RSA_CRT_PRIVATE, 0) => RSA_CRT_PRIVATE,
        (ALG_TYPE_RSA_CRT_PRIVATE, 1) => RSA_CRT_PRIVATE_TRANSIENT_RESET,
        (ALG_TYPE_RSA_CRT_PRIVATE, 2) => RSA_CRT_PRIVATE_TRANSIENT_DESELECT,
        (ALG_TYPE_EC_FP_PUBLIC, 0) => EC_FP_PUBLIC,
        (ALG_TYPE_EC_FP_PRIVATE, 0) => EC_FP_PRIVATE,
        (ALG_TYPE_EC_FP_PRIVATE, 1) => EC_FP_PRIVATE_TRANSIENT_RESET,
        (ALG_TYPE_EC_FP_PRIVATE, 2) => EC_FP_PRIVATE_TRANSIENT_DESELECT,
        _ => return None,
    })
}

/// An asymmetric key of this emulator: kind, size, store (ILLEGAL_VALUE
/// for anything else, as an operation's init answers a wrong key).
pub fn asym_key(vm: &mut Vm<'_>, r: i32) -> Result<(Kind, u16, ObjId), Exc> {
    let (t, bits, st) = key_state(vm, r)?;
    match kind(t) {
        Some((k, _)) => Ok((k, bits, st)),
        None => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    }
}

fn this_key(vm: &mut Vm<'_>, r: i32) -> Result<(u8, Kind, u16, ObjId), Exc> {
    match state_of(vm, r)? {
        State::Key { ty, bits, store } => match kind(*ty) {
            Some((k, _)) => Ok((*ty, k, *bits, *store)),
            None => Err(Exc::Fatal("an asymmetric key method on another key".into())),
        },
        _ => Err(Exc::Fatal("a key method on another object".into())),
    }
}

/// A component's value (`None` when not set).
pub fn component(
    vm: &Vm<'_>,
    k: Kind,
    bits: u16,
    st: ObjId,
    c: u8,
) -> Result<Option<Vec<u8>>, Exc> {
    let s = store(vm, st, store_len(k, bits))?;
    if s[1] & (1 << c) == 0 {
        return Ok(None);
    }
    let (at, cap) = slot(k, bits, c)?;
    let n = usize::from(u16::from_be_bytes([s[at], s[at + 1]])).min(cap);
    Ok(Some(s[at + 2..at + 2 + n].to_vec()))
}

/// Whether every component the key needs is set.
pub fn initialized(vm: &Vm<'_>, st: ObjId) -> Result<bool, Exc> {
    Ok(store(vm, st, 2)?[0] == 1)
}

/// Sets a component (its bytes already checked), updating the flag.
pub fn put(vm: &mut Vm<'_>, k: Kind, bits: u16, st: ObjId, c: u8, v: &[u8]) -> Result<(), Exc> {
    let (at, cap) = slot(k, bits, c)?;
    let s = store_mut(vm, st, store_len(k, bits))?;
    let n = v.len().min(cap);
    s[at..at + 2 + cap].zeroize();
    s[at..at + 2].copy_from_slice(&(n as u16).to_be_bytes());
    s[at + 2..at + 2 + n].copy_from_slice(&v[..n]);
    s[1] |= 1 << c;
    s[0] = u8::from(s[1] & required(k) == required(k));
    Ok(())
}

/// Wipes the key (clearKey, or a key generation that failed).
pub fn wipe(vm: &mut Vm<'_>, st: ObjId) -> Result<(), Exc> {
    store_mut(vm, st, 2)?.zeroize();
    Ok(())
}

/// The value a setter takes, or `None` when its length does not fit the
/// key (ILLEGAL_VALUE): integers may carry leading zero bytes beyond
/// the key's length (a sign byte), points must be uncompressed
/// (04 || x || y) of the field's length.
fn accept(k: Kind, bits: u16, c: u8, v: &[u8]) -> Option<Vec<u8>> {
    let (_, cap) = slot(k, bits, c).ok()?;
    let point = !k.is_rsa() && (c == G || (c == KEY && k == Kind::EcPublic));
    if point {
        return (v.len() == cap && v[0] == 4).then(|| v.to_vec());
    }
    if v.is_empty() {
        return None;
    }
    if k.is_rsa() && c == MODULUS {
        // The modulus has the key's length, less nothing.
        let v = strip(v, cap);
        return (v.len() == cap && v[0] != 0).then(|| v.to_vec());
    }
    let v = strip(v, cap);
    (v.len() <= cap).then(|| v.to_vec())
}

/// Leading zero bytes off, down to `cap` bytes at most.
fn strip(mut v: &[u8], cap: usize) -> &[u8] {
    while v.len() > cap && v[0] == 0 {
        v = &v[1..];
    }
    v
}

/// The key methods (`a`: this first).
pub fn call(vm: &mut Vm<'_>, c: super::asym::Call, a: &[i32]) -> Result<Ret, Exc> {
    use super::asym::Call as C;
    let (t, k, bits, st) = this_key(vm, a[0])?;
    match c {
        C::KeyClear => {
            wipe(vm, st)?;
            Ok(Ret::Void)
        }
        C::KeySize => Ok(Ret::Word(i32::from(bits as i16))),
        C::KeyType => Ok(Ret::Word(i32::from(t as i8))),
        C::KeyInitialized => Ok(Ret::Word(i32::from(initialized(vm, st)?))),
        C::Set(comp) => {
            let v = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let Some(v) = accept(k, bits, comp, &v) else {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            };
            put(vm, k, bits, st, comp, &v)?;
            Ok(Ret::Void)
        }
        C::Get(comp) => {
            let Some(v) = component(vm, k, bits, st, comp)? else {
                return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
            };
            check_bytes(vm, a[1], a[2], v.len() as i32)?;
            write_bytes(vm, a[1], a[2] as usize, &v, true)?;
            Ok(Ret::Word(v.len() as i32))
        }
        C::SetK => {
            let kk = (a[1] as i16).to_be_bytes();
            if a[1] as i16 <= 0 {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            put(vm, k, bits, st, K, &kk)?;
            Ok(Ret::Void)
        }
        C::GetK => match component(vm, k, bits, st, K)? {
            Some(v) if v.len() == 2 => Ok(Ret::Word(i32::from(i16::from_be_bytes([v[0], v[1]])))),
            _ => Err(crypto_exc(vm, reason::UNINITIALIZED_KEY)),
        },
        // Characteristic-2 fields on an F(p) key.
        C::SetF2m => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
        C::CopyDomain => {
            let (sk, sbits, sst) = asym_key(vm, a[1])?;
            if sk.is_rsa() || sbits != bits {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            copy_domain(vm, (sk, sbits, sst), (k, bits, st))
        }
        _ => Err(Exc::Fatal("not a key method".into())),
    }
}

/// Copies the domain parameters of one EC key into another of the same
/// size (ECKey.copyDomainParametersFrom, KeyPair.genKeyPair).
pub fn copy_domain(
    vm: &mut Vm<'_>,
    from: (Kind, u16, ObjId),
    to: (Kind, u16, ObjId),
) -> Result<Ret, Exc> {
    let s = store(vm, from.2, 2)?;
    if s[1] & DOMAIN != DOMAIN {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    for c in [FIELD, A, B, G, R, K] {
        if let Some(v) = component(vm, from.0, from.1, from.2, c)? {
            put(vm, to.0, to.1, to.2, c, &v)?;
        }
    }
    Ok(Ret::Void)
}
