//! The natives of the asymmetric API that are not Signature or Cipher
//! algorithms: the RSA and EC key interfaces ([`super::pubkey`]), KeyPair
//! ([`super::keypair`]), KeyAgreement ([`super::agreement`]) and the
//! Signature methods only asymmetric algorithms have (the precomputed
//! hash forms, [`super::asym_sig`]).

use super::pubkey::{self, A, B, EXPONENT, FIELD, G, KEY, MODULUS, R};
use super::{agreement, asym_sig, keypair};
use crate::jcvm::interp::{Exc, Ret, Vm};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    KeyClear,
    KeySize,
    KeyType,
    KeyInitialized,
    /// A component setter or getter (pubkey's component numbers).
    Set(u8),
    Get(u8),
    SetK,
    GetK,
    SetF2m,
    CopyDomain,
    KeyPairNew,
    KeyPairWithKeys,
    KeyPairGenerate,
    KeyPairPublic,
    KeyPairPrivate,
    AgreementGetInstance,
    AgreementInit,
    AgreementGetAlgorithm,
    AgreementGenerate,
    SignPreComputed,
    VerifyPreComputed,
}

const KEYS: [&str; 5] = [
    "RSAPublicKey",
    "RSAPrivateKey",
    "RSAPrivateCrtKey",
    "ECPublicKey",
    "ECPrivateKey",
];

/// The native of a method of these classes (`simple`: the class's name
/// without its package).
pub fn lookup(simple: &str, name: &str, d: &str) -> Option<Call> {
    use Call as C;
    if KEYS.contains(&simple) || simple == "ECKey" {
        let crt = simple == "RSAPrivateCrtKey";
        return Some(match (name, d) {
            ("clearKey", "()V") => C::KeyClear,
            ("getSize", "()S") => C::KeySize,
            ("getType", "()B") => C::KeyType,
            ("isInitialized", "()Z") => C::KeyInitialized,
            ("setModulus", "([BSS)V") => C::Set(MODULUS),
            ("setExponent", "([BSS)V") => C::Set(EXPONENT),
            ("getModulus", "([BS)S") => C::Get(MODULUS),
            ("getExponent", "([BS)S") => C::Get(EXPONENT),
            ("setP", "([BSS)V") if crt => C::Set(pubkey::P),
            ("setQ", "([BSS)V") if crt => C::Set(pubkey::Q),
            ("setDP1", "([BSS)V") if crt => C::Set(pubkey::DP1),
            ("setDQ1", "([BSS)V") if crt => C::Set(pubkey::DQ1),
            ("setPQ", "([BSS)V") if crt => C::Set(pubkey::PQ),
            ("getP", "([BS)S") if crt => C::Get(pubkey::P),
            ("getQ", "([BS)S") if crt => C::Get(pubkey::Q),
            ("getDP1", "([BS)S") if crt => C::Get(pubkey::DP1),
            ("getDQ1", "([BS)S") if crt => C::Get(pubkey::DQ1),
            ("getPQ", "([BS)S") if crt => C::Get(pubkey::PQ),
            ("setFieldFP", "([BSS)V") => C::Set(FIELD),
            ("setA", "([BSS)V") => C::Set(A),
            ("setB", "([BSS)V") => C::Set(B),
            ("setG", "([BSS)V") => C::Set(G),
            ("setR", "([BSS)V") => C::Set(R),
            ("setW", "([BSS)V") | ("setS", "([BSS)V") => C::Set(KEY),
            ("getField", "([BS)S") => C::Get(FIELD),
            ("getA", "([BS)S") => C::Get(A),
            ("getB", "([BS)S") => C::Get(B),
            ("getG", "([BS)S") => C::Get(G),
            ("getR", "([BS)S") => C::Get(R),
            ("getW", "([BS)S") | ("getS", "([BS)S") => C::Get(KEY),
            ("setK", "(S)V") => C::SetK,
            ("getK", "()S") => C::GetK,
            ("setFieldF2M", _) => C::SetF2m,
            ("copyDomainParametersFrom", _) => C::CopyDomain,
            _ => return None,
        });
    }
    Some(match (simple, name, d) {
        ("KeyPair", "<init>", "(BS)V") => C::KeyPairNew,
        ("KeyPair", "<init>", _) => C::KeyPairWithKeys,
        ("KeyPair", "genKeyPair", "()V") => C::KeyPairGenerate,
        ("KeyPair", "getPublic", _) => C::KeyPairPublic,
        ("KeyPair", "getPrivate", _) => C::KeyPairPrivate,
        ("KeyAgreement", "getInstance", "(BZ)Ljavacard/security/KeyAgreement;") => {
            C::AgreementGetInstance
        }
        ("KeyAgreement", "init", _) => C::AgreementInit,
        ("KeyAgreement", "getAlgorithm", "()B") => C::AgreementGetAlgorithm,
        ("KeyAgreement", "generateSecret", "([BSS[BS)S") => C::AgreementGenerate,
        ("Signature", "signPreComputedHash", "([BSS[BS)S") => C::SignPreComputed,
        ("Signature", "verifyPreComputedHash", "([BSS[BSS)Z") => C::VerifyPreComputed,
        _ => return None,
    })
}

pub fn call(vm: &mut Vm<'_>, c: Call, w: &[i32]) -> Result<Ret, Exc> {
    use Call as C;
    match c {
        C::KeyPairNew
        | C::KeyPairWithKeys
        | C::KeyPairGenerate
        | C::KeyPairPublic
        | C::KeyPairPrivate => keypair::call(vm, c, w),
        C::AgreementGetInstance => agreement::get_instance(vm, w[0]),
        C::AgreementInit | C::AgreementGetAlgorithm | C::AgreementGenerate => {
            agreement::call(vm, c, w)
        }
        C::SignPreComputed | C::VerifyPreComputed => asym_sig::precomputed(vm, c, w),
        _ => pubkey::call(vm, c, w),
    }
}
