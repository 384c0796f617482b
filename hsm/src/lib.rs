//! hsm: secure channel keys in a PKCS#11 token (through the `cryptoki`
//! crate), for a key server that must never hold a master or card key in
//! its own memory.
//!
//! - [`Hsm`] opens a token by label, logs in with a [`Pin`] from the
//!   environment, keeps a pool of sessions for many threads, imports and
//!   lists master keys (found again by label and key version).
//! - [`Pkcs11Keys`] is a [`scp::keys::KeyProvider`]: the card's keys are
//!   diversified from the master inside the token as session objects, the
//!   session keys derived there (SCP02: C_Encrypt CKM_DES3_CBC; SCP03:
//!   C_Sign CKM_AES_CMAC over the KDF's derivation data) and only the
//!   ephemeral session keys come out. Key data under the static DEK is
//!   encrypted in the token.
//! - It is also a [`scp::keys::KeySetSealer`]: new diversified keys for
//!   PUT KEY are derived, wrapped (C_WrapKey) and checked (KCV) in the
//!   token, and leave it only encrypted for the card.
//!
//! What the token or cryptoki cannot do inside (see [`ClearKeys`]) fails
//! with an error naming the mechanism, unless the caller allows the card
//! key to pass through the process.

mod error;
mod ops;
mod pin;
mod provider;
mod token;

pub use error::HsmError;
pub use pin::Pin;
pub use provider::Pkcs11Keys;
pub use token::{ClearKeys, Component, Hsm, KeyInfo};

/// Where Debian and Ubuntu install SoftHSM2's module.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
