//! KeyAgreement over F(p): ALG_EC_SVDP_DH (the SHA-1 hash of the shared
//! point's x coordinate, as the API defines it), ALG_EC_SVDP_DH_PLAIN
//! (x itself) and ALG_EC_SVDP_DH_PLAIN_XY (the uncompressed point,
//! 04 || x || y). generateSecret takes the other party's public point
//! uncompressed. The private key reference lives in a persistent setup
//! array, as a Signature's.

use sha1::{Digest, Sha1};

use super::asym::Call;
use super::classes::{class_of, Impl};
use super::ec;
use super::pubkey::{self, Kind};
use super::{
    alloc_object, alloc_store, api_constant, bytes, check_bytes, crypto_exc, reason, state_of,
    store, store_mut, write_bytes, State,
};
use crate::jcvm::heap::{ObjId, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};

const DH: u8 = 1;
const DH_PLAIN: u8 = 3;
const DH_PLAIN_XY: u8 = 6;
const SETUP_LEN: usize = 5;

/// The KeyAgreement algorithms here: EC_SVDP_DH, _PLAIN and _PLAIN_XY.
pub fn implemented(a: u8) -> bool {
    [DH, DH_PLAIN, DH_PLAIN_XY].contains(&a)
}

/// KeyAgreement.getInstance(algorithm, externalAccess).
pub fn get_instance(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    let a = alg as u8;
    let named = api_constant(
        vm,
        "javacard/security/KeyAgreement",
        "ALG_",
        i64::from(alg as i8),
    );
    if !named || !implemented(a) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    super::support::check(vm, super::support::AlgClass::KeyAgreement, a as i8, None)?;
    let class = class_of(vm, Impl::KeyAgreement)?;
    let setup = alloc_store(vm, SETUP_LEN, NOT_TRANSIENT)?;
    alloc_object(vm, class, State::Agreement { alg: a, setup }, &[setup])
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (alg, setup) = match state_of(vm, a[0])? {
        State::Agreement { alg, setup } => (*alg, *setup),
        _ => return Err(Exc::Fatal("a KeyAgreement method on another object".into())),
    };
    match c {
        Call::AgreementGetAlgorithm => Ok(Ret::Word(i32::from(alg as i8))),
        Call::AgreementInit => {
            let (k, bits, st) = pubkey::asym_key(vm, a[1])?;
            if k != Kind::EcPrivate {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            ec::key_of(vm, k, bits, st)?;
            let s = store_mut(vm, setup, SETUP_LEN)?;
            s[0] = 1;
            s[1..5].copy_from_slice(&(a[1] as u32).to_be_bytes());
            Ok(Ret::Void)
        }
        Call::AgreementGenerate => {
            let s = store(vm, setup, SETUP_LEN)?;
            if s[0] != 1 {
                return Err(crypto_exc(vm, reason::INVALID_INIT));
            }
            let key = u32::from_be_bytes([s[1], s[2], s[3], s[4]]) as ObjId;
            let (k, bits, st) = pubkey::asym_key(vm, key as i32)?;
            let (curve, sk) = ec::key_of(vm, k, bits, st)?;
            let w = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let Some(point) = ec::shared_point(curve, &sk, &w) else {
                // Not a point of the key's curve.
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            };
            let f = ec::field_len(curve);
            let x = &point[1..1 + f];
            let out = match alg {
                DH => Sha1::digest(x).to_vec(),
                DH_PLAIN => x.to_vec(),
                _ => point.clone(),
            };
            check_bytes(vm, a[4], a[5], out.len() as i32)?;
            write_bytes(vm, a[4], a[5] as usize, &out, false)?;
            Ok(Ret::Word(out.len() as i32))
        }
        _ => Err(Exc::Fatal("not a KeyAgreement method".into())),
    }
}
