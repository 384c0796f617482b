//! The Issuer Security Domain's commands (GP 2.3.1 chapter 11), one module
//! each. Every handler gets the command as the host meant it (secure
//! messaging already checked and removed) and returns a [`Reply`](crate::sw::Reply) or a
//! [`Fail`]; the card applies the response protection.

pub mod auth;
pub mod delete;
pub mod get_data;
pub mod get_response;
pub mod get_status;
pub mod install;
pub mod manage_channel;
pub mod put_key;
pub mod scp11;
pub mod scp11_keys;
pub mod select;
pub mod set_status;
pub mod ssd;
pub mod store_data;

use gp::apdu::CommandApdu;
use gp::CardLifeCycle;
use scp::CardChannel;

use crate::card::{class, Card, Paging, Volatile};
use crate::load::LoadSequence;
use crate::sw::{self, fail, Fail, Outcome};

pub const INS_SELECT: u8 = 0xA4;
pub const INS_MANAGE_CHANNEL: u8 = 0x70;
pub const INS_INITIALIZE_UPDATE: u8 = 0x50;
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
pub const INS_GET_DATA: u8 = 0xCA;
pub const INS_GET_STATUS: u8 = 0xF2;
pub const INS_INSTALL: u8 = 0xE6;
pub const INS_LOAD: u8 = 0xE8;
pub const INS_DELETE: u8 = 0xE4;
pub const INS_PUT_KEY: u8 = 0xD8;
pub const INS_SET_STATUS: u8 = 0xF0;
pub const INS_STORE_DATA: u8 = 0xE2;
pub const INS_PSO: u8 = 0x2A;
pub const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;

/// CLA of GlobalPlatform commands, without channel and secure messaging bits.
pub const CLA_GP: u8 = 0x80;
/// CLA of ISO commands.
pub const CLA_ISO: u8 = 0x00;

/// What a handler may use besides the card: the volatile state, the open
/// secure channel (if any), and the LOAD sequence and GET STATUS paging the
/// card took out of the volatile state for this command only.
pub struct Ctx<'a> {
    /// The logical channel the command came on.
    pub ch: u8,
    /// The security domain answering: `None` for the ISD, else the AID of
    /// the supplementary security domain selected on the channel.
    pub sd: Option<Vec<u8>>,
    pub vol: &'a mut Volatile,
    pub channel: Option<&'a CardChannel>,
    pub load: Option<LoadSequence>,
    pub paging: Option<Paging>,
}

impl Ctx<'_> {
    /// Card content management needs a session at the profile's minimum
    /// security level (see [`crate::CardProfile::min_level`]): every
    /// protection the minimum has must be on.
    pub fn require_level(&self, card: &Card, what: &str) -> Result<(), Fail> {
        let channel = self.require_session(what)?;
        let min = card
            .state
            .profile
            .min_security_level()
            .map_err(|e| fail(sw::UNKNOWN, e))?;
        let level = channel.info().security_level;
        if level.byte() & min.byte() == min.byte() {
            Ok(())
        } else {
            Err(fail(
                sw::SECURITY,
                format!("{what} needs security level {min} or above; the session has {level}"),
            ))
        }
    }

    /// Card content management needs an authenticated host.
    pub fn require_session(&self, what: &str) -> Result<&CardChannel, Fail> {
        self.channel.ok_or_else(|| {
            fail(
                sw::SECURITY,
                format!("{what} needs an authenticated secure channel"),
            )
        })
    }
}

/// Dispatches a command to the ISD.
pub fn isd(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    let cla = class(cmd.cla());
    let gp = |name: &str| -> Result<(), Fail> {
        if cla == CLA_GP {
            Ok(())
        } else {
            Err(fail(
                sw::CLA_NOT_SUPPORTED,
                format!(
                    "{name} takes CLA 80 (84 with secure messaging), got {:02X}",
                    cmd.cla()
                ),
            ))
        }
    };
    if card.state.card_life_cycle() == CardLifeCycle::Terminated && cmd.ins() != INS_GET_DATA {
        return Err(fail(
            sw::CONDITIONS,
            "the card is TERMINATED: it answers GET DATA only",
        ));
    }
    // Commands that change the card need the profile's minimum security
    // level before anything else about them is looked at, so that a
    // session below it learns nothing from their answers but 6982.
    let management = match cmd.ins() {
        INS_INSTALL => Some("INSTALL"),
        INS_LOAD => Some("LOAD"),
        INS_PUT_KEY => Some("PUT KEY"),
        INS_DELETE => Some("DELETE"),
        INS_SET_STATUS => Some("SET STATUS"),
        INS_STORE_DATA => Some("STORE DATA"),
        _ => None,
    };
    if let Some(what) = management {
        ctx.require_level(card, what)?;
    }
    ssd::gate(card, ctx, cmd)?;
    match cmd.ins() {
        INS_GET_DATA => {
            if cla != CLA_GP && cla != CLA_ISO {
                return Err(fail(sw::CLA_NOT_SUPPORTED, "GET DATA takes CLA 00 or 80"));
            }
            get_data::get_data(card, cmd)
        }
        INS_GET_STATUS => {
            gp("GET STATUS")?;
            get_status::get_status(card, ctx, cmd)
        }
        INS_INSTALL => {
            gp("INSTALL")?;
            install::install(card, ctx, cmd)
        }
        INS_LOAD => {
            gp("LOAD")?;
            install::load(card, ctx, cmd)
        }
        INS_DELETE => {
            gp("DELETE")?;
            delete::delete(card, ctx, cmd)
        }
        INS_PUT_KEY => {
            gp("PUT KEY")?;
            put_key::put_key(card, ctx, cmd)
        }
        INS_SET_STATUS => {
            gp("SET STATUS")?;
            set_status::set_status(card, ctx, cmd)
        }
        INS_STORE_DATA => {
            gp("STORE DATA")?;
            store_data::store_data(card, ctx, cmd)
        }
        INS_SELECT => Err(fail(
            sw::SM_NOT_SUPPORTED,
            "SELECT with secure messaging is not supported",
        )),
        other => Err(fail(
            sw::INS_NOT_SUPPORTED,
            format!("the ISD has no instruction {other:02X}"),
        )),
    }
}

/// Card content management is closed while the card is locked.
pub fn require_unlocked(card: &Card, what: &str) -> Result<(), Fail> {
    match card.state.card_life_cycle() {
        CardLifeCycle::CardLocked | CardLifeCycle::Terminated => Err(fail(
            sw::CONDITIONS,
            format!(
                "{what} is refused: the card is {}",
                card.state.card_life_cycle()
            ),
        )),
        _ => Ok(()),
    }
}

/// An AID field: 5 to 16 bytes (ISO/IEC 7816-5).
pub fn check_aid(aid: &[u8], what: &str) -> Result<(), Fail> {
    if (5..=16).contains(&aid.len()) {
        Ok(())
    } else {
        Err(fail(
            sw::BAD_DATA,
            format!(
                "{what} {} has {} bytes; an AID has 5 to 16",
                hex::encode_upper(aid),
                aid.len()
            ),
        ))
    }
}
