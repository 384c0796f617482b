//! KeyBuilder and the secret keys (AESKey, DESKey, HMACKey): the key bytes live in
//! a byte array of the key's memory type (byte 0 the initialised flag),
//! so a transient key is cleared, flag and bytes, whenever the JCRE
//! clears that kind of transient memory.

use zeroize::{Zeroize, Zeroizing};

use super::classes::{class_of, Impl};
use super::support::{self, AlgClass};
use super::{
    alloc_object, alloc_store, bytes, check_bytes, crypto_exc, key_state, reason, state_of, store,
    store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::{NativeData, Obj, ObjId, CLEAR_ON_DESELECT, CLEAR_ON_RESET, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// KeyBuilder.TYPE_* of the keys this module builds.
pub mod ty {
    pub const DES_TRANSIENT_RESET: u8 = 1;
    pub const DES_TRANSIENT_DESELECT: u8 = 2;
    pub const DES: u8 = 3;
    pub const AES_TRANSIENT_RESET: u8 = 13;
    pub const AES_TRANSIENT_DESELECT: u8 = 14;
    pub const AES: u8 = 15;
    pub const HMAC_TRANSIENT_RESET: u8 = 19;
    pub const HMAC_TRANSIENT_DESELECT: u8 = 20;
    pub const HMAC: u8 = 21;
}

/// The longest HMAC key setKey takes: the largest hash block (SHA-512's).
pub const HMAC_MAX: usize = 128;

/// KeyBuilder.ALG_TYPE_* (3.0.5 buildKey with a memory type).
const ALG_TYPE_DES: i32 = 1;
const ALG_TYPE_AES: i32 = 2;
const ALG_TYPE_HMAC: i32 = 9;

/// The algorithm family of a key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Des,
    Aes,
    Hmac,
}

/// Family and memory type (NOT_TRANSIENT, CLEAR_ON_RESET, CLEAR_ON_DESELECT).
pub fn family(t: u8) -> Option<(Family, u8)> {
    Some(match t {
        ty::DES_TRANSIENT_RESET => (Family::Des, CLEAR_ON_RESET),
        ty::DES_TRANSIENT_DESELECT => (Family::Des, CLEAR_ON_DESELECT),
        ty::DES => (Family::Des, NOT_TRANSIENT),
        ty::AES_TRANSIENT_RESET => (Family::Aes, CLEAR_ON_RESET),
        ty::AES_TRANSIENT_DESELECT => (Family::Aes, CLEAR_ON_DESELECT),
        ty::AES => (Family::Aes, NOT_TRANSIENT),
        ty::HMAC_TRANSIENT_RESET => (Family::Hmac, CLEAR_ON_RESET),
        ty::HMAC_TRANSIENT_DESELECT => (Family::Hmac, CLEAR_ON_DESELECT),
        ty::HMAC => (Family::Hmac, NOT_TRANSIENT),
        _ => return None,
    })
}

/// Whether buildKey makes keys of KeyBuilder type `t` and `bits` bits.
pub fn implemented(t: u8, bits: u16) -> bool {
    family(t).is_some_and(|(f, _)| size_ok(f, bits))
}

fn size_ok(f: Family, bits: u16) -> bool {
    match f {
        Family::Des => [64, 128, 192].contains(&bits),
        Family::Aes => [128, 192, 256].contains(&bits),
        // Any whole number of bytes up to the largest block.
        Family::Hmac => bits.is_multiple_of(8) && usize::from(bits / 8) <= HMAC_MAX,
    }
}

/// Bytes of a key's store: the flag, then the key (an HMAC key: a
/// two-byte length, then room for the longest key).
fn store_len(f: Family, bits: u16) -> usize {
    match f {
        Family::Hmac => 3 + HMAC_MAX,
        _ => 1 + usize::from(bits / 8),
    }
}

/// KeyBuilder.buildKey(keyType, keyLength, keyEncryption). keyEncryption
/// only asks for KeyEncryption support, which no key here needs.
pub fn build(vm: &mut Vm<'_>, key_type: i32, bits: i32) -> Result<Ret, Exc> {
    if let Some(r) = super::pubkey::build(vm, key_type, bits) {
        return r;
    }
    let t = key_type as u8;
    let Some((fam, memory)) = family(t).filter(|_| (1..=127).contains(&key_type)) else {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    };
    let bits = bits as i16;
    if bits <= 0 || !size_ok(fam, bits as u16) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    let bits = bits as u16;
    support::check(vm, AlgClass::KeyBuilder, t as i8, Some(bits))?;
    let class = class_of(
        vm,
        match fam {
            Family::Aes => Impl::AesKey,
            Family::Des => Impl::DesKey,
            Family::Hmac => Impl::HmacKey,
        },
    )?;
    let store = alloc_store(vm, store_len(fam, bits), memory)?;
    alloc_object(vm, class, State::Key { ty: t, bits, store }, &[store])
}

/// KeyBuilder.buildKey(algorithmicKeyType, keyMemoryType, keyLength,
/// keyEncryption) of 3.0.5: the same keys by algorithm and memory type
/// (JCSystem.MEMORY_TYPE_PERSISTENT, _TRANSIENT_RESET, _TRANSIENT_DESELECT).
pub fn build_memory_type(vm: &mut Vm<'_>, alg: i32, memory: i32, bits: i32) -> Result<Ret, Exc> {
    let t = match (alg as i8 as i32, memory as i8) {
        (ALG_TYPE_DES, 0) => ty::DES,
        (ALG_TYPE_DES, 1) => ty::DES_TRANSIENT_RESET,
        (ALG_TYPE_DES, 2) => ty::DES_TRANSIENT_DESELECT,
        (ALG_TYPE_AES, 0) => ty::AES,
        (ALG_TYPE_AES, 1) => ty::AES_TRANSIENT_RESET,
        (ALG_TYPE_AES, 2) => ty::AES_TRANSIENT_DESELECT,
        (ALG_TYPE_HMAC, 0) => ty::HMAC,
        (ALG_TYPE_HMAC, 1) => ty::HMAC_TRANSIENT_RESET,
        (ALG_TYPE_HMAC, 2) => ty::HMAC_TRANSIENT_DESELECT,
        (a, m) if super::pubkey::type_for(a, m).is_some() => {
            super::pubkey::type_for(a, m).unwrap_or_default()
        }
        _ => return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM)),
    };
    build(vm, i32::from(t), bits)
}

