//! loader: talking to cards — APDUs, transports, secure channels, GlobalPlatform.
//!
//! The secure channel core ([`scp`], [`keys`], [`apdu`]) serves both the
//! host (this crate's loader) and the card (the emulator's security
//! domain), so the two sides of every test run the same specification code
//! in opposite directions.

pub mod apdu;
mod crypto;
pub mod gp;
pub mod keys;
pub mod scp;
pub mod tlv;
pub mod transport;

pub use crypto::CryptoError;
