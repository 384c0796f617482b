//! The cryptography of DAP verification (GP 2.3.1 section 9.2.1 and
//! Annex C.2/C.3): the Load File Data Block signature a security domain with
//! the DAP Verification (or Mandated DAP Verification) privilege checks.
//!
//! Every scheme signs the Load File Data Block Hash — the SHA-1 or SHA-256
//! digest INSTALL [for load] carries — not the block itself, so a card
//! checks the signature against the hash it has already verified:
//!
//! - `des`: the full triple DES MAC (ISO 9797-1 MAC algorithm 1, padding
//!   method 2, zero ICV) under a 16-byte DAP key: 8 bytes;
//! - `aes`: AES-CMAC (NIST SP 800-38B) under a 16-, 24- or 32-byte key: 16 bytes;
//! - `rsa`: RSASSA-PKCS1-v1_5 over the hash, with the hash's own algorithm
//!   (SHA-1 for a 20-byte hash, SHA-256 for a 32-byte one): the modulus length;
//! - `ecc`: ECDSA on P-256 with SHA-256 over the hash, as `r || s`: 64 bytes.
//!
//! Symmetric signatures are compared in constant time.

use std::fmt;
use std::str::FromStr;

use p256::ecdsa::signature::{Signer, Verifier};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{aes, tdes};

/// The DAP schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DapType {
    Des,
    Aes,
    Rsa,
    Ecc,
}

impl DapType {
    pub fn name(self) -> &'static str {
        match self {
            DapType::Des => "des",
            DapType::Aes => "aes",
            DapType::Rsa => "rsa",
            DapType::Ecc => "ecc",
        }
    }
}

impl fmt::Display for DapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DapType {
    type Err = DapError;
    fn from_str(s: &str) -> Result<DapType, DapError> {
        match s.to_ascii_lowercase().as_str() {
            "des" | "3des" => Ok(DapType::Des),
            "aes" => Ok(DapType::Aes),
            "rsa" => Ok(DapType::Rsa),
            "ecc" | "ec" | "ecdsa" => Ok(DapType::Ecc),
            other => Err(DapError::Key(format!(
                "DAP type {other:?}: des, aes, rsa or ecc expected"
            ))),
        }
    }
}

/// What went wrong reading a DAP key, or signing or verifying with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DapError {
    #[error("DAP key: {0}")]
    Key(String),
    #[error("DAP: {0}")]
    Sign(String),
    /// The signature does not verify: says which scheme and why.
    #[error("signature rejected: {0}")]
    Rejected(String),
}

/// A DAP key: secret for the MAC schemes; private (signing, and verifying
/// with its public half) or public (verifying only) for RSA and ECC.
pub enum DapKey {
    Des(Zeroizing<Vec<u8>>),
    Aes(Zeroizing<Vec<u8>>),
    RsaPrivate(Box<RsaPrivateKey>),
    RsaPublic(RsaPublicKey),
    EccPrivate(p256::ecdsa::SigningKey),
    EccPublic(p256::ecdsa::VerifyingKey),
}

impl fmt::Debug for DapKey {
    /// Names the scheme only: key material is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DapKey({})", self.key_type())
    }
}

fn hex_bytes(text: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, DapError> {
    let clean: Zeroizing<String> = Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect(),
    );
    hex::decode(clean.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| DapError::Key(format!("{what} is not hex: {e}")))
}

