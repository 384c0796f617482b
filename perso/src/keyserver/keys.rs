//! Key selection: which key sets a card gets, by what it says about itself.
//!
//! Card types are rules matched against the card's identification (IIN,
//! CIN prefix, CPLC fields); the first that matches names two key sets of
//! the key store: the transport keys the card arrives with and the issuer
//! master keys its new keys derive from, each with its diversification.
//!
//! Keys reach the protocols only as `Arc<dyn scp::keys::KeyProvider>`, from
//! a [`KeyStore`]. The key file is one store ([`FileKeyStore`]); a PKCS#11
//! token is the other (`super::pkcs11::Pkcs11Store`, `[keys] backend =
//! "pkcs11"`, behind the crate's `pkcs11` feature). The card's new keys
//! for PUT KEY come as [`NewKeys`]: in clear from the key file, sealed by
//! the token from an HSM, so that they never pass through the key server.

use std::sync::Arc;

use scp::keys::{Diversification, KeyContext, KeyProvider, KeySetSealer, SoftwareKeys, StaticKeys};
use serde::Deserialize;

use crate::control::CardIdentity;
use crate::keyfile::{KeyFile, KeyFileError};

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error(transparent)]
    File(#[from] KeyFileError),
    #[error("{0}")]
    Other(String),
}

/// A card's new key set for PUT KEY, as its store can give it.
pub enum NewKeys {
    /// Derived in the key server's memory (the key file): the loader
    /// encrypts them under the session's key-data protection.
    Clear(StaticKeys),
    /// Held by a sealer that derives and encrypts them itself (an HSM):
    /// only their encryption for the card and their KCVs come out.
    Sealed(Arc<dyn KeySetSealer>),
}

/// Who holds the master keys.
pub trait KeyStore: Send + Sync {
    /// A provider for the key set `name` used as master keys diversified by
    /// `method` (none: the card holds the set itself).
    fn provider(
        &self,
        name: &str,
        method: Diversification,
    ) -> Result<Arc<dyn KeyProvider>, KeyStoreError>;

    /// The card's own keys derived from `name` for PUT KEY: typed for the
    /// card's protocol, diversified with its data, versioned `version` —
    /// in clear, or as a sealer that keeps them inside an HSM.
    fn card_keys(
        &self,
        name: &str,
        method: Diversification,
        key: &KeyContext,
        version: u8,
    ) -> Result<NewKeys, KeyStoreError>;

    /// The key version of a set (what INITIALIZE UPDATE asks for).
    fn version(&self, name: &str) -> Result<u8, KeyStoreError>;
}

/// The key file's sets, decrypted once at start-up.
pub struct FileKeyStore {
    file: KeyFile,
}

impl FileKeyStore {
    pub fn new(file: KeyFile) -> FileKeyStore {
        FileKeyStore { file }
    }

    fn software(&self, name: &str, method: Diversification) -> Result<SoftwareKeys, KeyStoreError> {
        let [enc, mac, dek] = self.file.bytes(name)?;
        Ok(SoftwareKeys::from_bytes(&enc, &mac, &dek, self.version(name)?).diversified(method))
    }
}

impl KeyStore for FileKeyStore {
    fn provider(
        &self,
        name: &str,
        method: Diversification,
    ) -> Result<Arc<dyn KeyProvider>, KeyStoreError> {
        Ok(Arc::new(self.software(name, method)?))
    }

    fn card_keys(
        &self,
        name: &str,
        method: Diversification,
        key: &KeyContext,
        version: u8,
    ) -> Result<NewKeys, KeyStoreError> {
        let [enc, mac, dek] = self.file.bytes(name)?;
        let kind = match key.protocol {
            scp::Protocol::Scp02 { .. } => scp::keys::KeyType::Des3,
            scp::Protocol::Scp03 { .. } => scp::keys::KeyType::Aes,
        };
        let master = StaticKeys::from_bytes(kind, &enc, &mac, &dek, version)
            .map_err(|e| KeyStoreError::Other(format!("key set {name:?} for {kind}: {e}")))?;
        master
            .diversify(method, &key.kdd)
            .map(NewKeys::Clear)
            .map_err(|e| KeyStoreError::Other(format!("key set {name:?}: {e}")))
    }

    fn version(&self, name: &str) -> Result<u8, KeyStoreError> {
        self.file
            .sets
            .get(name)
            .map(|s| s.version)
            .ok_or_else(|| KeyStoreError::Other(format!("key set {name:?} is not in the key file")))
    }
}

