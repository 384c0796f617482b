//! SCP11 (GlobalPlatform Card Specification Amendment F): a secure channel
//! opened with certificates and elliptic-curve key agreement instead of
//! shared static keys, then run with SCP03's secure messaging.
//!
//! ```text
//! host: GET DATA BF21 A6{83 KID KVN} ─▶ CERT.SD.ECKA chain, checked against the CA key
//!       (11a, 11c) PERFORM SECURITY OPERATION 80 2A ─▶ each OCE certificate, CA first
//!       MUTUAL AUTHENTICATE 80 82 (11a, 11c) | INTERNAL AUTHENTICATE 80 88 (11b)
//!          data: A6{90 11 param, 95 3C, 80 88, 81 10} 5F49 ePK.OCE
//!       ◀─ 5F49 ePK.SD 86 receipt
//!       receipt checked ─▶ SCP03 channel, chaining value = receipt
//! ```
//!
//! The three variants differ in who is authenticated: 11b authenticates
//! only the card (the host uses its ephemeral key twice), 11a and 11c both
//! sides (the host's static key is certified by the OCE chain). 11c is the
//! scripting variant of 11a; the key agreement is the same here.
//!
//! Only P-256 (key parameter reference 00) is implemented.

pub mod card;
pub mod cert;
pub mod files;
pub mod flat;
pub mod host;
pub mod kdf;

pub use cert::{CertError, Certificate, CertificateTemplate, Date};

use gp::tlv::Tlv;
use p256::PublicKey;

use crate::ScpError;

/// INS of PERFORM SECURITY OPERATION.
pub const INS_PSO: u8 = 0x2A;
/// INS of MUTUAL AUTHENTICATE (SCP11a, SCP11c).
pub const INS_MUTUAL_AUTHENTICATE: u8 = 0x82;
/// INS of INTERNAL AUTHENTICATE (SCP11b).
pub const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;
/// Key identifier of the OCE CA public key (KLOC) the card verifies OCE
/// certificates with.
pub const KID_KLOC: u8 = 0x10;

/// SCP11a, b or c.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Mutual authentication.
    A,
    /// Card authentication only.
    B,
    /// Mutual authentication, for precomputed scripts.
    C,
}

impl Variant {
    /// The key identifier of SK.SD.ECKA for this variant (11, 13, 15).
    pub fn kid(self) -> u8 {
        match self {
            Variant::A => 0x11,
            Variant::B => 0x13,
            Variant::C => 0x15,
        }
    }

    /// The variant whose SD key has this identifier.
    pub fn from_kid(kid: u8) -> Option<Self> {
        [Variant::A, Variant::B, Variant::C]
            .into_iter()
            .find(|v| v.kid() == kid)
    }

    /// The "i" parameter in the control reference template (tag 90).
    pub fn param(self) -> u8 {
        match self {
            Variant::A => 0x01,
            Variant::B => 0x00,
            Variant::C => 0x03,
        }
    }

    /// The authenticating instruction.
    pub fn ins(self) -> u8 {
        match self {
            Variant::B => INS_INTERNAL_AUTHENTICATE,
            Variant::A | Variant::C => INS_MUTUAL_AUTHENTICATE,
        }
    }

    /// Whether the host presents a certified static key (11a, 11c).
    pub fn authenticates_host(self) -> bool {
        self != Variant::B
    }
}

impl core::fmt::Display for Variant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Variant::A => "SCP11a",
            Variant::B => "SCP11b",
            Variant::C => "SCP11c",
        })
    }
}

impl core::str::FromStr for Variant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().trim_start_matches("scp") {
            "11a" => Ok(Variant::A),
            "11b" => Ok(Variant::B),
            "11c" => Ok(Variant::C),
            other => Err(format!("{other:?} is not an SCP11 variant (11a, 11b, 11c)")),
        }
    }
}

/// The control reference template and ePK.OCE: the data of MUTUAL or
/// INTERNAL AUTHENTICATE.
pub(crate) fn key_agreement_data(variant: Variant, epk_oce: &PublicKey) -> Vec<u8> {
    let crt = Tlv::constructed(
        0xA6u32,
        vec![
            Tlv::primitive(0x90u32, vec![0x11, variant.param()]),
            Tlv::primitive(0x95u32, vec![kdf::KEY_USAGE]),
            Tlv::primitive(0x80u32, vec![kdf::KEY_TYPE_AES]),
            Tlv::primitive(0x81u32, vec![kdf::KEY_LEN]),
        ],
    );
    let mut out = crt.to_bytes().unwrap_or_default();
    out.extend(point_tlv(epk_oce));
    out
}

/// 5F49 with an uncompressed point.
pub(crate) fn point_tlv(key: &PublicKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    Tlv::primitive(0x5F49u32, key.to_sec1_point(false).as_bytes().to_vec())
        .to_bytes()
        .unwrap_or_default()
}

/// Reads a 5F49 point.
pub(crate) fn parse_point(what: &'static str, tlv: Option<&Tlv>) -> Result<PublicKey, ScpError> {
    let bytes = tlv
        .and_then(Tlv::bytes)
        .ok_or_else(|| ScpError::malformed(what, "no 5F49 ephemeral public key"))?;
    PublicKey::from_sec1_bytes(bytes)
        .map_err(|_| ScpError::malformed(what, "5F49 is not a P-256 point"))
}

/// GET DATA for the card's certificate store: `80 CA BF 21` with
/// `A6 { 83 KID KVN }` naming SK.SD.ECKA.
pub fn get_certificates_command(kid: u8, kvn: u8) -> Vec<u8> {
    let data = Tlv::constructed(0xA6u32, vec![Tlv::primitive(0x83u32, vec![kid, kvn])])
        .to_bytes()
        .unwrap_or_default();
    let mut out = vec![
        0x80,
        0xCA,
        0xBF,
        0x21,
        u8::try_from(data.len()).unwrap_or(0),
    ];
    out.extend(data);
    out.push(0x00);
    out
}

/// The certificate chain of a GET DATA BF21 answer (the data, without SW):
/// `BF21 { 7F21 ... 7F21 }`, or the certificates without the wrapper.
pub fn parse_certificate_store(data: &[u8]) -> Result<Vec<Certificate>, CertError> {
    let store = flat::objects(data).map_err(|e| CertError::Malformed {
        field: "BF21 certificate store",
        detail: e,
    })?;
    match store.as_slice() {
        [one] if one.tag == 0xBF21 => cert::parse_chain(one.value),
        _ => cert::parse_chain(data),
    }
}

/// The card's answer to GET DATA BF21 for this chain.
pub fn encode_certificate_store<C: AsRef<[u8]>>(chain: impl IntoIterator<Item = C>) -> Vec<u8> {
    let mut inner = Vec::new();
    for c in chain {
        inner.extend_from_slice(c.as_ref());
    }
    let mut out = vec![0xBF, 0x21];
    let _ = gp::tlv::encode_length(inner.len(), &mut out);
    out.extend(inner);
    out
}
