//! loader: talking to cards — APDUs, transports, secure channels, GlobalPlatform.
pub mod tlv;
pub mod transport;
