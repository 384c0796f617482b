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
