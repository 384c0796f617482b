//! GET STATUS data (GP 2.3.1 section 11.4): the card's registry entries, in
//! the tag-E3 format (P2 bit 2) and the legacy format (P2 = 00), parsed by the
//! loader and built by the emulator.

use serde::Serialize;

use crate::lifecycle::{ApplicationLifeCycle, CardLifeCycle};
use crate::privileges::Privileges;
use crate::tlv::Tlv;

/// GET STATUS P1: which part of the registry to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    /// P1 80: the Issuer Security Domain.
    IssuerSecurityDomain,
    /// P1 40: applications, including security domains.
    Applications,
    /// P1 20: executable load files.
    LoadFiles,
    /// P1 10: executable load files and their modules.
    LoadFilesAndModules,
}

impl Scope {
    /// The P1 byte.
    pub fn p1(&self) -> u8 {
        match self {
            Scope::IssuerSecurityDomain => 0x80,
            Scope::Applications => 0x40,
            Scope::LoadFiles => 0x20,
            Scope::LoadFilesAndModules => 0x10,
        }
    }

    /// The scope for a P1 byte.
    pub fn from_p1(p1: u8) -> Option<Scope> {
        Some(match p1 {
            0x80 => Scope::IssuerSecurityDomain,
            0x40 => Scope::Applications,
            0x20 => Scope::LoadFiles,
            0x10 => Scope::LoadFilesAndModules,
            _ => return None,
        })
    }
}

/// One registry entry as GET STATUS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub scope: Scope,
    #[serde(serialize_with = "hex_bytes")]
    pub aid: Vec<u8>,
    pub life_cycle: u8,
    #[serde(serialize_with = "privs")]
    pub privileges: Privileges,
    /// The load file an application was installed from (tag C4).
    #[serde(serialize_with = "opt_hex")]
    pub load_file: Option<Vec<u8>>,
    /// The associated security domain (tag CC).
    #[serde(serialize_with = "opt_hex")]
    pub security_domain: Option<Vec<u8>>,
    /// Load file version (tag CE).
    #[serde(serialize_with = "opt_hex")]
    pub version: Option<Vec<u8>>,
    /// Executable modules of a load file (tag 84, or the legacy module list).
    #[serde(serialize_with = "hex_list")]
    pub modules: Vec<Vec<u8>>,
}

fn hex_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode_upper(v))
}
fn opt_hex<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_some(&hex::encode_upper(b)),
        None => s.serialize_none(),
    }
}
fn hex_list<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(hex::encode_upper))
}
fn privs<S: serde::Serializer>(p: &Privileges, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.names())
}

impl Entry {
    /// A plain entry with no optional fields.
    pub fn new(scope: Scope, aid: Vec<u8>, life_cycle: u8, privileges: Privileges) -> Entry {
        Entry {
            scope,
            aid,
            life_cycle,
            privileges,
            load_file: None,
            security_domain: None,
            version: None,
            modules: Vec::new(),
        }
    }

    /// GPPro-like kind label: ISD, APP, SSD (supplementary SD), PKG.
    pub fn kind_label(&self) -> &'static str {
        match self.scope {
            Scope::IssuerSecurityDomain => "ISD",
            Scope::Applications if self.privileges.is_security_domain() => "SSD",
            Scope::Applications => "APP",
            Scope::LoadFiles | Scope::LoadFilesAndModules => "PKG",
        }
    }

    /// The life cycle in words.
    pub fn life_cycle_words(&self) -> String {
        match self.scope {
            Scope::IssuerSecurityDomain => CardLifeCycle::from_byte(self.life_cycle)
                .map(|c| c.name().to_string())
                .unwrap_or_else(|| format!("{:02X}", self.life_cycle)),
            Scope::Applications => ApplicationLifeCycle(self.life_cycle)
                .describe(self.privileges.is_security_domain(), false),
            _ => ApplicationLifeCycle(self.life_cycle).describe(false, true),
        }
    }
}

/// Why GET STATUS data could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GET STATUS response: {0}")]
pub struct StatusError(pub String);

/// Parses tag-E3 GET STATUS data.
pub fn parse_e3(scope: Scope, data: &[u8]) -> Result<Vec<Entry>, StatusError> {
    let tlvs = Tlv::parse_all(data).map_err(|e| StatusError(e.to_string()))?;
    let mut out = Vec::with_capacity(tlvs.len());
    for (i, t) in tlvs.iter().enumerate() {
        if t.tag().to_bytes() != [0xE3] {
            return Err(StatusError(format!(
                "entry #{i}: tag {} where E3 was expected",
                t.tag()
            )));
        }
        let get = |tag: u32| t.find(tag).and_then(|x| x.bytes()).map(<[u8]>::to_vec);
        let aid = get(0x4F).ok_or_else(|| StatusError(format!("entry #{i}: no AID (tag 4F)")))?;
        let life_cycle = get(0x9F70)
            .and_then(|v| v.first().copied())
            .ok_or_else(|| StatusError(format!("entry #{i}: no life cycle (tag 9F70)")))?;
        let privileges = match get(0xC5) {
            Some(p) => Privileges::from_bytes(&p).ok_or_else(|| {
                StatusError(format!("entry #{i}: privileges of {} bytes", p.len()))
            })?,
            None => Privileges::default(),
        };
        let modules = t
            .children()
            .iter()
            .filter(|c| c.tag().to_bytes() == [0x84])
            .filter_map(|c| c.bytes().map(<[u8]>::to_vec))
            .collect();
        out.push(Entry {
            scope,
            aid,
            life_cycle,
            privileges,
            load_file: get(0xC4),
            security_domain: get(0xCC),
            version: get(0xCE),
            modules,
        });
    }
    Ok(out)
}

