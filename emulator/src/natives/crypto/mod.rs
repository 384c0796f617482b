//! javacard.security and javacardx.crypto in Rust, on RustCrypto: the key
//! objects KeyBuilder builds, Cipher, RandomData, CryptoException.
//! The asymmetric part: RSA and EC F(p) keys ([`pubkey`]), their
//! arithmetic ([`rsa`], [`ec`] on the curves of [`ec_curves`]), Signature
//! and Cipher algorithms ([`asym_sig`], [`asym_cipher`]), KeyPair
//! ([`keypair`]) and KeyAgreement ([`agreement`]), their natives listed in
//! [`asym`], randomness from the card's source ([`rng`]).
//!
//! API objects are instances of emulator classes ([`classes`]) that
//! implement the API's interfaces or extend its abstract classes, like a
//! card's own implementation classes; their state ([`State`]) is kept in
//! the object's native data, their key material and working state in byte
//! arrays of the heap the key or cipher owns: persistent for persistent
//! keys, CLEAR_ON_RESET or CLEAR_ON_DESELECT for transient ones, so the
//! JCRE's clearing of transient memory clears them as the API specifies.
//! Key bytes are never logged ([`State`]'s Debug names no bytes; the arrays
//! are wiped with zeroize on clearKey).

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits: the narrowing
// casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

pub mod aead;
pub mod agreement;
pub mod asym;
pub mod asym_cipher;
pub mod asym_sig;
pub mod block;
pub mod checksum;
pub mod cipher;
pub mod classes;
pub mod digest;
pub mod ec;
pub mod ec_curves;
pub mod keypair;
pub mod keys;
pub mod live;
pub mod padding;
pub mod pubkey;
pub mod random;
pub mod resumable;
pub mod rng;
pub mod rsa;
#[cfg(feature = "openssl")]
pub mod rsa_openssl;
pub mod signature;
pub mod support;
#[cfg(feature = "openssl")]
pub mod tdes_openssl;

use serde::{Deserialize, Serialize};

use crate::jcvm::heap::{ArrayData, NativeData, Obj, ObjId, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};
use crate::natives::{system_reason, Sys};

pub(crate) use crate::natives::framework::{bytes, check_bytes, write_bytes};

/// CryptoException reasons.
pub mod reason {
    pub const ILLEGAL_VALUE: i16 = 1;
    pub const UNINITIALIZED_KEY: i16 = 2;
    pub const NO_SUCH_ALGORITHM: i16 = 3;
    pub const INVALID_INIT: i16 = 4;
    pub const ILLEGAL_USE: i16 = 5;
}

/// What a crypto API object is, kept in its native data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// A key: its KeyBuilder type and size in bits; `store` the byte
    /// array holding the initialised flag (byte 0) and the key bytes.
    Key { ty: u8, bits: u16, store: ObjId },
    /// A Cipher: its algorithm; `setup` what init set (persistent),
    /// `work` its CLEAR_ON_RESET working state.
    Cipher { alg: u8, setup: ObjId, work: ObjId },
    /// A RandomData object of one algorithm.
    Random { alg: i8 },
    /// A MessageDigest of MessageDigest.ALG_* (its progress is volatile).
    Digest { alg: u8 },
    /// A Signature: its algorithm; `setup` what init set (persistent).
    Signature { alg: u8, setup: ObjId },
    /// A Checksum of Checksum.ALG_* (its progress is volatile).
    Checksum { alg: u8 },
    /// An AEADCipher: its algorithm; `setup` what init set (persistent).
    Aead { alg: u8, setup: ObjId },
    /// A KeyPair (an instance of the API class): its two keys.
    KeyPair { public: ObjId, private: ObjId },
    /// A KeyAgreement: its algorithm; `setup` what init set (persistent).
    Agreement { alg: u8, setup: ObjId },
}

