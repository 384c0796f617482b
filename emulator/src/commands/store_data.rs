//! INSTALL [for personalization] (GP 2.3.1 11.5.2.3.5) and STORE DATA
//! (11.11): personalization data that the ISD forwards to an application.
//!
//! INSTALL [for personalization] names the application for the rest of the
//! secure channel session on that logical channel; each STORE DATA block
//! then goes to its `org.globalplatform.Application.processData`, the
//! command whole (header and data, secure messaging removed) in the APDU
//! buffer. Data the application decrypts itself (P1 b7-b6 = 11, under the
//! DEK) is forwarded as it came: GlobalPlatform leaves its decryption to the
//! application. Without a target, STORE DATA is the ISD's own: the
//! certificate chains of its SCP11 keys (see `scp11_keys`).

use gp::apdu::CommandApdu;
use gp::install::InstallForPersonalization;
use gp::ApplicationLifeCycle;

use crate::card::{Card, Personalizing};
use crate::commands::{check_aid, require_unlocked, Ctx};
use crate::sw::{self, fail, Outcome, Reply};

/// STORE DATA P1 b8: the last block of the sequence.
const P1_LAST_BLOCK: u8 = 0x80;

/// INSTALL [for personalization]: the instance must exist, not be locked
/// and implement org.globalplatform.Application.
pub fn for_personalization(card: &mut Card, ctx: &mut Ctx<'_>, data: &[u8]) -> Outcome {
    let v =
        InstallForPersonalization::parse(data).map_err(|e| fail(sw::BAD_DATA, e.to_string()))?;
    let aid = v.application_aid;
    check_aid(&aid, "application AID")?;
    let name = hex::encode_upper(&aid);
    let instance = card.state.instance(&aid).ok_or_else(|| {
        fail(
            sw::REF_NOT_FOUND,
            format!("no application {name} to personalize"),
        )
    })?;
    // Only the security domain an application is associated with passes
    // it personalization data (GP 2.3.1 11.5.2.3.5); from any other one
    // the application is not among its own: 6A88, referenced data not found.
    let own = ctx.sd.as_deref().unwrap_or(card.state.isd_aid());
    if instance.security_domain != own {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!(
                "application {name} is associated with security domain {}, not {}: personalize it through that one",
                hex::encode_upper(&instance.security_domain),
                hex::encode_upper(own)
            ),
        ));
    }
    if instance.is_security_domain() {
        return Err(fail(
            sw::CONDITIONS,
            format!("{name} is a security domain: it takes its keys by PUT KEY, not STORE DATA"),
        ));
    }
    let life_cycle = ApplicationLifeCycle(instance.life_cycle);
    if life_cycle.is_locked() {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "application {name} is {}: it cannot be personalized",
                life_cycle.describe(false, false)
            ),
        ));
    }
    let info = card
        .jcvm
        .applet_info(&mut card.state, &aid)
        .map_err(|e| fail(sw::UNKNOWN, format!("application {name}: {e}")))?;
    if !info.personalizable {
        return Err(fail(
            sw::CONDITIONS,
            format!(
                "application {name} does not implement org.globalplatform.Application: its security domain cannot pass it data"
            ),
        ));
    }
    let channel = ctx
        .vol
        .channel_mut(ctx.ch)
        .ok_or_else(|| fail(sw::CHANNEL_NOT_SUPPORTED, "the channel closed"))?;
    channel.personalizing = Some(Personalizing {
        aid,
        next_block: 0,
        done: false,
    });
    Ok(Reply::no_receipt())
}

/// STORE DATA: one block to the application being personalized.
pub fn store_data(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    require_unlocked(card, "STORE DATA")?;
    let target = ctx
        .vol
        .channel(ctx.ch)
        .and_then(|c| c.personalizing.clone());
    let Some(target) = target else {
        // No application named: the data is the security domain's own.
        if ctx.sd.is_some() {
            return Err(fail(
                sw::CONDITIONS,
                "STORE DATA needs an INSTALL [for personalization] naming the application first, in this session; a supplementary security domain stores no data of its own",
            ));
        }
        let pending = ctx.vol.channel_mut(ctx.ch).and_then(|c| c.sd_store.take());
        let (reply, rest) = super::scp11_keys::store_data(card, ctx, cmd, pending)?;
        if let Some(c) = ctx.vol.channel_mut(ctx.ch) {
            c.sd_store = rest;
        }
        return Ok(reply);
    };
    let name = hex::encode_upper(&target.aid);
    if target.done {
        return Err(fail(
            sw::CONDITIONS,
            format!("the STORE DATA sequence for {name} ended with its last block (P1 b8); a new INSTALL [for personalization] starts another"),
        ));
    }
    if u16::from(cmd.p2()) != target.next_block {
        return Err(fail(
            sw::BAD_P1P2,
            format!(
                "STORE DATA block number {:02X}, expected {:02X} (blocks count from 00 in sequence)",
                cmd.p2(),
                target.next_block
            ),
        ));
    }
    if cmd.is_extended() {
        return Err(fail(
            sw::WRONG_LENGTH,
            "STORE DATA with an extended length: blocks are at most 255 bytes",
        ));
    }
    if card.state.instance(&target.aid).is_none() {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!("application {name} is no longer on the card"),
        ));
    }
    if !ctx.vol.active_is(card.jcvm.active()) {
        card.jcvm.set_active(ctx.vol.active());
    }
    let answer = card
        .jcvm
        .process_data(&mut card.state, &target.aid, cmd, ctx.ch);
    let reply = card.applet_answer(ctx.vol, answer)?;
    if let Some(c) = ctx.vol.channel_mut(ctx.ch) {
        c.personalizing = Some(Personalizing {
            next_block: target.next_block + 1,
            done: cmd.p1() & P1_LAST_BLOCK != 0,
            ..target
        });
    }
    Ok(reply)
}
