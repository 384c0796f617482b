//! What the key holder needs to know of a card to build an offline script
//! for it, read by a client without keys: the identity data objects (CIN,
//! IIN, CPLC), the protocol and "i", the key version and diversification
//! data (from one INITIALIZE UPDATE, which spends no authentication try:
//! no EXTERNAL AUTHENTICATE follows), and the sequence counter (GET DATA
//! C1, read after it, so an SCP03 card's count of challenges includes it).

use super::build::CardRecord;
use super::packet::{CardIdentity, Hex};
use super::play::data_object_value;
use crate::transport::CardChannel;

fn sw_of(r: &[u8]) -> u16 {
    match r {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

fn get(channel: &mut CardChannel, tag: u16) -> Result<Option<Vec<u8>>, String> {
    let r = channel
        .transmit(&gp::commands::get_data(tag).to_bytes())
        .map_err(|e| format!("transport: {e}"))?;
    Ok((sw_of(&r) == 0x9000).then(|| data_object_value(tag, &r[..r.len() - 2])))
}

/// Reads the record of the card whose security domain `sd` is selected
/// here (or the first of [`crate::client::ISD_AIDS`]).
pub fn identify(channel: &mut CardChannel, sd: Option<&[u8]>) -> Result<CardRecord, String> {
    identify_with_hello(channel, sd, true).map(|(record, _)| record)
}

/// As [`identify`], also returning the INITIALIZE UPDATE sent and the
/// card's answer: the online client's first half of a session. Without
/// `read_counter` nothing follows INITIALIZE UPDATE, so EXTERNAL
/// AUTHENTICATE may come next (a card drops a handshake another command
/// interrupts); the counter is then the one the card's answer carries.
pub fn identify_with_hello(
    channel: &mut CardChannel,
    sd: Option<&[u8]>,
    read_counter: bool,
) -> Result<(CardRecord, Hello), String> {
    let candidates: Vec<&[u8]> = match sd {
        Some(a) => vec![a],
        None => crate::client::ISD_AIDS.to_vec(),
    };
    let mut selected = None;
    let mut max_command_data = None;
    for aid in candidates {
        let cmd = gp::commands::select(aid, false).map_err(|e| e.to_string())?;
        let r = channel
            .transmit(&cmd.to_bytes())
            .map_err(|e| format!("transport: {e}"))?;
        if sw_of(&r) == 0x9000 {
            selected = Some(aid.to_vec());
            max_command_data = crate::client::fci_max_block_size(&r[..r.len() - 2]);
            break;
        }
    }
    let sd = selected.ok_or("no security domain answered SELECT")?;
    let cin = get(channel, 0x0045)?;
    let iin = get(channel, 0x0042)?;
    let cplc_serial = get(channel, 0x9F7F)?.and_then(|c| c.get(12..16).map(<[u8]>::to_vec));
    let scp02_i = get(channel, 0x0066)?
        .and_then(|d| gp::cardinfo::decode_card_recognition(&d).ok())
        .and_then(|r| r.scp.iter().find(|(p, _)| *p == 2).map(|(_, i)| *i));
    let mut host_challenge = [0u8; 8];
    scp::ChallengeSource::fill(&mut scp::OsRng, &mut host_challenge).map_err(|e| e.to_string())?;
    let iu = scp::initialize_update_command(0, &host_challenge).to_bytes();
    let r = channel
        .transmit(&iu)
        .map_err(|e| format!("transport: {e}"))?;
    if sw_of(&r) != 0x9000 {
        return Err(format!("INITIALIZE UPDATE answered {:04X}", sw_of(&r)));
    }
    let hello = scp::InitUpdateResponse::parse(&r[..r.len() - 2]).map_err(|e| e.to_string())?;
    let i = match &hello.challenge {
        scp::CardChallenge::Scp03 { i, .. } => *i,
        scp::CardChallenge::Scp02 { .. } => scp02_i.unwrap_or(0x15),
    };
    let sequence_counter = if read_counter {
        get(channel, 0x00C1)?.and_then(|v| match v.as_slice() {
            [a, b] => Some(u32::from(u16::from_be_bytes([*a, *b]))),
            [a, b, c] => Some(u32::from_be_bytes([0, *a, *b, *c])),
            _ => None,
        })
    } else {
        match &hello.challenge {
            scp::CardChallenge::Scp02 {
                sequence_counter, ..
            } => Some(u32::from(u16::from_be_bytes(*sequence_counter))),
            scp::CardChallenge::Scp03 {
                sequence_counter, ..
            } => sequence_counter.map(|[a, b, c]| u32::from_be_bytes([0, a, b, c])),
        }
    };
    let record = CardRecord {
        identity: CardIdentity {
            cin: cin.map(Hex),
            iin: iin.map(Hex),
            cplc_serial: cplc_serial.map(Hex),
            kdd: Hex(hello.kdd.to_vec()),
        },
        security_domain: Hex(sd),
        key_version: hello.key_version,
        scp: hello.scp(),
        i,
        sequence_counter,
        max_command_data,
    };
    Ok((
        record,
        Hello {
            command: iu,
            response: r,
        },
    ))
}

/// An INITIALIZE UPDATE and the card's answer (data and SW).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub command: Vec<u8>,
    pub response: Vec<u8>,
}
