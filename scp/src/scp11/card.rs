//! The card (security domain) side of SCP11, for the emulator's ISD:
//! collect and verify the OCE certificates that PERFORM SECURITY OPERATION
//! brings, answer MUTUAL or INTERNAL AUTHENTICATE with a fresh ephemeral
//! key and the receipt, and open the SCP03 secure messaging both sides then
//! share. No state is persistent here: the caller stores keys and
//! certificates and drops an [`OceChain`] with the session.

use gp::apdu::CommandApdu;
use gp::tlv::Tlv;
use p256::ecdsa::VerifyingKey;
use p256::{PublicKey, SecretKey};

use super::cert::{Certificate, Date, USAGE_KEY_AGREEMENT, USAGE_SIGNATURE};
use super::host::{ephemeral_key, session_info, LEVEL};
use super::kdf::{ecka, Scp11Keys};
use super::{key_agreement_data, parse_point, point_tlv, Variant};
use crate::scp03::{self, DataKey};
use crate::{CardChannel, ChallengeSource, ScpError};

/// The OCE certificates received so far in a session, each verified when
/// it arrived: the first under the KLOC, each next under the previous.
#[derive(Debug, Clone, Default)]
pub struct OceChain {
    last: Option<PublicKey>,
    complete: bool,
}

impl OceChain {
    /// Verifies one PERFORM SECURITY OPERATION certificate (P2 bit 8 set:
    /// more follow) against `kloc` (the first) or the previous one.
    pub fn accept(
        &mut self,
        command: &CommandApdu,
        kloc: &VerifyingKey,
        today: Date,
    ) -> Result<(), ScpError> {
        if self.complete {
            *self = OceChain::default();
        }
        let cert = Certificate::parse(command.data())?;
        let (issuer, name) = match &self.last {
            Some(pk) => (VerifyingKey::from(pk), "the previous OCE certificate"),
            None => (*kloc, "the OCE CA key (KLOC)"),
        };
        cert.verify_signature(&issuer, name)?;
        cert.check_validity(today)?;
        let more = command.p2() & 0x80 != 0;
        let usage = if more {
            USAGE_SIGNATURE
        } else {
            USAGE_KEY_AGREEMENT
        };
        if cert.key_usage & usage != usage {
            return Err(ScpError::malformed(
                "PERFORM SECURITY OPERATION",
                format!(
                    "certificate {} has key usage {:04X}, {} needs {usage:04X}",
                    cert.serial_hex(),
                    cert.key_usage,
                    if more {
                        "an intermediate"
                    } else {
                        "CERT.OCE.ECKA"
                    }
                ),
            ));
        }
        self.last = Some(PublicKey::from(cert.public_key));
        self.complete = !more;
        Ok(())
    }

    /// PK.OCE.ECKA, once the chain's last certificate verified.
    pub fn oce_key(&self) -> Option<&PublicKey> {
        self.last.as_ref().filter(|_| self.complete)
    }
}

/// SK.SD.ECKA of one variant.
pub struct CardKey<'a> {
    /// Which variant the key serves (its KID).
    pub variant: Variant,
    /// Its key version.
    pub kvn: u8,
    /// The private key.
    pub key: &'a SecretKey,
}

/// Answers MUTUAL AUTHENTICATE (11a, 11c) or INTERNAL AUTHENTICATE (11b):
/// returns the open channel and the response data (5F49 ePK.SD, 86
/// receipt, without SW). `oce` is PK.OCE.ECKA from the verified chain,
/// required when the variant authenticates the host.
pub fn authenticate(
    sd: &CardKey<'_>,
    oce: Option<&PublicKey>,
    command: &CommandApdu,
    rng: &mut (impl ChallengeSource + ?Sized),
) -> Result<(CardChannel, Vec<u8>), ScpError> {
    let variant = sd.variant;
    let what = match variant {
        Variant::B => "INTERNAL AUTHENTICATE",
        _ => "MUTUAL AUTHENTICATE",
    };
    if command.ins() != variant.ins() {
        return Err(ScpError::BadParameters {
            what,
            detail: format!(
                "{variant} takes INS {:02X}, got {:02X}",
                variant.ins(),
                command.ins()
            ),
        });
    }
    let tlvs = Tlv::parse_all(command.data())
        .map_err(|e| ScpError::malformed(what, format!("data: {e}")))?;
    let epk_oce = parse_point(
        what,
        tlvs.iter().find(|t| t.tag().to_bytes() == [0x5F, 0x49]),
    )?;
    // The control reference template must be exactly the one this card
    // derives with; anything else would be a key agreement it does not do.
    let expected = key_agreement_data(variant, &epk_oce);
    if command.data() != expected.as_slice() {
        return Err(ScpError::malformed(
            what,
            format!(
                "control reference template is not A6{{90 11 {:02X}, 95 3C, 80 88, 81 10}}",
                variant.param()
            ),
        ));
    }
    let sh_ses = if variant.authenticates_host() {
        let pk_oce = oce.ok_or(ScpError::Status {
            command: "MUTUAL AUTHENTICATE (no verified OCE certificate: send PERFORM SECURITY OPERATION first)",
            sw: 0x6985,
        })?;
        ecka(sd.key, pk_oce)
    } else {
        ecka(sd.key, &epk_oce)
    };
    let esk_sd = ephemeral_key(rng)?;
    let sh_see = ecka(&esk_sd, &epk_oce);
    let keys = Scp11Keys::derive(&sh_see, &sh_ses)?;
    let epk_tlv = point_tlv(&esk_sd.public_key());
    let receipt = keys.receipt(command.data(), &epk_tlv)?;
    let mut response = epk_tlv;
    response.extend(
        Tlv::primitive(0x86u32, receipt.to_vec())
            .to_bytes()
            .unwrap_or_default(),
    );
    let channel = scp03::Channel::new(keys.session, DataKey::Session(keys.dek), LEVEL, receipt);
    Ok((
        CardChannel::from_parts(Box::new(channel), session_info(variant, sd.kvn)),
        response,
    ))
}