impl DapKey {
    /// Reads a key of scheme `ty` from `material`, the text of a key file
    /// or a command-line value: hex for `des` and `aes`; for `rsa` and `ecc`
    /// a PEM key (PKCS#8 private, PKCS#1 RSA private, or SubjectPublicKeyInfo
    /// public) or hex (PKCS#8 DER private key; for `ecc` also a bare
    /// 32-byte private scalar or a SEC1 public point).
    pub fn parse(ty: DapType, material: &str) -> Result<DapKey, DapError> {
        let material = material.trim();
        let pem = material.starts_with("-----BEGIN");
        match ty {
            DapType::Des => {
                let k = hex_bytes(material, "the DES DAP key")?;
                if k.len() != 16 {
                    return Err(DapError::Key(format!(
                        "a DES DAP key is a 16-byte two-key triple DES key, this one has {} bytes",
                        k.len()
                    )));
                }
                Ok(DapKey::Des(k))
            }
            DapType::Aes => {
                let k = hex_bytes(material, "the AES DAP key")?;
                if !matches!(k.len(), 16 | 24 | 32) {
                    return Err(DapError::Key(format!(
                        "an AES DAP key has 16, 24 or 32 bytes, this one {}",
                        k.len()
                    )));
                }
                Ok(DapKey::Aes(k))
            }
            DapType::Rsa => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
                if pem {
                    if material.contains("PUBLIC KEY") {
                        return RsaPublicKey::from_public_key_pem(material)
                            .map(DapKey::RsaPublic)
                            .map_err(|e| DapError::Key(format!("RSA public key PEM: {e}")));
                    }
                    if material.contains("BEGIN RSA PRIVATE KEY") {
                        return RsaPrivateKey::from_pkcs1_pem(material)
                            .map(|k| DapKey::RsaPrivate(Box::new(k)))
                            .map_err(|e| DapError::Key(format!("RSA private key PEM: {e}")));
                    }
                    return RsaPrivateKey::from_pkcs8_pem(material)
                        .map(|k| DapKey::RsaPrivate(Box::new(k)))
                        .map_err(|e| DapError::Key(format!("RSA private key PEM: {e}")));
                }
                let der = hex_bytes(material, "the RSA DAP key")?;
                RsaPrivateKey::from_pkcs8_der(&der)
                    .map(|k| DapKey::RsaPrivate(Box::new(k)))
                    .or_else(|_| RsaPublicKey::from_public_key_der(&der).map(DapKey::RsaPublic))
                    .map_err(|e| {
                        DapError::Key(format!(
                            "RSA key: neither a PKCS#8 private key nor a public key in DER: {e}"
                        ))
                    })
            }
            DapType::Ecc => {
                use p256::ecdsa::{SigningKey, VerifyingKey};
                use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
                if pem {
                    if material.contains("PUBLIC KEY") {
                        return VerifyingKey::from_public_key_pem(material)
                            .map(DapKey::EccPublic)
                            .map_err(|e| DapError::Key(format!("P-256 public key PEM: {e}")));
                    }
                    return SigningKey::from_pkcs8_pem(material)
                        .map(DapKey::EccPrivate)
                        .map_err(|e| {
                            DapError::Key(format!("P-256 private key PEM (PKCS#8): {e}"))
                        });
                }
                let bytes = hex_bytes(material, "the ECC DAP key")?;
                match bytes.len() {
                    32 => SigningKey::from_slice(&bytes)
                        .map(DapKey::EccPrivate)
                        .map_err(|e| DapError::Key(format!("P-256 private scalar: {e}"))),
                    33 | 65 => VerifyingKey::from_sec1_bytes(&bytes)
                        .map(DapKey::EccPublic)
                        .map_err(|e| DapError::Key(format!("P-256 public point: {e}"))),
                    _ => SigningKey::from_pkcs8_der(&bytes)
                        .map(DapKey::EccPrivate)
                        .map_err(|e| {
                            DapError::Key(format!(
                                "ECC key of {} bytes: not a 32-byte scalar, a SEC1 point or PKCS#8 DER: {e}",
                                bytes.len()
                            ))
                        }),
                }
            }
        }
    }

    pub fn key_type(&self) -> DapType {
        match self {
            DapKey::Des(_) => DapType::Des,
            DapKey::Aes(_) => DapType::Aes,
            DapKey::RsaPrivate(_) | DapKey::RsaPublic(_) => DapType::Rsa,
            DapKey::EccPrivate(_) | DapKey::EccPublic(_) => DapType::Ecc,
        }
    }

    /// What a verifier keeps of this key, as text [`DapKey::parse`] reads
    /// back into a key that verifies exactly as this one does: the secret in
    /// hex for DES and AES; for RSA the public key (SubjectPublicKeyInfo
    /// DER, hex) and for ECC the uncompressed SEC1 point (hex), so that a
    /// card that stores its verification key never stores a private key.
    pub fn verifying_material(&self) -> Result<Zeroizing<String>, DapError> {
        use rsa::pkcs8::EncodePublicKey;
        let rsa_der = |k: &RsaPublicKey| {
            k.to_public_key_der()
                .map(|d| Zeroizing::new(hex::encode_upper(d.as_bytes())))
                .map_err(|e| DapError::Key(format!("RSA public key DER: {e}")))
        };
        let point = |k: &p256::ecdsa::VerifyingKey| {
            Zeroizing::new(hex::encode_upper(k.to_sec1_point(false).as_bytes()))
        };
        match self {
            DapKey::Des(k) | DapKey::Aes(k) => Ok(Zeroizing::new(hex::encode_upper(&**k))),
            DapKey::RsaPrivate(k) => rsa_der(&k.to_public_key()),
            DapKey::RsaPublic(k) => rsa_der(k),
            DapKey::EccPrivate(k) => Ok(point(k.verifying_key())),
            DapKey::EccPublic(k) => Ok(point(k)),
        }
    }

    /// The Load File Data Block signature over `hash`.
    pub fn sign(&self, hash: &[u8]) -> Result<Vec<u8>, DapError> {
        check_hash(hash)?;
        match self {
            DapKey::Des(k) => Ok(tdes::full_mac(k, &[0; 8], hash)
                .map_err(|e| DapError::Key(e.to_string()))?
                .to_vec()),
            DapKey::Aes(k) => Ok(aes::cmac(k, &[hash])
                .map_err(|e| DapError::Key(e.to_string()))?
                .to_vec()),
            DapKey::RsaPrivate(k) => {
                let (scheme, digest) = rsa_scheme(hash);
                k.sign(scheme, &digest)
                    .map_err(|e| DapError::Sign(format!("RSA signature: {e}")))
            }
            DapKey::EccPrivate(k) => {
                let sig: p256::ecdsa::Signature = k.sign(hash);
                Ok(sig.to_bytes().to_vec())
            }
            DapKey::RsaPublic(_) | DapKey::EccPublic(_) => Err(DapError::Key(format!(
                "a {} public key cannot sign: give the private key",
                self.key_type()
            ))),
        }
    }

    /// Checks the signature `signature` over `hash`.
    pub fn verify(&self, hash: &[u8], signature: &[u8]) -> Result<(), DapError> {
        check_hash(hash)?;
        let reject = |why: String| Err(DapError::Rejected(why));
        match self {
            DapKey::Des(_) | DapKey::Aes(_) => {
                let expected = Zeroizing::new(self.sign(hash)?);
                if expected.len() != signature.len() {
                    return reject(format!(
                        "a {} DAP has {} bytes, this one {}",
                        self.key_type(),
                        expected.len(),
                        signature.len()
                    ));
                }
                if bool::from(expected.ct_eq(signature)) {
                    Ok(())
                } else {
                    reject(format!("the {} MAC does not match", self.key_type()))
                }
            }
            DapKey::RsaPrivate(k) => rsa_verify(&k.to_public_key(), hash, signature),
            DapKey::RsaPublic(k) => rsa_verify(k, hash, signature),
            DapKey::EccPrivate(k) => ecc_verify(k.verifying_key(), hash, signature),
            DapKey::EccPublic(k) => ecc_verify(k, hash, signature),
        }
    }
}

