//! SET STATUS (GP 2.3.1 11.10): card life cycle transitions (P1 80) and
//! locking or unlocking applications (P1 40; P1 60 for a security domain
//! and its applications).
//!
//! The card life cycle only moves forward — OP_READY, INITIALIZED, SECURED
//! — except between SECURED and CARD_LOCKED, and anything may end in
//! TERMINATED, which nothing leaves.

use gp::apdu::CommandApdu;
use gp::{ApplicationLifeCycle, CardLifeCycle};

use crate::card::Card;
use crate::commands::Ctx;
use crate::sw::{self, fail, Outcome, Reply};

const P1_ISD: u8 = 0x80;
const P1_APPLICATION: u8 = 0x40;
const P1_SD_AND_APPLICATIONS: u8 = 0x60;
/// P2 for applications: lock (bit 8 set) or unlock.
const P2_LOCK: u8 = 0x80;
const P2_UNLOCK: u8 = 0x00;

pub fn set_status(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    ctx.require_session("SET STATUS")?;
    match cmd.p1() {
        P1_ISD => card_life_cycle(card, cmd),
        P1_APPLICATION => application(card, cmd),
        P1_SD_AND_APPLICATIONS => {
            if cmd.data() == card.state.isd_aid() {
                Err(fail(
                    sw::CONDITIONS,
                    "the ISD is locked by locking the card (P1 80, P2 7F)",
                ))
            } else {
                Err(fail(
                    sw::REF_NOT_FOUND,
                    "no supplementary security domain with this AID",
                ))
            }
        }
        other => Err(fail(
            sw::BAD_P1P2,
            format!("SET STATUS P1 {other:02X}: 80, 40 or 60 expected"),
        )),
    }
}

/// Whether the card may move from `from` to `to`.
pub fn allowed(from: CardLifeCycle, to: CardLifeCycle) -> bool {
    use CardLifeCycle::*;
    matches!(
        (from, to),
        (OpReady, Initialized)
            | (OpReady, Secured)
            | (Initialized, Secured)
            | (Secured, CardLocked)
            | (CardLocked, Secured)
    ) || (to == Terminated && from != Terminated)
}

fn card_life_cycle(card: &mut Card, cmd: &CommandApdu) -> Outcome {
    if !cmd.data().is_empty() && cmd.data() != card.state.isd_aid() {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!(
                "SET STATUS P1 80 names {}, not the ISD",
                hex::encode_upper(cmd.data())
            ),
        ));
    }
    let to = CardLifeCycle::from_byte(cmd.p2()).ok_or_else(|| {
        fail(
            sw::BAD_DATA,
            format!("{:02X} is not a card life cycle state", cmd.p2()),
        )
    })?;
    let from = card.state.card_life_cycle();
    if !allowed(from, to) {
        return Err(fail(
            sw::CONDITIONS,
            format!("the card cannot go from {from} to {to}"),
        ));
    }
    let mut next = card.state.clone();
    next.life_cycle = to.byte();
    card.commit(next)?;
    Ok(Reply::ok())
}

fn application(card: &mut Card, cmd: &CommandApdu) -> Outcome {
    let aid = cmd.data();
    if aid == card.state.isd_aid() {
        return Err(fail(
            sw::CONDITIONS,
            "the ISD is locked by locking the card (P1 80, P2 7F)",
        ));
    }
    let mut next = card.state.clone();
    let instance = next
        .instances
        .iter_mut()
        .find(|i| i.aid == aid)
        .ok_or_else(|| {
            fail(
                sw::REF_NOT_FOUND,
                format!("no application {}", hex::encode_upper(aid)),
            )
        })?;
    let locked = ApplicationLifeCycle(instance.life_cycle).is_locked();
    instance.life_cycle = match (cmd.p2(), locked) {
        (P2_LOCK, false) => instance.life_cycle | ApplicationLifeCycle::LOCKED_BIT,
        (P2_UNLOCK, true) => instance.life_cycle & !ApplicationLifeCycle::LOCKED_BIT,
        (P2_LOCK | P2_UNLOCK, _) => {
            return Err(fail(
                sw::CONDITIONS,
                format!(
                    "application {} is {} already",
                    hex::encode_upper(aid),
                    if locked { "locked" } else { "unlocked" }
                ),
            ))
        }
        (other, _) => {
            return Err(fail(
                sw::BAD_DATA,
                format!("SET STATUS P2 {other:02X} for an application: 80 (lock) or 00 (unlock)"),
            ))
        }
    };
    card.commit(next)?;
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use CardLifeCycle::*;

    #[test]
    fn transitions() {
        assert!(
            allowed(OpReady, Secured)
                && allowed(Secured, CardLocked)
                && allowed(CardLocked, Secured)
        );
        assert!(allowed(CardLocked, Terminated) && allowed(OpReady, Terminated));
        assert!(!allowed(Secured, Initialized) && !allowed(Terminated, Secured));
        assert!(!allowed(Terminated, Terminated) && !allowed(Secured, Secured));
        assert!(!allowed(OpReady, CardLocked));
    }
}
