//! Decoding what `jct info` shows: card recognition data (GET DATA 66) and the
//! key information template (GET DATA E0), per GP 2.3.1 appendix H and 11.3.3.

use serde::Serialize;

use crate::tlv::Tlv;

/// Dotted form of a BER-encoded OBJECT IDENTIFIER value.
pub fn oid_to_string(v: &[u8]) -> Option<String> {
    let (first, rest) = v.split_first()?;
    let mut parts = vec![u64::from(first / 40).min(2), 0];
    parts[1] = u64::from(*first) - parts[0] * 40;
    let mut acc: u64 = 0;
    for b in rest {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    if rest.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// GlobalPlatform's OID arc, 1.2.840.114283.
const GP_ARC: &str = "1.2.840.114283";

/// Card recognition data, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CardRecognition {
    /// GlobalPlatform version, e.g. `2.3.1`.
    pub gp_version: Option<String>,
    /// Secure channel protocol and its i, e.g. `(3, 0x70)`.
    pub scp: Vec<(u8, u8)>,
    /// Card identification scheme OID.
    pub card_id_scheme: Option<String>,
    /// Card configuration details OIDs (tag 65), card/chip details (tag 66).
    pub config_details: Vec<String>,
    pub chip_details: Vec<String>,
}

/// Decodes the value of GET DATA 66 (with or without the outer 66 tag).
pub fn decode_card_recognition(data: &[u8]) -> Result<CardRecognition, String> {
    let top = Tlv::parse_all(data).map_err(|e| format!("card recognition data: {e}"))?;
    let inner: Vec<Tlv> = match top.first() {
        Some(t) if t.tag().to_bytes() == [0x66] => t.children().to_vec(),
        _ => top,
    };
    let body = inner
        .iter()
        .find(|t| t.tag().to_bytes() == [0x73])
        .ok_or("card recognition data: no tag 73")?;
    let mut out = CardRecognition::default();
    let oids_of = |t: &Tlv| -> Vec<String> {
        t.children()
            .iter()
            .filter(|c| c.tag().to_bytes() == [0x06])
            .filter_map(|c| c.bytes().and_then(oid_to_string))
            .collect()
    };
    for t in body.children() {
        let oids = oids_of(t);
        match t.tag().to_bytes().as_slice() {
            [0x60] => {
                out.gp_version = oids
                    .first()
                    .and_then(|o| o.strip_prefix(&format!("{GP_ARC}.2.")))
                    .map(str::to_string)
            }
            [0x63] => out.card_id_scheme = oids.first().cloned(),
            [0x64] => {
                for o in &oids {
                    let parts: Vec<&str> = o
                        .strip_prefix(&format!("{GP_ARC}.4."))
                        .unwrap_or("")
                        .split('.')
                        .collect();
                    if let [scp, i] = parts.as_slice() {
                        if let (Ok(scp), Ok(i)) = (scp.parse(), i.parse()) {
                            out.scp.push((scp, i));
                        }
                    }
                }
            }
            [0x65] => out.config_details = oids,
            [0x66] => out.chip_details = oids,
            _ => {}
        }
    }
    Ok(out)
}

/// `{iso(1) org(3) dod(6) internet(1) private(4) enterprise(1) sun(42) 2 110 1}`:
/// the Java Card platform arc of the card/chip details, its next arc the
/// platform's major version.
const JAVA_CARD_ARC: &str = "1.3.6.1.4.1.42.2.110.1";

impl CardRecognition {
    /// The Java Card major version the card/chip details (tag 66) or the
    /// configuration details (tag 65) state, e.g. 3 for
    /// `1.3.6.1.4.1.42.2.110.1.3`. Cards state only the major version.
    pub fn java_card_major(&self) -> Option<u8> {
        self.chip_details
            .iter()
            .chain(&self.config_details)
            .find_map(|o| {
                o.strip_prefix(JAVA_CARD_ARC)?
                    .strip_prefix('.')?
                    .split('.')
                    .next()?
                    .parse()
                    .ok()
            })
    }
}

/// Extended card resources information (GET DATA FF21, ETSI TS 102 226
/// and GP Amendment C): what is left on the card. Each field is absent
/// when the card leaves its tag out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CardResources {
    /// Number of installed applications (tag 81).
    pub installed_applications: Option<u64>,
    /// Free non-volatile memory in bytes (tag 82).
    pub free_non_volatile: Option<u64>,
    /// Free volatile memory in bytes (tag 83).
    pub free_volatile: Option<u64>,
}

