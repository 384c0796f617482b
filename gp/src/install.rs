//! The data fields of INSTALL and LOAD (GP 2.3.1 sections 11.5 and 11.6), built
//! by the loader and parsed by the emulator's card manager.

use crate::privileges::Privileges;

/// INSTALL P1 values (GP 2.3.1 table 11-42); combinable bits.
pub mod p1 {
    pub const FOR_LOAD: u8 = 0x02;
    pub const FOR_INSTALL: u8 = 0x04;
    pub const FOR_MAKE_SELECTABLE: u8 = 0x08;
    pub const FOR_INSTALL_AND_MAKE_SELECTABLE: u8 = 0x0C;
    pub const FOR_EXTRADITION: u8 = 0x10;
    pub const FOR_PERSONALIZATION: u8 = 0x20;
    pub const FOR_REGISTRY_UPDATE: u8 = 0x40;
    /// "More INSTALL commands follow" bit.
    pub const MORE: u8 = 0x80;
}

/// Why an INSTALL or LOAD data field could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("INSTALL data: {0}")]
pub struct DataError(pub String);

/// Reads length-prefixed fields from a command data field.
struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(data: &'a [u8]) -> Self {
        Fields { data, pos: 0 }
    }

    fn next(&mut self, what: &str) -> Result<&'a [u8], DataError> {
        let len =
            *self.data.get(self.pos).ok_or_else(|| {
                DataError(format!("missing length of {what} at offset {}", self.pos))
            })? as usize;
        let start = self.pos + 1;
        let field = self.data.get(start..start + len).ok_or_else(|| {
            DataError(format!(
                "{what} at offset {} announces {len} byte(s), only {} left",
                self.pos,
                self.data.len() - start.min(self.data.len())
            ))
        })?;
        self.pos = start + len;
        Ok(field)
    }

    fn end(&self) -> Result<(), DataError> {
        if self.pos != self.data.len() {
            return Err(DataError(format!(
                "{} unexpected byte(s) after the last field",
                self.data.len() - self.pos
            )));
        }
        Ok(())
    }
}

fn put(out: &mut Vec<u8>, field: &[u8], what: &str) -> Result<(), DataError> {
    let n = u8::try_from(field.len())
        .map_err(|_| DataError(format!("{what} longer than 255 bytes")))?;
    out.push(n);
    out.extend_from_slice(field);
    Ok(())
}

/// Tags inside the system specific parameters (EF) of INSTALL [for load]
/// (GP 2.3.1 table 11-45, load parameters) and INSTALL [for install]
/// (table 11-49, install parameters).
pub mod system_tag {
    /// The system specific parameters template.
    pub const SYSTEM: u8 = 0xEF;
    /// The applet specific parameters, mandatory in INSTALL [for install].
    pub const APPLET: u8 = 0xC9;
    /// Load: non-volatile code space the load file needs.
    pub const CODE_SPACE: u8 = 0xC6;
    /// Load: volatile data space; install: the instance's volatile memory quota.
    pub const VOLATILE: u8 = 0xC7;
    /// Load: non-volatile data space; install: the non-volatile memory quota.
    pub const NON_VOLATILE: u8 = 0xC8;
    /// Install: SIM file access and toolkit application specific
    /// parameters (ETSI TS 102 226, the UICC configuration of GP).
    pub const TOOLKIT: u8 = 0xCA;
}

/// The system specific parameters (the value of tag EF): memory sizes
/// the card reserves or enforces, and the toolkit parameters. One type
/// for both commands, since the tags are shared: C6 only means something
/// in INSTALL [for load], CA only in INSTALL [for install].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SystemParameters {
    /// C6: non-volatile code space (load).
    pub code_space: Option<u32>,
    /// C7: volatile memory (load: data space; install: quota).
    pub volatile: Option<u32>,
    /// C8: non-volatile memory (load: data space; install: quota).
    pub non_volatile: Option<u32>,
    /// CA: toolkit application specific parameters (install).
    pub toolkit: Option<Vec<u8>>,
    /// Other objects inside EF, encoded as given (`--system-params`):
    /// proprietary tags a card may define, passed through untouched.
    pub other: Vec<u8>,
}

impl SystemParameters {
    /// Whether nothing is set: no EF template is then sent.
    pub fn is_empty(&self) -> bool {
        self.code_space.is_none()
            && self.volatile.is_none()
            && self.non_volatile.is_none()
            && self.toolkit.is_none()
            && self.other.is_empty()
    }

