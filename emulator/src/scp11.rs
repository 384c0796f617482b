//! The ISD's SCP11 material, persistent: its key-agreement key pairs
//! (SK.SD.ECKA, one per variant's KID), the certificate chain of each as
//! GET DATA BF21 returns it, and the OCE CA public keys (KLOC) that verify
//! the certificates PERFORM SECURITY OPERATION brings. Every field has a
//! serde default, so state files written before SCP11 still load.

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::SecretKey;
use serde::{Deserialize, Serialize};

use crate::hexser;
use scp::scp11::cert::USAGE_KEY_AGREEMENT;
use scp::scp11::{CertificateTemplate, Date, Variant};
use scp::ChallengeSource;

/// One SK.SD.ECKA with its certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdKey {
    /// 11, 13 or 15.
    pub kid: u8,
    pub kvn: u8,
    /// The private scalar (32 bytes).
    #[serde(with = "hexser")]
    pub secret: Vec<u8>,
    /// CERT.SD.ECKA and its issuers, issuer first.
    #[serde(default, with = "hexser::list")]
    pub certificates: Vec<Vec<u8>>,
}

/// An OCE CA public key (KLOC), SEC1 encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kloc {
    pub kvn: u8,
    #[serde(with = "hexser")]
    pub public: Vec<u8>,
}

/// Everything SCP11 keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scp11Store {
    #[serde(default)]
    pub sd_keys: Vec<SdKey>,
    #[serde(default)]
    pub klocs: Vec<Kloc>,
}

impl Scp11Store {
    pub fn is_empty(&self) -> bool {
        self.sd_keys.is_empty() && self.klocs.is_empty()
    }

    /// The SD key with this KID and version (version 00: the first with the KID).
    pub fn sd_key(&self, kid: u8, kvn: u8) -> Option<&SdKey> {
        self.sd_keys
            .iter()
            .find(|k| k.kid == kid && (kvn == 0 || k.kvn == kvn))
    }

    /// The KLOC with this version (00: the first).
    pub fn kloc(&self, kvn: u8) -> Option<VerifyingKey> {
        self.klocs
            .iter()
            .find(|k| kvn == 0 || k.kvn == kvn)
            .and_then(|k| VerifyingKey::from_sec1_bytes(&k.public).ok())
    }

    /// Provisions the card from one CA key, as `jct emu --scp11-ca` does:
    /// a fresh SK.SD.ECKA (version 01) for each of 11a, 11b, 11c, each
    /// certified by `ca` until 2099 with `issuer` as the CA-KLOC
    /// identifier (tag 42), and the CA's public key as KLOC 01.
    /// Keys already there are kept (their certificates are renewed only
    /// when the CA or its identifier changed), so restarting with the same CA changes nothing.
    pub fn provision(
        &mut self,
        ca: &SigningKey,
        issuer: &[u8],
        rng: &mut (dyn ChallengeSource + Send),
    ) -> Result<(), String> {
        let ca_public = VerifyingKey::from(ca);
        let ca_sec1 = ca_public.to_sec1_point(false).as_bytes().to_vec();
        let same_ca = self.klocs.iter().any(|k| k.kvn == 1 && k.public == ca_sec1);
        self.klocs.retain(|k| k.kvn != 1);
        self.klocs.push(Kloc {
            kvn: 1,
            public: ca_sec1,
        });
        for variant in [Variant::A, Variant::B, Variant::C] {
            let kid = variant.kid();
            let same_issuer = self.sd_key(kid, 1).is_some_and(|k| {
                k.certificates
                    .last()
                    .and_then(|c| scp::scp11::Certificate::parse(c).ok())
                    .is_some_and(|c| c.issuer == issuer)
            });
            if same_ca && same_issuer {
                continue;
            }
            self.sd_keys.retain(|k| !(k.kid == kid && k.kvn == 1));
            let mut bytes = [0u8; 32];
            let secret = loop {
                rng.fill(&mut bytes).map_err(|e| e.to_string())?;
                if let Ok(k) = SecretKey::from_slice(&bytes) {
                    break k;
                }
            };
            let cert = CertificateTemplate {
                serial: vec![kid, 0x01],
                issuer: issuer.to_vec(),
                subject: format!("jct emu ISD {variant}").into_bytes(),
                key_usage: USAGE_KEY_AGREEMENT,
                effective: Date::new(2020, 1, 1),
                expiration: Date {
                    year: 2099,
                    month: 12,
                    day: 31,
                },
                public_key: VerifyingKey::from(secret.public_key()),
            }
            .sign(ca);
            self.sd_keys.push(SdKey {
                kid,
                kvn: 1,
                secret: secret.to_bytes().to_vec(),
                certificates: vec![cert],
            });
        }
        Ok(())
    }
}

impl crate::Card {
    /// Provisions SCP11 from the CA key `ca` ([`Scp11Store::provision`]),
    /// `issuer` naming the CA in the certificates, and commits it to the
    /// card's persistent state.
    pub fn provision_scp11(&mut self, ca: &SigningKey, issuer: &[u8]) -> Result<(), String> {
        let mut next = self.state.clone();
        next.scp11.provision(ca, issuer, self.rng.as_mut())?;
        if next == self.state {
            return Ok(());
        }
        self.commit(next).map_err(|f| f.why)
    }
}
