//! The passphrase-encrypted key file of small set-ups: named master key
//! sets (ENC, MAC, DEK and a key version), sealed with XChaCha20-Poly1305
//! under a key stretched from the passphrase with Argon2id.
//!
//! The file is JSON: the format name, the KDF and its parameters, the salt,
//! the nonce and the ciphertext, all in clear but bound to the ciphertext
//! as associated data, so none can be changed without the file failing to
//! open. Decrypted key bytes live in zeroizing buffers only.

use std::collections::BTreeMap;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

const FORMAT: &str = "jct-keyfile-1";

/// Largest key file read: thousands of key sets fit in far less.
const MAX_FILE: u64 = 4 << 20;

/// Why a key file could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}: not a jct key file: {reason}")]
    Format { path: String, reason: String },
    #[error("{path}: wrong passphrase, or the file was altered")]
    Decrypt { path: String },
    #[error("key set {name:?}: {reason}")]
    Set { name: String, reason: String },
    #[error("key derivation: {0}")]
    Kdf(String),
}

/// One master key set. Key bytes are hex inside the sealed payload only.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeySetEntry {
    pub enc: String,
    pub mac: String,
    pub dek: String,
    pub version: u8,
}

impl Drop for KeySetEntry {
    fn drop(&mut self) {
        self.enc.zeroize();
        self.mac.zeroize();
        self.dek.zeroize();
    }
}

impl std::fmt::Debug for KeySetEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySetEntry")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The decrypted content.
#[derive(Clone, Default, Serialize, Deserialize, Debug)]
pub struct KeyFile {
    pub sets: BTreeMap<String, KeySetEntry>,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    parallelism: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// Argon2id cost: 64 MiB, 3 passes (the RFC 9106 second recommendation).
const M_COST: u32 = 64 * 1024;
const T_COST: u32 = 3;
const LANES: u32 = 1;

impl Envelope {
    fn aad(&self) -> Vec<u8> {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.format,
            self.kdf,
            self.m_cost_kib,
            self.t_cost,
            self.parallelism,
            self.salt,
            self.nonce
        )
        .into_bytes()
    }
}

fn derive(
    passphrase: &[u8],
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let params =
        argon2::Params::new(m, t, p, Some(32)).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    Ok(key)
}

impl KeyFile {
    /// Adds or replaces a key set, checking the key bytes are hex of a
    /// usable length (16, 24 or 32 bytes).
    pub fn put(
        &mut self,
        name: &str,
        enc: &[u8],
        mac: &[u8],
        dek: &[u8],
        version: u8,
    ) -> Result<(), KeyFileError> {
        if name.is_empty() || name.len() > 64 {
            return Err(KeyFileError::Set {
                name: name.into(),
                reason: "a name has 1 to 64 characters".into(),
            });
        }
        for (which, k) in [("ENC", enc), ("MAC", mac), ("DEK", dek)] {
            if !matches!(k.len(), 16 | 24 | 32) {
                return Err(KeyFileError::Set {
                    name: name.into(),
                    reason: format!("{which} key of {} bytes (16, 24 or 32)", k.len()),
                });
            }
        }
        self.sets.insert(
            name.to_string(),
            KeySetEntry {
                enc: hex::encode_upper(enc),
                mac: hex::encode_upper(mac),
                dek: hex::encode_upper(dek),
                version,
            },
        );
        Ok(())
    }

