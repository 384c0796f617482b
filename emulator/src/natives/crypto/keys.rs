//! KeyBuilder and the secret keys (AESKey, DESKey): the key bytes live in
//! a byte array of the key's memory type (byte 0 the initialised flag),
//! so a transient key is cleared, flag and bytes, whenever the JCRE
//! clears that kind of transient memory.

use zeroize::{Zeroize, Zeroizing};

use super::classes::{class_of, Impl};
use super::{
    alloc_store, bytes, check_bytes, crypto_exc, key_state, reason, state_of, store, store_mut,
    write_bytes, Call, State,
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
}

/// KeyBuilder.ALG_TYPE_* (3.0.5 buildKey with a memory type).
const ALG_TYPE_DES: i32 = 1;
const ALG_TYPE_AES: i32 = 2;

/// The algorithm family of a key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Des,
    Aes,
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
        _ => return None,
    })
}

fn sizes(f: Family) -> &'static [u16] {
    match f {
        Family::Des => &[64, 128, 192],
        Family::Aes => &[128, 192, 256],
    }
}

/// KeyBuilder.buildKey(keyType, keyLength, keyEncryption). keyEncryption
/// only asks for KeyEncryption support, which no key here needs.
pub fn build(vm: &mut Vm<'_>, key_type: i32, bits: i32) -> Result<Ret, Exc> {
    let t = key_type as u8;
    let Some((fam, memory)) = family(t).filter(|_| (1..=127).contains(&key_type)) else {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    };
    let bits = bits as i16;
    if bits <= 0 || !sizes(fam).contains(&(bits as u16)) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    let bits = bits as u16;
    let store = alloc_store(vm, 1 + usize::from(bits / 8), memory)?;
    let class = class_of(
        vm,
        match fam {
            Family::Aes => Impl::AesKey,
            Family::Des => Impl::DesKey,
        },
    )?;
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        native: NativeData::Crypto(State::Key { ty: t, bits, store }),
    };
    match vm.alloc(obj) {
        Ok(id) => Ok(Ret::Word(id as i32)),
        Err(e) => {
            vm.heap.free(store);
            Err(e)
        }
    }
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
    let n = usize::from(bits / 8);
    match c {
        Call::KeyClear => {
            // The bytes, not the Vec: the store keeps its length.
            store_mut(vm, st, 1)?.zeroize();
            Ok(Ret::Void)
        }
        Call::KeySize => Ok(Ret::Word(i32::from(bits as i16))),
        Call::KeyType => Ok(Ret::Word(i32::from(t as i8))),
        Call::KeyInitialized => Ok(Ret::Word(i32::from(store(vm, st, 1 + n)?[0] == 1))),
        Call::SecretSetKey => {
            let key = Zeroizing::new(bytes(vm, a[1], a[2], n as i32)?.to_vec());
            let s = store_mut(vm, st, 1 + n)?;
            s[1..=n].copy_from_slice(&key);
            s[0] = 1;
            Ok(Ret::Void)
        }
        Call::SecretGetKey => {
            if store(vm, st, 1 + n)?[0] != 1 {
                return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
            }
            check_bytes(vm, a[1], a[2], n as i32)?;
            let key = Zeroizing::new(store(vm, st, 1 + n)?[1..=n].to_vec());
            write_bytes(vm, a[1], a[2] as usize, &key, true)?;
            Ok(Ret::Word(i32::from(n as u8 as i8)))
        }
        _ => Err(Exc::Fatal("not a key method".into())),
    }
}

/// A secret key's family and bytes for an operation: ILLEGAL_VALUE for
/// a reference that is no key of this emulator, UNINITIALIZED_KEY for a
/// key without bytes.
pub fn secret(vm: &mut Vm<'_>, key: i32) -> Result<(Family, Zeroizing<Vec<u8>>), Exc> {
    let (t, bits, st) = key_state(vm, key)?;
    let Some((fam, _)) = family(t) else {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    };
    let n = usize::from(bits / 8);
    let s = store(vm, st, 1 + n)?;
    if s[0] != 1 {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    Ok((fam, Zeroizing::new(s[1..=n].to_vec())))
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
