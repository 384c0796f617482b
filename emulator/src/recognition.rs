//! The data objects a GlobalPlatform card publishes about itself: card
//! recognition data (tag 66/73), the ISD's FCI, CPLC (9F7F), IIN (42), CIN
//! (45), key information template (E0), sequence counter (C1), extended
//! card resources (FF21).
//!
//! Hosts read them before authenticating to learn which secure channel
//! protocol and options to use, so they must be accurate.

use gp::tlv::Tlv;
use scp::keys::KeyType;
use scp::Protocol;

use crate::card::HeapUsage;
use crate::state::CardState;

/// `{iso(1) member-body(2) us(840) globalPlatform(114283)}`.
const GP_OID: [u8; 6] = [0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B];
/// `{iso(1) org(3) dod(6) internet(1) private(4) enterprise(1) sun(42) 2 110 1}`:
/// the Java Card platform, followed by its major version.
const JAVA_CARD_OID: [u8; 9] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x6E, 0x01];

/// Largest command data field the ISD accepts (tag 9F65): short APDUs.
pub const MAX_COMMAND_DATA: u8 = 0xFF;

fn oid(tag: u32, arcs: &[u8]) -> Tlv {
    let mut value = GP_OID.to_vec();
    value.extend_from_slice(arcs);
    Tlv::constructed(tag, vec![Tlv::primitive(0x06u32, value)])
}

/// Encodes a TLV tree. GlobalPlatform objects are small and well-formed by
/// construction, so encoding cannot fail; an empty result would only be a
/// bug, and is still a valid answer rather than a panic.
fn encode(t: &Tlv) -> Vec<u8> {
    t.to_bytes().unwrap_or_default()
}

