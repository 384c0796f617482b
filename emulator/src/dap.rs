//! DAP verification by the ISD (GP 2.3.1 section 9.2.1, 11.6.2.3): with a
//! DAP key the ISD holds the DAP Verification privilege (or, with
//! `mandated`, Mandated DAP Verification) and accepts a load file only when
//! the Load File carries a DAP block for it whose signature over the Load
//! File Data Block Hash verifies. The check runs once the last LOAD block
//! is in and before anything is written, so a refused load leaves nothing.

use gp::dap::{DapBlock, TAG_DAP_BLOCK};
use gp::tlv::Tlv;
use scp::dap::{DapKey, DapType};
use serde::{Deserialize, Serialize};

use crate::sw::{self, fail, Fail};

/// The ISD's DAP key and whether DAP verification is mandated.
#[derive(Debug)]
pub struct DapPolicy {
    pub key: DapKey,
    /// Mandated DAP Verification (the Controlling Authority's privilege)
    /// rather than the DAP Verification privilege.
    pub mandated: bool,
}

impl DapPolicy {
    fn privilege(&self) -> &'static str {
        if self.mandated {
            "Mandated DAP Verification"
        } else {
            "DAP Verification"
        }
    }

    /// INSTALL [for load] must carry the hash the DAP signs.
    pub fn check_install(&self, hash: &[u8]) -> Result<(), Fail> {
        if hash.is_empty() {
            return Err(fail(
                sw::BAD_DATA,
                format!(
                    "the ISD has the {} privilege: INSTALL [for load] must carry the Load File Data Block hash the DAP signs",
                    self.privilege()
                ),
            ));
        }
        Ok(())
    }

    /// Checks the DAP blocks of a complete Load File whose hash `hash`
    /// (from INSTALL [for load]) the linker has already matched against the
    /// Load File Data Block. A missing DAP block is 6985 (conditions of use
    /// not satisfied), a malformed or failing one 6A80.
    pub fn check_load(&self, isd: &[u8], hash: &[u8], load_file: &[u8]) -> Result<(), Fail> {
        self.check_install(hash)?;
        let objects = Tlv::parse_all(load_file)
            .map_err(|e| fail(sw::BAD_DATA, format!("the Load File is not BER-TLV: {e}")))?;
        let mut mine = None;
        for tlv in objects
            .iter()
            .filter(|t| t.tag().to_bytes() == [TAG_DAP_BLOCK])
        {
            let block = DapBlock::from_tlv(tlv).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
            if block.security_domain == isd {
                mine = Some(block);
            }
        }
        let block = mine.ok_or_else(|| {
            fail(
                sw::CONDITIONS,
                format!(
                    "the ISD has the {} privilege and the Load File has no DAP block (E2) for it ({})",
                    self.privilege(),
                    hex::encode_upper(isd)
                ),
            )
        })?;
        self.key.verify(hash, &block.signature).map_err(|e| {
            fail(
                sw::BAD_DATA,
                format!("the ISD's {} DAP check failed: {e}", self.key.key_type()),
            )
        })
    }
}

/// Delegated management on the ISD (GP 2.3.1 9.3): with a token key every
/// DELETE of an AID must carry a token (tag 9E) the card issuer signed over
/// the command, and the card confirms each with a receipt under the
/// receipt key. The ISD stands in for a security domain with the
/// Delegated Management privilege. The confirmation counter is card state
/// ([`Authorities::confirmations`]): it goes on across power cycles and
/// restarts, so no two receipts of a card carry the same counter.
#[derive(Debug)]
pub struct DelegatedPolicy {
    /// The token verification key (RSA or ECC public key).
    pub token_key: DapKey,
    /// The receipt key (DES or AES); without one the confirmation carries
    /// an empty receipt.
    pub receipt_key: Option<DapKey>,
}

impl DelegatedPolicy {
    /// Checks the token of a DELETE: `data` the whole data field. A
    /// missing token is 6985, a malformed or failing one 6A80.
    pub fn check_delete(&self, p1: u8, p2: u8, data: &[u8]) -> Result<(), Fail> {
        let (signed_part, token) =
            gp::token::split_delete_token(data).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
        if token.is_empty() {
            return Err(fail(
                sw::CONDITIONS,
                "the ISD performs delegated management: DELETE needs a delete token (tag 9E)",
            ));
        }
        let signed = gp::token::token_data(p1, p2, signed_part)
            .map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
        scp::token::verify_token(&self.token_key, &signed, &token)
            .map_err(|e| fail(sw::BAD_DATA, format!("delete token: {e}")))
    }

