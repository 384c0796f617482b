//! What the JCRE knows during a call besides the heap: the limits, the
//! APDU being processed, whose context runs, whether an applet is being
//! selected or installed, the applets on the card.

// Java Card arithmetic is defined as truncation to 8, 16 or 32 bits, and
// every index or count here is bounded by the card's limits (u16 CAP
// offsets, arrays of at most 32767 elements, heaps far below 4 GiB): the
// narrowing casts are the semantics, not lost input.
#![allow(clippy::cast_possible_truncation)]

use super::heap::ObjId;
use super::interp::Limits;
use crate::natives::apdu::ApduState;

/// An INSTALL [for install] in progress: the instance AID the card
/// manager assigned and what register() recorded.
#[derive(Debug, Clone, Default)]
pub struct Installing {
    pub aid: Vec<u8>,
    pub registered: Option<(Vec<u8>, ObjId)>,
}

/// Per-card JCRE state for calls.
#[derive(Debug)]
pub struct Env {
    pub limits: Limits,
    pub apdu: ApduState,
    /// Context (package) of the running applet, an index into the heap's contexts.
    pub context: u32,
    /// Context of the currently selected applet (the one the JCRE called):
    /// CLEAR_ON_DESELECT arrays are made and used only in it (JCRE 6.1.5).
    pub selected_context: u32,
    /// AID of the applet whose context runs.
    pub applet: Vec<u8>,
    /// The applet's process() runs for its SELECT command.
    pub selecting: bool,
    /// The SELECT names the applet already selected on its channel
    /// (Applet.reSelectingApplet).
    pub reselecting: bool,
    pub installing: Option<Installing>,
    /// Registered applets (AIDs), for lookupAID and isAppletActive.
    pub registry: Vec<Vec<u8>>,
    /// The applets active on the open logical channels, as (channel,
    /// instance AID): JCSystem.isAppletActive.
    pub active: Vec<(u8, Vec<u8>)>,
    /// The logical channel the running applet was called on
    /// (JCSystem.getAssignedChannel); 0 during install().
    pub channel: u8,
    /// JCSystem.getVersion: major.minor as a BCD-like short (0x0305).
    pub version: i16,
    pub deletion_requested: bool,
    /// The card's source of randomness (RandomData, key generation).
    pub rng: Option<crate::natives::crypto::random::SharedRng>,
    /// Digests and MACs in progress (RAM: lost at power up).
    pub crypto: crate::natives::crypto::live::Live,
    /// What the GlobalPlatform API sees of the card during the call.
    pub gp: crate::natives::globalplatform::GpEnv,
    /// The algorithms the card's profile lists, resolved.
    pub algorithms: crate::natives::crypto::support::Resolved,
}

impl Env {
    pub fn new(limits: Limits, version: i16) -> Env {
        Env {
            limits,
            apdu: ApduState::default(),
            context: 0,
            selected_context: 0,
            applet: Vec::new(),
            selecting: false,
            reselecting: false,
            installing: None,
            registry: Vec::new(),
            active: Vec::new(),
            channel: 0,
            version,
            deletion_requested: false,
            rng: None,
            crypto: Default::default(),
            gp: Default::default(),
            algorithms: Default::default(),
        }
    }
}
