//! DELETE (GP 2.3.1 11.2): an application instance, a load file (with its
//! instances when P2 asks for related objects), or a key set (tags D0/D2).
//!
//! A load file another package imports stays, related objects or not:
//! those packages would be left linked to nothing. The Java Card API
//! packages in ROM and the ISD cannot be deleted.

use gp::apdu::CommandApdu;
use gp::tlv::Tlv;

use crate::card::Card;
use crate::commands::{require_unlocked, Ctx};
use crate::linker;
use crate::sw::{self, fail, Outcome, Reply};

/// P2: delete the object and its related objects.
const P2_RELATED: u8 = 0x80;

pub fn delete(card: &mut Card, ctx: &mut Ctx<'_>, cmd: &CommandApdu) -> Outcome {
    ctx.require_session("DELETE")?;
    require_unlocked(card, "DELETE")?;
    // P1 bit 8: more DELETE commands follow (each stands alone here).
    if cmd.p1() & 0x7F != 0 || (cmd.p2() != 0 && cmd.p2() != P2_RELATED) {
        return Err(fail(
            sw::BAD_P1P2,
            format!("DELETE P1 P2 {:02X}{:02X}", cmd.p1(), cmd.p2()),
        ));
    }
    let related = cmd.p2() == P2_RELATED;
    let tlvs =
        Tlv::parse_all(cmd.data()).map_err(|e| fail(sw::BAD_DATA, format!("DELETE data: {e}")))?;
    let value = |tag: u8| {
        tlvs.iter()
            .find(|t| t.tag().to_bytes() == [tag])
            .and_then(|t| t.bytes())
    };
    if let Some(aid) = value(0x4F) {
        if let Some(policy) = &card.delegated {
            policy.check_delete(cmd.p1(), cmd.p2(), cmd.data())?;
        }
        // Nothing is deleted while an applet of the same context (package)
        // is active on a logical channel (JCRE 3.0.5 11.3.4.1, 11.3.4.3).
        let package = card
            .state
            .instance(aid)
            .map_or(aid.to_vec(), |i| i.load_file.clone());
        for (channel, active) in ctx.vol.active() {
            if card
                .state
                .instance(&active)
                .is_some_and(|i| i.load_file == package)
            {
                return Err(fail(
                    sw::CONDITIONS,
                    format!(
                        "{} of the same package is selected on logical channel {channel}",
                        hex::encode_upper(&active)
                    ),
                ));
            }
        }
        return delete_aid(card, aid, related);
    }
    if let Some(kvn) = value(0xD2) {
        return delete_key_set(card, kvn, value(0xD0));
    }
    Err(fail(
        sw::BAD_DATA,
        "DELETE needs tag 4F (an AID) or D2 (a key version)",
    ))
}

