//! SELECT by AID (ISO/IEC 7816-4, GP 2.3.1 11.9): full or partial AID,
//! first or next occurrence. Selecting anything ends the ISD's secure
//! channel session, as deselection does on a card.

use gp::apdu::CommandApdu;
use gp::CardLifeCycle;

use crate::card::{class, Card, Selected, Volatile};
use crate::commands::CLA_ISO;
use crate::recognition;
use crate::session::Session;
use crate::sw::{self, fail, Outcome, Reply};

/// P1: select by DF name (AID).
const P1_BY_NAME: u8 = 0x04;
/// P2 bits 1-2: first (00) or next (02) occurrence.
const P2_NEXT: u8 = 0x02;
/// P2 bits 3-4: return the FCI (00) or no data (0C).
const P2_NO_DATA: u8 = 0x0C;

pub fn select(card: &mut Card, vol: &mut Volatile, cmd: &CommandApdu) -> Outcome {
    // A SELECT the JCRE does not take (not by AID, or naming no
    // application) goes to the selected applet's process(), as Java Card
    // requires: applets select their own files this way.
    if let Some(Selected::Instance(aid)) = &vol.selected {
        if cmd.p1() != P1_BY_NAME || !names_an_application(card, cmd) {
            let aid = aid.clone();
            let answer = card.jcvm.process(&mut card.state, &aid, cmd, false);
            return card.applet_answer(vol, answer);
        }
    }
    if class(cmd.cla()) != CLA_ISO {
        return Err(fail(
            sw::CLA_NOT_SUPPORTED,
            format!("SELECT takes CLA 00, got {:02X}", cmd.cla()),
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
                .map(|i| (i.aid.as_slice(), Selected::Instance(i.aid.clone()))),
        );
    }
    let start = if occurrence == P2_NEXT {
        vol.selected
            .as_ref()
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
                    "no selectable application matches {}",
                    hex::encode_upper(wanted)
                ),
            )
        })?;
    // The applet selected before is deselected first (JCRE 4.2), then
    // the new one: select() may refuse (6999, nothing is selected), and
    // an applet that accepts gets the SELECT command in process().
    vol.session = Session::None;
    if let Some(Selected::Instance(old)) = vol.selected.take() {
        if let Some(crate::jcvm::Answer::Mute(why)) = card.jcvm.deselect(&mut card.state, &old) {
            return card.applet_answer(vol, crate::jcvm::Answer::Mute(why));
        }
    }
    match found {
        Selected::Isd => {
            card.save_heap()?;
            let data = if response == 0 {
                recognition::isd_fci(&card.state)
            } else {
                Vec::new()
            };
            vol.selected = Some(Selected::Isd);
            Ok(Reply::data(data))
        }
        Selected::Instance(aid) => {
            let answer = card.jcvm.select(&mut card.state, &aid);
            if !matches!(answer, crate::jcvm::Answer::Response { sw: sw::OK, .. }) {
                return card.applet_answer(vol, answer);
            }
            vol.selected = Some(Selected::Instance(aid.clone()));
            let answer = card.jcvm.process(&mut card.state, &aid, cmd, true);
            card.applet_answer(vol, answer)
        }
    }
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
