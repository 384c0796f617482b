//! Keys behind a trait: who holds the static keys of a security domain.
//!
//! The protocols never see a static key. They ask a [`KeyProvider`] for what
//! the static keys are needed for — the session keys of one session, the
//! SCP03 pseudo-random card challenge, and key data encrypted under the
//! static Key-DEK for PUT KEY — and get results, never key bytes. Keys held in
//! process memory ([`SoftwareKeys`]) are one provider; a hardware security
//! module (PKCS#11) is another that can stand in without any protocol change.
//! Session keys are ephemeral by design and do live in the process.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{Diversification, Key, KeyType, StaticKeys};
use crate::crypto::aes;
use crate::{scp02, scp03, Protocol, ScpError};

/// Which key set a request is about: what the card said in INITIALIZE
/// UPDATE, before any challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyContext {
    /// The protocol the card runs; it also fixes the key type (3DES for
    /// SCP02, AES for SCP03).
    pub protocol: Protocol,
    /// The key version number the card used.
    pub key_version: u8,
    /// The card's key diversification data.
    pub kdd: [u8; 10],
}

/// The session keys of one session and the two cryptograms that prove
/// them: the card's (checked by the host) and the host's (checked by the
/// card).
pub struct Cryptograms<K> {
    pub keys: K,
    pub card: [u8; 8],
    pub host: [u8; 8],
}

/// A holder of static keys, for the host or for the card.
///
/// Implementations must be usable from many threads (a key server drives
/// many sessions at once) and must never reveal key bytes, in `Debug` or
/// otherwise.
pub trait KeyProvider: Send + Sync {
    /// The key version to ask INITIALIZE UPDATE for (0: the card's default).
    fn key_version(&self) -> u8;

    /// The SCP02 session keys for a sequence counter ("i" says whether one
    /// base key or three are used).
    fn scp02_session_keys(
        &self,
        key: &KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
    ) -> Result<scp02::SessionKeys, ScpError>;

    /// The SCP03 session keys for a pair of challenges.
    fn scp03_session_keys(
        &self,
        key: &KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<scp03::SessionKeys, ScpError>;

    /// The session keys of an SCP02 session with both cryptograms (card,
    /// host). The default derives the keys and computes the cryptograms
    /// from them; a provider that keeps session keys inside an HSM may
    /// compute them there.
    fn scp02_session(
        &self,
        key: &KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 6],
    ) -> Result<Cryptograms<scp02::SessionKeys>, ScpError> {
        let keys = self.scp02_session_keys(key, i, sequence_counter)?;
        Ok(Cryptograms {
            card: scp02::card_cryptogram(&keys, host_challenge, &sequence_counter, card_challenge)?,
            host: scp02::host_cryptogram(&keys, host_challenge, &sequence_counter, card_challenge)?,
            keys,
        })
    }

