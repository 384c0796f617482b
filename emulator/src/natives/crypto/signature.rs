//! Signature for the symmetric MACs: DES and triple-DES CBC-MACs (ISO
//! 9797-1 MAC algorithm 1 with no padding, method 1 or 2 or PKCS#5, and MAC
//! algorithm 3 with methods 1 and 2, 4- or 8-byte MACs), AES CBC-MAC with
//! no padding, AES-CMAC (cmac) and HMAC with SHA-1/256/384/512 (hmac).
//!
//! What init set (mode, key, IV) is persistent, because a reset returns
//! an initialised Signature to that state; the MAC in progress is
//! volatile ([`super::live`]), rebuilt from the setup when missing.

use subtle::ConstantTimeEq;

use super::block::Engine;
use super::classes::{class_of, Impl};
use super::keys::{self, Family};
use super::live::{CbcMac, MacEngine};
use super::padding::Pad;
use super::support::{self, AlgClass};
use super::{
    alloc_object, alloc_store, api_constant, bytes, check_bytes, crypto_exc, key_state, reason,
    state_of, store, store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::{ObjId, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};
use aes::cipher::KeyInit;

/// Signature.MODE_SIGN and MODE_VERIFY.
const MODE_SIGN: u8 = 1;
const MODE_VERIFY: u8 = 2;

/// Layout of the setup.
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const IV_LEN: usize = 6;
const IV: usize = 7;
const SETUP_LEN: usize = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// CBC-MAC: family, padding, MAC bytes, MAC algorithm 3.
    Cbc(Family, Pad, usize, bool),
    Cmac,
    /// HMAC with MessageDigest.ALG_* of the hash.
    Hmac(u8),
}

/// Whether this module implements Signature algorithm `alg`.
pub fn implemented(alg: u8) -> bool {
    kind(alg).is_some()
}

fn kind(alg: u8) -> Option<Kind> {
    use Family::{Aes, Des};
    Some(match alg {
        1 => Kind::Cbc(Des, Pad::None, 4, false),
        2 => Kind::Cbc(Des, Pad::None, 8, false),
        3 => Kind::Cbc(Des, Pad::M1, 4, false),
        4 => Kind::Cbc(Des, Pad::M1, 8, false),
        5 => Kind::Cbc(Des, Pad::M2, 4, false),
        6 => Kind::Cbc(Des, Pad::M2, 8, false),
        7 => Kind::Cbc(Des, Pad::Pkcs5, 4, false),
        8 => Kind::Cbc(Des, Pad::Pkcs5, 8, false),
        18 => Kind::Cbc(Aes, Pad::None, 16, false),
        19 => Kind::Cbc(Des, Pad::M2, 4, true),
        20 => Kind::Cbc(Des, Pad::M2, 8, true),
        47 => Kind::Cbc(Des, Pad::M1, 4, true),
        48 => Kind::Cbc(Des, Pad::M1, 8, true),
        24 => Kind::Hmac(1),
        25 => Kind::Hmac(4),
        26 => Kind::Hmac(5),
        27 => Kind::Hmac(6),
        49 => Kind::Cmac,
        _ => return None,
    })
}

fn mac_length(k: Kind) -> usize {
    match k {
        Kind::Cbc(_, _, n, _) => n,
        Kind::Cmac => 16,
        Kind::Hmac(1) => 20,
        Kind::Hmac(4) => 32,
        Kind::Hmac(5) => 48,
        Kind::Hmac(_) => 64,
    }
}

/// The Signature.ALG_* of the 3.0.5 getInstance(messageDigestAlgorithm,
/// cipherAlgorithm, paddingAlgorithm, externalAccess) for the MACs here:
/// SIG_CIPHER_DES_MAC4 (1) and _MAC8 (2) with PAD_NOPAD, _ISO9797_M1,
/// _M2, _PKCS5 and the ALG3 paddings; SIG_CIPHER_AES_MAC128 (6) with
/// PAD_NOPAD; SIG_CIPHER_AES_CMAC128 (10) and SIG_CIPHER_HMAC (7) with
/// PAD_NULL, HMAC naming its hash.
pub fn by_parts(digest: u8, cipher: u8, padding: u8) -> Option<u8> {
    Some(match (digest, cipher, padding) {
        (0, 1, 1) => 1,
        (0, 2, 1) => 2,
        (0, 1, 2) => 3,
        (0, 2, 2) => 4,
        (0, 1, 3) => 5,
        (0, 2, 3) => 6,
        (0, 1, 6) => 7,
        (0, 2, 6) => 8,
        (0, 1, 4) => 47,
        (0, 2, 4) => 48,
        (0, 1, 5) => 19,
        (0, 2, 5) => 20,
        (0, 6, 1) => 18,
        (0, 10, 0) => 49,
        (1, 7, 0) => 24,
        (4, 7, 0) => 25,
        (5, 7, 0) => 26,
        (6, 7, 0) => 27,
        _ => return None,
    })
}

