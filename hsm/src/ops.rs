//! The PKCS#11 operations jct runs on one session: card keys derived from a
//! master inside the token, the session-key derivations, encryption under
//! a key object, key check values, and wrapping for PUT KEY.
//!
//! Card keys live in session objects that are destroyed when the
//! [`CardKey`] guard drops, so a failed session leaves nothing behind.

use cryptoki::mechanism::ekdf::AesCbcDeriveParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use scp::keys::{DerivationInput, Key, KeyType};
use zeroize::Zeroizing;

use crate::error::not_supported;
use crate::token::{mechanism_name, ClearKeys, MasterKey};
use crate::HsmError;

/// C_Encrypt of `data` under `key`.
pub(crate) fn encrypt(
    s: &Session,
    m: &Mechanism<'_>,
    key: ObjectHandle,
    data: &[u8],
) -> Result<Vec<u8>, HsmError> {
    s.encrypt(m, key, data)
        .map_err(|e| HsmError::call(format!("C_Encrypt with {}", mechanism_name(m)), e))
}

/// C_Decrypt of `data` under `key`.
pub(crate) fn decrypt(
    s: &Session,
    m: &Mechanism<'_>,
    key: ObjectHandle,
    data: &[u8],
) -> Result<Vec<u8>, HsmError> {
    s.decrypt(m, key, data)
        .map_err(|e| HsmError::call(format!("C_Decrypt with {}", mechanism_name(m)), e))
}

/// AES-CMAC (C_Sign with CKM_AES_CMAC) of `data` under `key`.
pub(crate) fn cmac(s: &Session, key: ObjectHandle, data: &[u8]) -> Result<[u8; 16], HsmError> {
    let mac = s
        .sign(&Mechanism::AesCMac, key, data)
        .map_err(|e| HsmError::call("C_Sign with CKM_AES_CMAC", e))?;
    mac.try_into().map_err(|m: Vec<u8>| HsmError::Call {
        operation: "C_Sign with CKM_AES_CMAC".into(),
        detail: format!("the token returned {} bytes, not 16", m.len()),
    })
}

/// The GlobalPlatform key check value, computed in the token: 3DES-ECB of
/// eight '00' bytes, or AES-ECB of sixteen '01' bytes, first three bytes.
pub(crate) fn kcv(s: &Session, key: ObjectHandle, kind: KeyType) -> Result<[u8; 3], HsmError> {
    let out = match kind {
        KeyType::Des3 => encrypt(s, &Mechanism::Des3Ecb, key, &[0; 8])?,
        KeyType::Aes => encrypt(s, &Mechanism::AesEcb, key, &[0x01; 16])?,
    };
    let mut kcv = [0u8; 3];
    kcv.copy_from_slice(out.get(..3).ok_or_else(|| HsmError::Call {
        operation: "computing a key check value".into(),
        detail: "the token returned too few bytes".into(),
    })?);
    Ok(kcv)
}

/// Whether a card key may be wrapped (PUT KEY) or only used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Session keys, cryptograms, key data: never extractable.
    Session,
    /// A new key for PUT KEY: extractable, but only wrapped (still sensitive).
    Wrap,
}

/// The secret-key template of a card key session object.
fn card_key_template(kind: KeyType, len: usize, usage: Use) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(usage == Use::Wrap),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Sign(true),
        Attribute::Wrap(true),
    ];
    match kind {
        KeyType::Des3 => t.push(Attribute::KeyType(CkKeyType::DES2)),
        KeyType::Aes => {
            t.push(Attribute::KeyType(CkKeyType::AES));
            t.push(Attribute::ValueLen((len as u64).into()));
        }
    }
    t
}

/// A card key in the token: the master itself, or a session object that is
/// destroyed on drop.
pub(crate) struct CardKey<'s> {
    session: &'s Session,
    pub handle: ObjectHandle,
    pub kind: KeyType,
    pub len: usize,
    owned: bool,
}

impl Drop for CardKey<'_> {
    fn drop(&mut self) {
        if self.owned {
            // Nothing to do about a failure here: the object is a session
            // object and goes when the session closes at the latest.
            let _ = self.session.destroy_object(self.handle);
        }
    }
}

impl<'s> CardKey<'s> {
    fn master(session: &'s Session, m: &MasterKey) -> CardKey<'s> {
        CardKey {
            session,
            handle: m.handle,
            kind: m.kind,
            len: m.len,
            owned: false,
        }
    }

    /// A session object holding `value` (a key that passed through the
    /// process, see [`ClearKeys`], or a session key).
    pub(crate) fn import(
        session: &'s Session,
        kind: KeyType,
        value: &[u8],
        usage: Use,
    ) -> Result<CardKey<'s>, HsmError> {
        let mut t = card_key_template(kind, value.len(), usage);
        if kind == KeyType::Aes {
            // CKA_VALUE_LEN must not accompany CKA_VALUE in C_CreateObject.
            t.retain(|a| !matches!(a, Attribute::ValueLen(_)));
        }
        t.push(Attribute::Value(value.to_vec()));
        let handle = session
            .create_object(&t)
            .map_err(|e| HsmError::call("C_CreateObject of a session key", e))?;
        Ok(CardKey {
            session,
            handle,
            kind,
            len: value.len(),
            owned: true,
        })
    }

