//! The cryptography of delegated management (GP 2.3.1 Annex C.4 and C.5):
//! tokens, the card issuer's signature over a command a security domain
//! with the Delegated Management privilege performs, and receipts, the
//! card's MAC that proves to the issuer it did.
//!
//! - a token is RSASSA-PKCS1-v1_5 with SHA-1 over the token data (the
//!   scheme of Annex C.4 for RSA keys), or ECDSA P-256 with SHA-256 as
//!   `r || s` for an ECC token key;
//! - a receipt is the full triple DES MAC (ISO 9797-1 MAC algorithm 1,
//!   padding method 2, zero ICV) under a 16-byte DES receipt key, or
//!   AES-CMAC under an AES one.
//!
//! Keys are read as DAP keys are ([`DapKey::parse`]); receipts are compared
//! in constant time.

use p256::ecdsa::signature::{Signer, Verifier};
use rsa::Pkcs1v15Sign;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::crypto::{aes, tdes};
use crate::dap::{DapError, DapKey};

fn rsa_sha1(data: &[u8]) -> (Pkcs1v15Sign, Vec<u8>) {
    (Pkcs1v15Sign::new::<Sha1>(), Sha1::digest(data).to_vec())
}

/// The token over `data` (from `gp::token`).
pub fn sign_token(key: &DapKey, data: &[u8]) -> Result<Vec<u8>, DapError> {
    match key {
        DapKey::RsaPrivate(k) => {
            let (scheme, digest) = rsa_sha1(data);
            k.sign(scheme, &digest)
                .map_err(|e| DapError::Sign(format!("RSA token: {e}")))
        }
        DapKey::EccPrivate(k) => {
            let sig: p256::ecdsa::Signature = k.sign(data);
            Ok(sig.to_bytes().to_vec())
        }
        other => Err(DapError::Key(format!(
            "a token is signed with the issuer's private RSA or ECC key, not a {} {} key",
            other.key_type(),
            if matches!(other, DapKey::RsaPublic(_) | DapKey::EccPublic(_)) {
                "public"
            } else {
                "secret"
            }
        ))),
    }
}

/// Checks a token over `data`.
pub fn verify_token(key: &DapKey, data: &[u8], token: &[u8]) -> Result<(), DapError> {
    let rsa = |k: &rsa::RsaPublicKey| {
        let (scheme, digest) = rsa_sha1(data);
        k.verify(scheme, &digest, token)
            .map_err(|e| DapError::Rejected(format!("RSA PKCS#1 v1.5 token: {e}")))
    };
    let ecc = |k: &p256::ecdsa::VerifyingKey| {
        let sig = p256::ecdsa::Signature::from_slice(token).map_err(|_| {
            DapError::Rejected(format!(
                "an ECDSA P-256 token is r || s, 64 bytes; this one has {}",
                token.len()
            ))
        })?;
        k.verify(data, &sig)
            .map_err(|_| DapError::Rejected("the ECDSA P-256 token does not verify".into()))
    };
    match key {
        DapKey::RsaPrivate(k) => rsa(&k.to_public_key()),
        DapKey::RsaPublic(k) => rsa(k),
        DapKey::EccPrivate(k) => ecc(k.verifying_key()),
        DapKey::EccPublic(k) => ecc(k),
        other => Err(DapError::Key(format!(
            "tokens are verified with an RSA or ECC key, not {}",
            other.key_type()
        ))),
    }
}

/// The receipt over `data` (from `gp::token::Receipt::data`).
pub fn receipt(key: &DapKey, data: &[u8]) -> Result<Vec<u8>, DapError> {
    match key {
        DapKey::Des(k) => Ok(tdes::full_mac(k, &[0; 8], data)
            .map_err(|e| DapError::Key(e.to_string()))?
            .to_vec()),
        DapKey::Aes(k) => Ok(aes::cmac(k, &[data])
            .map_err(|e| DapError::Key(e.to_string()))?
            .to_vec()),
        other => Err(DapError::Key(format!(
            "a receipt key is a DES or AES key, not {}",
            other.key_type()
        ))),
    }
}

