//! INITIALIZE UPDATE: the host's challenge and the card's answer.
//!
//! The answer's layout depends on the protocol: SCP02 carries a 2-byte
//! sequence counter and a 6-byte card challenge and does not state its "i";
//! SCP03 states "i", carries an 8-byte challenge and, when the challenge is
//! pseudo-random, the 3-byte sequence counter at the end.

use gp::apdu::CommandApdu;

use crate::ScpError;

pub(crate) use gp::commands::ins::{
    EXTERNAL_AUTHENTICATE as INS_EXTERNAL_AUTHENTICATE, INITIALIZE_UPDATE as INS_INITIALIZE_UPDATE,
};

const WHAT: &str = "INITIALIZE UPDATE response";

/// The INITIALIZE UPDATE command: `80 50 KVN 00 08 <host challenge> 00`.
pub fn initialize_update_command(key_version: u8, host_challenge: &[u8; 8]) -> CommandApdu {
    gp::commands::initialize_update(key_version, host_challenge)
}

/// INITIALIZE UPDATE with a host challenge of any length: SCP03 S16 mode
/// sends 16 bytes (`80 50 KVN 00 10 <host challenge> 00`).
pub fn initialize_update_command_any(
    key_version: u8,
    host_challenge: &[u8],
) -> Result<CommandApdu, ScpError> {
    Ok(CommandApdu::new(
        0x80,
        INS_INITIALIZE_UPDATE,
        key_version,
        0x00,
        host_challenge.to_vec(),
        Some(256),
    )?)
}

/// The protocol-specific part of the card's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChallenge {
    /// SCP02 layout.
    Scp02 {
        /// Sequence counter the session keys derive from.
        sequence_counter: [u8; 2],
        /// Card challenge.
        challenge: [u8; 6],
    },
    /// SCP03 layout (S8 or S16 mode, as "i" says).
    Scp03 {
        /// Implementation option "i".
        i: u8,
        /// Card challenge: 8 bytes, 16 in S16 mode.
        challenge: Vec<u8>,
        /// Present when "i" has the pseudo-random challenge bit.
        sequence_counter: Option<[u8; 3]>,
    },
}

/// The data of the card's INITIALIZE UPDATE response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitUpdateResponse {
    /// Key diversification data: input to diversifying the master keys.
    pub kdd: [u8; 10],
    /// Version of the key set the card used.
    pub key_version: u8,
    /// Challenge, counter and (SCP03) "i".
    pub challenge: CardChallenge,
    /// The card's proof of the session keys: 8 bytes, 16 in SCP03 S16 mode.
    pub card_cryptogram: Vec<u8>,
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], ScpError> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| ScpError::malformed(WHAT, format!("truncated at offset {at}")))
}

impl InitUpdateResponse {
    /// Parses the response data (without the status word).
    pub fn parse(data: &[u8]) -> Result<Self, ScpError> {
        let kdd = array::<10>(data, 0)?;
        let [key_version, scp] = array::<2>(data, 10)?;
        match scp {
            0x02 => {
                if data.len() != 28 {
                    return Err(ScpError::malformed(
                        WHAT,
                        format!("SCP02 answer must be 28 bytes, got {}", data.len()),
                    ));
                }
                Ok(InitUpdateResponse {
                    kdd,
                    key_version,
                    challenge: CardChallenge::Scp02 {
                        sequence_counter: array(data, 12)?,
                        challenge: array(data, 14)?,
                    },
                    card_cryptogram: array::<8>(data, 20)?.to_vec(),
                })
            }
            0x03 => {
                let [i] = array::<1>(data, 12)?;
                // kdd, key information, challenge and cryptogram of the
                // mode's length, then the counter: 29/32 bytes in S8
                // mode, 45/48 in S16.
                let n = crate::scp03::Mode::from_i(i).field_len();
                let pseudo = i & 0x10 != 0;
                let expected = 13 + 2 * n + if pseudo { 3 } else { 0 };
                if data.len() != expected {
                    return Err(ScpError::malformed(
                        WHAT,
                        format!(
                            "SCP03 i={i:02X} answer must be {expected} bytes, got {}",
                            data.len()
                        ),
                    ));
                }
                Ok(InitUpdateResponse {
                    kdd,
                    key_version,
                    challenge: CardChallenge::Scp03 {
                        i,
                        challenge: data[13..13 + n].to_vec(),
                        sequence_counter: if pseudo {
                            Some(array(data, 13 + 2 * n)?)
                        } else {
                            None
                        },
                    },
                    card_cryptogram: data[13 + n..13 + 2 * n].to_vec(),
                })
            }
            other => Err(ScpError::Unsupported(format!(
                "secure channel protocol {other:02X} in {WHAT}"
            ))),
        }
    }