/// Builds tag-E3 GET STATUS data.
pub fn encode_e3(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&encode_e3_entry(e));
    }
    out
}

/// One entry in the E3 format.
pub fn encode_e3_entry(e: &Entry) -> Vec<u8> {
    let mut children = vec![
        Tlv::primitive(0x4Fu32, e.aid.clone()),
        Tlv::primitive(0x9F70u32, vec![e.life_cycle]),
    ];
    if matches!(e.scope, Scope::IssuerSecurityDomain | Scope::Applications) {
        children.push(Tlv::primitive(0xC5u32, e.privileges.0.to_vec()));
    }
    if let Some(lf) = &e.load_file {
        children.push(Tlv::primitive(0xC4u32, lf.clone()));
    }
    if let Some(v) = &e.version {
        children.push(Tlv::primitive(0xCEu32, v.clone()));
    }
    for m in &e.modules {
        children.push(Tlv::primitive(0x84u32, m.clone()));
    }
    if let Some(sd) = &e.security_domain {
        children.push(Tlv::primitive(0xCCu32, sd.clone()));
    }
    // AIDs are at most 16 bytes, so the entry is far below any length limit.
    Tlv::constructed(0xE3u32, children)
        .to_bytes()
        .unwrap_or_default()
}

/// Parses legacy (P2 = 00) GET STATUS data.
pub fn parse_legacy(scope: Scope, data: &[u8]) -> Result<Vec<Entry>, StatusError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize, what: &str| -> Result<Vec<u8>, StatusError> {
        let v = data
            .get(*pos..*pos + n)
            .ok_or_else(|| StatusError(format!("truncated {what} at offset {}", *pos)))?
            .to_vec();
        *pos += n;
        Ok(v)
    };
    while pos < data.len() {
        let len = take(&mut pos, 1, "AID length")?[0] as usize;
        let aid = take(&mut pos, len, "AID")?;
        let life_cycle = take(&mut pos, 1, "life cycle")?[0];
        let privileges =
            Privileges::from_bytes(&take(&mut pos, 1, "privileges")?).unwrap_or_default();
        let mut entry = Entry::new(scope, aid, life_cycle, privileges);
        if scope == Scope::LoadFilesAndModules {
            let count = take(&mut pos, 1, "module count")?[0];
            for _ in 0..count {
                let n = take(&mut pos, 1, "module AID length")?[0] as usize;
                entry.modules.push(take(&mut pos, n, "module AID")?);
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// Builds legacy GET STATUS data.
pub fn encode_legacy(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&encode_legacy_entry(e));
    }
    out
}

/// One entry in the legacy format.
pub fn encode_legacy_entry(e: &Entry) -> Vec<u8> {
    // AIDs have at most 16 bytes and a module list comes from one load
    // file's applets (at most 255), so each count fits its byte.
    let byte = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
    let mut out = vec![byte(e.aid.len())];
    out.extend_from_slice(&e.aid);
    out.push(e.life_cycle);
    out.push(e.privileges.0[0]);
    if e.scope == Scope::LoadFilesAndModules {
        out.push(byte(e.modules.len()));
        for m in &e.modules {
            out.push(byte(m.len()));
            out.extend_from_slice(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Entry> {
        let mut app = Entry::new(
            Scope::Applications,
            vec![0xF0, 0, 0, 0, 1, 1, 1],
            0x07,
            Privileges([0, 0, 0]),
        );
        app.load_file = Some(vec![0xF0, 0, 0, 0, 1, 1]);
        app.security_domain = Some(vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0]);
        let sd = Entry::new(
            Scope::Applications,
            vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0],
            0x0F,
            Privileges([0x80, 0, 0]),
        );
        vec![app, sd]
    }

    #[test]
    fn e3_round_trip() {
        let entries = sample();
        let data = encode_e3(&entries);
        assert_eq!(data[0], 0xE3);
        assert_eq!(parse_e3(Scope::Applications, &data).unwrap(), entries);
        assert_eq!(entries[0].kind_label(), "APP");
        assert_eq!(entries[1].kind_label(), "SSD");
        assert_eq!(entries[1].life_cycle_words(), "PERSONALIZED");
    }

    #[test]
    fn legacy_round_trip_with_modules() {
        let mut pkg = Entry::new(
            Scope::LoadFilesAndModules,
            vec![1, 2, 3, 4, 5],
            0x01,
            Privileges::default(),
        );
        pkg.modules = vec![vec![1, 2, 3, 4, 5, 6], vec![1, 2, 3, 4, 5, 7]];
        let data = encode_legacy(std::slice::from_ref(&pkg));
        assert_eq!(
            parse_legacy(Scope::LoadFilesAndModules, &data).unwrap(),
            vec![pkg]
        );
        assert!(parse_legacy(Scope::LoadFilesAndModules, &data[..data.len() - 1]).is_err());
    }

    #[test]
    fn malformed_e3_is_an_error() {
        assert!(parse_e3(Scope::Applications, &[0xE3, 0x03, 0x4F, 0x01, 0x01]).is_err());
        assert!(parse_e3(Scope::Applications, &[0xE2, 0x00]).is_err());
        assert!(parse_e3(Scope::Applications, &[0xE3, 0x09]).is_err());
    }
}