    /// The value of EF: `other` first, then C6, C7, C8 (2 bytes when the
    /// size fits, else 4, as GP allows both) and CA. A tag both in `other`
    /// and set as a field is refused: the card would see it twice.
    pub fn to_value(&self) -> Result<Vec<u8>, DataError> {
        let raw = crate::tlv::Tlv::parse_all(&self.other)
            .map_err(|e| DataError(format!("system specific parameters (EF) given raw: {e}")))?;
        let mut out = self.other.clone();
        let sizes = [
            (
                system_tag::CODE_SPACE,
                self.code_space,
                "C6 (non-volatile code space)",
            ),
            (system_tag::VOLATILE, self.volatile, "C7 (volatile memory)"),
            (
                system_tag::NON_VOLATILE,
                self.non_volatile,
                "C8 (non-volatile memory)",
            ),
        ];
        let given = |tag: u8, what: &str| {
            if raw.iter().any(|t| t.tag().to_bytes() == [tag]) {
                Err(DataError(format!(
                    "{what} is both in the raw system parameters and given as an option"
                )))
            } else {
                Ok(())
            }
        };
        for (tag, size, what) in sizes {
            if let Some(n) = size {
                given(tag, what)?;
                out.push(tag);
                match u16::try_from(n) {
                    Ok(short) => {
                        out.push(2);
                        out.extend_from_slice(&short.to_be_bytes());
                    }
                    Err(_) => {
                        out.push(4);
                        out.extend_from_slice(&n.to_be_bytes());
                    }
                }
            }
        }
        if let Some(toolkit) = &self.toolkit {
            given(system_tag::TOOLKIT, "CA (toolkit parameters)")?;
            let tlv = crate::tlv::Tlv::primitive(crate::tlv::Tag::new(0xCA), toolkit.clone());
            out.extend(
                tlv.to_bytes()
                    .map_err(|e| DataError(format!("toolkit parameters (CA): {e}")))?,
            );
        }
        Ok(out)
    }

    /// The EF template (tag, BER length, value); empty when nothing is set.
    pub fn to_template(&self) -> Result<Vec<u8>, DataError> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        let value = self.to_value()?;
        let mut out = vec![system_tag::SYSTEM];
        crate::tlv::encode_length(value.len(), &mut out)
            .map_err(|e| DataError(format!("system specific parameters (EF): {e}")))?;
        out.extend_from_slice(&value);
        Ok(out)
    }

    /// Parses the value of EF as a card does: well-formed BER-TLV, each
    /// of C6, C7, C8 and CA at most once and primitive, the sizes 2 or 4
    /// bytes; other tags are kept in `other`.
    pub fn parse(value: &[u8]) -> Result<SystemParameters, DataError> {
        let tlvs = crate::tlv::Tlv::parse_all(value)
            .map_err(|e| DataError(format!("system specific parameters (EF): {e}")))?;
        let mut p = SystemParameters::default();
        let mut seen: Vec<u8> = Vec::new();
        for t in &tlvs {
            let tag = t.tag().to_bytes();
            let known = match tag.as_slice() {
                [b @ (0xC6 | 0xC7 | 0xC8 | 0xCA)] => Some(*b),
                _ => None,
            };
            let Some(b) = known else {
                p.other.extend(
                    t.to_bytes()
                        .map_err(|e| DataError(format!("system specific parameters (EF): {e}")))?,
                );
                continue;
            };
            if seen.contains(&b) {
                return Err(DataError(format!(
                    "system specific parameters (EF): tag {b:02X} appears twice"
                )));
            }
            seen.push(b);
            let bytes = t.bytes().ok_or_else(|| {
                DataError(format!(
                    "system specific parameters (EF): tag {b:02X} must be primitive"
                ))
            })?;
            if b == system_tag::TOOLKIT {
                p.toolkit = Some(bytes.to_vec());
                continue;
            }
            let n = match bytes {
                [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
                [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
                _ => {
                    return Err(DataError(format!(
                        "system specific parameters (EF): tag {b:02X} has {} byte(s); a memory size has 2 or 4",
                        bytes.len()
                    )))
                }
            };
            match b {
                system_tag::CODE_SPACE => p.code_space = Some(n),
                system_tag::VOLATILE => p.volatile = Some(n),
                _ => p.non_volatile = Some(n),
            }
        }
        Ok(p)
    }

    /// The system parameters of a parameters field (load or install
    /// parameters: a sequence of TLVs); `None` without tag EF.
    pub fn of_field(field: &[u8]) -> Result<Option<SystemParameters>, DataError> {
        if field.is_empty() {
            return Ok(None);
        }
        let tlvs = crate::tlv::Tlv::parse_all(field)
            .map_err(|e| DataError(format!("parameters field: {e}")))?;
        let mut efs = tlvs
            .iter()
            .filter(|t| t.tag().to_bytes() == [system_tag::SYSTEM]);
        let Some(ef) = efs.next() else {
            return Ok(None);
        };
        if efs.next().is_some() {
            return Err(DataError(
                "parameters field: tag EF (system specific parameters) appears twice".into(),
            ));
        }
        let value = ef
            .value_bytes()
            .map_err(|e| DataError(format!("system specific parameters (EF): {e}")))?;
        SystemParameters::parse(&value).map(Some)
    }
}

/// INSTALL [for load] data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallForLoad {
    pub load_file_aid: Vec<u8>,
    /// Security Domain to associate the load file with; empty = the ISD.
    pub security_domain_aid: Vec<u8>,
    /// Load File Data Block hash; empty when none is given.
    pub hash: Vec<u8>,
    /// Load parameters (tag EF ...); empty when none.
    pub parameters: Vec<u8>,
    /// Delegated management token; empty when none.
    pub token: Vec<u8>,
}