fn check_hash(hash: &[u8]) -> Result<(), DapError> {
    if matches!(hash.len(), 20 | 32) {
        Ok(())
    } else {
        Err(DapError::Sign(format!(
            "a Load File Data Block hash has 20 (SHA-1) or 32 (SHA-256) bytes, this one {}",
            hash.len()
        )))
    }
}

fn rsa_scheme(hash: &[u8]) -> (Pkcs1v15Sign, Vec<u8>) {
    if hash.len() == 20 {
        (Pkcs1v15Sign::new::<Sha1>(), Sha1::digest(hash).to_vec())
    } else {
        (Pkcs1v15Sign::new::<Sha256>(), Sha256::digest(hash).to_vec())
    }
}

fn rsa_verify(key: &RsaPublicKey, hash: &[u8], signature: &[u8]) -> Result<(), DapError> {
    let (scheme, digest) = rsa_scheme(hash);
    key.verify(scheme, &digest, signature)
        .map_err(|e| DapError::Rejected(format!("RSA PKCS#1 v1.5: {e}")))
}

fn ecc_verify(
    key: &p256::ecdsa::VerifyingKey,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), DapError> {
    let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|_| {
        DapError::Rejected(format!(
            "an ECDSA P-256 DAP is r || s, 64 bytes; this one has {}",
            signature.len()
        ))
    })?;
    key.verify(hash, &sig)
        .map_err(|_| DapError::Rejected("the ECDSA P-256 signature does not verify".into()))
}