    /// The key bytes of a set (ENC, MAC, DEK).
    pub fn bytes(&self, name: &str) -> Result<[Zeroizing<Vec<u8>>; 3], KeyFileError> {
        let set = self.sets.get(name).ok_or_else(|| KeyFileError::Set {
            name: name.into(),
            reason: format!(
                "not in the key file (it holds: {})",
                self.sets.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let decode = |h: &str, which: &str| {
            hex::decode(h)
                .map(Zeroizing::new)
                .map_err(|_| KeyFileError::Set {
                    name: name.into(),
                    reason: format!("{which} key is not hex"),
                })
        };
        Ok([
            decode(&set.enc, "ENC")?,
            decode(&set.mac, "MAC")?,
            decode(&set.dek, "DEK")?,
        ])
    }

    /// Seals the key file with `passphrase`.
    pub fn seal(&self, passphrase: &[u8]) -> Result<Vec<u8>, KeyFileError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut salt);
        OsRng.fill_bytes(&mut nonce);
        let mut env = Envelope {
            format: FORMAT.into(),
            kdf: "argon2id".into(),
            m_cost_kib: M_COST,
            t_cost: T_COST,
            parallelism: LANES,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: String::new(),
        };
        let key = derive(passphrase, &salt, M_COST, T_COST, LANES)?;
        let plain =
            Zeroizing::new(serde_json::to_vec(self).map_err(|e| KeyFileError::Kdf(e.to_string()))?);
        let aead = XChaCha20Poly1305::new(key.as_ref().into());
        let aad = env.aad();
        let sealed = aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyFileError::Kdf("encryption failed".into()))?;
        env.ciphertext = hex::encode(sealed);
        let mut out =
            serde_json::to_vec_pretty(&env).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Opens sealed bytes; `path` names them in errors.
    pub fn open_bytes(
        bytes: &[u8],
        passphrase: &[u8],
        path: &str,
    ) -> Result<KeyFile, KeyFileError> {
        let format = |reason: String| KeyFileError::Format {
            path: path.into(),
            reason,
        };
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| format(e.to_string()))?;
        if env.format != FORMAT || env.kdf != "argon2id" {
            return Err(format(format!(
                "format {:?} with KDF {:?}",
                env.format, env.kdf
            )));
        }
        // Bounds on what a file may ask of us: at most 1 GiB, 16 passes.
        if env.m_cost_kib > 1 << 20 || env.t_cost > 16 || env.parallelism > 16 {
            return Err(format("Argon2 parameters beyond the limits".into()));
        }
        let salt = hex::decode(&env.salt).map_err(|_| format("salt is not hex".into()))?;
        let nonce = hex::decode(&env.nonce).map_err(|_| format("nonce is not hex".into()))?;
        if nonce.len() != 24 {
            return Err(format(format!(
                "nonce of {} bytes, 24 expected",
                nonce.len()
            )));
        }
        let sealed =
            hex::decode(&env.ciphertext).map_err(|_| format("ciphertext is not hex".into()))?;
        let key = derive(
            passphrase,
            &salt,
            env.m_cost_kib,
            env.t_cost,
            env.parallelism,
        )?;
        let aead = XChaCha20Poly1305::new(key.as_ref().into());
        let aad = env.aad();
        let plain = Zeroizing::new(
            aead.decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyFileError::Decrypt { path: path.into() })?,
        );
        serde_json::from_slice(&plain).map_err(|e| format(format!("sealed content: {e}")))
    }

    /// Reads and opens a key file.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<KeyFile, KeyFileError> {
        let shown = path.display().to_string();
        let io = |reason: String| KeyFileError::Io {
            path: shown.clone(),
            reason,
        };
        let len = std::fs::metadata(path)
            .map_err(|e| io(e.to_string()))?
            .len();
        if len > MAX_FILE {
            return Err(io(format!("{len} bytes is too large for a key file")));
        }
        let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
        KeyFile::open_bytes(&bytes, passphrase, &shown)
    }

    /// Seals and writes atomically (never a half-written key file).
    pub fn write(&self, path: &Path, passphrase: &[u8]) -> Result<(), KeyFileError> {
        let bytes = self.seal(passphrase)?;
        cap_tools::atomic::write_atomic_with_mode(path, &bytes, 0o600).map_err(|e| {
            KeyFileError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_passphrase() {
        let mut f = KeyFile::default();
        f.put("issuer", &[0x11; 16], &[0x22; 16], &[0x33; 16], 0x30)
            .unwrap();
        let sealed = f.seal(b"correct horse").unwrap();
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(!text.contains("1111") && !text.contains("issuer"), "{text}");
        let back = KeyFile::open_bytes(&sealed, b"correct horse", "k").unwrap();
        assert_eq!(back.bytes("issuer").unwrap()[1].as_slice(), &[0x22; 16]);
        assert_eq!(back.sets["issuer"].version, 0x30);
        let err = KeyFile::open_bytes(&sealed, b"wrong", "k").unwrap_err();
        assert!(matches!(err, KeyFileError::Decrypt { .. }), "{err}");
    }

    #[test]
    fn altered_headers_fail() {
        let f = KeyFile::default();
        let sealed = f.seal(b"pw").unwrap();
        let mut env: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        env["t_cost"] = serde_json::json!(4);
        let altered = serde_json::to_vec(&env).unwrap();
        assert!(matches!(
            KeyFile::open_bytes(&altered, b"pw", "k"),
            Err(KeyFileError::Decrypt { .. })
        ));
        env["m_cost_kib"] = serde_json::json!(u32::MAX);
        let greedy = serde_json::to_vec(&env).unwrap();
        assert!(matches!(
            KeyFile::open_bytes(&greedy, b"pw", "k"),
            Err(KeyFileError::Format { .. })
        ));
    }

    #[test]
    fn bad_sets_are_named_and_debug_hides_keys() {
        let mut f = KeyFile::default();
        let err = f.put("x", &[1; 15], &[1; 16], &[1; 16], 1).unwrap_err();
        assert!(err.to_string().contains("ENC key of 15 bytes"), "{err}");
        f.put("x", &[0xAB; 16], &[0xAB; 16], &[0xAB; 16], 1)
            .unwrap();
        assert!(!format!("{f:?}").contains("ABAB"));
        assert!(f.bytes("y").unwrap_err().to_string().contains("holds: x"));
    }
}