/// Decodes the value of GET DATA FF21 (with or without the outer FF21 tag).
pub fn decode_card_resources(data: &[u8]) -> Result<CardResources, String> {
    let top = Tlv::parse_all(data).map_err(|e| format!("extended card resources: {e}"))?;
    let inner: Vec<Tlv> = match top.first() {
        Some(t) if t.tag().to_bytes() == [0xFF, 0x21] => t.children().to_vec(),
        _ => top,
    };
    let number = |tag: u8| -> Result<Option<u64>, String> {
        let Some(t) = inner.iter().find(|t| t.tag().to_bytes() == [tag]) else {
            return Ok(None);
        };
        let v = t.bytes().unwrap_or_default();
        if v.is_empty() || v.len() > 8 {
            return Err(format!(
                "extended card resources: tag {tag:02X} of {} bytes (1 to 8 expected)",
                v.len()
            ));
        }
        Ok(Some(
            v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        ))
    };
    Ok(CardResources {
        installed_applications: number(0x81)?,
        free_non_volatile: number(0x82)?,
        free_volatile: number(0x83)?,
    })
}

/// Encodes extended card resources information as FF21 (the emulator's
/// answer): the number of applications in 2 bytes, memory sizes in 4
/// (saturated), as cards commonly answer.
pub fn encode_card_resources(
    installed: u64,
    free_non_volatile: u64,
    free_volatile: u64,
) -> Vec<u8> {
    let two = u16::try_from(installed).unwrap_or(u16::MAX).to_be_bytes();
    let four = |n: u64| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes().to_vec();
    Tlv::constructed(
        0xFF21u32,
        vec![
            Tlv::primitive(0x81u32, two.to_vec()),
            Tlv::primitive(0x82u32, four(free_non_volatile)),
            Tlv::primitive(0x83u32, four(free_volatile)),
        ],
    )
    .to_bytes()
    .unwrap_or_default()
}

/// One key of the key information template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: u8,
    pub version: u8,
    /// `(key type, key length)` pairs: 80 DES, 88 AES, A1 RSA public e ...
    pub components: Vec<(u8, u16)>,
}

impl KeyInfo {
    /// Key type name in words.
    pub fn type_name(t: u8) -> &'static str {
        match t {
            0x80 => "DES",
            0x81 => "reserved (triple DES)",
            0x82 => "DES-CBC",
            0x83 => "DES-ECB",
            0x88 => "AES",
            0xA0 => "RSA public exponent e",
            0xA1 => "RSA public modulus N",
            0xB0 => "ECC public key",
            0xFF => "extended",
            _ => "other",
        }
    }
}

/// Decodes the key information template (E0 with C0 entries); both the basic
/// (type, length byte pairs) and the extended (FF type, 2-byte lengths) forms.
pub fn decode_key_info(data: &[u8]) -> Result<Vec<KeyInfo>, String> {
    let top = Tlv::parse_all(data).map_err(|e| format!("key information template: {e}"))?;
    let entries: Vec<Tlv> = match top.first() {
        Some(t) if t.tag().to_bytes() == [0xE0] => t.children().to_vec(),
        _ => top,
    };
    let mut keys = Vec::new();
    for e in entries.iter().filter(|t| t.tag().to_bytes() == [0xC0]) {
        let v = e.bytes().unwrap_or_default();
        if v.len() < 4 {
            return Err(format!("key information entry of {} bytes", v.len()));
        }
        let mut components = Vec::new();
        let mut i = 2;
        while i + 1 < v.len() {
            if v[i] == 0xFF {
                // Extended format: FF type, 2-byte length, then usage and access fields.
                if i + 4 > v.len() {
                    break;
                }
                components.push((v[i + 1], u16::from_be_bytes([v[i + 2], v[i + 3]])));
                break;
            }
            components.push((v[i], u16::from(v[i + 1])));
            i += 2;
        }
        keys.push(KeyInfo {
            id: v[0],
            version: v[1],
            components,
        });
    }
    Ok(keys)
}

