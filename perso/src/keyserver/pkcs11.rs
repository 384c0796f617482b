//! `[keys] backend = "pkcs11"`: master keys in a PKCS#11 token (an HSM, or
//! SoftHSM2), through the `hsm` crate.
//!
//! The key server never holds a master key: a key set name of the
//! configuration is a key object label (and key version) in the token,
//! every session's card keys and session keys are derived there
//! ([`hsm::Pkcs11Keys`] as the [`KeyProvider`]), and the card's new keys
//! for PUT KEY are derived, wrapped and checked there too
//! ([`hsm::Pkcs11Keys`] as the [`scp::keys::KeySetSealer`]). What the
//! token cannot do inside — EMV/VISA2 diversification through cryptoki, and
//! 3DES wrapping on SoftHSM2 — fails with an error naming the mechanism
//! unless the configuration opts in with `clear_keys =
//! "allow-where-token-lacks"` (then only those card keys pass through the
//! process; masters never do).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::keys::{KeyStore, KeyStoreError, KeysConfig, NewKeys, SetRef};
use hsm::{ClearKeys, Hsm, Pin, Pkcs11Keys};
use scp::keys::{
    Diversification, KeyContext, KeyProtection, KeyProvider, KeySetSealer, KeyType, SealedKeySet,
};
use scp::ScpError;

/// The environment variable of the token PIN unless `pin_env` names another.
pub const DEFAULT_PIN_ENV: &str = "JCT_HSM_PIN";

/// The policy for card keys the token cannot keep, by its configuration
/// name.
pub fn parse_clear_keys(text: &str) -> Result<ClearKeys, KeyStoreError> {
    match text {
        "refuse" => Ok(ClearKeys::Refuse),
        "allow-where-token-lacks" => Ok(ClearKeys::AllowWhereTokenLacks),
        other => Err(KeyStoreError::Other(format!(
            "[keys] clear_keys {other:?}: \"refuse\" (the default) or \"allow-where-token-lacks\""
        ))),
    }
}

/// The PIN as the configuration says to find it: a file's first line, or
/// an environment variable (never the configuration itself).
pub fn pin(cfg: &KeysConfig, base: &Path) -> Result<Pin, KeyStoreError> {
    if let Some(p) = &cfg.pin_file {
        let path = base.join(p);
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            KeyStoreError::Other(format!("token PIN file {}: {e}", path.display()))
        })?);
        let first = text.lines().next().unwrap_or("").trim_end();
        if first.is_empty() {
            return Err(KeyStoreError::Other(format!(
                "token PIN file {}: the first line is empty",
                path.display()
            )));
        }
        return Ok(Pin::new(first));
    }
    let var = cfg.pin_env.as_deref().unwrap_or(DEFAULT_PIN_ENV);
    Pin::from_env(var).map_err(|e| KeyStoreError::Other(format!("{e} (or [keys] pin_file)")))
}

/// A token opened once at start-up; key sets found by label on first use
/// and kept (object handles stay valid while the token is open).
pub struct Pkcs11Store {
    hsm: Hsm,
    sets: BTreeMap<String, SetRef>,
    found: Mutex<HashMap<(String, Diversification), Pkcs11Keys>>,
}

impl Pkcs11Store {
    /// Opens the token the configuration names and logs in.
    pub fn open(cfg: &KeysConfig, base: &Path) -> Result<Pkcs11Store, KeyStoreError> {
        for (field, set) in [
            ("file", cfg.file.is_some()),
            ("passphrase_env", cfg.passphrase_env.is_some()),
            ("passphrase_file", cfg.passphrase_file.is_some()),
        ] {
            if set {
                return Err(KeyStoreError::Other(format!(
                    "[keys] {field} belongs to the file backend, not to backend \"pkcs11\""
                )));
            }
        }
        let token = cfg.token.as_deref().ok_or_else(|| {
            KeyStoreError::Other(
                "[keys] token = \"LABEL\" (the token's label) is needed for the pkcs11 backend"
                    .into(),
            )
        })?;
        let module = cfg
            .module
            .clone()
            .unwrap_or_else(|| PathBuf::from(hsm::SOFTHSM2_MODULE));
        let clear = parse_clear_keys(cfg.clear_keys.as_deref().unwrap_or("refuse"))?;
        let pin = pin(cfg, base)?;
        let hsm = Hsm::open_with(&base.join(module), token, &pin, clear).map_err(hsm_error)?;
        Ok(Pkcs11Store {
            hsm,
            sets: cfg.sets.clone(),
            found: Mutex::new(HashMap::new()),
        })
    }

    /// The key set `name` diversified by `method`, looked up once.
    fn keys(&self, name: &str, method: Diversification) -> Result<Pkcs11Keys, KeyStoreError> {
        let key = (name.to_string(), method);
        if let Some(k) = self.found.lock().ok().and_then(|f| f.get(&key).cloned()) {
            return Ok(k);
        }
        let set = self.sets.get(name).cloned().unwrap_or_default();
        let label = set.label.unwrap_or_else(|| name.to_string());
        let version = match set.version {
            Some(v) => v,
            None => self.only_version(name, &label)?,
        };
        let keys = self
            .hsm
            .keys(&label, version, method)
            .map_err(|e| KeyStoreError::Other(format!("key set {name:?}: {e}")))?;
        if let Ok(mut f) = self.found.lock() {
            f.insert(key, keys.clone());
        }
        Ok(keys)
    }

