//! MessageDigest SHA-1, SHA-224, SHA-256, SHA-384 and SHA-512 (sha1,
//! sha2). A digest in progress is volatile ([`super::live`]): a reset
//! returns the object to its initial state, as the API specifies.

use super::classes::{class_of, Impl};
use super::live;
use super::resumable;
use super::support::{self, AlgClass};
use super::{
    api_constant, bytes, check_bytes, crypto_exc, reason, state_of, write_bytes, Call, State,
};
use crate::jcvm::heap::{NativeData, Obj, ObjId};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// MessageDigest.getInstance(algorithm, externalAccess).
pub fn get_instance(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    make(vm, alg, Impl::MessageDigest)
}

/// MessageDigest.getInitializedMessageDigestInstance(algorithm,
/// externalAccess): the same digests, resumable ([`resumable`]).
pub fn get_initialized(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    if resumable::Resumed::new(alg as u8).is_none() {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    make(vm, alg, Impl::InitializedMessageDigest)
}

fn make(vm: &mut Vm<'_>, alg: i32, imp: Impl) -> Result<Ret, Exc> {
    let a = alg as u8;
    let named = api_constant(
        vm,
        "javacard/security/MessageDigest",
        "ALG_",
        i64::from(alg as i8),
    );
    if !named || live::digest(a).is_none() {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    support::check(vm, AlgClass::MessageDigest, a as i8, None)?;
    let class = class_of(vm, imp)?;
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        owner: vm.env.context,
        native: NativeData::Crypto(State::Digest { alg: a }),
    };
    Ok(Ret::Word(vm.alloc(obj)? as i32))
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let alg = match state_of(vm, a[0])? {
        State::Digest { alg } => *alg,
        _ => {
            return Err(Exc::Fatal(
                "a MessageDigest method on another object".into(),
            ))
        }
    };
    let id = a[0] as ObjId;
    let fresh = || live::digest(alg).ok_or_else(|| Exc::Fatal("unknown digest".into()));
    match c {
        Call::DigestGetAlgorithm => Ok(Ret::Word(i32::from(alg as i8))),
        Call::DigestGetLength => Ok(Ret::Word(i32::from(fresh()?.output_size() as u8 as i8))),
        Call::DigestReset => {
            vm.env.crypto.digests.remove(&id);
            Ok(Ret::Void)
        }
        Call::DigestSetInitial => {
            // setInitialDigest(initialDigestBuf, off, len, digestedMsgLenBuf, off, len).
            let state = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let done = bytes(vm, a[4], a[5], a[6])?.to_vec();
            match resumable::Resumed::resume(alg, &state, &done) {
                Some(r) => {
                    vm.env.crypto.digests.insert(id, Box::new(r));
                    Ok(Ret::Void)
                }
                None => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
            }
        }
        Call::DigestUpdate | Call::DigestDoFinal => {
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut d = match vm.env.crypto.digests.remove(&id) {
                Some(d) => d,
                None => fresh()?,
            };
            d.update(&data);
            if c == Call::DigestUpdate {
                vm.env.crypto.digests.insert(id, d);
                return Ok(Ret::Void);
            }
            let out = d.finalize_reset();
            check_bytes(vm, a[4], a[5], out.len() as i32)?;
            write_bytes(vm, a[4], a[5] as usize, &out, false)?;
            Ok(Ret::Word(i32::from(out.len() as i16)))
        }
        _ => Err(Exc::Fatal("not a MessageDigest method".into())),
    }
}
