//! The key sets of the Issuer Security Domain, with the per-key-set
//! counters GlobalPlatform asks a card to keep across power cycles: the
//! secure channel sequence counter and the failed authentication count.

use scp::keys::{Key, KeyType, StaticKeys};
use scp::Protocol;
use serde::{Deserialize, Serialize};

use crate::profile::CardProfile;

/// GlobalPlatform key type codings (GP 2.3.1 table 11-16).
pub const KEY_TYPE_DES: u8 = 0x80;
pub const KEY_TYPE_AES: u8 = 0x88;

/// Key identifiers of the three keys of a secure channel key set.
pub const KEY_IDS: [u8; 3] = [1, 2, 3];

/// One key set: ENC, MAC and DEK under one key version number.
///
/// Its algorithm picks the protocol: a 3DES set opens SCP02 sessions, an
/// AES set SCP03 sessions (as cards that offer both do, one key set each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeySetRecord", into = "KeySetRecord")]
pub struct KeySet {
    /// The keys; their `version` is the key version number.
    pub keys: StaticKeys,
    /// Sequence counter of the next session (SCP02: after each session
    /// opened; SCP03: after each challenge issued).
    pub sequence_counter: u32,
    /// Failed authentications since the last success.
    pub failures: u32,
}

impl KeySet {
    /// A fresh key set, counters at zero.
    pub fn new(keys: StaticKeys) -> KeySet {
        KeySet {
            keys,
            sequence_counter: 0,
            failures: 0,
        }
    }

    /// The key version number.
    pub fn version(&self) -> u8 {
        self.keys.version
    }

    /// The GlobalPlatform key type byte.
    pub fn type_byte(&self) -> u8 {
        match self.keys.kind() {
            KeyType::Des3 => KEY_TYPE_DES,
            KeyType::Aes => KEY_TYPE_AES,
        }
    }

    /// The protocol this key set opens sessions with.
    pub fn protocol(&self, profile: &CardProfile) -> Protocol {
        match self.keys.kind() {
            KeyType::Des3 => Protocol::Scp02 { i: profile.scp02_i },
            KeyType::Aes => Protocol::Scp03 { i: profile.scp03_i },
        }
    }

    /// Whether too many failed authentications have blocked this key set.
    pub fn is_blocked(&self, max_failures: u32) -> bool {
        max_failures != 0 && self.failures >= max_failures
    }

    /// The keys by identifier (1 ENC, 2 MAC, 3 DEK).
    pub fn keys_by_id(&self) -> [(u8, &Key); 3] {
        [
            (KEY_IDS[0], &self.keys.enc),
            (KEY_IDS[1], &self.keys.mac),
            (KEY_IDS[2], &self.keys.dek),
        ]
    }
}

/// How a key set is written to the state file. The keys are stored in
/// clear hex: the state file *is* the card's secure memory, so keep it
/// where only its owner can read it.
#[derive(Serialize, Deserialize)]
struct KeySetRecord {
    version: u8,
    #[serde(rename = "type")]
    kind: String,
    enc: String,
    mac: String,
    dek: String,
    sequence_counter: u32,
    failed_authentications: u32,
}

impl From<KeySet> for KeySetRecord {
    fn from(k: KeySet) -> KeySetRecord {
        let hex = |key: &Key| hex::encode_upper(key.expose_secret());
        KeySetRecord {
            version: k.keys.version,
            kind: match k.keys.kind() {
                KeyType::Des3 => "3DES".into(),
                KeyType::Aes => "AES".into(),
            },
            enc: hex(&k.keys.enc),
            mac: hex(&k.keys.mac),
            dek: hex(&k.keys.dek),
            sequence_counter: k.sequence_counter,
            failed_authentications: k.failures,
        }
    }
}

impl TryFrom<KeySetRecord> for KeySet {
    type Error = String;

    fn try_from(r: KeySetRecord) -> Result<KeySet, String> {
        let kind = match r.kind.as_str() {
            "3DES" => KeyType::Des3,
            "AES" => KeyType::Aes,
            other => {
                return Err(format!(
                    "key set {:02X}: unknown key type '{other}'",
                    r.version
                ))
            }
        };
        let key = |name: &str, text: &str| -> Result<Key, String> {
            let bytes = hex::decode(text)
                .map_err(|e| format!("key set {:02X}: {name} key is not hex: {e}", r.version))?;
            Key::new(kind, &bytes)
                .map_err(|e| format!("key set {:02X}: {name} key: {e}", r.version))
        };
        let keys = StaticKeys::new(
            key("ENC", &r.enc)?,
            key("MAC", &r.mac)?,
            key("DEK", &r.dek)?,
            r.version,
        )
        .map_err(|e| format!("key set {:02X}: {e}", r.version))?;
        Ok(KeySet {
            keys,
            sequence_counter: r.sequence_counter,
            failures: r.failed_authentications,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::test_keys;

    #[test]
    fn record_round_trip() {
        let mut set = KeySet::new(test_keys(true, 0x30).unwrap());
        set.sequence_counter = 7;
        set.failures = 2;
        let json = serde_json::to_string(&set).unwrap();
        assert!(json.contains("\"AES\"") && json.contains("404142"));
        let back: KeySet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        let bad = json.replace("\"AES\"", "\"RSA\"");
        assert!(serde_json::from_str::<KeySet>(&bad).is_err());
        assert!(set.is_blocked(2) && !set.is_blocked(0) && !set.is_blocked(3));
    }
}