/// Signature.getInstance(algorithm, externalAccess).
pub fn get_instance(vm: &mut Vm<'_>, alg: i32) -> Result<Ret, Exc> {
    let a = alg as u8;
    let named = api_constant(
        vm,
        "javacard/security/Signature",
        "ALG_",
        i64::from(alg as i8),
    );
    if !named || (kind(a).is_none() && !super::asym_sig::handles(a)) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    support::check(vm, AlgClass::Signature, a as i8, None)?;
    let class = class_of(vm, Impl::Signature)?;
    let setup = alloc_store(vm, SETUP_LEN, NOT_TRANSIENT)?;
    alloc_object(vm, class, State::Signature { alg: a, setup }, &[setup])
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (alg, setup) = match state_of(vm, a[0])? {
        State::Signature { alg, setup } => (*alg, *setup),
        _ => return Err(Exc::Fatal("a Signature method on another object".into())),
    };
    if super::asym_sig::handles(alg) {
        return super::asym_sig::call(vm, c, a, alg, setup);
    }
    let Some(k) = kind(alg) else {
        return Err(Exc::Fatal("a Signature of an unknown algorithm".into()));
    };
    let id = a[0] as ObjId;
    match c {
        Call::SignatureGetAlgorithm => Ok(Ret::Word(i32::from(alg as i8))),
        Call::SignatureGetLength => Ok(Ret::Word(mac_length(k) as i32)),
        Call::SignatureInit => init(vm, id, k, setup, a[1], a[2], None),
        Call::SignatureInitIv => init(vm, id, k, setup, a[1], a[2], Some((a[3], a[4], a[5]))),
        Call::SignatureUpdate => {
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut m = engine(vm, id, k, setup, None)?;
            m.update(&data);
            vm.env.crypto.macs.insert(id, m);
            Ok(Ret::Void)
        }
        Call::SignatureSign | Call::SignatureVerify => {
            let want = if c == Call::SignatureSign {
                MODE_SIGN
            } else {
                MODE_VERIFY
            };
            let data = bytes(vm, a[1], a[2], a[3])?.to_vec();
            let mut m = engine(vm, id, k, setup, Some(want))?;
            m.update(&data);
            let mac = m.finish();
            vm.env.crypto.macs.insert(id, m);
            let Some(mac) = mac else {
                return Err(crypto_exc(vm, reason::ILLEGAL_USE));
            };
            let mac = &mac[..mac_length(k)];
            if c == Call::SignatureSign {
                check_bytes(vm, a[4], a[5], mac.len() as i32)?;
                write_bytes(vm, a[4], a[5] as usize, mac, false)?;
                Ok(Ret::Word(mac.len() as i32))
            } else {
                let given = bytes(vm, a[4], a[5], a[6])?;
                let ok = given.len() == mac.len() && bool::from(given.ct_eq(mac));
                Ok(Ret::Word(i32::from(ok)))
            }
        }
        _ => Err(Exc::Fatal("not a Signature method".into())),
    }
}

