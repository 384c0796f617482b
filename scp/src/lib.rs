//! scp: the GlobalPlatform secure channel protocols, SCP02 (Card
//! Specification Appendix E) and SCP03 (Amendment D), host side and card side
//! next to each other: key schedules, cryptograms, wrapping and unwrapping of
//! commands and responses, protection of key data for PUT KEY, and the static
//! keys with their diversification. Both the loader (host) and the emulator
//! (card) run this very code in opposite directions. It never performs I/O:
//! it turns bytes into bytes, and the caller moves them.
//!
//! A session is a small state machine whose states are types, so that the
//! compiler enforces the protocol order:
//!
//! ```text
//! host:  begin ──INITIALIZE UPDATE──▶ AwaitingInitUpdate
//!          ──card answer, card cryptogram checked──▶ Authenticating
//!          ──EXTERNAL AUTHENTICATE answered 9000──▶ SecureChannel (wrap/unwrap)
//! card:  initialize_update ──▶ CardAuthenticating
//!          ──host cryptogram and C-MAC checked──▶ CardChannel (verify_and_unwrap/wrap_response)
//! ```
//!
//! An unauthenticated session has no `wrap`: the only way to a
//! [`SecureChannel`] is through a verified card cryptogram. Once a MAC
//! fails, the channel closes for good, as GlobalPlatform requires.

// Input from cards, hosts and files is never truncated silently.
#![cfg_attr(not(test), warn(clippy::cast_possible_truncation))]

mod card;
mod channel;
mod crypto;
pub mod dap;
mod error;
mod hello;
mod host;
pub mod implicit;
pub mod keys;
mod params;
pub mod probe;
mod rng;
pub mod scp02;
pub mod scp03;
pub mod scp11;
mod sm;
pub mod token;

pub use card::{initialize_update, CardAuthenticating, CardChannel, CardConfig};
pub use channel::SecureMessaging;
pub use crypto::CryptoError;
pub use error::ScpError;
pub use hello::{
    initialize_update_command, initialize_update_command_any, CardChallenge, InitUpdateResponse,
};
pub use host::{begin, Authenticating, AwaitingInitUpdate, HostConfig, SecureChannel};
pub use params::{Protocol, SecurityLevel};
pub use rng::{ChallengeSource, FixedChallenges, OsRng};

/// What both sides know about an open (or opening) session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Security level of the session (as requested before EXTERNAL AUTHENTICATE).
    pub security_level: SecurityLevel,
    /// Key version number the card used.
    pub key_version: u8,
    /// Key diversification data the card reported.
    pub kdd: [u8; 10],
    /// Host challenge: 8 bytes, 16 in SCP03 S16 mode.
    pub host_challenge: Vec<u8>,
    /// What only one protocol has.
    pub details: SessionDetails,
}

/// The protocol-specific part of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionDetails {
    /// SCP02: the card's "i" comes from configuration (the card does not
    /// state it), the sequence counter is part of every session.
    Scp02 {
        /// Implementation option.
        i: u8,
        /// Sequence counter of the session.
        sequence_counter: [u8; 2],
        /// Card challenge.
        card_challenge: [u8; 6],
    },
    /// SCP03: "i" as the card stated it; a sequence counter only with
    /// pseudo-random card challenges.
    Scp03 {
        /// Implementation option.
        i: u8,
        /// Card challenge: 8 bytes, 16 in S16 mode.
        card_challenge: Vec<u8>,
        /// Sequence counter, when the card reports one.
        sequence_counter: Option<[u8; 3]>,
    },
    /// SCP11: opened by key agreement, no challenges or counters.
    Scp11 {
        /// 11a, 11b or 11c.
        variant: scp11::Variant,
    },
}

impl SessionInfo {
    /// Protocol and implementation option.
    pub fn protocol(&self) -> Protocol {
        match self.details {
            SessionDetails::Scp02 { i, .. } => Protocol::Scp02 { i },
            SessionDetails::Scp03 { i, .. } => Protocol::Scp03 { i },
            // SCP11's secure messaging is SCP03's with every option (R-MAC,
            // R-ENCRYPTION): what callers that check levels need to know.
            SessionDetails::Scp11 { .. } => Protocol::Scp03 { i: 0x60 },
        }
    }

    /// The sequence counter as a number, when the session has one.
    pub fn sequence_counter(&self) -> Option<u32> {
        match self.details {
            SessionDetails::Scp02 {
                sequence_counter: [a, b],
                ..
            } => Some(u32::from(u16::from_be_bytes([a, b]))),
            SessionDetails::Scp03 {
                sequence_counter: Some([a, b, c]),
                ..
            } => Some(u32::from_be_bytes([0, a, b, c])),
            SessionDetails::Scp03 { .. } | SessionDetails::Scp11 { .. } => None,
        }
    }

    /// The card challenge (6 bytes for SCP02, 8 for SCP03, 16 in S16 mode).
    pub fn card_challenge(&self) -> &[u8] {
        match &self.details {
            SessionDetails::Scp02 { card_challenge, .. } => card_challenge,
            SessionDetails::Scp03 { card_challenge, .. } => card_challenge,
            SessionDetails::Scp11 { .. } => &[],
        }
    }
}

/// Ways to open a session that give up the protection of a fresh random
/// host challenge: for known-answer tests and for replaying recorded traces,
/// whose commands must repeat byte for byte. A production session takes
/// [`begin`], which draws the challenge from the operating system.
pub mod danger {
    use crate::{AwaitingInitUpdate, ChallengeSource, HostConfig, ScpError};

    /// Starts a session with this host challenge.
    pub fn begin_with_challenge(config: HostConfig, host_challenge: [u8; 8]) -> AwaitingInitUpdate {
        crate::host::begin_with(config, host_challenge)
    }

    /// Starts a session with a host challenge drawn from `source` (such as
    /// [`crate::FixedChallenges`]).
    pub fn begin_with_source(
        config: HostConfig,
        source: &mut (impl ChallengeSource + ?Sized),
    ) -> Result<AwaitingInitUpdate, ScpError> {
        crate::host::begin_from(config, source)
    }
}