    /// As [`KeyProvider::scp02_session`], for SCP03.
    fn scp03_session(
        &self,
        key: &KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<Cryptograms<scp03::SessionKeys>, ScpError> {
        let keys = self.scp03_session_keys(key, host_challenge, card_challenge)?;
        Ok(Cryptograms {
            card: scp03::card_cryptogram(&keys, host_challenge, card_challenge)?,
            host: scp03::host_cryptogram(&keys, host_challenge, card_challenge)?,
            keys,
        })
    }

    /// The SCP03 pseudo-random card challenge (from the static Key-ENC).
    fn scp03_card_challenge(
        &self,
        key: &KeyContext,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<[u8; 8], ScpError>;

    /// The SCP03 session keys in S8 or S16 mode, from challenges of the
    /// mode's length. The default serves S8 through
    /// [`KeyProvider::scp03_session_keys`]; a provider whose keys live
    /// elsewhere (an HSM) must compute the 32-byte S16 context there, so it
    /// says S16 is not available rather than guess.
    fn scp03_session_keys_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        host_challenge: &[u8],
        card_challenge: &[u8],
    ) -> Result<scp03::SessionKeys, ScpError> {
        match (
            mode,
            <[u8; 8]>::try_from(host_challenge),
            <[u8; 8]>::try_from(card_challenge),
        ) {
            (scp03::Mode::S8, Ok(host), Ok(card)) => self.scp03_session_keys(key, &host, &card),
            (scp03::Mode::S8, ..) => Err(ScpError::malformed(
                "SCP03 challenges",
                "S8 mode needs 8-byte host and card challenges",
            )),
            (scp03::Mode::S16, ..) => Err(ScpError::Unsupported(
                "SCP03 S16 mode with this key provider".into(),
            )),
        }
    }

    /// The pseudo-random card challenge in S8 or S16 mode; the default, as
    /// [`KeyProvider::scp03_session_keys_in`], serves S8 only.
    fn scp03_card_challenge_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<Vec<u8>, ScpError> {
        match mode {
            scp03::Mode::S8 => Ok(self
                .scp03_card_challenge(key, sequence_counter, aid)?
                .to_vec()),
            scp03::Mode::S16 => Err(ScpError::Unsupported(
                "SCP03 S16 mode with this key provider".into(),
            )),
        }
    }

    /// Key data encrypted under the static Key-DEK (SCP03 PUT KEY:
    /// AES-CBC, zero ICV). `data` is whole blocks.
    fn encrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError>;

    /// The inverse of [`KeyProvider::encrypt_key_data`], for the card side.
    fn decrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError>;

    /// Algorithm and key check values of the key set used for `key`, for
    /// `-v` output. Never key bytes.
    fn describe(&self, key: &KeyContext) -> Result<String, ScpError>;

    /// The provider itself as [`std::any::Any`], so that a [`super::KeySetSealer`]
    /// can recognise a provider of its own kind behind the trait object (an
    /// HSM wraps new keys under the static Key-DEK only when that key is in
    /// the same token). `None`, the default, for providers no sealer needs
    /// to recognise.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// How software keys are held: typed already, or raw bytes typed once the
/// card has said which protocol it runs (one 16-byte value then serves as
/// 3DES for SCP02 and as AES-128 for SCP03).
#[derive(Clone)]
enum Material {
    Typed(StaticKeys),
    Raw {
        enc: Zeroizing<Vec<u8>>,
        mac: Zeroizing<Vec<u8>>,
        dek: Zeroizing<Vec<u8>>,
        version: u8,
    },
}

/// Static keys in process memory, optionally master keys to diversify with
/// the card's data: the provider of the CLI, the tests and the emulator.
#[derive(Clone)]
pub struct SoftwareKeys {
    material: Material,
    diversification: Diversification,
}

impl SoftwareKeys {
    /// A provider for a typed key set (the card's own keys, or master keys
    /// of one algorithm).
    pub fn new(keys: StaticKeys) -> SoftwareKeys {
        SoftwareKeys {
            material: Material::Typed(keys),
            diversification: Diversification::None,
        }
    }

    /// A provider for raw key bytes, typed per protocol when a session
    /// opens: 3DES for SCP02, AES for SCP03. The bytes are wiped on drop.
    pub fn from_bytes(enc: &[u8], mac: &[u8], dek: &[u8], version: u8) -> SoftwareKeys {
        SoftwareKeys {
            material: Material::Raw {
                enc: Zeroizing::new(enc.to_vec()),
                mac: Zeroizing::new(mac.to_vec()),
                dek: Zeroizing::new(dek.to_vec()),
                version,
            },
            diversification: Diversification::None,
        }
    }

    /// Treats the keys as master keys, diversified with the card's key
    /// diversification data by `method` for every session.
    pub fn diversified(mut self, method: Diversification) -> SoftwareKeys {
        self.diversification = method;
        self
    }

    /// The diversification applied.
    pub fn diversification(&self) -> Diversification {
        self.diversification
    }

    /// The card's static keys for `key`: typed for its protocol and
    /// diversified.
    fn card_keys(&self, key: &KeyContext) -> Result<StaticKeys, ScpError> {
        let kind = match key.protocol {
            Protocol::Scp02 { .. } => KeyType::Des3,
            Protocol::Scp03 { .. } => KeyType::Aes,
        };
        let scp = key.protocol.id();
        let master = match &self.material {
            Material::Typed(keys) => {
                if keys.kind() != kind {
                    return Err(ScpError::KeyType {
                        scp,
                        needs: kind,
                        got: keys.kind(),
                    });
                }
                keys.clone()
            }
            Material::Raw {
                enc,
                mac,
                dek,
                version,
            } => {
                let typed = |bytes: &[u8], which: &'static str| {
                    Key::new(kind, bytes).map_err(|source| ScpError::KeyMaterial {
                        which,
                        scp,
                        source,
                    })
                };
                StaticKeys::new(
                    typed(enc, "ENC")?,
                    typed(mac, "MAC")?,
                    typed(dek, "DEK")?,
                    *version,
                )?
            }
        };
        Ok(master.diversify(self.diversification, &key.kdd)?)
    }
}

impl KeyProvider for SoftwareKeys {
    fn key_version(&self) -> u8 {
        match &self.material {
            Material::Typed(keys) => keys.version,
            Material::Raw { version, .. } => *version,
        }
    }

    fn scp02_session_keys(
        &self,
        key: &KeyContext,
        i: u8,
        sequence_counter: [u8; 2],
    ) -> Result<scp02::SessionKeys, ScpError> {
        scp02::SessionKeys::derive(&self.card_keys(key)?, i, sequence_counter)
    }

