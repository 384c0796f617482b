//! javacardx.crypto.Cipher for the symmetric block ciphers: DES and
//! triple DES, AES-128/192/256, ECB and CBC, with no padding, ISO 9797-1
//! methods 1 and 2 or PKCS#5.
//!
//! What init set (mode, key, initial vector) is kept in a persistent
//! array, because the API says a reset returns an initialised Cipher to
//! the state init left it in; the chaining value and a partial block in a
//! CLEAR_ON_RESET one, as a card keeps them in RAM (cleared by a reset,
//! the next call starts over from the initial vector). The key bytes are
//! read from the key object at each call, never copied into the cipher.

use zeroize::{Zeroize, Zeroizing};

use super::block::Engine;
use super::classes::{class_of, Impl};
use super::keys::{self, Family};
use super::padding::{pad, unpad, Pad};
use super::support::{self, AlgClass};
use super::{
    alloc_object, alloc_store, api_constant, bytes, check_bytes, crypto_exc, reason, state_of,
    store, store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::{ObjId, CLEAR_ON_RESET, NOT_TRANSIENT};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// Cipher.ALG_AES_CTR (-16).
const ALG_AES_CTR: u8 = 0xF0;

/// Cipher.MODE_DECRYPT and MODE_ENCRYPT.
const MODE_DECRYPT: i32 = 1;
const MODE_ENCRYPT: i32 = 2;

/// Layout of the setup (persistent).
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const IV0: usize = 6;
const SETUP_LEN: usize = 22;
/// Layout of the working state (CLEAR_ON_RESET): VALID is 0 after a reset.
const VALID: usize = 0;
const CV: usize = 1;
const PEND_N: usize = 17;
const PEND: usize = 18;
const WORK_LEN: usize = 34;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chaining {
    Ecb,
    Cbc,
    Ctr,
}

/// What a Cipher.ALG_* constant means here.
#[derive(Debug, Clone, Copy)]
struct Alg {
    family: Family,
    chaining: Chaining,
    pad: Pad,
}

/// Whether this module implements Cipher algorithm `a` (ALG_* as a byte).
pub fn implemented(a: u8) -> bool {
    alg(a).is_some()
}

fn alg(a: u8) -> Option<Alg> {
    use Chaining::{Cbc, Ecb};
    use Family::{Aes, Des};
    let (family, chaining, pad) = match a {
        1 => (Des, Cbc, Pad::None),
        2 => (Des, Cbc, Pad::M1),
        3 => (Des, Cbc, Pad::M2),
        4 => (Des, Cbc, Pad::Pkcs5),
        5 => (Des, Ecb, Pad::None),
        6 => (Des, Ecb, Pad::M1),
        7 => (Des, Ecb, Pad::M2),
        8 => (Des, Ecb, Pad::Pkcs5),
        13 => (Aes, Cbc, Pad::None),
        14 => (Aes, Ecb, Pad::None),
        22 => (Aes, Cbc, Pad::M1),
        23 => (Aes, Cbc, Pad::M2),
        24 => (Aes, Cbc, Pad::Pkcs5),
        25 => (Aes, Ecb, Pad::M1),
        26 => (Aes, Ecb, Pad::M2),
        27 => (Aes, Ecb, Pad::Pkcs5),
        ALG_AES_CTR => (Aes, Chaining::Ctr, Pad::None),
        _ => return None,
    };
    Some(Alg {
        family,
        chaining,
        pad,
    })
}

/// Cipher.CIPHER_* and PAD_* of an algorithm (3.0.5 getters).
fn parts(a: Alg) -> (u8, u8) {
    let c = match (a.family, a.chaining) {
        (Family::Aes, Chaining::Cbc) => 1,
        (Family::Aes, Chaining::Ecb) => 2,
        // CIPHER_AES_CTR (named from 3.2.0 on).
        (_, Chaining::Ctr) => 8,
        (Family::Des | Family::Hmac, Chaining::Cbc) => 3,
        (Family::Des | Family::Hmac, Chaining::Ecb) => 4,
    };
    let p = match a.pad {
        Pad::None => 1,
        Pad::M1 => 2,
        Pad::M2 => 3,
        Pad::Pkcs5 => 6,
    };
    (c, p)
}

/// Cipher.getInstance(algorithm, externalAccess). Objects are reachable
/// from any context here, so both values of externalAccess are honoured.
pub fn get_instance(vm: &mut Vm<'_>, a: i32) -> Result<Ret, Exc> {
    let code = a as u8;
    if super::aead::is_aead(code) {
        return super::aead::get_instance(vm, code);
    }
    let named = api_constant(vm, "javacardx/crypto/Cipher", "ALG_", i64::from(a as i8));
    if !named || (alg(code).is_none() && !super::asym_cipher::handles(code)) {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    support::check(vm, AlgClass::Cipher, a as i8, None)?;
    let class = class_of(vm, Impl::Cipher)?;
    let setup = alloc_store(vm, SETUP_LEN, NOT_TRANSIENT)?;
    let work = match alloc_store(vm, WORK_LEN, CLEAR_ON_RESET) {
        Ok(w) => w,
        Err(e) => {
            vm.heap.free(setup);
            return Err(e);
        }
    };
    let state = State::Cipher {
        alg: code,
        setup,
        work,
    };
    alloc_object(vm, class, state, &[setup, work])
}

/// Cipher.getInstance(cipherAlgorithm, paddingAlgorithm, externalAccess).
pub fn get_instance_padding(vm: &mut Vm<'_>, c: i32, p: i32) -> Result<Ret, Exc> {
    if let Some(a) = super::aead::by_parts(c as u8, p as u8) {
        return super::aead::get_instance(vm, a);
    }
    let found = (1u8..=27)
        .chain([ALG_AES_CTR])
        .find(|a| alg(*a).is_some_and(|x| parts(x) == (c as u8, p as u8)))
        .or_else(|| super::asym_cipher::by_parts(c as u8, p as u8));
    match found {
        Some(a) => get_instance(vm, i32::from(a)),
        None => Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM)),
    }
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (code, st) = match state_of(vm, a[0])? {
        State::Cipher { alg, setup, work } => (*alg, (*setup, *work)),
        _ => return Err(Exc::Fatal("a Cipher method on another object".into())),
    };
    if super::asym_cipher::handles(code) {
        return super::asym_cipher::call(vm, c, a, code, st.0);
    }
    let Some(al) = alg(code) else {
        return Err(Exc::Fatal("a Cipher of an unknown algorithm".into()));
    };
    match c {
        Call::CipherGetAlgorithm => Ok(Ret::Word(i32::from(code as i8))),
        Call::CipherGetCipherAlgorithm => Ok(Ret::Word(i32::from(parts(al).0))),
        Call::CipherGetPaddingAlgorithm => Ok(Ret::Word(i32::from(parts(al).1))),
        Call::CipherInit => init(vm, al, st, a[1], a[2], None),
        Call::CipherInitIv => init(vm, al, st, a[1], a[2], Some((a[3], a[4], a[5]))),
        Call::CipherUpdate => process(vm, al, st, a, false),
        Call::CipherDoFinal => process(vm, al, st, a, true),
        _ => Err(Exc::Fatal("not a Cipher method".into())),
    }
}