fn delete_aid(card: &mut Card, aid: &[u8], related: bool) -> Outcome {
    let shown = hex::encode_upper(aid);
    if aid == card.state.isd_aid() {
        return Err(fail(
            sw::CONDITIONS,
            "the Issuer Security Domain cannot be deleted",
        ));
    }
    if aid == crate::state::SD_LOAD_FILE {
        return Err(fail(
            sw::CONDITIONS,
            format!("load file {shown} is the card's Security Domain module, in ROM"),
        ));
    }
    if card.state.security_domain(aid).is_some() {
        let state = &card.state;
        let associated: Vec<String> = state
            .instances
            .iter()
            .map(|i| (&i.aid, &i.security_domain))
            .chain(state.packages.iter().map(|p| (&p.aid, &p.security_domain)))
            .filter(|(_, sd)| sd.as_slice() == aid)
            .map(|(a, _)| hex::encode_upper(a))
            .collect();
        if !associated.is_empty() {
            return Err(fail(
                sw::CONDITIONS,
                format!(
                    "security domain {shown} has associated applications or load files ({}); extradite or delete them first",
                    associated.join(", ")
                ),
            ));
        }
    }
    if let Some(pos) = card.state.instances.iter().position(|i| i.aid == aid) {
        uninstall(card, &[aid.to_vec()])?;
        let mut next = card.state.clone();
        next.instances.remove(pos);
        next.heap.forget_applet(aid);
        next.heap.dirty = false;
        card.jcvm.invalidate();
        return card.commit_confirmed(next, gp::token::Receipt::Delete { aid });
    }
    let state = &card.state;
    if let Some(package) = state.package(aid) {
        let dependents: Vec<String> = state
            .dependents(package)
            .iter()
            .map(|p| hex::encode_upper(&p.aid))
            .collect();
        let instances: Vec<String> = state
            .instances
            .iter()
            .filter(|i| i.load_file == aid)
            .map(|i| hex::encode_upper(&i.aid))
            .collect();
        if !instances.is_empty() && !related {
            return Err(fail(
                sw::CONDITIONS,
                format!(
                    "package {shown} has instances ({}); delete them or ask for related objects (P2 80)",
                    instances.join(", ")
                ),
            ));
        }
        // The instances hear of their deletion before the dependency
        // check (JCRE 11.3.4); what they did stays if the check fails.
        let aids: Vec<Vec<u8>> = state
            .instances
            .iter()
            .filter(|i| i.load_file == aid)
            .map(|i| i.aid.clone())
            .collect();
        uninstall(card, &aids)?;
        if let Some(user) = dependents.first() {
            card.save_heap()?;
            return Err(fail(
                sw::CONDITIONS,
                format!("package {shown} is imported by {user}; delete that first"),
            ));
        }
        let mut next = card.state.clone();
        for i in next.instances.iter().filter(|i| i.load_file == aid) {
            let key = hex::encode_upper(&i.aid);
            next.heap.applets.remove(&key);
        }
        next.instances.retain(|i| i.load_file != aid);
        next.packages.retain(|p| p.aid != aid);
        next.heap.forget_package(aid);
        next.heap.dirty = false;
        card.jcvm.invalidate();
        return card.commit_confirmed(next, gp::token::Receipt::Delete { aid });
    }
    let rom = state
        .profile
        .api_version()
        .map(linker::rom_packages)
        .unwrap_or_default();
    if rom.iter().any(|p| p.aid == aid) {
        return Err(fail(
            sw::CONDITIONS,
            format!("package {shown} is part of the Java Card API in ROM"),
        ));
    }
    Err(fail(
        sw::REF_NOT_FOUND,
        format!("nothing with AID {shown} is on the card"),
    ))
}

/// AppletEvent.uninstall() of each instance about to go (the JCVM calls
/// it when the applet implements AppletEvent, in its context and as the
/// selected applet; what it throws is ignored).
/// One that spends the instruction budget fails the DELETE with 6F00 and
/// leaves the card as it was: its writes are undone.
fn uninstall(card: &mut Card, aids: &[Vec<u8>]) -> Result<(), crate::sw::Fail> {
    let before = card.state.heap.clone();
    for aid in aids {
        if let Some(crate::jcvm::Answer::Mute(why)) = card.jcvm.uninstall(&mut card.state, aid) {
            card.state.heap = before;
            card.jcvm.invalidate();
            return Err(fail(
                sw::UNKNOWN,
                format!("uninstall() of {}: {why}", hex::encode_upper(aid)),
            ));
        }
    }
    Ok(())
}

fn delete_key_set(card: &mut Card, kvn: &[u8], key_id: Option<&[u8]>) -> Outcome {
    let [kvn] = kvn else {
        return Err(fail(sw::BAD_DATA, "tag D2 must hold one key version byte"));
    };
    if key_id.is_some_and(|id| !id.is_empty()) {
        return Err(fail(
            sw::BAD_DATA,
            "deleting single keys (tag D0) is not supported; delete the key set",
        ));
    }
    let state = &card.state;
    if state.key_set(*kvn).filter(|_| *kvn != 0).is_none() {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!("no key set with version {kvn:02X}"),
        ));
    }
    if state.key_sets.len() == 1 {
        return Err(fail(sw::CONDITIONS, "the last key set cannot be deleted"));
    }
    let mut next = state.clone();
    next.key_sets.retain(|k| k.version() != *kvn);
    card.commit(next)?;
    Ok(Reply::no_receipt())
}
