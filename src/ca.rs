//! A certification authority's directory, as `jct ca` keeps it: the CA's
//! P-256 key pair, its identity and the register of what it certified.
//!
//! ```text
//! DIR/ca.key       PKCS#8 PEM private key, mode 0600
//! DIR/ca.pub.pem   SPKI PEM public key: the `--ca` of `jct list --scp 11x`
//! DIR/ca.json      {"format": "jct-ca", "version": 1, "name", "id", "next_serial", "issued": [...]}
//! DIR/lock         present while a `jct ca sign` runs
//! ```
//!
//! The identifier (`id`) goes into tag 42 (CA-KLOC identifier) of every
//! certificate the CA signs. By default it is the leftmost 160 bits of the
//! SHA-256 of the CA's public key point (RFC 7093, method 1), as the
//! Subject Key Identifier of an X.509 CA would be, so the card and the
//! host can name the CA the same way. Serial numbers count up from 1 and
//! are never handed out twice: `ca.json` records the next one before any
//! certificate is written.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use p256::ecdsa::{SigningKey, VerifyingKey};
use scp::scp11::{files, Date};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` value of `ca.json`.
pub const FORMAT: &str = "jct-ca";

/// One certificate the CA signed, as the register keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Issued {
    /// Serial number, hex.
    pub serial: String,
    /// Subject identifier, hex.
    pub subject: String,
    /// Key usage, hex (0080 key agreement, 0082 signature).
    pub key_usage: String,
    /// Effective date.
    pub effective: String,
    /// Expiration date.
    pub expiration: String,
    /// SHA-256 of the certificate, hex: to recognise it later.
    pub sha256: String,
}

/// `ca.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub format: String,
    pub version: u32,
    /// A name for people (shown by `jct ca show`); not in certificates.
    pub name: String,
    /// CA-KLOC identifier, hex.
    pub id: String,
    /// The serial number the next certificate gets.
    pub next_serial: u64,
    #[serde(default)]
    pub issued: Vec<Issued>,
}

/// An opened CA directory.
pub struct Authority {
    pub dir: PathBuf,
    pub record: Record,
    pub key: SigningKey,
}

/// The CA-KLOC identifier of a key: leftmost 160 bits of SHA-256 of its
/// uncompressed point (RFC 7093 method 1).
pub fn key_identifier(key: &VerifyingKey) -> Vec<u8> {
    let digest = Sha256::digest(key.to_sec1_point(false).as_bytes());
    digest[..20].to_vec()
}

/// The files of a CA directory.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join("ca.key")
}
pub fn public_path(dir: &Path) -> PathBuf {
    dir.join("ca.pub.pem")
}
fn record_path(dir: &Path) -> PathBuf {
    dir.join("ca.json")
}