    /// The protocol identifier: 02 or 03.
    pub fn scp(&self) -> u8 {
        match self.challenge {
            CardChallenge::Scp02 { .. } => 0x02,
            CardChallenge::Scp03 { .. } => 0x03,
        }
    }

    /// The sequence counter as a number, if the answer carries one.
    pub fn sequence_counter(&self) -> Option<u32> {
        match &self.challenge {
            CardChallenge::Scp02 {
                sequence_counter, ..
            } => Some(u32::from(u16::from_be_bytes(*sequence_counter))),
            CardChallenge::Scp03 {
                sequence_counter: Some([a, b, c]),
                ..
            } => Some(u32::from_be_bytes([0, *a, *b, *c])),
            CardChallenge::Scp03 { .. } => None,
        }
    }

    /// Encodes the response data (without the status word).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&self.kdd);
        out.push(self.key_version);
        match &self.challenge {
            CardChallenge::Scp02 {
                sequence_counter,
                challenge,
            } => {
                out.push(0x02);
                out.extend_from_slice(sequence_counter);
                out.extend_from_slice(challenge);
                out.extend_from_slice(&self.card_cryptogram);
            }
            CardChallenge::Scp03 {
                i,
                challenge,
                sequence_counter,
            } => {
                out.extend_from_slice(&[0x03, *i]);
                out.extend_from_slice(challenge);
                out.extend_from_slice(&self.card_cryptogram);
                if let Some(counter) = sequence_counter {
                    out.extend_from_slice(counter);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn command() {
        let cmd = initialize_update_command(0x30, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(cmd.to_bytes(), h("8050300008010203040506070800"));
    }

    #[test]
    fn scp02_answer() {
        let data = h("000074746E6E6E626262 0102 06A1 5086BBEE58F4 67149061DA4B6EAE");
        let r = InitUpdateResponse::parse(&data).unwrap();
        assert_eq!(r.key_version, 1);
        assert_eq!(r.sequence_counter(), Some(0x06A1));
        assert_eq!(r.to_bytes(), data);
    }

    #[test]
    fn scp03_answer_with_counter() {
        let data = h("00000000000000000000 300370 C40932A6FEFEAEB2 E127185170F45FCA 000015");
        let r = InitUpdateResponse::parse(&data).unwrap();
        assert_eq!(r.key_version, 0x30);
        assert_eq!(r.sequence_counter(), Some(0x15));
        assert!(matches!(r.challenge, CardChallenge::Scp03 { i: 0x70, .. }));
        assert_eq!(r.to_bytes(), data);
    }

    #[test]
    fn scp03_s16_answer_with_counter() {
        // Amendment D v1.2 S16 layout: 16-byte challenge and cryptogram.
        let data = h(
            "00000000000000000000 300371 A0A1A2A3A4A5A6A7A8A9AAABACADAEAF \
             DFB46C13BE255B2BEFF54807218F5C74 000015",
        );
        let r = InitUpdateResponse::parse(&data).unwrap();
        assert_eq!(data.len(), 48);
        assert_eq!(r.card_cryptogram.len(), 16);
        assert_eq!(r.sequence_counter(), Some(0x15));
        assert_eq!(r.to_bytes(), data);
    }

    #[test]
    fn rejects_wrong_layouts() {
        // Every truncation of a valid answer is an error, never a panic.
        let full = h("00000000000000000000 300370 C40932A6FEFEAEB2 E127185170F45FCA 000015");
        for n in 0..full.len() {
            assert!(InitUpdateResponse::parse(&full[..n]).is_err(), "{n}");
        }
        // An S16 "i" with S8 lengths is malformed, not misread.
        let mut s16 = full.clone();
        s16[12] = 0x71;
        assert!(matches!(
            InitUpdateResponse::parse(&s16),
            Err(ScpError::Malformed { .. })
        ));
        let mut scp01 = full;
        scp01[11] = 0x01;
        assert!(InitUpdateResponse::parse(&scp01).is_err());
    }
}
