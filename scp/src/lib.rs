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

mod card;
mod channel;
mod crypto;
mod error;
mod hello;
mod host;
pub mod keys;
mod params;
mod rng;
pub mod scp02;
pub mod scp03;
mod sm;

pub use card::{initialize_update, CardAuthenticating, CardChannel, CardConfig};
pub use crypto::CryptoError;
pub use error::ScpError;
pub use hello::{initialize_update_command, CardChallenge, InitUpdateResponse};
pub use host::{
    begin, begin_random, Authenticating, AwaitingInitUpdate, HostConfig, SecureChannel,
};
pub use params::{Protocol, SecurityLevel};
pub use rng::{ChallengeSource, FixedChallenges, OsRng};

/// What both sides know about an open (or opening) session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Protocol and implementation option.
    pub protocol: Protocol,
    /// Security level of the session (as requested before EXTERNAL AUTHENTICATE).
    pub security_level: SecurityLevel,
    /// Key version number the card used.
    pub key_version: u8,
    /// Key diversification data the card reported.
    pub kdd: [u8; 10],
    /// Sequence counter of the session, when the protocol reports one.
    pub sequence_counter: Option<u32>,
    /// Host challenge.
    pub host_challenge: [u8; 8],
    /// Card challenge (6 bytes for SCP02, 8 for SCP03).
    pub card_challenge: Vec<u8>,
}
