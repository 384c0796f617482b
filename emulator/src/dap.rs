//! DAP verification by the ISD (GP 2.3.1 section 9.2.1, 11.6.2.3): with a
//! DAP key the ISD holds the DAP Verification privilege (or, with
//! `mandated`, Mandated DAP Verification) and accepts a load file only when
//! the Load File carries a DAP block for it whose signature over the Load
//! File Data Block Hash verifies. The check runs once the last LOAD block
//! is in and before anything is written, so a refused load leaves nothing.

use gp::dap::{DapBlock, TAG_DAP_BLOCK};
use gp::tlv::Tlv;
use scp::dap::DapKey;

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
/// receipt key. The emulator has no supplementary security domains, so the
/// ISD stands in for the one with the Delegated Management privilege.
#[derive(Debug)]
pub struct DelegatedPolicy {
    /// The token verification key (RSA or ECC public key).
    pub token_key: DapKey,
    /// The receipt key (DES or AES); without one the confirmation carries
    /// an empty receipt.
    pub receipt_key: Option<DapKey>,
    /// The confirmation counter: counts the confirmations of this run.
    pub counter: u16,
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

    /// The confirmation of a command that went through, with the next
    /// counter value; `card_unique` identifies the card (its serial).
    pub fn confirm(
        &mut self,
        what: gp::token::Receipt<'_>,
        card_unique: &[u8],
    ) -> Result<Vec<u8>, Fail> {
        self.counter = self.counter.wrapping_add(1);
        let data = what
            .data(self.counter, card_unique)
            .map_err(|e| fail(sw::UNKNOWN, e.to_string()))?;
        let receipt = match &self.receipt_key {
            Some(k) => {
                scp::token::receipt(k, &data).map_err(|e| fail(sw::UNKNOWN, e.to_string()))?
            }
            None => Vec::new(),
        };
        gp::token::Confirmation {
            receipt,
            counter: self.counter,
            card_unique: card_unique.to_vec(),
        }
        .to_bytes()
        .map_err(|e| fail(sw::UNKNOWN, e.to_string()))
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
}
