//! [`Pkcs11Keys`]: a master key set in a PKCS#11 token as a
//! [`scp::keys::KeyProvider`] (sessions with the card's keys, diversified
//! inside the token) and as a [`scp::keys::KeySetSealer`] (the card's new
//! keys for PUT KEY, derived, wrapped and checked inside the token).

use std::fmt;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::session::Session;
use scp::keys::{
    Diversification, KeyContext, KeyProtection, KeyProvider, KeySetSealer, KeyType, SealedKey,
    SealedKeySet, KEY_TYPES,
};
use scp::{scp02, scp03, Protocol, ScpError};

use crate::ops::{self, CardKey, Use};
use crate::token::{ClearKeys, MasterKey};
use crate::{Hsm, HsmError};

/// A master (or card) key set held in a token: ENC, MAC, DEK objects
/// (the same object three times for a single key), its key version, and
/// how the card's keys derive from it.
#[derive(Clone)]
pub struct Pkcs11Keys {
    hsm: Hsm,
    label: String,
    version: u8,
    set: [MasterKey; 3],
    diversification: Diversification,
}

impl Pkcs11Keys {
    pub(crate) fn new(
        hsm: Hsm,
        label: String,
        version: u8,
        set: [MasterKey; 3],
        diversification: Diversification,
    ) -> Pkcs11Keys {
        Pkcs11Keys {
            hsm,
            label,
            version,
            set,
            diversification,
        }
    }

    /// The key set's label in the token.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The diversification applied for every card.
    pub fn diversification(&self) -> Diversification {
        self.diversification
    }

    /// The token.
    pub fn hsm(&self) -> &Hsm {
        &self.hsm
    }

    /// The algorithm of the set.
    pub fn kind(&self) -> KeyType {
        self.set[0].kind
    }

    /// The master key set as an [`Arc`] for channel options.
    pub fn into_provider(self) -> Arc<dyn KeyProvider> {
        Arc::new(self)
    }

    fn require(&self, protocol: Protocol) -> Result<(), HsmError> {
        let (scp, needs) = match protocol {
            Protocol::Scp02 { .. } => (2, KeyType::Des3),
            Protocol::Scp03 { .. } => (3, KeyType::Aes),
        };
        if self.kind() == needs {
            Ok(())
        } else {
            Err(HsmError::Invalid(format!(
                "SCP{scp:02} needs {needs} keys; key {:?} version {:#04X} holds {} keys",
                self.label,
                self.version,
                self.kind()
            )))
        }
    }

    /// The card key `which` (0 ENC, 1 MAC, 2 DEK) for `kdd`, in the token.
    fn card_key<'s>(
        &self,
        s: &'s Session,
        which: usize,
        kdd: &[u8; 10],
        usage: Use,
    ) -> Result<CardKey<'s>, HsmError> {
        let master = &self.set[which];
        let input = self
            .diversification
            .derivation_input(KEY_TYPES[which], kdd, master.len)
            .map_err(|e| HsmError::Invalid(format!("key {:?}: {e}", self.label)))?;
        self.check_method(master)?;
        CardKey::derive(
            s,
            master,
            &input,
            usage,
            self.hsm.clear_keys(),
            self.diversification.name(),
        )
    }

    fn check_method(&self, master: &MasterKey) -> Result<(), HsmError> {
        let needs = match self.diversification {
            Diversification::None => return Ok(()),
            Diversification::EmvCps11 | Diversification::Visa2 => KeyType::Des3,
            Diversification::Kdf3 => KeyType::Aes,
        };
        if master.kind == needs {
            Ok(())
        } else {
            Err(HsmError::Invalid(format!(
                "{} diversification needs {needs} master keys; key {:?} is {}",
                self.diversification.name(),
                self.label,
                master.kind
            )))
        }
    }

    fn scp03_kdf(
        s: &Session,
        key: &CardKey<'_>,
        constant: u8,
        context: &[u8],
        out_len: usize,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, ScpError> {
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(out_len + 16));
        for data in scp03::kdf_derivation_data(constant, context, out_len)? {
            out.extend_from_slice(&ops::cmac(s, key.handle, &data)?);
        }
        out.truncate(out_len);
        Ok(out)
    }
}