/// The key methods.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (t, bits, st) = match state_of(vm, a[0])? {
        State::Key { ty, bits, store } => (*ty, *bits, *store),
        _ => return Err(Exc::Fatal("a key method on another object".into())),
    };
    let fam = family(t).map(|f| f.0);
    let len = store_len(fam.unwrap_or(Family::Aes), bits);
    match c {
        Call::KeyClear => {
            store_mut(vm, st, 1)?.zeroize();
            Ok(Ret::Void)
        }
        Call::KeySize => Ok(Ret::Word(i32::from(bits as i16))),
        Call::KeyType => Ok(Ret::Word(i32::from(t as i8))),
        Call::KeyInitialized => Ok(Ret::Word(i32::from(store(vm, st, 1)?[0] == 1))),
        Call::SecretSetKey | Call::HmacSetKey => {
            let (at, n) = if c == Call::HmacSetKey {
                let n = a[3];
                if !(1..=HMAC_MAX as i32).contains(&n) {
                    check_bytes(vm, a[1], a[2], n.max(0))?;
                    return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
                }
                (3, n as usize)
            } else {
                (1, usize::from(bits / 8))
            };
            let key = Zeroizing::new(bytes(vm, a[1], a[2], n as i32)?.to_vec());
            let s = store_mut(vm, st, len)?;
            s.zeroize();
            s[at..at + n].copy_from_slice(&key);
            if at == 3 {
                s[1..3].copy_from_slice(&(n as u16).to_be_bytes());
            }
            s[0] = 1;
            Ok(Ret::Void)
        }
        Call::SecretGetKey => {
            let Ok((_, key)) = secret(vm, a[0]) else {
                return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
            };
            check_bytes(vm, a[1], a[2], key.len() as i32)?;
            write_bytes(vm, a[1], a[2] as usize, &key, true)?;
            Ok(Ret::Word(i32::from(key.len() as u8 as i8)))
        }
        _ => Err(Exc::Fatal("not a key method".into())),
    }
}

/// A secret key's family and bytes for an operation: ILLEGAL_VALUE for
/// a reference that is no key of this emulator, UNINITIALIZED_KEY for a
/// key without bytes.
pub fn secret(vm: &mut Vm<'_>, key: i32) -> Result<(Family, Zeroizing<Vec<u8>>), Exc> {
    if let Some((fam, k)) = secret_ref(vm, key) {
        return Ok((fam, Zeroizing::new(k.to_vec())));
    }
    secret_or_exception(vm, key)
}

/// A usable secret key's family and bytes, borrowed from the heap; `None`
/// for anything else (then [`secret`] says which exception). The hot path
/// of every Cipher and Signature call: no copy, no allocation.
pub fn secret_ref<'a>(vm: &'a Vm<'_>, key: i32) -> Option<(Family, &'a [u8])> {
    let Some(Obj::Instance {
        native:
            NativeData::Crypto(State::Key {
                ty,
                bits,
                store: st,
            }),
        ..
    }) = vm.heap.get(key as ObjId)
    else {
        return None;
    };
    let (fam, _) = family(*ty)?;
    let s = store(vm, *st, store_len(fam, *bits)).ok()?;
    if s[0] != 1 {
        return None;
    }
    let (at, n) = match fam {
        Family::Hmac => (
            3,
            usize::from(u16::from_be_bytes([s[1], s[2]])).min(HMAC_MAX),
        ),
        _ => (1, usize::from(*bits / 8)),
    };
    s.get(at..at + n).map(|k| (fam, k))
}

/// The slow path of [`secret`]: the exception for a key that is not usable.
fn secret_or_exception(vm: &mut Vm<'_>, key: i32) -> Result<(Family, Zeroizing<Vec<u8>>), Exc> {
    let (t, bits, st) = key_state(vm, key)?;
    let Some((fam, _)) = family(t) else {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    };
    let s = store(vm, st, store_len(fam, bits))?;
    if s[0] != 1 {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    let (at, n) = match fam {
        Family::Hmac => (
            3,
            usize::from(u16::from_be_bytes([s[1], s[2]])).min(HMAC_MAX),
        ),
        _ => (1, usize::from(bits / 8)),
    };
    Ok((fam, Zeroizing::new(s[at..at + n].to_vec())))
}

/// Whether `key` still holds key bytes (a cipher checks at every call).
pub fn is_initialized(vm: &Vm<'_>, key: ObjId) -> bool {
    match vm.heap.get(key) {
        Some(Obj::Instance {
            native: NativeData::Crypto(State::Key { store: st, .. }),
            ..
        }) => store(vm, *st, 1).is_ok_and(|s| s[0] == 1),
        _ => false,
    }
}
