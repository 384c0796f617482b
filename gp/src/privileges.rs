//! Application and Security Domain privileges (GP 2.3.1 section 6.6, table 11-7):
//! up to three bytes, each bit a privilege.

use std::fmt;

/// Privilege names by (byte index, bit mask), in specification order.
const NAMES: [(usize, u8, &str); 20] = [
    (0, 0x80, "SecurityDomain"),
    (0, 0x40, "DAPVerification"),
    (0, 0x20, "DelegatedManagement"),
    (0, 0x10, "CardLock"),
    (0, 0x08, "CardTerminate"),
    (0, 0x04, "CardReset"),
    (0, 0x02, "CVMManagement"),
    (0, 0x01, "MandatedDAPVerification"),
    (1, 0x80, "TrustedPath"),
    (1, 0x40, "AuthorizedManagement"),
    (1, 0x20, "TokenVerification"),
    (1, 0x10, "GlobalDelete"),
    (1, 0x08, "GlobalLock"),
    (1, 0x04, "GlobalRegistry"),
    (1, 0x02, "FinalApplication"),
    (1, 0x01, "GlobalService"),
    (2, 0x80, "ReceiptGeneration"),
    (2, 0x40, "CipheredLoadFileDataBlock"),
    (2, 0x20, "ContactlessActivation"),
    (2, 0x10, "ContactlessSelfActivation"),
];

/// A privilege set, as the three privilege bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Privileges(pub [u8; 3]);

impl Privileges {
    /// From the 1- or 3-byte encoding used in INSTALL and GET STATUS.
    pub fn from_bytes(b: &[u8]) -> Option<Privileges> {
        match b.len() {
            1 => Some(Privileges([b[0], 0, 0])),
            3 => Some(Privileges([b[0], b[1], b[2]])),
            _ => None,
        }
    }

    /// True when a privilege (by name, case-insensitive) is set.
    pub fn has(&self, name: &str) -> bool {
        NAMES
            .iter()
            .any(|(i, m, n)| n.eq_ignore_ascii_case(name) && self.0[*i] & m != 0)
    }

    /// True for a Security Domain.
    pub fn is_security_domain(&self) -> bool {
        self.0[0] & 0x80 != 0
    }

    /// Names of the privileges set.
    pub fn names(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(i, m, _)| self.0[*i] & m != 0)
            .map(|(_, _, n)| *n)
            .collect()
    }

    /// Adds the privilege called `name` (as in [`Privileges::names`]).
    pub fn insert(&mut self, name: &str) -> Result<(), String> {
        let (i, m, _) = NAMES
            .iter()
            .find(|(_, _, n)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "unknown privilege '{name}'; known: {}",
                    NAMES.iter().map(|x| x.2).collect::<Vec<_>>().join(", ")
                )
            })?;
        self.0[*i] |= m;
        Ok(())
    }

    /// With the CardReset privilege: the application is the one selected
    /// by default after a reset.
    pub fn with_default_selected(mut self) -> Privileges {
        self.0[0] |= 0x04;
        self
    }

    /// Parses a comma-separated list of names (as `--privs` takes them), or hex.
    pub fn parse_list(s: &str) -> Result<Privileges, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Privileges::default());
        }
        if s.len().is_multiple_of(2) && s.chars().all(|c| c.is_ascii_hexdigit()) {
            let bytes = hex::decode(s).map_err(|e| e.to_string())?;
            return Privileges::from_bytes(&bytes)
                .ok_or_else(|| format!("privileges '{s}': give 1 or 3 bytes of hex, or names"));
        }
        let mut p = Privileges::default();
        for part in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            p.insert(part)?;
        }
        Ok(p)
    }

    /// The encoding for INSTALL: one byte when bytes 2 and 3 are zero, else three.
    pub fn to_install_bytes(&self) -> Vec<u8> {
        if self.0[1] == 0 && self.0[2] == 0 {
            vec![self.0[0]]
        } else {
            self.0.to_vec()
        }
    }
}

impl fmt::Display for Privileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parsing_round_trip() {
        let p = Privileges::parse_list("SecurityDomain, cardreset,GlobalDelete").unwrap();
        assert_eq!(p.0, [0x84, 0x10, 0]);
        assert_eq!(
            p.names(),
            vec!["SecurityDomain", "CardReset", "GlobalDelete"]
        );
        assert_eq!(p.to_install_bytes(), vec![0x84, 0x10, 0x00]);
        assert_eq!(
            Privileges::parse_list("04").unwrap().to_install_bytes(),
            vec![0x04]
        );
        assert!(Privileges::parse_list("Bogus")
            .unwrap_err()
            .contains("unknown privilege"));
        assert!(Privileges::from_bytes(&[1, 2]).is_none());
        assert!(Privileges([0x80, 0, 0]).is_security_domain());
        assert_eq!(Privileges::default().to_string(), "none");
    }
}