impl State {
    /// The heap objects this state keeps (for object deletion).
    pub fn refs(&self) -> Vec<ObjId> {
        match self {
            State::Key { store, .. } => vec![*store],
            State::Cipher { setup, work, .. } => vec![*setup, *work],
            State::Signature { setup, .. } | State::Aead { setup, .. } => vec![*setup],
            State::KeyPair { public, private } => vec![*public, *private],
            State::Agreement { setup, .. } => vec![*setup],
            State::Random { .. } | State::Digest { .. } | State::Checksum { .. } => Vec::new(),
        }
    }
}

/// The crypto API methods, bound by the linker like the framework's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    BuildKey,
    BuildKeyMemoryType,
    KeyClear,
    KeySize,
    KeyType,
    KeyInitialized,
    SecretSetKey,
    SecretGetKey,
    HmacSetKey,
    CipherGetInstance,
    CipherGetInstancePadding,
    CipherInit,
    CipherInitIv,
    CipherUpdate,
    CipherDoFinal,
    CipherGetAlgorithm,
    CipherGetCipherAlgorithm,
    CipherGetPaddingAlgorithm,
    RandomGetInstance,
    RandomGenerate,
    RandomNext,
    RandomSetSeed,
    RandomGetAlgorithm,
    DigestGetInstance,
    DigestGetInitialized,
    DigestGetAlgorithm,
    DigestGetLength,
    DigestReset,
    DigestUpdate,
    DigestDoFinal,
    DigestSetInitial,
    SignatureGetInstance,
    SignatureGetInstanceParts,
    SignatureGetAlgorithm,
    SignatureGetLength,
    SignatureInit,
    SignatureInitIv,
    SignatureUpdate,
    SignatureSign,
    SignatureVerify,
    ChecksumGetInstance,
    ChecksumInit,
    ChecksumGetAlgorithm,
    ChecksumUpdate,
    ChecksumDoFinal,
    AeadGetAlgorithm,
    AeadGetCipherAlgorithm,
    AeadGetPaddingAlgorithm,
    AeadInit,
    AeadInitNonce,
    AeadInitFull,
    AeadUpdateAad,
    AeadUpdate,
    AeadDoFinal,
    AeadRetrieveTag,
    AeadVerifyTag,
    /// The asymmetric keys, KeyPair, KeyAgreement ([`asym`]).
    Asym(asym::Call),
}

/// The secret-key interfaces whose objects [`keys`] implements.
const SECRET_KEYS: [&str; 3] = ["AESKey", "DESKey", "HMACKey"];