/// `[keys]` of the configuration: the fields of the file backend, then
/// those of the pkcs11 backend (see the README's key server section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// `file` (the default): the passphrase-encrypted key file; `pkcs11`:
    /// a PKCS#11 token.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// The key file (relative to the configuration file).
    pub file: Option<std::path::PathBuf>,
    /// Environment variable holding the passphrase (default
    /// JCT_KEYFILE_PASSPHRASE).
    pub passphrase_env: Option<String>,
    /// Or a file holding it (first line).
    pub passphrase_file: Option<std::path::PathBuf>,
    /// pkcs11: the module (shared library; default SoftHSM2's).
    pub module: Option<std::path::PathBuf>,
    /// pkcs11: the token's label.
    pub token: Option<String>,
    /// pkcs11: environment variable holding the user PIN (default
    /// JCT_HSM_PIN).
    pub pin_env: Option<String>,
    /// pkcs11: or a file holding it (first line).
    pub pin_file: Option<std::path::PathBuf>,
    /// pkcs11: `refuse` (the default) or `allow-where-token-lacks`: whether
    /// card keys the token cannot derive or wrap itself may pass through
    /// the key server (EMV/VISA2 diversification, SCP02 PUT KEY on
    /// SoftHSM2). Master keys never do.
    pub clear_keys: Option<String>,
    /// pkcs11: key set name → token label and version (both optional).
    #[serde(default)]
    pub sets: std::collections::BTreeMap<String, SetRef>,
}

/// `[keys.sets.NAME]` (pkcs11): where a key set of the configuration lives
/// in the token. Both optional: the label defaults to the set's name, the
/// version to the only version the token holds under that label.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRef {
    pub label: Option<String>,
    pub version: Option<u8>,
}

fn default_backend() -> String {
    "file".into()
}

/// The passphrase as the configuration says to find it.
pub fn passphrase(
    cfg: &KeysConfig,
    base: &std::path::Path,
) -> Result<zeroize::Zeroizing<String>, KeyStoreError> {
    if let Some(p) = &cfg.passphrase_file {
        let path = base.join(p);
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            KeyStoreError::Other(format!("passphrase file {}: {e}", path.display()))
        })?);
        return Ok(zeroize::Zeroizing::new(
            text.lines().next().unwrap_or("").to_string(),
        ));
    }
    let var = cfg
        .passphrase_env
        .as_deref()
        .unwrap_or("JCT_KEYFILE_PASSPHRASE");
    std::env::var(var)
        .map(zeroize::Zeroizing::new)
        .map_err(|_| {
            KeyStoreError::Other(format!(
                "the key file's passphrase: set {var} (or [keys] passphrase_file)"
            ))
        })
}

/// Opens the key store the configuration names.
pub fn open_store(
    cfg: &KeysConfig,
    base: &std::path::Path,
) -> Result<Arc<dyn KeyStore>, KeyStoreError> {
    match cfg.backend.as_str() {
        "file" => {
            for (field, set) in [
                ("module", cfg.module.is_some()),
                ("token", cfg.token.is_some()),
                ("pin_env", cfg.pin_env.is_some()),
                ("pin_file", cfg.pin_file.is_some()),
                ("clear_keys", cfg.clear_keys.is_some()),
                ("sets", !cfg.sets.is_empty()),
            ] {
                if set {
                    return Err(KeyStoreError::Other(format!(
                        "[keys] {field} belongs to backend \"pkcs11\", not to the file backend"
                    )));
                }
            }
            let file = cfg.file.as_ref().ok_or_else(|| {
                KeyStoreError::Other("[keys] file = \"...\" is needed for the file backend".into())
            })?;
            let pass = passphrase(cfg, base)?;
            Ok(Arc::new(FileKeyStore::new(KeyFile::open(
                &base.join(file),
                pass.as_bytes(),
            )?)))
        }
        #[cfg(feature = "pkcs11")]
        "pkcs11" => Ok(Arc::new(super::pkcs11::Pkcs11Store::open(cfg, base)?)),
        #[cfg(not(feature = "pkcs11"))]
        "pkcs11" => Err(KeyStoreError::Other(
            "[keys] backend \"pkcs11\" is not available in this build (perso was built without \
             its pkcs11 feature)"
                .into(),
        )),
        other => Err(KeyStoreError::Other(format!(
            "[keys] backend {other:?}: \"file\" or \"pkcs11\""
        ))),
    }
}

/// A diversification method by its configuration name.
pub fn parse_diversification(text: &str) -> Result<Diversification, String> {
    match text.to_ascii_lowercase().as_str() {
        "none" => Ok(Diversification::None),
        "emv" | "emv-cps11" => Ok(Diversification::EmvCps11),
        "visa2" => Ok(Diversification::Visa2),
        "kdf3" => Ok(Diversification::Kdf3),
        _ => Err(format!(
            "diversification {text:?}: none, emv, visa2 or kdf3"
        )),
    }
}