fn init(
    vm: &mut Vm<'_>,
    id: ObjId,
    k: Kind,
    setup: ObjId,
    key: i32,
    mode: i32,
    iv: Option<(i32, i32, i32)>,
) -> Result<Ret, Exc> {
    let (fam, bytes_of_key) = keys::secret(vm, key)?;
    let (kt, _, _) = key_state(vm, key)?;
    let expected = match k {
        Kind::Cbc(f, _, _, _) => f,
        Kind::Cmac => Family::Aes,
        Kind::Hmac(_) => Family::Hmac,
    };
    let alg3_ok = !matches!(k, Kind::Cbc(_, _, _, true)) || bytes_of_key.len() >= 16;
    if fam != expected || keys::family(kt).is_none() || !alg3_ok {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if mode != i32::from(MODE_SIGN) && mode != i32::from(MODE_VERIFY) {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let mut ivb = Vec::new();
    if let Some((buf, off, len)) = iv {
        ivb = bytes(vm, buf, off, len)?.to_vec();
        let bs = match fam {
            Family::Aes => 16,
            _ => 8,
        };
        if !matches!(k, Kind::Cbc(..)) || ivb.len() != bs {
            return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
        }
    }
    let s = store_mut(vm, setup, SETUP_LEN)?;
    s[INIT] = 1;
    s[MODE] = mode as u8;
    s[KEY..KEY + 4].copy_from_slice(&(key as u32).to_be_bytes());
    s[IV_LEN] = ivb.len() as u8;
    s[IV..IV + ivb.len()].copy_from_slice(&ivb);
    vm.env.crypto.macs.remove(&id);
    Ok(Ret::Void)
}

/// The MAC in progress (taken out of the live table; the caller puts it
/// back), or a fresh one from the setup. `mode` checks the mode of a
/// sign or verify.
fn engine(
    vm: &mut Vm<'_>,
    id: ObjId,
    k: Kind,
    setup: ObjId,
    mode: Option<u8>,
) -> Result<MacEngine, Exc> {
    let s = store(vm, setup, SETUP_LEN)?;
    if s[INIT] != 1 || mode.is_some_and(|m| m != s[MODE]) {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    let iv_len = usize::from(s[IV_LEN]).min(16);
    let iv = s[IV..IV + iv_len].to_vec();
    if !keys::is_initialized(vm, key) {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    if let Some(m) = vm.env.crypto.macs.remove(&id) {
        return Ok(m);
    }
    let (fam, kb) = keys::secret(vm, key as i32)?;
    let bad = || Exc::Fatal("a MAC key of a bad length".into());
    Ok(match k {
        Kind::Hmac(h) => match h {
            1 => MacEngine::Hmac1(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
            4 => MacEngine::Hmac256(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
            5 => MacEngine::Hmac384(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
            _ => MacEngine::Hmac512(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
        },
        Kind::Cmac => match kb.len() {
            16 => MacEngine::Cmac128(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
            24 => MacEngine::Cmac192(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
            _ => MacEngine::Cmac256(KeyInit::new_from_slice(&kb).map_err(|_| bad())?),
        },
        Kind::Cbc(_, pad, _, alg3) => {
            let (engine, last) = if alg3 {
                let k1 = Engine::new(Family::Des, &kb[..8]).ok_or_else(bad)?;
                let k2 = Engine::new(Family::Des, &kb[8..16]).ok_or_else(bad)?;
                let k3 = Engine::new(
                    Family::Des,
                    if kb.len() >= 24 {
                        &kb[16..24]
                    } else {
                        &kb[..8]
                    },
                )
                .ok_or_else(bad)?;
                (k1, Some((k2, k3)))
            } else {
                (Engine::new(fam, &kb).ok_or_else(bad)?, None)
            };
            let bs = engine.block_size();
            let iv = if iv.is_empty() { vec![0; bs] } else { iv };
            MacEngine::Cbc(CbcMac {
                engine,
                last,
                cv: iv.clone(),
                iv,
                pending: Vec::new(),
                pad,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_name_the_algorithms_of_the_same_mac() {
        for (parts, alg) in [
            ((0, 2, 5), 20u8),
            ((4, 7, 0), 25),
            ((0, 10, 0), 49),
            ((0, 6, 1), 18),
        ] {
            let a = by_parts(parts.0, parts.1, parts.2).unwrap();
            assert_eq!(a, alg);
            assert!(kind(a).is_some());
        }
        // Every mapped algorithm is one this module implements.
        for d in 0..8 {
            for c in 0..12 {
                for p in 0..8 {
                    if let Some(a) = by_parts(d, c, p) {
                        assert!(kind(a).is_some(), "{d} {c} {p}");
                    }
                }
            }
        }
        assert_eq!(by_parts(4, 5, 0), None);
    }
}
