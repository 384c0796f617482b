//! The card `emulator_apdu` starts from: an emulated card with an open
//! secure channel and a load file half sent (INSTALL [for load] and the
//! first LOAD blocks of a real CAP accepted).
//!
//! The card's challenges come from a fixed source and the host challenge
//! is fixed, so the same [`Setup`] always gives the same session keys:
//! recorded wire bytes (the seeds) replay with valid MACs.

use std::path::PathBuf;
use std::sync::OnceLock;

use cap_tools::cap::load_file::LoadFile;
use cap_tools::Cap;
use emulator::{Card, CardProfile, CardState};
use gp::apdu::CommandApdu;
use gp::install::{p1, InstallForLoad, LoadBlocks};
use scp::{FixedChallenges, HostConfig, SecureChannel, SecurityLevel};

/// The host challenge of every session the targets open.
pub const HOST_CHALLENGE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
/// LOAD block size: the hello load file makes several blocks.
const BLOCK: usize = 64;

/// What the first input byte chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Bit 0: the following APDUs are wrapped by the host's channel
    /// before they reach the card (otherwise they go as they are).
    pub wrapped: bool,
    /// Bit 1: an SCP02 card (3DES keys) instead of SCP03 (AES keys).
    pub scp02: bool,
    /// Bits 2-3: the security level of the session.
    pub level: u8,
    /// Bits 4-7: how many LOAD blocks were accepted before the input
    /// (1 + this, modulo the blocks less the last one).
    pub blocks: u8,
}

impl Setup {
    pub fn from_byte(b: u8) -> Setup {
        Setup {
            wrapped: b & 1 != 0,
            scp02: b & 2 != 0,
            level: (b >> 2) & 3,
            blocks: b >> 4,
        }
    }

    pub fn to_byte(self) -> u8 {
        u8::from(self.wrapped)
            | u8::from(self.scp02) << 1
            | (self.level & 3) << 2
            | self.blocks << 4
    }

    pub fn security_level(self) -> SecurityLevel {
        match (self.level, self.scp02) {
            (0, _) => SecurityLevel::C_MAC,
            (1, _) => SecurityLevel::C_MAC_C_ENC,
            (2, _) => SecurityLevel::C_MAC_R_MAC,
            (_, true) => SecurityLevel::C_MAC_C_ENC_R_MAC,
            (_, false) => SecurityLevel::C_MAC_C_ENC_R_MAC_R_ENC,
        }
    }

    /// The host side's configuration for this card (test keys, version 1).
    pub fn host_config(self) -> HostConfig {
        let keys = emulator::profile::test_keys(!self.scp02, 1).expect("test keys");
        let mut config = HostConfig::new(keys);
        config.security_level = self.security_level();
        config.scp02_i = self.scp02_i();
        config
    }

    /// SCP02's "i" of the card: 35 (15 and its R-MAC bit) when the level has
    /// R-MAC.
    pub fn scp02_i(self) -> u8 {
        if self.level >= 2 {
            0x35
        } else {
            0x15
        }
    }
}

/// The real CAP whose load file is half loaded: the hello applet Oracle's
/// converter made, from the shared data.
pub struct HelloLoadFile {
    pub package_aid: Vec<u8>,
    pub applet_aid: Vec<u8>,
    /// The Load File Data Block (what a card keeps once the load is done).
    pub data_block: Vec<u8>,
    pub blocks: LoadBlocks,
}

pub fn hello() -> &'static HelloLoadFile {
    static HELLO: OnceLock<HelloLoadFile> = OnceLock::new();
    HELLO.get_or_init(|| {
        let path = crate::shared("converter-reference/oracle-3.0.5/hello.cap");
        let cap = Cap::from_path(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (set JCT_SHARED)", path.display()));
        let header = cap.header().expect("hello.cap has a Header");
        let package_aid = header.load_file_aid().as_bytes().to_vec();
        let mut applet_aid = package_aid.clone();
        applet_aid.push(0x01);
        let load_file = LoadFile::build(&cap, false).expect("hello load file");
        let c4 = load_file.with_c4_tag();
        let blocks = LoadBlocks::split(&c4, BLOCK).expect("LOAD blocks");
        assert!(blocks.blocks.len() >= 3, "hello.cap makes too few blocks");
        HelloLoadFile {
            package_aid,
            applet_aid,
            data_block: load_file.bytes,
            blocks,
        }
    })
}

/// A GlobalPlatform command (CLA 80, Le 00).
pub fn gp(ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
    CommandApdu::new(0x80, ins, p1, p2, data, Some(256)).expect("command APDU")
}

/// LOAD block `i` of the hello load file.
pub fn load_block(i: usize) -> CommandApdu {
    let blocks = &hello().blocks;
    let (p1, p2) = blocks.p1p2(i);
    gp(0xE8, p1, p2, blocks.blocks[i].clone())
}

/// The card and the host's end of its open channel.
pub struct Prepared {
    pub card: Card,
    pub channel: SecureChannel,
    /// Index of the first LOAD block not sent yet.
    pub next_block: usize,
    pub state_file: PathBuf,
}

