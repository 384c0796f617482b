//! Builders of the GlobalPlatform command APDUs (GP 2.3.1 chapter 11). The
//! secure channel sets the secure messaging bit of CLA when it wraps them.

use crate::apdu::{ApduError, CommandApdu};
use crate::install::{p1 as install_p1, DataError, InstallForInstall, InstallForLoad};
use crate::registry::Scope;

/// CLA of GlobalPlatform proprietary commands.
pub const CLA_GP: u8 = 0x80;
/// CLA of ISO commands (SELECT).
pub const CLA_ISO: u8 = 0x00;

/// INS bytes.
pub mod ins {
    pub const SELECT: u8 = 0xA4;
    pub const GET_DATA: u8 = 0xCA;
    pub const GET_STATUS: u8 = 0xF2;
    pub const INSTALL: u8 = 0xE6;
    pub const LOAD: u8 = 0xE8;
    pub const DELETE: u8 = 0xE4;
    pub const PUT_KEY: u8 = 0xD8;
    pub const SET_STATUS: u8 = 0xF0;
    pub const INITIALIZE_UPDATE: u8 = 0x50;
    pub const EXTERNAL_AUTHENTICATE: u8 = 0x82;
    pub const GET_RESPONSE: u8 = 0xC0;
    pub const STORE_DATA: u8 = 0xE2;
}

/// INITIALIZE UPDATE (GP 2.3.1 Appendix E, Amendment D): `80 50 KVN 00 08
/// <host challenge> 00`, the first command of every SCP02/SCP03 session.
pub fn initialize_update(key_version: u8, host_challenge: &[u8; 8]) -> CommandApdu {
    CommandApdu::fixed(
        CLA_GP,
        ins::INITIALIZE_UPDATE,
        key_version,
        0x00,
        host_challenge.to_vec(),
        Some(256),
    )
}

/// EXTERNAL AUTHENTICATE: `84 82 <security level> 00 10 <host cryptogram>
/// <C-MAC>`. It always carries a C-MAC, so its CLA has the secure messaging
/// bit set already.
pub fn external_authenticate(
    security_level: u8,
    host_cryptogram: &[u8; 8],
    mac: &[u8; 8],
) -> CommandApdu {
    CommandApdu::fixed(
        CLA_GP | 0x04,
        ins::EXTERNAL_AUTHENTICATE,
        security_level,
        0x00,
        [&host_cryptogram[..], &mac[..]].concat(),
        None,
    )
}

/// Errors building a command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Apdu(#[from] ApduError),
    #[error(transparent)]
    Data(#[from] DataError),
}

/// SELECT by AID (P1 04); `next` asks for the next occurrence (P2 02).
pub fn select(aid: &[u8], next: bool) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_ISO,
        ins::SELECT,
        0x04,
        if next { 0x02 } else { 0x00 },
        aid,
        Some(256),
    )?)
}

/// GET DATA of a tag (one or two bytes in P1 P2).
pub fn get_data(tag: u16) -> CommandApdu {
    CommandApdu::fixed(
        CLA_GP,
        ins::GET_DATA,
        tag.to_be_bytes()[0],
        tag.to_be_bytes()[1],
        Vec::new(),
        Some(256),
    )
}

/// GET STATUS of a scope, in the E3 (`tlv`) or legacy format; `next` asks
/// for the next page after 6310. Search criterion: every AID (4F 00).
pub fn get_status(scope: Scope, tlv: bool, next: bool) -> CommandApdu {
    let p2 = if tlv { 0x02 } else { 0x00 } | if next { 0x01 } else { 0x00 };
    CommandApdu::fixed(
        CLA_GP,
        ins::GET_STATUS,
        scope.p1(),
        p2,
        vec![0x4F, 0x00],
        Some(256),
    )
}

/// INSTALL [for load].
pub fn install_for_load(v: &InstallForLoad) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::INSTALL,
        install_p1::FOR_LOAD,
        0x00,
        v.to_data()?,
        Some(256),
    )?)
}

/// INSTALL [for install], [for make selectable] or both, chosen by `p1`
/// (see [`install_p1`]).
pub fn install_for_install(p1: u8, v: &InstallForInstall) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::INSTALL,
        p1,
        0x00,
        v.to_data()?,
        Some(256),
    )?)
}

/// INSTALL [for extradition] (GP 2.3.1 11.5.2.3.4): associates the
/// application or load file `entity` with the security domain `sd`. The
/// module, privileges, install parameters and token fields are empty.
pub fn install_for_extradition(sd: &[u8], entity: &[u8]) -> Result<CommandApdu, CommandError> {
    let mut data = Vec::new();
    for field in [sd, &[][..], entity, &[][..], &[][..], &[][..]] {
        let n = u8::try_from(field.len())
            .map_err(|_| crate::install::DataError("an AID longer than 255 bytes".into()))?;
        data.push(n);
        data.extend_from_slice(field);
    }
    Ok(CommandApdu::new(
        CLA_GP,
        ins::INSTALL,
        crate::install::p1::FOR_EXTRADITION,
        0x00,
        data,
        Some(256),
    )?)
}

