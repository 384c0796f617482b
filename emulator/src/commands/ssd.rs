//! Supplementary security domains (GP 2.3.1 7.2, 11.5.2.3.4): creating
//! one from the card's built-in Security Domain module, extraditing
//! applications and load files into one, and what an SSD answers.
//!
//! An SSD is a card-manager entity, not an applet: no CAP bytecode runs
//! for it. It starts with a copy of the ISD's default key set (counters
//! at zero), as cards that ship SSDs with the issuer's initial keys do, so
//! that the SD provider can open its first secure channel and replace
//! them with PUT KEY through it. It manages its own keys and personalizes
//! the applications associated with it (INSTALL [for personalization] and
//! STORE DATA); loading, installing, deleting and extradition stay with
//! the ISD, since this card grants no SSD Authorized Management.

use gp::apdu::CommandApdu;
use gp::install::{p1, InstallForInstall};
use gp::ApplicationLifeCycle;

use crate::card::Card;
use crate::commands::{check_aid, require_unlocked, Ctx};
use crate::keyset::KeySet;
use crate::state::{Instance, SD_LOAD_FILE, SD_MODULE};
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// Whether INSTALL [for install] names the built-in Security Domain module.
pub fn names_sd_module(v: &InstallForInstall) -> bool {
    v.load_file_aid == SD_LOAD_FILE && v.module_aid == SD_MODULE
}

/// INSTALL [for install (and make selectable)] of the Security Domain
/// module: records an SSD associated with the ISD. It needs the Security
/// Domain privilege (the module makes nothing else); install parameters
/// are accepted and kept, C9 optional.
pub fn install_sd(card: &mut Card, v: &InstallForInstall, selectable: bool) -> Outcome {
    let shown = hex::encode_upper(&v.application_aid);
    if !v.privileges.is_security_domain() {
        return Err(fail(
            sw::BAD_DATA,
            format!(
                "security domain {shown}: the Security Domain module makes security domains; give the Security Domain privilege (80)"
            ),
        ));
    }
    if card.state.aid_in_use(&v.application_aid) {
        return Err(fail(
            sw::CONDITIONS,
            format!("AID {shown} is already on the card"),
        ));
    }
    let initial = card
        .state
        .key_set(0)
        .map(|k| KeySet::new(k.keys.clone()))
        .ok_or_else(|| fail(sw::CONDITIONS, "the ISD has no key set to copy"))?;
    let mut next = card.state.clone();
    next.instances.push(Instance {
        aid: v.application_aid.clone(),
        load_file: SD_LOAD_FILE.to_vec(),
        module: SD_MODULE.to_vec(),
        privileges: v.privileges.0.to_vec(),
        life_cycle: if selectable {
            ApplicationLifeCycle::SELECTABLE
        } else {
            ApplicationLifeCycle::INSTALLED
        },
        parameters: v.c9_parameters().unwrap_or_default().to_vec(),
        security_domain: card.state.isd_aid().to_vec(),
        quota: Default::default(),
        key_sets: vec![initial],
    });
    card.commit(next)?;
    Ok(Reply::no_receipt())
}

/// INSTALL [for extradition] (P1 10): the data is the security domain AID,
/// an empty field, the application or load file AID, an empty field, the
/// install parameters and the token, each with its length.
pub fn extradite(card: &mut Card, ctx: &Ctx<'_>, data: &[u8]) -> Outcome {
    if ctx.sd.is_some() {
        return Err(not_for_ssd(ctx, "INSTALL [for extradition]"));
    }
    let fields = lv_fields(data, "INSTALL [for extradition]")?;
    let (target, entity) = match fields.as_slice() {
        [sd, _, entity, ..] => (sd.to_vec(), entity.to_vec()),
        _ => {
            return Err(fail(
                sw::BAD_DATA,
                "INSTALL [for extradition]: the data ends before the application AID",
            ))
        }
    };
    check_aid(&target, "security domain AID")?;
    check_aid(&entity, "application or load file AID")?;
    let (target_shown, entity_shown) = (hex::encode_upper(&target), hex::encode_upper(&entity));
    let state = &card.state;
    if !state.is_any_security_domain(&target) {
        return Err(match state.instance(&target) {
            Some(_) => fail(
                sw::BAD_DATA,
                format!("{target_shown} is an application, not a security domain: nothing can be extradited to it"),
            ),
            None => fail(
                sw::REF_NOT_FOUND,
                format!("security domain {target_shown} is not on the card"),
            ),
        });
    }
    if target == entity {
        return Err(fail(
            sw::BAD_DATA,
            format!("security domain {target_shown} cannot be associated with itself"),
        ));
    }
    let mut next = state.clone();
    if let Some(i) = next.instances.iter_mut().find(|i| i.aid == entity) {
        i.security_domain = target;
    } else if let Some(p) = next.packages.iter_mut().find(|p| p.aid == entity) {
        p.security_domain = target;
    } else {
        return Err(fail(
            sw::REF_NOT_FOUND,
            format!("no application or load file {entity_shown} to extradite"),
        ));
    }
    card.commit(next)?;
    Ok(Reply::no_receipt())
}

/// What an SSD refuses before anything else: the card content management
/// that is the ISD's here. INSTALL is allowed for personalization only.
pub fn gate(card: &Card, ctx: &Ctx<'_>, cmd: &CommandApdu) -> Result<(), Fail> {
    if ctx.sd.is_none() {
        return Ok(());
    }
    require_unlocked(card, "a supplementary security domain's command")?;
    let what = match cmd.ins() {
        super::INS_LOAD => "LOAD",
        super::INS_DELETE => "DELETE",
        super::INS_SET_STATUS => "SET STATUS",
        super::INS_INSTALL if cmd.p1() & 0x7F != p1::FOR_PERSONALIZATION => {
            return Err(fail(
                sw::BAD_P1P2,
                format!(
                    "INSTALL P1 {:02X}: {}",
                    cmd.p1(),
                    not_for_ssd(ctx, "loading, installing and extradition").why
                ),
            ))
        }
        _ => return Ok(()),
    };
    Err(not_for_ssd(ctx, what))
}

fn not_for_ssd(ctx: &Ctx<'_>, what: &str) -> Fail {
    fail(
        sw::INS_NOT_SUPPORTED,
        format!(
            "{what} goes through the ISD: supplementary security domain {} has no Authorized Management on this card",
            hex::encode_upper(ctx.sd.as_deref().unwrap_or_default())
        ),
    )
}

/// Splits length-value fields (one length byte each).
fn lv_fields<'a>(data: &'a [u8], what: &str) -> Result<Vec<&'a [u8]>, Fail> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len);
        let value = tail.get(..len).ok_or_else(|| {
            fail(
                sw::BAD_DATA,
                format!("{what}: a field of {len} bytes with {} left", tail.len()),
            )
        })?;
        out.push(value);
        rest = &tail[len..];
    }
    Ok(out)
}
