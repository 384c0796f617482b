//! The negotiated parameters of a session: protocol with its "i"
//! implementation options, and the security level of EXTERNAL AUTHENTICATE.

use core::fmt;

use crate::ScpError;

/// The security level (P1 of EXTERNAL AUTHENTICATE): which protections
/// every later command and response carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// Authentication only, later commands travel in plain.
    pub const NONE: Self = SecurityLevel(0x00);
    /// C-MAC.
    pub const C_MAC: Self = SecurityLevel(0x01);
    /// C-MAC and C-DECRYPTION (command data encrypted).
    pub const C_MAC_C_ENC: Self = SecurityLevel(0x03);
    /// C-MAC and R-MAC.
    pub const C_MAC_R_MAC: Self = SecurityLevel(0x11);
    /// C-MAC, C-DECRYPTION and R-MAC.
    pub const C_MAC_C_ENC_R_MAC: Self = SecurityLevel(0x13);
    /// C-MAC, C-DECRYPTION, R-MAC and R-ENCRYPTION (SCP03 only).
    pub const C_MAC_C_ENC_R_MAC_R_ENC: Self = SecurityLevel(0x33);

    /// Every level GlobalPlatform defines for SCP02/SCP03.
    pub const ALL: [Self; 6] = [
        Self::NONE,
        Self::C_MAC,
        Self::C_MAC_C_ENC,
        Self::C_MAC_R_MAC,
        Self::C_MAC_C_ENC_R_MAC,
        Self::C_MAC_C_ENC_R_MAC_R_ENC,
    ];

    /// The level coded by `byte`, if it is one of the defined combinations
    /// (encryption without MAC, or R-ENC without R-MAC, does not exist).
    pub fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.0 == byte)
    }

    /// The P1 byte.
    pub fn byte(self) -> u8 {
        self.0
    }
    /// Commands carry a C-MAC.
    pub fn c_mac(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Command data is encrypted.
    pub fn c_enc(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// Responses carry an R-MAC.
    pub fn r_mac(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// Response data is encrypted.
    pub fn r_enc(self) -> bool {
        self.0 & 0x20 != 0
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (on, name) in [
            (self.c_mac(), "C-MAC"),
            (self.c_enc(), "C-ENC"),
            (self.r_mac(), "R-MAC"),
            (self.r_enc(), "R-ENC"),
        ] {
            if on {
                parts.push(name);
            }
        }
        if parts.is_empty() {
            parts.push("none");
        }
        write!(f, "{:02X} ({})", self.0, parts.join("+"))
    }
}

impl fmt::Debug for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityLevel({self})")
    }
}

/// A secure channel protocol and its implementation option "i".
///
/// SCP02 "i" bits: 01 three keys (else one base key), 02 C-MAC on the
/// unmodified APDU, 04 explicit initiation, 08 ICV = MAC over AID,
/// 10 ICV encryption, 20 R-MAC support, 40 well-known pseudo-random card
/// challenge. SCP03 "i" bits: 01 S16 mode, 10 pseudo-random card challenge,
/// 20 R-MAC support, 40 R-ENCRYPTION support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// SCP02 (GP Card Specification Appendix E): 3DES.
    Scp02 {
        /// Implementation option, e.g. 0x15 or 0x55.
        i: u8,
    },
    /// SCP03 (GP Amendment D): AES.
    Scp03 {
        /// Implementation option, e.g. 0x00, 0x10, 0x30, 0x70.
        i: u8,
    },
}

impl Protocol {
    /// The algorithm of the protocol's keys: 3DES for SCP02, AES for SCP03.
    pub fn key_type(self) -> crate::keys::KeyType {
        match self {
            Protocol::Scp02 { .. } => crate::keys::KeyType::Des3,
            Protocol::Scp03 { .. } => crate::keys::KeyType::Aes,
        }
    }

    /// The protocol number: 02 or 03.
    pub fn id(self) -> u8 {
        match self {
            Protocol::Scp02 { .. } => 0x02,
            Protocol::Scp03 { .. } => 0x03,
        }
    }

    /// The implementation option "i".
    pub fn i(self) -> u8 {
        match self {
            Protocol::Scp02 { i } | Protocol::Scp03 { i } => i,
        }
    }