#[cfg(test)]
mod tests {
    //! Reference values computed independently with Python's `cryptography`
    //! 48.0.0 (OpenSSL): the Load File Data Block stand-in is
    //! `bytes(range(256)) * 3`; the DES MAC is `TripleDES` in CBC mode with a
    //! zero IV over the ISO 9797-1 method 2 padded hash (last block), the AES
    //! value `cmac.CMAC(AES(key))`, RSA `key.sign(hash, PKCS1v15(), SHA1()/
    //! SHA256())` with the key in tests/data/dap_rsa1024.pem, ECDSA
    //! `key.sign(hash, ECDSA(SHA256()))` (randomised, so it is verified, not
    //! recomputed) with tests/data/dap_p256.pem, r || s from the DER.
    use super::*;

    const KEY: &str = "404142434445464748494A4B4C4D4E4F";
    const SHA1: &str = "AC2A264C8EC1F4232A40854E8239BC3A697AB1D2";
    const SHA256: &str = "F3A25AA93AA2FBBA28D79260535BBD6A5EB0FC1C24A8B0F04E12B484C1DFE363";
    const RSA_PEM: &str = include_str!("../tests/data/dap_rsa1024.pem");
    const RSA_PUB_PEM: &str = include_str!("../tests/data/dap_rsa1024_pub.pem");
    const P256_PEM: &str = include_str!("../tests/data/dap_p256.pem");
    const P256_PUB_PEM: &str = include_str!("../tests/data/dap_p256_pub.pem");

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn verifying_material_reads_back_as_a_key_that_verifies_alike() {
        let hash = h(SHA256);
        for (ty, material) in [
            (DapType::Des, KEY),
            (DapType::Aes, KEY),
            (DapType::Rsa, RSA_PEM),
            (DapType::Ecc, P256_PEM),
        ] {
            let key = DapKey::parse(ty, material).unwrap();
            let kept = DapKey::parse(ty, &key.verifying_material().unwrap()).unwrap();
            assert_eq!(kept.key_type(), ty);
            let signature = key.sign(&hash).unwrap();
            kept.verify(&hash, &signature).unwrap();
            let mut bad = signature.clone();
            bad[0] ^= 1;
            assert!(kept.verify(&hash, &bad).is_err(), "{ty}");
            if matches!(ty, DapType::Rsa | DapType::Ecc) {
                // Only the public half is kept: it cannot sign.
                assert!(kept.sign(&hash).is_err(), "{ty}");
            }
        }
        let public = DapKey::parse(DapType::Ecc, P256_PUB_PEM).unwrap();
        assert_eq!(
            public.verifying_material().unwrap(),
            DapKey::parse(DapType::Ecc, P256_PEM)
                .unwrap()
                .verifying_material()
                .unwrap()
        );
        let public = DapKey::parse(DapType::Rsa, RSA_PUB_PEM).unwrap();
        assert_eq!(
            public.verifying_material().unwrap(),
            DapKey::parse(DapType::Rsa, RSA_PEM)
                .unwrap()
                .verifying_material()
                .unwrap()
        );
    }

    #[test]
    fn hashes_of_the_reference_block() {
        let block: Vec<u8> = (0..3).flat_map(|_| 0..=255u8).collect();
        assert_eq!(Sha1::digest(&block).to_vec(), h(SHA1));
        assert_eq!(Sha256::digest(&block).to_vec(), h(SHA256));
    }

