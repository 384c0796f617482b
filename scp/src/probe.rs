//! Which key set a card holds, found without spending an authentication
//! try.
//!
//! A card counts failed EXTERNAL AUTHENTICATE commands (its host
//! cryptogram did not verify) and locks the key set, or the whole card,
//! after a few. INITIALIZE UPDATE authenticates nobody: the card answers
//! any host challenge with its own challenge and a card cryptogram, a MAC
//! of both challenges under session keys derived from its static keys.
//! That answer is enough to test any number of candidate keys offline —
//! derive each candidate's session keys, compute the cryptogram the card
//! would have made, compare — and nothing further is sent to the card.
//!
//! [`probe`] is the offline part: one INITIALIZE UPDATE answer against
//! every candidate under every diversification (none, EMV CPS 1.1, VISA2,
//! KDF3) and, for SCP02, both key-count options of "i". No I/O.

use crate::hello::{CardChallenge, InitUpdateResponse};
use crate::keys::{Diversification, KeyContext, KeyProvider, SoftwareKeys};
use crate::sm::ct_eq;
use crate::Protocol;
use zeroize::Zeroizing;

/// The diversifications a probe tries, in this order.
pub const DIVERSIFICATIONS: [Diversification; 4] = [
    Diversification::None,
    Diversification::EmvCps11,
    Diversification::Visa2,
    Diversification::Kdf3,
];

/// A key set to try: raw bytes, typed per protocol as the card's answer
/// demands (3DES for SCP02, AES for SCP03).
pub struct Candidate {
    /// What to call it in the report ("gp-test-key", a file's label).
    pub label: String,
    enc: Zeroizing<Vec<u8>>,
    mac: Zeroizing<Vec<u8>>,
    dek: Zeroizing<Vec<u8>>,
}

impl Candidate {
    /// One key for ENC, MAC and DEK.
    pub fn single(label: impl Into<String>, key: &[u8]) -> Candidate {
        Candidate::new(label, key, key, key)
    }

    /// Three keys.
    pub fn new(label: impl Into<String>, enc: &[u8], mac: &[u8], dek: &[u8]) -> Candidate {
        Candidate {
            label: label.into(),
            enc: Zeroizing::new(enc.to_vec()),
            mac: Zeroizing::new(mac.to_vec()),
            dek: Zeroizing::new(dek.to_vec()),
        }
    }

    /// The candidate's keys as a provider for a session with key version
    /// `version`, diversified by `method` (to authenticate with a match).
    pub fn provider(&self, method: Diversification, version: u8) -> SoftwareKeys {
        SoftwareKeys::from_bytes(&self.enc, &self.mac, &self.dek, version).diversified(method)
    }
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("Candidate")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A candidate whose cryptogram is the card's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index into the candidates given to [`probe`].
    pub candidate: usize,
    pub diversification: Diversification,
    /// The protocol with the options that matched (SCP02: the "i" tried).
    pub protocol: Protocol,
    /// The key version the card answered with.
    pub key_version: u8,
}

/// What one probe found and what it tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub matches: Vec<Match>,
    /// Candidate × diversification × option combinations computed (those
    /// a key's length or type excludes are not counted).
    pub tried: usize,
}

