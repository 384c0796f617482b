//! Secured scripts: the key holder prepares, for one card, the whole
//! sequence of a card content management operation (INSTALL [for load],
//! LOAD, INSTALL [for install], DELETE, PUT KEY, STORE DATA, raw commands)
//! with every command MACed in one chain, signs it, and a thin client that
//! holds no card key plays it to the card.
//!
//! - [`packet`]: the file format (versioned JSON, documented in the README).
//! - [`sign`]: ECDSA P-256 signing keys (key holder) and public keys (client).
//! - [`build`]: building scripts, offline (predictable card challenge) and
//!   online (from the card's INITIALIZE UPDATE response).
//! - [`play`]: the client's checks and the play itself, with its report.
//! - [`log`]: the key holder's check of the R-MAC of a play's responses.
//!
//! Nothing here prints or reads files; only [`play`] moves APDUs, through
//! a [`crate::transport::CardChannel`].

pub mod build;
pub mod identify;
pub mod log;
pub mod online;
pub mod packet;
pub mod play;
pub mod sign;

pub use build::{Builder, CardRecord, Operation};
pub use packet::{Body, Packet};
pub use sign::{ScriptSigner, ScriptVerifier};

/// Why a script could not be built, read or played.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The packet file is not a valid packet.
    #[error("script format: {0}")]
    Format(String),
    /// The signature does not verify.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// The script's validity is over.
    #[error("{0}")]
    Expired(String),
    /// A key file is unusable.
    #[error("script key: {0}")]
    Key(String),
    /// The key holder could not build the script.
    #[error("building the script: {0}")]
    Build(String),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
}