/// One LOAD block.
pub fn load(p1: u8, block_number: u8, data: &[u8]) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::LOAD,
        p1,
        block_number,
        data,
        Some(256),
    )?)
}

/// DELETE of an AID; `related` also deletes what depends on it (P2 80).
pub fn delete(aid: &[u8], related: bool) -> Result<CommandApdu, CommandError> {
    if !(5..=16).contains(&aid.len()) {
        return Err(DataError(format!(
            "DELETE: an AID has 5 to 16 bytes, this one {}",
            aid.len()
        ))
        .into());
    }
    let mut data = vec![0x4F, u8::try_from(aid.len()).unwrap_or(16)];
    data.extend_from_slice(aid);
    delete_command(data, related)
}

/// The DELETE command around its data (P2 80 when `related`).
fn delete_command(data: Vec<u8>, related: bool) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::DELETE,
        0x00,
        if related { 0x80 } else { 0x00 },
        data,
        Some(256),
    )?)
}

/// DELETE of an AID carrying a delegated management token (tag 9E, GP
/// 2.3.1 11.2.2.3); the card answers with a confirmation.
pub fn delete_with_token(
    aid: &[u8],
    related: bool,
    token: &[u8],
) -> Result<CommandApdu, CommandError> {
    delete_command(crate::token::delete_data(aid, token)?, related)
}

/// SET STATUS: `p1` the status type (80 ISD, 40 application, 60 SD and its
/// applications), `state` the new life cycle byte.
pub fn set_status(p1: u8, state: u8, aid: &[u8]) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::SET_STATUS,
        p1,
        state,
        aid,
        None,
    )?)
}

/// INSTALL [for personalization]: the STORE DATA commands that follow in
/// this session go to `application` (through its security domain).
pub fn install_for_personalization(application: &[u8]) -> Result<CommandApdu, CommandError> {
    let data = crate::install::InstallForPersonalization {
        application_aid: application.to_vec(),
    }
    .to_data()?;
    Ok(CommandApdu::new(
        CLA_GP,
        ins::INSTALL,
        crate::install::p1::FOR_PERSONALIZATION,
        0x00,
        data,
        Some(256),
    )?)
}

/// STORE DATA (GP 2.3.1 section 11.11): one block of personalization data.
/// `p1` carries the last-block bit (80) and the data structure and
/// encryption bits; `block_number` counts from 0.
pub fn store_data(p1: u8, block_number: u8, data: &[u8]) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::STORE_DATA,
        p1,
        block_number,
        data,
        Some(256),
    )?)
}

/// GET RESPONSE (ISO/IEC 7816-4): the rest of an answer announced by 61xx.
/// `ne` is the length the card announced (0 = 256).
pub fn get_response(ne: u8) -> CommandApdu {
    let ne = if ne == 0 { 256 } else { usize::from(ne) };
    CommandApdu::fixed(CLA_ISO, ins::GET_RESPONSE, 0, 0, Vec::new(), Some(ne))
}

/// PUT KEY: `replace_version` 0 adds a key set, else it replaces that
/// version; `data` is the new version byte followed by the key blocks.
pub fn put_key(
    replace_version: u8,
    first_key_id: u8,
    data: &[u8],
) -> Result<CommandApdu, CommandError> {
    put_key_p2(replace_version, 0x80 | first_key_id, data)
}

/// PUT KEY of one key named by its identifier alone (P2 bit 8 clear), as
/// SCP11's EC keys are put (GP Amendment F): `replace_version` 0 adds.
pub fn put_key_single(
    replace_version: u8,
    key_id: u8,
    data: &[u8],
) -> Result<CommandApdu, CommandError> {
    put_key_p2(replace_version, key_id & 0x7F, data)
}

/// PUT KEY with P2 as given: the one encoding both forms share.
fn put_key_p2(p1: u8, p2: u8, data: &[u8]) -> Result<CommandApdu, CommandError> {
    Ok(CommandApdu::new(
        CLA_GP,
        ins::PUT_KEY,
        p1,
        p2,
        data,
        Some(256),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_specification() {
        assert_eq!(
            select(&[0xA0, 0, 0, 1, 0x51, 0, 0, 0], false)
                .unwrap()
                .to_bytes(),
            hex::decode("00A4040008A00000015100000000").unwrap()
        );
        assert_eq!(
            get_data(0x9F7F).to_bytes(),
            hex::decode("80CA9F7F00").unwrap()
        );
        assert_eq!(
            get_status(Scope::Applications, true, true).to_bytes(),
            hex::decode("80F24003024F0000").unwrap()
        );
        assert_eq!(
            delete(&[1, 2, 3, 4, 5], true).unwrap().to_bytes(),
            hex::decode("80E40080074F05010203040500").unwrap()
        );
        assert_eq!(
            set_status(0x40, 0x83, &[1, 2, 3, 4, 5]).unwrap().to_bytes(),
            hex::decode("80F040830501020304 05".replace(' ', "")).unwrap()
        );
        assert_eq!(
            load(0x80, 3, &[0xC4, 0x00]).unwrap().to_bytes(),
            hex::decode("80E8800302C40000").unwrap()
        );
    }
}