/// Opens a secure channel on `card` through `transmit` (which sends a
/// command to the card and returns its answer). The one place that speaks
/// the scp host API's session opening.
pub fn open_session(
    config: HostConfig,
    transmit: &mut dyn FnMut(&[u8]) -> Vec<u8>,
) -> SecureChannel {
    let host = scp::danger::begin_with_challenge(config, HOST_CHALLENGE);
    let answer = transmit(host.command());
    let auth = host
        .on_init_update_response(&answer)
        .expect("INITIALIZE UPDATE");
    let answer = transmit(auth.command());
    auth.on_external_authenticate_response(&answer)
        .expect("EXTERNAL AUTHENTICATE")
}

/// Sends `cmd` through `channel`; the unwrapped status word.
pub fn send(card: &mut Card, channel: &mut SecureChannel, cmd: &CommandApdu) -> u16 {
    let wire = channel.wrap_apdu(cmd).expect("wrapping a set-up command");
    let answer = card.transmit(&wire);
    channel
        .unwrap_response(&answer)
        .expect("unwrapping a set-up answer")
        .sw
}

/// A fresh card in a state file under `dir`, the ISD selected, a session
/// open at the setup's level and the first LOAD blocks accepted.
pub fn prepare(setup: Setup, dir: &std::path::Path) -> Prepared {
    let state_file = dir.join("card");
    let _ = std::fs::remove_dir_all(&state_file);
    let profile = CardProfile {
        memory: 64 * 1024,
        scp02_i: setup.scp02_i(),
        ..CardProfile::default()
    };
    let keys = emulator::profile::test_keys(!setup.scp02, 1).expect("test keys");
    let challenges: Vec<u8> = (0..4096u32).map(|i| (i * 37 + 11) as u8).collect();
    let mut card = Card::open_with_rng(
        &state_file,
        profile,
        keys,
        Box::new(FixedChallenges::new(challenges)),
    )
    .expect("a fresh card");
    card.power_on();
    let select = CommandApdu::new(
        0x00,
        0xA4,
        0x04,
        0x00,
        emulator::DEFAULT_ISD_AID.to_vec(),
        Some(256),
    )
    .expect("SELECT");
    assert_eq!(sw(&card.transmit(&select.to_bytes())), 0x9000, "SELECT ISD");
    let mut channel = open_session(setup.host_config(), &mut |c| card.transmit(c));
    let hello = hello();
    let install = InstallForLoad {
        load_file_aid: hello.package_aid.clone(),
        security_domain_aid: emulator::DEFAULT_ISD_AID.to_vec(),
        ..Default::default()
    }
    .to_data()
    .expect("INSTALL [for load] data");
    let install = gp(0xE6, p1::FOR_LOAD, 0x00, install);
    assert_eq!(
        send(&mut card, &mut channel, &install),
        0x9000,
        "INSTALL [for load]"
    );
    let sendable = hello.blocks.blocks.len() - 1;
    let sent = 1 + usize::from(setup.blocks) % sendable;
    for i in 0..sent {
        assert_eq!(
            send(&mut card, &mut channel, &load_block(i)),
            0x9000,
            "LOAD {i}"
        );
    }
    Prepared {
        card,
        channel,
        next_block: sent,
        state_file,
    }
}

/// The status word of a raw response.
pub fn sw(response: &[u8]) -> u16 {
    match response {
        [.., a, b] => u16::from_be_bytes([*a, *b]),
        _ => panic!("response without a status word: {response:02X?}"),
    }
}

/// What must hold after any command: the card answers with a status word,
/// and the persistent state is one the card would load again — valid, and
/// equal to what its state file now holds.
pub fn check_card(card: &Card, state_file: &std::path::Path) {
    let state: &CardState = card.state();
    if let Err(e) = state.validate() {
        panic!("the card holds a state it would refuse to load: {e}");
    }
    let on_disk = emulator::read_state(state_file)
        .expect("the state reloads")
        .expect("the state exists");
    assert_eq!(&on_disk, state, "state file and card disagree");
}

/// The body of the `emulator_apdu` target; the card as the input left it.
pub fn run(data: &[u8], dir: &std::path::Path) -> Option<Card> {
    let (&mode, rest) = data.split_first()?;
    let setup = Setup::from_byte(mode);
    let Prepared {
        mut card,
        mut channel,
        state_file,
        ..
    } = prepare(setup, dir);
    for apdu in crate::frames(rest) {
        let wire = if setup.wrapped {
            // A command the host cannot wrap (not an APDU, too long, the
            // channel closed) goes as it is.
            channel.wrap(apdu).unwrap_or_else(|_| apdu.to_vec())
        } else {
            apdu.to_vec()
        };
        let response = card.transmit(&wire);
        assert!(
            response.len() >= 2,
            "answer without a status word to {wire:02X?}"
        );
        if setup.wrapped {
            // Errors close the host's channel; later commands go raw.
            let _ = channel.unwrap_response(&response);
        }
    }
    check_card(&card, &state_file);
    Some(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setup_byte_opens_a_session_and_half_loads() {
        let dir = crate::scratch_dir();
        let blocks = hello().blocks.blocks.len();
        for mode in 0..=255u8 {
            let setup = Setup::from_byte(mode);
            assert_eq!(setup.to_byte(), mode);
            let prepared = prepare(setup, &dir);
            assert!(
                (1..blocks).contains(&prepared.next_block),
                "mode {mode:02X}"
            );
            let card = run(&[mode], &dir).expect("a card");
            assert!(card.state().package(&hello().package_aid).is_none());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