/// A card type: what identifies it and the keys it gets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardRule {
    pub name: String,
    /// The IIN must equal this (hex).
    pub iin: Option<String>,
    /// The CIN must start with this (hex).
    pub cin_prefix: Option<String>,
    /// The CPLC's IC fabricator (2 bytes, hex).
    pub ic_fabricator: Option<String>,
    /// The CPLC's IC type (2 bytes, hex).
    pub ic_type: Option<String>,
    /// The key set the card arrives with, and its diversification.
    pub transport_keys: String,
    #[serde(default = "none")]
    pub transport_diversification: String,
    /// The master keys of the card's new keys, and their diversification.
    pub issuer_keys: String,
    #[serde(default = "none")]
    pub issuer_diversification: String,
    /// The job to run for this type instead of the one the station names.
    pub job: Option<String>,
}

fn none() -> String {
    "none".into()
}

fn eq_hex(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl CardRule {
    /// Whether the card is of this type.
    pub fn matches(&self, card: &CardIdentity) -> bool {
        let cplc_field =
            |range: std::ops::Range<usize>| card.cplc.as_ref().and_then(|c| c.get(range));
        let ok = |want: &Option<String>, got: Option<&str>, prefix: bool| match want {
            None => true,
            Some(w) => got.is_some_and(|g| {
                if prefix {
                    g.len() >= w.len() && eq_hex(&g[..w.len()], w)
                } else {
                    eq_hex(g, w)
                }
            }),
        };
        ok(&self.iin, card.iin.as_deref(), false)
            && ok(&self.cin_prefix, card.cin.as_deref(), true)
            && ok(&self.ic_fabricator, cplc_field(0..4), false)
            && ok(&self.ic_type, cplc_field(4..8), false)
    }

    pub fn check(&self) -> Result<(), String> {
        for (what, v) in [
            ("transport_diversification", &self.transport_diversification),
            ("issuer_diversification", &self.issuer_diversification),
        ] {
            parse_diversification(v)
                .map_err(|e| format!("card type {:?}: {what}: {e}", self.name))?;
        }
        for (what, v) in [
            ("iin", &self.iin),
            ("cin_prefix", &self.cin_prefix),
            ("ic_fabricator", &self.ic_fabricator),
            ("ic_type", &self.ic_type),
        ] {
            if let Some(v) = v {
                if hex::decode(v).is_err() {
                    return Err(format!(
                        "card type {:?}: {what} {v:?} is not hex",
                        self.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The keys of one card, chosen by its type.
pub struct CardKeys {
    pub rule: String,
    pub transport: Arc<dyn KeyProvider>,
    pub issuer: Arc<dyn KeyProvider>,
    issuer_set: String,
    issuer_method: Diversification,
    store: Arc<dyn KeyStore>,
}

impl CardKeys {
    /// The first rule that matches the card.
    pub fn select(
        rules: &[CardRule],
        store: &Arc<dyn KeyStore>,
        card: &CardIdentity,
    ) -> Result<(CardKeys, Option<String>), KeyStoreError> {
        let rule = rules.iter().find(|r| r.matches(card)).ok_or_else(|| {
            KeyStoreError::Other(format!("no card type matches {}", card.label()))
        })?;
        let tm =
            parse_diversification(&rule.transport_diversification).map_err(KeyStoreError::Other)?;
        let im =
            parse_diversification(&rule.issuer_diversification).map_err(KeyStoreError::Other)?;
        Ok((
            CardKeys {
                rule: rule.name.clone(),
                transport: store.provider(&rule.transport_keys, tm)?,
                issuer: store.provider(&rule.issuer_keys, im)?,
                issuer_set: rule.issuer_keys.clone(),
                issuer_method: im,
                store: Arc::clone(store),
            },
            rule.job.clone(),
        ))
    }

    /// The card's new keys for PUT KEY.
    pub fn new_card_keys(&self, key: &KeyContext) -> Result<NewKeys, KeyStoreError> {
        let version = self.store.version(&self.issuer_set)?;
        self.store
            .card_keys(&self.issuer_set, self.issuer_method, key, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(iin: Option<&str>, cin: Option<&str>) -> CardRule {
        CardRule {
            name: "t".into(),
            iin: iin.map(Into::into),
            cin_prefix: cin.map(Into::into),
            ic_fabricator: None,
            ic_type: None,
            transport_keys: "f".into(),
            transport_diversification: "none".into(),
            issuer_keys: "i".into(),
            issuer_diversification: "kdf3".into(),
            job: None,
        }
    }

    #[test]
    fn rules_match_by_identification() {
        let card = CardIdentity {
            security_domain: "A000000151000000".into(),
            cplc: None,
            iin: Some("6A6374".into()),
            cin: Some("4A430001DEADBEEF0001".into()),
        };
        assert!(rule(Some("6a6374"), None).matches(&card));
        assert!(rule(None, Some("4A430001")).matches(&card));
        assert!(!rule(Some("6A6375"), None).matches(&card));
        assert!(!rule(None, Some("4A430001DEADBEEF00011")).matches(&card));
        let mut bad = rule(Some("zz"), None);
        assert!(bad.check().is_err());
        bad.iin = None;
        bad.issuer_diversification = "rot13".into();
        assert!(bad.check().unwrap_err().contains("issuer_diversification"));
    }
}