    /// The card key for `input` derived from `master` inside the token.
    ///
    /// - KDF3 with a 16-byte master: the card key is one AES-CMAC block,
    ///   `AES(M, msg XOR K1)` with K1 the CMAC subkey of `L = AES(M, 0)`
    ///   (NIST SP 800-38B); the token encrypts the zero block and then
    ///   derives with CKM_AES_CBC_ENCRYPT_DATA, ICV K1, data msg. Only L
    ///   — a fixed-plaintext encryption, like a check value — leaves the
    ///   token; the card key does not.
    /// - EMV CPS 1.1 and VISA2 (3DES-ECB under the master) and KDF3 with
    ///   longer masters need CKM_DES3_ECB_ENCRYPT_DATA /
    ///   CKM_AES_ECB_ENCRYPT_DATA, which the cryptoki crate does not offer:
    ///   under [`ClearKeys::AllowWhereTokenLacks`] the token computes the
    ///   key (C_Encrypt / C_Sign) and it is imported back as a session
    ///   object at once; otherwise an error.
    pub(crate) fn derive(
        session: &'s Session,
        master: &MasterKey,
        input: &DerivationInput,
        usage: Use,
        clear: ClearKeys,
        method: &str,
    ) -> Result<CardKey<'s>, HsmError> {
        match input {
            DerivationInput::Master => {
                if usage == Use::Wrap {
                    return Err(HsmError::Unsupported(
                        "a master key that is not diversified cannot be put on a card from the \
                         HSM: it is not extractable, not even wrapped"
                            .into(),
                    ));
                }
                Ok(CardKey::master(session, master))
            }
            DerivationInput::AesCmac(blocks) if master.len == 16 && blocks.len() == 1 => {
                let msg = &blocks[0];
                let l = encrypt(session, &Mechanism::AesEcb, master.handle, &[0; 16])?;
                // With K1 as the ICV, the CBC encryption of msg is AES(msg ^ K1).
                let k1 = subkey(&l)?;
                let params = AesCbcDeriveParams::new(*k1, msg);
                let template = card_key_template(KeyType::Aes, 16, usage);
                let handle = session
                    .derive_key(
                        &Mechanism::AesCbcEncryptData(params),
                        master.handle,
                        &template,
                    )
                    .map_err(|e| HsmError::call("C_DeriveKey with CKM_AES_CBC_ENCRYPT_DATA", e))?;
                Ok(CardKey {
                    session,
                    handle,
                    kind: KeyType::Aes,
                    len: 16,
                    owned: true,
                })
            }
            _ => {
                let value = Self::clear_value(session, master, input, clear, method)?;
                CardKey::import(session, master.kind, &value, usage)
            }
        }
    }

    /// The value of a card key computed by the token with the master
    /// inside, for the derivations the token cannot run as C_DeriveKey;
    /// only under [`ClearKeys::AllowWhereTokenLacks`].
    pub(crate) fn clear_value(
        session: &Session,
        master: &MasterKey,
        input: &DerivationInput,
        clear: ClearKeys,
        method: &str,
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        if clear != ClearKeys::AllowWhereTokenLacks {
            return Err(HsmError::Unsupported(format!(
                "{method} diversification cannot run inside the token here (cryptoki offers no \
                 CKM_DES3_ECB_ENCRYPT_DATA or CKM_AES_ECB_ENCRYPT_DATA; KDF3 runs inside only \
                 with AES-128 masters); allow card keys to pass through the process \
                 (hsm::ClearKeys::AllowWhereTokenLacks) to use it"
            )));
        }
        match input {
            DerivationInput::Des3Ecb(block) => Ok(Zeroizing::new(encrypt(
                session,
                &Mechanism::Des3Ecb,
                master.handle,
                block,
            )?)),
            DerivationInput::AesCmac(blocks) => {
                let mut out = Zeroizing::new(Vec::with_capacity(blocks.len() * 16));
                for b in blocks {
                    out.extend_from_slice(&cmac(session, master.handle, b)?);
                }
                out.truncate(master.len);
                Ok(out)
            }
            DerivationInput::Master => Err(HsmError::Unsupported(
                "a master key is not extractable".into(),
            )),
        }
    }
}

/// The first CMAC subkey K1 from `L = AES(K, 0^128)` (SP 800-38B 6.1):
/// L doubled in GF(2^128).
fn subkey(l: &[u8]) -> Result<Zeroizing<[u8; 16]>, HsmError> {
    let l: [u8; 16] = l.try_into().map_err(|_| HsmError::Call {
        operation: "C_Encrypt with CKM_AES_ECB".into(),
        detail: format!("the token returned {} bytes, not 16", l.len()),
    })?;
    let mut k1 = Zeroizing::new([0u8; 16]);
    for i in 0..16 {
        let carry = l.get(i + 1).map_or(0, |n| n >> 7);
        k1[i] = (l[i] << 1) | carry;
    }
    if l[0] & 0x80 != 0 {
        k1[15] ^= 0x87;
    }
    Ok(k1)
}

/// C_WrapKey of `key` under `wrapping` with `m`; None when the token does
/// not offer that wrapping (then a caller may try another way).
pub(crate) fn wrap(
    s: &Session,
    m: &Mechanism<'_>,
    wrapping: ObjectHandle,
    key: ObjectHandle,
) -> Result<Option<Vec<u8>>, HsmError> {
    match s.wrap_key(m, wrapping, key) {
        Ok(w) => Ok(Some(w)),
        Err(e) if not_supported(&e) => Ok(None),
        Err(e) => Err(HsmError::call(
            format!("C_WrapKey with {}", mechanism_name(m)),
            e,
        )),
    }
}

/// A session key from bytes the token returned.
pub(crate) fn session_key(kind: KeyType, bytes: &[u8]) -> Result<Key, HsmError> {
    Key::new(kind, bytes).map_err(|e| HsmError::Call {
        operation: "deriving a session key".into(),
        detail: e.to_string(),
    })
}
