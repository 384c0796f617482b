//! loader: talking to cards — APDUs, transports, secure channels, GlobalPlatform.

mod crypto;
pub mod keys;

pub use crypto::CryptoError;
