//! javacardx.crypto.Cipher for the symmetric block ciphers: DES and
//! triple DES, AES-128/192/256, ECB and CBC, with no padding, ISO 9797-1
//! methods 1 and 2 or PKCS#5. The working state (mode, key, initial and
//! chaining values, a partial block) lives in a CLEAR_ON_RESET array of
//! the cipher, as a card keeps it in RAM; the key bytes are read from the
//! key object at each call, never copied into the cipher.

use zeroize::Zeroizing;

use super::block::Engine;
use super::classes::{class_of, Impl};
use super::keys::{self, Family};
use super::{
    alloc_store, api_constant, bytes, check_bytes, crypto_exc, key_state, reason, state_of, store,
    store_mut, write_bytes, Call, State,
};
use crate::jcvm::heap::{NativeData, Obj, ObjId, CLEAR_ON_RESET};
use crate::jcvm::interp::{Exc, Ret, Vm};

/// Cipher.MODE_DECRYPT and MODE_ENCRYPT.
const MODE_DECRYPT: i32 = 1;
const MODE_ENCRYPT: i32 = 2;

/// Layout of the working state.
const INIT: usize = 0;
const MODE: usize = 1;
const KEY: usize = 2;
const IV0: usize = 6;
const CV: usize = 22;
const PEND_N: usize = 38;
const PEND: usize = 39;
const STATE_LEN: usize = 55;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chaining {
    Ecb,
    Cbc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pad {
    None,
    M1,
    M2,
    Pkcs5,
}

/// What a Cipher.ALG_* constant means here.
#[derive(Debug, Clone, Copy)]
struct Alg {
    family: Family,
    chaining: Chaining,
    pad: Pad,
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
        (Family::Des, Chaining::Cbc) => 3,
        (Family::Des, Chaining::Ecb) => 4,
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
    let named = api_constant(vm, "javacardx/crypto/Cipher", "ALG_", i64::from(a as i8));
    if !named || alg(code).is_none() {
        return Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM));
    }
    let store = alloc_store(vm, STATE_LEN, CLEAR_ON_RESET)?;
    let class = class_of(vm, Impl::Cipher)?;
    let obj = Obj::Instance {
        class,
        fields: Vec::new(),
        native: NativeData::Crypto(State::Cipher { alg: code, store }),
    };
    match vm.alloc(obj) {
        Ok(id) => Ok(Ret::Word(id as i32)),
        Err(e) => {
            vm.heap.free(store);
            Err(e)
        }
    }
}

/// Cipher.getInstance(cipherAlgorithm, paddingAlgorithm, externalAccess).
pub fn get_instance_padding(vm: &mut Vm<'_>, c: i32, p: i32) -> Result<Ret, Exc> {
    let found = (1u8..=27).find(|a| alg(*a).is_some_and(|x| parts(x) == (c as u8, p as u8)));
    match found {
        Some(a) => get_instance(vm, i32::from(a)),
        None => Err(crypto_exc(vm, reason::NO_SUCH_ALGORITHM)),
    }
}

pub fn call(vm: &mut Vm<'_>, c: Call, a: &[i32]) -> Result<Ret, Exc> {
    let (code, st) = match state_of(vm, a[0])? {
        State::Cipher { alg, store } => (*alg, *store),
        _ => return Err(Exc::Fatal("a Cipher method on another object".into())),
    };
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
        Family::Des => 8,
    }
}

