//! Secure channel errors, with the status word a card answers for each.

use crate::crypto::CryptoError;
use crate::keys::{KeyError, KeyType};
use gp::apdu::ApduError;

use crate::SecurityLevel;

/// What went wrong while opening or using a secure channel.
///
/// Host and card share this type: the host reports it to the user, the
/// card turns it into a status word with [`ScpError::status_word`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScpError {
    /// The card's proof of the session keys did not verify on the host.
    #[error("card cryptogram mismatch: wrong keys or wrong diversification")]
    CardCryptogram,
    /// The card's challenge is not the pseudo-random value its counter and
    /// the AID determine: a replayed or foreign answer.
    #[error("card challenge is not the pseudo-random value for this sequence counter and AID")]
    CardChallenge,
    /// The SCP11 receipt did not verify: the card derived other keys.
    #[error("SCP11 receipt mismatch: the card does not hold the certified key, or the answer was tampered with")]
    Receipt,
    /// An SCP11 certificate was refused.
    #[error(transparent)]
    Certificate(#[from] crate::scp11::CertError),
    /// The host's proof of the session keys did not verify on the card.
    #[error("host cryptogram mismatch: the host holds other keys")]
    HostCryptogram,
    /// A C-MAC or R-MAC did not verify, or a secured message was missing it.
    #[error("{which} verification failed: {context}")]
    Mac {
        /// "C-MAC" or "R-MAC".
        which: &'static str,
        /// Which message, in terms a user can place.
        context: String,
    },
    /// The other side answered with an error status word.
    #[error("{command} failed with SW {sw:04X}{}", describe_sw(*sw))]
    Status {
        /// The command that failed.
        command: &'static str,
        /// Its status word.
        sw: u16,
    },
    /// A message does not have the layout the protocol requires.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A command arrived with a length the protocol does not allow.
    #[error("wrong length in {what}: {detail}")]
    WrongLength {
        /// Which message.
        what: &'static str,
        /// What was expected.
        detail: String,
    },
    /// A command's CLA, INS, P1 or P2 is not acceptable.
    #[error("bad parameters in {what}: {detail}")]
    BadParameters {
        /// Which message.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The card answered with another secure channel protocol than required.
    #[error("card answered INITIALIZE UPDATE for SCP{found:02X}, expected SCP{expected:02X}")]
    UnexpectedProtocol {
        /// The protocol the host asked for.
        expected: u8,
        /// The protocol the card speaks.
        found: u8,
    },
    /// The key version the card used (or was asked for) is not the key set's.
    #[error("key version {found:#04X} does not match the key set (version {expected:#04X})")]
    KeyVersion {
        /// The key set's version.
        expected: u8,
        /// The version in the message.
        found: u8,
    },
    /// The key set's algorithm does not fit the protocol.
    #[error("SCP{scp:02X} needs {needs} keys, the key set holds {got} keys")]
    KeyType {
        /// Protocol identifier.
        scp: u8,
        /// Key type the protocol needs.
        needs: KeyType,
        /// Key type of the key set.
        got: KeyType,
    },
    /// The requested security level is invalid or not offered by the card's "i".
    #[error("security level {level} is not available with SCP{scp:02X} i={i:02X}: {why}")]
    SecurityLevel {
        /// The level asked for.
        level: SecurityLevel,
        /// Protocol identifier.
        scp: u8,
        /// Implementation option "i".
        i: u8,
        /// Why not.
        why: &'static str,
    },
    /// A protocol option this implementation does not provide.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The channel failed once and refuses further use, as GlobalPlatform requires.
    #[error("secure channel closed after an earlier verification failure")]
    Closed,
    /// `unwrap`/`wrap_response` was called without a command to pair it with.
    #[error("no secured command is waiting for its response")]
    NoPendingCommand,
    /// The challenge source failed.
    #[error("random number generator failed: {0}")]
    Rng(String),
    /// Bad APDU encoding.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// Bad key material.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// One key of the set does not fit the protocol the card runs.
    #[error("{which} key for SCP{scp:02X}: {source}")]
    KeyMaterial {
        /// "ENC", "MAC" or "DEK".
        which: &'static str,
        /// Protocol identifier.
        scp: u8,
        /// What is wrong with it.
        source: KeyError,
    },
    /// A key provider (an HSM, say) failed.
    #[error("key provider: {0}")]
    Provider(String),
    /// A primitive refused its input.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl ScpError {
    /// The status word a card answers when this error stops a command.
    pub fn status_word(&self) -> u16 {
        match self {
            ScpError::HostCryptogram => 0x6300,
            ScpError::Mac { .. } | ScpError::Closed => 0x6982,
            ScpError::Status { sw, .. } => *sw,
            ScpError::WrongLength { .. } | ScpError::Apdu(_) => 0x6700,
            ScpError::BadParameters { .. } | ScpError::SecurityLevel { .. } => 0x6A86,
            ScpError::Malformed { .. } => 0x6A80,
            ScpError::Certificate(_) => 0x6A80,
            ScpError::Receipt => 0x6982,
            ScpError::KeyVersion { .. } => 0x6A88,
            ScpError::NoPendingCommand => 0x6985,
            _ => 0x6F00,
        }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        ScpError::Malformed {
            what,
            detail: detail.into(),
        }
    }

    pub(crate) fn mac(which: &'static str, context: impl Into<String>) -> Self {
        ScpError::Mac {
            which,
            context: context.into(),
        }
    }
}

/// A short reading of the status words a secure channel meets most often.
fn describe_sw(sw: u16) -> &'static str {
    match sw {
        0x6300 => " (authentication failed: host cryptogram rejected)",
        0x6700 => " (wrong length)",
        0x6982 => " (security status not satisfied: MAC or channel state)",
        0x6983 => " (authentication method blocked)",
        0x6985 => " (conditions of use not satisfied)",
        0x6A80 => " (incorrect data)",
        0x6A86 => " (incorrect P1/P2)",
        0x6A88 => " (referenced data not found: no such key version)",
        0x6D00 => " (instruction not supported)",
        0x6E00 => " (class not supported)",
        _ => "",
    }
}