/// The native for an API method of these packages, if implemented.
pub fn lookup(class: &str, name: &str, descriptor: &str) -> Option<Call> {
    use Call as C;
    let simple = class.rsplit('/').next().unwrap_or(class);
    if let Some(c) = asym::lookup(simple, name, descriptor) {
        return Some(C::Asym(c));
    }
    let key = simple == "Key" || simple == "SecretKey" || SECRET_KEYS.contains(&simple);
    if key {
        return Some(match (name, descriptor) {
            ("clearKey", "()V") => C::KeyClear,
            ("getSize", "()S") => C::KeySize,
            ("getType", "()B") => C::KeyType,
            ("isInitialized", "()Z") => C::KeyInitialized,
            ("setKey", "([BS)V") if SECRET_KEYS.contains(&simple) => C::SecretSetKey,
            ("setKey", "([BSS)V") if simple == "HMACKey" => C::HmacSetKey,
            ("getKey", "([BS)B") if SECRET_KEYS.contains(&simple) => C::SecretGetKey,
            _ => return None,
        });
    }
    // InitializedMessageDigest's inherited methods are MessageDigest's.
    let simple = match (simple, name) {
        ("InitializedMessageDigest", "setInitialDigest") => simple,
        ("InitializedMessageDigest", _) => "MessageDigest",
        _ => simple,
    };
    Some(match (simple, name, descriptor) {
        ("InitializedMessageDigest", "setInitialDigest", "([BSS[BSS)V") => C::DigestSetInitial,
        ("KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;") => C::BuildKey,
        ("KeyBuilder", "buildKey", "(BBSZ)Ljavacard/security/Key;") => C::BuildKeyMemoryType,
        ("Cipher", "getInstance", "(BZ)Ljavacardx/crypto/Cipher;") => C::CipherGetInstance,
        ("Cipher", "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;") => C::CipherGetInstancePadding,
        ("Cipher", "init", "(Ljavacard/security/Key;B)V") => C::CipherInit,
        ("Cipher", "init", "(Ljavacard/security/Key;B[BSS)V") => C::CipherInitIv,
        ("Cipher", "update", "([BSS[BS)S") => C::CipherUpdate,
        ("Cipher", "doFinal", "([BSS[BS)S") => C::CipherDoFinal,
        ("Cipher", "getAlgorithm", "()B") => C::CipherGetAlgorithm,
        ("Cipher", "getCipherAlgorithm", "()B") => C::CipherGetCipherAlgorithm,
        ("Cipher", "getPaddingAlgorithm", "()B") => C::CipherGetPaddingAlgorithm,
        ("RandomData", "getInstance", "(B)Ljavacard/security/RandomData;") => C::RandomGetInstance,
        ("RandomData", "generateData", "([BSS)V") => C::RandomGenerate,
        ("RandomData", "nextBytes", "([BSS)S") => C::RandomNext,
        ("RandomData", "setSeed", "([BSS)V") => C::RandomSetSeed,
        ("RandomData", "getAlgorithm", "()B") => C::RandomGetAlgorithm,
        ("MessageDigest", "getInstance", "(BZ)Ljavacard/security/MessageDigest;") => {
            C::DigestGetInstance
        }
        ("MessageDigest", "getInitializedMessageDigestInstance", _) => C::DigestGetInitialized,
        ("MessageDigest", "getAlgorithm", "()B") => C::DigestGetAlgorithm,
        ("MessageDigest", "getLength", "()B") => C::DigestGetLength,
        ("MessageDigest", "reset", "()V") => C::DigestReset,
        ("MessageDigest", "update", "([BSS)V") => C::DigestUpdate,
        ("MessageDigest", "doFinal", "([BSS[BS)S") => C::DigestDoFinal,
        ("Signature", "getInstance", "(BZ)Ljavacard/security/Signature;") => {
            C::SignatureGetInstance
        }
        ("Signature", "getInstance", "(BBBZ)Ljavacard/security/Signature;") => {
            C::SignatureGetInstanceParts
        }
        ("Signature", "getAlgorithm", "()B") => C::SignatureGetAlgorithm,
        ("Signature", "getLength", "()S") => C::SignatureGetLength,
        ("Signature", "init", "(Ljavacard/security/Key;B)V") => C::SignatureInit,
        ("Signature", "init", "(Ljavacard/security/Key;B[BSS)V") => C::SignatureInitIv,
        ("Signature", "update", "([BSS)V") => C::SignatureUpdate,
        ("Signature", "sign", "([BSS[BS)S") => C::SignatureSign,
        ("Signature", "verify", "([BSS[BSS)Z") => C::SignatureVerify,
        ("AEADCipher", "getAlgorithm", "()B") => C::AeadGetAlgorithm,
        ("AEADCipher", "getCipherAlgorithm", "()B") => C::AeadGetCipherAlgorithm,
        ("AEADCipher", "getPaddingAlgorithm", "()B") => C::AeadGetPaddingAlgorithm,
        ("AEADCipher", "init", "(Ljavacard/security/Key;B)V") => C::AeadInit,
        ("AEADCipher", "init", "(Ljavacard/security/Key;B[BSS)V") => C::AeadInitNonce,
        ("AEADCipher", "init", "(Ljavacard/security/Key;B[BSSSSS)V") => C::AeadInitFull,
        ("AEADCipher", "updateAAD", "([BSS)V") => C::AeadUpdateAad,
        ("AEADCipher", "update", "([BSS[BS)S") => C::AeadUpdate,
        ("AEADCipher", "doFinal", "([BSS[BS)S") => C::AeadDoFinal,
        ("AEADCipher", "retrieveTag", "([BSS)S") => C::AeadRetrieveTag,
        ("AEADCipher", "verifyTag", "([BSSS)Z") => C::AeadVerifyTag,
        ("Checksum", "getInstance", "(BZ)Ljavacard/security/Checksum;") => C::ChecksumGetInstance,
        ("Checksum", "init", "([BSS)V") => C::ChecksumInit,
        ("Checksum", "getAlgorithm", "()B") => C::ChecksumGetAlgorithm,
        ("Checksum", "update", "([BSS)V") => C::ChecksumUpdate,
        ("Checksum", "doFinal", "([BSS[BS)S") => C::ChecksumDoFinal,
        _ => return None,
    })
}

