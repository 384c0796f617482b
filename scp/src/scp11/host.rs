//! The host (OCE) side of SCP11 as a sans-I/O state machine whose states
//! are types: each state holds the one command to send next, and only the
//! answer to it leads on.
//!
//! ```text
//! begin ─▶ ReadingCardCertificates (GET DATA BF21)
//!   ─card chain verified against the CA key─▶ UploadingOceCertificates (PSO, 11a/11c)
//!   ─every PSO answered 9000─▶ Authenticating (MUTUAL / INTERNAL AUTHENTICATE)
//!   ─receipt verified─▶ SecureChannel
//! ```

use std::collections::VecDeque;

use gp::apdu::{CommandApdu, LogicalChannel, ResponseApdu};
use gp::tlv::Tlv;
use p256::ecdsa::VerifyingKey;
use p256::{PublicKey, SecretKey};

use super::cert::{self, Date};
use super::kdf::{ecka, Scp11Keys};
use super::{key_agreement_data, parse_point, point_tlv, Variant, INS_PSO, KID_KLOC};
use crate::scp03::{self, DataKey};
use crate::sm::ct_eq;
use crate::{ChallengeSource, ScpError, SecureChannel, SecurityLevel, SessionDetails, SessionInfo};

/// The security level of every SCP11 session: SCP11 runs SCP03 secure
/// messaging with all four protections.
pub const LEVEL: SecurityLevel = SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC;

/// The off-card entity's certified static key (11a, 11c).
#[derive(Clone)]
pub struct OceCredentials {
    /// SK.OCE.ECKA.
    pub key: SecretKey,
    /// The OCE certificates, issuer first, CERT.OCE.ECKA last, as encoded.
    pub chain: Vec<Vec<u8>>,
    /// Key version of the KLOC (the card's OCE CA key) that verifies the
    /// first certificate: P1 of PERFORM SECURITY OPERATION.
    pub kloc_kvn: u8,
}

/// What the host needs to open an SCP11 session.
#[derive(Clone)]
pub struct Scp11Config {
    /// 11a, 11b or 11c.
    pub variant: Variant,
    /// Key version of SK.SD.ECKA on the card.
    pub kvn: u8,
    /// The CA public key the card's certificate chain must lead to.
    pub ca: VerifyingKey,
    /// The OCE's key and certificates; required by 11a and 11c.
    pub oce: Option<OceCredentials>,
    /// The logical channel the session runs on.
    pub logical_channel: LogicalChannel,
    /// The date certificates must be valid on.
    pub today: Date,
}

fn status(command: &'static str, response: &[u8]) -> Result<ResponseApdu, ScpError> {
    let response = ResponseApdu::parse(response)?;
    if response.sw != 0x9000 {
        return Err(ScpError::Status {
            command,
            sw: response.sw,
        });
    }
    Ok(response)
}

/// Starts a session: the first command reads the card's certificates.
pub fn begin(config: Scp11Config) -> Result<ReadingCardCertificates, ScpError> {
    if config.variant.authenticates_host() && config.oce.is_none() {
        return Err(ScpError::Unsupported(format!(
            "{} authenticates the host: it needs the OCE key and certificate (--oce-key, --oce-cert)",
            config.variant
        )));
    }
    let command = CommandApdu::parse(&super::get_certificates_command(
        config.variant.kid(),
        config.kvn,
    ))?
    .on_channel(config.logical_channel)
    .to_bytes();
    Ok(ReadingCardCertificates { config, command })
}

/// GET DATA BF21 is ready to send.
pub struct ReadingCardCertificates {
    config: Scp11Config,
    command: Vec<u8>,
}

impl ReadingCardCertificates {
    /// The GET DATA command.
    pub fn command(&self) -> &[u8] {
        &self.command
    }

    /// Verifies the card's chain against the CA key; its last certificate
    /// carries PK.SD.ECKA.
    pub fn on_response(self, response: &[u8]) -> Result<UploadingOceCertificates, ScpError> {
        let response = status("GET DATA BF21 (card certificates)", response)?;
        let chain = super::parse_certificate_store(&response.data)?;
        let pk_sd = cert::verify_chain(&chain, &self.config.ca, self.config.today)?;
        let mut queue = VecDeque::new();
        if let (true, Some(oce)) = (self.config.variant.authenticates_host(), &self.config.oce) {
            let n = oce.chain.len();
            for (i, c) in oce.chain.iter().enumerate() {
                let p2 = KID_KLOC | if i + 1 < n { 0x80 } else { 0x00 };
                let cmd = CommandApdu::new(0x80, INS_PSO, oce.kloc_kvn, p2, c.clone(), None)?
                    .on_channel(self.config.logical_channel);
                queue.push_back(cmd.to_bytes());
            }
        }
        Ok(UploadingOceCertificates {
            config: self.config,
            pk_sd: PublicKey::from(pk_sd),
            queue,
        })
    }
}