fn block_size(f: Family) -> usize {
    match f {
        Family::Aes => 16,
        Family::Des | Family::Hmac => 8,
    }
}

fn init(
    vm: &mut Vm<'_>,
    al: Alg,
    st: (ObjId, ObjId),
    key: i32,
    mode: i32,
    iv: Option<(i32, i32, i32)>,
) -> Result<Ret, Exc> {
    let fam = match keys::secret_ref(vm, key) {
        Some((fam, _)) => fam,
        // Not a usable key: the exception that says why.
        None => keys::secret(vm, key)?.0,
    };
    if fam != al.family {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if mode != MODE_DECRYPT && mode != MODE_ENCRYPT {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let bs = block_size(al.family);
    let mut initial = [0u8; 16];
    if let Some((buf, off, len)) = iv {
        let given = bytes(vm, buf, off, len)?;
        let fits = al.chaining != Chaining::Ecb && given.len() == bs;
        if fits {
            initial[..bs].copy_from_slice(given);
        } else {
            return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
        }
    }
    let s = store_mut(vm, st.0, SETUP_LEN)?;
    s[INIT] = 1;
    s[MODE] = mode as u8;
    s[KEY..KEY + 4].copy_from_slice(&(key as u32).to_be_bytes());
    s[IV0..IV0 + 16].copy_from_slice(&initial);
    let w = store_mut(vm, st.1, WORK_LEN)?;
    w[VALID] = 1;
    if al.chaining == Chaining::Ctr {
        // CTR keeps its key stream offset there.
        w[CV..CV + 16].fill(0);
    } else {
        w[CV..CV + 16].copy_from_slice(&initial);
    }
    w[PEND_N] = 0;
    Ok(Ret::Void)
}

/// update (`last` false) or doFinal: `a` is this, inBuff, inOffset,
/// inLength, outBuff, outOffset. The data goes through the Env's scratch
/// buffer, zeroized after every call and kept for the next one, so a
/// steady stream of APDUs allocates nothing here.
fn process(
    vm: &mut Vm<'_>,
    al: Alg,
    st: (ObjId, ObjId),
    a: &[i32],
    last: bool,
) -> Result<Ret, Exc> {
    if al.chaining == Chaining::Ctr {
        return process_ctr(vm, st, a, last);
    }
    let mut data = std::mem::take(&mut vm.env.crypto.scratch);
    let r = process_blocks(vm, al, st, a, last, &mut data);
    data.zeroize();
    vm.env.crypto.scratch = data;
    r
}

fn process_blocks(
    vm: &mut Vm<'_>,
    al: Alg,
    st: (ObjId, ObjId),
    a: &[i32],
    last: bool,
    data: &mut Vec<u8>,
) -> Result<Ret, Exc> {
    let bs = block_size(al.family);
    let s = store(vm, st.0, SETUP_LEN)?;
    if s[INIT] != 1 {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let encrypt = i32::from(s[MODE]) == MODE_ENCRYPT;
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    let mut iv0 = [0u8; 16];
    iv0[..bs].copy_from_slice(&s[IV0..IV0 + bs]);
    let w = store(vm, st.1, WORK_LEN)?;
    let mut cv = iv0;
    data.clear();
    if w[VALID] == 1 {
        let pending = usize::from(w[PEND_N]).min(16);
        data.extend_from_slice(&w[PEND..PEND + pending]);
        cv[..bs].copy_from_slice(&w[CV..CV + bs]);
    }
    // Else a reset since init: start over from the initial vector.
    if !keys::is_initialized(vm, key) {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    data.extend_from_slice(bytes(vm, a[1], a[2], a[3])?);
    // What goes through the engine now, what waits for more input.
    let take = if last {
        if encrypt {
            pad(data, bs, al.pad);
        }
        if !data.len().is_multiple_of(bs) {
            return Err(crypto_exc(vm, reason::ILLEGAL_USE));
        }
        data.len()
    } else {
        let whole = data.len() / bs * bs;
        // A padded decryption keeps its last block for doFinal, where the
        // padding comes off.
        let hold = !encrypt && matches!(al.pad, Pad::M2 | Pad::Pkcs5) && whole == data.len();
        if hold {
            whole.saturating_sub(bs)
        } else {
            whole
        }
    };
    let mut rest = [0u8; 16];
    let rest_n = data.len() - take;
    rest[..rest_n].copy_from_slice(&data[take..]);
    let engine = engine(vm, key)?;
    let out = &mut data[..take];
    match al.chaining {
        Chaining::Ecb => engine.ecb(encrypt, out),
        Chaining::Cbc => engine.cbc(encrypt, &mut cv[..bs], out),
        Chaining::Ctr => return Err(Exc::Fatal("CTR in the block path".into())),
    }
    let mut n = take;
    if last && !encrypt {
        match unpad(&data[..take], bs, al.pad) {
            Some(k) => n = k,
            None => return Err(crypto_exc(vm, reason::ILLEGAL_USE)),
        }
    }
    check_bytes(vm, a[4], a[5], n as i32)?;
    write_bytes(vm, a[4], a[5] as usize, &data[..n], false)?;
    let w = store_mut(vm, st.1, WORK_LEN)?;
    w[VALID] = 1;
    if last {
        // doFinal leaves the cipher as init left it.
        w[CV..CV + bs].copy_from_slice(&iv0[..bs]);
        w[PEND_N] = 0;
    } else {
        w[CV..CV + bs].copy_from_slice(&cv[..bs]);
        w[PEND_N] = rest_n as u8;
        w[PEND..PEND + rest_n].copy_from_slice(&rest[..rest_n]);
    }
    rest.zeroize();
    Ok(Ret::Word(i32::from(n as i16)))
}

/// The keyed engine of key object `key`: the cached key schedule while
/// the key's bytes are those it was made from (compared in place, nothing
/// copied), else a new one.
fn engine<'v>(vm: &'v mut Vm<'_>, key: u32) -> Result<&'v Engine, Exc> {
    let cached = keys::secret_ref(vm, key as i32).is_some_and(|(fam, k)| {
        matches!(
            vm.env.crypto.engines.get(&key),
            Some((f, bytes, _)) if *f == fam && **bytes == *k
        )
    });
    if !cached {
        let (fam, k) = keys::secret(vm, key as i32)?;
        let e = Engine::new(fam, &k).ok_or_else(|| Exc::Fatal("a key of a bad length".into()))?;
        vm.env.crypto.engines.insert(key, (fam, k, e));
    }
    vm.env
        .crypto
        .engines
        .get(&key)
        .map(|(_, _, e)| e)
        .ok_or_else(|| Exc::Fatal("the key schedule is gone".into()))
}

/// CTR: a stream, every byte out as it comes in; the work array keeps
/// the offset into the key stream (CV's first 8 bytes).
fn process_ctr(vm: &mut Vm<'_>, st: (ObjId, ObjId), a: &[i32], last: bool) -> Result<Ret, Exc> {
    let s = store(vm, st.0, SETUP_LEN)?;
    if s[INIT] != 1 {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    let counter = s[IV0..IV0 + 16].to_vec();
    let w = store(vm, st.1, WORK_LEN)?;
    let mut at = [0u8; 8];
    if w[VALID] == 1 {
        at.copy_from_slice(&w[CV..CV + 8]);
    }
    let offset = u64::from_be_bytes(at);
    if !keys::is_initialized(vm, key) {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    let mut data = Zeroizing::new(bytes(vm, a[1], a[2], a[3])?.to_vec());
    let engine = engine(vm, key)?;
    if !engine.ctr(&counter, offset, &mut data) {
        // The counter would wrap: more data than one counter block allows.
        return Err(crypto_exc(vm, reason::ILLEGAL_USE));
    }
    check_bytes(vm, a[4], a[5], data.len() as i32)?;
    write_bytes(vm, a[4], a[5] as usize, &data, false)?;
    let next = if last { 0 } else { offset + data.len() as u64 };
    let w = store_mut(vm, st.1, WORK_LEN)?;
    w[VALID] = 1;
    w[CV..CV + 8].copy_from_slice(&next.to_be_bytes());
    Ok(Ret::Word(i32::from(data.len() as i16)))
}