/// Makes a new CA in `dir` (created if absent; refused when it already
/// holds a CA, so a key is never overwritten). `id` overrides the
/// identifier.
pub fn init(dir: &Path, name: &str, id: Option<Vec<u8>>) -> Result<Authority> {
    for p in [key_path(dir), public_path(dir), record_path(dir)] {
        if p.exists() {
            bail!(
                "{} already exists: {} holds a CA already (a CA key is never overwritten; choose another directory)",
                p.display(),
                dir.display()
            );
        }
    }
    if let Some(id) = &id {
        if id.is_empty() || id.len() > 127 {
            bail!(
                "--id: {} bytes; a CA-KLOC identifier has 1 to 127",
                id.len()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret = files::generate_private_key().map_err(anyhow::Error::msg)?;
    let key = SigningKey::from(&secret);
    let public = VerifyingKey::from(&key);
    let record = Record {
        format: FORMAT.into(),
        version: 1,
        name: name.into(),
        id: hex::encode_upper(id.unwrap_or_else(|| key_identifier(&public))),
        next_serial: 1,
        issued: Vec::new(),
    };
    let pem = zeroize::Zeroizing::new(files::private_key_pem(&secret).map_err(anyhow::Error::msg)?);
    crate::script_tls::write_private(&key_path(dir), pem.as_bytes())?;
    crate::fsutil::write_atomic(
        &public_path(dir),
        files::public_key_pem(&public)
            .map_err(anyhow::Error::msg)?
            .as_bytes(),
    )?;
    let authority = Authority {
        dir: dir.to_path_buf(),
        record,
        key,
    };
    authority.save()?;
    Ok(authority)
}

/// Opens the CA in `dir`, checking that its files agree.
pub fn open(dir: &Path) -> Result<Authority> {
    let rp = record_path(dir);
    let text = std::fs::read_to_string(&rp).with_context(|| {
        format!(
            "reading {} (is {} a CA directory? `jct ca init {}` makes one)",
            rp.display(),
            dir.display(),
            dir.display()
        )
    })?;
    let record: Record = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a jct CA record", rp.display()))?;
    if record.format != FORMAT || record.version != 1 {
        bail!(
            "{}: format {:?} version {}; this jct reads {FORMAT:?} version 1",
            rp.display(),
            record.format,
            record.version
        );
    }
    hex::decode(&record.id)
        .ok()
        .filter(|id| !id.is_empty() && id.len() <= 127)
        .with_context(|| {
            format!(
                "{}: id {:?} is not 1 to 127 bytes of hex",
                rp.display(),
                record.id
            )
        })?;
    let kp = key_path(dir);
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(&kp).with_context(|| format!("reading {}", kp.display()))?,
    );
    let key =
        files::read_signing_key(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", kp.display()))?;
    let pp = public_path(dir);
    let public = std::fs::read(&pp).with_context(|| format!("reading {}", pp.display()))?;
    let public =
        files::read_public_key(&public).map_err(|e| anyhow::anyhow!("{}: {e}", pp.display()))?;
    if public != VerifyingKey::from(&key) {
        bail!(
            "{} is not the public half of {}: the CA directory was tampered with",
            pp.display(),
            kp.display()
        );
    }
    Ok(Authority {
        dir: dir.to_path_buf(),
        record,
        key,
    })
}

/// The CA public key `--ca` names: a CA directory (its ca.pub.pem) or a
/// key file as `jct list --ca` reads it.
pub fn read_trust_anchor(path: &Path) -> Result<VerifyingKey> {
    let file = if path.is_dir() {
        public_path(path)
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    files::read_public_key(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Held while a `jct ca sign` runs, so that two never hand out the same
/// serial number; the file goes when this is dropped.
pub struct Lock(PathBuf);

impl Lock {
    pub fn take(dir: &Path) -> Result<Lock> {
        let path = dir.join("lock");
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => Ok(Lock(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                "{} exists: another `jct ca sign` is using this CA (if none is running, remove the file)",
                path.display()
            ),
            Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Authority {
    /// The identifier certificates carry in tag 42.
    pub fn id(&self) -> Vec<u8> {
        hex::decode(&self.record.id).unwrap_or_default()
    }

    pub fn public_key(&self) -> VerifyingKey {
        VerifyingKey::from(&self.key)
    }

    /// Takes a serial number: the next one, or `wanted` when it was never
    /// issued; the record is saved before the number is returned, so a
    /// failure afterwards never lets the number be handed out again.
    pub fn take_serial(&mut self, wanted: Option<Vec<u8>>) -> Result<Vec<u8>> {
        let serial = match wanted {
            Some(s) => {
                if s.is_empty() || s.len() > 16 {
                    bail!("--serial: {} bytes; a serial number has 1 to 16", s.len());
                }
                let shown = hex::encode_upper(&s);
                if self.record.issued.iter().any(|i| i.serial == shown) {
                    bail!("--serial {shown}: this CA issued that serial number already");
                }
                s
            }
            None => {
                let n = self.record.next_serial;
                self.record.next_serial = n
                    .checked_add(1)
                    .context("the CA's serial numbers are exhausted")?;
                let bytes = n.to_be_bytes();
                let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
                bytes[first..].to_vec()
            }
        };
        self.record.issued.push(Issued {
            serial: hex::encode_upper(&serial),
            subject: String::new(),
            key_usage: String::new(),
            effective: String::new(),
            expiration: String::new(),
            sha256: String::new(),
        });
        self.save()?;
        Ok(serial)
    }

    /// Fills in the register entry of `serial` once its certificate is made.
    pub fn record_issued(&mut self, entry: Issued) -> Result<()> {
        match self
            .record
            .issued
            .iter_mut()
            .find(|i| i.serial == entry.serial)
        {
            Some(slot) => *slot = entry,
            None => self.record.issued.push(entry),
        }
        self.save()
    }

    fn save(&self) -> Result<()> {
        let mut text = serde_json::to_string_pretty(&self.record)?;
        text.push('\n');
        crate::fsutil::write_atomic(&record_path(&self.dir), text.as_bytes())
    }
}

/// The validity of a new certificate: from `effective` (default today)
/// for `days` days, or until `expires`.
pub fn validity(
    effective: Option<Date>,
    days: Option<u32>,
    expires: Option<Date>,
) -> Result<(Date, Date)> {
    let from = effective.unwrap_or_else(Date::today);
    let until = match (days, expires) {
        (Some(_), Some(_)) => bail!("--days and --expires: give one of them"),
        (_, Some(d)) => d,
        (d, None) => from.plus_days(i64::from(d.unwrap_or(365))),
    };
    if until < from {
        bail!("the certificate would expire on {until}, before it takes effect on {from}");
    }
    Ok((from, until))
}
