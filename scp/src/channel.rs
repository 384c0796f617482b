//! Secure messaging as a trait: what an authenticated session does to every
//! later command and response, whichever protocol opened it.
//!
//! SCP02 and SCP03 implement it here; SCP11 opens its session with
//! certificates and key agreement and then runs SCP03's secure messaging, so
//! it builds an [`crate::scp03::Channel`] from its own session keys and
//! initial chaining value through the public constructor.

use gp::apdu::{CommandApdu, ResponseApdu};

use crate::keys::KeyProtection;
use crate::ScpError;

/// The secure messaging of one open session. Host and card hold the same
/// state and use opposite halves of it: the host wraps commands and
/// unwraps responses, the card unwraps commands and wraps responses.
pub trait SecureMessaging: Send {
    /// Host: protects a command (C-MAC, C-ENC) and returns its wire bytes.
    fn wrap_command(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError>;
    /// Host: checks and strips the protection of the response to the last
    /// wrapped command (R-MAC, R-ENC).
    fn unwrap_response(&mut self, response: ResponseApdu) -> Result<ResponseApdu, ScpError>;
    /// Card: checks a command's C-MAC against the chain and decrypts its data.
    fn unwrap_command(&mut self, command: &CommandApdu) -> Result<CommandApdu, ScpError>;
    /// Card: protects the response to the last unwrapped command.
    fn wrap_response(&mut self, response: &ResponseApdu) -> Result<Vec<u8>, ScpError>;
    /// Host: encrypts key material for PUT KEY under the session's data
    /// encryption key. `data` must be whole cipher blocks; keys are.
    fn protect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError>;
    /// Card: the inverse of [`SecureMessaging::protect_key_data`].
    fn unprotect_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError>;
    /// Host: the key that [`SecureMessaging::protect_key_data`] uses, for a
    /// [`crate::keys::KeySetSealer`] that encrypts new keys itself.
    fn key_protection(&self) -> KeyProtection<'_>;
}