impl InstallForLoad {
    /// The command data field.
    pub fn to_data(&self) -> Result<Vec<u8>, DataError> {
        let mut d = Vec::new();
        put(&mut d, &self.load_file_aid, "load file AID")?;
        put(&mut d, &self.security_domain_aid, "security domain AID")?;
        put(&mut d, &self.hash, "load file data block hash")?;
        put(&mut d, &self.parameters, "load parameters")?;
        put(&mut d, &self.token, "load token")?;
        Ok(d)
    }

    /// Parses the command data field.
    pub fn parse(data: &[u8]) -> Result<InstallForLoad, DataError> {
        let mut f = Fields::new(data);
        let v = InstallForLoad {
            load_file_aid: f.next("load file AID")?.to_vec(),
            security_domain_aid: f.next("security domain AID")?.to_vec(),
            hash: f.next("load file data block hash")?.to_vec(),
            parameters: f.next("load parameters")?.to_vec(),
            token: f.next("load token")?.to_vec(),
        };
        f.end()?;
        Ok(v)
    }
}

/// INSTALL [for install], [for make selectable] or both: the same field list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallForInstall {
    /// Executable Load File AID (empty for make selectable alone).
    pub load_file_aid: Vec<u8>,
    /// Executable Module (applet class) AID (empty for make selectable alone).
    pub module_aid: Vec<u8>,
    /// The new instance's AID.
    pub application_aid: Vec<u8>,
    pub privileges: Privileges,
    /// Install parameters as sent: the C9 TLV (and any others, e.g. EF).
    pub parameters: Vec<u8>,
    pub token: Vec<u8>,
}

impl InstallForInstall {
    /// Wraps applet-specific parameters in the mandatory C9 tag.
    pub fn applet_parameters(params: &[u8]) -> Result<Vec<u8>, DataError> {
        let mut v = vec![0xC9];
        put(&mut v, params, "applet parameters")?;
        Ok(v)
    }

    /// The install parameters field: C9 with the applet specific
    /// parameters (always, C9 00 for none: GP makes it mandatory), then
    /// the EF template when `system` sets anything.
    pub fn install_parameters(
        applet: &[u8],
        system: &SystemParameters,
    ) -> Result<Vec<u8>, DataError> {
        let mut v = vec![0xC9];
        let mut len = Vec::new();
        crate::tlv::encode_length(applet.len(), &mut len)
            .map_err(|e| DataError(format!("applet parameters (C9): {e}")))?;
        v.extend(len);
        v.extend_from_slice(applet);
        v.extend(system.to_template()?);
        Ok(v)
    }

    /// The applet-specific parameters inside tag C9, if present.
    pub fn c9_parameters(&self) -> Option<&[u8]> {
        let p = &self.parameters;
        let mut i = 0;
        while i + 2 <= p.len() {
            let (tag, len) = (p[i], p[i + 1] as usize);
            let body = p.get(i + 2..i + 2 + len)?;
            if tag == 0xC9 {
                return Some(body);
            }
            i += 2 + len;
        }
        None
    }