impl KeyProvider for Pkcs11Keys {
    fn key_version(&self) -> u8 {
        self.version
    }

    fn scp02_session_keys(
        &self,
        key: &KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
    ) -> Result<scp02::SessionKeys, ScpError> {
        self.require(key.protocol)?;
        self.hsm
            .with_session(|s| {
                let enc = self.card_key(s, 0, &key.kdd, Use::Session)?;
                let three = i & 0x01 != 0;
                let (mac, dek) = if three {
                    (
                        Some(self.card_key(s, 1, &key.kdd, Use::Session)?),
                        Some(self.card_key(s, 2, &key.kdd, Use::Session)?),
                    )
                } else {
                    (None, None)
                };
                let mac_base = mac.as_ref().unwrap_or(&enc);
                let dek_base = dek.as_ref().unwrap_or(&enc);
                let derive = |base: &CardKey<'_>, constant| -> Result<scp::keys::Key, HsmError> {
                    let block = scp02::SessionKeys::derivation_block(constant, sequence_counter);
                    let out = zeroize::Zeroizing::new(ops::encrypt(
                        s,
                        &Mechanism::Des3Cbc([0; 8]),
                        base.handle,
                        &block,
                    )?);
                    ops::session_key(KeyType::Des3, &out)
                };
                let keys = scp02::SessionKeys::from_keys(
                    derive(&enc, scp02::DERIVE_S_ENC)?,
                    derive(mac_base, scp02::DERIVE_C_MAC)?,
                    derive(mac_base, scp02::DERIVE_R_MAC)?,
                    derive(dek_base, scp02::DERIVE_DEK)?,
                );
                keys.map_err(|e| HsmError::Invalid(e.to_string()))
            })
            .map_err(ScpError::from)
    }

    fn scp03_session_keys(
        &self,
        key: &KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<scp03::SessionKeys, ScpError> {
        self.scp03_session_keys_in(key, scp03::Mode::S8, host_challenge, card_challenge)
    }

    /// S8 and S16 alike: the KDF context is the two challenges of the
    /// mode's length, computed with the card keys inside the token.
    fn scp03_session_keys_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        host_challenge: &[u8],
        card_challenge: &[u8],
    ) -> Result<scp03::SessionKeys, ScpError> {
        self.require(key.protocol)?;
        mode.check("host challenge", host_challenge)?;
        mode.check("card challenge", card_challenge)?;
        let context = [host_challenge, card_challenge].concat();
        let outcome = self.hsm.with_session(|s| {
            let enc = self.card_key(s, 0, &key.kdd, Use::Session)?;
            let mac = self.card_key(s, 1, &key.kdd, Use::Session)?;
            let derive = |base: &CardKey<'_>, constant| -> Result<scp::keys::Key, HsmError> {
                let out = Self::scp03_kdf(s, base, constant, &context, base.len)
                    .map_err(|e| HsmError::Invalid(e.to_string()))?;
                ops::session_key(KeyType::Aes, &out)
            };
            Ok((
                derive(&enc, scp03::DERIVE_S_ENC)?,
                derive(&mac, scp03::DERIVE_S_MAC)?,
                derive(&mac, scp03::DERIVE_S_RMAC)?,
            ))
        })?;
        scp03::SessionKeys::from_keys(outcome.0, outcome.1, outcome.2)
    }

    fn scp03_card_challenge(
        &self,
        key: &KeyContext,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<[u8; 8], ScpError> {
        let out = self.scp03_card_challenge_in(key, scp03::Mode::S8, sequence_counter, aid)?;
        // The KDF output is truncated to the S8 length: always 8 bytes.
        <[u8; 8]>::try_from(out.as_slice()).map_err(|_| {
            ScpError::Unsupported(format!(
                "a card challenge of {} bytes in S8 mode",
                out.len()
            ))
        })
    }

    fn scp03_card_challenge_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<Vec<u8>, ScpError> {
        self.require(key.protocol)?;
        let context = [&sequence_counter[..], aid].concat();
        let out = self.hsm.with_session(|s| {
            let enc = self.card_key(s, 0, &key.kdd, Use::Session)?;
            Self::scp03_kdf(
                s,
                &enc,
                scp03::DERIVE_CARD_CHALLENGE,
                &context,
                mode.field_len(),
            )
            .map_err(|e| HsmError::Invalid(e.to_string()))
        })?;
        Ok(out.to_vec())
    }

    fn encrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.require(key.protocol)?;
        Ok(self.hsm.with_session(|s| {
            let dek = self.card_key(s, 2, &key.kdd, Use::Session)?;
            ops::encrypt(s, &Mechanism::AesCbc([0; 16]), dek.handle, data)
        })?)
    }

    fn decrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        self.require(key.protocol)?;
        Ok(self.hsm.with_session(|s| {
            let dek = self.card_key(s, 2, &key.kdd, Use::Session)?;
            ops::decrypt(s, &Mechanism::AesCbc([0; 16]), dek.handle, data)
        })?)
    }

    fn describe(&self, key: &KeyContext) -> Result<String, ScpError> {
        self.require(key.protocol)?;
        let kcvs = self.hsm.with_session(|s| {
            let mut kcvs = Vec::new();
            for which in 0..3 {
                let k = self.card_key(s, which, &key.kdd, Use::Session)?;
                kcvs.push(hex::encode_upper(ops::kcv(s, k.handle, k.kind)?));
            }
            Ok(kcvs)
        })?;
        Ok(format!(
            "keys in HSM token {:?}, {:?} version {:#04X} ({}{}): ENC KCV {}  MAC KCV {}  DEK KCV {}",
            self.hsm.inner.label,
            self.label,
            self.version,
            self.kind(),
            match self.diversification {
                Diversification::None => String::new(),
                d => format!(", diversified {}", d.name()),
            },
            kcvs[0],
            kcvs[1],
            kcvs[2]
        ))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl KeySetSealer for Pkcs11Keys {
    /// The card's new keys, derived from this master for `kdd`, wrapped in
    /// the token under the session's key-data protection key, with KCVs
    /// computed in the token.
    ///
    /// - SCP03 (static Key-DEK): the session must have been opened by a
    ///   [`Pkcs11Keys`] of the same token; its card DEK is derived there and
    ///   wraps each new key with C_WrapKey, CKM_AES_CBC, zero ICV (AES-128
    ///   and AES-256; AES-192 would need zero padding to whole blocks,
    ///   which C_WrapKey does not do).
    /// - SCP02 (DEK session key, 3DES-ECB): the session key is imported as
    ///   a session object and wraps with C_WrapKey, CKM_DES3_ECB. Where the
    ///   token cannot (SoftHSM), and only under
    ///   [`ClearKeys::AllowWhereTokenLacks`], the token computes the card
    ///   key and encrypts it with C_Encrypt under the imported session key.
    /// - SCP11 (AES S-DEK session key): imported, then as SCP03.
    fn seal(
        &self,
        kdd: &[u8; 10],
        protection: KeyProtection<'_>,
    ) -> Result<SealedKeySet, ScpError> {
        let sealed = self.hsm.with_session(|s| {
            let wrapping = self.wrapping_key(s, kdd, &protection)?;
            let mut keys = Vec::with_capacity(3);
            for which in 0..3 {
                keys.push(self.seal_one(s, which, kdd, &wrapping)?);
            }
            let keys: [SealedKey; 3] = keys
                .try_into()
                .map_err(|_| HsmError::Invalid("three keys expected".into()))?;
            Ok(SealedKeySet {
                version: self.version,
                keys,
            })
        })?;
        Ok(sealed)
    }
}

/// The key that wraps new keys, as an object in the token.
struct Wrapping<'s> {
    key: CardKey<'s>,
}

