//! What kind of card to emulate: the settings fixed when a card is made
//! (its ISD, secure channel options, API version, limits) and the keys it
//! leaves the factory with. A card's state file keeps its profile, so a
//! card stays the same card across restarts whatever the command line says.

use cap_tools::api::ApiVersion;
use scp::keys::{Key, KeyError, StaticKeys};
use serde::{Deserialize, Serialize};

use crate::hexser;
pub use crate::natives::crypto::support::{AlgClass, Algorithms};

/// The AID GlobalPlatform assigns to the Issuer Security Domain.
pub const DEFAULT_ISD_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

/// The well-known development key 404142…4F.
pub const TEST_KEY: [u8; 16] = [
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
];

/// Key version number of the factory key set. GlobalPlatform test cards
/// answer INITIALIZE UPDATE with KVN 01 (for instance the SCP02 card of
/// the known-answer vectors, `…0102…`); hosts that ask for KVN 0 ("any")
/// get it too.
pub const DEFAULT_KEY_VERSION: u8 = 0x01;

/// Settings of an emulated card, fixed at creation and kept in its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardProfile {
    /// AID of the Issuer Security Domain (the card manager).
    #[serde(with = "hexser")]
    pub isd_aid: Vec<u8>,
    /// SCP02 implementation option used with 3DES key sets (15 or 55).
    pub scp02_i: u8,
    /// SCP03 implementation option used with AES key sets (00, 10, 70...).
    pub scp03_i: u8,
    /// Java Card API version whose packages the card carries in ROM:
    /// imports of loaded files resolve against its export tables.
    pub api: String,
    /// Failed authentications after which a key set is blocked (6983);
    /// 0 never blocks.
    pub max_auth_failures: u32,
    /// Bytes of persistent memory for load files; a LOAD beyond it fails
    /// with 6A84.
    pub memory: usize,
    /// The lowest security level (P1 of EXTERNAL AUTHENTICATE) at which the
    /// ISD accepts card content management: INSTALL, LOAD, PUT KEY,
    /// DELETE, SET STATUS and STORE DATA answer 6982 in a session below it.
    /// Default 01 (C-MAC): an authenticated but unprotected session must
    /// not change the card, since any party on the line could alter its
    /// commands. GET STATUS and GET DATA only read, and stay open at any
    /// level. Cards made before this setting existed get the default.
    #[serde(default = "default_min_level")]
    pub min_level: u8,
    /// Bytes of persistent memory for the applets' objects (the heap);
    /// an allocation beyond it throws SystemException.NO_RESOURCE.
    #[serde(default = "default_heap_memory")]
    pub heap_memory: usize,
    /// Bytes of RAM for transient arrays (CLEAR_ON_RESET and
    /// CLEAR_ON_DESELECT share it).
    #[serde(default = "default_transient_memory")]
    pub transient_memory: usize,
    /// Bytes of the transaction commit buffer
    /// (JCSystem.getMaxCommitCapacity); TransactionException.BUFFER_FULL beyond.
    #[serde(default = "default_commit_capacity")]
    pub commit_capacity: usize,
    /// Bytecodes an applet may execute per APDU before the card goes mute
    /// (a watchdog, so a looping applet cannot hang the emulator).
    #[serde(default = "default_instruction_budget")]
    pub instruction_budget: u64,
    /// Nested method frames.
    #[serde(default = "default_max_frames")]
    pub max_frames: usize,
    /// Words of the Java stack (locals and operands of all frames).
    #[serde(default = "default_max_stack_words")]
    pub max_stack_words: usize,
    /// Logical channels the card offers (ISO/IEC 7816-4 5.4.1): 1 (the
    /// basic channel only: MANAGE CHANNEL answers 6881) to 20. Default 4
    /// (channels 0 to 3, the first interindustry CLA coding).
    #[serde(default = "default_logical_channels")]
    pub logical_channels: u8,
    /// Transmission protocol the card runs: 1 (T=1, default) or 0 (T=0:
    /// case 4 responses come as 61xx and GET RESPONSE, a wrong Le as 6Cxx,
    /// no extended length). APDU.getProtocol reports it.
    #[serde(default = "default_protocol")]
    pub protocol: u8,
    /// The algorithms the card has, by API constant name (Cipher,
    /// Signature, KeyBuilder types and lengths...); getInstance of
    /// another throws NO_SUCH_ALGORITHM. Default: a modern card's set,
    /// everything the emulator implements ([`Algorithms::modern`]).
    #[serde(default)]
    pub algorithms: Algorithms,
    /// Issuer Identification Number (GET DATA 42): what a personalization
    /// system tells card types apart by. Default "jct" in ASCII.
    #[serde(default = "default_iin", with = "hexser")]
    pub iin: Vec<u8>,
}

fn default_iin() -> Vec<u8> {
    b"jct".to_vec()
}

fn default_logical_channels() -> u8 {
    4
}
fn default_protocol() -> u8 {
    1
}

fn default_heap_memory() -> usize {
    64 * 1024
}
fn default_transient_memory() -> usize {
    4 * 1024
}
fn default_commit_capacity() -> usize {
    1024
}
fn default_instruction_budget() -> u64 {
    10_000_000
}
fn default_max_frames() -> usize {
    64
}
fn default_max_stack_words() -> usize {
    2048
}

fn default_min_level() -> u8 {
    scp::SecurityLevel::C_MAC.byte()
}

