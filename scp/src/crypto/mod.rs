//! Block-cipher building blocks the secure channels are made of.
//!
//! Everything here is a thin, panic-free layer over RustCrypto (`des`, `aes`,
//! `cbc`, `cmac`): GlobalPlatform needs a handful of fixed compositions
//! (ISO 9797-1 padding, the "retail" MAC, the full 3DES MAC, the SP 800-108
//! KDF) and this module names them once so the protocol code reads like the
//! specification. Lengths that come from card data are checked here and
//! reported as [`CryptoError`] rather than trusted.

pub(crate) mod aes;
pub(crate) mod kdf;
pub(crate) mod pad;
pub(crate) mod tdes;

/// A primitive was handed data it cannot process. These only arise from
/// lengths (of keys or of data that must be whole blocks), never from
/// key material, so the message can be specific without leaking secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key of a length the algorithm does not take.
    #[error("{algorithm} key must be {expected} bytes, got {got}")]
    KeyLength {
        algorithm: &'static str,
        expected: &'static str,
        got: usize,
    },
    /// Data that must be a whole number of cipher blocks is not.
    #[error("{algorithm} data must be a multiple of {block} bytes, got {got}")]
    NotBlockAligned {
        algorithm: &'static str,
        block: usize,
        got: usize,
    },
    /// Requested more derived output than SP 800-108 with an 8-bit counter allows.
    #[error("KDF output of {0} bytes is out of range")]
    KdfLength(usize),
}