    /// Checks the token of an INSTALL [for load] (`load`) or [for install]
    /// (and/or make selectable): `token` the Load/Install Token field,
    /// `signed` what it signs (`gp::token::load_token_data` or
    /// `install_token_data`). Missing 6985, failing 6A80.
    pub fn check_install(&self, what: &str, signed: &[u8], token: &[u8]) -> Result<(), Fail> {
        if token.is_empty() {
            return Err(fail(
                sw::CONDITIONS,
                format!("the ISD performs delegated management: INSTALL [for {what}] needs a {what} token"),
            ));
        }
        scp::token::verify_token(&self.token_key, signed, token)
            .map_err(|e| fail(sw::BAD_DATA, format!("{what} token: {e}")))
    }

    /// The confirmation of a command that went through, numbered
    /// `counter`; `card_unique` identifies the card (its serial).
    pub fn confirmation(
        &self,
        what: gp::token::Receipt<'_>,
        counter: u16,
        card_unique: &[u8],
    ) -> Result<Vec<u8>, Fail> {
        let data = what
            .data(counter, card_unique)
            .map_err(|e| fail(sw::UNKNOWN, e.to_string()))?;
        let receipt = match &self.receipt_key {
            Some(k) => {
                scp::token::receipt(k, &data).map_err(|e| fail(sw::UNKNOWN, e.to_string()))?
            }
            None => Vec::new(),
        };
        gp::token::Confirmation {
            receipt,
            counter,
            card_unique: card_unique.to_vec(),
        }
        .to_bytes()
        .map_err(|e| fail(sw::UNKNOWN, e.to_string()))
    }
}

/// A verification key as the card keeps it: its scheme and
/// [`DapKey::verifying_material`] (the secret of a DES or AES key, only the
/// public half of an RSA or ECC one).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptKey {
    /// des, aes, rsa or ecc.
    pub scheme: String,
    /// Hex, as [`DapKey::parse`] reads it.
    pub key: String,
}

impl std::fmt::Debug for KeptKey {
    /// The scheme only: the key may be a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeptKey({})", self.scheme)
    }
}

impl KeptKey {
    pub fn of(key: &DapKey) -> Result<KeptKey, String> {
        Ok(KeptKey {
            scheme: key.key_type().to_string(),
            key: key
                .verifying_material()
                .map_err(|e| e.to_string())?
                .to_string(),
        })
    }

    /// The key again; `what` names it in the error.
    pub fn key(&self, what: &str) -> Result<DapKey, String> {
        let ty: DapType = self
            .scheme
            .parse()
            .map_err(|e| format!("{what}: scheme {:?}: {e}", self.scheme))?;
        DapKey::parse(ty, &self.key).map_err(|e| format!("{what}: {e}"))
    }
}

/// The ISD's DAP verification and delegated management as the card
/// remembers them: on a real card these keys are keys of the security
/// domain (put there once, by PUT KEY or at personalization), not
/// something the terminal brings at each power-up, and the confirmation
/// counter must never repeat. Older state files have none of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorities {
    /// The DAP key, when the ISD verifies DAPs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dap: Option<KeptKey>,
    /// Mandated DAP Verification rather than DAP Verification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mandated_dap: bool,
    /// The token verification key, when the ISD performs delegated management.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<KeptKey>,
    /// The receipt key of the confirmations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<KeptKey>,
    /// The counter of the last confirmation given (each confirmation
    /// increments it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub confirmations: u16,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

impl Authorities {
    pub fn is_empty(&self) -> bool {
        *self == Authorities::default()
    }

    /// Records (or, with `None`, drops) the DAP key.
    pub fn set_dap(&mut self, policy: Option<&DapPolicy>) -> Result<(), String> {
        self.dap = policy.map(|p| KeptKey::of(&p.key)).transpose()?;
        self.mandated_dap = policy.is_some_and(|p| p.mandated);
        Ok(())
    }

    /// Records (or drops) the token and receipt keys; the counter goes on.
    pub fn set_delegated(&mut self, policy: Option<&DelegatedPolicy>) -> Result<(), String> {
        self.token = policy.map(|p| KeptKey::of(&p.token_key)).transpose()?;
        self.receipt = policy
            .and_then(|p| p.receipt_key.as_ref())
            .map(KeptKey::of)
            .transpose()?;
        Ok(())
    }

