//! What a card tells about itself before authentication (`jct info`): CPLC,
//! IIN, CIN, card recognition data, key information and the maximum command
//! size, read with GET DATA, with their text and JSON renderings.

use std::fmt::Write as _;

use gp::cardinfo::{self, CardRecognition, KeyInfo};
use gp::cplc::{self, CplcField};
use serde::Serialize;

use crate::client::{GpClient, GpError};

/// The card's self-description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardInfo {
    /// The security domain that answered, hex.
    pub security_domain: String,
    pub cplc: Option<Vec<CplcField>>,
    /// Issuer identification number, hex.
    pub iin: Option<String>,
    /// Card image number, hex.
    pub cin: Option<String>,
    pub card_recognition: Option<CardRecognition>,
    pub keys: Option<Vec<KeyInfo>>,
    /// Largest command data field the card takes.
    pub max_command_data: usize,
}

impl CardInfo {
    /// Reads it from the selected security domain `sd` (no secure channel
    /// needed).
    pub fn read(client: &mut GpClient, sd: &[u8]) -> Result<CardInfo, GpError> {
        let malformed = |what: &str, e: String| GpError::Protocol(format!("{what}: {e}"));
        let cplc = client
            .get_data(0x9F7F)?
            .map(|d| cplc::decode(&d))
            .transpose()
            .map_err(|e| malformed("CPLC", e))?;
        let iin = client.get_data(0x0042)?.map(|d| tlv_value(0x42, d));
        let cin = client.get_data(0x0045)?.map(|d| tlv_value(0x45, d));
        let card_recognition = client
            .get_data(0x0066)?
            .map(|d| cardinfo::decode_card_recognition(&d))
            .transpose()
            .map_err(|e| malformed("card recognition data", e))?;
        let keys = client
            .get_data(0x00E0)?
            .map(|d| cardinfo::decode_key_info(&d))
            .transpose()
            .map_err(|e| malformed("key information", e))?;
        Ok(CardInfo {
            security_domain: hex::encode_upper(sd),
            cplc,
            iin: iin.map(hex::encode_upper),
            cin: cin.map(hex::encode_upper),
            card_recognition,
            keys,
            max_command_data: client.max_command_data(),
        })
    }

    /// The text rendering of `jct info`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Security domain: {}", self.security_domain);
        if let Some(iin) = &self.iin {
            let _ = writeln!(out, "IIN:             {iin}");
        }
        if let Some(cin) = &self.cin {
            let _ = writeln!(out, "CIN:             {cin}");
        }
        if let Some(r) = &self.card_recognition {
            let _ = writeln!(out, "Card recognition data:");
            if let Some(v) = &r.gp_version {
                let _ = writeln!(out, "  GlobalPlatform {v}");
            }
            for (p, i) in &r.scp {
                let _ = writeln!(out, "  SCP{p:02X} i={i:02X}");
            }
        }
        if let Some(keys) = &self.keys {
            let _ = writeln!(out, "Key information:");
            for k in keys {
                let comps: Vec<String> = k
                    .components
                    .iter()
                    .map(|(t, l)| format!("{} ({:02X}) {l} bytes", KeyInfo::type_name(*t), t))
                    .collect();
                let _ = writeln!(
                    out,
                    "  key id {:02X} version {:02X}: {}",
                    k.id,
                    k.version,
                    comps.join(", ")
                );
            }
        }
        let _ = writeln!(out, "Max command data: {} bytes", self.max_command_data);
        if let Some(f) = &self.cplc {
            let _ = writeln!(out, "CPLC:");
            out.push_str(&cplc::render(f));
        }
        out
    }
}

/// The value of a one-byte-tag data object: cards answer GET DATA with the
/// whole TLV (e.g. `42 03 ...`); a bare value is returned as is.
fn tlv_value(tag: u8, data: Vec<u8>) -> Vec<u8> {
    match gp::tlv::Tlv::parse(&data) {
        Ok(t) if t.tag().to_bytes() == [tag] => t.bytes().map(<[u8]>::to_vec).unwrap_or(data),
        _ => data,
    }
}