impl Default for CardProfile {
    fn default() -> CardProfile {
        CardProfile {
            isd_aid: DEFAULT_ISD_AID.to_vec(),
            scp02_i: 0x15,
            scp03_i: 0x70,
            api: ApiVersion::V3_0_5.as_str().to_string(),
            max_auth_failures: 10,
            memory: 1 << 20,
            min_level: default_min_level(),
            heap_memory: default_heap_memory(),
            transient_memory: default_transient_memory(),
            commit_capacity: default_commit_capacity(),
            instruction_budget: default_instruction_budget(),
            max_frames: default_max_frames(),
            max_stack_words: default_max_stack_words(),
            logical_channels: default_logical_channels(),
            protocol: default_protocol(),
            algorithms: Algorithms::modern(),
            iin: default_iin(),
        }
    }
}

impl CardProfile {
    /// The API version, checked.
    pub fn api_version(&self) -> Result<ApiVersion, String> {
        ApiVersion::parse(&self.api).ok_or_else(|| {
            let known: Vec<&str> = ApiVersion::ALL.iter().map(|v| v.as_str()).collect();
            format!(
                "unknown Java Card API version '{}' (known: {})",
                self.api,
                known.join(", ")
            )
        })
    }

    /// The minimum security level for card content management, checked.
    pub fn min_security_level(&self) -> Result<scp::SecurityLevel, String> {
        scp::SecurityLevel::from_byte(self.min_level).ok_or_else(|| {
            format!(
                "minimum security level {:02X} is not a GlobalPlatform level (00, 01, 03, 11, 13, 33)",
                self.min_level
            )
        })
    }

    /// Checks the settings a card cannot work without.
    pub fn validate(&self) -> Result<(), String> {
        if !(5..=16).contains(&self.isd_aid.len()) {
            return Err(format!(
                "ISD AID {} has {} bytes; an AID has 5 to 16",
                hex::encode_upper(&self.isd_aid),
                self.isd_aid.len()
            ));
        }
        let api = self.api_version()?;
        self.algorithms.resolve(api)?;
        self.min_security_level()?;
        if self.max_frames == 0 || self.max_frames > 4096 {
            return Err(format!("max_frames {}: use 1 to 4096", self.max_frames));
        }
        if !(16..=1 << 20).contains(&self.max_stack_words) {
            return Err(format!(
                "max_stack_words {}: use 16 to 1048576",
                self.max_stack_words
            ));
        }
        if !(1..=20).contains(&self.logical_channels) {
            return Err(format!(
                "logical_channels {}: use 1 to 20",
                self.logical_channels
            ));
        }
        if self.protocol > 1 {
            return Err(format!(
                "protocol {}: use 0 (T=0) or 1 (T=1)",
                self.protocol
            ));
        }
        if self.instruction_budget == 0 {
            return Err("instruction_budget must be at least 1".into());
        }
        let scp02 = scp::Protocol::Scp02 { i: self.scp02_i };
        let scp03 = scp::Protocol::Scp03 { i: self.scp03_i };
        // The secure channel code refuses options it does not implement
        // only when a session opens; say so at creation instead.
        // Bit 08 (ICV = MAC over the AID) belongs to implicit initiation.
        if self.scp02_i & 0x80 != 0 || self.scp02_i & 0x0C == 0x0C {
            return Err(format!(
                "{scp02}: the options implemented are explicit initiation without ICV-over-AID \
                 (e.g. 15, 55) and implicit initiation (e.g. 0A, 1A)"
            ));
        }
        if self.scp03_i & 0x8E != 0 {
            return Err(format!(
                "{scp03}: only i bits 01 (S16 mode), 10, 20, 40 are implemented (e.g. 00, 10, 70, 71)"
            ));
        }
        Ok(())
    }
}

/// The test key set: 404142…4F for ENC, MAC and DEK, as AES (SCP03) or
/// 3DES (SCP02) keys.
pub fn test_keys(aes: bool, version: u8) -> Result<StaticKeys, KeyError> {
    let key = if aes {
        Key::aes(&TEST_KEY)?
    } else {
        Key::des3(&TEST_KEY)?
    };
    Ok(StaticKeys::single(key, version))
}

/// The ATR: TS 3B, T0 with TD1 and six historical bytes, TD1 (T=0, TD2
/// follows), TD2 (T=1), the historical bytes "jctemu", and TCK (required
/// once T=1 is offered: the XOR of T0 to the last byte is zero).
pub fn atr() -> Vec<u8> {
    let historical = b"jctemu";
    // T0: TD1 follows, and K historical bytes (6 fit the low nibble).
    let t0 = 0x80 | 0x06;
    debug_assert_eq!(historical.len(), 6);
    let mut atr = vec![0x3B, t0, 0x80, 0x01];
    atr.extend_from_slice(historical);
    let tck = atr[1..].iter().fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_checksum() {
        let atr = atr();
        assert_eq!(atr[0], 0x3B);
        assert_eq!(atr[1..].iter().fold(0u8, |a, b| a ^ b), 0);
    }

    #[test]
    fn profile_checks() {
        assert!(CardProfile::default().validate().is_ok());
        let mut p = CardProfile {
            api: "9.9".into(),
            ..CardProfile::default()
        };
        assert!(p.validate().unwrap_err().contains("unknown"));
        p.api = "2.2.2".into();
        p.isd_aid = vec![1, 2];
        assert!(p.validate().is_err());
        p.isd_aid = DEFAULT_ISD_AID.to_vec();
        p.scp02_i = 0x0A;
        assert!(p.validate().is_ok(), "implicit initiation is offered");
        p.scp02_i = 0x0D;
        assert!(p.validate().is_err());
        p.scp02_i = 0x15;
        p.scp03_i = 0x71;
        assert!(p.validate().is_ok(), "S16 mode is offered");
        p.scp03_i = 0x72;
        assert!(p.validate().is_err());
    }
}