    /// The command data field.
    pub fn to_data(&self) -> Result<Vec<u8>, DataError> {
        let mut d = Vec::new();
        put(&mut d, &self.load_file_aid, "load file AID")?;
        put(&mut d, &self.module_aid, "module AID")?;
        put(&mut d, &self.application_aid, "application AID")?;
        put(&mut d, &self.privileges.to_install_bytes(), "privileges")?;
        put(&mut d, &self.parameters, "install parameters")?;
        put(&mut d, &self.token, "install token")?;
        Ok(d)
    }

    /// Parses the command data field.
    pub fn parse(data: &[u8]) -> Result<InstallForInstall, DataError> {
        let mut f = Fields::new(data);
        let load_file_aid = f.next("load file AID")?.to_vec();
        let module_aid = f.next("module AID")?.to_vec();
        let application_aid = f.next("application AID")?.to_vec();
        let privs = f.next("privileges")?;
        let privileges = Privileges::from_bytes(privs).ok_or_else(|| {
            DataError(format!(
                "privileges field has {} bytes; 1 or 3 expected",
                privs.len()
            ))
        })?;
        let v = InstallForInstall {
            load_file_aid,
            module_aid,
            application_aid,
            privileges,
            parameters: f.next("install parameters")?.to_vec(),
            token: f.next("install token")?.to_vec(),
        };
        f.end()?;
        Ok(v)
    }
}

/// INSTALL [for personalization] (GP 2.3.1 11.5.2.3.5): names the
/// application that the following STORE DATA commands go to, through its
/// security domain. The load file, module, privileges, parameters and
/// token fields are present and empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallForPersonalization {
    pub application_aid: Vec<u8>,
}

impl InstallForPersonalization {
    /// The command data field: `00 00 len AID 00 00 00`.
    pub fn to_data(&self) -> Result<Vec<u8>, DataError> {
        let mut d = vec![0x00, 0x00];
        put(&mut d, &self.application_aid, "application AID")?;
        d.extend_from_slice(&[0x00, 0x00, 0x00]);
        Ok(d)
    }

    /// Parses the command data field; the fields that must be empty are
    /// refused when they are not, naming the field.
    pub fn parse(data: &[u8]) -> Result<InstallForPersonalization, DataError> {
        let mut f = Fields::new(data);
        let empty = |field: &[u8], what: &str| {
            if field.is_empty() {
                Ok(())
            } else {
                Err(DataError(format!(
                    "INSTALL [for personalization] takes an empty {what}, got {} byte(s)",
                    field.len()
                )))
            }
        };
        empty(f.next("load file AID")?, "load file AID")?;
        empty(f.next("module AID")?, "module AID")?;
        let application_aid = f.next("application AID")?.to_vec();
        empty(f.next("privileges")?, "privileges field")?;
        empty(f.next("install parameters")?, "install parameters field")?;
        empty(f.next("install token")?, "install token")?;
        f.end()?;
        Ok(InstallForPersonalization { application_aid })
    }
}

/// The Load File Data Block split into LOAD command data fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBlocks {
    pub blocks: Vec<Vec<u8>>,
}

impl LoadBlocks {
    /// Splits `c4_block` (the load file wrapped in tag C4, with the DAP blocks
    /// before it if any) into blocks of at most `block_size` bytes; at most 256
    /// blocks fit the one-byte block number.
    pub fn split(c4_block: &[u8], block_size: usize) -> Result<LoadBlocks, DataError> {
        if block_size == 0 {
            return Err(DataError("LOAD block size must be at least 1".into()));
        }
        let blocks: Vec<Vec<u8>> = c4_block.chunks(block_size).map(<[u8]>::to_vec).collect();
        if blocks.len() > 256 {
            return Err(DataError(format!(
                "{} bytes need {} LOAD blocks of {block_size} bytes; the block number allows 256 — use a larger block size",
                c4_block.len(),
                blocks.len()
            )));
        }
        Ok(LoadBlocks { blocks })
    }

