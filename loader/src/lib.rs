//! loader: talking to cards — APDUs, transports, secure channels, GlobalPlatform.
pub mod gp;
pub mod tlv;
pub mod transport;