impl Pkcs11Keys {
    fn wrapping_key<'s>(
        &self,
        s: &'s Session,
        kdd: &[u8; 10],
        protection: &KeyProtection<'_>,
    ) -> Result<Wrapping<'s>, HsmError> {
        match protection {
            KeyProtection::SessionKey(key) => Ok(Wrapping {
                key: CardKey::import(s, key.kind(), key.expose_secret(), Use::Session)?,
            }),
            KeyProtection::StaticDek { provider, key } => {
                let current = provider
                    .as_any()
                    .and_then(|a| a.downcast_ref::<Pkcs11Keys>())
                    .ok_or_else(|| {
                        HsmError::Unsupported(
                            "SCP03 PUT KEY from the HSM wraps the new keys under the card's \
                             static Key-DEK, so the session must be opened with keys of the same \
                             token (Pkcs11Keys), not software keys"
                                .into(),
                        )
                    })?;
                if !current.hsm.same_token(&self.hsm) {
                    return Err(HsmError::Unsupported(format!(
                        "the session's keys are in token {:?}, the new master in token {:?}: \
                         wrapping needs both in one open token",
                        current.hsm.inner.label, self.hsm.inner.label
                    )));
                }
                if kdd != &key.kdd {
                    return Err(HsmError::Invalid(
                        "the session's key diversification data differ from the card's".into(),
                    ));
                }
                Ok(Wrapping {
                    key: current.card_key(s, 2, &key.kdd, Use::Session)?,
                })
            }
        }
    }

    fn seal_one(
        &self,
        s: &Session,
        which: usize,
        kdd: &[u8; 10],
        wrapping: &Wrapping<'_>,
    ) -> Result<SealedKey, HsmError> {
        let new = self.card_key(s, which, kdd, Use::Wrap)?;
        let kcv = ops::kcv(s, new.handle, new.kind)?;
        let encrypted = match (new.kind, wrapping.key.kind) {
            (KeyType::Aes, KeyType::Aes) => {
                if new.len % 16 != 0 {
                    return Err(HsmError::Unsupported(format!(
                        "an AES-{} key cannot be wrapped for PUT KEY in the token: \
                         C_WrapKey with CKM_AES_CBC does not pad to whole blocks",
                        new.len * 8
                    )));
                }
                let m = Mechanism::AesCbc([0; 16]);
                ops::wrap(s, &m, wrapping.key.handle, new.handle)?.ok_or_else(|| {
                    HsmError::Unsupported(
                        "the token cannot wrap with CKM_AES_CBC (C_WrapKey)".into(),
                    )
                })?
            }
            (KeyType::Des3, KeyType::Des3) => {
                match ops::wrap(s, &Mechanism::Des3Ecb, wrapping.key.handle, new.handle)? {
                    Some(w) => w,
                    None => self.des3_fallback(s, which, kdd, wrapping)?,
                }
            }
            (k, w) => {
                return Err(HsmError::Invalid(format!(
                    "new {k} keys cannot be put in a session protected by a {w} key"
                )))
            }
        };
        Ok(SealedKey {
            kind: new.kind,
            len: new.len,
            encrypted,
            kcv,
        })
    }

    /// SCP02 on a token without CKM_DES3_ECB wrapping (SoftHSM): the card
    /// key computed by the token passes through the process and is
    /// encrypted by the token under the imported session DEK.
    fn des3_fallback(
        &self,
        s: &Session,
        which: usize,
        kdd: &[u8; 10],
        wrapping: &Wrapping<'_>,
    ) -> Result<Vec<u8>, HsmError> {
        if self.hsm.clear_keys() != ClearKeys::AllowWhereTokenLacks {
            return Err(HsmError::Unsupported(
                "the token cannot wrap with CKM_DES3_ECB (C_WrapKey), which SCP02 PUT KEY needs \
                 to keep the new keys inside it; allow card keys to pass through the process \
                 (hsm::ClearKeys::AllowWhereTokenLacks) to use it"
                    .into(),
            ));
        }
        let master = &self.set[which];
        let input = self
            .diversification
            .derivation_input(KEY_TYPES[which], kdd, master.len)
            .map_err(|e| HsmError::Invalid(e.to_string()))?;
        let value = CardKey::clear_value(
            s,
            master,
            &input,
            self.hsm.clear_keys(),
            self.diversification.name(),
        )?;
        // The card stores what it decrypts; odd parity as the token would
        // have stored the key keeps the KCV (parity bits are not key bits).
        ops::encrypt(s, &Mechanism::Des3Ecb, wrapping.key.handle, &value)
    }
}

impl fmt::Debug for Pkcs11Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Keys")
            .field("token", &self.hsm.inner.label)
            .field("label", &self.label)
            .field("version", &self.version)
            .field("kind", &self.kind())
            .field("diversification", &self.diversification)
            .finish_non_exhaustive()
    }
}

impl From<Pkcs11Keys> for Arc<dyn KeyProvider> {
    fn from(keys: Pkcs11Keys) -> Self {
        Arc::new(keys)
    }
}