/// Checks a receipt the card returned.
pub fn verify_receipt(key: &DapKey, data: &[u8], got: &[u8]) -> Result<(), DapError> {
    let expected = zeroize::Zeroizing::new(receipt(key, data)?);
    if expected.len() == got.len() && bool::from(expected.ct_eq(got)) {
        Ok(())
    } else {
        Err(DapError::Rejected(format!(
            "the receipt {} does not match the receipt key's MAC over the confirmation data",
            hex::encode_upper(got)
        )))
    }
}

#[cfg(test)]
mod tests {
    //! The RSA token and the receipts are checked against values computed
    //! independently with Python's `cryptography` 48.0.0: for the token,
    //! `key.sign(data, PKCS1v15(), SHA1())` with tests/data/dap_rsa1024.pem
    //! over `bytes.fromhex("0000084F06F00000000101")` (a delete token's
    //! data); for the receipts, TripleDES-CBC (zero IV, ISO 9797-1 method 2
    //! padding, last block) and `cmac.CMAC(AES(key))` under
    //! 404142434445464748494A4B4C4D4E4F over
    //! `bytes.fromhex("02000701AA050102030405")`.
    use super::*;
    use crate::dap::DapType;

    const KEY: &str = "404142434445464748494A4B4C4D4E4F";
    const RSA_TOKEN: &str = "0FAAA072116336375E264CD6BEC794E61885F9A225AFCBE9BA7592705F46E27BD8F2CF66E7642FD8669EF55786109AEEF4ECEF25901204D682C59757F451342F2AF370FD661C2DB2A38530445910F6C2446C94DFFDBC0717D5BDF8114D0336690194FC1E19C53C10ED92ABE76E9516FB6E082FE6390D338C61EDB8491C80AF41";
    const DES_RECEIPT: &str = "9A42E1A2F248E718";
    const AES_RECEIPT: &str = "05B459E7669E2D412D08E761BFD636D3";
    const RSA_PEM: &str = include_str!("../tests/data/dap_rsa1024.pem");
    const RSA_PUB_PEM: &str = include_str!("../tests/data/dap_rsa1024_pub.pem");

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn rsa_token_matches_the_reference() {
        let data = h("0000084F06F00000000101");
        let private = DapKey::parse(DapType::Rsa, RSA_PEM).unwrap();
        let public = DapKey::parse(DapType::Rsa, RSA_PUB_PEM).unwrap();
        let token = sign_token(&private, &data).unwrap();
        assert_eq!(token, h(RSA_TOKEN));
        assert!(verify_token(&public, &data, &token).is_ok());
        assert!(verify_token(&public, &h("0000084F06F00000000102"), &token).is_err());
        assert!(sign_token(&public, &data).is_err());
        assert!(sign_token(&DapKey::parse(DapType::Des, KEY).unwrap(), &data).is_err());
    }

    #[test]
    fn receipts_match_the_reference() {
        let data = h("02000701AA050102030405");
        let des = DapKey::parse(DapType::Des, KEY).unwrap();
        let aes = DapKey::parse(DapType::Aes, KEY).unwrap();
        assert_eq!(receipt(&des, &data).unwrap(), h(DES_RECEIPT));
        assert_eq!(receipt(&aes, &data).unwrap(), h(AES_RECEIPT));
        assert!(verify_receipt(&aes, &data, &h(AES_RECEIPT)).is_ok());
        assert!(verify_receipt(&aes, &data, &h(DES_RECEIPT)).is_err());
    }

    #[test]
    fn ecc_tokens_verify() {
        let private =
            DapKey::parse(DapType::Ecc, include_str!("../tests/data/dap_p256.pem")).unwrap();
        let token = sign_token(&private, b"token data").unwrap();
        assert!(verify_token(&private, b"token data", &token).is_ok());
        assert!(verify_token(&private, b"token datA", &token).is_err());
    }
}