/// Tests every candidate against one INITIALIZE UPDATE answer (`hello`,
/// to `host_challenge`). For SCP02 the card does not say its "i": each of
/// `scp02_i` is tried (its key-count bit decides how the session keys
/// derive). Offline: nothing here talks to a card.
pub fn probe(
    hello: &InitUpdateResponse,
    host_challenge: &[u8; 8],
    candidates: &[Candidate],
    scp02_i: &[u8],
) -> Report {
    let protocols: Vec<Protocol> = match &hello.challenge {
        CardChallenge::Scp02 { .. } => {
            let mut is: Vec<u8> = scp02_i.to_vec();
            is.dedup();
            is.into_iter().map(|i| Protocol::Scp02 { i }).collect()
        }
        CardChallenge::Scp03 { i, .. } => vec![Protocol::Scp03 { i: *i }],
    };
    let mut report = Report {
        matches: Vec::new(),
        tried: 0,
    };
    for (index, candidate) in candidates.iter().enumerate() {
        for method in DIVERSIFICATIONS {
            let keys = candidate.provider(method, hello.key_version);
            for &protocol in &protocols {
                let ctx = KeyContext {
                    protocol,
                    key_version: hello.key_version,
                    kdd: hello.kdd,
                };
                let Some(card) = card_cryptogram(&keys, &ctx, hello, host_challenge) else {
                    // This key cannot be that protocol's, or this method's
                    // master (a 3DES-only derivation of an AES key...).
                    continue;
                };
                report.tried += 1;
                // With ENC = MAC = DEK both key-count options of SCP02
                // derive alike: one match per candidate and method, the
                // first option (what the card's recognition data says).
                let known = report
                    .matches
                    .iter()
                    .any(|m| m.candidate == index && m.diversification == method);
                if !known && ct_eq(&card, &hello.card_cryptogram) {
                    report.matches.push(Match {
                        candidate: index,
                        diversification: method,
                        protocol,
                        key_version: hello.key_version,
                    });
                }
            }
        }
    }
    report
}

/// The card cryptogram `keys` give for this answer; `None` when they are
/// no key set of the protocol (wrong length or type for it or for the
/// diversification).
fn card_cryptogram(
    keys: &SoftwareKeys,
    ctx: &KeyContext,
    hello: &InitUpdateResponse,
    host_challenge: &[u8; 8],
) -> Option<[u8; 8]> {
    match (&hello.challenge, ctx.protocol) {
        (
            CardChallenge::Scp02 {
                sequence_counter,
                challenge,
            },
            Protocol::Scp02 { i },
        ) => keys
            .scp02_session(ctx, i, *sequence_counter, host_challenge, challenge)
            .ok()
            .map(|c| c.card),
        // The probe sends an 8-byte host challenge, so only S8 answers.
        (CardChallenge::Scp03 { challenge, .. }, Protocol::Scp03 { .. }) => keys
            .scp03_session(ctx, host_challenge, challenge.as_slice().try_into().ok()?)
            .ok()
            .map(|c| c.card),
        _ => None,
    }
}

/// A line of a candidates file that is no key, by line number (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateLineError {
    pub line: usize,
    pub why: String,
}

impl std::fmt::Display for CandidateLineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.line, self.why)
    }
}

impl std::error::Error for CandidateLineError {}

