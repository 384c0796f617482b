//! SELECT by AID (ISO/IEC 7816-4, GP 2.3.1 11.9, JCRE 3.0.5 4.5.2) on a
//! logical channel: full or partial AID, first or next occurrence, with
//! the multiselection rules of Java Card. Selecting anything ends the
//! secure channel session of that channel, as deselection does on a card.

use gp::apdu::CommandApdu;
use gp::CardLifeCycle;

use crate::card::{class, Card, Selected, Volatile};
use crate::commands::CLA_ISO;
use crate::jcvm::Answer;
use crate::recognition;
use crate::session::Session;
use crate::sw::{self, fail, Fail, Outcome, Reply};

/// The applet refused selection, or could not be asked (ISO 7816
/// SW_APPLET_SELECT_FAILED).
const SW_APPLET_SELECT_FAILED: u16 = 0x6999;

/// P1: select by DF name (AID).
const P1_BY_NAME: u8 = 0x04;
/// P2 bits 1-2: first (00) or next (02) occurrence.
const P2_NEXT: u8 = 0x02;
/// P2 bits 3-4: return the FCI (00) or no data (0C).
const P2_NO_DATA: u8 = 0x0C;

/// SELECT on logical channel `ch` (open: a SELECT opens a closed one
/// before it gets here).
pub fn select(card: &mut Card, vol: &mut Volatile, ch: u8, cmd: &CommandApdu) -> Outcome {
    // A SELECT the JCRE does not take (not by AID, or naming no
    // application) goes to the selected applet's process(), as Java Card
    // requires: applets select their own files this way.
    if let Some(Selected::Instance(aid)) = vol.selected(ch) {
        if cmd.p1() != P1_BY_NAME || !names_an_application(card, cmd) {
            let aid = aid.clone();
            return card.run_applet(vol, ch, &aid, cmd, false);
        }
    }
    if class(cmd.cla()) != CLA_ISO {
        return Err(fail(
            sw::CLA_NOT_SUPPORTED,
            format!(
                "SELECT takes CLA 00 (and the channel), got {:02X}",
                cmd.cla()
            ),
        ));
    }
    if cmd.p1() != P1_BY_NAME {
        return Err(fail(
            sw::BAD_P1P2,
            format!("SELECT P1 {:02X}: only 04 (by AID) is supported", cmd.p1()),
        ));
    }
    let occurrence = cmd.p2() & 0x03;
    let response = cmd.p2() & 0x0C;
    if cmd.p2() & 0xF0 != 0
        || (occurrence != 0 && occurrence != P2_NEXT)
        || (response != 0 && response != P2_NO_DATA)
    {
        return Err(fail(
            sw::BAD_P1P2,
            format!("SELECT P2 {:02X} is not supported", cmd.p2()),
        ));
    }
    let wanted = cmd.data();
    if wanted.len() > 16 {
        return Err(fail(
            sw::BAD_DATA,
            format!("an AID of {} bytes", wanted.len()),
        ));
    }
    let state = &card.state;
    // In registry order: the ISD first, then selectable instances. A locked
    // or terminated card offers the ISD alone.
    let mut candidates: Vec<(&[u8], Selected)> = vec![(state.isd_aid(), Selected::Isd)];
    if state.card_life_cycle() != CardLifeCycle::CardLocked
        && state.card_life_cycle() != CardLifeCycle::Terminated
    {
        candidates.extend(
            state
                .instances
                .iter()
                .filter(|i| i.is_selectable())
                .map(|i| {
                    let who = if i.is_security_domain() {
                        Selected::Sd(i.aid.clone())
                    } else {
                        Selected::Instance(i.aid.clone())
                    };
                    (i.aid.as_slice(), who)
                }),
        );
    }
    // Next occurrence: the next match after what this channel has
    // selected (ISO/IEC 7816-4 7.1.1, GP 2.3.1 11.9.2.2).
    let start = if occurrence == P2_NEXT {
        vol.selected(ch)
            .and_then(|s| candidates.iter().position(|(_, c)| c == s))
            .map_or(0, |p| p + 1)
    } else {
        0
    };
    let found = candidates
        .iter()
        .skip(start)
        .find(|(aid, _)| aid.starts_with(wanted))
        .map(|(_, s)| s.clone())
        .ok_or_else(|| {
            fail(
                sw::NOT_FOUND,
                format!(
                    "no selectable application matches {}{}",
                    hex::encode_upper(wanted),
                    if occurrence == P2_NEXT {
                        " after the one selected"
                    } else {
                        ""
                    }
                ),
            )
        })?;
    select_on(card, vol, ch, found, Some((cmd, response == 0)))
}

/// Selects `found` on the open channel `ch` (SELECT, or MANAGE CHANNEL
/// OPEN with no command: `cmd` is the SELECT and whether it wants the
/// FCI). JCRE 3.0.5 4.5: an applet whose context (package) is active on
/// another channel is selected only when it, and the applets of its
/// package active elsewhere, implement MultiSelectable (else 6985, and
/// what was selected on the channel stays selected); the JCRE then calls
/// MultiSelectable.select(appInstAlreadyActive) instead of select().
/// What was selected on the channel is deselected first, and its secure
/// channel session ends.
pub fn select_on(
    card: &mut Card,
    vol: &mut Volatile,
    ch: u8,
    found: Selected,
    cmd: Option<(&CommandApdu, bool)>,
) -> Outcome {
    let mut multi = None;
    if let Selected::Instance(aid) = &found {
        multi = multiselection(card, vol, ch, aid)?;
    }
    if let Some(c) = vol.channel_mut(ch) {
        c.session = Session::None;
        c.personalizing = None;
        c.sd_store = None;
    }
    // Re-selection of the channel's applet: deselected (and its
    // CLEAR_ON_DESELECT memory cleared) like any other (JCRE 3.0.5 4.6,
    // 5.1), then selected with Applet.reSelectingApplet true.
    let reselect = matches!(
        (&found, vol.selected(ch)),
        (Selected::Instance(new), Some(Selected::Instance(old))) if new == old
    );
    deselect_on(card, vol, ch)?;
    card.jcvm.set_reselecting(reselect);
    let outcome = select_found(card, vol, ch, found, cmd, multi);
    card.jcvm.set_reselecting(false);
    outcome
}

