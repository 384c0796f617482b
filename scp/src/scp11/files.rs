//! The files SCP11 keys and certificates live in, for the CLI and tests:
//!
//! - a private key (the OCE's SK.OCE.ECKA, or a CA's signing key): PKCS#8,
//!   PEM ("PRIVATE KEY") or DER;
//! - a public key (the CA key the card's certificates must lead to): an
//!   X.509 SubjectPublicKeyInfo, PEM ("PUBLIC KEY") or DER, or a SEC1
//!   point in hex; a PKCS#8 private key is accepted too (its public half);
//! - certificates: GP SCP11 certificates (7F21 ...) laid end to end,
//!   issuer first, in binary or as hex text.
//!
//! All P-256.

use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use p256::SecretKey;

use super::cert::{parse_chain, Certificate};

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().map(str::trim)
}

/// A P-256 private key from PKCS#8 PEM or DER.
pub fn read_private_key(bytes: &[u8]) -> Result<SecretKey, String> {
    if let Some(pem) = text(bytes).filter(|t| t.starts_with("-----BEGIN")) {
        return SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| format!("not a P-256 PKCS#8 private key in PEM: {e}"));
    }
    SecretKey::from_pkcs8_der(bytes)
        .map_err(|e| format!("not a P-256 PKCS#8 private key in DER: {e}"))
}

/// A CA's signing key from PKCS#8 PEM or DER.
pub fn read_signing_key(bytes: &[u8]) -> Result<p256::ecdsa::SigningKey, String> {
    read_private_key(bytes).map(p256::ecdsa::SigningKey::from)
}

/// A P-256 public key from SPKI PEM or DER, a SEC1 point in hex, or the
/// public half of a PKCS#8 private key.
pub fn read_public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    if let Some(t) = text(bytes) {
        if t.contains("PRIVATE KEY") {
            return read_private_key(bytes).map(|k| VerifyingKey::from(k.public_key()));
        }
        if t.starts_with("-----BEGIN") {
            return VerifyingKey::from_public_key_pem(t)
                .map_err(|e| format!("not a P-256 public key in PEM: {e}"));
        }
        if let Ok(point) = hex::decode(t) {
            return VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| "hex that is not a P-256 point".to_string());
        }
    }
    VerifyingKey::from_public_key_der(bytes)
        .map_err(|e| format!("not a P-256 public key in DER: {e}"))
}

/// Certificates from binary or hex text.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    let decoded;
    let raw = match text(bytes).map(|t| t.split_whitespace().collect::<String>()) {
        Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            decoded = hex::decode(&t).map_err(|e| format!("hex certificate text: {e}"))?;
            &decoded
        }
        _ => bytes,
    };
    let chain = parse_chain(raw).map_err(|e| e.to_string())?;
    if chain.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(chain)
}

/// A fresh P-256 private key from the operating system's CSPRNG (a CA's
/// key, or a terminal's or card's key pair to certify).
pub fn generate_private_key() -> Result<SecretKey, String> {
    super::host::ephemeral_key(&mut crate::OsRng).map_err(|e| e.to_string())
}

/// PKCS#8 PEM of a private key.
pub fn private_key_pem(key: &SecretKey) -> Result<String, String> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|s| s.to_string())
        .map_err(|e| e.to_string())
}

/// SPKI PEM of a public key.
pub fn public_key_pem(key: &VerifyingKey) -> Result<String, String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let k = SecretKey::from_slice(&[7; 32]).unwrap();
        let pem = private_key_pem(&k).unwrap();
        assert_eq!(read_private_key(pem.as_bytes()).unwrap(), k);
        let pk = VerifyingKey::from(k.public_key());
        let pub_pem = public_key_pem(&pk).unwrap();
        assert_eq!(read_public_key(pub_pem.as_bytes()).unwrap(), pk);
        assert_eq!(read_public_key(pem.as_bytes()).unwrap(), pk);
        assert!(read_private_key(b"junk").is_err());
        assert!(read_certificates(b"7F21").is_err());
    }
}