/// PERFORM SECURITY OPERATION commands, one per OCE certificate.
pub struct UploadingOceCertificates {
    config: Scp11Config,
    pk_sd: PublicKey,
    queue: VecDeque<Vec<u8>>,
}

impl UploadingOceCertificates {
    /// The next PSO to send, or `None` when all are accepted.
    pub fn command(&self) -> Option<&[u8]> {
        self.queue.front().map(Vec::as_slice)
    }

    /// The card accepted (9000) or refused the certificate just sent.
    pub fn on_response(mut self, response: &[u8]) -> Result<Self, ScpError> {
        status("PERFORM SECURITY OPERATION (OCE certificate)", response)?;
        self.queue.pop_front();
        Ok(self)
    }

    /// Draws the ephemeral key and builds the authenticate command; every
    /// PSO must have been answered first.
    pub fn authenticate(
        self,
        rng: &mut (impl ChallengeSource + ?Sized),
    ) -> Result<Authenticating, ScpError> {
        if !self.queue.is_empty() {
            return Err(ScpError::malformed(
                "SCP11 session",
                format!("{} OCE certificate(s) not yet sent", self.queue.len()),
            ));
        }
        let esk = ephemeral_key(rng)?;
        let variant = self.config.variant;
        let data = key_agreement_data(variant, &esk.public_key());
        let command = CommandApdu::new(
            0x80,
            variant.ins(),
            self.config.kvn,
            variant.kid(),
            data.clone(),
            Some(256),
        )?
        .on_channel(self.config.logical_channel)
        .to_bytes();
        Ok(Authenticating {
            config: self.config,
            pk_sd: self.pk_sd,
            esk,
            data,
            command,
        })
    }
}

/// A fresh P-256 key from `rng` (scalars out of range are drawn again).
pub(crate) fn ephemeral_key(
    rng: &mut (impl ChallengeSource + ?Sized),
) -> Result<SecretKey, ScpError> {
    for _ in 0..8 {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut())?;
        if let Ok(k) = SecretKey::from_slice(bytes.as_ref()) {
            return Ok(k);
        }
    }
    Err(ScpError::Rng("no valid P-256 scalar in 8 draws".into()))
}

/// MUTUAL or INTERNAL AUTHENTICATE is ready to send.
pub struct Authenticating {
    config: Scp11Config,
    pk_sd: PublicKey,
    esk: SecretKey,
    data: Vec<u8>,
    command: Vec<u8>,
}

impl Authenticating {
    /// The authenticate command.
    pub fn command(&self) -> &[u8] {
        &self.command
    }

    /// Derives the session keys from the card's ePK.SD, checks its receipt,
    /// and opens the channel with the receipt as the chaining value.
    pub fn on_response(self, response: &[u8]) -> Result<SecureChannel, ScpError> {
        let variant = self.config.variant;
        let what = match variant {
            Variant::B => "INTERNAL AUTHENTICATE",
            _ => "MUTUAL AUTHENTICATE",
        };
        let response = status(what, response)?;
        let tlvs = Tlv::parse_all(&response.data)
            .map_err(|e| ScpError::malformed(what, format!("response: {e}")))?;
        let epk_sd = parse_point(
            what,
            tlvs.iter().find(|t| t.tag().to_bytes() == [0x5F, 0x49]),
        )?;
        let receipt = tlvs
            .iter()
            .find(|t| t.tag().to_bytes() == [0x86])
            .and_then(Tlv::bytes)
            .filter(|r| r.len() == 16)
            .ok_or_else(|| ScpError::malformed(what, "no 16-byte receipt (86)"))?;
        let sh_see = ecka(&self.esk, &epk_sd);
        let sh_ses = match (&self.config.oce, variant.authenticates_host()) {
            (Some(oce), true) => ecka(&oce.key, &self.pk_sd),
            _ => ecka(&self.esk, &self.pk_sd),
        };
        let keys = Scp11Keys::derive(&sh_see, &sh_ses)?;
        let expected = keys.receipt(&self.data, &point_tlv(&epk_sd))?;
        if !ct_eq(receipt, &expected) {
            return Err(ScpError::Receipt);
        }
        let channel =
            scp03::Channel::new(keys.session, DataKey::Session(keys.dek), LEVEL, expected);
        let info = session_info(variant, self.config.kvn);
        Ok(SecureChannel::from_parts(Box::new(channel), info))
    }
}

/// What an SCP11 session reports.
pub(crate) fn session_info(variant: Variant, kvn: u8) -> SessionInfo {
    SessionInfo {
        security_level: LEVEL,
        key_version: kvn,
        kdd: [0; 10],
        host_challenge: Vec::new(),
        details: SessionDetails::Scp11 { variant },
    }
}