/// Parses a candidates list: one key set per line, `LABEL KEY` (one key
/// for ENC, MAC and DEK) or `LABEL ENC MAC DEK` in hex, keys of 16, 24
/// or 32 bytes; `#` starts a comment, blank lines are skipped.
pub fn parse_candidates(text: &str) -> Result<Vec<Candidate>, CandidateLineError> {
    let mut list = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |why: String| CandidateLineError { line: n + 1, why };
        let key = |s: &str| -> Result<Zeroizing<Vec<u8>>, CandidateLineError> {
            let bytes =
                Zeroizing::new(hex::decode(s).map_err(|_| err(format!("'{s}' is not hex")))?);
            if ![16, 24, 32].contains(&bytes.len()) {
                return Err(err(format!(
                    "a {}-byte key (keys are 16, 24 or 32 bytes)",
                    bytes.len()
                )));
            }
            Ok(bytes)
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let candidate = match fields.as_slice() {
            [label, k] => Candidate::single(*label, &key(k)?),
            [label, enc, mac, dek] => Candidate::new(*label, &key(enc)?, &key(mac)?, &key(dek)?),
            _ => {
                return Err(err(format!(
                    "expected `LABEL KEY` or `LABEL ENC MAC DEK`, got {} fields",
                    fields.len()
                )))
            }
        };
        list.push(candidate);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::keys::{Key, KeyType, StaticKeys};
    use crate::{initialize_update_command, CardConfig, FixedChallenges};

    const MASTER: &str = "404142434445464748494A4B4C4D4E4F";
    const OTHER: &str = "47454D5850524553534F53414D504C45";

    /// The INITIALIZE UPDATE answer of a card holding `master` diversified
    /// by `method` (the card side of this crate makes it).
    fn answer(protocol: Protocol, method: Diversification) -> (InitUpdateResponse, [u8; 8]) {
        let kind = match protocol {
            Protocol::Scp02 { .. } => KeyType::Des3,
            Protocol::Scp03 { .. } => KeyType::Aes,
        };
        let kdd = *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09";
        let key = Key::new(kind, &hex::decode(MASTER).unwrap()).unwrap();
        let master = StaticKeys::single(key, 0x30);
        let card_keys = master.diversify(method, &kdd).unwrap();
        let config = CardConfig {
            keys: Arc::new(SoftwareKeys::new(card_keys)),
            protocol,
            kdd,
            sequence_counter: 7,
            aid: hex::decode("A000000151000000").unwrap(),
        };
        let host_challenge = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
        let command = initialize_update_command(0, &host_challenge).to_bytes();
        let mut rng = FixedChallenges::new(vec![0xA5; 8]);
        let (_, response) = crate::initialize_update(&config, &command, &mut rng).unwrap();
        let data = &response[..response.len() - 2];
        (InitUpdateResponse::parse(data).unwrap(), host_challenge)
    }

    fn candidates() -> Vec<Candidate> {
        vec![
            Candidate::single("other", &hex::decode(OTHER).unwrap()),
            Candidate::single("zeros", &[0u8; 16]),
            Candidate::single("master", &hex::decode(MASTER).unwrap()),
            // Not a key of any protocol: skipped, not counted.
            Candidate::single("short", &[1u8; 5]),
        ]
    }

    /// Exactly the candidate and the diversification the card's keys came
    /// from match, for every method both protocols allow.
    #[test]
    fn the_right_candidate_and_method_match_and_nothing_else() {
        let cases = [
            (Protocol::Scp03 { i: 0x00 }, Diversification::None),
            (Protocol::Scp03 { i: 0x70 }, Diversification::Kdf3),
            (Protocol::Scp02 { i: 0x15 }, Diversification::None),
            (Protocol::Scp02 { i: 0x15 }, Diversification::EmvCps11),
            (Protocol::Scp02 { i: 0x55 }, Diversification::Visa2),
        ];
        for (protocol, method) in cases {
            let (hello, hc) = answer(protocol, method);
            let i = match protocol {
                Protocol::Scp02 { i } => i,
                Protocol::Scp03 { .. } => 0x15,
            };
            let report = probe(&hello, &hc, &candidates(), &[i]);
            assert_eq!(
                report.matches,
                vec![Match {
                    candidate: 2,
                    diversification: method,
                    protocol,
                    key_version: 0x30,
                }],
                "{protocol:?} {method:?}"
            );
            assert!(report.tried >= 3, "{protocol:?}: tried {}", report.tried);
        }
    }

    #[test]
    fn candidate_lines_parse_or_name_the_line() {
        let list = parse_candidates(
            "# keys\n\na 404142434445464748494A4B4C4D4E4F # test\nb 00112233445566778899AABBCCDDEEFF 00112233445566778899AABBCCDDEEFF 00112233445566778899AABBCCDDEEFF\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].label, "b");
        let e = parse_candidates("a 404142434445464748494A4B4C4D4E4F\nb 0102\n")
            .err()
            .unwrap();
        assert_eq!(
            (e.line, e.why.as_str()),
            (2, "a 2-byte key (keys are 16, 24 or 32 bytes)")
        );
        assert!(parse_candidates("x\n").is_err());
        assert!(parse_candidates("x zz\n").is_err());
    }

    /// A card cryptogram nobody's keys make: no match, and every usable
    /// combination was tried.
    #[test]
    fn no_candidate_no_match() {
        let (mut hello, hc) = answer(Protocol::Scp03 { i: 0x00 }, Diversification::None);
        hello.card_cryptogram[0] ^= 1;
        let report = probe(&hello, &hc, &candidates(), &[0x15]);
        assert!(report.matches.is_empty());
        // Three 16-byte candidates; SCP03 keys take none, KDF3 (the AES
        // methods); EMV and VISA2 are 3DES derivations.
        assert!(report.tried >= 6, "tried {}", report.tried);
    }
}