    fn scp03_session_keys(
        &self,
        key: &KeyContext,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> Result<scp03::SessionKeys, ScpError> {
        scp03::SessionKeys::derive(&self.card_keys(key)?, host_challenge, card_challenge)
    }

    fn scp03_card_challenge(
        &self,
        key: &KeyContext,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<[u8; 8], ScpError> {
        scp03::pseudo_random_card_challenge(&self.card_keys(key)?.enc, sequence_counter, aid)
    }

    fn scp03_session_keys_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        host_challenge: &[u8],
        card_challenge: &[u8],
    ) -> Result<scp03::SessionKeys, ScpError> {
        scp03::mode::session_keys(&self.card_keys(key)?, mode, host_challenge, card_challenge)
    }

    fn scp03_card_challenge_in(
        &self,
        key: &KeyContext,
        mode: scp03::Mode,
        sequence_counter: &[u8; 3],
        aid: &[u8],
    ) -> Result<Vec<u8>, ScpError> {
        scp03::mode::pseudo_random_card_challenge(
            &self.card_keys(key)?.enc,
            mode,
            sequence_counter,
            aid,
        )
    }

    fn encrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let keys = self.card_keys(key)?;
        let mut out = data.to_vec();
        aes::cbc_encrypt(keys.dek.expose_secret(), &[0; 16], &mut out)?;
        Ok(out)
    }

    fn decrypt_key_data(&self, key: &KeyContext, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let keys = self.card_keys(key)?;
        let mut out = data.to_vec();
        aes::cbc_decrypt(keys.dek.expose_secret(), &[0; 16], &mut out)?;
        Ok(out)
    }

    fn describe(&self, key: &KeyContext) -> Result<String, ScpError> {
        let keys = self.card_keys(key)?;
        Ok(format!(
            "keys ({}{}): ENC KCV {}  MAC KCV {}  DEK KCV {}",
            keys.kind(),
            match self.diversification {
                Diversification::None => String::new(),
                d => format!(", diversified {}", d.name()),
            },
            hex::encode_upper(keys.enc.kcv()),
            hex::encode_upper(keys.mac.kcv()),
            hex::encode_upper(keys.dek.kcv())
        ))
    }
}

impl From<SoftwareKeys> for Arc<dyn KeyProvider> {
    fn from(keys: SoftwareKeys) -> Self {
        Arc::new(keys)
    }
}

/// A typed key set stands for the software provider that holds it.
impl From<StaticKeys> for Arc<dyn KeyProvider> {
    fn from(keys: StaticKeys) -> Self {
        Arc::new(SoftwareKeys::new(keys))
    }
}

impl fmt::Debug for SoftwareKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("SoftwareKeys");
        match &self.material {
            Material::Typed(keys) => s.field("keys", keys),
            Material::Raw { version, .. } => s
                .field("keys", &"<raw bytes, redacted>")
                .field("version", version),
        };
        s.field("diversification", &self.diversification).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: [u8; 16] = *b"@ABCDEFGHIJKLMNO";

    fn context(protocol: Protocol) -> KeyContext {
        KeyContext {
            protocol,
            key_version: 1,
            kdd: [0; 10],
        }
    }

    #[test]
    fn raw_bytes_are_typed_per_protocol() {
        let keys = SoftwareKeys::from_bytes(&TEST_KEY, &TEST_KEY, &TEST_KEY, 1);
        let scp02 = keys
            .describe(&context(Protocol::Scp02 { i: 0x15 }))
            .unwrap();
        let scp03 = keys
            .describe(&context(Protocol::Scp03 { i: 0x00 }))
            .unwrap();
        assert!(
            scp02.contains("3DES") && scp02.contains("8BAF47"),
            "{scp02}"
        );
        assert!(scp03.contains("AES") && scp03.contains("504A77"), "{scp03}");
    }

    #[test]
    fn typed_keys_refuse_the_other_protocol() {
        let keys = SoftwareKeys::new(StaticKeys::single(Key::aes(&TEST_KEY).unwrap(), 1));
        let err = keys
            .scp02_session_keys(&context(Protocol::Scp02 { i: 0x15 }), 0x15, [0, 1])
            .unwrap_err();
        assert!(matches!(err, ScpError::KeyType { scp: 2, .. }), "{err}");
    }

    #[test]
    fn wrong_lengths_name_the_key() {
        let keys = SoftwareKeys::from_bytes(&TEST_KEY, &[1; 20], &TEST_KEY, 0);
        let err = keys
            .describe(&context(Protocol::Scp03 { i: 0 }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("MAC") && err.contains("SCP03"), "{err}");
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let raw = SoftwareKeys::from_bytes(&TEST_KEY, &TEST_KEY, &TEST_KEY, 0);
        let typed = SoftwareKeys::new(StaticKeys::single(Key::aes(&TEST_KEY).unwrap(), 1));
        for shown in [format!("{raw:?}"), format!("{typed:?}")] {
            assert!(
                !shown.contains("ABCDEF") && !shown.contains("64, 65"),
                "{shown}"
            );
        }
    }

    #[test]
    fn key_data_round_trip() {
        let keys = SoftwareKeys::from_bytes(&TEST_KEY, &TEST_KEY, &[7; 16], 0);
        let ctx = context(Protocol::Scp03 { i: 0 });
        let sealed = keys.encrypt_key_data(&ctx, &[9; 32]).unwrap();
        assert_ne!(sealed, vec![9; 32]);
        assert_eq!(keys.decrypt_key_data(&ctx, &sealed).unwrap(), vec![9; 32]);
    }
}