/// Runs a crypto native on its argument words (`this` first for
/// instance methods).
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let mut w = [0i32; 8];
    w[..a.len().min(8)].copy_from_slice(&a[..a.len().min(8)]);
    match c {
        Call::BuildKey => keys::build(vm, w[0], w[1]),
        Call::BuildKeyMemoryType => keys::build_memory_type(vm, w[0], w[1], w[2]),
        Call::KeyClear
        | Call::KeySize
        | Call::KeyType
        | Call::KeyInitialized
        | Call::SecretSetKey
        | Call::SecretGetKey
        | Call::HmacSetKey => keys::call(vm, c, &w),
        Call::CipherGetInstance => cipher::get_instance(vm, w[0]),
        Call::CipherGetInstancePadding => cipher::get_instance_padding(vm, w[0], w[1]),
        Call::RandomGetInstance => random::get_instance(vm, w[0]),
        Call::RandomGenerate
        | Call::RandomNext
        | Call::RandomSetSeed
        | Call::RandomGetAlgorithm => random::call(vm, c, &w),
        Call::DigestGetInstance => digest::get_instance(vm, w[0]),
        Call::DigestGetInitialized => digest::get_initialized(vm, w[0]),
        Call::Asym(x) => asym::call(vm, x, &w),
        Call::SignatureGetInstanceParts => {
            let (d, c, p) = (w[0] as u8, w[1] as u8, w[2] as u8);
            match signature::by_parts(d, c, p).or_else(|| asym_sig::by_parts(d, c, p)) {
                Some(a) => signature::get_instance(vm, i32::from(a)),
                None => Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM)),
            }
        }
        Call::DigestGetAlgorithm
        | Call::DigestGetLength
        | Call::DigestReset
        | Call::DigestUpdate
        | Call::DigestDoFinal
        | Call::DigestSetInitial => digest::call(vm, c, &w),
        Call::SignatureGetInstance => signature::get_instance(vm, w[0]),
        Call::SignatureGetAlgorithm
        | Call::SignatureGetLength
        | Call::SignatureInit
        | Call::SignatureInitIv
        | Call::SignatureUpdate
        | Call::SignatureSign
        | Call::SignatureVerify => signature::call(vm, c, &w),
        Call::ChecksumGetInstance => checksum::get_instance(vm, w[0]),
        Call::ChecksumInit
        | Call::ChecksumGetAlgorithm
        | Call::ChecksumUpdate
        | Call::ChecksumDoFinal => checksum::call(vm, c, &w),
        Call::AeadGetAlgorithm
        | Call::AeadGetCipherAlgorithm
        | Call::AeadGetPaddingAlgorithm
        | Call::AeadInit
        | Call::AeadInitNonce
        | Call::AeadInitFull
        | Call::AeadUpdateAad
        | Call::AeadUpdate
        | Call::AeadDoFinal
        | Call::AeadRetrieveTag
        | Call::AeadVerifyTag => aead::call(vm, c, a),
        _ => cipher::call(vm, c, &w),
    }
}

/// Throws CryptoException with a reason.
pub fn crypto_exc(vm: &mut Vm<'_>, r: i16) -> Exc {
    vm.throw(Sys::Crypto, r)
}

