//! javacardx.crypto.AEADCipher: AES-GCM (NIST SP 800-38D, aes-gcm) and
//! AES-CCM (NIST SP 800-38C / RFC 3610, ccm), made by Cipher.getInstance
//! with ALG_AES_GCM or ALG_AES_CCM.
//!
//! What init set (mode, key) is persistent, as for a Cipher; the nonce,
//! tag size, declared lengths and the data of the message in progress are
//! volatile ([`super::live`]): the API says a reset returns the object to
//! its key and mode with the other initial values zero. The crates take a
//! whole message, so associated data and input are buffered (at most
//! [`MAX_MESSAGE`] bytes) and the output comes out of doFinal (update
//! outputs nothing, which the Cipher API allows). GCM takes the 12-byte
//! nonce NIST recommends (the only one the reference implementation
//! takes); CCM nonces of 7 to 13 bytes, tags of 4 to 16 even bytes.
//!
//! Decryption without the tag: both modes are counter mode over the
//! message, so encrypting the ciphertext gives the plaintext, and
//! encrypting that plaintext gives the ciphertext back with the tag the
//! sender computed, which verifyTag compares (in constant time).

use aes::cipher::consts::{U10, U11, U12, U13, U14, U16, U4, U6, U7, U8, U9};
use aes::cipher::{BlockCipher, BlockEncrypt, BlockSizeUser, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::AeadInPlace;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::classes::{class_of, Impl};
use super::keys::{self, Family};
use super::support::{self, AlgClass};
use super::{
    alloc_object, alloc_store, api_constant, bytes, check_bytes, crypto_exc, key_state, reason,
    state_of, store, store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::{ObjId, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// AEADCipher.ALG_AES_GCM (-13) and ALG_AES_CCM (-12).
pub const ALG_AES_GCM: u8 = 0xF3;
pub const ALG_AES_CCM: u8 = 0xF4;
/// AEADCipher.CIPHER_AES_GCM (-15) and CIPHER_AES_CCM (-14); Cipher.PAD_NULL.
pub const CIPHER_AES_GCM: u8 = 0xF1;
pub const CIPHER_AES_CCM: u8 = 0xF2;
const PAD_NULL: u8 = 0;

/// Cipher.MODE_DECRYPT and MODE_ENCRYPT.
const MODE_DECRYPT: u8 = 1;
const MODE_ENCRYPT: u8 = 2;

/// Associated data and message together: beyond, ILLEGAL_USE (the
/// buffers are the emulator's memory, not the card's, and stay bounded).
pub const MAX_MESSAGE: usize = 0x7FFF;

/// Layout of the setup (persistent).
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const SETUP_LEN: usize = 6;

/// The AEAD algorithm of a Cipher.getInstance code.
pub fn is_aead(code: u8) -> bool {
    code == ALG_AES_GCM || code == ALG_AES_CCM
}

/// The algorithm of Cipher.getInstance(cipherAlgorithm, paddingAlgorithm).
pub fn by_parts(cipher: u8, padding: u8) -> Option<u8> {
    match (cipher, padding) {
        (CIPHER_AES_GCM, PAD_NULL) => Some(ALG_AES_GCM),
        (CIPHER_AES_CCM, PAD_NULL) => Some(ALG_AES_CCM),
        _ => None,
    }
}

/// A message in progress (volatile).
#[derive(Clone)]
pub struct Work {
    nonce: Vec<u8>,
    tag_len: usize,
    /// CCM: the lengths init declared (None: not declared).
    declared: Option<(usize, usize)>,
    aad: Vec<u8>,
    data: Zeroizing<Vec<u8>>,
    /// The message's input has begun: no more associated data.
    started: bool,
    /// The tag of the last message doFinal finished.
    tag: Option<Vec<u8>>,
}

impl Work {
    /// What a reset leaves: zero initial values.
    fn zero() -> Work {
        Work {
            nonce: vec![0; 12],
            tag_len: 16,
            declared: None,
            aad: Vec::new(),
            data: Zeroizing::new(Vec::new()),
            started: false,
            tag: None,
        }
    }
}

/// Cipher.getInstance of ALG_AES_GCM or ALG_AES_CCM.
pub fn get_instance(vm: &mut Vm<'_>, code: u8) -> Result<Ret, Exc> {
    let named = api_constant(
        vm,
        "javacardx/crypto/AEADCipher",
        "ALG_",
        i64::from(code as i8),
    );
    if !named || !is_aead(code) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    support::check(vm, AlgClass::AeadCipher, code as i8, None)?;
    let class = class_of(vm, Impl::AeadCipher)?;
    let setup = alloc_store(vm, SETUP_LEN, NOT_TRANSIENT)?;
    alloc_object(vm, class, State::Aead { alg: code, setup }, &[setup])
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (alg, setup) = match state_of(vm, a[0])? {
        State::Aead { alg, setup } => (*alg, *setup),
        _ => return Err(Exc::Fatal("an AEADCipher method on another object".into())),
    };
    let id = a[0] as ObjId;
    match c {
        Call::AeadGetAlgorithm => Ok(Ret::Word(i32::from(alg as i8))),
        Call::AeadGetCipherAlgorithm => Ok(Ret::Word(i32::from(if alg == ALG_AES_GCM {
            CIPHER_AES_GCM as i8
        } else {
            CIPHER_AES_CCM as i8
        }))),
        Call::AeadGetPaddingAlgorithm => Ok(Ret::Word(i32::from(PAD_NULL))),
        // An AEAD cipher needs a nonce.
        Call::AeadInit => {
            keys::secret(vm, a[1])?;
            Err(crypto_exc(vm, reason::ILLEGAL_USE))
        }
        Call::AeadInitNonce => init(vm, id, alg, setup, a, None),
        Call::AeadInitFull => init(vm, id, alg, setup, a, Some((a[6], a[7], a[8]))),
        Call::AeadUpdateAad => {
            ready(vm, setup)?;
            let more = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let w = work(vm, id);
            if w.started || w.aad.len() + w.data.len() + more.len() > MAX_MESSAGE {
                vm.env.crypto.aeads.insert(id, w);
                return Err(crypto_exc(vm, reason::ILLEGAL_USE));
            }
            let mut w = w;
            w.aad.extend_from_slice(&more);
            vm.env.crypto.aeads.insert(id, w);
            Ok(Ret::Void)
        }
        Call::AeadUpdate | Call::AeadDoFinal => {
            let (mode, key) = ready(vm, setup)?;
            let more = Zeroizing::new(bytes(vm, a[1], a[2], a[3])?.to_vec());
            let mut w = work(vm, id);
            if w.aad.len() + w.data.len() + more.len() > MAX_MESSAGE {
                vm.env.crypto.aeads.insert(id, w);
                return Err(crypto_exc(vm, reason::ILLEGAL_USE));
            }
            w.started = true;
            w.tag = None;
            w.data.extend_from_slice(&more);
            if c == Call::AeadUpdate {
                check_bytes(vm, a[4], a[5], 0)?;
                vm.env.crypto.aeads.insert(id, w);
                return Ok(Ret::Word(0));
            }
            finish(vm, id, alg, mode, key, w, a)
        }
        Call::AeadRetrieveTag => {
            let (mode, _) = ready(vm, setup)?;
            let w = work(vm, id);
            let tag = w.tag.clone();
            vm.env.crypto.aeads.insert(id, w);
            let Some(tag) = tag.filter(|_| mode == MODE_ENCRYPT) else {
                return Err(crypto_exc(vm, reason::ILLEGAL_USE));
            };
            let room = a[3];
            if room < tag.len() as i32 {
                check_bytes(vm, a[1], a[2], room.max(0))?;
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            check_bytes(vm, a[1], a[2], tag.len() as i32)?;
            write_bytes(vm, a[1], a[2] as usize, &tag, false)?;
            Ok(Ret::Word(tag.len() as i32))
        }
        Call::AeadVerifyTag => {
            let (mode, _) = ready(vm, setup)?;
            let given = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let required = a[4] as i16;
            let w = work(vm, id);
            let tag = w.tag.clone();
            vm.env.crypto.aeads.insert(id, w);
            let Some(tag) = tag.filter(|_| mode == MODE_DECRYPT) else {
                return Err(crypto_exc(vm, reason::ILLEGAL_USE));
            };
            if required < 0 || required as usize > tag.len() || given.len() < required as usize {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            let n = given.len().min(tag.len());
            let ok = given.len() <= tag.len() && bool::from(given.ct_eq(&tag[..n]));
            Ok(Ret::Word(i32::from(ok)))
        }
        _ => Err(Exc::Fatal("not an AEADCipher method".into())),
    }
}

/// The object's message in progress (a fresh one after a reset).
fn work(vm: &mut Vm<'_>, id: ObjId) -> Work {
    vm.env.crypto.aeads.remove(&id).unwrap_or_else(Work::zero)
}

/// Mode and key of an initialised object (INVALID_INIT before init,
/// UNINITIALIZED_KEY once its key was cleared).
fn ready(vm: &mut Vm<'_>, setup: ObjId) -> Result<(u8, u32), Exc> {
    let s = store(vm, setup, SETUP_LEN)?;
    if s[INIT] != 1 {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let mode = s[MODE];
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    if !keys::is_initialized(vm, key) {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    Ok((mode, key))
}

/// init(key, mode, nonceBuf, nonceOff, nonceLen[, adataLen, messageLen, tagSize]).
fn init(
    vm: &mut Vm<'_>,
    id: ObjId,
    alg: u8,
    setup: ObjId,
    a: &[i32],
    full: Option<(i32, i32, i32)>,
) -> Result<Ret, Exc> {
    let (fam, _) = keys::secret(vm, a[1])?;
    let (kt, _, _) = key_state(vm, a[1])?;
    let mode = a[2];
    if fam != Family::Aes || keys::family(kt).is_none() {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if mode != i32::from(MODE_DECRYPT) && mode != i32::from(MODE_ENCRYPT) {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let nonce = bytes(vm, a[3], a[4], a[5])?.to_vec();
    let (declared, tag_len) = match full {
        Some((aad, msg, tag)) => {
            let (aad, msg, tag) = (aad as i16, msg as i16, tag as i16);
            if aad < 0 || msg < 0 || tag < 0 {
                return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
            }
            (Some((aad as usize, msg as usize)), tag as usize)
        }
        None => (None, 16),
    };
    let ok = if alg == ALG_AES_GCM {
        nonce.len() == 12 && matches!(tag_len, 4 | 8 | 12..=16)
    } else {
        (7..=13).contains(&nonce.len()) && (4..=16).contains(&tag_len) && tag_len % 2 == 0
    };
    if !ok {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let s = store_mut(vm, setup, SETUP_LEN)?;
    s[INIT] = 1;
    s[MODE] = mode as u8;
    s[KEY..KEY + 4].copy_from_slice(&(a[1] as u32).to_be_bytes());
    vm.env.crypto.aeads.insert(
        id,
        Work {
            nonce,
            tag_len,
            declared: declared.filter(|_| alg == ALG_AES_CCM),
            aad: Vec::new(),
            data: Zeroizing::new(Vec::new()),
            started: false,
            tag: None,
        },
    );
    Ok(Ret::Void)
}

/// doFinal: the whole message through the crate, the output written,
/// the tag kept for retrieveTag / verifyTag.
fn finish(
    vm: &mut Vm<'_>,
    id: ObjId,
    alg: u8,
    mode: u8,
    key: u32,
    mut w: Work,
    a: &[i32],
) -> Result<Ret, Exc> {
    if let Some((aad, msg)) = w.declared {
        if aad != w.aad.len() || msg != w.data.len() {
            w.data.zeroize();
            w.data.clear();
            w.aad.clear();
            w.started = false;
            vm.env.crypto.aeads.insert(id, w);
            return Err(crypto_exc(vm, reason::ILLEGAL_USE));
        }
    }
    let (_, k) = keys::secret(vm, key as i32)?;
    let mut out = Zeroizing::new(w.data.to_vec());
    let tag = seal(
        alg,
        &k,
        &w.nonce,
        &w.aad,
        w.tag_len,
        mode == MODE_ENCRYPT,
        &mut out,
    );
    // The object is ready for the next message under the same init.
    w.data.zeroize();
    w.data.clear();
    w.aad.clear();
    w.started = false;
    let Some(tag) = tag else {
        vm.env.crypto.aeads.insert(id, w);
        return Err(crypto_exc(vm, reason::ILLEGAL_USE));
    };
    w.tag = Some(tag);
    vm.env.crypto.aeads.insert(id, w);
    check_bytes(vm, a[4], a[5], out.len() as i32)?;
    write_bytes(vm, a[4], a[5] as usize, &out, false)?;
    Ok(Ret::Word(out.len() as i32))
}

/// Encrypts (or, `encrypt` false, decrypts) `data` in place and returns
/// the message's tag of `tag_len` bytes; `None` when the crate refuses
/// (a message too long for the CCM nonce's length field).
pub fn seal(
    alg: u8,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    tag_len: usize,
    encrypt: bool,
    data: &mut [u8],
) -> Option<Vec<u8>> {
    macro_rules! with_aes {
        ($f:ident, $($arg:expr),*) => {
            match key.len() {
                16 => $f(Aes128::new_from_slice(key).ok()?, $($arg),*),
                24 => $f(Aes192::new_from_slice(key).ok()?, $($arg),*),
                32 => $f(Aes256::new_from_slice(key).ok()?, $($arg),*),
                _ => None,
            }
        };
    }
    let run = |data: &mut [u8]| -> Option<Vec<u8>> {
        if alg == ALG_AES_GCM {
            with_aes!(gcm, nonce, aad, data, tag_len)
        } else {
            with_aes!(ccm_tag, nonce, aad, data, tag_len)
        }
    };
    if encrypt {
        run(data)
    } else {
        // Counter mode both ways: the key stream off the ciphertext, then
        // the sender's encryption again for its tag.
        run(data)?;
        let mut again = Zeroizing::new(data.to_vec());
        run(&mut again)
    }
}

fn gcm<C>(c: C, nonce: &[u8], aad: &[u8], data: &mut [u8], tag_len: usize) -> Option<Vec<u8>>
where
    C: BlockCipher + BlockSizeUser<BlockSize = U16> + BlockEncrypt + KeyInit,
{
    if nonce.len() != 12 {
        return None;
    }
    let g = aes_gcm::AesGcm::<C, U12>::from(c);
    let tag = g
        .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(nonce), aad, data)
        .ok()?;
    Some(tag[..tag_len.min(16)].to_vec())
}

fn ccm_tag<C>(c: C, nonce: &[u8], aad: &[u8], data: &mut [u8], tag_len: usize) -> Option<Vec<u8>>
where
    C: BlockCipher + BlockSizeUser<BlockSize = U16> + BlockEncrypt + KeyInit,
{
    macro_rules! by_nonce {
        ($m:ty) => {
            match nonce.len() {
                7 => ccm_run::<C, $m, U7>(c, nonce, aad, data),
                8 => ccm_run::<C, $m, U8>(c, nonce, aad, data),
                9 => ccm_run::<C, $m, U9>(c, nonce, aad, data),
                10 => ccm_run::<C, $m, U10>(c, nonce, aad, data),
                11 => ccm_run::<C, $m, U11>(c, nonce, aad, data),
                12 => ccm_run::<C, $m, U12>(c, nonce, aad, data),
                13 => ccm_run::<C, $m, U13>(c, nonce, aad, data),
                _ => None,
            }
        };
    }
    match tag_len {
        4 => by_nonce!(U4),
        6 => by_nonce!(U6),
        8 => by_nonce!(U8),
        10 => by_nonce!(U10),
        12 => by_nonce!(U12),
        14 => by_nonce!(U14),
        16 => by_nonce!(U16),
        _ => None,
    }
}

fn ccm_run<C, M, N>(c: C, nonce: &[u8], aad: &[u8], data: &mut [u8]) -> Option<Vec<u8>>
where
    C: BlockCipher + BlockSizeUser<BlockSize = U16> + BlockEncrypt + KeyInit,
    M: aes::cipher::ArrayLength<u8> + ccm::TagSize,
    N: aes::cipher::ArrayLength<u8> + ccm::NonceSize,
{
    let m = ccm::Ccm::<C, M, N>::from(c);
    let tag = m
        .encrypt_in_place_detached(
            aes::cipher::generic_array::GenericArray::from_slice(nonce),
            aad,
            data,
        )
        .ok()?;
    Some(tag.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    /// The GCM spec's (McGrew and Viega) test case 4, and SP 800-38C
    /// Appendix C example 2: both ways.
    #[test]
    fn published_vectors_both_ways() {
        let key = h("feffe9928665731c6d6a8f9467308308");
        let plain = h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let iv = h("cafebabefacedbaddecaf888");
        let mut d = plain.clone();
        let tag = seal(ALG_AES_GCM, &key, &iv, &aad, 16, true, &mut d).unwrap();
        assert_eq!(hex::encode(&d), "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091");
        assert_eq!(hex::encode(&tag), "5bc94fbc3221a5db94fae95ae7121a47");
        let back = seal(ALG_AES_GCM, &key, &iv, &aad, 16, false, &mut d).unwrap();
        assert_eq!(d, plain);
        assert_eq!(back, tag);

        let key = h("404142434445464748494a4b4c4d4e4f");
        let mut d = h("202122232425262728292a2b2c2d2e2f");
        let tag = seal(
            ALG_AES_CCM,
            &key,
            &h("1011121314151617"),
            &h("0001020304050607 08090a0b0c0d0e0f"),
            6,
            true,
            &mut d,
        )
        .unwrap();
        assert_eq!(hex::encode(&d), "d2a1f0e051ea5f62081a7792073d593d");
        assert_eq!(hex::encode(&tag), "1fc64fbfaccd");
        let back = seal(
            ALG_AES_CCM,
            &key,
            &h("1011121314151617"),
            &h("000102030405060708090a0b0c0d0e0f"),
            6,
            false,
            &mut d,
        )
        .unwrap();
        assert_eq!(hex::encode(&d), "202122232425262728292a2b2c2d2e2f");
        assert_eq!(back, tag);
    }
}
