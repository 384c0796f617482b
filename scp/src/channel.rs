//! One authenticated session, whichever protocol: dispatch to SCP02 or
//! SCP03 state, plus the protocol-dependent protection of key material.

use crate::crypto::{aes, tdes};
use gp::apdu::{CommandApdu, ResponseApdu};

use crate::{scp02, scp03, ScpError};

pub(crate) enum Channel {
    Scp02(scp02::Channel),
    Scp03(scp03::Channel),
}

impl Channel {
    pub(crate) fn wrap(&mut self, command: &CommandApdu) -> Result<Vec<u8>, ScpError> {
        match self {
            Channel::Scp02(c) => c.wrap(command),
            Channel::Scp03(c) => c.wrap(command),
        }
    }

    pub(crate) fn unwrap(&mut self, response: ResponseApdu) -> Result<ResponseApdu, ScpError> {
        match self {
            Channel::Scp02(c) => c.unwrap(response),
            Channel::Scp03(c) => c.unwrap(response),
        }
    }

    pub(crate) fn unwrap_command(
        &mut self,
        command: &CommandApdu,
    ) -> Result<CommandApdu, ScpError> {
        match self {
            Channel::Scp02(c) => c.unwrap_command(command),
            Channel::Scp03(c) => c.unwrap_command(command),
        }
    }

    pub(crate) fn wrap_response(&mut self, response: &ResponseApdu) -> Result<Vec<u8>, ScpError> {
        match self {
            Channel::Scp02(c) => c.wrap_response(response),
            Channel::Scp03(c) => c.wrap_response(response),
        }
    }

    /// Encrypts key material for PUT KEY: SCP02 with the DEK session key in
    /// 3DES-ECB, SCP03 with the static Key-DEK in AES-CBC (zero ICV).
    /// `data` must be whole cipher blocks; keys are.
    pub(crate) fn encrypt_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let mut out = data.to_vec();
        match self {
            Channel::Scp02(c) => tdes::ecb_encrypt(c.dek().expose_secret(), &mut out)?,
            Channel::Scp03(c) => aes::cbc_encrypt(c.dek().expose_secret(), &[0; 16], &mut out)?,
        }
        Ok(out)
    }

    /// Inverse of [`Channel::encrypt_key_data`], for the card side of PUT KEY.
    pub(crate) fn decrypt_key_data(&self, data: &[u8]) -> Result<Vec<u8>, ScpError> {
        let mut out = data.to_vec();
        match self {
            Channel::Scp02(c) => tdes::ecb_decrypt(c.dek().expose_secret(), &mut out)?,
            Channel::Scp03(c) => aes::cbc_decrypt(c.dek().expose_secret(), &[0; 16], &mut out)?,
        }
        Ok(out)
    }
}