/// Builds a key information template (the emulator's answer to GET DATA E0).
pub fn encode_key_info(keys: &[KeyInfo]) -> Vec<u8> {
    let entries = keys
        .iter()
        .map(|k| {
            let mut v = vec![k.id, k.version];
            for (t, len) in &k.components {
                v.push(*t);
                v.push((*len).min(255) as u8);
            }
            Tlv::primitive(0xC0u32, v)
        })
        .collect();
    Tlv::constructed(0xE0u32, entries)
        .to_bytes()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_decode() {
        assert_eq!(
            oid_to_string(&hex::decode("2A864886FC6B01").unwrap()).unwrap(),
            "1.2.840.114283.1"
        );
        assert_eq!(oid_to_string(&[0x2A, 0x86]), None);
    }

    #[test]
    fn card_recognition_data() {
        // GP 2.3.1, SCP03 i=70, as a typical card answers.
        let hex_data = "664C734A06072A864886FC6B01600C060A2A864886FC6B02020301630906072A864886FC6B03640B06092A864886FC6B040370650B06092A864886FC6B020201660C060A2B060104012A026E0103";
        let r = decode_card_recognition(&hex::decode(hex_data).unwrap()).unwrap();
        assert_eq!(r.gp_version.as_deref(), Some("2.3.1"));
        assert_eq!(r.scp, vec![(3, 0x70)]);
        assert!(decode_card_recognition(&[0x66, 0x02, 0x01, 0x00]).is_err());
    }

    #[test]
    fn java_card_major_from_chip_details() {
        let hex_data = "664C734A06072A864886FC6B01600C060A2A864886FC6B02020301630906072A864886FC6B03640B06092A864886FC6B040370650B06092A864886FC6B020201660C060A2B060104012A026E0103";
        let r = decode_card_recognition(&hex::decode(hex_data).unwrap()).unwrap();
        assert_eq!(r.java_card_major(), Some(3));
        let none = CardRecognition::default();
        assert_eq!(none.java_card_major(), None);
        let other = CardRecognition {
            chip_details: vec!["1.3.6.1.4.1.42.2.110.10".into()],
            ..CardRecognition::default()
        };
        assert_eq!(other.java_card_major(), None, "another arc, not 110.1");
    }

    #[test]
    fn card_resources_round_trip_and_errors() {
        let data = encode_card_resources(3, 70_000, 1_200);
        assert_eq!(
            hex::encode_upper(&data),
            "FF2110810200038204000111708304000004B0"
        );
        let r = decode_card_resources(&data).unwrap();
        assert_eq!(r.installed_applications, Some(3));
        assert_eq!(r.free_non_volatile, Some(70_000));
        assert_eq!(r.free_volatile, Some(1_200));
        // Bare contents, one-byte values, tags left out.
        let r = decode_card_resources(&hex::decode("810105").unwrap()).unwrap();
        assert_eq!(
            (r.installed_applications, r.free_non_volatile),
            (Some(5), None)
        );
        assert!(decode_card_resources(&hex::decode("8200").unwrap()).is_err());
        assert!(decode_card_resources(&hex::decode("FF2105").unwrap()).is_err());
    }

    #[test]
    fn key_info_round_trip() {
        let keys = vec![
            KeyInfo {
                id: 1,
                version: 0x30,
                components: vec![(0x88, 16)],
            },
            KeyInfo {
                id: 2,
                version: 0x30,
                components: vec![(0x88, 16)],
            },
        ];
        let data = encode_key_info(&keys);
        assert_eq!(decode_key_info(&data).unwrap(), keys);
        assert_eq!(KeyInfo::type_name(0x88), "AES");
    }
}