    /// Whether the card derives its challenge from the sequence counter
    /// (and the AID) instead of drawing it at random.
    pub fn pseudo_random_challenge(self) -> bool {
        match self {
            Protocol::Scp02 { i } => i & 0x40 != 0,
            Protocol::Scp03 { i } => i & 0x10 != 0,
        }
    }

    /// Whether the session opens implicitly, with the first C-MACed
    /// command (SCP02 "i" bit 04 clear), rather than by INITIALIZE UPDATE.
    pub fn is_implicit(self) -> bool {
        matches!(self, Protocol::Scp02 { i } if i & 0x04 == 0)
    }

    /// Refuses "i" options this implementation does not provide.
    pub(crate) fn check_supported(self) -> Result<(), ScpError> {
        let unsupported = match self {
            Protocol::Scp02 { i } if i & 0x80 != 0 => Some("SCP02 i bit 80 is RFU"),
            Protocol::Scp02 { i } if i & 0x0C == 0x0C => Some(
                "SCP02 ICV as MAC over AID with explicit initiation (explicit sessions chain from \
                 EXTERNAL AUTHENTICATE's zero ICV; bit 08 belongs to implicit initiation)",
            ),
            Protocol::Scp03 { i } if i & 0x8E != 0 => Some("SCP03 RFU i bits"),
            _ => None,
        };
        match unsupported {
            Some(what) => Err(ScpError::Unsupported(format!(
                "{what} (i={:02X})",
                self.i()
            ))),
            None => Ok(()),
        }
    }

    /// Checks that `level` exists for this protocol and that "i" offers it.
    pub(crate) fn check_level(self, level: SecurityLevel) -> Result<(), ScpError> {
        let why = match self {
            Protocol::Scp02 { .. } if level.r_enc() => Some("SCP02 has no R-ENCRYPTION"),
            _ if level.r_mac() && self.i() & 0x20 == 0 => Some("the card's i offers no R-MAC"),
            Protocol::Scp03 { i } if level.r_enc() && i & 0x40 == 0 => {
                Some("the card's i offers no R-ENCRYPTION")
            }
            _ => None,
        };
        match why {
            Some(why) => Err(ScpError::SecurityLevel {
                level,
                scp: self.id(),
                i: self.i(),
                why,
            }),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SCP{:02X} i={:02X}", self.id(), self.i())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(
            SecurityLevel::from_byte(0x33),
            Some(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC)
        );
        assert_eq!(SecurityLevel::from_byte(0x02), None);
        assert_eq!(SecurityLevel::from_byte(0x31), None);
        assert_eq!(
            SecurityLevel::C_MAC_C_ENC_R_MAC.to_string(),
            "13 (C-MAC+C-ENC+R-MAC)"
        );
    }

    #[test]
    fn i_options() {
        let scp02 = Protocol::Scp02 { i: 0x15 };
        assert!(scp02.check_supported().is_ok());
        assert!(scp02.check_level(SecurityLevel::C_MAC_C_ENC).is_ok());
        assert!(scp02.check_level(SecurityLevel::C_MAC_R_MAC).is_err());
        assert!(Protocol::Scp02 { i: 0x35 }
            .check_level(SecurityLevel::C_MAC_R_MAC)
            .is_ok());
        assert!(Protocol::Scp02 { i: 0x75 }
            .check_level(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC)
            .is_err());
        assert!(Protocol::Scp02 { i: 0x0A }.check_supported().is_ok());
        assert!(Protocol::Scp02 { i: 0x1A }.is_implicit());
        assert!(!Protocol::Scp02 { i: 0x15 }.is_implicit());
        assert!(Protocol::Scp02 { i: 0x0D }.check_supported().is_err());
        assert!(Protocol::Scp02 { i: 0x55 }.pseudo_random_challenge());
        let scp03 = Protocol::Scp03 { i: 0x70 };
        assert!(scp03.pseudo_random_challenge());
        assert!(scp03
            .check_level(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC)
            .is_ok());
        assert!(Protocol::Scp03 { i: 0x30 }
            .check_level(SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC)
            .is_err());
        assert!(
            Protocol::Scp03 { i: 0x01 }.check_supported().is_ok(),
            "S16 mode"
        );
    }
}
