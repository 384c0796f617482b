//! loader: talking to cards — APDUs, transports, secure channels, GlobalPlatform.
