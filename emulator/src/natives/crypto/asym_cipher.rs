//! Cipher with RSA: ALG_RSA_PKCS1 (PKCS#1 v1.5: block type 2 with a
//! public key, type 1 with a private one, as cards and jCardSim pad),
//! ALG_RSA_PKCS1_OAEP (SHA-1 and MGF1-SHA-1, empty label, as Java Card
//! defines it) and ALG_RSA_NOPAD (the raw operation on a modulus-long
//! block). RSA ciphers take their whole input in doFinal: update answers
//! ILLEGAL_USE. The setup (mode, key) is the Cipher's persistent array.

use rsa::{Oaep, Pkcs1v15Encrypt};
use sha1::Sha1;

use super::asym_sig::{private, public};
use super::pubkey::{self, Kind};
use super::rng::CardRng;
use super::rsa as rsa_ops;
use super::{bytes, check_bytes, crypto_exc, reason, store, store_mut, write_bytes, Call};
use crate::jcvm::heap::ObjId;
use crate::jcvm::interp::{Exc, Ret, Vm};

const MODE_DECRYPT: i32 = 1;
const MODE_ENCRYPT: i32 = 2;
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const SETUP_MIN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pad {
    Pkcs1,
    Oaep,
    None,
}

fn pad_of(a: u8) -> Option<Pad> {
    Some(match a {
        10 => Pad::Pkcs1,
        12 => Pad::None,
        15 => Pad::Oaep,
        _ => return None,
    })
}

/// Whether this module implements Cipher algorithm `a`.
pub fn handles(a: u8) -> bool {
    pad_of(a).is_some()
}

/// Cipher.CIPHER_RSA and the PAD_* of an algorithm.
pub fn parts(a: u8) -> Option<(u8, u8)> {
    Some(match pad_of(a)? {
        Pad::Pkcs1 => (7, 7),
        Pad::None => (7, 1),
        Pad::Oaep => (7, 9),
    })
}

/// The algorithm of getInstance(cipherAlgorithm, paddingAlgorithm).
pub fn by_parts(c: u8, p: u8) -> Option<u8> {
    [10u8, 12, 15]
        .into_iter()
        .find(|a| parts(*a) == Some((c, p)))
}

/// The Cipher methods for an RSA algorithm; `setup` its persistent array.
pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32], al: u8, setup: ObjId) -> Result<Ret, Exc> {
    let Some(pad) = pad_of(al) else {
        return Err(Exc::Fatal("not an RSA Cipher".into()));
    };
    match c {
        Call::CipherGetAlgorithm => Ok(Ret::Word(i32::from(al as i8))),
        Call::CipherGetCipherAlgorithm => Ok(Ret::Word(i32::from(parts(al).unwrap_or((0, 0)).0))),
        Call::CipherGetPaddingAlgorithm => Ok(Ret::Word(i32::from(parts(al).unwrap_or((0, 0)).1))),
        Call::CipherInit => init(vm, pad, setup, a[1], a[2]),
        Call::CipherInitIv => Err(crypto_exc(vm, reason::ILLEGAL_VALUE)),
        Call::CipherUpdate => {
            let s = store(vm, setup, SETUP_MIN)?;
            if s[INIT] != 1 {
                return Err(crypto_exc(vm, reason::INVALID_INIT));
            }
            Err(crypto_exc(vm, reason::ILLEGAL_USE))
        }
        Call::CipherDoFinal => do_final(vm, pad, setup, a),
        _ => Err(Exc::Fatal("not a Cipher method".into())),
    }
}

fn init(vm: &mut Vm<'_>, pad: Pad, setup: ObjId, key: i32, mode: i32) -> Result<Ret, Exc> {
    let (k, bits, st) = pubkey::asym_key(vm, key)?;
    if !k.is_rsa() || (mode != MODE_DECRYPT && mode != MODE_ENCRYPT) {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if !pubkey::initialized(vm, st)? {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    // OAEP encrypts with a public key and decrypts with a private one
    // that makes the crate's private key (see super::rsa).
    let oaep_ok = match (mode, k) {
        (MODE_ENCRYPT, Kind::RsaPublic) => true,
        (MODE_DECRYPT, Kind::RsaCrt | Kind::RsaPrivate) if pad == Pad::Oaep => {
            super::asym_sig::schemes_key(vm, k, bits, st)?
        }
        _ => false,
    };
    if pad == Pad::Oaep && !oaep_ok {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let s = store_mut(vm, setup, SETUP_MIN)?;
    s[INIT] = 1;
    s[MODE] = mode as u8;
    s[KEY..KEY + 4].copy_from_slice(&(key as u32).to_be_bytes());
    Ok(Ret::Void)
}

fn do_final(vm: &mut Vm<'_>, pad: Pad, setup: ObjId, a: &[i32]) -> Result<Ret, Exc> {
    let s = store(vm, setup, SETUP_MIN)?;
    if s[INIT] != 1 {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let encrypt = i32::from(s[MODE]) == MODE_ENCRYPT;
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    let (k, bits, st) = pubkey::asym_key(vm, key as i32)?;
    let input = bytes(vm, a[1], a[2], a[3])?.to_vec();
    let n = usize::from(bits) / 8;
    let mut rng = CardRng::of(vm);
    let out: Option<Vec<u8>> = if k == Kind::RsaPublic {
        let pk = public(vm, k, bits, st)?;
        match (encrypt, pad) {
            (true, Pad::Pkcs1) => pk.encrypt(&mut rng, Pkcs1v15Encrypt, &input).ok(),
            (true, Pad::Oaep) => pk.encrypt(&mut rng, Oaep::new::<Sha1>(), &input).ok(),
            (_, Pad::None) if input.len() == n => rsa_ops::raw_public(&pk, &input),
            (false, Pad::Pkcs1) if input.len() == n => {
                rsa_ops::raw_public(&pk, &input).and_then(|em| rsa_ops::unpad(&em, 1))
            }
            _ => None,
        }
    } else {
        let p = private(vm, k, bits, st)?;
        match (encrypt, pad) {
            (true, Pad::Pkcs1) => rsa_ops::pad_type1(&input, n)
                .and_then(|em| p.raw(&em))
                .map(|v| v.to_vec()),
            (_, Pad::None) if input.len() == n => p.raw(&input).map(|v| v.to_vec()),
            (false, Pad::Pkcs1) if input.len() == n => {
                p.raw(&input).and_then(|em| rsa_ops::unpad(&em, 2))
            }
            (false, Pad::Oaep) if input.len() == n => p
                .full()
                .and_then(|full| full.decrypt(Oaep::new::<Sha1>(), &input).ok()),
            _ => None,
        }
    };
    rng.check()?;
    let Some(out) = out else {
        // Too long for the padding, not a block of the modulus's length
        // or value, or not padded as the algorithm pads.
        return Err(crypto_exc(vm, reason::ILLEGAL_USE));
    };
    check_bytes(vm, a[4], a[5], out.len() as i32)?;
    write_bytes(vm, a[4], a[5] as usize, &out, false)?;
    Ok(Ret::Word(out.len() as i32))
}