    /// The version of the only key set labelled `label`.
    fn only_version(&self, name: &str, label: &str) -> Result<u8, KeyStoreError> {
        let mut versions: Vec<u8> = self
            .hsm
            .list()
            .map_err(hsm_error)?
            .into_iter()
            .filter(|k| k.label == label)
            .map(|k| k.version)
            .collect();
        versions.dedup();
        match versions[..] {
            [v] => Ok(v),
            [] => Err(KeyStoreError::Other(format!(
                "key set {name:?}: no key labelled {label:?} in the token"
            ))),
            _ => Err(KeyStoreError::Other(format!(
                "key set {name:?}: the token holds key {label:?} in versions {}; name one in \
                 [keys.sets.{name}] version = ...",
                versions
                    .iter()
                    .map(|v| format!("{v:#04X}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The token's sealer, with the key server's policy named in its errors
/// (the hsm crate names `hsm::ClearKeys`; an operator reads the
/// configuration).
struct TokenSealer {
    keys: Pkcs11Keys,
    clear: ClearKeys,
}

impl KeySetSealer for TokenSealer {
    fn seal(
        &self,
        kdd: &[u8; 10],
        protection: KeyProtection<'_>,
    ) -> Result<SealedKeySet, ScpError> {
        self.keys.seal(kdd, protection).map_err(|e| match self.clear {
            ClearKeys::Refuse => ScpError::Provider(format!(
                "{e} [the key server has [keys] clear_keys = \"refuse\"; \"allow-where-token-lacks\" \
                 lets such card keys pass through it]"
            )),
            ClearKeys::AllowWhereTokenLacks => e,
        })
    }
}

fn hsm_error(e: hsm::HsmError) -> KeyStoreError {
    KeyStoreError::Other(e.to_string())
}

impl KeyStore for Pkcs11Store {
    fn provider(
        &self,
        name: &str,
        method: Diversification,
    ) -> Result<Arc<dyn KeyProvider>, KeyStoreError> {
        Ok(self.keys(name, method)?.into_provider())
    }

    fn card_keys(
        &self,
        name: &str,
        method: Diversification,
        key: &KeyContext,
        version: u8,
    ) -> Result<NewKeys, KeyStoreError> {
        let keys = self.keys(name, method)?;
        let (scp, needs) = match key.protocol {
            scp::Protocol::Scp02 { .. } => (2, KeyType::Des3),
            scp::Protocol::Scp03 { .. } => (3, KeyType::Aes),
        };
        if keys.kind() != needs {
            return Err(KeyStoreError::Other(format!(
                "key set {name:?}: the card runs SCP{scp:02}, which needs {needs} keys; the \
                 token's are {}",
                keys.kind()
            )));
        }
        if keys.key_version() != version {
            return Err(KeyStoreError::Other(format!(
                "key set {name:?}: version {version:#04X} asked, the token's is {:#04X}",
                keys.key_version()
            )));
        }
        Ok(NewKeys::Sealed(Arc::new(TokenSealer {
            keys,
            clear: self.hsm.clear_keys(),
        })))
    }

    fn version(&self, name: &str) -> Result<u8, KeyStoreError> {
        Ok(self.keys(name, Diversification::None)?.key_version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> KeysConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn pin_from_a_file_or_the_environment_and_errors_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pin"), "123456\nsecond line\n").unwrap();
        let from_file = pin(
            &cfg("backend = \"pkcs11\"\ntoken = \"t\"\npin_file = \"pin\"\n"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(format!("{from_file:?}"), "Pin(<redacted>)");
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let e = pin(&cfg("pin_file = \"empty\"\n"), dir.path()).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = pin(
            &cfg("pin_env = \"JCT_PERSO_TEST_PIN_NOT_SET\"\n"),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("JCT_PERSO_TEST_PIN_NOT_SET")
                && e.to_string().contains("pin_file"),
            "{e}"
        );
    }

    #[test]
    fn configuration_errors_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = Pkcs11Store::open(&cfg("backend = \"pkcs11\"\n"), dir.path())
            .err()
            .unwrap();
        assert!(e.to_string().contains("token"), "{e}");
        let e = Pkcs11Store::open(
            &cfg("backend = \"pkcs11\"\ntoken = \"t\"\nfile = \"keys.json\"\n"),
            dir.path(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("file backend"), "{e}");
        let e = parse_clear_keys("sometimes").unwrap_err();
        assert!(e.to_string().contains("allow-where-token-lacks"), "{e}");
        let e = Pkcs11Store::open(
            &cfg("backend = \"pkcs11\"\ntoken = \"t\"\nmodule = \"no/such/module.so\"\npin_env = \"PATH\"\n"),
            dir.path(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("module.so"), "{e}");
        let sets = cfg("[sets.issuer]\nlabel = \"iss\"\nversion = 0x30\n");
        assert_eq!(sets.sets["issuer"].version, Some(0x30));
    }
}