/// The crypto state of an object (NullPointerException for null).
pub fn state_of<'a>(vm: &'a mut Vm<'_>, r: i32) -> Result<&'a State, Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get(r as ObjId) {
        Some(Obj::Instance {
            native: NativeData::Crypto(s),
            ..
        }) => Ok(s),
        _ => Err(Exc::Fatal(
            "a crypto method on an object that is none".into(),
        )),
    }
}

/// The crypto state of an argument that must be a key of this emulator
/// (a key the applet made itself is none: ILLEGAL_VALUE).
pub fn key_state(vm: &mut Vm<'_>, r: i32) -> Result<(u8, u16, ObjId), Exc> {
    if r == 0 {
        return Err(vm.throw(Sys::NullPointer, 0));
    }
    match vm.heap.get(r as ObjId) {
        Some(Obj::Instance {
            native: NativeData::Crypto(State::Key { ty, bits, store }),
            ..
        }) => Ok((*ty, *bits, *store)),
        _ => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
    }
}

/// Whether the API version of the card has a constant `prefix*` of
/// `class` with this value (the algorithms an API version names).
pub fn api_constant(vm: &Vm<'_>, class: &str, prefix: &str, value: i64) -> bool {
    cap_tools::api::table(vm.rt.api)
        .packages
        .iter()
        .flat_map(|p| p.classes.iter())
        .filter(|c| c.name == class)
        .flat_map(|c| c.fields.iter())
        .any(|f| f.name.starts_with(prefix) && f.value == Some(value))
}

/// A byte array the JCRE keeps for an object: `transient` is NOT_TRANSIENT,
/// CLEAR_ON_RESET or CLEAR_ON_DESELECT; owned by the running context.
pub fn alloc_store(vm: &mut Vm<'_>, len: usize, transient: u8) -> Result<ObjId, Exc> {
    let obj = Obj::Array {
        data: ArrayData::Byte(vec![0; len]),
        transient,
        owner: vm.env.context,
        global: false,
    };
    let limits = (vm.env.limits.persistent, vm.env.limits.transient);
    match vm.heap.alloc(obj, limits) {
        Ok(id) => Ok(id),
        Err(_) if transient == NOT_TRANSIENT => {
            Err(vm.throw(Sys::System, system_reason::NO_RESOURCE))
        }
        Err(_) => Err(vm.throw(Sys::System, system_reason::NO_TRANSIENT_SPACE)),
    }
}

/// Allocates an API object of implementation class `class` whose native
/// state keeps the store arrays `stores` (already allocated): its
/// reference, or, when the object itself does not fit, the stores freed
/// again and the allocation's exception.
pub fn alloc_object(
    vm: &mut Vm<'_>,
    class: u32,
    state: State,
    stores: &[ObjId],
) -> Result<Ret, Exc> {
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        owner: vm.env.context,
        native: NativeData::Crypto(state),
    };
    match vm.alloc(obj) {
        Ok(id) => Ok(Ret::Word(id as i32)),
        Err(e) => {
            for s in stores {
                vm.heap.free(*s);
            }
            Err(e)
        }
    }
}

/// The bytes of a store array, to read or change in place (never through
/// the transaction: key and cipher state are not transactional).
pub fn store_mut<'a>(vm: &'a mut Vm<'_>, store: ObjId, min: usize) -> Result<&'a mut [u8], Exc> {
    match vm.heap.get_mut_untracked(store) {
        Some(Obj::Array {
            data: ArrayData::Byte(b),
            ..
        }) if b.len() >= min => Ok(b),
        _ => Err(Exc::Fatal("the store of a crypto object is gone".into())),
    }
}

/// Read-only view of a store array (marks nothing dirty); `Fatal` when
/// it is shorter than `len` (a heap changed behind the emulator's back).
pub fn store<'a>(vm: &'a Vm<'_>, store: ObjId, min: usize) -> Result<&'a [u8], Exc> {
    match vm.heap.get(store) {
        Some(Obj::Array {
            data: ArrayData::Byte(b),
            ..
        }) if b.len() >= min => Ok(b),
        _ => Err(Exc::Fatal("the store of a crypto object is gone".into())),
    }
}
