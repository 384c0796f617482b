//! The key holder's signature over a script: ECDSA on P-256 with SHA-256
//! (RustCrypto's p256), deterministic nonces (RFC 6979). The key holder
//! keeps the private key; thin clients get the public key only.
//!
//! Key files are small JSON documents:
//! `{"format":"jct-script-key","version":1,"kind":"private"|"public","curve":"P-256","key":"HEX"}`
//! with the 32-byte scalar (private) or the SEC1 uncompressed point
//! (public, 65 bytes).

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::packet::{Body, Hex, Packet, SignatureBlock, FORMAT, VERSION};
use super::ScriptError;

/// The algorithm name in packets.
pub const ALGORITHM: &str = "ECDSA-P256-SHA256";
const KEY_FORMAT: &str = "jct-script-key";

/// The key holder's signing key.
pub struct ScriptSigner {
    key: SigningKey,
}

/// A client's copy of the key holder's public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptVerifier {
    key: VerifyingKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    kind: String,
    curve: String,
    key: String,
}

fn read_key_file(bytes: &[u8], kind: &str) -> Result<Zeroizing<Vec<u8>>, ScriptError> {
    let bad = |m: String| ScriptError::Key(m);
    let file: KeyFile = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a jct script key file: {e}")))?;
    let KeyFile {
        format,
        version,
        kind: found,
        curve,
        key,
    } = file;
    let key = Zeroizing::new(key);
    if format != KEY_FORMAT || version != 1 || curve != "P-256" {
        return Err(bad(format!(
            "unsupported key file ({format} version {version}, curve {curve})"
        )));
    }
    if found != kind {
        return Err(bad(format!(
            "this is a {found} key file; a {kind} one is needed"
        )));
    }
    hex::decode(key.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| bad(format!("key is not hex: {e}")))
}

fn key_file(kind: &str, key: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{{\"format\":\"{KEY_FORMAT}\",\"version\":1,\"kind\":\"{kind}\",\"curve\":\"P-256\",\"key\":\"{}\"}}",
        hex::encode_upper(key)
    )
    .into_bytes();
    out.push(b'\n');
    out
}

impl ScriptSigner {
    /// A fresh key pair from the operating system's CSPRNG.
    pub fn generate() -> Result<ScriptSigner, ScriptError> {
        use scp::ChallengeSource;
        // A random 32-byte string is a valid scalar but for a chance of
        // about 2^-32; draw again then.
        for _ in 0..16 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            scp::OsRng
                .fill(&mut bytes[..])
                .map_err(|e| ScriptError::Key(format!("no randomness: {e}")))?;
            if let Ok(key) = SigningKey::from_slice(&bytes[..]) {
                return Ok(ScriptSigner { key });
            }
        }
        Err(ScriptError::Key(
            "could not draw a valid P-256 scalar".into(),
        ))
    }

    /// From a private key file.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<ScriptSigner, ScriptError> {
        let raw = read_key_file(bytes, "private")?;
        SigningKey::from_slice(&raw)
            .map(|key| ScriptSigner { key })
            .map_err(|_| ScriptError::Key("not a valid P-256 private key".into()))
    }

    /// The private key file (keep it secret).
    pub fn to_file_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(key_file("private", &self.key.to_bytes()))
    }

    /// The public half.
    pub fn verifier(&self) -> ScriptVerifier {
        ScriptVerifier {
            key: *self.key.verifying_key(),
        }
    }

    /// Signs a body into a packet.
    pub fn sign(&self, body: Body) -> Result<Packet, ScriptError> {
        body.validate()?;
        let bytes = body.signed_bytes()?;
        let signature: Signature = self.key.sign(&bytes);
        Ok(Packet {
            format: FORMAT.to_string(),
            version: VERSION,
            body,
            signature: SignatureBlock {
                algorithm: ALGORITHM.to_string(),
                key_id: Hex(self.verifier().key_id().to_vec()),
                value: Hex(signature.to_bytes().to_vec()),
            },
        })
    }
}

impl core::fmt::Debug for ScriptSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScriptSigner")
            .field("key_id", &hex::encode_upper(self.verifier().key_id()))
            .finish_non_exhaustive()
    }
}

impl ScriptVerifier {
    /// From a public key file.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<ScriptVerifier, ScriptError> {
        let raw = read_key_file(bytes, "public")?;
        VerifyingKey::from_sec1_bytes(&raw)
            .map(|key| ScriptVerifier { key })
            .map_err(|_| ScriptError::Key("not a valid P-256 public key".into()))
    }

    /// The public key file.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        key_file("public", self.key.to_sec1_point(false).as_bytes())
    }

    /// First 8 bytes of SHA-256 of the SEC1 uncompressed point.
    pub fn key_id(&self) -> [u8; 8] {
        let digest = Sha256::digest(self.key.to_sec1_point(false).as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        id
    }

    /// Checks a packet's signature; `Ok` only when this key signed exactly
    /// this body.
    pub fn verify(&self, packet: &Packet) -> Result<(), ScriptError> {
        let s = &packet.signature;
        if s.algorithm != ALGORITHM {
            return Err(ScriptError::Signature(format!(
                "signature algorithm {:?}, expected {ALGORITHM}",
                s.algorithm
            )));
        }
        if s.key_id.0 != self.key_id() {
            return Err(ScriptError::Signature(format!(
                "signed by key {}, not by the key given ({})",
                hex::encode_upper(&s.key_id.0),
                hex::encode_upper(self.key_id())
            )));
        }
        let signature = Signature::from_slice(&s.value.0).map_err(|_| {
            ScriptError::Signature(format!(
                "the signature is not a P-256 r||s value ({} bytes)",
                s.value.0.len()
            ))
        })?;
        let bytes = packet.body.signed_bytes()?;
        self.key.verify(&bytes, &signature).map_err(|_| {
            ScriptError::Signature(
                "the signature does not match the content: the packet was altered".into(),
            )
        })
    }
}
