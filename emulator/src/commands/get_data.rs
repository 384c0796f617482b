//! GET DATA (GP 2.3.1 11.3): the card's data objects by tag in P1 P2.
//! Available before authentication, as on real cards: hosts read card
//! recognition data and key information to choose how to authenticate.

use gp::apdu::CommandApdu;

use crate::card::Card;
use crate::recognition;
use crate::sw::{self, fail, Outcome, Reply};

pub fn get_data(card: &mut Card, cmd: &CommandApdu) -> Outcome {
    let heap = card.heap_usage();
    let state = &card.state;
    let tag = u16::from_be_bytes([cmd.p1(), cmd.p2()]);
    let data = match tag {
        0x0042 => recognition::iin(state),
        0x0045 => recognition::cin(state),
        0x0066 => recognition::card_data(state),
        0x00E0 => recognition::key_information(state),
        0x00C1 => recognition::sequence_counter(state)
            .ok_or_else(|| fail(sw::REF_NOT_FOUND, "no default key set"))?,
        0x9F7F => recognition::cplc(state),
        0xFF21 => recognition::card_resources(state, &heap),
        0xBF21 => crate::commands::scp11::certificate_store(card, cmd)?,
        0x9F65 => vec![0x9F, 0x65, 0x01, recognition::MAX_COMMAND_DATA],
        other => {
            return Err(fail(
                sw::REF_NOT_FOUND,
                format!("GET DATA: the card has no data object {other:04X}"),
            ))
        }
    };
    Ok(Reply::data(data))
}