fn init(
    vm: &mut Vm<'_>,
    al: Alg,
    st: ObjId,
    key: i32,
    mode: i32,
    iv: Option<(i32, i32, i32)>,
) -> Result<Ret, Exc> {
    let (fam, _) = keys::secret(vm, key)?;
    let (kt, _, _) = key_state(vm, key)?;
    if fam != al.family || keys::family(kt).is_none() {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    if mode != MODE_DECRYPT && mode != MODE_ENCRYPT {
        return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
    }
    let bs = block_size(al.family);
    let mut initial = [0u8; 16];
    if let Some((buf, off, len)) = iv {
        let given = bytes(vm, buf, off, len)?.to_vec();
        if al.chaining == Chaining::Ecb || given.len() != bs {
            return Err(crypto_exc(vm, reason::ILLEGAL_VALUE));
        }
        initial[..bs].copy_from_slice(&given);
    }
    let s = store_mut(vm, st, STATE_LEN)?;
    s[INIT] = 1;
    s[MODE] = mode as u8;
    s[KEY..KEY + 4].copy_from_slice(&(key as u32).to_be_bytes());
    s[IV0..IV0 + 16].copy_from_slice(&initial);
    s[CV..CV + 16].copy_from_slice(&initial);
    s[PEND_N] = 0;
    Ok(Ret::Void)
}

/// update (`last` false) or doFinal: `a` is this, inBuff, inOffset,
/// inLength, outBuff, outOffset.
fn process(vm: &mut Vm<'_>, al: Alg, st: ObjId, a: &[i32], last: bool) -> Result<Ret, Exc> {
    let s = store(vm, st, STATE_LEN)?;
    if s[INIT] != 1 {
        return Err(crypto_exc(vm, reason::INVALID_INIT));
    }
    let encrypt = i32::from(s[MODE]) == MODE_ENCRYPT;
    let key = u32::from_be_bytes([s[KEY], s[KEY + 1], s[KEY + 2], s[KEY + 3]]);
    let bs = block_size(al.family);
    let pending = usize::from(s[PEND_N]).min(16);
    let mut data = Zeroizing::new(s[PEND..PEND + pending].to_vec());
    let mut cv = s[CV..CV + bs].to_vec();
    if !keys::is_initialized(vm, key) {
        return Err(crypto_exc(vm, reason::UNINITIALIZED_KEY));
    }
    data.extend_from_slice(bytes(vm, a[1], a[2], a[3])?);
    // What goes through the engine now, what waits for more input.
    let take = if last {
        if encrypt {
            pad(&mut data, bs, al.pad);
        }
        if data.len() % bs != 0 {
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
    let (fam, k) = keys::secret(vm, key as i32)?;
    let engine = Engine::new(fam, &k).ok_or_else(|| Exc::Fatal("a key of a bad length".into()))?;
    let mut out = Zeroizing::new(data[..take].to_vec());
    match al.chaining {
        Chaining::Ecb => engine.ecb(encrypt, &mut out),
        Chaining::Cbc => engine.cbc(encrypt, &mut cv, &mut out),
    }
    let rest = data[take..].to_vec();
    if last && !encrypt {
        let Some(n) = unpad(&out, bs, al.pad) else {
            return Err(crypto_exc(vm, reason::ILLEGAL_USE));
        };
        out.truncate(n);
    }
    check_bytes(vm, a[4], a[5], out.len() as i32)?;
    write_bytes(vm, a[4], a[5] as usize, &out, false)?;
    let s = store_mut(vm, st, STATE_LEN)?;
    if last {
        // doFinal leaves the cipher as init left it.
        let iv0 = s[IV0..IV0 + 16].to_vec();
        s[CV..CV + 16].copy_from_slice(&iv0);
        s[PEND_N] = 0;
    } else {
        s[CV..CV + bs].copy_from_slice(&cv);
        s[PEND_N] = rest.len() as u8;
        s[PEND..PEND + rest.len()].copy_from_slice(&rest);
    }
    Ok(Ret::Word(i32::from(out.len() as i16)))
}

/// Pads a last chunk for encryption.
fn pad(data: &mut Vec<u8>, bs: usize, p: Pad) {
    match p {
        Pad::None => {}
        // ISO 9797-1 method 1: zeros up to the block (an empty message is
        // one block of zeros).
        Pad::M1 => {
            let n = if data.is_empty() {
                bs
            } else {
                (bs - data.len() % bs) % bs
            };
            data.resize(data.len() + n, 0);
        }
        Pad::M2 => {
            data.push(0x80);
            let n = (bs - data.len() % bs) % bs;
            data.resize(data.len() + n, 0);
        }
        Pad::Pkcs5 => {
            let n = bs - data.len() % bs;
            data.resize(data.len() + n, n as u8);
        }
    }
}

/// The length of decrypted data without its padding; None when the
/// padding is wrong. Method 1 cannot be told from data: nothing comes off.
fn unpad(data: &[u8], bs: usize, p: Pad) -> Option<usize> {
    match p {
        Pad::None | Pad::M1 => Some(data.len()),
        Pad::M2 => {
            let tail = data.len().saturating_sub(bs);
            let i = data[tail..].iter().rposition(|b| *b != 0)? + tail;
            (data[i] == 0x80).then_some(i)
        }
        Pad::Pkcs5 => {
            let n = usize::from(*data.last()?);
            let ok = (1..=bs).contains(&n)
                && data[data.len() - n..].iter().all(|b| usize::from(*b) == n);
            ok.then(|| data.len() - n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paddings_round_trip_and_bad_padding_is_refused() {
        for p in [Pad::M2, Pad::Pkcs5] {
            for len in 0..33 {
                let mut d = vec![0xA5u8; len];
                pad(&mut d, 16, p);
                assert_eq!(d.len() % 16, 0);
                assert!(d.len() > len);
                assert_eq!(unpad(&d, 16, p), Some(len), "{p:?} {len}");
            }
        }
        let mut d = vec![1u8; 16];
        pad(&mut d, 16, Pad::M1);
        assert_eq!(d.len(), 16);
        let mut e = Vec::new();
        pad(&mut e, 8, Pad::M1);
        assert_eq!(e, vec![0; 8]);
        assert_eq!(unpad(&[0u8; 16], 16, Pad::M2), None);
        assert_eq!(unpad(&[5u8; 16], 16, Pad::Pkcs5), Some(11));
        assert_eq!(unpad(&[17u8; 16], 16, Pad::Pkcs5), None);
        let mut bad = vec![3u8; 16];
        bad[14] = 2;
        assert_eq!(unpad(&bad, 16, Pad::Pkcs5), None);
        assert_eq!(unpad(&[0u8; 8], 8, Pad::Pkcs5), None);
    }
}