    /// `(P1, P2)` of block `i`: P1 80 marks the last block, P2 the block number.
    pub fn p1p2(&self, i: usize) -> (u8, u8) {
        let last = i + 1 == self.blocks.len();
        // `split` makes at most 256 blocks, so every index fits the byte.
        let number = u8::try_from(i).unwrap_or(u8::MAX);
        (if last { 0x80 } else { 0x00 }, number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_for_personalization_round_trips_and_checks_empty_fields() {
        let v = InstallForPersonalization {
            application_aid: vec![0xF0, 0, 0, 0, 1, 0xA5, 1],
        };
        let d = v.to_data().unwrap();
        assert_eq!(hex::encode_upper(&d), "000007F000000001A501000000");
        assert_eq!(InstallForPersonalization::parse(&d).unwrap(), v);
        let err =
            InstallForPersonalization::parse(&hex::decode("000007F000000001A501010000").unwrap())
                .unwrap_err();
        assert!(err.0.contains("privileges"), "{err}");
        assert!(InstallForPersonalization::parse(&hex::decode("0000").unwrap()).is_err());
    }

    #[test]
    fn install_for_load_round_trip() {
        let v = InstallForLoad {
            load_file_aid: vec![0xF0, 0, 0, 0, 1, 1],
            security_domain_aid: vec![0xA0, 0, 0, 1, 0x51, 0, 0, 0],
            hash: vec![0xAB; 20],
            ..Default::default()
        };
        let d = v.to_data().unwrap();
        assert_eq!(&d[..7], &[6, 0xF0, 0, 0, 0, 1, 1]);
        assert_eq!(InstallForLoad::parse(&d).unwrap(), v);
        assert!(InstallForLoad::parse(&d[..d.len() - 1]).is_err());
        let mut extra = d.clone();
        extra.push(0);
        assert!(InstallForLoad::parse(&extra)
            .unwrap_err()
            .0
            .contains("unexpected"));
    }

    #[test]
    fn install_for_install_round_trip_and_c9() {
        let v = InstallForInstall {
            load_file_aid: vec![1, 2, 3, 4, 5],
            module_aid: vec![1, 2, 3, 4, 5, 6],
            application_aid: vec![1, 2, 3, 4, 5, 6],
            privileges: Privileges([0x04, 0, 0]),
            parameters: InstallForInstall::applet_parameters(&[0xCA, 0xFE]).unwrap(),
            token: vec![],
        };
        let d = v.to_data().unwrap();
        let p = InstallForInstall::parse(&d).unwrap();
        assert_eq!(p, v);
        assert_eq!(p.c9_parameters(), Some(&[0xCA, 0xFE][..]));
        // Privileges of two bytes are invalid.
        let bad = [0, 0, 5, 1, 2, 3, 4, 5, 2, 0, 0, 0, 0];
        assert!(InstallForInstall::parse(&bad)
            .unwrap_err()
            .0
            .contains("privileges"));
    }

    #[test]
    fn system_parameters_encode_and_parse_back() {
        let p = SystemParameters {
            volatile: Some(0x100),
            non_volatile: Some(0x12345),
            toolkit: Some(vec![0x01, 0x02]),
            ..Default::default()
        };
        let field = InstallForInstall::install_parameters(&[0xAA], &p).unwrap();
        assert_eq!(
            hex::encode_upper(&field),
            "C901AAEF0EC7020100C80400012345CA020102"
        );
        assert_eq!(SystemParameters::of_field(&field).unwrap(), Some(p));
        assert_eq!(
            SystemParameters::of_field(&hex::decode("C900").unwrap()).unwrap(),
            None
        );
        // A size of 3 bytes, a tag twice, a truncated value: refused.
        for bad in [
            "C900EF05C703000100",
            "C900EF08C7020001C7020001",
            "C900EF05C7020001",
        ] {
            let field = hex::decode(bad).unwrap();
            assert!(SystemParameters::of_field(&field).is_err(), "{bad}");
        }
        // A raw tag given again as an option is refused, other raw tags kept.
        let twice = SystemParameters {
            volatile: Some(1),
            other: vec![0xC7, 0x02, 0, 1],
            ..Default::default()
        };
        assert!(twice.to_value().unwrap_err().0.contains("C7"));
        let kept = SystemParameters {
            code_space: Some(0x400),
            other: vec![0xD7, 0x02, 0, 1],
            ..Default::default()
        };
        let t = kept.to_template().unwrap();
        assert_eq!(hex::encode_upper(&t), "EF08D7020001C6020400");
        assert_eq!(SystemParameters::parse(&t[2..]).unwrap(), kept);
        assert!(SystemParameters::default()
            .to_template()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn load_blocks_number_and_flag_last() {
        let data = vec![0u8; 600];
        let b = LoadBlocks::split(&data, 250).unwrap();
        assert_eq!(b.blocks.len(), 3);
        assert_eq!(b.blocks[2].len(), 100);
        assert_eq!(b.p1p2(0), (0x00, 0));
        assert_eq!(b.p1p2(2), (0x80, 2));
        assert!(LoadBlocks::split(&vec![0; 300], 1).is_err());
        assert!(LoadBlocks::split(&data, 0).is_err());
    }
}