    #[test]
    fn des_and_aes_match_the_reference() {
        let des = DapKey::parse(DapType::Des, KEY).unwrap();
        assert_eq!(des.sign(&h(SHA1)).unwrap(), h("93109D0AF856DC2D"));
        assert_eq!(des.sign(&h(SHA256)).unwrap(), h("0FE64B631AC500CA"));
        assert!(des.verify(&h(SHA1), &h("93109D0AF856DC2D")).is_ok());
        assert!(matches!(
            des.verify(&h(SHA1), &h("93109D0AF856DC2C")),
            Err(DapError::Rejected(_))
        ));
        let aes = DapKey::parse(DapType::Aes, KEY).unwrap();
        assert_eq!(
            aes.sign(&h(SHA256)).unwrap(),
            h("BF291230004CB98311E3C3BA55A43054")
        );
        assert!(aes.verify(&h(SHA256), &[0; 8]).is_err());
    }

    #[test]
    fn rsa_matches_the_reference() {
        let private = DapKey::parse(DapType::Rsa, RSA_PEM).unwrap();
        let public = DapKey::parse(DapType::Rsa, RSA_PUB_PEM).unwrap();
        let sig1 = h("103DB9FA9C80BD985736C1E7A1A8FA337A81C6D068CEBA3922032600AE8C1DF1BC8F19EDDCFED4A0AD246C4DDD6C4B42286B162C723D2CA73827FD5C382F96AFC20C0012B127207A9FB61D3594B4EC3838CA553956BBE69B27C9B4860499A628829CC0DA39DC7E2F720CA47685A3FF16087097CDBBB958B3279CB95D7B81CA0D");
        let sig256 = h("877203C75560B959A8F9B98DA1522DEF526DDD34B29746C2553555E2C7B029D6096A57CEB83B53E59FE64446ABC45CD1BF0840C522A8EF856D676A12ACC3F6B5691DC2E2F8F7146D71C4929C7731BB6351BE854FF79E4B92EADF978A975E85CADF5B9788B0BB5E5B1F4FD78352F8650BCC495B852E10615FF7142D142CAA619D");
        assert_eq!(private.sign(&h(SHA1)).unwrap(), sig1);
        assert_eq!(private.sign(&h(SHA256)).unwrap(), sig256);
        assert!(public.verify(&h(SHA1), &sig1).is_ok());
        assert!(public.verify(&h(SHA256), &sig256).is_ok());
        assert!(public.verify(&h(SHA256), &sig1).is_err());
        assert!(public.sign(&h(SHA1)).is_err());
    }

    #[test]
    fn ecc_verifies_the_reference_and_its_own() {
        let private = DapKey::parse(DapType::Ecc, P256_PEM).unwrap();
        let public = DapKey::parse(DapType::Ecc, P256_PUB_PEM).unwrap();
        let reference = h("83F1E265E35CA56B1FF234BAECC7AC4D7F3B4DBB5008150DD9E1FD501E860713ADB618DD6C34A0AF26062276C1D39AC58B343BA2B0A3892CF28B4D9BD4973F54");
        assert!(public.verify(&h(SHA256), &reference).is_ok());
        let mine = private.sign(&h(SHA256)).unwrap();
        assert_eq!(mine.len(), 64);
        assert!(public.verify(&h(SHA256), &mine).is_ok());
        assert!(public.verify(&h(SHA1), &mine).is_err());
        assert!(public.verify(&h(SHA256), &mine[..63]).is_err());
    }

    #[test]
    fn bad_keys_are_named() {
        let e = DapKey::parse(DapType::Des, "0011").unwrap_err();
        assert!(e.to_string().contains("16-byte"), "{e}");
        assert!(DapKey::parse(DapType::Aes, "zz").is_err());
        assert!(DapKey::parse(
            DapType::Rsa,
            "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----"
        )
        .is_err());
        assert!("dsa".parse::<DapType>().is_err());
        let des = DapKey::parse(DapType::Des, KEY).unwrap();
        assert!(des.sign(&[0; 7]).is_err());
        assert_eq!(format!("{des:?}"), "DapKey(des)");
    }
}