/// Selects `found` on channel `ch`, what was selected there deselected.
fn select_found(
    card: &mut Card,
    vol: &mut Volatile,
    ch: u8,
    found: Selected,
    cmd: Option<(&CommandApdu, bool)>,
    multi: Option<bool>,
) -> Outcome {
    match found {
        Selected::Isd => {
            card.save_heap()?;
            let data = match cmd {
                Some((_, true)) => recognition::isd_fci(&card.state),
                _ => Vec::new(),
            };
            if let Some(c) = vol.channel_mut(ch) {
                c.selected = Some(Selected::Isd);
            }
            Ok(Reply::data(data))
        }
        Selected::Sd(aid) => {
            card.save_heap()?;
            let data = match cmd {
                Some((_, true)) => recognition::ssd_fci(&aid),
                _ => Vec::new(),
            };
            if let Some(c) = vol.channel_mut(ch) {
                c.selected = Some(Selected::Sd(aid));
            }
            Ok(Reply::data(data))
        }
        Selected::Instance(aid) => {
            card.jcvm.set_active(vol.active());
            let answer = card.jcvm.select(&mut card.state, &aid, ch, multi);
            if !matches!(answer, Answer::Response { sw: sw::OK, .. }) {
                return card.applet_answer(vol, answer);
            }
            if let Some(c) = vol.channel_mut(ch) {
                c.selected = Some(Selected::Instance(aid.clone()));
            }
            match cmd {
                Some((cmd, _)) => card.run_applet(vol, ch, &aid, cmd, true),
                None => {
                    // MANAGE CHANNEL OPEN: no SELECT to process (JCRE
                    // 3.0.5 4.1.3).
                    card.save_heap()?;
                    Ok(Reply::data(Vec::new()))
                }
            }
        }
    }
}

/// How `aid` may be selected on channel `ch`: `None` for select(),
/// `Some(already_active)` for MultiSelectable.select; 6985 when the
/// package's applets active on other channels forbid it.
fn multiselection(
    card: &mut Card,
    vol: &Volatile,
    ch: u8,
    aid: &[u8],
) -> Result<Option<bool>, Fail> {
    let package = package_of(card, aid);
    let elsewhere: Vec<(u8, Vec<u8>)> = vol
        .active()
        .into_iter()
        .filter(|(c, a)| *c != ch && package.is_some() && package_of(card, a) == package)
        .collect();
    if elsewhere.is_empty() {
        return Ok(None);
    }
    let mut check = |who: &[u8]| -> Result<(), Fail> {
        let info = card
            .jcvm
            .applet_info(&mut card.state, who)
            .map_err(|e| fail(SW_APPLET_SELECT_FAILED, e))?;
        if info.multiselectable {
            Ok(())
        } else {
            Err(fail(
                sw::CONDITIONS,
                format!(
                    "{} is not MultiSelectable, and its package is active on logical channel {}",
                    hex::encode_upper(who),
                    elsewhere[0].0
                ),
            ))
        }
    };
    check(aid)?;
    for (_, other) in &elsewhere {
        check(other)?;
    }
    Ok(Some(elsewhere.iter().any(|(_, a)| a == aid)))
}

/// The package (load file) of an instance.
fn package_of(card: &Card, aid: &[u8]) -> Option<Vec<u8>> {
    card.state.instance(aid).map(|i| i.load_file.clone())
}

/// Deselects the applet on channel `ch`, if any (JCRE 3.0.5 4.6): with
/// MultiSelectable.deselect(appInstStillActive) when its package stays
/// active on another channel, else deselect() and the package's
/// CLEAR_ON_DESELECT transients are cleared. The channel then has nothing
/// selected.
pub fn deselect_on(card: &mut Card, vol: &mut Volatile, ch: u8) -> Result<(), Fail> {
    let Some(Selected::Instance(old)) = vol.channel_mut(ch).and_then(|c| c.selected.take()) else {
        return Ok(());
    };
    let package = package_of(card, &old);
    let elsewhere: Vec<Vec<u8>> = vol
        .active()
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| package.is_some() && package_of(card, a) == package)
        .collect();
    let multiselectable = card
        .jcvm
        .applet_info(&mut card.state, &old)
        .is_ok_and(|i| i.multiselectable);
    let multi = (multiselectable && !elsewhere.is_empty()).then(|| elsewhere.contains(&old));
    card.jcvm.set_active(vol.active());
    if let Some(Answer::Mute(why)) =
        card.jcvm
            .deselect(&mut card.state, &old, ch, multi, elsewhere.is_empty())
    {
        return card.applet_answer(vol, Answer::Mute(why)).map(|_| ());
    }
    Ok(())
}

/// Whether a SELECT by AID names the ISD or a selectable instance (by
/// full or partial AID); the next-occurrence search is left to [`select`].
fn names_an_application(card: &Card, cmd: &CommandApdu) -> bool {
    let wanted = cmd.data();
    let state = &card.state;
    state.isd_aid().starts_with(wanted)
        || state
            .instances
            .iter()
            .any(|i| i.is_selectable() && i.aid.starts_with(wanted))
}