/// The protocols the card's key sets open, default key set first.
pub fn protocols(state: &CardState) -> Vec<Protocol> {
    let mut out: Vec<Protocol> = Vec::new();
    for k in &state.key_sets {
        let p = k.protocol(&state.profile);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Card recognition data: the children of tag 73 (GP 2.3.1 appendix H).
fn recognition_children(state: &CardState) -> Vec<Tlv> {
    let mut children = vec![
        Tlv::primitive(0x06u32, [&GP_OID[..], &[0x01]].concat()),
        // Card management type and version: GlobalPlatform 2.3.1.
        oid(0x60, &[0x02, 0x02, 0x03, 0x01]),
        // Card identification scheme.
        oid(0x63, &[0x03]),
    ];
    for p in protocols(state) {
        children.push(oid(0x64, &[0x04, p.id(), p.i()]));
    }
    let jc_major = if state.profile.api.starts_with('2') {
        0x02
    } else {
        0x03
    };
    let mut chip = JAVA_CARD_OID.to_vec();
    chip.push(jc_major);
    children.push(Tlv::constructed(
        0x66u32,
        vec![Tlv::primitive(0x06u32, chip)],
    ));
    children
}

/// GET DATA 66: Card Data, holding the card recognition data (73).
pub fn card_data(state: &CardState) -> Vec<u8> {
    encode(&Tlv::constructed(
        0x66u32,
        vec![Tlv::constructed(0x73u32, recognition_children(state))],
    ))
}

/// The FCI the ISD answers SELECT with: its AID (84) and proprietary data
/// (A5) with the security domain management data (73) and the largest
/// command data field (9F65).
pub fn isd_fci(state: &CardState) -> Vec<u8> {
    encode(&Tlv::constructed(
        0x6Fu32,
        vec![
            Tlv::primitive(0x84u32, state.isd_aid().to_vec()),
            Tlv::constructed(
                0xA5u32,
                vec![
                    Tlv::constructed(0x73u32, recognition_children(state)),
                    Tlv::primitive(0x9F65u32, vec![MAX_COMMAND_DATA]),
                ],
            ),
        ],
    ))
}

/// The FCI of a supplementary security domain: its AID and the maximum
/// command data it takes (the card recognition data is the ISD's).
pub fn ssd_fci(aid: &[u8]) -> Vec<u8> {
    encode(&Tlv::constructed(
        0x6Fu32,
        vec![
            Tlv::primitive(0x84u32, aid.to_vec()),
            Tlv::constructed(
                0xA5u32,
                vec![Tlv::primitive(0x9F65u32, vec![MAX_COMMAND_DATA])],
            ),
        ],
    ))
}

/// Key diversification data: IC fabricator, IC type, IC serial number and
/// batch, the CPLC fields the EMV CPS and VISA2 methods read from it.
pub fn kdd(state: &CardState) -> [u8; 10] {
    let mut kdd = [0u8; 10];
    kdd[..2].copy_from_slice(&IC_FABRICATOR);
    kdd[2..4].copy_from_slice(&IC_TYPE);
    for (d, s) in kdd[4..8].iter_mut().zip(&state.serial) {
        *d = *s;
    }
    kdd[8..].copy_from_slice(&IC_BATCH);
    kdd
}

const IC_FABRICATOR: [u8; 2] = [0x4A, 0x43]; // "JC"
const IC_TYPE: [u8; 2] = [0x00, 0x01];
const IC_BATCH: [u8; 2] = [0x00, 0x01];

/// Card Production Life Cycle data (9F7F, 42 bytes).
pub fn cplc(state: &CardState) -> Vec<u8> {
    let mut v = Vec::with_capacity(42);
    v.extend_from_slice(&IC_FABRICATOR);
    v.extend_from_slice(&IC_TYPE);
    v.extend_from_slice(&[0x4A, 0x54]); // operating system ID "JT"
    v.extend_from_slice(&[0x50, 0x01]); // OS release date: year …5, day 001
    v.extend_from_slice(&[0x01, 0x00]); // OS release level
    v.extend_from_slice(&[0x50, 0x01]); // IC fabrication date
    let mut serial = [0u8; 4];
    for (d, s) in serial.iter_mut().zip(&state.serial) {
        *d = *s;
    }
    v.extend_from_slice(&serial);
    v.extend_from_slice(&IC_BATCH);
    // Module fabricator and packaging date, ICC manufacturer and embedding
    // date, pre-personalizer, its date and equipment, personalizer, its date
    // and equipment: an emulated card has none of these.
    v.resize(42, 0);
    encode(&Tlv::primitive(0x9F7Fu32, v))
}

/// Issuer Identification Number (42), as the profile sets it.
pub fn iin(state: &CardState) -> Vec<u8> {
    encode(&Tlv::primitive(0x42u32, state.profile.iin.clone()))
}

/// Card Image Number (45): unique per card.
pub fn cin(state: &CardState) -> Vec<u8> {
    encode(&Tlv::primitive(0x45u32, kdd(state).to_vec()))
}

/// Key information template (E0): one `C0` entry per key — identifier,
/// version, type and length.
pub fn key_information(state: &CardState) -> Vec<u8> {
    let mut entries = Vec::new();
    for set in &state.key_sets {
        for (id, key) in set.keys_by_id() {
            let len = u8::try_from(key.len()).unwrap_or(0);
            entries.push(Tlv::primitive(
                0xC0u32,
                vec![id, set.version(), set.type_byte(), len],
            ));
        }
    }
    encode(&Tlv::constructed(0xE0u32, entries))
}

/// Sequence counter of the default key set (C1): 2 bytes for SCP02, 3 for SCP03.
pub fn sequence_counter(state: &CardState) -> Option<Vec<u8>> {
    let set = state.key_set(0)?;
    let bytes = set.sequence_counter.to_be_bytes();
    let value = match set.keys.kind() {
        KeyType::Des3 => bytes[2..].to_vec(),
        KeyType::Aes => bytes[1..].to_vec(),
    };
    Some(encode(&Tlv::primitive(0xC1u32, value)))
}

/// Extended card resources (FF21): the applications installed, the
/// persistent memory left for load files (what a LOAD may still take,
/// the limit INSTALL [for load] and LOAD enforce with 6A84) and the RAM
/// left for transient arrays. Hosts compare a load file with it before
/// sending it.
pub fn card_resources(state: &CardState, heap: &HeapUsage) -> Vec<u8> {
    let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    gp::cardinfo::encode_card_resources(
        wide(state.instances.len()),
        wide(state.memory_free()),
        wide(heap.transient_limit.saturating_sub(heap.transient)),
    )
}