    /// The DAP policy the kept key makes.
    pub fn dap_policy(&self) -> Result<Option<DapPolicy>, String> {
        Ok(match &self.dap {
            Some(k) => Some(DapPolicy {
                key: k.key("the DAP key")?,
                mandated: self.mandated_dap,
            }),
            None => None,
        })
    }

    /// The delegated management the kept keys make.
    pub fn delegated_policy(&self) -> Result<Option<DelegatedPolicy>, String> {
        match (&self.token, &self.receipt) {
            (Some(t), r) => Ok(Some(DelegatedPolicy {
                token_key: t.key("the token key")?,
                receipt_key: r.as_ref().map(|r| r.key("the receipt key")).transpose()?,
            })),
            (None, Some(_)) => Err("a receipt key without a token key".into()),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scp::dap::DapType;

    fn policy() -> DapPolicy {
        DapPolicy {
            key: DapKey::parse(DapType::Des, "404142434445464748494A4B4C4D4E4F").unwrap(),
            mandated: true,
        }
    }

    #[test]
    fn missing_wrong_and_good_daps() {
        let isd = hex::decode("A000000151000000").unwrap();
        let hash = [0x5A; 20];
        let c4 = [0xC4, 0x01, 0x00];
        let p = policy();
        assert_eq!(
            p.check_load(&isd, &hash, &c4).unwrap_err().sw,
            sw::CONDITIONS
        );
        assert_eq!(p.check_load(&isd, &[], &c4).unwrap_err().sw, sw::BAD_DATA);
        let good = DapBlock {
            security_domain: isd.clone(),
            signature: p.key.sign(&hash).unwrap(),
        };
        let lf = gp::dap::load_file(std::slice::from_ref(&good), &c4).unwrap();
        assert!(p.check_load(&isd, &hash, &lf).is_ok());
        let mut bad = good.clone();
        bad.signature[0] ^= 1;
        let lf = gp::dap::load_file(&[bad], &c4).unwrap();
        assert_eq!(p.check_load(&isd, &hash, &lf).unwrap_err().sw, sw::BAD_DATA);
        // A DAP for another security domain does not count.
        let other = DapBlock {
            security_domain: vec![0xA0, 0, 0, 0, 0x99],
            ..good
        };
        let lf = gp::dap::load_file(&[other], &c4).unwrap();
        assert_eq!(
            p.check_load(&isd, &hash, &lf).unwrap_err().sw,
            sw::CONDITIONS
        );
    }

    #[test]
    fn authorities_round_trip_and_a_bad_kept_key_is_named() {
        let mut a = Authorities::default();
        assert!(a.is_empty());
        a.set_dap(Some(&policy())).unwrap();
        let rsa = include_str!("../../scp/tests/data/dap_rsa1024.pem");
        a.set_delegated(Some(&DelegatedPolicy {
            token_key: DapKey::parse(DapType::Rsa, rsa).unwrap(),
            receipt_key: Some(
                DapKey::parse(DapType::Aes, "000102030405060708090A0B0C0D0E0F").unwrap(),
            ),
        }))
        .unwrap();
        a.confirmations = 7;
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("BEGIN"), "{json}");
        let back: Authorities = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert!(back.dap_policy().unwrap().unwrap().mandated);
        let d = back.delegated_policy().unwrap().unwrap();
        assert_eq!(d.token_key.key_type(), DapType::Rsa);
        assert!(
            d.token_key.sign(&[0; 32]).is_err(),
            "only the public key is kept"
        );
        // Ending delegated management keeps the counter.
        let mut ended = back.clone();
        ended.set_delegated(None).unwrap();
        assert_eq!(ended.confirmations, 7);
        assert!(ended.delegated_policy().unwrap().is_none());
        // A kept key that no longer parses names itself.
        let mut bad = a.clone();
        bad.token.as_mut().unwrap().key = "zz".into();
        let e = bad.delegated_policy().unwrap_err();
        assert!(e.contains("the token key"), "{e}");
        let mut bad = a;
        bad.dap.as_mut().unwrap().scheme = "md5".into();
        assert!(bad.dap_policy().unwrap_err().contains("the DAP key"));
    }
}
